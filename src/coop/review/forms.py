"""Forms of the Review Console: Recent Decisions filters, and the parsing of the decision
panel's POST into a `DecisionInput` (the domain layer checks everything else)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from coop.accounts.models import User
from coop.catalog.models import Action, Policy
from coop.core.items import ItemRef
from coop.review.audit import DecisionFilters
from coop.review.decisions import ActionChoice, DecisionInput, DecisionRefused
from coop.review.models import DecisionType, Queue

# ---------------------------------------------------------------------------------------------
# Recent Decisions filters

TYPE_CHOICES = [
    ("", "Any decision"),
    (DecisionType.ACTION, "Action"),
    (DecisionType.IGNORE, "Ignore"),
    (DecisionType.MOVE, "Move"),
    (DecisionType.NCMEC, "Enqueue to NCMEC"),
    (DecisionType.APPEAL_ACCEPT, "Overturn (appeal accepted)"),
    (DecisionType.APPEAL_REJECT, "Uphold (appeal rejected)"),
    (DecisionType.AUTOMATIC_CLOSE, "Automatic close"),
    (DecisionType.INVALIDATED, "Reports invalidated"),
]


class DecisionFilterForm(forms.Form):
    type = forms.ChoiceField(label="Decision", choices=TYPE_CHOICES, required=False)
    action = forms.ChoiceField(label="Action", required=False)
    policy = forms.ChoiceField(label="Policy", required=False)
    queue = forms.ChoiceField(label="Queue", required=False)
    reviewer = forms.ChoiceField(label="Reviewer", required=False)
    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [
            ("", "Any action"),
            *Action.objects.order_by("name").values_list("id", "name"),
        ]
        self.fields["policy"].choices = [
            ("", "Any policy"),
            *Policy.objects.order_by("name").values_list("id", "name"),
        ]
        self.fields["queue"].choices = [
            ("", "Any queue"),
            *Queue.objects.order_by("name").values_list("id", "name"),
        ]
        users = User.objects.order_by("email").values_list("pk", "email")
        self.fields["reviewer"].choices = [("", "Anyone"), *((str(pk), e) for pk, e in users)]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The end date is before the start date.")
        return data

    def filters(self, viewer: User) -> DecisionFilters:
        """The domain filters; invalid fields count as "any" (their errors are shown)."""
        d = self.cleaned_data if self.is_valid() else {}
        tz = timezone.get_current_timezone()

        def at(day: Any, extra: int = 0) -> datetime | None:
            if not day:
                return None
            return datetime.combine(day + timedelta(days=extra), time.min, tzinfo=tz)

        return DecisionFilters(
            types=[d["type"]] if d.get("type") else [],
            action_ids=[d["action"]] if d.get("action") else [],
            policy_ids=[d["policy"]] if d.get("policy") else [],
            queue_ids=[d["queue"]] if d.get("queue") else [],
            reviewer_ids=[int(d["reviewer"])] if d.get("reviewer") else [],
            start=at(d.get("start")),
            end=at(d.get("end"), 1),  # the end day is included
            viewer=viewer,
        )


# ---------------------------------------------------------------------------------------------
# The decision panel


def actions_for_type(type_id: str, hidden: list[str]) -> list[Action]:
    """Custom actions that apply to items of `type_id` (related actions on the author)."""
    return [
        a
        for a in Action.objects.filter(
            Q(item_types__contains=[type_id]) | Q(item_types=[]), builtin=False
        ).order_by("name")
        if a.id not in set(hidden)
    ]


def _parameters(post: QueryDict, prefix: str, action: Action | None) -> dict[str, Any]:
    if action is None:
        return {}
    out: dict[str, Any] = {}
    for spec in action.parameters or []:
        name, kind = spec.get("name"), spec.get("type")
        raw = post.get(f"{prefix}-{action.id}-{name}", "").strip()
        if raw == "":
            continue
        if kind == "NUMBER":
            try:
                out[name] = int(raw)
            except ValueError:
                try:
                    out[name] = float(raw)
                except ValueError:
                    raise DecisionRefused(
                        f"{action.name}: “{name}” must be a number.", "actions"
                    ) from None
        elif kind == "BOOLEAN":
            out[name] = raw == "true"
        else:
            out[name] = raw
    return out


def parse_decision(post: QueryDict, related_target: ItemRef | None) -> DecisionInput:
    """The decision panel's fields as a DecisionInput (`related_target`: the item related
    actions apply to, the job's author). Raises DecisionRefused for input that cannot even be
    read (a parameter that is not a number); `decide` checks everything else."""
    item_ids = [a for a in dict.fromkeys(post.getlist("action")) if a]
    related_ids = [a for a in dict.fromkeys(post.getlist("related-action")) if a]
    if related_target is None:
        related_ids = []
    known = Action.objects.in_bulk(set(item_ids) | set(related_ids))
    choices = [
        ActionChoice(
            action_id=aid,
            policy_ids=[p for p in post.getlist(f"policies-{aid}") if p],
            parameters=_parameters(post, "param", known.get(aid)),
        )
        for aid in item_ids
    ] + [
        ActionChoice(
            action_id=aid,
            policy_ids=[p for p in post.getlist(f"related-policies-{aid}") if p],
            parameters=_parameters(post, "related-param", known.get(aid)),
            item=related_target,
        )
        for aid in related_ids
    ]
    appeal = post.get("appeal") or None
    if appeal not in (None, "ACCEPT", "REJECT"):
        raise DecisionRefused("The appeal decision is Overturn or Uphold.", "appeal")
    return DecisionInput(
        actions=choices,
        ignore=post.get("ignore") == "on",
        move_to_queue=post.get("move_to_queue") or None,
        enqueue_ncmec=post.get("enqueue_ncmec") == "on",
        appeal=appeal,  # type: ignore[arg-type]
        reason=post.get("reason", ""),
        note=post.get("note", ""),
    )
