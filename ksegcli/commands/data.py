"""``ksegcli data get KEY | cohorts USER_ID | traits USER_ID`` (Kameleoon Data API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from ksegcli.commands._options import Sitecode
from ksegcli.core.kameleoon import datahosts
from ksegcli.errors import NotFoundError
from ksegcli.state import get_state

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.dataapi import Cohorts, Traits
    from ksegcli.output import Output

_Found = TypeVar("_Found", "Cohorts", "Traits")

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


def _stored(
    ctx: typer.Context,
    read: Callable[..., _Found],
    what: str,
    user_id: str,
    sitecode: str | None,
    region: str | None,
) -> tuple[Output, str, _Found]:
    """What ``read`` finds for the user on the sitecode (exit 4 when nothing of ``what``
    is stored), the output to render it on, and the sitecode."""
    from ksegcli.core.kameleoon.dataapi import nothing_stored

    state = get_state(ctx)
    code = state.session.sitecode(sitecode, required=True)
    found = read(state.session, user_id, sitecode=code, region=region)
    if found.empty:
        raise nothing_stored(what, found)
    return state.output, code, found


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

    out, code, result = _stored(ctx, dataapi.cohorts, "personas", user_id, sitecode, region)

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

    out, code, result = _stored(
        ctx, dataapi.traits, "traits or group id", user_id, sitecode, region
    )

    def human() -> None:
        import json

        rows = [
            (name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
            for name, value in result.traits.items()
        ]
        rows.append(("groupId", "-" if result.group_id is None else str(result.group_id)))
        out.table(["TRAIT", "VALUE"], rows, title=f"{result.key} on {code}")

    out.result(result.to_json(), human=human)
