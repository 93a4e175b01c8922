"""The Segment tool in a project's integration tools (Kameleoon → Segment events).

How to install a tool by API is not published (docs/api-facts.md, the least
certain part): our reading is that ``GET /sites/{id}/integration-tools`` lists the
project's tools and ``PUT`` on the same path takes the whole array back, the
Segment tool being named ``SEGMENT``. Path, verb and name are the one constant
:data:`SEGMENT_TOOL`. When the API answers 400/404/405 to it, the user gets the
server's message and the manual route (:data:`MANUAL_ROUTE`); a 403 says the API
client is not allowed to (core/kameleoon/refusals.py). Every write is read back (core/kameleoon/readback.py).

There is no account-wide list of integration tools, so reading them costs one
GET per project; the reads run in parallel through the shared rate limiter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ksegcli.core.kameleoon.readback import not_applied, save_backup
from ksegcli.core.kameleoon.refusals import explain
from ksegcli.core.plan import DONE, Action, ActionResult, Request
from ksegcli.errors import ApiError, ExitCode, KsegError

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.client import KameleoonClient, Site


@dataclass(frozen=True)
class ToolEndpoint:
    """Where and how a project's integration tools are read and written (inferred)."""

    path: str  # with {site_id}
    write_verb: str
    tool: str  # the tool's name in the array
    label: str


# --- inferred (I): the one place to fix when the real API disagrees ---------------------
SEGMENT_TOOL = ToolEndpoint(
    path="/sites/{site_id}/integration-tools", write_verb="PUT", tool="SEGMENT", label="Segment"
)
# ------------------------------------------------------------------------------------------
MANUAL_ROUTE = "Admin › Integrations › Segment › Install the tool › select projects › Validate"

Tools = list[dict[str, Any]]


def _explain(exc: KsegError, method: str, site: Site, *, removing: bool = False) -> KsegError:
    """A refusal or a 403 of the integration endpoint, with the way by hand."""

    doing = (
        "read a project's integration tools"
        if method == "GET"
        else f"{'remove' if removing else 'install'} integration tools"
    )
    return explain(
        exc,
        method,
        SEGMENT_TOOL.path.format(site_id=site.id),
        doing=doing,
        inference="the integration-tools endpoint",
        hint=f"{'Uninstall' if removing else 'Install'} it by hand in Kameleoon: {MANUAL_ROUTE}.",
    )


def read_tools(client: KameleoonClient, site: Site) -> Tools:
    path = SEGMENT_TOOL.path.format(site_id=site.id)
    try:
        data = client.get(path)
    except ApiError as exc:
        raise _explain(exc, "GET", site) from None
    from ksegcli.core.http.parse import item_list

    return item_list(data, f"GET {path}")


def read_all_tools(
    client: KameleoonClient, sites: Sequence[Site], *, workers: int = 8
) -> dict[int, Tools | KsegError]:
    """Each project's tools (or the error that stopped us reading them): one GET per project."""

    def one(site: Site) -> Tools | KsegError:
        try:
            return read_tools(client, site)
        except KsegError as exc:
            return exc

    if len(sites) <= 1 or workers <= 1:
        return {site.id: one(site) for site in sites}
    with ThreadPoolExecutor(max_workers=min(workers, len(sites))) as pool:
        return dict(zip((s.id for s in sites), pool.map(one, sites), strict=True))


def is_installed(tools: Tools) -> bool:
    return any(str(t.get("name", "")).upper() == SEGMENT_TOOL.tool for t in tools)


def _name(tool: Mapping[str, Any]) -> str:
    return str(tool.get("name", ""))


def _without_settings(tools: Tools) -> list[str]:
    """Other tools whose settings the read did not return: sending them back would erase them."""
    return [
        _name(t)
        for t in tools
        if _name(t).upper() != SEGMENT_TOOL.tool and not isinstance(t.get("settings"), dict)
    ]


