"""``ksegcli integration install | uninstall | status`` and
``ksegcli integration identifier install | uninstall | status``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

import typer

from ksegcli.commands._options import AllProjects, DryRun, Projects
from ksegcli.state import AppState, get_state

if TYPE_CHECKING:
    from ksegcli.core.plan import Action
    from ksegcli.errors import KsegError


class _StatusRow(Protocol):
    @property
    def error(self) -> KsegError | None: ...

    def to_json(self) -> dict[str, Any]: ...


app = typer.Typer(
    help="The Segment tool on Kameleoon projects (sends 'Experiment Viewed' to Segment).",
    no_args_is_help=True,
)

YES_OPTION = typer.Option(
    False, "--yes", "-y", help="With --all: do not ask for confirmation (needed off a terminal)."
)


def _change(
    state: AppState,
    project: list[str] | None,
    all_projects: bool,
    *,
    install: bool,
    dry_run: bool,
    what: Literal["integration", "identifier"] = "integration",
    yes: bool = False,
) -> None:
    from ksegcli.commands._confirm import confirm, require_yes_off_terminal
    from ksegcli.commands._results import render_plan
    from ksegcli.commands._run import run_plan
    from ksegcli.core import identifier, integration

    module = identifier if what == "identifier" else integration
    # Removing from every project the credentials reach: the one confirmation rule.
    ask = not install and all_projects and not dry_run
    label = "the Segment tool" if what == "integration" else "ksegcli's identifier block"
    if ask:
        require_yes_off_terminal(state, yes=yes, what=f"remove {label} from every project")

    def before_writes(actions: Sequence[Action]) -> None:
        going = [a for a in actions if a.action == "uninstall"]
        if ask and going:
            confirm(
                state,
                yes=yes,
                question=f"Remove {label} from these {len(going)} project(s)?",
                show=lambda: render_plan(state.output, going),
            )

    run_plan(
        state,
        project=project,
        all_projects=all_projects,
        dry_run=dry_run,
        plan=lambda client, sites: module.plan(client, sites, install=install),
        handlers=module.HANDLERS,
        before_writes=before_writes,
    )


@app.command("install")
def install(
    ctx: typer.Context,
    project: Projects = None,
    all_projects: AllProjects = False,
    dry_run: DryRun = False,
) -> None:
    """Install the Segment tool on each project (other tools are kept as they are)."""
    _change(get_state(ctx), project, all_projects, install=True, dry_run=dry_run)


@app.command("uninstall")
def uninstall(
    ctx: typer.Context,
    project: Projects = None,
    all_projects: AllProjects = False,
    dry_run: DryRun = False,
    yes: bool = YES_OPTION,
) -> None:
    """Remove the Segment tool from each project (other tools are kept as they are).

    With --all it shows the projects and asks first on a terminal; --yes skips
    the question, and off a terminal --all needs --yes (otherwise nothing is
    changed and the exit code is 2). Declining exits 10.
    """
    _change(get_state(ctx), project, all_projects, install=False, dry_run=dry_run, yes=yes)


@app.command("status")
def status(
    ctx: typer.Context,
    project: Projects = None,
    all_projects: AllProjects = False,
) -> None:
    """Whether the Segment tool is installed on each project."""
    from ksegcli.core import integration

    state = get_state(ctx)
    session = state.session
    sites = session.projects(project or [], all_projects=all_projects)
    rows = integration.status(session.kameleoon(), sites)
    _show_status(
        state,
        rows,
        ["PROJECT", "SITECODE", "SEGMENT", "TOOLS"],
        [
            (
                f"{r.site.name or '-'} ({r.site.id})",
                r.site.code,
                "unknown"
                if r.installed is None
                else ("installed" if r.installed else "not installed"),
                ", ".join(r.tools) or "-",
            )
            for r in rows
        ],
    )


def _show_status(
    state: AppState, rows: Sequence[_StatusRow], columns: list[str], cells: list[tuple[str, ...]]
) -> None:
    """A per-project status table (or JSON list); each distinct error once; exit with the
    first error's code after everything is shown."""
    out = state.output

    def human() -> None:
        # The details go first on a narrow terminal; the project and its state stay.
        out.table(columns, cells, optional=(columns[-1], "SITECODE"))
        seen: set[str] = set()
        for r in rows:
            if r.error is not None and r.error.message not in seen:
                seen.add(r.error.message)
                out.error(r.error)

    out.result([r.to_json() for r in rows], human=human)
    failed = [r.error for r in rows if r.error is not None]
    if failed:
        raise typer.Exit(int(failed[0].exit_code))


# -- the identifier snippet in the project's global custom script --------------------------

identifier_app = typer.Typer(
    help="The identifier snippet in each project's global custom script (sends the "
    "Kameleoon visitor code to Segment).",
    no_args_is_help=True,
)
app.add_typer(identifier_app, name="identifier")


@identifier_app.command("install")
def identifier_install(
    ctx: typer.Context,
    project: Projects = None,
    all_projects: AllProjects = False,
    dry_run: DryRun = False,
) -> None:
    """Add (or bring up to date) ksegcli's block in the global custom script.

    The block sits between two marker lines, after the project's own code,
    which is sent back exactly as it was.
    """
    _change(get_state(ctx), project, all_projects, install=True, dry_run=dry_run, what="identifier")


@identifier_app.command("uninstall")
def identifier_uninstall(
    ctx: typer.Context,
    project: Projects = None,
    all_projects: AllProjects = False,
    dry_run: DryRun = False,
    yes: bool = YES_OPTION,
) -> None:
    """Remove ksegcli's block from the global custom script (nothing else).

    With --all it shows the projects and asks first on a terminal; --yes skips
    the question, and off a terminal --all needs --yes (otherwise nothing is
    changed and the exit code is 2). Declining exits 10.
    """
    _change(
        get_state(ctx),
        project,
        all_projects,
        install=False,
        dry_run=dry_run,
        what="identifier",
        yes=yes,
    )


@identifier_app.command("status")
def identifier_status(
    ctx: typer.Context,
    project: Projects = None,
    all_projects: AllProjects = False,
) -> None:
    """Whether each project's global custom script holds the current identifier block."""
    from ksegcli.core import identifier

    state = get_state(ctx)
    session = state.session
    sites = session.projects(project or [], all_projects=all_projects)
    rows = identifier.status(session.kameleoon(), sites)
    _show_status(
        state,
        rows,
        ["PROJECT", "SITECODE", "IDENTIFIER", "DETAILS"],
        [
            (f"{r.site.name or '-'} ({r.site.id})", r.site.code, r.state or "unknown", r.detail)
            for r in rows
        ],
    )
