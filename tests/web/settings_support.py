"""Helpers of the settings page tests: what a browser would submit, and the `coop config`
command as an administrator runs it."""

from __future__ import annotations

import io
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

from django.core.management import CommandError, call_command


class _FormParser(HTMLParser):
    """The successful controls of the page's first POST form (other than Sign out), as a
    browser submits them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.data: list[tuple[str, str]] = []
        self.in_form = False
        self.done = False
        self.select: str | None = None
        self.select_options: list[tuple[str, bool]] = []
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form" and a.get("method") == "post" and a.get("action") != "/logout":
            self.in_form = not self.done
        if not self.in_form or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.data.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "file"):
                self.data.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self.select, self.select_options = name, []
        elif tag == "option" and self.select is not None:
            self.select_options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and name:
            self.textarea, self.text = name, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.in_form:
            self.in_form, self.done = False, True
        elif tag == "select" and self.select is not None:
            chosen = [v for v, selected in self.select_options if selected]
            if not chosen and self.select_options:
                chosen = [self.select_options[0][0]]
            self.data += [(self.select, v) for v in chosen]
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            # A browser drops the one newline that follows <textarea>.
            self.data.append((self.textarea, self.text.removeprefix("\n")))
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text += data


def form_data(html: str, **changes: str | list[str] | None) -> dict[str, list[str]]:
    """The page's form as a browser would send it, with `changes` (None: the control is not
    sent, as an unchecked checkbox)."""
    parser = _FormParser()
    parser.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in parser.data:
        data.setdefault(name, []).append(value)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value if isinstance(value, list) else [value]
    data.pop("csrfmiddlewaretoken", None)
    return data


def field_errors(html: str) -> list[str]:
    """Every error message shown in an error list of the page."""
    lists = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S)
    return [unescape(m) for block in lists for m in re.findall(r"<li>(.*?)</li>", block, re.S)]


def invalid_fields(html: str) -> list[str]:
    """The `name`s of the controls marked invalid (aria-invalid)."""
    return re.findall(r'name="([^"]+)"[^>]*aria-invalid="true"', html)


def run_config(*args: str, tmp_path: Path | None = None, text: str | None = None):
    """`coop config ...`: (exit code, stdout, stderr). `text` is written to a file first."""
    args_list = list(args)
    if text is not None:
        assert tmp_path is not None
        path = tmp_path / "coop.yaml"
        path.write_text(text, encoding="utf-8")
        args_list.append(str(path))
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("config", *args_list, stdout=out, stderr=err)
    except CommandError as exc:
        return 1, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


def export_then_apply(tmp_path: Path) -> str:
    """Export the configuration and apply the export; the plan's last line."""
    code, exported, _ = run_config("export")
    assert code == 0
    code, out, err = run_config("apply", tmp_path=tmp_path, text=exported)
    assert code == 0, err
    return out.strip().splitlines()[-1]


NO_OP = "Plan: 0 to create, 0 to change, 0 to delete"
