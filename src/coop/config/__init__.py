"""Configuration as code: the YAML file format, its validation, plan, apply and export.

See docs/configuration.md for the format. `coop config apply|export` and the console's
single-object saves (coop.config.services) share this package's code path.
"""

from __future__ import annotations

from coop.config.document import Document, parse_document
from coop.config.engine import Plan, apply_document, export_yaml
from coop.config.schema import ConfigError
from coop.config.yamlio import ConfigSyntaxError, load_yaml


def parse_text(text: str) -> tuple[Document, list[ConfigError]]:
    """Read a configuration file's text; YAML syntax errors raise ConfigSyntaxError."""
    return parse_document(load_yaml(text))


__all__ = [
    "ConfigError",
    "ConfigSyntaxError",
    "Document",
    "Plan",
    "apply_document",
    "export_yaml",
    "parse_text",
]
