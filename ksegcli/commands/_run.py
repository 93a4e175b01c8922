"""The one runner of the commands that write planned actions (``apply``, ``integration``,
``integration identifier``, ``customdata create``): plan, render (or dry run), confirm,
execute, summarise.

A command says only what differs: how to plan, the handlers, and optional hooks (its
own dry run, a question before the writes, a progress bar, clean-up and a further
phase after the writes, its own report and summary, an exit code of its own). The
order of the steps, the account's lock, Ctrl-C and the exit code of failed items are
here. :func:`call_writes` bounds writes that are not planned actions (the Segment
destination) the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ksegcli.core import interrupt
from ksegcli.core.plan import DEFAULT_WORKERS, counts, describe_counts, execute

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.client import KameleoonClient, Site
    from ksegcli.core.plan import Action, ActionResult, Handler
    from ksegcli.state import AppState

T = TypeVar("T")
Results = list["ActionResult"]


def run_plan(
    state: AppState,
    *,
    project: list[str] | None,
    all_projects: bool,
    dry_run: bool,
    plan: Callable[[KameleoonClient, list[Site]], Sequence[Action]],
    handlers: Mapping[str, Handler],
    before_writes: Callable[[Sequence[Action]], None] | None = None,
    settle: Callable[[KameleoonClient, Results], Iterable[str]] | None = None,
    items: Callable[[Results], list[dict[str, Any]]] | None = None,
    notes: Callable[[Results], None] | None = None,
) -> None:
    """:func:`run_actions` on the projects of ``--project`` / ``--all`` (or the profile's
    sitecode). ``items``: the envelope's items, by default one per result; ``notes``:
    lines after the counts (human mode)."""

    def plan_projects(client: KameleoonClient) -> Sequence[Action]:
        return plan(client, state.session.projects(project or [], all_projects=all_projects))

    def summary(results: Results) -> None:
        out = state.output
        if not out.json_mode:
            out.info(describe_counts(counts(results)) + ".")
            if notes is not None:
                notes(results)

    def report(results: Results) -> None:
        from ksegcli.commands._results import show_results

        show_results(state.output, results, items=None if items is None else items(results))

    run_actions(
        state,
        dry_run=dry_run,
        plan=plan_projects,
        handlers=handlers,
        before_writes=before_writes,
        settle=settle,
        report=report,
        summary=summary,
    )


def run_actions(
    state: AppState,
    *,
    dry_run: bool,
    plan: Callable[[KameleoonClient], Sequence[Action]],
    handlers: Mapping[str, Handler],
    show_plan: Callable[[KameleoonClient, Sequence[Action]], None] | None = None,
    before_writes: Callable[[Sequence[Action]], None] | None = None,
    workers: int = DEFAULT_WORKERS,
    progress: bool = False,
    settle: Callable[[KameleoonClient, Results], Iterable[str]] | None = None,
    after_writes: Callable[[KameleoonClient, Results], None] | None = None,
    report: Callable[[Results], None] | None = None,
    summary: Callable[[Results], None] | None = None,
    exit_code: Callable[[], int] | None = None,
) -> None:
    """Take the account's lock (a real run), ``plan``, then for a dry run ``show_plan``
    (default: the plan and the exact requests; nothing written). Otherwise:

    1. ``before_writes`` (a question; declining exits);
    2. the writes, ``workers`` at a time, Ctrl-C answered at once, with a progress bar
       on a terminal when ``progress``;
    3. the warnings ``settle`` returns, then ``after_writes`` (a further phase: the
       Segment side of ``apply``);
    4. ``report`` (default: the results table, or the envelope), each failure once;
    5. ``summary``, in both modes (default: nothing);
    6. exit 130 when Ctrl-C stopped the run, else the first failed item's code, else
       ``exit_code()`` when not 0.
    """
    from ksegcli.commands._results import (
        finish,
        progress_reporter,
        report_failures,
        show_dry_run,
        show_results,
    )

    session = state.session
    if not dry_run:
        session.lock_account()  # before reading what it will change: runs take turns
    client = session.kameleoon()
    actions = plan(client)
    out = state.output
    if dry_run:
        if show_plan is not None:
            show_plan(client, actions)
        else:
            show_dry_run(out, actions, client.http.base_url)
        return
    if before_writes is not None:
        before_writes(actions)
    advance, close = progress_reporter(out, sum(1 for a in actions if a.writes), enabled=progress)
    try:
        results = execute(client, actions, handlers, workers=workers, progress=advance)
    finally:
        close()
    if settle is not None:
        for warning in settle(client, results):
            out.warn(warning)
    if after_writes is not None:
        after_writes(client, results)
    if report is not None:
        report(results)
    else:
        show_results(out, results)
    report_failures(out, results)
    if summary is not None:
        summary(results)
    finish(results, out)
    code = exit_code() if exit_code is not None else 0
    if code:
        import typer

        raise typer.Exit(code)


def call_writes(fn: Callable[[], T]) -> T:
    """Writes that are not planned actions (a Segment destination and its mappings), in
    a worker thread so that Ctrl-C is answered at once: nothing more is sent, a request
    in flight gets a few seconds. Raises RequestStopped, ``in_flight`` false when ``fn``
    stopped before sending anything."""

    interrupt.enter_writes()

    def run() -> T:
        sent = interrupt.sent_by_this_thread()
        try:
            return fn()
        except interrupt.RequestStopped as exc:
            exc.in_flight = interrupt.sent_by_this_thread() != sent
            raise

    return interrupt.call(run)
