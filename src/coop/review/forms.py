"""Forms of the Review Console: queue create/edit, Recent Decisions filters, and the parsing of
the decision panel's POST into a `DecisionInput` (the domain layer checks everything else)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone
from django.utils.text import slugify

from coop.accounts.models import User
from coop.catalog.items import ItemRef
from coop.catalog.models import Action, Policy
from coop.catalog.services import SaveResult
from coop.review.audit import DecisionFilters
from coop.review.decisions import ActionChoice, DecisionInput, DecisionRefused
from coop.review.models import ClearDisposition, ClearScope, DecisionType, Queue, QueueOrder

# ---------------------------------------------------------------------------------------------
# Queues

ORDER_CHOICES = [
    (QueueOrder.FIFO, "FIFO: oldest first"),
    (QueueOrder.MOST_REPORTS, "Most reports first"),
    (QueueOrder.PRIORITY, "Priority (signals and reports), then oldest"),
]

# The configuration file's spelling of each form field (save_object's error paths).
FILE_KEYS = {
    "id": "id",
    "name": "name",
    "description": "description",
    "reviewers": "reviewers",
    "hidden_actions": "hiddenActions",
    "order": "order",
    "auto_close_deleted": "autoCloseDeleted",
    "appeals": "appeals",
    "clear_trigger_actions": "clearOtherReports",
}


class QueueForm(forms.Form):
    id = forms.CharField(
        label="Id",
        required=False,
        max_length=64,
        help_text="Letters, digits, '_', '-' or '.'. Leave empty to derive it from the name.",
    )
    name = forms.CharField(label="Name", max_length=200)
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    reviewers = forms.MultipleChoiceField(
        label="Reviewers",
        required=False,
        help_text="Who may work this queue. Moderator managers can work every queue.",
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    hidden_actions = forms.MultipleChoiceField(
        label="Hidden actions",
        required=False,
        help_text="Actions not offered to reviewers in this queue (refused by the server too).",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    order = forms.ChoiceField(label="Order", choices=ORDER_CHOICES, initial=QueueOrder.FIFO)
    auto_close_deleted = forms.BooleanField(
        label="Close jobs automatically when their item is deleted",
        required=False,
        help_text="A claimed job whose item has the isDeleted role set is closed and skipped.",
    )
    clear_disposition = forms.ChoiceField(
        label="Clear other reports",
        choices=ClearDisposition.choices,
        required=False,
        help_text="When a decision takes one of the trigger actions, the item's other pending "
        "jobs are closed too, recorded under the deciding reviewer.",
    )
    clear_scope = forms.ChoiceField(
        label="Other jobs in",
        choices=ClearScope.choices,
        initial=ClearScope.THIS_QUEUE,
        required=False,
    )
    clear_trigger_actions = forms.MultipleChoiceField(
        label="Trigger actions",
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    appeals = forms.BooleanField(
        label="Appeals queue",
        required=False,
        help_text="Holds appeal jobs only. Cannot be changed after creation.",
    )

    def __init__(self, *args: Any, queue: Queue | None = None, **kwargs: Any):
        self.queue = queue
        bound = (args[0] if args else kwargs.get("data")) is not None
        if queue is not None and "initial" not in kwargs and not bound:
            kwargs["initial"] = {
                "id": queue.pk,
                "name": queue.name,
                "description": queue.description,
                "reviewers": [u.email.lower() for u in queue.reviewers.all()],
                "hidden_actions": list(queue.hidden_actions),
                "order": queue.order,
                "auto_close_deleted": queue.auto_close_deleted,
                "clear_disposition": queue.clear_disposition,
                "clear_scope": queue.clear_scope,
                "clear_trigger_actions": list(queue.clear_trigger_actions),
                "appeals": queue.is_appeals,
            }
        super().__init__(*args, **kwargs)
        self.fields["reviewers"].choices = [
            (email.lower(), f"{name} <{email}>" if name else email)
            for email, name in User.objects.filter(is_active=True)
            .order_by("email")
            .values_list("email", "name")
        ]
        actions = list(Action.objects.order_by("builtin", "name").values_list("id", "name"))
        self.fields["hidden_actions"].choices = actions
        self.fields["clear_trigger_actions"].choices = actions
        if queue is not None:
            del self.fields["id"]
            self.fields["appeals"].disabled = True

    def clean_id(self) -> str:
        value = self.cleaned_data.get("id", "").strip()
        if not value:
            value = slugify(self.data.get("name", ""))[:64] or "queue"
            base, n = value, 2
            while Queue.objects.filter(pk=value).exists():
                suffix = f"-{n}"
                value, n = base[: 64 - len(suffix)] + suffix, n + 1
        elif Queue.objects.filter(pk=value).exists():
            raise forms.ValidationError("A queue with this id exists already.")
        return value

    def file_data(self) -> dict[str, Any]:
        """The queue as spelled in the configuration file, for `save_object`."""
        d = self.cleaned_data
        data = {
            "id": self.queue.pk if self.queue else d["id"],
            "name": d["name"],
            "description": d["description"],
            "reviewers": list(d["reviewers"]),
            "hiddenActions": list(d["hidden_actions"]),
            "order": d["order"],
            "autoCloseDeleted": d["auto_close_deleted"],
            "appeals": self.queue.is_appeals if self.queue else d["appeals"],
            "clearOtherReports": (
                {
                    "disposition": d["clear_disposition"],
                    "scope": d["clear_scope"] or ClearScope.THIS_QUEUE,
                    "triggerActions": list(d["clear_trigger_actions"]),
                }
                if d["clear_disposition"]
                else None
            ),
        }
        if self.queue is not None:
            data["default"] = self.queue.is_default
        return data

    def add_save_errors(self, result: SaveResult) -> None:
        """Put each error of `save_object` next to its field (the rest above the form)."""
        by_key = {v: k for k, v in FILE_KEYS.items()}
        for error in result.errors:
            head = error.path.split("[", 1)[0].split(".", 1)[0]
            name = by_key.get(head)
            if name is not None and name in self.fields:
                self.add_error(name, error.message)
            else:
                self.add_error(None, str(error))


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
