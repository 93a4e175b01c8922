"""The JSON Schemas of every command's ``--json`` document (see :mod:`ksegcli.contract`).

Written once here, published twice: as package data (``ksegcli/schemas/``, read by
``ksegcli schema``) and in ``docs/schema/output/``. Regenerate both with::

    python -m ksegcli.schema_gen

Every schema allows properties it does not name: adding a field is not a breaking
change (see the README, "JSON output"). tests/test_json_contract.py checks that the
files are up to date; the whole-CLI audit validates every leaf's real output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ksegcli.contract import ITEM_STATES, SCHEMA_VERSION, schema_file_name

COMMAND = "python -m ksegcli.schema_gen"

Schema = dict[str, Any]

STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}
NUM: Schema = {"type": "number"}


def opt(schema: Schema) -> Schema:
    """``schema`` or null."""
    kinds = schema.get("type")
    if isinstance(kinds, str):
        return {**schema, "type": [kinds, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
    }


def arr(items: Schema) -> Schema:
    return {"type": "array", "items": items}


ERROR_BODY = obj({"code": STR, "message": STR, "hint": opt(STR)})
PROJECT = {
    **obj({"id": opt(INT), "sitecode": opt(STR), "name": opt(STR)}),
    "description": "A Kameleoon project, the same shape in every document.",
}
STATE = {
    "type": "string",
    "enum": list(ITEM_STATES),
    "description": "; ".join(f"{name}: {meaning}" for name, meaning in ITEM_STATES.items()),
}
ITEM = obj(
    {
        "project": {"$ref": "#/$defs/project"},
        "resource": STR,
        "name": STR,
        "action": STR,
        "state": {"$ref": "#/$defs/state"},
    },
    {
        "kind": opt(STR),
        "id": opt({"type": ["integer", "string"]}),
        "reason": opt(STR),
        "message": opt(STR),
        "request": opt(obj({"method": STR})),
        "error": opt({"$ref": "#/$defs/error_body"}),
    },
)
REQUEST = obj({"method": STR}, {"url": STR, "path": STR, "headers": {"type": "object"}})
DEFS: Schema = {
    "project": PROJECT,
    "state": STATE,
    "item": ITEM,
    "request": REQUEST,
    "error_body": ERROR_BODY,
}


def envelope(extra: dict[str, Schema] | None = None, item: Schema | None = None) -> Schema:
    """An acting command's document: the real run and the dry run."""
    body = obj(
        {
            "dry_run": BOOL,
            "changes": BOOL,
            "items": arr(item or {"$ref": "#/$defs/item"}),
            "summary": {
                "type": "object",
                "description": "How many items are in each state.",
                "propertyNames": {"$ref": "#/$defs/state"},
                "additionalProperties": INT,
            },
        },
        {
            "requests": arr({"$ref": "#/$defs/request"}),
            "interrupted": {
                **BOOL,
                "description": "Present (true) when Ctrl-C stopped the run: the items say what "
                "was done, what was in flight (interrupted) and what was not sent (skipped).",
            },
            **(extra or {}),
        },
    )
    body["if"] = {"properties": {"dry_run": {"const": True}}}
    body["then"] = {"required": ["requests"]}
    return body


def listing(item: Schema, extra: dict[str, Schema] | None = None) -> Schema:
    return obj({"items": arr(item)}, extra)


STATUS_ERROR = {"error": opt({"$ref": "#/$defs/error_body"})}
CAMPAIGN: dict[str, Schema] = {
    "project": {"$ref": "#/$defs/project"},
    "kind": {"enum": ["experiment", "personalization"]},
    "id": INT,
    "name": STR,
    "status": STR,
    "tracking_tools": arr(STR),
    "segment": BOOL,
}
DESTINATION = obj(
    {
        "source_id": STR,
        "region": STR,
        "sitecode": STR,
        "state": {"enum": ["missing", "in_sync", "different", "created", "updated", "planned"]},
        "in_sync": BOOL,
        "mappings": arr(obj({"mapping": STR, "state": STR})),
        "dry_run": BOOL,
    },
    {"destination_id": opt(STR), "differences": arr(STR), "duplicates": arr(STR)},
)
CHECKS = obj(
    {"id": STR, "title": STR, "status": {"enum": ["pass", "fail", "warn", "skip"]}},
    {"detail": opt(STR), "fix": opt(STR)},
)
API_RESULT = {
    "enum": ["agrees", "differs", "could_not_check"],
    "description": "doctor --api: what the server answered about an inferred fact "
    "(agrees = pass, differs = fail, could_not_check = skip).",
}
DOCTOR = obj(
    {
        "ok": BOOL,
        "counts": {"type": "object", "additionalProperties": INT},
        "checks": arr(
            {
                **CHECKS,
                "properties": {
                    **CHECKS["properties"],
                    "result": API_RESULT,
                    "seen": {
                        **opt(STR),
                        "description": "A short quote of what the server answered.",
                    },
                },
            }
        ),
    },
    {
        "file": STR,
        "api": {"const": True, "description": "doctor --api: the inferred API facts."},
        "project": opt({"$ref": "#/$defs/project"}),
    },
)
# doctor --api: every check is a fact, with its result.
DOCTOR["if"] = {"required": ["api"]}
DOCTOR["then"] = {
    "required": ["project"],
    "properties": {"checks": {"items": {"required": ["result", "seen"]}}},
}
CUSTOM_DATA = obj(
    {"project": {"$ref": "#/$defs/project"}, "id": INT, "name": STR},
    {
        "type": opt(STR),
        "format": opt(STR),
        "method": opt(STR),
        "ours": opt(STR),
        "current": opt(BOOL),
    },
)

