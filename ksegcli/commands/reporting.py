"""``ksegcli reporting enable | status``: Segment as reporting tool of campaigns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from ksegcli.commands._options import AllProjects, Projects
from ksegcli.core import interrupt
from ksegcli.state import AppState, get_state

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.reporting import Campaign, ReportingChange
    from ksegcli.output import Output

app = typer.Typer(
    help='Send "Experiment Viewed" to Segment: Segment as a campaign reporting tool.',
    no_args_is_help=True,
)

EXPERIMENT_OPTION = typer.Option([], "--experiment", help="Experiment id (repeatable).")
PERSONALIZATION_OPTION = typer.Option(
    [], "--personalization", help="Personalization id (repeatable)."
)


@app.command("enable")
def enable(
    ctx: typer.Context,
    experiment: list[int] = EXPERIMENT_OPTION,
    personalization: list[int] = PERSONALIZATION_OPTION,
    all_active: bool = typer.Option(
        False, "--all-active", help="Every active experiment and personalization of the projects."
    ),
    project: Projects = None,
    all_projects: AllProjects = False,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change, write nothing."),
) -> None:
    """Add Segment to the campaigns' tracking tools (others kept); reruns change nothing."""
    from ksegcli.commands._results import announce_interrupted, interrupted_field
    from ksegcli.core.kameleoon.reporting import (
        SEGMENT_TOOL,
        TRACKING_TOOLS_FIELD,
        reporting_failures,
        select_campaigns,
    )

    state = get_state(ctx)
    if not dry_run:
        state.session.lock_account()  # before reading what it will change: runs take turns
    campaigns = select_campaigns(
        state.session,
        experiments=experiment,
        personalizations=personalization,
        all_active=all_active,
        projects=project or [],
        all_projects=all_projects,
    )
    changes = _enable_bounded(state, campaigns, dry_run=dry_run)
    failures = [
        f for f in reporting_failures(changes) if not isinstance(f, interrupt.RequestStopped)
    ]
    without_tool = _without_tool(state, changes)
    out = state.output

    def human() -> None:
        if not _table(
            out,
            [c.campaign for c in changes],
            ["unchanged" if c.state == "already" else c.state for c in changes],
            none="No active campaigns on these projects.",
        ):
            return
        done = sum(c.state == "enabled" for c in changes)
        planned = sum(c.state == "planned" for c in changes)
        if dry_run:
            out.info(f"Dry run: {planned} campaign(s) would get the {SEGMENT_TOOL} tool.")
        elif done:
            out.success(f"Segment added to {done} campaign(s); other tools kept.")
        elif failures:
            pass
        else:
            out.success("Every campaign already reports to Segment: nothing changed.")
        if without_tool:
            ids = ", ".join(str(i) for i in without_tool)
            out.warn(
                f"The Segment tool is not installed on project(s) {ids}: their campaigns send "
                "nothing to Segment until `ksegcli integration install --project ID`."
            )

    from ksegcli.contract import envelope

    states = {
        "enabled": "updated",
        "already": "unchanged",
        "planned": "planned",
        "not applied": "not_applied",
        "failed": "failed",
        "interrupted": "interrupted",
        "skipped": "skipped",
    }
    items = [
        {
            **_campaign_doc(state, c.campaign),
            "resource": "campaign",
            "action": "unchanged" if c.state == "already" else "update",
            "state": states.get(c.state, c.state),
            "reason": "reports to Segment already"
            if c.state == "already"
            else f"add {SEGMENT_TOOL} to the tracking tools",
            "error": None if c.error is None else c.error.to_json()["error"],
        }
        for c in changes
    ]
    base_url = state.session.kameleoon().http.base_url.rstrip("/")
    requests = [
        {
            "method": "PATCH",
            "url": f"{base_url}{c.campaign.path}",
            "headers": {"Authorization": "Bearer ****", "Content-Type": "application/json"},
            "body": {TRACKING_TOOLS_FIELD: [*c.campaign.tools, {"name": SEGMENT_TOOL}]},
        }
        for c in changes
        if c.state == "planned"
    ]
    out.result(
        envelope(
            dry_run=dry_run,
            items=items,
            requests=requests,
            projects_without_segment_tool=[
                _campaign_doc(state, None, site_id)["project"] for site_id in without_tool
            ],
            **interrupted_field(),
        ),
        human=human,
    )
    if interrupt.requested() and not dry_run:
        if failures and not out.json_mode:
            for message in dict.fromkeys(f.message for f in failures):
                out.error(next(f for f in failures if f.message == message))
        announce_interrupted(
            out,
            done=sum(c.state == "enabled" for c in changes),
            in_flight=sum(c.state == "interrupted" for c in changes),
            skipped=sum(c.state == "skipped" for c in changes),
            failed=sum(c.state in ("failed", "not applied") for c in changes),
        )
    if failures:
        if not out.json_mode:
            for message in dict.fromkeys(f.message for f in failures):
                out.error(next(f for f in failures if f.message == message))
        raise typer.Exit(int(failures[0].exit_code))


