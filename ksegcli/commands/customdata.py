"""``ksegcli customdata create personas | trait NAME | group``, ``list``, ``delete``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from ksegcli.commands._options import AllProjects, DryRun, Projects
from ksegcli.core import interrupt
from ksegcli.errors import UsageError
from ksegcli.state import AppState, get_state

if TYPE_CHECKING:
    from ksegcli.core.interrupt import RequestStopped
    from ksegcli.core.kameleoon import customdata as customdata_mod
    from ksegcli.core.kameleoon.client import KameleoonClient, Site
    from ksegcli.core.plan import ActionResult

app = typer.Typer(
    help="Custom data that read Segment personas, traits and group ids in Kameleoon.",
    no_args_is_help=True,
)
create_app = typer.Typer(
    help="Create (idempotently) the custom data of the Segment integration.",
    no_args_is_help=True,
)
app.add_typer(create_app, name="create")

NAME_OPTION = typer.Option(None, "--name", help="Name of the custom data (default per kind).")
USER_ID_OPTION = typer.Option(
    "visitor-code",
    "--user-id",
    metavar="visitor-code|segment",
    help="Which id the snippet reads the user's Segment data by.",
)
UPDATE_OPTION = typer.Option(
    False,
    "--update",
    help="Patch a custom data of the same name whose code (or type/format) differs.",
)

PERSONA_VALUES_STEP = (
    "One step left by hand for {where}: in Kameleoon, open the custom data {name!r}, "
    "click Next, turn on 'Save the values for the targeting condition associated with "
    "the custom data point' and paste the persona-names code printed by "
    "`ksegcli snippet render persona-values --sitecode {code}`."
)


def _create(
    state: AppState,
    kind: str,
    *,
    project: list[str] | None,
    all_projects: bool,
    name: str | None,
    trait: str | None = None,
    fmt: str = "string",
    user_id: str,
    update: bool,
    dry_run: bool,
) -> None:
    from ksegcli.commands._results import result_item
    from ksegcli.commands._run import run_plan
    from ksegcli.core.kameleoon import customdata

    spec = customdata.build_spec(kind, name=name, trait=trait, fmt=fmt, user_id=user_id)
    out = state.output

    def next_steps(results: list[ActionResult]) -> dict[int, str]:
        if kind != "personas":
            return {}
        return {
            r.action.site.id: PERSONA_VALUES_STEP.format(
                where=r.action.site.label(), name=r.action.name, code=r.action.site.code
            )
            for r in results
            if not r.failed
        }

    def items(results: list[ActionResult]) -> list[dict[str, Any]]:
        steps = next_steps(results)
        docs = []
        for r in results:
            doc = result_item(r)
            if r.action.site.id in steps:
                doc["next_step"] = steps[r.action.site.id]
            docs.append(doc)
        return docs

    def notes(results: list[ActionResult]) -> None:
        drifted = [r for r in results if r.status == "drifted"]
        if drifted:
            out.warn(
                f"{len(drifted)} custom data of the same name differ and were left alone; "
                "rerun with --update to patch them."
            )
        for step in next_steps(results).values():
            out.info(step)

    run_plan(
        state,
        project=project,
        all_projects=all_projects,
        dry_run=dry_run,
        plan=lambda client, sites: customdata.plan(
            client, sites, [spec], update="always" if update else "never"
        ),
        handlers=customdata.HANDLERS,
        # Another run may have created the same custom data meanwhile: end with one of each.
        settle=customdata.settle,
        items=items,
        notes=notes,
    )


def _named_kind(kind: str, doc: str) -> None:
    """``create personas`` and ``create group``: one custom data of a default name each,
    the same options."""

    @create_app.command(kind, help=doc)
    def create(
        ctx: typer.Context,
        project: Projects = None,
        all_projects: AllProjects = False,
        name: str | None = NAME_OPTION,
        user_id: str = USER_ID_OPTION,
        update: bool = UPDATE_OPTION,
        dry_run: DryRun = False,
    ) -> None:
        _create(
            get_state(ctx),
            kind,
            project=project,
            all_projects=all_projects,
            name=name,
            user_id=user_id,
            update=update,
            dry_run=dry_run,
        )


_named_kind(
    "personas", "The personas custom data: List of string, default name 'SegmentIO personas'."
)


@create_app.command("trait")
def create_trait(
    ctx: typer.Context,
    trait: str = typer.Argument(..., metavar="NAME", help="The trait's key, as Segment sends it."),
    project: Projects = None,
    all_projects: AllProjects = False,
    name: str | None = typer.Option(
        None, "--name", help="Name of the custom data (default: NAME)."
    ),
    fmt: str = typer.Option(
        "string",
        "--format",
        metavar="string|number|boolean",
        # Rich hides a type column that contains "bool": say the values in the text too.
        help="Custom data format: string, number or boolean.",
    ),
    user_id: str = USER_ID_OPTION,
    update: bool = UPDATE_OPTION,
    dry_run: DryRun = False,
) -> None:
    """One custom data for one Segment trait (type UNIQUE)."""
    _create(
        get_state(ctx),
        "trait",
        project=project,
        all_projects=all_projects,
        name=name,
        trait=trait,
        fmt=fmt.lower(),
        user_id=user_id,
        update=update,
        dry_run=dry_run,
    )


_named_kind("group", "The group id custom data: UNIQUE string, default name 'Group ID'.")


@app.command("list")
def list_custom_data(
    ctx: typer.Context,
    project: Projects = None,
    all_projects: AllProjects = False,
) -> None:
    """Each project's custom data, and whether it is one of ksegcli's (and current)."""
    from ksegcli.core.kameleoon import customdata

    state = get_state(ctx)
    session = state.session
    sites = session.projects(project or [], all_projects=all_projects)
    found = customdata.list_custom_data(session.kameleoon(), [s.id for s in sites])
    rows = [(site, item, item.current()) for site in sites for item in found[site.id]]
    out = state.output

    def ours(item: customdata.CustomData, current: bool | None) -> str:
        if item.ours is None:
            return "no"
        return f"{item.ours} ({'current' if current else 'outdated'})"

    def human() -> None:
        if not rows:
            out.info("No custom data.")
            return
        out.table(
            ["PROJECT", "ID", "NAME", "TYPE", "FORMAT", "METHOD", "KSEGCLI"],
            [
                (
                    f"{site.code}",
                    item.id,
                    item.name,
                    item.type,
                    item.format,
                    item.method,
                    ours(item, current),
                )
                for site, item, current in rows
            ],
            optional=("METHOD", "FORMAT", "TYPE"),
        )

    from ksegcli.contract import project as project_doc

    def item_doc(site: Site, item: customdata.CustomData, current: bool | None) -> dict[str, Any]:
        doc = item.to_json()
        doc.pop("siteId", None)
        return {"project": project_doc(site), **doc, "current": current}

    out.result([item_doc(site, item, current) for site, item, current in rows], human=human)


@app.command("delete")
def delete(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="ID|NAME", help="The custom data's id or name."),
    project: Projects = None,
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Do not ask for confirmation (needed off a terminal)."
    ),
) -> None:
    """Delete one custom data of a project.

    On a terminal it shows the custom data and asks first; --yes skips the
    question, and off a terminal --yes is required (otherwise nothing is
    changed and the exit code is 2). Declining exits 10.
    """
    from ksegcli.commands._confirm import confirm, require_yes_off_terminal
    from ksegcli.commands._results import announce_interrupted, interrupted_field
    from ksegcli.core.kameleoon import customdata

    state = get_state(ctx)
    require_yes_off_terminal(state, yes=yes, what=f"delete custom data {ref!r}")
    session = state.session
    session.lock_account()
    sites = session.projects(project or [])
    if len(sites) != 1:
        raise UsageError("Give exactly one --project to delete from.")
    site = sites[0]
    client = session.kameleoon()
    item = customdata.resolve(customdata.list_custom_data(client, [site.id])[site.id], ref, site)
    what = f"custom data {item.id} {item.name!r} on {site.label()}"
    confirm(state, yes=yes, question=f"Delete {what}?")
    out = state.output
    from ksegcli.contract import envelope
    from ksegcli.contract import project as project_doc

    stopped = _delete_bounded(client, item)

    doc = item.to_json()
    doc.pop("siteId", None)
    done = {
        "project": project_doc(site),
        "resource": "custom-data",
        "name": item.name,
        "kind": item.ours,
        "id": item.id,
        "action": "delete",
        "state": "deleted",
        "reason": "asked for",
        "message": "deleted",
        "custom_data": doc,
    }
    if stopped is not None:
        done["state"] = "interrupted" if stopped.in_flight else "skipped"
        done["message"] = stopped.message
    out.result(
        envelope(dry_run=False, items=[done], **interrupted_field()),
        human=lambda: (
            out.success(f"Deleted {what}.")
            if stopped is None
            else out.info(f"Delete of {what}: {done['state']} ({stopped.message})")
        ),
    )
    if interrupt.requested():
        announce_interrupted(
            out,
            done=int(stopped is None),
            in_flight=int(stopped is not None and stopped.in_flight),
            skipped=int(stopped is not None and not stopped.in_flight),
        )


def _delete_bounded(
    client: KameleoonClient, item: customdata_mod.CustomData
) -> RequestStopped | None:
    """The DELETE in a worker thread, so that Ctrl-C is answered at once (a request in
    flight gets a few seconds). None when it was done, else why it was not."""
    from ksegcli.core.kameleoon import customdata

    interrupt.enter_writes()

    def run() -> None:
        try:
            customdata.delete(client, item)
        except interrupt.RequestStopped as exc:
            exc.in_flight = False  # stopped before it was sent
            raise

    try:
        interrupt.call(run)
    except interrupt.RequestStopped as exc:
        return exc
    return None
