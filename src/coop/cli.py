"""The `coop` console script: Django's management commands, with Coop's settings."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coop.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["coop", *sys.argv[1:]])