@app.command("status")
def status(
    ctx: typer.Context,
    experiment: list[int] = EXPERIMENT_OPTION,
    personalization: list[int] = PERSONALIZATION_OPTION,
    project: Projects = None,
    all_projects: AllProjects = False,
    active: bool = typer.Option(False, "--active", help="Only active campaigns."),
) -> None:
    """Which campaigns report to Segment (default: every campaign of the projects)."""
    from ksegcli.core.kameleoon.reporting import select_campaigns

    state = get_state(ctx)
    campaigns = select_campaigns(
        state.session,
        experiments=experiment,
        personalizations=personalization,
        all_active=active,
        every_status=not active,
        projects=project or [],
        all_projects=all_projects,
    )
    out = state.output

    def human() -> None:
        if not _table(
            out,
            campaigns,
            ["enabled" if c.reports_to_segment else "not enabled" for c in campaigns],
            none="No campaigns.",
        ):
            return
        missing = [c for c in campaigns if not c.reports_to_segment and c.active]
        if missing:
            out.info(
                f"{len(missing)} active campaign(s) do not report to Segment: "
                "`ksegcli reporting enable --all-active`."
            )

    out.result([_campaign_doc(state, c) for c in campaigns], human=human)


def _campaign_doc(state: AppState, campaign: Campaign | None, site_id: int = 0) -> dict[str, Any]:
    """A campaign (or only a project) with its project in the contract's shape
    (``project: {id, sitecode, name}``; sitecode and name null for a project not listed)."""
    from ksegcli.contract import project

    sites = {s.id: s for s in state.session.kameleoon().list_sites()}
    doc = campaign.to_json() if campaign is not None else {"project_id": site_id}
    site_id = doc.pop("project_id")
    site = sites.get(site_id)
    where = project(site) if site else {"id": site_id, "sitecode": None, "name": None}
    return {"project": where, **doc}


def _enable_bounded(
    state: AppState, campaigns: list[Campaign], *, dry_run: bool
) -> list[ReportingChange]:
    """enable_reporting in a worker thread, so that Ctrl-C is answered at once: nothing
    more is sent, and a PATCH still in flight after a few seconds is abandoned
    (``interrupted``), the campaigns not reached ``skipped``."""
    from ksegcli.core.kameleoon.reporting import ReportingChange, enable_reporting

    if dry_run:
        return enable_reporting(state.session, campaigns, dry_run=True)
    interrupt.enter_writes()
    done: list[ReportingChange] = []
    try:
        return interrupt.call(lambda: enable_reporting(state.session, campaigns, into=done))
    except interrupt.RequestStopped as stopped:  # abandoned in flight
        changes = list(done)  # a copy: the abandoned thread may still add to ``done``
        for n, campaign in enumerate(campaigns[len(changes) :]):
            if n == 0:
                changes.append(ReportingChange(campaign, "interrupted", stopped))
            else:
                changes.append(ReportingChange(campaign, "skipped", interrupt.not_started("it")))
        return changes


def _without_tool(state: AppState, changes: list[ReportingChange]) -> list[int]:
    """Projects of the campaigns without the Segment tool; not looked up after Ctrl-C."""
    from ksegcli.core.kameleoon.reporting import projects_without_segment_tool

    if interrupt.requested():
        return []
    campaigns = [c.campaign for c in changes]
    try:
        return interrupt.call(lambda: projects_without_segment_tool(state.session, campaigns))
    except interrupt.RequestStopped:
        return []


def _table(out: Output, campaigns: list[Campaign], last: list[str], *, none: str) -> bool:
    """The campaigns as a table, ``last`` their SEGMENT column; ``none`` said instead when
    there are none (False)."""
    if not campaigns:
        out.info(none)
        return False
    out.table(
        ["KIND", "ID", "NAME", "PROJECT", "STATUS", "TRACKING TOOLS", "SEGMENT"],
        [
            (
                c.kind,
                c.id,
                c.name,
                c.site_id,
                c.status,
                ", ".join(c.tool_names) or "-",
                mark,
            )
            for c, mark in zip(campaigns, last, strict=True)
        ],
        optional=("TRACKING TOOLS", "PROJECT", "STATUS"),
    )
    return True