def plan_integration(site: Site, tools: Tools | KsegError, *, install: bool = True) -> Action:
    """One project's tools → install / uninstall / unchanged (or blocked, with the read error)."""
    label = SEGMENT_TOOL.label
    if isinstance(tools, KsegError):
        return Action(site, "integration", label, "blocked", tools.message, error=tools)
    path = SEGMENT_TOOL.path.format(site_id=site.id)
    present = is_installed(tools)
    if install and present:
        return Action(site, "integration", label, "unchanged", "already installed")
    if not install and not present:
        return Action(site, "integration", label, "unchanged", "not installed")
    partial = _without_settings(tools)
    if partial:
        reason = (
            f"GET {path} listed {', '.join(partial)} without settings; writing the array back "
            "would erase them, so nothing is sent"
        )
        error = ApiError(
            f"{site.label()}: {reason}.",
            code="api_refused",
            exit_code=ExitCode.API,
            hint=f"Do it by hand in Kameleoon: {MANUAL_ROUTE}.",
        )
        return Action(site, "integration", label, "blocked", reason, error=error)
    if install:
        # The whole array goes back: every other tool exactly as the API gave it.
        body = [*tools, {"name": SEGMENT_TOOL.tool, "settings": {}}]
        return Action(
            site,
            "integration",
            label,
            "install",
            "not installed",
            Request(SEGMENT_TOOL.write_verb, path, body),
            read=tools,
        )
    body = [t for t in tools if _name(t).upper() != SEGMENT_TOOL.tool]
    return Action(
        site,
        "integration",
        label,
        "uninstall",
        "installed",
        Request(SEGMENT_TOOL.write_verb, path, body),
        read=tools,
    )


def _others(tools: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {_name(t): t.get("settings") for t in tools if _name(t).upper() != SEGMENT_TOOL.tool}


def handle(client: KameleoonClient, action: Action) -> ActionResult:
    """Write the project's tools back (PUT is idempotent: the client retries it safely),
    then read them back: the write's own 2xx proves nothing (the endpoint is inferred)."""

    assert action.request is not None
    request = action.request
    kept = _others(request.body)
    backup = (
        save_backup("integration-tools", action.site.id, action.read if action.read else [])
        if kept
        else None
    )
    try:
        client.http.request(request.method, request.path, json_body=request.body)
    except ApiError as exc:
        removing = action.action == "uninstall"
        raise _explain(exc, request.method, action.site, removing=removing) from None
    after = read_tools(client, action.site)
    installing = action.action == "install"
    where = f" (what was read before is saved in {backup})" if backup else ""
    if is_installed(after) != installing:
        seen = "no SEGMENT tool" if installing else "the SEGMENT tool still there"
        raise not_applied(
            request.method,
            request.path,
            "installing the Segment tool by API" if installing else "removing it by API",
            seen=seen + where,
            inference="the integration-tools endpoint",
            hint=f"{'Install' if installing else 'Uninstall'} it by hand in Kameleoon: "
            f"{MANUAL_ROUTE}.",
        )
    now = _others(after)
    changed = sorted(
        {name for name in kept if now.get(name, _MISSING) != kept[name]}
        | {name for name in now if name not in kept}
    )
    if changed:
        raise ApiError(
            f"The write of {request.path} changed what it should have kept: "
            + ", ".join(
                f"{name} ({'gone' if name not in now else 'added' if name not in kept else 'settings differ'})"
                for name in changed
            )
            + f". What was read before is saved in {backup}.",
            code="conflict",
            exit_code=ExitCode.API,
            hint=f"Check the project's integrations in Kameleoon ({MANUAL_ROUTE.split(' › Segment')[0]})"
            " against the backup, and restore what changed by hand.",
        )
    status = DONE[action.action]
    verb = "added" if installing else "removed"
    message = f"{verb}; {len(kept)} other tool(s) kept (verified)" + (
        f"; backup {backup}" if backup else ""
    )
    return ActionResult(action, status, message)  # type: ignore[arg-type]


_MISSING = object()


@dataclass(frozen=True)
class ToolStatus:
    site: Site
    installed: bool | None
    tools: list[str]
    error: KsegError | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "project": {"id": self.site.id, "sitecode": self.site.code, "name": self.site.name},
            "installed": self.installed,
            "tools": self.tools,
            "error": None
            if self.error is None
            else {"code": self.error.code, "message": self.error.message, "hint": self.error.hint},
        }


def status(client: KameleoonClient, sites: Sequence[Site], *, workers: int = 8) -> list[ToolStatus]:
    read = read_all_tools(client, sites, workers=workers)
    out = []
    for site in sites:
        tools = read[site.id]
        if isinstance(tools, KsegError):
            out.append(ToolStatus(site, None, [], tools))
        else:
            out.append(ToolStatus(site, is_installed(tools), [str(t.get("name")) for t in tools]))
    return out


def plan(
    client: KameleoonClient, sites: Sequence[Site], *, install: bool = True, workers: int = 8
) -> list[Action]:
    read = read_all_tools(client, sites, workers=workers)
    return [plan_integration(site, read[site.id], install=install) for site in sites]


HANDLERS: dict[str, Callable[[KameleoonClient, Action], ActionResult]] = {"integration": handle}