#: command path -> (title, the document's own properties)
COMMANDS: dict[str, tuple[str, Schema]] = {
    "apply": (
        "Make the account match a file: the envelope, with the file, its projects and the "
        "requests counted (the Segment destinations are items too).",
        envelope(
            {
                "file": STR,
                "projects": arr(obj({"project": {"$ref": "#/$defs/project"}, "ref": STR})),
                "request_counts": {"type": "object", "additionalProperties": INT},
                "warnings": arr(STR),
                "next_steps": arr(STR),
                "seconds": NUM,
            }
        ),
    ),
    "doctor": (
        "Every check of the integration, in order (with --api: every inferred API fact).",
        DOCTOR,
    ),
    "verify": (
        "One probe event sent through Segment and looked for in Kameleoon.",
        obj(
            {
                "ok": BOOL,
                "source_id": STR,
                "region": STR,
                "sitecode": opt(STR),
                "user_id": STR,
                "hops": arr(CHECKS),
            },
            {"failed_hop": opt(STR), "delay_seconds": opt(NUM), "nonce": STR},
        ),
    ),
    "export": (
        "The account's integration as an apply file (under toml), and what it holds.",
        obj(
            {
                "file": opt(STR),
                "projects": arr(obj({"id": INT, "sitecode": STR, "name": opt(STR)})),
                "toml": STR,
            },
            {"skipped": arr({"$ref": "#/$defs/project"}), "notes": arr(STR)},
        ),
    ),
    "sandbox": (
        "The environment that points ksegcli at the sandbox.",
        obj({"env": {"type": "object", "additionalProperties": STR}}),
    ),
    "auth login": (
        "The profile logged in.",
        obj({"profile": STR, "client_id": STR, "keyring": STR}, {"token_expires_in": opt(INT)}),
    ),
    "auth getapikey": (
        "The Kameleoon API key (masked unless --show).",
        obj({"api_key": STR, "origin": STR, "stored_in_keyring": BOOL}, {"client_id": opt(STR)}),
    ),
    "auth status": (
        "Where each credential comes from.",
        obj(
            {
                "profile": STR,
                "config_file": STR,
                "sitecode": opt(STR),
                "credentials": arr(obj({"name": STR, "present": BOOL, "source": opt(STR)})),
                "check": opt(obj({"ok": BOOL, "message": STR})),
            }
        ),
    ),
    "auth logout": (
        "What was removed.",
        obj({"profile": STR, "removed": arr(STR)}),
    ),
    "auth token": ("An access token.", obj({"access_token": STR})),
    "sitecode set": (
        "The sitecode stored.",
        obj({"profile": STR, "sitecode": STR, "previous": opt(STR), "file": STR}),
    ),
    "sitecode show": (
        "The sitecode in effect and its source.",
        obj({"profile": STR, "sitecode": STR, "source": {"enum": ["env", "config"]}}),
    ),
    "projects list": (
        "The projects these credentials reach.",
        listing(obj({"id": INT, "name": STR, "sitecode": STR}, {"url": STR, "type": STR})),
    ),
    "integration install": ("The Segment tool installed on each project.", envelope()),
    "integration uninstall": ("The Segment tool removed from each project.", envelope()),
    "integration status": (
        "Whether the Segment tool is installed on each project.",
        listing(
            obj(
                {"project": {"$ref": "#/$defs/project"}, "installed": opt(BOOL)},
                {"tools": arr(STR), **STATUS_ERROR},
            )
        ),
    ),
    "integration identifier install": (
        "ksegcli's block in each global custom script.",
        envelope(),
    ),
    "integration identifier uninstall": (
        "ksegcli's block removed from each global custom script.",
        envelope(),
    ),
    "integration identifier status": (
        "Whether each global custom script holds the current block.",
        listing(
            obj(
                {
                    "project": {"$ref": "#/$defs/project"},
                    "state": opt(STR),
                    "installed": opt(BOOL),
                },
                {"detail": STR, **STATUS_ERROR},
            )
        ),
    ),
    "customdata list": ("Each project's custom data.", listing(CUSTOM_DATA)),
    "customdata delete": ("The custom data deleted (one item).", envelope()),
    "customdata create personas": ("The personas custom data on each project.", envelope()),
    "customdata create trait": ("One trait's custom data on each project.", envelope()),
    "customdata create group": ("The group id custom data on each project.", envelope()),
    "snippet render": (
        "A snippet's code (with --list: the kinds).",
        {
            "anyOf": [
                obj({"kind": STR, "code": STR, "paste_into": STR, "language": STR}),
                listing(obj({"kind": STR, "paste_into": STR})),
            ]
        },
    ),
    "segment login": (
        "The Segment token accepted.",
        obj({"profile": STR, "region": STR}, {"sources_seen": INT}),
    ),
    "segment destination create": (
        "The destination on the source (one item; its mappings under destination).",
        envelope(
            item={
                "allOf": [
                    {"$ref": "#/$defs/item"},
                    obj({"source_id": STR, "region": STR, "destination": opt(DESTINATION)}),
                ]
            }
        ),
    ),
    "segment destination status": ("The destination on the source, compared.", DESTINATION),
    "segment sources list": (
        "The workspace's sources.",
        listing(obj({"id": STR, "name": opt(STR)}, {"slug": opt(STR), "enabled": opt(BOOL)})),
    ),
    "reporting enable": (
        "Segment added to each campaign's tracking tools.",
        envelope(
            {"projects_without_segment_tool": arr({"$ref": "#/$defs/project"})},
            item={"allOf": [{"$ref": "#/$defs/item"}, obj({}, CAMPAIGN)]},
        ),
    ),
    "reporting status": (
        "Which campaigns report to Segment.",
        listing(obj({"project": CAMPAIGN["project"], "id": INT, "segment": BOOL}, CAMPAIGN)),
    ),
    "data get": (
        "The value stored under a key.",
        obj({"sitecode": STR, "key": STR, "value": {}}),
    ),
    "data cohorts": (
        "A user's personas (cohorts).",
        obj(
            {"user_id": STR, "sitecode": STR, "key": STR, "cohorts": {"type": "object"}},
            {"member_of": arr(STR), "known_personas": arr(STR)},
        ),
    ),
    "data traits": (
        "A user's traits and group id.",
        obj(
            {"user_id": STR, "sitecode": STR, "key": STR, "traits": {"type": "object"}},
            {"groupId": {}},
        ),
    ),
    "goals list": (
        "Goals per project.",
        listing(
            obj(
                {"project": {"$ref": "#/$defs/project"}, "id": INT, "name": STR},
                {"from_segment": BOOL, "event": opt(STR), "event_type": opt(STR)},
            )
        ),
    ),
    "completion": (
        "The shell completion script (with --install: where it was written).",
        {
            "anyOf": [
                obj({"shell": STR, "script": STR}),
                obj(
                    {
                        "shell": STR,
                        "path": STR,
                        "state": {"enum": ["installed", "updated", "unchanged"]},
                        "next_steps": arr(STR),
                    }
                ),
            ]
        },
    ),
    "schema": (
        "The commands with a published schema (with COMMAND: that schema itself).",
        listing(obj({"command": STR, "file": STR})),
    ),
}

