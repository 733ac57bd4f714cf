"""What the configuration pages (item types, policies, actions, routing rules) share.

Each page's form turns what was posted into the object as the configuration file spells it and
hands it to `coop.config.services.save_object`, which validates it with the same code as
`coop config apply`; the errors come back with file paths (`fields[1].type`,
`parameters[0].default`) and are put next to the input they name. Values are passed on as typed
(a strike weight of "abc" stays a string) so the validator, not the form, words the message, and
the console and the file say the same thing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.forms.utils import ErrorDict
from django.http import QueryDict
from django.utils.text import slugify

from coop.config.kinds import BY_KEY, Canonical
from coop.config.schema import CONSOLE_WORDS, ConfigError

# More rows than any real item type, action or routing condition has; bounds the work a post
# can cause (Django also caps the number of fields of a request).
MAX_ROWS = 200
_PATH = re.compile(r"^([A-Za-z]+)(?:\[(\d+)\])?(?:\.(.+))?$")


def split_path(path: str) -> tuple[str, int | None, str]:
    """`fields[1].type` -> ("fields", 1, "type"); `roles.creatorId` -> ("roles", None,
    "creatorId"); a path of another shape -> (path, None, "")."""
    match = _PATH.match(path)
    if not match:
        return path, None, ""
    head, index, rest = match.groups()
    return head, int(index) if index is not None else None, rest or ""


def stored(kind: str, object_id: str) -> Canonical | None:
    """One stored object in its canonical file form (defaults filled in), or None."""
    config_kind = BY_KEY[kind]
    row = config_kind.queryset().filter(pk=object_id).first()
    return config_kind.to_dict(row) if row is not None else None


def derive_id(name: str, taken: Callable[[str], bool], fallback: str) -> str:
    """An id from the name (config.md: the UI generates one when none is given), made unique,
    and never one of the console's words (a rule named "New" gets `new-2`)."""
    base = slugify(name)[:64].strip("-_.") or fallback
    value, n = base, 2
    while value in CONSOLE_WORDS or taken(value):
        suffix = f"-{n}"
        value, n = base[: 64 - len(suffix)] + suffix, n + 1
    return value


def typed_number(text: str) -> Any:
    """A number typed in a form as int or float; anything else is passed on as typed."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text  # "nan", "inf": not numbers here


def typed_boolean(text: str) -> Any:
    return {"true": True, "false": False}.get(text.lower(), text)


class TextField(forms.CharField):
    """Multi-line text kept as written (no trimming), with the browser's CRLF line breaks
    turned into the file's LF, so saving an unchanged form changes nothing."""

    def __init__(self, *, rows: int = 3, **kwargs: Any):
        kwargs.setdefault("required", False)
        super().__init__(strip=False, widget=forms.Textarea(attrs={"rows": rows}), **kwargs)

    def to_python(self, value: Any) -> str:
        return super().to_python(value).replace("\r\n", "\n").replace("\r", "\n")


@dataclass
class Row:
    index: int
    values: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)  # column ("" = row) -> messages

    @property
    def general_errors(self) -> list[str]:
        """Errors about the row as a whole (e.g. `fields[2]: must be a mapping`)."""
        return self.errors.get("", [])


class RowSet:
    """Repeated rows of a form (an item type's fields, an action's headers, ...), posted as
    `<prefix>-<n>-<column>`.

    Rows are added and removed in the browser (static/coop/config.js); without JavaScript the
    page's Add and Remove buttons submit the form, which comes back with the row added or
    removed and nothing saved. A row whose every column is at its default is left out.
    """

    def __init__(
        self,
        prefix: str,
        defaults: dict[str, Any],
        rows: Iterable[dict[str, Any]] = (),
        *,
        checkboxes: Iterable[str] = (),
    ):
        self.prefix = prefix
        self.defaults = defaults
        self.checkboxes = frozenset(checkboxes)
        self.rows = [Row(i, {**defaults, **values}) for i, values in enumerate(rows)]
        self.edited = False  # True when the post added or removed a row (nothing is saved)

    @classmethod
    def from_post(
        cls, data: QueryDict, prefix: str, defaults: dict[str, Any], *, checkboxes=()
    ) -> RowSet:
        rowset = cls(prefix, defaults, checkboxes=checkboxes)
        pattern = re.compile(rf"^{re.escape(prefix)}-(\d{{1,4}})-([a-z_]+)$")
        posted: dict[int, dict[str, Any]] = {}
        for key in data:
            match = pattern.match(key)
            if match and match.group(2) in defaults:
                posted.setdefault(int(match.group(1)), {})[match.group(2)] = data.get(key, "")
        removed = data.get("remove", "")
        rows = []
        for n in sorted(posted)[:MAX_ROWS]:
            if removed == f"{prefix}-{n}":
                rowset.edited = True
                continue
            values = {}
            for column, default in defaults.items():
                if column in rowset.checkboxes:
                    values[column] = column in posted[n]
                else:
                    values[column] = str(posted[n].get(column, default)).strip()
            if any(values[c] != defaults[c] for c in defaults):
                rows.append(values)
        if data.get("add") == prefix and len(rows) < MAX_ROWS:
            rows.append(dict(defaults))
            rowset.edited = True
        rowset.rows = [Row(i, values) for i, values in enumerate(rows)]
        return rowset

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def blank(self) -> Row:
        """The row the browser copies for "Add" (its inputs are named with `__index__`)."""
        return Row("__index__", dict(self.defaults))  # type: ignore[arg-type]

    @property
    def next_index(self) -> int:
        return len(self.rows)

    @property
    def has_errors(self) -> bool:
        return any(row.errors for row in self.rows)

    def add_error(self, index: int | None, column: str, message: str) -> bool:
        """Attach an error to a row; False when there is no such row."""
        if index is None or not 0 <= index < len(self.rows):
            return False
        if column not in self.defaults:
            column = ""
        self.rows[index].errors.setdefault(column, []).append(message)
        return True


class ConfigForm(forms.Form):
    """A configuration object's form: the scalar inputs here, repeated rows in RowSets."""

    # File key -> form field name, for the keys that map one to one.
    file_keys: dict[str, str] = {}

    @property
    def edited(self) -> bool:
        """Whether the post only added or removed a row (or switched editors): the form is then
        shown again as posted, without validation and without saving."""
        return False

    def full_clean(self) -> None:
        if self.is_bound and self.edited:
            self._errors = ErrorDict()
            self.cleaned_data = {}
            return
        super().full_clean()

    def place_error(self, error: ConfigError) -> None:
        """Put one error of `save_object` next to its input; the rest go above the form."""
        head, _, _ = split_path(error.path)
        name = self.file_keys.get(head)
        if name is not None and name in self.fields:
            self.add_error(name, error.message)
        else:
            self.add_error(None, str(error))

    def place_errors(self, errors: Iterable[ConfigError]) -> None:
        for error in errors:
            self.place_error(error)
