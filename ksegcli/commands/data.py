"""``ksegcli data get KEY | cohorts USER_ID | traits USER_ID`` (Kameleoon Data API)."""

from __future__ import annotations

from typing import Annotated

import typer

from ksegcli.commands._options import Sitecode
from ksegcli.core.kameleoon import datahosts
from ksegcli.errors import NotFoundError
from ksegcli.state import get_state

app = typer.Typer(
    help="Read what Kameleoon holds for a user (remote data written by Segment).",
    no_args_is_help=True,
)

UserId = Annotated[
    str, typer.Argument(metavar="USER_ID", help="The user id Segment sends (userId/anonymousId).")
]
REGION_OPTION = typer.Option(
    None,
    "--data-host",
    "--region",
    metavar=datahosts.METAVAR,
    help=datahosts.HELP,
)


@app.command("get")
def get(
    ctx: typer.Context,
    key: str = typer.Argument(
        ..., metavar="KEY", help="Remote data key, e.g. COHORTS_<userId> or common."
    ),
    sitecode: Sitecode = None,
    region: str | None = REGION_OPTION,
) -> None:
    """Print the JSON stored under KEY (exit 4 when nothing is stored)."""
    from ksegcli.core.kameleoon.dataapi import get_value, is_empty

    state = get_state(ctx)
    code = state.session.sitecode(sitecode, required=True)
    value = get_value(state.session, key, sitecode=code, region=region)
    if is_empty(value):
        raise NotFoundError(
            f"No remote data under {key!r} for sitecode {code}.",
            hint="Keys are case-sensitive; the integration writes COHORTS_<userId>, "
            "IDENTIFY_<userId> and common.",
        )
    out = state.output

    def human() -> None:
        import json

        out.line(json.dumps(value, indent=2, ensure_ascii=False))

    out.result({"sitecode": code, "key": key, "value": value}, human=human)


@app.command("cohorts")
def cohorts(
    ctx: typer.Context,
    user_id: UserId,
    sitecode: Sitecode = None,
    region: str | None = REGION_OPTION,
) -> None:
    """The user's Segment personas (Audience Entered/Exited): true or false each."""
    from ksegcli.core.kameleoon import dataapi

    state = get_state(ctx)
    code = state.session.sitecode(sitecode, required=True)
    result = dataapi.cohorts(state.session, user_id, sitecode=code, region=region)
    if not result.memberships:
        raise dataapi.nothing_stored("personas", result)
    out = state.output

    def human() -> None:
        out.table(
            ["PERSONA", "MEMBER"],
            [(name, "yes" if member else "no") for name, member in result.memberships.items()],
            title=f"{result.key} on {code}",
        )
        others = [n for n in result.known if n not in result.memberships]
        if others:
            out.info(f"Other personas known to the project: {', '.join(others)}")

    out.result(result.to_json(), human=human)


@app.command("traits")
def traits(
    ctx: typer.Context,
    user_id: UserId,
    sitecode: Sitecode = None,
    region: str | None = REGION_OPTION,
) -> None:
    """The user's identify traits and group id."""
    from ksegcli.core.kameleoon import dataapi

    state = get_state(ctx)
    code = state.session.sitecode(sitecode, required=True)
    result = dataapi.traits(state.session, user_id, sitecode=code, region=region)
    if result.empty:
        raise dataapi.nothing_stored("traits or group id", result)
    out = state.output

    def human() -> None:
        import json

        rows = [
            (name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
            for name, value in result.traits.items()
        ]
        rows.append(("groupId", "-" if result.group_id is None else str(result.group_id)))
        out.table(["TRAIT", "VALUE"], rows, title=f"{result.key} on {code}")

    out.result(result.to_json(), human=human)
