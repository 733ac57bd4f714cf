"""`coop config apply|export` for the console tests, which compare the console with the file."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from django.core.management import CommandError, call_command


def run_config(*args: str, text: str | None = None) -> tuple[int, str, str]:
    """Run `coop config ...`; returns (exit code, stdout, stderr). `text` is written to a file."""
    args_list = list(args)
    with tempfile.TemporaryDirectory() as tmp:
        if text is not None:
            path = Path(tmp) / "coop.yaml"
            path.write_text(text, encoding="utf-8")
            args_list.append(str(path))
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("config", *args_list, stdout=out, stderr=err)
        except CommandError as exc:
            return 1, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


def export_then_apply_is_a_no_op() -> bool:
    code, exported, _ = run_config("export")
    assert code == 0
    code, out, err = run_config("apply", text=exported)
    assert code == 0, err
    return "Plan: 0 to create, 0 to change, 0 to delete," in out
