from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "coop.yaml"


@pytest.fixture
def moderator(db):
    """The reviewer named in examples/coop.yaml must exist before the example is applied."""
    from factories import user

    return user("mod@example.com", "Moderator")


@pytest.fixture
def run_config(db, tmp_path):
    """Run `coop config ...`; returns (exit code, stdout, stderr). `text` is written to a file."""

    def run(*args: str, text: str | None = None) -> tuple[int, str, str]:
        args_list = list(args)
        if text is not None:
            path = tmp_path / "coop.yaml"
            path.write_text(text, encoding="utf-8")
            args_list.append(str(path))
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("config", *args_list, stdout=out, stderr=err)
        except CommandError as exc:
            return 1, out.getvalue(), err.getvalue() + str(exc)
        return 0, out.getvalue(), err.getvalue()

    return run


@pytest.fixture
def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")
