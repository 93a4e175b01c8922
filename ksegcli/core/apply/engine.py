"""``apply``: make the account look like the file (see :mod:`ksegcli.core.apply.desired`).

Reads are minimal and fixed: one paged list of projects, one paged list of the
custom data of every project in the file, and the integration tools of each
project (the API has no account-wide list of those). The global custom script
of projects that declare ``identifier`` comes with the list of projects when it
carries ``trackingScript``; otherwise one ``GET /sites/{id}`` each. The plan is
built purely from what was read (:mod:`ksegcli.core.kameleoon.customdata`,
:mod:`ksegcli.core.kameleoon.integration`, :mod:`ksegcli.core.kameleoon.identifier`) and executed
with bounded concurrency under the shared rate limiter.

Nothing the file does not mention is deleted, unless ``prune``: then
ksegcli's own custom data (recognised by the snippet header) that the file no
longer declares are deleted — never anyone else's.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ksegcli.core import interrupt
from ksegcli.core.auth import credentials
from ksegcli.core.config import is_project_id
from ksegcli.core.interrupt import RequestStopped
from ksegcli.core.kameleoon import customdata, identifier, integration
from ksegcli.core.kameleoon.apikey import destination_api_key
from ksegcli.core.kameleoon.client import site_by_code
from ksegcli.core.plan import (
    DEFAULT_WORKERS,
    Action,
    ActionResult,
    Progress,
    counts,
    describe_counts,
    execute,
)
from ksegcli.core.segment import ensure_destination
from ksegcli.errors import BadInputError, KsegError

if TYPE_CHECKING:
    from ksegcli.core.apply.desired import Desired, ProjectDesired
    from ksegcli.core.kameleoon.client import KameleoonClient, Site
    from ksegcli.core.segment import DestinationResult
    from ksegcli.core.session import Session
    from ksegcli.errors import KsegError

# Kameleoon's limits (docs/api-facts.md §1, confirmed): 50 requests per 10 s, 1,000 per hour.
HOURLY_BUDGET = 1000
HANDLERS = {**integration.HANDLERS, **identifier.HANDLERS, **customdata.HANDLERS}


@dataclass
class ApplyPlan:
    desired: Desired
    sites: dict[str, Site]  # file ref → project
    actions: list[Action]
    reads: int  # requests spent reading (token included)
    warnings: list[str] = field(default_factory=list)

    @property
    def writes(self) -> list[Action]:
        return [a for a in self.actions if a.writes]

    @property
    def blocked(self) -> list[Action]:
        return [a for a in self.actions if a.action == "blocked"]

    @property
    def has_changes(self) -> bool:
        return bool(self.writes)

    def requests_needed(self) -> int:
        """Requests the whole run costs at least: the reads done plus one per write."""
        return self.reads + len(self.writes)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.desired.path),
            "projects": [
                {**p.to_json(), "id": self.sites[p.ref].id, "sitecode": self.sites[p.ref].code}
                for p in self.desired.projects
            ],
            "actions": [a.to_json() for a in self.actions],
            "summary": counts(self.actions),
            "changes": self.has_changes,
            "requests": {
                "reads": self.reads,
                "writes": len(self.writes),
                "hourly_budget": HOURLY_BUDGET,
            },
            "warnings": self.warnings,
        }


def _resolve(client: KameleoonClient, desired: Desired) -> dict[str, Site]:
    """File refs → projects (one paged list); unknown ones fail here, before any write."""

    client.resolve_projects([p.ref for p in desired.projects])
    sites = client.list_sites()
    by_id = {s.id: s for s in sites}
    out: dict[str, Site] = {}
    seen: dict[int, str] = {}
    for project in desired.projects:
        found = by_id.get(int(project.ref)) if is_project_id(project.ref) else None
        site = found or site_by_code(sites, project.ref)  # resolved above: not None
        assert site is not None
        if site.id in seen:
            where = f" (line {project.line})" if project.line else ""
            raise BadInputError(
                f"{desired.path}: project {site.label()} is declared twice, as "
                f"{seen[site.id]!r} and {project.ref!r}{where}.",
                hint="Keep one [projects.<ref>] table per project.",
            )
        seen[site.id] = project.ref
        out[project.ref] = site
    return out


def _select(
    projects: list[tuple[ProjectDesired, Site]], only: Sequence[str], desired: Desired
) -> list[tuple[ProjectDesired, Site]]:
    wanted = {ref.strip() for ref in only}
    chosen = [
        (p, s) for p, s in projects if p.ref in wanted or str(s.id) in wanted or s.code in wanted
    ]
    known = (
        {p.ref for p, _ in chosen} | {str(s.id) for _, s in chosen} | {s.code for _, s in chosen}
    )
    missing = sorted(wanted - known)
    if missing:
        raise BadInputError(
            f"--project {', '.join(missing)}: not a project of {desired.path}.",
            hint="--project picks projects of the file; add a [projects.<ref>] table first.",
        )
    return chosen


def _spent(client: KameleoonClient) -> int:
    limiter = client.limiter
    return limiter.total if limiter is not None else client.http.requests_sent


def plan_apply(
    client: KameleoonClient,
    desired: Desired,
    *,
    prune: bool = False,
    update: bool = False,
    workers: int = DEFAULT_WORKERS,
    only: Sequence[str] = (),
) -> ApplyPlan:
    """Read what exists (minimal reads) and plan every item of the file
    (or of the file's projects that ``only`` names, by id or sitecode)."""
    before = _spent(client)
    sites = _resolve(client, desired)
    projects: list[tuple[ProjectDesired, Site]] = [(p, sites[p.ref]) for p in desired.projects]
    if only:
        projects = _select(projects, only, desired)
        desired = replace(desired, projects=tuple(p for p, _ in projects))
    # The two reads do not depend on each other: overlap them (latency, not rate, is saved).
    with ThreadPoolExecutor(max_workers=1) as pool:
        listing = pool.submit(customdata.list_custom_data, client, [s.id for _, s in projects])
        tools = integration.read_all_tools(client, [s for _, s in projects], workers=workers)
        managed = [s for p, s in projects if p.identifier is not None]
        scripts = identifier.read_all_scripts(client, managed, workers=workers)
        existing = listing.result()
    actions: list[Action] = []
    warnings: list[str] = []
    for project, site in projects:
        actions.append(
            integration.plan_integration(site, tools[site.id], install=project.integration)
        )
        if project.identifier is not None:
            actions.append(
                identifier.plan_identifier(site, scripts[site.id], install=project.identifier)
            )
        actions.extend(
            customdata.plan_custom_data(
                site,
                project.custom_data,
                existing[site.id],
                update="always" if update else "ours",
                prune=prune,
            )
        )
        warnings.extend(
            customdata.shared_names(
                site, existing[site.id], [spec.name for spec in project.custom_data]
            )
        )
    plan = ApplyPlan(desired, sites, actions, reads=_spent(client) - before, warnings=warnings)
    plan.warnings.extend(budget_warnings(plan.requests_needed(), client, writes=len(plan.writes)))
    return plan


def budget_warnings(
    needed: int, client: KameleoonClient, *, writes: int | None = None
) -> list[str]:
    out = []
    if needed > HOURLY_BUDGET:
        out.append(
            f"This run needs about {needed} requests; Kameleoon allows {HOURLY_BUDGET} an hour "
            "per account, so it will be throttled (HTTP 429) and take more than an hour. "
            "Consider applying the file in parts (`ksegcli apply FILE --project REF ...`)."
        )
    limiter = client.limiter
    remaining = getattr(limiter, "hourly_remaining", None)
    if callable(remaining) and needed <= HOURLY_BUDGET:
        left = int(remaining())
        pending = needed if writes is None else writes  # the reads are already counted
        if pending > left:
            out.append(
                f"This run still needs about {pending} requests, but only {left} remain of the "
                "account's hourly budget on this machine (other ksegcli runs used the rest). "
                "It will stop cleanly when the budget runs out, saying when to resume; a rerun "
                "then finishes it without repeating what was done."
            )
    if limiter is not None and needed > limiter.limit:
        floor = (needed - limiter.limit) / limiter.limit * limiter.window
        if floor >= 30:
            out.append(
                f"At {limiter.limit} requests per {limiter.window:g} s, {needed} requests take "
                f"at least {floor:.0f} s."
            )
    return out


@dataclass
class ApplyRun:
    plan: ApplyPlan
    results: list[ActionResult]
    seconds: float
    requests: int  # all requests of the run (reads, writes, retries, look-ups)
    throttled: int  # HTTP 429 answers
    warnings: list[str] = field(default_factory=list)  # found while running

    def next_steps(self) -> list[str]:
        """The one step left by hand, for each project whose personas custom data exists now."""
        sites = {
            r.action.site.code: r.action.name
            for r in self.results
            if r.action.kind == "personas"
            and r.action.resource == "custom-data"
            and r.status in ("created", "updated")
        }
        if not sites:
            return []
        codes = sorted(sites)
        command = "ksegcli snippet render persona-values --sitecode " + (
            codes[0] if len(codes) == 1 else "<SITECODE>"
        )
        return [
            f"One step left by hand for the personas custom data of {len(codes)} project(s) "
            f"({', '.join(codes)}): in Kameleoon, open it, click Next, turn on 'Save the values "
            "for the targeting condition associated with the custom data point' and paste the "
            f"code of `{command}`."
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.plan.desired.path),
            "next_steps": self.next_steps(),
            "results": [r.to_json() for r in self.results],
            "summary": counts(self.results),
            "seconds": round(self.seconds, 3),
            "requests": {"total": self.requests, "throttled": self.throttled},
            "warnings": [*self.plan.warnings, *self.warnings],
        }


