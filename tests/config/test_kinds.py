"""The kinds' field maps are their schema specs: every key is stored somewhere."""

from __future__ import annotations

from coop.config.kinds import KINDS


def test_every_file_key_of_a_kind_has_a_model_attribute():
    for kind in KINDS:
        if kind.singleton:
            continue
        attributes = {f.attname for f in kind.model._meta.concrete_fields}
        specs = [kind.export_spec({"kind": k}) for k in ("TEXT", "REGEX", "LOCATION", "HASH")]
        for spec in specs if kind.key == "banks" else [kind.spec()]:
            for key in (*spec, *kind.extra):
                if key in kind.by_hand or key in kind.read_row:
                    continue
                assert kind.attribute(key) in attributes, (kind.key, key)
