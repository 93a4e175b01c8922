"""``ksegcli doctor --file FILE``: check what an apply file declares, item by item.

The drift gate a scheduled CI job runs: the same credential and API-key checks
as ``doctor`` (core/doctor/checks.py), then, for every project of the file, each item
it declares compared the way ``apply`` compares it (core/apply/engine.py's plan, read
only): the Segment tool, the identifier script when the file manages it, each
declared custom data (personas and group only when declared: ``group = false``
is not a failure), and the Segment destination where the project has a
``segment`` table. An item ``apply`` would change, or one made by hand that
differs (drifted), fails with its reason; nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ksegcli.core.apply import desired as desired_mod
from ksegcli.core.apply.engine import plan_apply
from ksegcli.core.doctor.checks import Check, DoctorOptions, DoctorReport, _Doctor
from ksegcli.errors import KsegError

if TYPE_CHECKING:
    from ksegcli.core.plan import Action
    from ksegcli.core.session import Session

_STATES = {
    "create": "missing",
    "install": "not installed",
    "uninstall": "installed, the file says uninstalled",
    "update": "outdated",
    "drifted": "drifted",
    "blocked": "blocked",
    "delete": "to delete",
}
_TITLES = {"integration": "Segment tool", "identifier": "Identifier script"}


def run_doctor_file(
    session: Session,
    path: Path,
    *,
    token: str | None = None,
    on_check: Callable[[Check], None] | None = None,
) -> DoctorReport:
    """Every declared item as a check; a file that does not validate raises (exit 2)."""

    desired = desired_mod.load(path)  # every problem of the file, before any request
    emit = on_check or (lambda check: None)
    doc = _Doctor(session, DoctorOptions(token=token), emit)
    doc.check_credentials()
    doc.check_api_key()
    if not doc.credentials_ok:
        doc.add("projects", f"Projects of {path.name}", "skip", "needs credentials (see above)")
        return doc.report

    try:
        plan = plan_apply(session.kameleoon(), desired)
    except KsegError as exc:  # an unknown project, a project declared twice, the API failing
        doc.add(
            "projects",
            f"Projects of {path.name}",
            "fail",
            exc.message,
            exc.hint or "Rerun with -v.",
        )
        return doc.report
    for project in desired.projects:
        site = plan.sites[project.ref]
        for action in (a for a in plan.actions if a.site.id == site.id):
            _item(doc, action, path)
        hook = project.segment
        if hook is not None and hook.source_id is not None:
            _destination(doc, emit, site.code, hook.source_id, hook.region)
    return doc.report


def _item(doc: _Doctor, action: Action, path: Path) -> None:
    code = action.site.code
    if action.resource == "custom-data":
        title = f"{code}: {action.kind or 'custom'} custom data {action.name!r}"
        id = f"{code}.customdata.{action.name}"
    else:
        title = f"{code}: {_TITLES.get(action.resource, action.resource)}"
        id = f"{code}.{action.resource}"
    if action.action == "unchanged":
        doc.add(id, title, "pass", action.reason)
        return
    state = _STATES.get(action.action, action.action)
    if action.action == "drifted":
        fix = f"Made by hand: review it, or let ksegcli take it over: `ksegcli apply {path} --update`."
    elif action.action == "blocked":
        fix = (action.error.hint if action.error else None) or "Fix it by hand, then rerun."
    else:
        fix = f"Run `ksegcli apply {path}`."
    doc.add(id, title, "fail", f"{state}: {action.reason}", fix, action=action.action)


def _destination(
    doc: _Doctor, emit: Callable[[Check], None], sitecode: str, source: str, region: str
) -> None:
    """doctor's own destination check, for this project's sitecode, source and region."""
    doc.options.source = source
    doc.options.segment_region = region
    doc.sitecode = sitecode

    def relabel(check: Check) -> None:
        check.id = f"{sitecode}.destination"
        check.title = f"{sitecode}: Segment destination on {source}"
        emit(check)

    doc.emit = relabel
    try:
        doc.check_destination()
    finally:
        doc.emit = emit