def run_apply(
    client: KameleoonClient,
    plan: ApplyPlan,
    *,
    workers: int = DEFAULT_WORKERS,
    progress: Progress | None = None,
    started: float | None = None,
) -> ApplyRun:
    """Execute the plan's writes; every item's outcome is reported, none is raised."""
    start = time.monotonic() if started is None else started
    results = execute(client, plan.actions, HANDLERS, workers=workers, progress=progress)
    return complete_run(client, plan, results, workers=workers, started=start)


def complete_run(
    client: KameleoonClient,
    plan: ApplyPlan,
    results: list[ActionResult],
    *,
    workers: int = DEFAULT_WORKERS,
    started: float,
) -> ApplyRun:
    """After the writes: settle the custom data, and the time and requests the run took."""
    # Another run may have created the same custom data meanwhile: end with one of each.
    warnings = customdata.settle(client, results, workers=workers)
    return ApplyRun(
        plan,
        results,
        time.monotonic() - started,
        requests=_spent(client),
        throttled=client.http.throttled,
        warnings=warnings,
    )


def summarize(items: Sequence[ActionResult]) -> str:
    return describe_counts(counts(items))


# --- the Segment side: one Kameleoon (Actions) destination per declared source -------------


@dataclass
class SegmentOutcome:
    """The destination of one project's ``[segment]`` source: planned, done, or failed."""

    project: str  # the file's ref
    sitecode: str
    source_id: str
    region: str
    result: DestinationResult | None = None
    error: KsegError | None = None

    @property
    def pending(self) -> bool:
        """Writes still needed (dry run) or left undone."""
        if self.result is None:
            return False
        return bool(self.result.pending) or self.result.state == "planned"

    @property
    def state(self) -> str:
        if self.error is not None:
            return stopped_state(self.error) or "failed"
        assert self.result is not None
        if self.result.dry_run:
            return "in_sync" if not self.pending else "planned"
        return self.result.state

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "sitecode": self.sitecode,
            "source_id": self.source_id,
            "region": self.region,
            "state": self.state,
            "destination": None if self.result is None else self.result.to_json(),
            "error": None if self.error is None else self.error.to_json()["error"],
        }


