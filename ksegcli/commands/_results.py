"""Rendering shared by the setup commands and ``apply``: plans, per-item results,
the exact requests of a dry run, and the exit code at the end."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from ksegcli.contract import current_command, envelope
from ksegcli.core import interrupt
from ksegcli.core.plan import DONE, counts, describe_counts, exit_code
from ksegcli.errors import ExitCode

if TYPE_CHECKING:
    from ksegcli.core.plan import Action, ActionResult
    from ksegcli.output import Output

PLAN_COLUMNS = ["PROJECT", "SITECODE", "RESOURCE", "NAME", "ACTION", "WHY"]
RESULT_COLUMNS = ["PROJECT", "SITECODE", "RESOURCE", "NAME", "RESULT", "DETAILS"]
# Left out on a narrow terminal, in this order: PROJECT already names the project (with
# its id), and NAME tells a custom data from the Segment tool.
NARROW_DROPS = ("SITECODE", "RESOURCE")


def _project(action: Action) -> str:
    return f"{action.site.name or '-'} ({action.site.id})"


def render_plan(out: Output, actions: Sequence[Action], *, title: str | None = None) -> None:
    out.table(
        PLAN_COLUMNS,
        [(_project(a), a.site.code, a.resource, a.name, a.action, a.reason) for a in actions],
        title=title,
        optional=NARROW_DROPS,
    )


def render_results(
    out: Output, results: Sequence[ActionResult], *, title: str | None = None
) -> None:
    out.table(
        RESULT_COLUMNS,
        [
            (
                _project(r.action),
                r.action.site.code,
                r.action.resource,
                r.action.name,
                r.status,
                r.message,
            )
            for r in results
        ],
        title=title,
        optional=NARROW_DROPS,
    )


def report_failures(out: Output, results: Sequence[ActionResult]) -> None:
    """Each distinct failure once on stderr, with its hint (human mode only)."""
    if out.json_mode:
        return
    seen: set[str] = set()
    for result in results:
        if not result.failed or result.error is None:
            continue
        key = result.error.message + (result.error.hint or "")
        if key in seen:
            continue
        seen.add(key)
        out.error(result.error)


def request_docs(actions: Sequence[Action], base_url: str) -> list[dict[str, Any]]:
    docs = []
    for action in actions:
        if action.request is None:
            continue
        request = action.request
        headers = {"Authorization": "Bearer ****"}
        if request.body is not None:
            headers["Content-Type"] = "application/json"
        doc: dict[str, Any] = {
            "method": request.method,
            "url": f"{base_url.rstrip('/')}{request.path}",
            "headers": headers,
        }
        if request.body is not None:
            doc["body"] = request.body
        docs.append(doc)
    return docs


def print_requests(out: Output, docs: Sequence[dict[str, Any]]) -> None:
    """The requests a dry run would send, HTTP-style, secrets masked."""
    for n, doc in enumerate(docs):
        if n:
            out.line("")
        out.line(f"{doc['method']} {doc['url']}")
        for name, value in doc["headers"].items():
            out.line(f"{name}: {value}")
        if "body" in doc:
            out.line("")
            out.line(json.dumps(doc["body"], indent=2, ensure_ascii=False))


def plan_state(action: Action) -> str:
    """The contract's state of a planned action (dry run)."""
    if action.writes:
        return "planned"
    return {"drifted": "drifted", "blocked": "blocked"}.get(action.action, "unchanged")


def plan_item(action: Action) -> dict[str, Any]:
    """One item of a dry run's envelope."""
    return {**action.to_json(), "state": plan_state(action)}


def result_item(result: ActionResult) -> dict[str, Any]:
    """One item of a real run's envelope: the plan's action and what became of it."""
    doc = result.to_json()
    doc["state"] = str(doc.pop("status")).replace(" ", "_")  # "not applied" → not_applied
    return doc


