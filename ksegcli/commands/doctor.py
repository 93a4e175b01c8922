"""``ksegcli doctor``: check the whole integration, one line per check."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ksegcli.commands._options import DataRegion, SegmentRegion, Sitecode, TokenStdin
from ksegcli.core.redact import redact
from ksegcli.errors import ExitCode, UsageError
from ksegcli.output import sanitize
from ksegcli.state import get_state

if TYPE_CHECKING:
    from ksegcli.core.doctor.checks import Check
    from ksegcli.output import Output
    from ksegcli.state import AppState

MARKS = {"pass": "✓", "fail": "✗", "warn": "!", "skip": "–"}
STYLES = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim"}


def doctor(
    ctx: typer.Context,
    sitecode: Sitecode = None,
    source: str | None = typer.Option(
        None, "--source", help="Segment source id whose destination to check."
    ),
    user: str | None = typer.Option(
        None, "--user", help="Also look up this user's remote data (cohorts, traits)."
    ),
    region: SegmentRegion = None,
    data_region: DataRegion = None,
    token_stdin: TokenStdin = False,
    file: Path | None = typer.Option(
        None,
        "--file",
        metavar="FILE",
        help="Check what this apply file declares, item by item, instead of the defaults.",
    ),
    api: bool = typer.Option(
        False,
        "--api",
        help="Check the inferred API facts against your account (reads only): each one "
        "agrees, differs or could not be checked.",
    ),
) -> None:
    """Check the whole integration, one line per check, each with its fix.

    In order: credentials, API key, sitecode and project, Segment tool, custom data,
    identifier script (global custom script), Segment destination (with a token
    and --source), remote data (with --user).

    With --file FILE (an apply file, docs/apply.md): credentials and API key,
    then every item the file declares, per project, compared as apply
    compares it: the Segment tool, the identifier script (when the file sets
    identifier), each declared custom data (group = false: not checked), and
    the Segment destination where the project has a segment table. Nothing is
    written: the drift gate for a scheduled CI job.

    With --api: the API facts ksegcli infers rather than knows (docs/api-facts.md),
    each checked with reads only against your account (the project of --sitecode or
    the profile, else the first one): the integration-tools answer, the sites'
    trackingScript, the IN filter, the personalizations' trackingTools and the
    getapikey answer. One line per fact: agrees, differs (with what the server
    answered) or could not check (with why). Nothing is written.

    Exit 9 when a check fails (with --file: an item missing or drifted; with --api:
    a fact differs; could not check alone is not a failure). Exit 3 when --api has
    no credentials, or they are refused.
    """
    from ksegcli.core.doctor.checks import DoctorOptions, run_doctor

    state = get_state(ctx)
    token = None
    if token_stdin:
        from ksegcli.core.auth.credentials import read_secret_from_stdin

        token = read_secret_from_stdin("Segment API token")
    out = state.output
    if api:
        _doctor_api(
            state,
            sitecode,
            file=file,
            others={
                "--source": source,
                "--user": user,
                "--region": region,
                "--data-host": data_region,
                "--token-stdin": token_stdin,
            },
        )
        return
    on_check = None if state.json_mode else (lambda check: _print(out, check))
    if file is not None:
        from ksegcli.core.doctor.file_check import run_doctor_file

        given = [
            flag
            for flag, value in (
                ("--sitecode", sitecode),
                ("--source", source),
                ("--user", user),
                ("--region", region),
                ("--data-host", data_region),
            )
            if value
        ]
        if given:
            raise UsageError(
                f"{', '.join(given)} cannot go with --file: the file names the projects, "
                "sources and regions to check."
            )
        report = run_doctor_file(state.session, file, token=token, on_check=on_check)
        out.result(
            {"file": str(file), **report.to_json()},
            human=lambda: _summary(out, report.counts()),
        )
        if not report.ok:
            raise typer.Exit(ExitCode.CHECK_FAILED)
        return
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
        on_check=on_check,
    )
    out.result(report.to_json(), human=lambda: _summary(out, report.counts()))
    if not report.ok:
        raise typer.Exit(ExitCode.CHECK_FAILED)


def _doctor_api(
    state: AppState, sitecode: str | None, *, file: Path | None, others: dict[str, object]
) -> None:
    from ksegcli.contract import project
    from ksegcli.core.doctor.api_facts import run_doctor_api

    given = [flag for flag, value in others.items() if value]
    if file is not None:
        given.insert(0, "--file")
    if given:
        raise UsageError(
            f"{', '.join(given)} cannot go with --api: it checks the API's answers, "
            "with --sitecode at most to choose the project."
        )
    out = state.output
    on_check = None if state.json_mode else (lambda check: _print_fact(out, check))
    report, site = run_doctor_api(state.session, sitecode=sitecode, on_check=on_check)
    out.result(
        {"api": True, "project": None if site is None else project(site), **report.to_json()},
        human=lambda: _fact_summary(out, report.checks),
    )
    if not report.ok:
        raise typer.Exit(ExitCode.CHECK_FAILED)


RESULTS = {
    "agrees": ("✓", "agrees", "green"),
    "differs": ("✗", "differs", "bold red"),
    "could_not_check": ("–", "could not check", "yellow"),
}


def _print_fact(out: Output, check: Check) -> None:
    from rich.text import Text

    mark, word, style = RESULTS[check.result or "could_not_check"]
    line = Text()
    line.append(f"{mark} {word}: ", style=style)
    line.append(sanitize(check.title), style="bold" if check.result == "differs" else "")
    line.append(f" — {sanitize(redact(check.detail))}")
    out.out.print(line, soft_wrap=True)
    if check.seen:
        out.out.print(Text(f"    seen: {sanitize(redact(check.seen))}"), soft_wrap=True)
    if check.fix and check.status != "pass":
        out.out.print(Text(f"    {sanitize(redact(check.fix))}", style="cyan"), soft_wrap=True)


def _fact_summary(out: Output, checks: list[Check]) -> None:
    counts = {key: sum(1 for c in checks if c.result == key) for key in RESULTS}
    plural = {"agrees": "agree", "differs": "differ", "could_not_check": "could not check"}
    text = ", ".join(
        f"{n} {RESULTS[key][1] if n == 1 else plural[key]}" for key, n in counts.items() if n
    )
    if counts["differs"]:
        out.warn(f"doctor --api: {text}.")
    else:
        out.success(f"doctor --api: {text}.")


def _print(out: Output, check: Check) -> None:
    from rich.text import Text

    line = Text()
    line.append(f"{MARKS[check.status]} ", style=STYLES[check.status])
    line.append(sanitize(check.title), style="bold" if check.status == "fail" else "")
    line.append(f": {sanitize(redact(check.detail))}")
    out.out.print(line, soft_wrap=True)
    if check.fix and check.status != "pass":
        fix = sanitize(redact(check.fix))
        out.out.print(Text(f"    fix: {fix}", style="cyan"), soft_wrap=True)


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
