"""``ksegcli apply FILE``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from ksegcli.errors import UsageError
from ksegcli.state import get_state

HELP = """Make the Kameleoon side of the integration match FILE (TOML).

FILE declares, per project (sitecode or id): the Segment tool installed,
the identifier snippet in the global custom script (identifier = true),
the personas, group and trait custom data, the user-id strategy, and the
Segment destination on a source (\\[projects.<REF>.segment]). Schema
and example: docs/apply.md and examples/account.toml. The smallest useful
file is two lines:

    \\[projects.ABCDE12345]
    traits = ["plan"]

The whole file is checked before any request. --schema prints the
file's JSON Schema; a first line "#:schema PATH" lets TOML editors
complete keys and flag mistakes as you type. --dry-run prints the plan
(create / update / unchanged / drifted, and why); without it the changes
are made and summed up. On a terminal the plan is shown first and you are
asked before anything is written (--yes skips the question). Running it
again changes nothing. Nothing the file does not mention is deleted,
unless --prune (and then only custom data ksegcli created); off a
terminal --prune needs --yes.

Exit codes: 0 done, or no changes (--dry-run --detailed-exitcode);
8 changes pending (--dry-run --detailed-exitcode); 2 invalid file or
options; 3 credentials; 4 unknown project; 5 the API refused or failed
for some item (the rest was done; rerun to converge); 6 network;
10 declined at the question (nothing changed); 130 Ctrl-C (what was
done is printed; rerun to converge).
"""


def apply(
    ctx: typer.Context,
    file: Path | None = typer.Argument(
        None, metavar="FILE", help="The TOML file (see docs/apply.md)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; write nothing."),
    detailed_exitcode: bool = typer.Option(
        False,
        "--detailed-exitcode",
        help="With --dry-run: exit 0 when there is nothing to change, 8 when changes are pending.",
    ),
    prune: bool = typer.Option(
        False,
        "--prune",
        help="Also delete ksegcli's custom data that the file no longer declares "
        "(never custom data ksegcli did not create).",
    ),
    update: bool = typer.Option(
        False,
        "--update",
        help="Also overwrite custom data of a declared name that ksegcli did not create "
        "(by default they are reported as drifted and left alone).",
    ),
    project: list[str] | None = typer.Option(
        None,
        "--project",
        metavar="ID|SITECODE",
        help="Only this project of the file (repeatable): to apply a big file in parts.",
    ),
    workers: int = typer.Option(
        8, "--workers", min=1, max=32, help="Requests in flight at once (the rate limit holds)."
    ),
    schema: bool = typer.Option(
        False,
        "--schema",
        help="Print the file's JSON Schema (for editors: see docs/apply.md) and exit.",
    ),
    yes: bool = typer.Option(
        False,
        "--yes",
        "-y",
        help="Do not show the plan and ask on a terminal; off a terminal, needed with --prune.",
    ),
) -> None:
    from ksegcli.commands._apply_run import ApplyHooks
    from ksegcli.commands._confirm import asks
    from ksegcli.commands._run import run_actions
    from ksegcli.core.apply import desired as desired_mod
    from ksegcli.core.apply import engine as core

    if schema:
        from ksegcli.core.apply.schema import schema_text

        if file is not None:
            raise UsageError("--schema takes no FILE: it prints the schema every file follows.")
        sys.stdout.write(schema_text())  # the schema is the one JSON document, with --json too
        return
    if file is None:
        raise UsageError("Missing argument 'FILE'.", hint="Run 'ksegcli apply --help' for usage.")
    if detailed_exitcode and not dry_run:
        raise UsageError("--detailed-exitcode goes with --dry-run.")
    started = time.monotonic()
    state = get_state(ctx)
    desired = desired_mod.load(file)  # every problem of the file, before any request
    if prune and not dry_run:
        from ksegcli.commands._confirm import require_yes_off_terminal

        require_yes_off_terminal(state, yes=yes, what="apply with --prune (it deletes)")
    run = ApplyHooks(
        state=state,
        desired=desired,
        file=file,
        prune=prune,
        update=update,
        only=project or (),
        workers=workers,
        ask=asks(state, yes=yes),
        detailed_exitcode=detailed_exitcode,
        started=started,
    )
    run_actions(
        state,
        dry_run=dry_run,
        plan=run.plan,
        handlers=core.HANDLERS,
        show_plan=run.show_plan,
        before_writes=run.before_writes,
        workers=workers,
        progress=True,
        # The Segment side after the Kameleoon side: it needs only the sitecodes, and a
        # Segment failure must not keep the Kameleoon changes from being made.
        after_writes=run.after_writes,
        report=run.report,
        summary=run.summary,
        exit_code=lambda: run.segment_code,  # a Kameleoon failure's code first
    )
