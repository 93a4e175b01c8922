"""``ksegcli goals list --segment [--project …] [--all]``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from ksegcli.commands._options import AllProjects, Projects
from ksegcli.state import get_state

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.goals import Goal

app = typer.Typer(help="Kameleoon goals.", no_args_is_help=True)


@app.command("list")
def list_goals(
    ctx: typer.Context,
    segment: bool = typer.Option(
        False, "--segment", help="Only the goals the Segment integration created."
    ),
    project: Projects = None,
    all_projects: AllProjects = False,
) -> None:
    """Goals per project; --segment: those Kameleoon made from Segment events.

    Segment goals are named `SegmentIO <type> – <event>` or `Segment.io – <event>`.
    """
    from ksegcli.core.kameleoon.goals import list_goals

    state = get_state(ctx)
    sites = state.session.projects(project or [], all_projects=all_projects)
    goals = list_goals(state.session, sites, segment_only=segment)
    out = state.output

    def human() -> None:
        if not goals and not segment:
            out.info("No goals.")
            return
        if not goals:
            out.info(
                "No Segment goals yet: Kameleoon creates one per event name when Segment "
                "sends the first track/page/screen call."
            )
            return
        out.table(
            ["ID", "NAME", "EVENT", "TYPE", "SITECODE", "CONVENTION"],
            [
                (g.id, g.name, g.event or "-", g.event_type or "-", g.sitecode, g.convention or "-")
                for g in goals
            ],
            optional=("CONVENTION", "TYPE", "SITECODE"),
        )

    from ksegcli.contract import project as project_doc

    by_id = {site.id: site for site in sites}

    def goal_doc(goal: Goal) -> dict[str, Any]:
        doc = goal.to_json()
        doc.pop("project_id", None)
        doc.pop("sitecode", None)
        return {"project": project_doc(by_id[goal.site_id]), **doc}

    out.result([goal_doc(g) for g in goals], human=human)
