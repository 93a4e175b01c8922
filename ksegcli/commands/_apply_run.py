"""What ``apply`` adds to the one runner (commands/_run.py): the file's plan and its own
dry run, the question on a terminal, the Segment destinations after the writes, and
its report and summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ksegcli.commands._confirm import confirm
from ksegcli.commands._results import (
    interrupted_field,
    plan_item,
    render_plan,
    render_results,
    report_failures,
    request_docs,
    result_item,
    stop_if_interrupted,
)
from ksegcli.commands._run import call_writes
from ksegcli.commands.segment import destination_item, destination_requests
from ksegcli.contract import envelope, project
from ksegcli.core import interrupt
from ksegcli.core.apply import engine as core
from ksegcli.core.plan import counts, describe_counts, exit_code, not_written
from ksegcli.errors import ExitCode

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ksegcli.core.apply.desired import Desired
    from ksegcli.core.apply.engine import ApplyPlan, ApplyRun, SegmentOutcome
    from ksegcli.core.kameleoon.client import KameleoonClient
    from ksegcli.core.plan import Action, ActionResult
    from ksegcli.core.session import Session
    from ksegcli.output import Output
    from ksegcli.state import AppState


@dataclass
class ApplyHooks:
    """What ``apply`` adds to the runner (commands/_run.py): the file's plan and its own
    dry run, the question on a terminal, the Segment destinations after the writes, and
    its report and summary."""

    state: AppState
    desired: Desired
    file: Path
    prune: bool
    update: bool
    only: Sequence[str]
    workers: int
    ask: bool  # show the plan and ask before writing
    detailed_exitcode: bool
    started: float
    api_key: str | None = None
    segment: list[SegmentOutcome] = field(default_factory=list)
    segment_code: int = 0
    _plan: ApplyPlan | None = None
    _run: ApplyRun | None = None

    @property
    def out(self) -> Output:
        return self.state.output

    @property
    def session(self) -> Session:
        return self.state.session

    @property
    def applied(self) -> ApplyPlan:
        assert self._plan is not None, "planned first"
        return self._plan

    @property
    def done(self) -> ApplyRun:
        assert self._run is not None, "run first"
        return self._run

    @property
    def noop(self) -> bool:
        return not self.applied.has_changes and not self.applied.blocked

    def plan(self, client: KameleoonClient) -> list[Action]:
        self.api_key = core.check_segment_credentials(self.session, self.desired)
        self._plan = core.plan_apply(
            client,
            self.desired,
            prune=self.prune,
            update=self.update,
            workers=self.workers,
            only=self.only,
        )
        for warning in self._plan.warnings:
            self.out.warn(warning)
        return self._plan.actions

    def show_plan(self, client: KameleoonClient, actions: Sequence[Action]) -> None:
        """The dry run: what would change on both sides, the exact requests in JSON."""

        out, plan, api_key = self.out, self.applied, self.api_key
        # The table of what would change, not every request body (JSON has them all).
        changing = [a for a in plan.actions if a.action != "unchanged"]
        segment = core.ensure_segment(self.session, plan, api_key, dry_run=True) if api_key else []

        def human_dry_run() -> None:
            if changing:
                render_plan(out, changing)
            _not_shown(out, len(plan.actions) - len(changing))
            _render_segment(out, segment)

        segment_writes = destination_writes(segment)
        writes = len(plan.writes) + segment_writes
        out.result(
            envelope(
                dry_run=True,
                items=[plan_item(a) for a in plan.actions] + _segment_items(plan, segment),
                requests=request_docs(plan.actions, client.http.base_url)
                + [r for o in segment for r in destination_requests(o.result)],
                file=str(plan.desired.path),
                projects=_projects(plan),
                request_counts={
                    "reads": plan.reads,
                    "writes": writes,
                    "segment_writes": segment_writes,
                    "hourly_budget": core.HOURLY_BUDGET,
                },
                warnings=plan.warnings,
            ),
            human=human_dry_run,
        )
        out.info(
            f"Dry run: {describe_counts(counts(plan.actions))}"
            + (f", {segment_writes} Segment change(s)" if segment_writes else "")
            + f"; {writes} write request(s) needed, nothing written."
        )
        if plan.blocked:
            failures = [not_written(a) for a in plan.blocked]
            report_failures(out, failures)
            raise typer.Exit(int(exit_code(failures)))
        if segment_code := _segment_failures(out, segment):
            raise typer.Exit(segment_code)
        if self.detailed_exitcode and (plan.has_changes or any(o.pending for o in segment)):
            raise typer.Exit(int(ExitCode.CHANGES_PENDING))

    def before_writes(self, actions: Sequence[Action]) -> None:
        if self.ask:
            _ask_before_writing(self.state, self.session, self.applied, self.api_key)

    def after_writes(self, client: KameleoonClient, results: list[ActionResult]) -> None:
        self._run = core.complete_run(
            client, self.applied, results, workers=self.workers, started=self.started
        )
        if self.api_key:
            self.segment = _ensure_segment_bounded(self.session, self.applied, self.api_key)

    def report(self, results: list[ActionResult]) -> None:
        """Every item in JSON; on a terminal what changed (or drifted), and the Segment
        destinations; then what was found while running."""

        out, run, segment = self.out, self.done, self.segment
        if self.noop:
            drifted = [a for a in self.applied.actions if a.action == "drifted"]

            def human() -> None:
                if drifted:
                    render_plan(out, drifted)
                _render_segment(out, segment)

        else:
            shown = [r for r in run.results if r.status != "unchanged"]

            def human() -> None:
                render_results(out, shown)
                _not_shown(out, len(run.results) - len(shown))
                _render_segment(out, segment)

        out.result(_run_doc(run, segment), human=human)
        for warning in run.warnings:
            out.warn(warning)

    def summary(self, results: list[ActionResult]) -> None:
        """Ctrl-C said first (exit 130), else the counts, the time and the requests, and
        the steps left; then each failed destination."""

        out, run = self.out, self.done
        stop_if_interrupted(
            out,
            run.results,
            rerun=f"ksegcli apply {self.file}",
            extra=sum(1 for o in self.segment if o.state in ("created", "updated")),
        )
        if self.noop:
            out.info(f"Nothing to change: {describe_counts(counts(self.applied.actions))}.")
        elif not out.json_mode:
            failed = sum(1 for r in run.results if r.failed)
            message = (
                f"Applied {self.file}: {core.summarize(run.results)} in {run.seconds:.1f} s; "
                f"{run.requests} requests ({run.throttled} throttled)."
            )
            (out.warn if failed else out.success)(message)
            if failed:
                out.info("Everything else stands; fix the failures (or just rerun) to converge.")
            n_drifted = sum(1 for r in run.results if r.status == "drifted")
            if n_drifted:
                out.warn(
                    f"{n_drifted} custom data of a declared name were not made by ksegcli and "
                    "were left alone; --update overwrites them."
                )
            for step in run.next_steps():
                out.info(step)
        self.segment_code = _segment_failures(out, self.segment)


def _ensure_segment_bounded(
    session: Session, plan: ApplyPlan, api_key: str
) -> list[SegmentOutcome]:
    """The Segment destinations, each step checked against Ctrl-C and the whole bounded
    like a write once it is pressed (an abandoned destination is ``interrupted``, the
    ones after it ``skipped``)."""

    done: list[SegmentOutcome] = []
    try:
        return call_writes(
            lambda: core.ensure_segment(session, plan, api_key, dry_run=False, into=done)
        )
    except interrupt.RequestStopped as stopped:  # abandoned in flight
        outcomes = list(done)  # a copy: the abandoned thread may still add to ``done``
        for n, (project, site) in enumerate(core.segment_targets(plan)[len(outcomes) :]):
            hook = project.segment
            assert hook is not None and hook.source_id is not None
            outcome = core.SegmentOutcome(project.ref, site.code, hook.source_id, hook.region)
            outcome.error = stopped if n == 0 else interrupt.not_started("this destination")
            outcomes.append(outcome)
        return outcomes


def destination_writes(outcomes: list[SegmentOutcome]) -> int:
    """The Segment write requests the outcomes still need (a dry run's plan)."""
    return sum(len(o.result.pending) for o in outcomes if o.result is not None and o.pending)


def _projects(plan: ApplyPlan) -> list[dict[str, Any]]:
    return [{"project": project(plan.sites[p.ref]), **p.to_json()} for p in plan.desired.projects]


def _segment_items(plan: ApplyPlan, outcomes: list[SegmentOutcome]) -> list[dict[str, Any]]:
    return [
        destination_item(
            o.result,
            project(plan.sites[o.project]),
            source_id=o.source_id,
            region=o.region,
            error=o.error,
        )
        for o in outcomes
    ]


def _run_doc(run: ApplyRun, segment: list[SegmentOutcome]) -> dict[str, Any]:
    """A real run's envelope: every item (the Segment destinations last), the time and
    the requests it took."""

    return envelope(
        dry_run=False,
        **interrupted_field(),
        items=[result_item(r) for r in run.results] + _segment_items(run.plan, segment),
        file=str(run.plan.desired.path),
        projects=_projects(run.plan),
        next_steps=run.next_steps(),
        seconds=round(run.seconds, 3),
        request_counts={"total": run.requests, "throttled": run.throttled},
        warnings=[*run.plan.warnings, *run.warnings],
    )


def _ask_before_writing(
    state: AppState, session: Session, plan: ApplyPlan, api_key: str | None
) -> None:
    """On a terminal: show what will change on both sides and ask (Terraform's habit).

    Declining exits 10 with "Nothing changed."; with nothing to change, no question.
    """

    out = state.output
    changing = plan.writes
    preview = core.ensure_segment(session, plan, api_key, dry_run=True) if api_key else []
    pending = [o for o in preview if o.pending]
    if not changing and not pending:
        return

    def show() -> None:
        if out.json_mode:  # stdout is for the one JSON document
            return
        if changing:
            render_plan(out, changing, title="Planned changes")
        _render_segment(out, pending)

    parts = []
    if changing:
        parts.append(f"{describe_counts(counts(changing))} on Kameleoon")
    if pending:
        parts.append(f"{len(pending)} Segment destination(s) to set up")
    confirm(state, yes=False, question=f"Apply: {'; '.join(parts)}?", show=show)


def _not_shown(out: Output, unchanged: int) -> None:
    if unchanged:
        out.info(f"{unchanged} unchanged item(s) not shown (--json lists every item).")


def _render_segment(out: Output, outcomes: list[SegmentOutcome]) -> None:
    if not outcomes:
        return
    rows = []
    for o in outcomes:
        if o.error is not None:
            detail = o.error.message
        elif o.result is not None and o.result.applied:
            detail = "; ".join(c.what for c in o.result.applied)
        elif o.result is not None and o.result.pending:
            detail = "; ".join(c.what for c in o.result.pending)
        else:
            detail = "destination, settings and five mappings as declared"
        destination = o.result.destination_id if o.result is not None else None
        rows.append((o.project, o.source_id, o.region, destination or "-", o.state, detail))
    out.table(
        ["PROJECT", "SOURCE", "REGION", "DESTINATION", "STATE", "DETAILS"],
        rows,
        title="Segment destinations",
        optional=("REGION", "DESTINATION"),
    )


def _segment_failures(out: Output, outcomes: list[SegmentOutcome]) -> int:
    """Report each failed destination (human mode); the first failure's exit code, or 0."""
    errors = [o.error for o in outcomes if o.error is not None]
    if not out.json_mode:
        for error in errors:
            out.error(error)
    return int(errors[0].exit_code) if errors else 0
