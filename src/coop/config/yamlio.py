"""YAML reading and writing for the configuration file.

`!secret NAME` (a header value read from the environment variable NAME when a webhook is sent)
is loaded as {"secret": "NAME"} and written back as `!secret NAME`, so exports never hold the
clear text.
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class ConfigSyntaxError(Exception):
    """The file is not valid YAML (the message names the line and column)."""


class _Loader(yaml.SafeLoader):
    pass


def _secret(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, str]:
    if not isinstance(node, yaml.ScalarNode) or not loader.construct_scalar(node):
        raise yaml.constructor.ConstructorError(
            None, None, "!secret needs an environment variable name", node.start_mark
        )
    return {"secret": str(loader.construct_scalar(node))}


_Loader.add_constructor("!secret", _secret)
# Timestamps stay strings: the validator parses them and reports errors with a path.
_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigSyntaxError(f"YAML syntax error at {where}{problem}") from exc
    except yaml.YAMLError as exc:
        raise ConfigSyntaxError(f"YAML syntax error: {exc}") from exc


class _Dumper(yaml.SafeDumper):
    pass


def _is_secret(data: dict) -> bool:
    return set(data) == {"secret"} and isinstance(data["secret"], str)


def _inline(value: Any) -> bool:
    """Scalars, secrets, lists of scalars and mappings of scalars fit on one line."""
    if isinstance(value, list):
        return all(not isinstance(v, dict | list) for v in value)
    if isinstance(value, dict):
        return _is_secret(value) or all(not isinstance(v, dict | list) for v in value.values())
    return True


def _represent_dict(dumper: yaml.SafeDumper, data: dict) -> yaml.Node:
    if _is_secret(data):
        return dumper.represent_scalar("!secret", data["secret"])
    # Small objects read best on one line, as in the documentation's examples.
    flow = 0 < len(data) <= 6 and all(map(_inline, data.values())) and len(str(data)) < 90
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = _inline(data) and len(str(data)) < 90
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)
_QUOTED_SECRET = re.compile(r"!secret '([A-Za-z_][A-Za-z0-9_]*)'")


def dump_yaml(data: Any) -> str:
    text = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
    # PyYAML quotes every explicitly tagged scalar; environment variable names need no quotes.
    return _QUOTED_SECRET.sub(r"!secret \1", text)
