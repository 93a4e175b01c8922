"""Segment as reporting tool of Kameleoon campaigns (Kameleoon → Segment).

With Segment among a campaign's ``trackingTools``, Kameleoon sends an
``Experiment Viewed`` (or ``Personalization Viewed``) event to Segment each
time a visitor sees a variation (docs/api-facts.md). Enabling adds Segment
and keeps every other tool as it was; running it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ksegcli.core import interrupt
from ksegcli.core.kameleoon import integration
from ksegcli.core.kameleoon.integration import SEGMENT_TOOL as _INTEGRATION_TOOL
from ksegcli.core.kameleoon.readback import not_applied
from ksegcli.core.kameleoon.refusals import FORBIDDEN, explain
from ksegcli.errors import ApiError, KsegError, NotFoundError, UsageError

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.client import KameleoonClient, Site
    from ksegcli.core.session import Session

# --- inferred (I) -------------------------------------------------------------------
# trackingTools[].name of Segment: the same enum as the project's integration tool.
SEGMENT_TOOL = _INTEGRATION_TOOL.tool
TRACKING_TOOLS_FIELD = "trackingTools"
MANUAL_ROUTE = "the campaign › Integrations (reporting tools) › Segment"
ACTIVE_STATUSES = frozenset({"ACTIVE"})  # compared case-blind: "active" was seen too
CAMPAIGN_PATHS = {"experiment": "/experiments", "personalization": "/personalizations"}

Kind = Literal["experiment", "personalization"]


@dataclass
class Campaign:
    kind: Kind
    id: int
    name: str
    site_id: int
    status: str
    tools: list[dict[str, Any]] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"{CAMPAIGN_PATHS[self.kind]}/{self.id}"

    @property
    def tool_names(self) -> list[str]:
        return [str(t.get("name")) for t in self.tools]

    @property
    def active(self) -> bool:
        return self.status.upper() in ACTIVE_STATUSES

    @property
    def reports_to_segment(self) -> bool:
        return SEGMENT_TOOL in self.tool_names

    @classmethod
    def from_api(cls, kind: Kind, data: dict[str, Any]) -> Campaign:
        from ksegcli.core.http.parse import CampaignAnswer, convert

        parsed = convert(data, CampaignAnswer, f"GET {CAMPAIGN_PATHS[kind]}")
        tools = data.get(TRACKING_TOOLS_FIELD)
        return cls(
            kind=kind,
            id=parsed.id,
            name=parsed.name or "",
            site_id=parsed.siteId or 0,
            status=parsed.status or "",
            tools=[dict(t) for t in tools if isinstance(t, dict)]
            if isinstance(tools, list)
            else [],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "project_id": self.site_id,
            "status": self.status,
            "tracking_tools": self.tool_names,
            "segment": self.reports_to_segment,
        }


def _explain(
    exc: KsegError, method: str, path: str, kind: Kind, campaign_id: int | None
) -> KsegError:
    """A 403 (or, for a write, a refusal) of a campaign endpoint, with the way by hand."""

    if method == "GET" and not (isinstance(exc, ApiError) and exc.status == FORBIDDEN):
        return exc
    where = f" (campaign {campaign_id})" if campaign_id is not None else ""
    return explain(
        exc,
        method,
        path,
        doing=f"read {kind}s" if method == "GET" else "change a campaign's reporting tools",
        inference=f"the {TRACKING_TOOLS_FIELD!r} field of {kind}s",
        hint=f"Do it by hand in Kameleoon: {MANUAL_ROUTE}{where}.",
    )


def _get(client: KameleoonClient, kind: Kind, campaign_id: int) -> Campaign:
    path = f"{CAMPAIGN_PATHS[kind]}/{campaign_id}"
    try:
        data = client.get(path)
    except ApiError as exc:
        if isinstance(exc, NotFoundError):
            raise NotFoundError(
                f"No {kind} {campaign_id} in the projects these credentials reach.",
                hint=f"Check the id in the Kameleoon app ({kind}s list).",
            ) from None
        raise _explain(exc, "GET", path, kind, campaign_id) from None
    if not isinstance(data, dict):
        raise ApiError(f"Unexpected answer to GET {CAMPAIGN_PATHS[kind]}/{campaign_id}.")
    return Campaign.from_api(kind, data)


def _list(client: KameleoonClient, kind: Kind, site: Site) -> list[Campaign]:
    items = client.paginate_filtered(CAMPAIGN_PATHS[kind], [("siteId", "EQUAL", [site.id])])
    try:
        return [
            c
            for c in (Campaign.from_api(kind, item) for item in items)
            if c.site_id in (site.id, 0)
        ]
    except ApiError as exc:
        raise _explain(exc, "GET", CAMPAIGN_PATHS[kind], kind, None) from None


def select_campaigns(
    session: Session,
    *,
    experiments: Sequence[int] = (),
    personalizations: Sequence[int] = (),
    all_active: bool = False,
    every_status: bool = False,
    projects: Sequence[str] = (),
    all_projects: bool = False,
) -> list[Campaign]:
    """The campaigns named by id, or the active (``every_status``: all) ones of projects."""
    client = session.kameleoon()
    if (experiments or personalizations) and all_active:
        raise UsageError("Give --experiment/--personalization ids or --all-active, not both.")
    if experiments or personalizations:
        found = [_get(client, "experiment", i) for i in dict.fromkeys(experiments)]
        found += [_get(client, "personalization", i) for i in dict.fromkeys(personalizations)]
        return found
    if not all_active and not every_status:
        raise UsageError(
            "Nothing selected.",
            hint="Pass --experiment ID or --personalization ID (repeatable), or --all-active.",
        )
    campaigns: list[Campaign] = []
    for site in session.projects(projects, all_projects=all_projects):
        kinds: tuple[Kind, ...] = ("experiment", "personalization")
        for kind in kinds:
            campaigns += [c for c in _list(client, kind, site) if every_status or c.active]
    return campaigns


ReportingState = Literal[
    "enabled",
    "already",
    "planned",
    "not applied",
    "failed",
    "interrupted",  # Ctrl-C after its PATCH was sent, before its outcome was seen
    "skipped",  # Ctrl-C before its PATCH was sent
]


@dataclass
class ReportingChange:
    campaign: Campaign
    state: ReportingState
    error: KsegError | None = None

    def to_json(self) -> dict[str, Any]:
        data = {**self.campaign.to_json(), "state": self.state}
        if self.error is not None:
            data["error"] = self.error.to_json()["error"]
        return data


def enable_reporting(
    session: Session,
    campaigns: Sequence[Campaign],
    *,
    dry_run: bool = False,
    into: list[ReportingChange] | None = None,
) -> list[ReportingChange]:
    """Add Segment to each campaign's tracking tools, keeping the others. Each campaign is
    read again just before the write so that a tool added meanwhile is not lost, and after
    it (the answer, when it is the campaign): a change the API does not show is reported
    ``not applied``, never ``enabled``. After Ctrl-C nothing more is sent: the campaign
    whose PATCH went out is ``interrupted``, the ones not reached ``skipped``."""

    client = session.kameleoon()
    changes: list[ReportingChange] = [] if into is None else into
    for listed in campaigns:
        if interrupt.requested() and not dry_run:  # Ctrl-C: nothing more is sent
            changes.append(ReportingChange(listed, "skipped", interrupt.not_started("it")))
            continue
        try:
            changes.append(_enable_one(client, listed, dry_run=dry_run))
        except interrupt.RequestStopped as exc:
            changes.append(
                ReportingChange(listed, "interrupted" if exc.in_flight else "skipped", exc)
            )
    return changes


def _enable_one(client: KameleoonClient, listed: Campaign, *, dry_run: bool) -> ReportingChange:
    """One campaign (see :func:`enable_reporting`); a Ctrl-C before its PATCH was sent
    raises :class:`RequestStopped` with ``in_flight`` false, after it with true."""

    try:
        campaign = _get(client, listed.kind, listed.id)
    except interrupt.RequestStopped as exc:
        exc.in_flight = False
        raise
    if campaign.reports_to_segment:
        return ReportingChange(campaign, "already")
    tools = [*campaign.tools, {"name": SEGMENT_TOOL}]
    if dry_run:
        return ReportingChange(campaign, "planned")
    try:
        updated = client.patch(campaign.path, {TRACKING_TOOLS_FIELD: tools})
    except interrupt.RequestStopped as exc:
        exc.in_flight = False  # the PATCH itself was not sent
        raise
    except ApiError as exc:
        error = _explain(exc, "PATCH", campaign.path, campaign.kind, campaign.id)
        if error is exc:
            raise  # not about this campaign (network, 5xx): stop, as before
        return ReportingChange(campaign, "failed", error)
    after = (
        Campaign.from_api(campaign.kind, updated)
        if isinstance(updated, dict) and "id" in updated and TRACKING_TOOLS_FIELD in updated
        else _get(client, campaign.kind, campaign.id)
    )
    if not after.reports_to_segment:
        error = not_applied(
            "PATCH",
            campaign.path,
            f"Segment as reporting tool of a {campaign.kind}",
            seen=f"{TRACKING_TOOLS_FIELD} = [{', '.join(after.tool_names)}], without "
            f"{SEGMENT_TOOL}",
            inference=f"the {TRACKING_TOOLS_FIELD!r} field of {campaign.kind}s",
            hint=f"Add it by hand in Kameleoon: {MANUAL_ROUTE} (campaign {campaign.id}).",
        )
        return ReportingChange(after, "not applied", error)
    return ReportingChange(after, "enabled")


def reporting_failures(changes: Sequence[ReportingChange]) -> list[KsegError]:
    return [c.error for c in changes if c.error is not None]


def projects_without_segment_tool(session: Session, campaigns: Sequence[Campaign]) -> list[int]:
    """Ids of the campaigns' projects where the Segment tool is not installed: there a
    campaign reporting to Segment sends nothing. Projects whose tools cannot be read
    (the endpoint is inferred) are left out rather than reported wrongly."""

    client = session.kameleoon()
    wanted = {c.site_id for c in campaigns if c.site_id}
    sites = [s for s in client.list_sites() if s.id in wanted]
    missing: list[int] = []
    for site_id, tools in integration.read_all_tools(client, sites).items():
        if not isinstance(tools, KsegError) and not integration.is_installed(tools):
            missing.append(site_id)
    return sorted(missing)
