"""``ksegcli verify --source SOURCE_ID``: prove that data flows, end to end."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from ksegcli.commands._options import DataRegion, SegmentRegion
from ksegcli.core.redact import redact
from ksegcli.errors import ExitCode, UsageError
from ksegcli.state import get_state

if TYPE_CHECKING:
    from ksegcli.core.probe import Hop
    from ksegcli.output import Output

MARKS = {"pass": "✓", "fail": "✗", "skip": "–"}
STYLES = {"pass": "green", "fail": "bold red", "skip": "dim"}


def verify(
    ctx: typer.Context,
    source: str = typer.Option(
        ..., "--source", metavar="SOURCE_ID", help="The Segment source to send the probe through."
    ),
    region: SegmentRegion = None,
    sitecode: str | None = typer.Option(
        None,
        "--sitecode",
        help="The sitecode whose remote data to read (default: the destination's).",
    ),
    data_region: DataRegion = None,
    write_key_stdin: bool = typer.Option(
        False,
        "--write-key-stdin",
        help="Read the source's write key from standard input (default: read it through "
        "the Public API with the Segment token).",
    ),
    track: bool = typer.Option(False, "--track", help="Also send one track event."),
    timeout: float = typer.Option(
        60.0,
        "--timeout",
        min=1.0,
        max=900.0,
        help="Seconds to wait for the probe in Kameleoon's remote data.",
    ),
    yes: bool = typer.Option(
        False, "--yes", help="Send without asking (required without a terminal)."
    ),
) -> None:
    """Send one probe through the whole chain and read it back from Kameleoon.

    Sends one identify (user ksegcli-probe-<random>, trait ksegcli_probe=<nonce>;
    with --track also one track event) through the source with Segment's HTTP
    Tracking API, then polls Kameleoon's Data API for IDENTIFY_<user id> until
    the nonce appears. THE EVENT GOES TO EVERY DESTINATION OF THAT SOURCE, not
    only Kameleoon: it asks first on a terminal; without one it needs --yes.

    Hops, each printed with what was seen: the source's write key (Public API,
    or --write-key-stdin), the Kameleoon destination enabled with the identify
    mapping, sent to Segment, visible in Kameleoon's remote data (with the
    measured delay). The write key is never printed.

    Exit 0 only when the nonce was read back; 9 when a hop failed (named);
    2 bad options or no --yes without a terminal; 3 credentials; 10 when you
    decline at the question (nothing sent).
    """
    from ksegcli.core import probe as core

    state = get_state(ctx)
    out = state.output
    if not yes and not state.interactive:
        raise UsageError(
            f"verify sends a real identify event through source {source}, to every "
            "destination of that source; without a terminal it needs --yes.",
            hint="Pass --yes to send it.",
        )
    if data_region:
        from ksegcli.core.kameleoon import dataapi

        dataapi.normalize_region(data_region)
    if sitecode:
        from ksegcli.core.config import validate_sitecode

        validate_sitecode(sitecode)
    session = state.session
    key = None
    if write_key_stdin:
        from ksegcli.core.auth.credentials import read_secret_from_stdin

        key = read_secret_from_stdin("Segment write key")
    probe = core.prepare(
        session,
        source,
        region=region,
        sitecode=sitecode or session.sitecode(None),
        write_key=key,
        token=None,
    )
    if not state.json_mode:
        for hop in probe.hops:
            _print(out, hop)
    if probe.can_send:
        from ksegcli.commands._confirm import confirm

        confirm(
            state,
            yes=yes,
            question=(
                f"Send identify{' and track' if track else ''} for {probe.user_id} through "
                f"source {source}? It reaches every destination of that source."
            ),
            nothing="Nothing sent.",
        )
        shown = len(probe.hops)
        spinner = _spinner(out, timeout)
        try:
            core.send_and_poll(
                session,
                probe,
                track=track,
                timeout=timeout,
                data_region=data_region,
                waiting=spinner.update if spinner else None,
            )
        finally:
            if spinner:
                spinner.stop()
        if not state.json_mode:
            for hop in probe.hops[shown:]:
                _print(out, hop)
    out.result(probe.to_json(), human=lambda: _summary(out, probe))
    if not probe.ok:
        raise typer.Exit(int(ExitCode.CHECK_FAILED))


class _Spinner:
    def __init__(self, out: Output, timeout: float) -> None:
        self.timeout = timeout
        self.status = out.err.status("Waiting for the probe in Kameleoon's remote data…")
        self.status.start()

    def update(self, elapsed: float) -> None:
        self.status.update(
            f"Waiting for the probe in Kameleoon's remote data… {elapsed:.0f} s "
            f"(at most {self.timeout:g} s)"
        )

    def stop(self) -> None:
        self.status.stop()


def _spinner(out: Output, timeout: float) -> _Spinner | None:
    if out.json_mode or not sys.stderr.isatty():
        return None
    return _Spinner(out, timeout)


def _print(out: Output, hop: Hop) -> None:
    from rich.text import Text

    line = Text()
    line.append(f"{MARKS[hop.status]} ", style=STYLES[hop.status])
    line.append(hop.title, style="bold" if hop.status == "fail" else "")
    line.append(f": {redact(hop.detail)}")
    out.out.print(line, soft_wrap=True)
    if hop.fix and hop.status != "pass":
        out.out.print(Text(f"    fix: {redact(hop.fix)}", style="cyan"), soft_wrap=True)


def _summary(out: Output, probe: object) -> None:
    from ksegcli.core.probe import Probe

    assert isinstance(probe, Probe)
    if probe.ok:
        out.success(
            f"verify: the probe went from Segment to Kameleoon in {probe.delay or 0:.1f} s."
        )
        return
    failed = probe.failed_hop
    where = failed.title if failed else "a hop"
    out.warn(f"verify: failed at {where.lower()}.")
