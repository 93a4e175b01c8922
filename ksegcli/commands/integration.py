"""``ksegcli integration install | uninstall | status`` and
``ksegcli integration identifier install | uninstall | status``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

import typer

from ksegcli.commands._options import AllProjects, DryRun, Projects
from ksegcli.state import AppState, get_state

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.client import KameleoonClient, Site
    from ksegcli.core.kameleoon.identifier import IdentifierStatus
    from ksegcli.core.kameleoon.integration import ToolStatus
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
    from ksegcli.core.kameleoon import identifier, integration

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


# Removing from every project asks first: the same rule for both uninstall commands.
_ASKS_WITH_ALL = """

With --all it shows the projects and asks first on a terminal; --yes skips
the question, and off a terminal --all needs --yes (otherwise nothing is
changed and the exit code is 2). Declining exits 10."""


def _per_project_commands(
    group: typer.Typer,
    what: Literal["integration", "identifier"],
    *,
    install_help: str,
    uninstall_help: str,
    status_help: str,
    columns: list[str],
    cells: Callable[[Any], tuple[str, ...]],
) -> None:
    """``install``, ``uninstall`` and ``status`` of ``what`` on ``group``: the same options
    and the same run for the Segment tool and for the identifier block."""

    @group.command("install", help=install_help)
    def install(
        ctx: typer.Context,
        project: Projects = None,
        all_projects: AllProjects = False,
        dry_run: DryRun = False,
    ) -> None:
        _change(get_state(ctx), project, all_projects, install=True, dry_run=dry_run, what=what)

    @group.command("uninstall", help=uninstall_help + _ASKS_WITH_ALL)
    def uninstall(
        ctx: typer.Context,
        project: Projects = None,
        all_projects: AllProjects = False,
        dry_run: DryRun = False,
        yes: bool = YES_OPTION,
    ) -> None:
        _change(
            get_state(ctx),
            project,
            all_projects,
            install=False,
            dry_run=dry_run,
            what=what,
            yes=yes,
        )

    @group.command("status", help=status_help)
    def status(
        ctx: typer.Context,
        project: Projects = None,
        all_projects: AllProjects = False,
    ) -> None:
        from ksegcli.core.kameleoon import identifier, integration

        module = identifier if what == "identifier" else integration
        _show_status(get_state(ctx), project, all_projects, module.status, columns, cells)


def _show_status(
    state: AppState,
    project: list[str] | None,
    all_projects: bool,
    status: Callable[[KameleoonClient, list[Site]], Sequence[_StatusRow]],
    columns: list[str],
    cells: Callable[[Any], tuple[str, ...]],
) -> None:
    """Each project's status as a table (or JSON list); each distinct error once; exit
    with the first error's code after everything is shown."""
    session = state.session
    sites = session.projects(project or [], all_projects=all_projects)
    rows = status(session.kameleoon(), sites)
    out = state.output

    def human() -> None:
        # The details go first on a narrow terminal; the project and its state stay.
        out.table(columns, [cells(r) for r in rows], optional=(columns[-1], "SITECODE"))
        seen: set[str] = set()
        for r in rows:
            if r.error is not None and r.error.message not in seen:
                seen.add(r.error.message)
                out.error(r.error)

    out.result([r.to_json() for r in rows], human=human)
    failed = [r.error for r in rows if r.error is not None]
    if failed:
        raise typer.Exit(int(failed[0].exit_code))


def _tool_cells(r: ToolStatus) -> tuple[str, ...]:
    return (
        f"{r.site.name or '-'} ({r.site.id})",
        r.site.code,
        "unknown" if r.installed is None else ("installed" if r.installed else "not installed"),
        ", ".join(r.tools) or "-",
    )


_per_project_commands(
    app,
    "integration",
    install_help="Install the Segment tool on each project (other tools are kept as they are).",
    uninstall_help="Remove the Segment tool from each project (other tools are kept as they are).",
    status_help="Whether the Segment tool is installed on each project.",
    columns=["PROJECT", "SITECODE", "SEGMENT", "TOOLS"],
    cells=_tool_cells,
)


# -- the identifier snippet in the project's global custom script --------------------------

identifier_app = typer.Typer(
    help="The identifier snippet in each project's global custom script (sends the "
    "Kameleoon visitor code to Segment).",
    no_args_is_help=True,
)
app.add_typer(identifier_app, name="identifier")


def _identifier_cells(r: IdentifierStatus) -> tuple[str, ...]:
    return (f"{r.site.name or '-'} ({r.site.id})", r.site.code, r.state or "unknown", r.detail)


_per_project_commands(
    identifier_app,
    "identifier",
    install_help="""Add (or bring up to date) ksegcli's block in the global custom script.

The block sits between two marker lines, after the project's own code,
which is sent back exactly as it was.""",
    uninstall_help="Remove ksegcli's block from the global custom script (nothing else).",
    status_help="Whether each project's global custom script holds the current identifier block.",
    columns=["PROJECT", "SITECODE", "IDENTIFIER", "DETAILS"],
    cells=_identifier_cells,
)
