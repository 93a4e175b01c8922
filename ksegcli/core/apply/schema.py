"""A JSON Schema of the ``apply`` file, generated from the validator's own rules.

Every key list, allowed value and pattern below comes from core/apply/desired.py, so
the schema cannot drift from what ``ksegcli apply`` accepts; tests/test_apply_schema.py
checks that both give the same verdict on every example and every invalid case.
TOML editors (taplo, Even Better TOML) read it through the file's first line::

    #:schema ../docs/schema/apply.schema.json

Beyond the schema (JSON Schema cannot compare one key with another): two custom
data of one name on a project, and one Segment source declared for two
projects. ``ksegcli apply --dry-run`` reports both.

Regenerate the committed copy with ``python -m ksegcli.core.apply.schema >
docs/schema/apply.schema.json``.
"""

from __future__ import annotations

import json
from typing import Any

from ksegcli.core.apply import desired
from ksegcli.core.kameleoon.customdata import DEFAULT_NAMES, FORMATS

COMMAND = "python -m ksegcli.core.apply.schema > docs/schema/apply.schema.json"
SCHEMA_URI = "http://json-schema.org/draft-07/schema#"
# A string whose stripped text is 1..255 characters: the validator strips names, and
# Kameleoon takes custom data names of at most 255 characters.
_NAME_PATTERN = r"^\s*\S(?:[\s\S]{0,253}\S)?\s*$"
_NOT_BLANK = r"\S"  # trait keys: the snippet needs a non-blank key


def _name_or_flag(kind: str) -> dict[str, Any]:
    return {
        "description": (
            f"true: the custom data {DEFAULT_NAMES[kind]!r}; a string: that name; "
            "false: not managed."
        ),
        "anyOf": [{"type": "boolean"}, {"type": "string", "pattern": _NAME_PATTERN}],
        "default": True,
    }


def _settings() -> dict[str, Any]:
    """The keys a project and [defaults] share (desired.DEFAULT_KEYS)."""
    props: dict[str, Any] = {
        "integration": {
            "type": "boolean",
            "default": True,
            "description": "The Segment tool installed on the project (false: uninstalled).",
        },
        "identifier": {
            "type": "boolean",
            "description": (
                "The identifier snippet in the global custom script (false: removed; "
                "left out: not managed)."
            ),
        },
        "user_id": {
            "enum": list(desired.USER_IDS),
            "default": desired.USER_IDS[0],
            "description": "How the snippets find the user's Segment data.",
        },
        "personas": {"$ref": "#/definitions/personas"},
        "group": {"$ref": "#/definitions/group"},
        "traits": {"$ref": "#/definitions/traits"},
    }
    assert tuple(props) == desired.DEFAULT_KEYS, "the schema lags behind desired.DEFAULT_KEYS"
    return props


def _segment() -> dict[str, Any]:
    props = {
        "source_id": {
            "type": "string",
            "pattern": desired._SOURCE_ID_RE.pattern,
            "description": "A Segment source id (`ksegcli segment sources list`).",
        },
        "region": {
            "enum": list(desired.SEGMENT_REGIONS),
            "default": desired.SEGMENT_REGIONS[0],
            "description": "The Segment workspace's region.",
        },
    }
    assert tuple(props) == desired.SEGMENT_KEYS, "the schema lags behind desired.SEGMENT_KEYS"
    return {
        "type": "object",
        "description": "The Kameleoon (Actions) destination on a Segment source.",
        "properties": props,
        "additionalProperties": False,
    }


def _traits() -> dict[str, Any]:
    trait_props = {
        "name": {"type": "string", "pattern": _NAME_PATTERN},
        "format": {"enum": list(FORMATS), "default": "string"},
    }
    assert tuple(trait_props) == desired.TRAIT_KEYS, "the schema lags behind TRAIT_KEYS"
    trait_table = {"type": "object", "properties": trait_props, "additionalProperties": False}
    return {
        "description": (
            "One UNIQUE custom data per Segment trait: an array of trait keys, or a table "
            'key = "Name" | true | { name = "Name", format = "string" | "number" | "boolean" }.'
        ),
        "anyOf": [
            {
                "type": "array",
                "items": {"type": "string", "pattern": _NOT_BLANK},
                "uniqueItems": True,
            },
            {
                "type": "object",
                "propertyNames": {"pattern": _NOT_BLANK},
                "additionalProperties": {
                    "anyOf": [
                        {"type": "string", "pattern": _NAME_PATTERN},
                        {"const": True},
                        trait_table,
                    ]
                },
            },
        ],
    }


def build_schema() -> dict[str, Any]:
    """The schema, as a JSON-able dict (the same every run: the output is committed)."""
    settings = _settings()
    project_props = {**settings, "segment": {"$ref": "#/definitions/segment"}}
    assert tuple(project_props) == desired.PROJECT_KEYS, "the schema lags behind PROJECT_KEYS"
    top = {
        "version": {
            "const": desired.SCHEMA_VERSION,
            "description": f"The file's schema version (only {desired.SCHEMA_VERSION}).",
        },
        "defaults": {
            "type": "object",
            "description": "Inherited by every project unless the project says otherwise.",
            "properties": settings,
            "additionalProperties": False,
        },
        "projects": {
            "type": "object",
            "description": (
                'One table per project: its sitecode, or its numeric id quoted ("10001").'
            ),
            "minProperties": 1,
            "propertyNames": {"pattern": f"^(?:[0-9]+|{desired._SITECODE_RE.pattern[1:-1]})$"},
            "additionalProperties": {
                "type": "object",
                "properties": project_props,
                "additionalProperties": False,
            },
        },
        "segment": {
            "$ref": "#/definitions/segment",
            "description": "Defaults for the projects' segment tables.",
        },
    }
    assert tuple(top) == desired.TOP_KEYS, "the schema lags behind desired.TOP_KEYS"
    return {
        "$schema": SCHEMA_URI,
        "title": "ksegcli apply file",
        "description": (
            "The desired Kameleoon side of the Kameleoon <-> Segment integration "
            "(`ksegcli apply FILE`; docs/apply.md). Generated by `ksegcli apply --schema`. "
            "Not expressible here, checked by `ksegcli apply --dry-run`: two custom data of "
            "one name on a project, one Segment source for two projects."
        ),
        "type": "object",
        "properties": top,
        "required": ["projects"],
        "additionalProperties": False,
        "definitions": {
            "personas": _name_or_flag("personas"),
            "group": _name_or_flag("group"),
            "traits": _traits(),
            "segment": _segment(),
        },
    }


def schema_text() -> str:
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # pragma: no cover - the generator command
    import sys

    sys.stdout.write(schema_text())
