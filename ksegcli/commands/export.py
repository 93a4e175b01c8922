"""``ksegcli export [-o FILE]``: the apply file of an existing account."""

from __future__ import annotations

from pathlib import Path

import typer

from ksegcli.errors import UsageError
from ksegcli.state import get_state


def export(
    ctx: typer.Context,
    output: Path | None = typer.Option(
        None, "--output", "-o", metavar="FILE", help="Write the file here (default: stdout)."
    ),
    project: list[str] | None = typer.Option(
        None,
        "--project",
        metavar="ID|SITECODE",
        help="Only this project (repeatable; written even with nothing of the integration).",
    ),
    region: str | None = typer.Option(
        None, "--region", metavar="us|eu", help="Segment region of the destinations."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite FILE if it exists."),
) -> None:
    """Write the apply file that describes the account: adopt a setup made by hand.

    Per project with anything of the integration: the Segment tool, the
    identifier block, ksegcli's own custom data (recognised by the snippet
    header) with their kinds, traits, formats and user-id mode, and the
    Segment destination's source (with a Segment token). Custom data that look
    like the integration's but were made by hand are written as comments with
    the reason, never adopted silently. Check the result with
    `ksegcli apply FILE --dry-run --detailed-exitcode` (exit 0: it describes
    the account).

    Exit codes: 0 written; 2 bad options or FILE exists (--force); 3
    credentials; 4 unknown project, or nothing of the integration found.
    """
    from ksegcli.core.apply import export as core

    state = get_state(ctx)
    out = state.output
    if region:
        from ksegcli.core.segment import normalize_region

        region = normalize_region(region)
    if output is not None and output.exists() and not force:
        raise UsageError(f"{output} exists.", hint="Pass --force to overwrite it.")
    result = core.export_account(state.session, refs=tuple(project or ()), region=region)
    if output is not None:
        from ksegcli.core.config import atomic_write

        try:
            atomic_write(output, result.text.encode("utf-8"), mode=0o644)
        except OSError as exc:
            from ksegcli.errors import BadInputError

            raise BadInputError(f"Cannot write {output}: {exc.strerror or exc}.") from None
    doc = {"file": None if output is None else str(output), **result.to_json()}
    exported = len(doc["projects"])

    def human() -> None:
        if output is None:
            out.line(result.text.rstrip("\n"))
        else:
            out.success(f"Wrote {output}: {exported} project(s).")
        for note in result.notes + [n for p in result.projects for n in p.notes]:
            out.warn(note)

    out.result(doc, human=human)
