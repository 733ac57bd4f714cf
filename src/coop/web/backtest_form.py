"""The start form of backtests and retroactions: the window, the sample size, and (backtests
only) the rule definition being edited, checked by the configuration's validator."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator
from django.utils import timezone

from coop.config.services import check_object
from coop.rules.models import Rule, RunKind
from coop.rules.runs import cap

MINUTE_FORMAT = "%Y-%m-%dT%H:%M"
DEFAULT_WINDOW = timedelta(days=7)
DEFAULT_SIZE = 1000
MAX_DEFINITION_CHARS = 200_000  # a rule definition is a few KB; bound what is parsed


def _moment(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        input_formats=[MINUTE_FORMAT, "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=MINUTE_FORMAT),
        help_text="UTC",
    )


def defaults(kind: str) -> dict[str, Any]:
    """The last week and a thousand submissions (at most the cap)."""
    now = timezone.now().replace(second=0, microsecond=0)
    return {"start": now - DEFAULT_WINDOW, "end": now, "size": min(DEFAULT_SIZE, cap(kind))}


class RunForm(forms.Form):
    start = _moment("Submitted from")
    end = _moment("Submitted before")
    size = forms.IntegerField(label="Submissions to evaluate", min_value=1)
    definition = forms.CharField(
        required=False, widget=forms.HiddenInput, max_length=MAX_DEFINITION_CHARS
    )

    def __init__(self, kind: str, rule: Rule, *args: Any, **kwargs: Any):
        kwargs.setdefault("initial", defaults(kind))
        super().__init__(*args, **kwargs)
        self.kind, self.rule = kind, rule
        limit = cap(kind)
        self.fields["size"].validators.append(MaxValueValidator(limit))
        self.fields["size"].widget.attrs.update({"min": 1, "max": limit})
        self.fields["size"].help_text = f"A random sample of the window; at most {limit:,}."
        self.edited: dict[str, Any] | None = None
        self.definition_errors: list[str] = []

    @classmethod
    def with_definition(cls, rule: Rule, definition: str) -> RunForm:
        """The backtest form filled with the defaults and a definition posted from the rule
        form, checked (its errors shown) so the user only picks the window and size."""
        data = {
            k: v.strftime(MINUTE_FORMAT) if isinstance(v, datetime) else v
            for k, v in defaults(RunKind.BACKTEST).items()
        }
        form = cls(RunKind.BACKTEST, rule, data={**data, "definition": definition})
        form.is_valid()
        return form

    def clean_definition(self) -> str:
        """The rule as edited, validated as `coop config apply` validates it."""
        text = self.cleaned_data.get("definition") or ""
        if not text:
            return text
        if self.kind == RunKind.RETROACTION:
            raise forms.ValidationError("A retroaction runs the saved rule.")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"The rule definition is not JSON: {error}") from None
        if not isinstance(data, dict):
            raise forms.ValidationError("The rule definition must be a JSON object.")
        canonical, errors = check_object("rules", {**data, "id": self.rule.id})
        if errors:
            self.definition_errors = [f"{e.path or 'rule'}: {e.message}" for e in errors]
            raise forms.ValidationError("The edited rule is not valid.")
        self.edited = canonical
        return text

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if isinstance(start, datetime) and isinstance(end, datetime) and end <= start:
            self.add_error("end", "The window must end after it starts.")
        return data