def show_dry_run(
    out: Output,
    actions: Sequence[Action],
    base_url: str,
    *,
    extra_items: Sequence[dict[str, Any]] = (),
) -> None:
    """The plan, then the exact writes it would send; JSON: the envelope with ``dry_run``
    true and the ``requests``."""

    docs = request_docs(actions, base_url)

    def human() -> None:
        render_plan(out, actions)
        if docs:
            out.line("")
            print_requests(out, docs)

    items = [plan_item(a) for a in actions] + list(extra_items)
    out.result(envelope(dry_run=True, items=items, requests=docs), human=human)
    out.info(
        f"Dry run: {describe_counts(counts(actions))}; {len(docs)} write request(s) shown, "
        "nothing written."
    )


def show_results(
    out: Output,
    results: Sequence[ActionResult],
    *,
    items: Sequence[dict[str, Any]] | None = None,
) -> None:
    """A real run's outcome: the results table, or the envelope with ``dry_run`` false."""

    docs = [result_item(r) for r in results] if items is None else list(items)
    out.result(
        envelope(dry_run=False, items=docs, **interrupted_field()),
        human=lambda: render_results(out, results),
    )


def interrupted_field() -> dict[str, Any]:
    """``{"interrupted": true}`` for the envelope of a run stopped by Ctrl-C, else nothing."""

    return {"interrupted": True} if interrupt.requested() else {}


def stop_if_interrupted(
    out: Output, results: Sequence[ActionResult], *, rerun: str | None = None, extra: int = 0
) -> None:
    """After a run stopped by Ctrl-C printed its results: say what was done and that a
    rerun converges, then exit 130. ``extra``: writes done outside ``results``."""

    if not interrupt.requested():
        return
    writes = [r for r in results if r.action.writes]
    announce_interrupted(
        out,
        done=sum(1 for r in writes if r.status in DONE.values()) + extra,
        in_flight=sum(1 for r in writes if r.status == "interrupted"),
        skipped=sum(1 for r in writes if r.status == "skipped"),
        failed=sum(1 for r in writes if r.failed),
        rerun=rerun,
    )


def announce_interrupted(
    out: Output,
    *,
    done: int,
    in_flight: int,
    skipped: int,
    failed: int = 0,
    rerun: str | None = None,
) -> NoReturn:
    """The last words of a run Ctrl-C stopped (its results are printed already): how
    many writes were done, in flight and not sent, and that a rerun converges; exit 130."""

    parts = [f"{done} write(s) done"]
    if failed:
        parts.append(f"{failed} failed")
    if in_flight:
        parts.append(f"{in_flight} in flight when stopped (outcome unknown)")
    parts.append(f"{skipped} not sent")
    command = rerun or f"ksegcli {_command_path()}"
    out.warn(
        f"Interrupted (Ctrl-C): {', '.join(parts)}. Everything done stands; rerunning "
        f"`{command}` converges: it finds what was done and does only the rest."
    )
    interrupt.mark_reported()
    raise typer.Exit(int(ExitCode.INTERRUPTED))


def _command_path() -> str:
    return current_command() or "the same command"


def finish(results: Sequence[ActionResult], out: Output | None = None) -> None:
    """Exit non-zero when any item failed (after everything else was done and shown);
    130 when Ctrl-C stopped the run (saying so on ``out``)."""

    if out is not None:
        stop_if_interrupted(out, results)
    code = exit_code(results)
    if code != ExitCode.OK:
        raise typer.Exit(int(code))


def progress_reporter(
    out: Output, total: int, *, enabled: bool
) -> tuple[Callable[[ActionResult], None] | None, Callable[[], None]]:
    """A rich progress bar on stderr (TTY, human mode): (per-result callback, close)."""

    if not enabled or total == 0 or out.json_mode or not sys.stderr.isatty():
        return None, lambda: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out.err,
        transient=True,
    )
    task = progress.add_task("Applying", total=total)
    progress.start()

    def advance(result: ActionResult) -> None:
        if result.action.writes:
            progress.advance(task)

    return advance, progress.stop