#: Commands that can also print a JSON Schema as such (``apply --schema``, ``schema X``).
PRINTS_A_SCHEMA = frozenset({"apply", "schema"})
A_SCHEMA: Schema = {
    "type": "object",
    "required": ["$schema"],
    "description": "A JSON Schema document, printed as it is.",
}

ERROR_SCHEMA: Schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "ksegcli error",
    "description": "What every command prints with --json when it fails as a whole.",
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"$ref": "#/$defs/error_body"}},
    "$defs": {"error_body": ERROR_BODY},
}


def build(command: str) -> Schema:
    """The schema of one command's document."""
    title, body = COMMANDS[command]
    head = obj(
        {
            "schema_version": {"const": SCHEMA_VERSION},
            "command": {"const": command},
        }
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"ksegcli {command} --json",
        "description": title,
        **(
            {"anyOf": [{"allOf": [head, body]}, A_SCHEMA]}
            if command in PRINTS_A_SCHEMA
            else {"allOf": [head, body]}
        ),
        "$defs": DEFS,
    }


def files() -> dict[str, str]:
    """File name -> text, for every published schema and the index."""
    out = {schema_file_name(name): _text(build(name)) for name in COMMANDS}
    out["error.json"] = _text(ERROR_SCHEMA)
    out["index.json"] = _text({"schema_version": SCHEMA_VERSION, "commands": [*COMMANDS, "error"]})
    return out


def _text(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


PACKAGE_DIR = Path(__file__).parent / "schemas"
DOCS_DIR = Path(__file__).parent.parent / "docs" / "schema" / "output"


def write(folders: tuple[Path, ...] = (PACKAGE_DIR, DOCS_DIR)) -> None:
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.json"):
            old.unlink()
        for name, text in files().items():
            (folder / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write()
