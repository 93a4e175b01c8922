"""``ksegcli segment destination create | status`` and ``ksegcli segment sources list``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import typer

from ksegcli.commands._options import SegmentRegion, Sitecode, TokenStdin
from ksegcli.core import interrupt
from ksegcli.errors import ExitCode, NotLoggedInError
from ksegcli.state import get_state

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.client import Site
    from ksegcli.core.segment import DestinationResult
    from ksegcli.errors import KsegError
    from ksegcli.output import Output

app = typer.Typer(help="Segment side: the Kameleoon (Actions) destination.", no_args_is_help=True)
destination_app = typer.Typer(
    help="The Kameleoon (Actions) destination on a Segment source.", no_args_is_help=True
)
sources_app = typer.Typer(help="Segment sources of the workspace.", no_args_is_help=True)
app.add_typer(destination_app, name="destination")
app.add_typer(sources_app, name="sources")

SOURCE_OPTION = typer.Option(..., "--source", help="Segment source id (`segment sources list`).")
API_KEY_STDIN_OPTION = typer.Option(
    False,
    "--api-key-stdin",
    help="Read the Kameleoon API key from standard input (after the token with --token-stdin).",
)


def _read_stdin(token_stdin: bool, api_key_stdin: bool = False) -> tuple[str | None, str | None]:
    from ksegcli.core.auth.credentials import read_secret_from_stdin

    token = read_secret_from_stdin("Segment API token") if token_stdin else None
    key = read_secret_from_stdin("Kameleoon API key") if api_key_stdin else None
    return token, key


@app.command("login")
def login(
    ctx: typer.Context,
    region: SegmentRegion = None,
    token_stdin: TokenStdin = False,
) -> None:
    """Prove a Segment Public API token, then keep it in the OS keyring."""
    from ksegcli.core.segment import login_token, segment_login

    state = get_state(ctx)
    given, _ = _read_stdin(token_stdin)
    result = segment_login(state.session, login_token(state.session, given), region=region)
    out = state.output
    out.result(
        result.to_json(),
        human=lambda: out.success(
            f"Segment token accepted ({result.sources} source(s) seen, region {result.region}); "
            f"kept in the OS keyring ({result.keyring_backend}) for profile {result.profile!r}."
        ),
    )


@sources_app.command("list")
def list_sources(
    ctx: typer.Context,
    region: SegmentRegion = None,
    token_stdin: TokenStdin = False,
) -> None:
    """Id, name, slug and type of every source of the workspace (all pages)."""
    from ksegcli.core.segment import segment_client

    state = get_state(ctx)
    token, _ = _read_stdin(token_stdin)
    sources = segment_client(state.session, region=region, token=token).list_sources()
    rows = [
        {
            "id": s.get("id"),
            "name": s.get("name"),
            "slug": s.get("slug"),
            "enabled": s.get("enabled"),
            "type": (s.get("metadata") or {}).get("name")
            if isinstance(s.get("metadata"), dict)
            else None,
        }
        for s in sources
    ]
    out = state.output
    out.result(
        rows,
        human=lambda: (
            out.table(
                ["ID", "NAME", "SLUG", "ENABLED", "TYPE"],
                [
                    (r["id"], r["name"], r["slug"], "yes" if r["enabled"] else "no", r["type"])
                    for r in rows
                ],
                optional=("TYPE", "SLUG"),
            )
            if rows
            else out.info("No sources in this workspace.")
        ),
    )


@destination_app.command("create")
def create_destination(
    ctx: typer.Context,
    source: str = SOURCE_OPTION,
    sitecode: Sitecode = None,
    region: SegmentRegion = None,
    update: bool = typer.Option(
        False, "--update", help="Also fix a destination or mapping whose settings differ."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the writes, send none."),
    token_stdin: TokenStdin = False,
    api_key_stdin: bool = API_KEY_STDIN_OPTION,
) -> None:
    """Find or create the destination and its five mappings; reruns change nothing.

    The destination gets the API key and sitecode, enabled; the mappings are track, page,
    identify, group (Segment's presets) and screen. Differences are fixed with --update.
    """
    from ksegcli.commands._results import announce_interrupted, interrupted_field
    from ksegcli.commands._run import call_writes
    from ksegcli.contract import envelope
    from ksegcli.core.kameleoon.apikey import destination_api_key
    from ksegcli.core.kameleoon.sitecode import verify_sitecode
    from ksegcli.core.segment import ensure_destination

    state = get_state(ctx)
    session = state.session
    token, key_flag = _read_stdin(token_stdin, api_key_stdin)
    code = session.sitecode(sitecode, required=True)
    if not dry_run:
        session.lock_account()  # before reading what it will change: runs take turns
    site = verify_sitecode(session, code)
    code = site.code if site is not None else code  # the project's spelling of it
    state.output.debug(
        f"Sitecode {code}: {site.label()}." if site else "Sitecode not checked: no credentials."
    )
    api_key = destination_api_key(session, key_flag)
    if api_key.source == "derived":
        state.output.debug("API key derived from the client id and secret.")

    def ensure() -> DestinationResult:
        return ensure_destination(
            session,
            source,
            region=region,
            sitecode=code,
            api_key=api_key.value,
            update=update,
            dry_run=dry_run,
            token=token,
        )

    out = state.output
    if dry_run:
        result = ensure()
    else:
        try:
            result = call_writes(ensure)
        except interrupt.RequestStopped as stopped:
            from ksegcli.core.segment import resolve_region

            where = resolve_region(session, region)
            _report_stopped(out, stopped, site_doc(site, code), source, where)
    item = destination_item(result, site_doc(site, code))
    out.result(
        envelope(
            dry_run=result.dry_run,
            items=[item],
            requests=destination_requests(result),
            **({} if dry_run else interrupted_field()),
        ),
        human=lambda: _render(out, result, verb="create"),
    )
    if result.dry_run:
        return
    if interrupt.requested():  # Ctrl-C, but the request in flight was the last one
        announce_interrupted(out, done=len(result.applied), in_flight=0, skipped=0)
    if not result.in_sync:
        raise typer.Exit(ExitCode.CHANGES_PENDING)


def _report_stopped(
    out: Output,
    stopped: KsegError,
    project: dict[str, Any],
    source: str,
    region: str,
) -> NoReturn:
    """Ctrl-C stopped the destination's set-up: the item as it stands, exit 130."""
    from ksegcli.commands._results import announce_interrupted, interrupted_field
    from ksegcli.contract import envelope

    item = destination_item(None, project, source_id=source, region=region, error=stopped)

    def human() -> None:
        out.info(f"Destination on source {source}: {item['state']} ({stopped.message})")

    out.result(envelope(dry_run=False, items=[item], **interrupted_field()), human=human)
    in_flight = item["state"] == "interrupted"
    announce_interrupted(out, done=0, in_flight=int(in_flight), skipped=int(not in_flight))


@destination_app.command("status")
def destination_status(
    ctx: typer.Context,
    source: str = SOURCE_OPTION,
    sitecode: Sitecode = None,
    region: SegmentRegion = None,
    token_stdin: TokenStdin = False,
    api_key_stdin: bool = API_KEY_STDIN_OPTION,
) -> None:
    """What exists on the source, what is missing or different (exit 9 unless all is right)."""
    from ksegcli.core.kameleoon.apikey import destination_api_key
    from ksegcli.core.segment import destination_status as status

    state = get_state(ctx)
    session = state.session
    token, key_flag = _read_stdin(token_stdin, api_key_stdin)
    code = session.sitecode(sitecode, required=True)
    try:
        api_key: str | None = destination_api_key(session, key_flag).value
    except NotLoggedInError:
        api_key = None
        state.output.warn("No Kameleoon API key or credentials: the apiKey is not compared.")
    result = status(session, source, region=region, sitecode=code, api_key=api_key, token=token)
    out = state.output
    out.result(result.to_json(), human=lambda: _render(out, result, verb="status"))
    if not result.in_sync:
        raise typer.Exit(ExitCode.CHECK_FAILED)


def site_doc(site: Site | None, sitecode: str) -> dict[str, Any]:
    """The contract's project shape, also when the sitecode could not be looked up."""
    from ksegcli.contract import project

    return project(site) if site else {"id": None, "sitecode": sitecode, "name": None}


def destination_state(result: DestinationResult) -> str:
    """The destination in the contract's item states."""
    if result.dry_run:
        return "planned" if result.pending or result.state == "planned" else "unchanged"
    if result.state == "created":
        return "created"
    if result.applied:
        return "updated"
    if result.pending or not result.in_sync:
        return "drifted"
    return "unchanged"


def destination_item(
    result: DestinationResult | None,
    project: dict[str, Any],
    *,
    source_id: str | None = None,
    region: str | None = None,
    error: KsegError | None = None,
) -> dict[str, Any]:
    """One Segment destination as an item of an acting command's envelope."""
    write = None
    if result is not None:
        write = "create" if result.state in ("planned", "created", "missing") else "update"
    from ksegcli.core.apply.engine import stopped_state

    stopped = stopped_state(error) if error is not None else None
    state = stopped or (
        "failed" if error is not None or result is None else destination_state(result)
    )
    pending = [] if result is None else result.pending
    return {
        "project": project,
        "resource": "segment-destination",
        "name": result.destination_name if result and result.destination_name else "Kameleoon",
        "kind": None,
        "id": None if result is None else result.destination_id,
        "action": write if state in ("planned", "created", "updated", "failed") else state,
        "state": state,
        "reason": "; ".join(c.what for c in pending)
        if pending
        else "destination, settings and five mappings as declared",
        "source_id": source_id if result is None else result.source_id,
        "region": region if result is None else result.region,
        "destination": None if result is None else result.to_json(),
        "error": None if error is None else error.to_json()["error"],
    }


def destination_requests(result: DestinationResult | None) -> list[dict[str, Any]]:
    """The writes a dry run would send to Segment (the apiKey masked)."""
    if result is None or not result.dry_run:
        return []
    return [
        {"method": c.method, "path": c.path, "what": c.what, "body": c.body} for c in result.pending
    ]


_MARKS = {
    "ok": "✓",
    "created": "+",
    "updated": "~",
    "planned": "+",
    "missing": "✗",
    "different": "≠",
}


def _render(out: Output, result: DestinationResult, *, verb: str) -> None:
    if result.destination_id:
        out.line(
            f"Destination {result.destination_name or ''} ({result.destination_id}) on source "
            f"{result.source_id}, sitecode {result.sitecode}, region {result.region}: "
            f"{result.state.replace('_', ' ')}"
        )
    else:
        out.line(
            f"No Kameleoon (Actions) destination on source {result.source_id}"
            + (" (would create one)" if result.state == "planned" else "")
        )
    for diff in result.differences:
        out.line(f"  ≠ {diff}")
    if result.mappings:
        out.table(
            ["", "MAPPING", "TRIGGER", "ACTION", "STATE", "DETAIL"],
            [
                (
                    _MARKS.get(m.state, "?"),
                    m.name,
                    m.trigger,
                    m.action_slug,
                    m.state,
                    "; ".join(m.differences),
                )
                for m in result.mappings
            ],
            optional=("TRIGGER", "ACTION"),
        )
    if result.duplicates:
        out.warn(
            "More Kameleoon destinations on this source: "
            + ", ".join(result.duplicates)
            + " (events reach Kameleoon more than once; remove the extra ones in Segment)."
        )
    if result.dry_run:
        for change in result.pending:
            out.info(f"Would {change.method} {change.path}: {change.what}")
        if not result.pending:
            out.success("Dry run: nothing to change.")
        return
    if verb == "create":
        if result.in_sync:
            if result.changed:
                out.success(f"Done: {len(result.applied)} change(s) made.")
            else:
                out.success("Already set up: nothing changed.")
        else:
            out.warn(
                "Some settings differ from what ksegcli would set; rerun with --update to fix them."
            )
    elif result.in_sync:
        out.success("The destination and its five mappings are as expected.")
    elif result.state == "missing":
        out.warn(
            f"Create it with `ksegcli segment destination create --source {result.source_id}`."
        )
    else:
        out.warn(
            f"Fix with `ksegcli segment destination create --source {result.source_id} --update`."
        )
