"""The queue form (create and edit): the console's side of the `queues` configuration kind.

It saves through coop.config's writer, so it refuses exactly what `coop config apply` refuses.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import slugify

from coop.accounts.models import User
from coop.catalog.models import Action
from coop.config.services import SaveResult
from coop.review.models import ClearDisposition, ClearScope, Queue, QueueOrder

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
