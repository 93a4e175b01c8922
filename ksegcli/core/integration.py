"""The Segment tool in a project's integration tools (Kameleoon → Segment events).

How to install a tool by API is not published (API_NOTES §1, the least certain
part): our reading is that ``GET /sites/{id}/integration-tools`` lists the
project's tools and ``PUT`` on the same path takes the whole array back, the
Segment tool being named ``SEGMENT``. Path, verb and name are the one constant
:data:`SEGMENT_TOOL`. When the API answers 400/404/405 to it, the user gets the
server's message and the manual route (:data:`MANUAL_ROUTE`).

There is no account-wide list of integration tools, so reading them costs one
GET per project; the reads run in parallel through the shared rate limiter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ksegcli.core.plan import Action, ActionResult, Request
from ksegcli.errors import ApiError, ExitCode, KsegError

if TYPE_CHECKING:
    from ksegcli.core.kameleoon import KameleoonClient, Site


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
REFUSAL_STATUSES = frozenset({400, 404, 405})

Tools = list[dict[str, Any]]


def refused(exc: ApiError, method: str, site: Site) -> ApiError:
    """The API does not take the integration endpoint as we read it: say so, with the way by hand."""
    message = exc.message.split(": ", 1)[-1] if ": " in exc.message else exc.message
    path = SEGMENT_TOOL.path.format(site_id=site.id)
    return ApiError(
        f"The Automation API refused {method} {path} (HTTP {exc.status}): {message}. "
        "Installing the Segment tool by API rests on an inference (API_NOTES §1).",
        status=exc.status,
        code="api_refused",
        exit_code=ExitCode.API,
        hint=f"Install it by hand in Kameleoon: {MANUAL_ROUTE}.",
    )


def _is_refusal(exc: KsegError) -> bool:
    return isinstance(exc, ApiError) and exc.status in REFUSAL_STATUSES


def read_tools(client: KameleoonClient, site: Site) -> Tools:
    path = SEGMENT_TOOL.path.format(site_id=site.id)
    try:
        data = client.get(path)
    except ApiError as exc:
        if _is_refusal(exc):
            raise refused(exc, "GET", site) from None
        raise
    if not isinstance(data, list):
        raise ApiError(f"Expected a JSON array from GET {path}, got {type(data).__name__}.")
    return [item for item in data if isinstance(item, dict)]


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
        )
    body = [t for t in tools if str(t.get("name", "")).upper() != SEGMENT_TOOL.tool]
    return Action(
        site,
        "integration",
        label,
        "uninstall",
        "installed",
        Request(SEGMENT_TOOL.write_verb, path, body),
    )


def handle(client: KameleoonClient, action: Action) -> ActionResult:
    """Write the project's tools back (PUT is idempotent: the client retries it safely)."""
    from ksegcli.core.plan import DONE

    assert action.request is not None
    request = action.request
    try:
        client.http.request(request.method, request.path, json_body=request.body)
    except ApiError as exc:
        if _is_refusal(exc):
            raise refused(exc, request.method, action.site) from None
        raise
    status = DONE[action.action]
    others = len([t for t in request.body if str(t.get("name", "")).upper() != SEGMENT_TOOL.tool])
    verb = "added" if action.action == "install" else "removed"
    message = f"{verb}; {others} other tool(s) kept"
    return ActionResult(action, status, message)  # type: ignore[arg-type]


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
