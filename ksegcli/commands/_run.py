"""The one runner of the setup commands (``integration``, ``integration identifier``,
``customdata create``): plan, render (or dry run), confirm, execute, summarise.

A command says only what differs: how to plan, the handlers, and optional hooks
(a question before the writes, clean-up after them, the envelope's items, the
lines after the summary). Everything else, its order and its output, is here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ksegcli.core.kameleoon import KameleoonClient, Site
    from ksegcli.core.plan import Action, ActionResult, Handler
    from ksegcli.state import AppState


def run_plan(
    state: AppState,
    *,
    project: list[str] | None,
    all_projects: bool,
    dry_run: bool,
    plan: Callable[[KameleoonClient, list[Site]], Sequence[Action]],
    handlers: Mapping[str, Handler],
    before_writes: Callable[[Sequence[Action]], None] | None = None,
    settle: Callable[[KameleoonClient, list[ActionResult]], Iterable[str]] | None = None,
    items: Callable[[list[ActionResult]], list[dict[str, Any]]] | None = None,
    notes: Callable[[list[ActionResult]], None] | None = None,
) -> None:
    """Plan the projects' actions and show them (``dry_run``: with the exact requests,
    nothing written); else ask ``before_writes``, run the writes (Ctrl-C answered at
    once), warn what ``settle`` says, then the results, each failure once, the counts
    and ``notes`` (human mode), and exit with the run's code (130 when interrupted).

    ``items``: the envelope's items, by default one per result."""
    from ksegcli.commands._results import finish, report_failures, show_dry_run, show_results
    from ksegcli.core.plan import counts, describe_counts, execute

    session = state.session
    if not dry_run:
        session.lock_account()  # before reading what it will change: runs take turns
    sites = session.projects(project or [], all_projects=all_projects)
    client = session.kameleoon()
    actions = plan(client, sites)
    out = state.output
    if dry_run:
        show_dry_run(out, actions, client.http.base_url)
        return
    if before_writes is not None:
        before_writes(actions)
    results = execute(client, actions, handlers)
    if settle is not None:
        for warning in settle(client, results):
            out.warn(warning)
    show_results(out, results, items=None if items is None else items(results))
    report_failures(out, results)
    if not out.json_mode:
        out.info(describe_counts(counts(results)) + ".")
        if notes is not None:
            notes(results)
    finish(results, out)
