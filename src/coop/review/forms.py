"""Forms of the Review Console: Recent Decisions filters, and the decision panel (one class
that renders its fields and reads their POST back into a `DecisionInput`; the domain layer
checks everything else)."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from coop.accounts.models import User
from coop.catalog.models import Action, Policy
from coop.core.enums import DecisionSource
from coop.core.items import ItemRef
from coop.review.audit import DecisionFilters
from coop.review.decisions import ActionChoice, DecisionInput
from coop.review.errors import DecisionRefusedError
from coop.review.models import DecisionType, Queue

# ---------------------------------------------------------------------------------------------
# Recent Decisions filters

TYPE_CHOICES = [
    ("", "Any decision"),
    (DecisionType.ACTION, "Action"),
    (DecisionType.IGNORE, "Ignore"),
    (DecisionType.MOVE, "Move"),
    (DecisionType.NCMEC, "Enqueue to NCMEC"),
    (DecisionType.NCMEC_REPORT, "Submit to NCMEC"),
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
    source = forms.ChoiceField(
        label="Source",
        required=False,
        choices=[("", "Any source"), *((s.value, s.label) for s in DecisionSource)],
    )
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
            sources=[d["source"]] if d.get("source") else [],
            start=at(d.get("start")),
            end=at(d.get("end"), 1),  # the end day is included
            viewer=viewer,
        )


# ---------------------------------------------------------------------------------------------
# The decision panel

MAX_SHORTCUT_ACTIONS = 9
ITEM, RELATED = "", "related-"  # the two groups of actions: on the item, on its author


def actions_for_type(type_id: str, hidden: list[str]) -> list[Action]:
    """Custom actions that apply to items of `type_id` (related actions on the author)."""
    return [
        a
        for a in Action.objects.filter(
            Q(item_types__contains=[type_id]) | Q(item_types=[]), builtin=False
        ).order_by("name")
        if a.id not in set(hidden)
    ]


class DecisionForm:
    """The decision panel, both ways: the fields it renders (`rows`, `related_rows`, re-filled
    from a refused POST) and how a POST of those same fields reads back (`decision`). The
    field names are spelled once, here.

    `actions` and `related_actions` are those offered (rendering), `related_target` the item
    related actions apply to (the job's author; None: no related actions)."""

    def __init__(
        self,
        data: QueryDict | None = None,
        *,
        related_target: ItemRef | None = None,
        actions: list[Action] = (),
        related_actions: list[Action] = (),
        policies: list[Policy] = (),
    ):
        self.data = data
        self.related_target = related_target
        self.actions, self.related_actions = list(actions), list(related_actions)
        self.policies = list(policies)

    # Field names.
    @staticmethod
    def action_field(group: str) -> str:
        return f"{group}action"

    @staticmethod
    def policies_field(group: str, action_id: str) -> str:
        return f"{group}policies-{action_id}"

    @staticmethod
    def param_field(group: str, action_id: str, name: str) -> str:
        return f"{group}param-{action_id}-{name}"

    # Rendering.
    def rows(self, shortcuts: bool = True) -> list[dict[str, Any]]:
        """The item's actions; `shortcuts`: numbered 1-9 (the job page's keyboard keys)."""
        return self._rows(self.actions, ITEM, shortcuts=shortcuts)

    def related_rows(self) -> list[dict[str, Any]]:
        return self._rows(self.related_actions, RELATED, shortcuts=False)

    def _rows(self, actions: list[Action], group: str, shortcuts: bool) -> list[dict[str, Any]]:
        """Each offered action with its policies and parameters, re-filled from `data`."""
        posted = self.data
        checked = set(posted.getlist(self.action_field(group))) if posted else set()
        out = []
        for index, action in enumerate(actions):
            policies_field = self.policies_field(group, action.id)
            chosen = set(posted.getlist(policies_field)) if posted else set()
            params = []
            for spec in action.parameters or []:
                name = spec.get("name", "")
                field = self.param_field(group, action.id, name)
                given = posted.get(field) if posted else None
                default = spec.get("default")
                params.append(
                    {
                        "name": name,
                        "field": field,
                        "type": spec.get("type", "STRING"),
                        "required": bool(spec.get("required")),
                        "value": given if given is not None else "",
                        "default": "" if default is None else _text(default),
                    }
                )
            out.append(
                {
                    "action": action,
                    "key": str(index + 1) if shortcuts and index < MAX_SHORTCUT_ACTIONS else "",
                    "checked": action.id in checked,
                    "policies": [(p, p.id in chosen) for p in self.policies],
                    "params": params,
                    "prefix": group,
                    "field": self.action_field(group),
                    "policies_field": policies_field,
                }
            )
        return out

    # Parsing.
    def decision(self) -> DecisionInput:
        """The posted fields as a DecisionInput. Raises DecisionRefusedError for input that
        cannot even be read (a parameter that is not a number); `decide` checks the rest."""
        post = self.data if self.data is not None else QueryDict()
        item_ids = [a for a in dict.fromkeys(post.getlist(self.action_field(ITEM))) if a]
        related_ids = [a for a in dict.fromkeys(post.getlist(self.action_field(RELATED))) if a]
        if self.related_target is None:
            related_ids = []
        known = Action.objects.in_bulk(set(item_ids) | set(related_ids))
        choices = [self._choice(post, ITEM, aid, known.get(aid), None) for aid in item_ids] + [
            self._choice(post, RELATED, aid, known.get(aid), self.related_target)
            for aid in related_ids
        ]
        appeal = post.get("appeal") or None
        if appeal not in (None, "ACCEPT", "REJECT"):
            raise DecisionRefusedError("The appeal decision is Overturn or Uphold.", "appeal")
        return DecisionInput(
            actions=choices,
            ignore=post.get("ignore") == "on",
            move_to_queue=post.get("move_to_queue") or None,
            enqueue_ncmec=post.get("enqueue_ncmec") == "on",
            appeal=appeal,  # type: ignore[arg-type]
            reason=post.get("reason", ""),
            note=post.get("note", ""),
        )

    def _choice(
        self,
        post: QueryDict,
        group: str,
        action_id: str,
        action: Action | None,
        item: ItemRef | None,
    ) -> ActionChoice:
        return ActionChoice(
            action_id=action_id,
            policy_ids=[p for p in post.getlist(self.policies_field(group, action_id)) if p],
            parameters=self._parameters(post, group, action),
            item=item,
        )

    def _parameters(self, post: QueryDict, group: str, action: Action | None) -> dict[str, Any]:
        if action is None:
            return {}
        out: dict[str, Any] = {}
        for spec in action.parameters or []:
            name, kind = spec.get("name"), spec.get("type")
            raw = post.get(self.param_field(group, action.id, name), "").strip()
            if raw == "":
                continue
            if kind == "NUMBER":
                try:
                    out[name] = int(raw)
                except ValueError:
                    try:
                        out[name] = float(raw)
                    except ValueError:
                        raise DecisionRefusedError(
                            f"{action.name}: “{name}” must be a number.", "actions"
                        ) from None
            elif kind == "BOOLEAN":
                out[name] = raw == "true"
            else:
                out[name] = raw
        return out


def _text(raw: Any) -> str:
    """A parameter default as the field shows it."""
    if isinstance(raw, str):
        return raw
    try:
        return json.dumps(raw, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return str(raw)