def stopped_state(error: KsegError) -> str | None:
    """``interrupted`` / ``skipped`` for a step Ctrl-C stopped, else None."""

    if isinstance(error, RequestStopped):
        return "interrupted" if error.in_flight else "skipped"
    return None


def segment_targets(plan: ApplyPlan) -> list[tuple[ProjectDesired, Site]]:
    return [
        (p, plan.sites[p.ref])
        for p in plan.desired.projects
        if p.segment is not None and p.segment.source_id is not None
    ]


def check_segment_credentials(session: Session, desired: Desired) -> str | None:
    """The API key for the destinations, resolved before anything is written (a missing
    Segment token or key fails the run here, not half-way). None: no [segment] source."""
    if not any(p.segment is not None and p.segment.source_id for p in desired.projects):
        return None

    session.credentials.require(credentials.SEGMENT_TOKEN)
    return destination_api_key(session).value


def ensure_segment(
    session: Session,
    plan: ApplyPlan,
    api_key: str,
    *,
    dry_run: bool,
    into: list[SegmentOutcome] | None = None,
) -> list[SegmentOutcome]:
    """Plan (dry run) or make each declared destination match the file. The file is the
    desired state, so differences are fixed (``update``); failures are reported per source."""

    outcomes = [] if into is None else into
    for project, site in segment_targets(plan):
        hook = project.segment
        assert hook is not None and hook.source_id is not None
        outcome = SegmentOutcome(project.ref, site.code, hook.source_id, hook.region)
        if interrupt.requested() and not dry_run:
            outcome.error = interrupt.not_started("this destination was looked at")
            outcomes.append(outcome)
            continue
        sent = interrupt.sent_by_this_thread()
        try:
            outcome.result = ensure_destination(
                session,
                hook.source_id,
                region=hook.region,
                sitecode=site.code,
                api_key=api_key,
                update=True,
                dry_run=dry_run,
            )
        except interrupt.RequestStopped as exc:
            outcome.error = (
                exc
                if interrupt.sent_by_this_thread() != sent
                else interrupt.not_started("this destination was looked at")
            )
        except KsegError as exc:
            outcome.error = exc
        outcomes.append(outcome)
    return outcomes
