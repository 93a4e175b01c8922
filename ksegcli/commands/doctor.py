"""``ksegcli doctor``: check the whole integration, one line per check."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ksegcli.state import get_state

if TYPE_CHECKING:
    from ksegcli.core.doctor import Check
    from ksegcli.output import Output

MARKS = {"pass": "✓", "fail": "✗", "warn": "!", "skip": "–"}
STYLES = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim"}


def doctor(
    ctx: typer.Context,
    sitecode: str | None = typer.Option(
        None, "--sitecode", help="Kameleoon sitecode (default: KAMELEOON_SITECODE or the profile)."
    ),
    source: str | None = typer.Option(
        None, "--source", help="Segment source id whose destination to check."
    ),
    user: str | None = typer.Option(
        None, "--user", help="Also look up this user's remote data (cohorts, traits)."
    ),
    region: str | None = typer.Option(None, "--region", help="Segment region: us or eu."),
    data_region: str | None = typer.Option(
        None, "--data-region", help="Data API region: eu, na, eu-eu, na-eu."
    ),
    token_stdin: bool = typer.Option(
        False, "--token-stdin", help="Read the Segment Public API token from standard input."
    ),
) -> None:
    """Check the whole integration, one line per check, each with its fix.

    In order: credentials, API key, sitecode and project, Segment tool, custom data,
    identifier script (global custom script), Segment destination (with a token
    and --source), remote data (with --user).
    Exit 9 when a check fails.
    """
    from ksegcli.core.doctor import DoctorOptions, run_doctor
    from ksegcli.errors import ExitCode

    state = get_state(ctx)
    token = None
    if token_stdin:
        from ksegcli.core.credentials import read_secret_from_stdin

        token = read_secret_from_stdin("Segment API token")
    out = state.output
    options = DoctorOptions(
        sitecode=sitecode,
        source=source,
        user_id=user,
        segment_region=region,
        data_region=data_region,
        token=token,
    )
    # Humans see each check as it finishes; --json prints the list once at the end.
    report = run_doctor(
        state.session,
        options,
        on_check=None if state.json_mode else (lambda check: _print(out, check)),
    )
    out.result(report.to_json(), human=lambda: _summary(out, report.counts()))
    if not report.ok:
        raise typer.Exit(ExitCode.CHECK_FAILED)


def _print(out: Output, check: Check) -> None:
    from rich.text import Text

    from ksegcli.core.redact import redact

    line = Text()
    line.append(f"{MARKS[check.status]} ", style=STYLES[check.status])
    line.append(check.title, style="bold" if check.status == "fail" else "")
    line.append(f": {redact(check.detail)}")
    out.out.print(line, soft_wrap=True)
    if check.fix and check.status != "pass":
        out.out.print(Text(f"    fix: {redact(check.fix)}", style="cyan"), soft_wrap=True)


def _summary(out: Output, counts: dict[str, int]) -> None:
    parts = [
        f"{counts[k]} {name}"
        for k, name in (
            ("pass", "passed"),
            ("fail", "failed"),
            ("warn", "warnings"),
            ("skip", "skipped"),
        )
        if counts[k]
    ]
    text = ", ".join(parts) + "."
    if counts["fail"]:
        out.warn(f"doctor: {text}")
    else:
        out.success(f"doctor: {text}")
