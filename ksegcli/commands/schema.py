"""``ksegcli schema [COMMAND]``: the JSON Schema of a command's ``--json`` document."""

from __future__ import annotations

import difflib

import typer

from ksegcli.errors import UsageError
from ksegcli.state import get_state


def schema(
    ctx: typer.Context,
    command: list[str] | None = typer.Argument(
        None,
        metavar="[COMMAND]...",
        help="The command, as typed (e.g. `integration install`), or `error`.",
    ),
) -> None:
    """Print the JSON Schema of COMMAND's --json output; without COMMAND, list them.

    Every --json document starts with schema_version and command. Adding a field keeps
    the version; renaming or removing one raises it (README, "JSON output").
    """
    from ksegcli.contract import load_schema, schema_file_name, schema_names

    state = get_state(ctx)
    out = state.output
    names = schema_names()
    if not command:
        rows = [{"command": name, "file": f"schemas/{schema_file_name(name)}"} for name in names]
        out.result(
            rows,
            human=lambda: out.table(
                ["COMMAND", "SCHEMA"], [(r["command"], r["file"]) for r in rows]
            ),
        )
        return
    name = " ".join(command).strip()
    if name.startswith("ksegcli "):
        name = name.removeprefix("ksegcli ")
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        raise UsageError(
            f"No schema for {name!r}.",
            hint=(f"Did you mean {close[0]!r}? " if close else "")
            + "`ksegcli schema` lists the commands.",
        )
    out.emit_json(load_schema(name), reveal=True)
