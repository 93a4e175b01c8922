"""The Segment Public API, and the Kameleoon (Actions) destination on a source.

:class:`SegmentClient` sits on :class:`~ksegcli.core.http.HttpClient` and adds
what Segment needs: the bearer token, ``{"data": …}`` unwrapping, cursor
paging, regions, and the alpha media type (with its 5-writes-a-minute budget)
for destination subscriptions ("mappings"). Segment's ``{"errors": [...]}``
answers become the tool's errors in HttpClient (message and field shown).

:func:`ensure_destination` plans and applies the destination and its five
mappings; :func:`destination_status` reports without writing. Both return a
:class:`DestinationResult`.

Facts are from API_NOTES §4 (C) unless marked (I).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from ksegcli.core import config, credentials
from ksegcli.errors import ApiError, AuthError, BadInputError, NetworkError, NotFoundError

if TYPE_CHECKING:
    from ksegcli.core.http import HttpClient
    from ksegcli.core.kameleoon import Site
    from ksegcli.core.session import Session

# --- regions (C) -------------------------------------------------------------------
REGION_HOSTS: dict[str, str] = {
    "us": config.SEGMENT_API.default,
    "eu": "https://eu1.api.segmentapis.com",
}
DEFAULT_REGION = "us"
PROFILE_REGION_KEY = "segment_region"

# --- endpoints and media types (C) -----------------------------------------------
SOURCES_PATH = "/sources"
DESTINATIONS_PATH = "/destinations"
DESTINATION_PATH = "/destinations/{id}"
SUBSCRIPTIONS_PATH = "/destinations/{id}/subscriptions"
SUBSCRIPTION_PATH = "/destinations/{id}/subscriptions/{sub}"
CATALOG_DESTINATION_PATH = "/catalog/destinations/{id}"
ALPHA_MEDIA_TYPE = "application/vnd.segment.v1alpha+json"
PAGE_COUNT = 100  # (I) pagination.count per page; Segment documents a maximum, we stay below

# --- the Kameleoon (Actions) destination (C) --------------------------------------
KAMELEOON_METADATA_ID = "652ea51a327a62b351aa12c0"
DESTINATION_NAME = "Kameleoon (Actions)"  # our default display name for a new destination
SETTING_API_KEY = "apiKey"
SETTING_SITECODE = "sitecode"


@dataclass(frozen=True)
class MappingSpec:
    """One mapping the integration needs: a trigger and the action that serves it.

    ``action_slugs`` are tried in order against the catalog's actions when no
    preset covers the trigger; action *ids* always come from the catalog.
    """

    key: str
    name: str
    trigger: str
    action_slugs: tuple[str, ...]


# track/page/identify/group come with Segment's presets; screen does not, although
# Kameleoon collects screen events: a logEvent mapping closes that gap (API_NOTES §4).
REQUIRED_MAPPINGS: tuple[MappingSpec, ...] = (
    MappingSpec("track", "Track Calls", 'type = "track"', ("logEvent",)),
    MappingSpec("page", "Page Calls", 'type = "page"', ("page", "logEvent")),
    MappingSpec("identify", "Identify Calls", 'type = "identify"', ("identify", "logEvent")),
    MappingSpec("group", "Group Calls", 'type = "group"', ("group", "logEvent")),
    MappingSpec("screen", "Screen Calls", 'type = "screen"', ("logEvent",)),
)


# --- region and client ---------------------------------------------------------------
def normalize_region(region: str) -> str:
    value = region.strip().lower()
    if value not in REGION_HOSTS:
        raise BadInputError(
            f"Unknown Segment region {region!r}.",
            hint=f"Use one of: {', '.join(REGION_HOSTS)}.",
        )
    return value


def resolve_region(session: Session, region: str | None = None) -> str:
    """``--region`` → profile ``segment_region`` → ``us``."""
    if region:
        return normalize_region(region)
    stored = session.profile.get(PROFILE_REGION_KEY)
    if stored:
        return normalize_region(stored)
    return DEFAULT_REGION


def segment_base_url(session: Session, region: str | None = None) -> str:
    """Where the Segment Public API is, in one place.

    ``KSEG_SEGMENT_API_URL`` (tests, sandboxes) wins; then an explicit
    ``--region``; then the profile's ``segment_api_url``; then its
    ``segment_region``; then the US host.
    """
    service = config.SEGMENT_API
    if region:
        region = normalize_region(region)
    if session.env.get(service.env):
        return config.base_url(service, session.profile, session.env)
    if region:
        return REGION_HOSTS[region]
    if session.profile.get(service.key):
        return config.base_url(service, session.profile, session.env)
    return REGION_HOSTS[resolve_region(session)]


class SegmentClient:
    """Authenticated access to the Segment Public API."""

    def __init__(self, http: HttpClient, *, alpha_writes: HttpClient | None = None) -> None:
        """``alpha_writes`` sends subscription writes: same host and token, but its own
        limiter (5 writes a minute), which a 429 on those writes also pauses."""
        self.http = http
        self.alpha_writes = alpha_writes or http

    # -- verbs ---------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        alpha: bool = False,
    ) -> Any:
        from ksegcli.core.http import response_json

        headers: dict[str, str] = {}
        if alpha:
            headers["Accept"] = f"{ALPHA_MEDIA_TYPE}, application/json"
            if body is not None:
                headers["Content-Type"] = ALPHA_MEDIA_TYPE
        http = self.alpha_writes if alpha and method != "GET" else self.http
        try:
            response = http.request(method, path, params=params, json_body=body, headers=headers)
        except AuthError as exc:
            hint = (
                "Check SEGMENT_API_TOKEN (or `--token-stdin`): the token must be valid for "
                "this workspace and region (EU workspaces: --region eu), with access to "
                "sources and destinations."
            )
            if alpha and getattr(exc, "status", None) == 403:
                hint = (
                    "Mappings use Segment's alpha Destination Subscriptions endpoints, which "
                    "need that feature on the workspace (ask Segment) and a token allowed to "
                    "edit destinations; or add the mappings in the Segment app."
                )
            raise AuthError(exc.message, hint=hint) from None
        payload = response_json(response)
        if isinstance(payload, dict) and isinstance(payload.get("errors"), list):
            from ksegcli.core.http import server_message

            raise ApiError(f"{self.http.label}: {server_message(response)}")
        if isinstance(payload, dict) and "data" in payload:
            return payload["data"]
        return payload

    def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, alpha: bool = False
    ) -> Any:
        return self._call("GET", path, params=params, alpha=alpha)

    def post(self, path: str, body: Any, *, alpha: bool = False) -> Any:
        return self._call("POST", path, body=body, alpha=alpha)

    def patch(self, path: str, body: Any, *, alpha: bool = False) -> Any:
        return self._call("PATCH", path, body=body, alpha=alpha)

    def paginate(
        self, path: str, key: str, *, alpha: bool = False, count: int = PAGE_COUNT
    ) -> Iterator[dict[str, Any]]:
        """Every item under ``data.<key>``, following ``pagination.next`` cursors."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {"pagination.count": count}
            if cursor:
                params["pagination.cursor"] = cursor
            data = self.get(path, params, alpha=alpha)
            if not isinstance(data, dict) or not isinstance(data.get(key), list):
                raise ApiError(f"Unexpected answer to GET {path}: no {key!r} list.")
            from ksegcli.core.parse import SegmentItem, convert

            for n, item in enumerate(data[key]):
                convert(item, SegmentItem, f"GET {path}", where=f"$.data.{key}[{n}]")
                if not item["id"]:
                    raise ApiError(f"GET {path} answered an item with an empty id.")
                yield item
            pagination = data.get("pagination")
            nxt = pagination.get("next") if isinstance(pagination, dict) else None
            if not nxt or not isinstance(nxt, str) or nxt in seen:
                return
            seen.add(nxt)
            cursor = nxt

    # -- resources -------------------------------------------------------------------
    def list_sources(self) -> list[dict[str, Any]]:
        return list(self.paginate(SOURCES_PATH, "sources"))

    def get_source(self, source_id: str) -> dict[str, Any]:
        """The source with this id, from the (paged) list: one code path for every workspace."""
        for source in self.paginate(SOURCES_PATH, "sources"):
            if source.get("id") == source_id:
                return source
        raise NotFoundError(
            f"No Segment source {source_id!r} in this workspace.",
            hint="Run `ksegcli segment sources list` to find the source id "
            "(and check the region: EU workspaces need --region eu).",
        )

    def list_destinations(self) -> list[dict[str, Any]]:
        return list(self.paginate(DESTINATIONS_PATH, "destinations"))

    def destination_metadata(self, metadata_id: str = KAMELEOON_METADATA_ID) -> dict[str, Any]:
        data = self.get(CATALOG_DESTINATION_PATH.format(id=metadata_id))
        meta = data.get("destinationMetadata") if isinstance(data, dict) else None
        if not isinstance(meta, dict):
            raise ApiError(f"Unexpected catalog answer for {metadata_id}: no destinationMetadata.")
        return meta

    def create_destination(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return _unwrap(self.post(DESTINATIONS_PATH, dict(body)), "destination")

    def update_destination(self, destination_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return _unwrap(
            self.patch(DESTINATION_PATH.format(id=destination_id), dict(body)), "destination"
        )

    def list_subscriptions(self, destination_id: str) -> list[dict[str, Any]]:
        return list(
            self.paginate(SUBSCRIPTIONS_PATH.format(id=destination_id), "subscriptions", alpha=True)
        )

    def create_subscription(self, destination_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        # The create answer is data.destinationSubscription (get/update: data.subscription).
        return _unwrap(
            self.post(SUBSCRIPTIONS_PATH.format(id=destination_id), dict(body), alpha=True),
            "destinationSubscription",
            "subscription",
        )

    def update_subscription(
        self, destination_id: str, subscription_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        return _unwrap(
            # UpdateSubscriptionForDestinationAlphaInput wraps the changes in "input".
            self.patch(
                SUBSCRIPTION_PATH.format(id=destination_id, sub=subscription_id),
                {"input": dict(body)},
                alpha=True,
            ),
            "subscription",
        )


def _unwrap(data: Any, *keys: str) -> dict[str, Any]:
    if isinstance(data, dict):
        for key in keys:
            if isinstance(data.get(key), dict):
                return dict(data[key])
        return dict(data)
    raise ApiError(f"Unexpected answer from the Segment Public API: no {keys[0]}.")


def segment_client(
    session: Session, *, region: str | None = None, token: str | None = None
) -> SegmentClient:
    """A client for the profile's (or ``region``'s) Segment host, token flag → env → keyring."""
    from ksegcli.core.http import RateLimiter

    found = session.credentials.require(credentials.SEGMENT_TOKEN, token)
    value = found.value
    base = segment_base_url(session, region)

    def auth() -> dict[str, str]:
        return {"Authorization": f"Bearer {value}"}

    limit, window = config.segment_write_limit(session.env)
    return SegmentClient(
        session.http(config.SEGMENT_API, base_url=base, auth_header=auth),
        alpha_writes=session.http(
            config.SEGMENT_API,
            base_url=base,
            auth_header=auth,
            limiter=RateLimiter(limit, window),
        ),
    )


# --- planning ----------------------------------------------------------------------------
_TRIGGER_SPACES = re.compile(r"\s*(!=|=)\s*")


def normalize_trigger(trigger: str) -> str:
    """Compare FQL triggers loosely: quotes and spacing do not matter."""
    text = trigger.replace("'", '"').strip()
    text = _TRIGGER_SPACES.sub(r" \1 ", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class PlannedMapping:
    spec: MappingSpec
    action_id: str
    action_slug: str
    settings: dict[str, Any]

    def body(self) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "actionId": self.action_id,
            "trigger": self.spec.trigger,
            "enabled": True,
            "settings": self.settings,
        }


def plan_mappings(metadata: Mapping[str, Any]) -> list[PlannedMapping]:
    """Action id and settings for each required mapping, from the catalog.

    A preset with the same trigger wins (its action and field mappings); else
    the first action whose slug the spec names, with the settings of a preset
    using that action, or the action's field defaults.
    """
    actions = [a for a in metadata.get("actions") or [] if isinstance(a, dict)]
    presets = [p for p in metadata.get("presets") or [] if isinstance(p, dict)]
    by_slug = {str(a.get("slug")): a for a in actions if a.get("id")}
    by_id = {str(a.get("id")): a for a in actions if a.get("id")}
    planned: list[PlannedMapping] = []
    missing: list[str] = []
    for spec in REQUIRED_MAPPINGS:
        preset = next(
            (
                p
                for p in presets
                if normalize_trigger(str(p.get("trigger") or "")) == normalize_trigger(spec.trigger)
                and str(p.get("actionId")) in by_id
            ),
            None,
        )
        if preset is not None:
            action = by_id[str(preset["actionId"])]
            settings = dict(preset.get("fields") or {})
        else:
            slug = next((s for s in spec.action_slugs if s in by_slug), None)
            if slug is None:
                missing.append(spec.key)
                continue
            action = by_slug[slug]
            same_action = next(
                (p for p in presets if str(p.get("actionId")) == str(action["id"])), None
            )
            settings = (
                dict(same_action.get("fields") or {})
                if same_action is not None
                else _field_defaults(action)
            )
        planned.append(PlannedMapping(spec, str(action["id"]), str(action.get("slug")), settings))
    if missing:
        raise ApiError(
            f"The Segment catalog for {metadata.get('name') or KAMELEOON_METADATA_ID} offers no "
            f"action for: {', '.join(missing)}.",
            hint="Segment may have changed the destination; map these events in the Segment app.",
        )
    return planned


def _field_defaults(action: Mapping[str, Any]) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for item in action.get("fields") or []:
        if isinstance(item, dict) and item.get("fieldKey") and item.get("defaultValue") is not None:
            defaults[str(item["fieldKey"])] = item["defaultValue"]
    return defaults


MappingState = Literal["ok", "missing", "different", "created", "updated", "planned"]


@dataclass
class MappingStatus:
    key: str
    name: str
    trigger: str
    action_slug: str
    state: MappingState
    subscription_id: str | None = None
    differences: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "mapping": self.key,
            "name": self.name,
            "trigger": self.trigger,
            "action": self.action_slug,
            "state": self.state,
            "subscription_id": self.subscription_id,
            "differences": self.differences,
        }


@dataclass(frozen=True)
class Change:
    """One write: planned (dry run or waiting for --update) or done."""

    method: str
    path: str
    what: str
    body: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "what": self.what, "body": self.body}


DestinationState = Literal["missing", "in_sync", "different", "created", "updated", "planned"]


@dataclass
class DestinationResult:
    source_id: str
    region: str
    sitecode: str
    state: DestinationState
    destination_id: str | None = None
    destination_name: str | None = None
    enabled: bool | None = None
    differences: list[str] = field(default_factory=list)
    mappings: list[MappingStatus] = field(default_factory=list)
    applied: list[Change] = field(default_factory=list)
    pending: list[Change] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    dry_run: bool = False
    api_key_compared: bool = False  # False when no key was given or Segment masks it

    @property
    def in_sync(self) -> bool:
        """Everything as wanted now (after any writes this run made)."""
        return (
            self.state in ("in_sync", "created", "updated")
            and not self.differences
            and all(m.state in ("ok", "created", "updated") for m in self.mappings)
        )

    @property
    def changed(self) -> bool:
        return bool(self.applied)

    def to_json(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "region": self.region,
            "sitecode": self.sitecode,
            "state": self.state,
            "in_sync": self.in_sync,
            "destination_id": self.destination_id,
            "destination_name": self.destination_name,
            "enabled": self.enabled,
            "differences": self.differences,
            "mappings": [m.to_json() for m in self.mappings],
            "changes": [c.to_json() for c in self.applied],
            "pending": [c.to_json() for c in self.pending],
            "duplicates": self.duplicates,
            "dry_run": self.dry_run,
            "api_key_compared": self.api_key_compared,
        }


def _masked(value: object) -> bool:
    """Segment may answer secret settings masked; such a value cannot be compared."""
    return isinstance(value, str) and bool(value) and set(value) <= set("*•x.")


def _is_kameleoon(destination: Mapping[str, Any]) -> bool:
    meta = destination.get("metadata")
    meta_id = meta.get("id") if isinstance(meta, dict) else destination.get("metadataId")
    return meta_id == KAMELEOON_METADATA_ID


def find_destinations(client: SegmentClient, source_id: str) -> list[dict[str, Any]]:
    """Kameleoon (Actions) destinations connected to the source."""
    return [
        d for d in client.list_destinations() if _is_kameleoon(d) and d.get("sourceId") == source_id
    ]


def settings_differences(
    destination: Mapping[str, Any], *, api_key: str | None, sitecode: str
) -> list[str]:
    """What differs from the wanted settings, in words (the key itself never appears)."""
    diffs: list[str] = []
    settings = destination.get("settings")
    settings = settings if isinstance(settings, dict) else {}
    current_code = settings.get(SETTING_SITECODE)
    if current_code != sitecode:
        diffs.append(f"sitecode is {current_code or 'not set'!s}, expected {sitecode}")
    current_key = settings.get(SETTING_API_KEY)
    if api_key is not None and not _masked(current_key) and current_key != api_key:
        diffs.append(
            "apiKey is not set" if not current_key else "apiKey differs from the expected key"
        )
    if destination.get("enabled") is not True:
        diffs.append("destination is disabled")
    return diffs


def _compare_mappings(
    planned: list[PlannedMapping], subscriptions: list[dict[str, Any]]
) -> list[tuple[PlannedMapping, MappingStatus, dict[str, Any] | None]]:
    rows: list[tuple[PlannedMapping, MappingStatus, dict[str, Any] | None]] = []
    for plan in planned:
        wanted = normalize_trigger(plan.spec.trigger)
        same_trigger = [
            s for s in subscriptions if normalize_trigger(str(s.get("trigger") or "")) == wanted
        ]
        exact = next(
            (s for s in same_trigger if s.get("actionId") == plan.action_id and s.get("enabled")),
            None,
        )
        status = MappingStatus(
            plan.spec.key, plan.spec.name, plan.spec.trigger, plan.action_slug, "ok"
        )
        if exact is not None:
            status.subscription_id = str(exact.get("id") or "") or None
            rows.append((plan, status, exact))
            continue
        if not same_trigger:
            status.state = "missing"
            rows.append((plan, status, None))
            continue
        current = same_trigger[0]
        status.state = "different"
        status.subscription_id = str(current.get("id") or "") or None
        if current.get("actionId") != plan.action_id:
            status.differences.append(
                f"uses action {current.get('actionSlug') or current.get('actionId')}, "
                f"expected {plan.action_slug}"
            )
        if not current.get("enabled"):
            status.differences.append("disabled")
        rows.append((plan, status, current))
    return rows


def _create_checked(
    create: Callable[[], dict[str, Any]],
    find: Callable[[], dict[str, Any] | None],
    session: Session,
) -> dict[str, Any]:
    """Create once, even when the answer is lost: a POST is not retried blindly (the
    server may have acted), so look for the thing first and repeat only if it is absent."""
    try:
        return create()
    except (NetworkError, ApiError) as exc:
        if isinstance(exc, ApiError) and (exc.status is None or exc.status < 500):
            raise
        if session.log:
            session.log(f"  the answer was lost ({exc.message}); checking before a retry")
        found = find()
        if found is not None:
            return found
        return create()


def _find_subscription(
    client: SegmentClient, destination_id: str, plan: PlannedMapping
) -> dict[str, Any] | None:
    wanted = normalize_trigger(plan.spec.trigger)
    return next(
        (
            s
            for s in client.list_subscriptions(destination_id)
            if normalize_trigger(str(s.get("trigger") or "")) == wanted
            and s.get("actionId") == plan.action_id
        ),
        None,
    )


def destination_status(
    session: Session,
    source_id: str,
    *,
    region: str | None,
    sitecode: str,
    api_key: str | None,
    token: str | None = None,
) -> DestinationResult:
    """What exists on the source, and what is missing or different. Writes nothing."""
    return _reconcile(
        session,
        source_id,
        region=region,
        sitecode=sitecode,
        api_key=api_key,
        update=False,
        dry_run=True,
        token=token,
        status_only=True,
    )


def ensure_destination(
    session: Session,
    source_id: str,
    *,
    region: str | None,
    sitecode: str,
    api_key: str,
    update: bool,
    dry_run: bool,
    token: str | None = None,
    client: SegmentClient | None = None,
) -> DestinationResult:
    """Find or create the Kameleoon (Actions) destination on ``source_id`` with this key and
    sitecode, enabled, and its five mappings. Idempotent: a rerun writes nothing.

    Missing things are created. Differences (settings, a mapping's action, disabled) are
    fixed only with ``update``; otherwise they are returned in ``pending``. ``dry_run``
    plans every write and sends none.
    """
    return _reconcile(
        session,
        source_id,
        region=region,
        sitecode=sitecode,
        api_key=api_key,
        update=update,
        dry_run=dry_run,
        token=token,
        client=client,
    )


def _reconcile(
    session: Session,
    source_id: str,
    *,
    region: str | None,
    sitecode: str,
    api_key: str | None,
    update: bool,
    dry_run: bool,
    token: str | None,
    client: SegmentClient | None = None,
    status_only: bool = False,
) -> DestinationResult:
    sitecode = config.validate_sitecode(sitecode)
    if api_key is not None:
        from ksegcli.core.apikey import decode_api_key

        decode_api_key(api_key)  # refuse a malformed key before any write
    client = client or segment_client(session, region=region, token=token)
    result = DestinationResult(
        source_id=source_id,
        region=resolve_region(session, region),
        sitecode=sitecode,
        state="missing",
        dry_run=dry_run and not status_only,
    )
    client.get_source(source_id)
    planned = plan_mappings(client.destination_metadata())
    found = find_destinations(client, source_id)
    wanted_settings = {SETTING_SITECODE: sitecode}
    if api_key is not None:
        wanted_settings[SETTING_API_KEY] = api_key
    destination: dict[str, Any] | None = None
    if found:
        scored = sorted(
            found,
            key=lambda d: len(settings_differences(d, api_key=api_key, sitecode=sitecode)),
        )
        destination = scored[0]
        result.duplicates = [str(d.get("id")) for d in scored[1:]]
    write = not dry_run and not status_only

    def do(change: Change, *, needs_update: bool) -> bool:
        """Record a write; True when it should be sent now."""
        if status_only:
            result.pending.append(change)
            return False
        if needs_update and not update:
            result.pending.append(change)
            return False
        if not write:
            result.pending.append(change)
            return False
        result.applied.append(change)
        return True

    if destination is None:
        body = {
            "sourceId": source_id,
            "metadataId": KAMELEOON_METADATA_ID,
            "name": DESTINATION_NAME,
            "enabled": True,
            "settings": wanted_settings,
        }
        change = Change("POST", DESTINATIONS_PATH, "create the destination", body)
        if api_key is None:  # status without a key: say it is missing, plan nothing secret
            result.pending.append(change)
        elif do(change, needs_update=False):
            destination = _create_checked(
                lambda: client.create_destination(body),
                lambda: next(iter(find_destinations(client, source_id)), None),
                session,
            )
            result.state = "created"
        else:
            result.state = "missing" if status_only else "planned"
        if destination is None:
            result.mappings = [
                MappingStatus(
                    p.spec.key,
                    p.spec.name,
                    p.spec.trigger,
                    p.action_slug,
                    "missing" if status_only else "planned",
                )
                for p in planned
            ]
            for p in planned:
                result.pending.append(
                    Change(
                        "POST", SUBSCRIPTIONS_PATH.format(id="<new>"), f"map {p.spec.key}", p.body()
                    )
                )
            return result
    else:
        result.state = "in_sync"
    destination_id = str(destination.get("id"))
    result.destination_id = destination_id
    result.destination_name = str(destination.get("name") or "") or None
    result.enabled = destination.get("enabled") is True or result.state == "created"

    current_settings = destination.get("settings")
    current_key = (
        current_settings.get(SETTING_API_KEY) if isinstance(current_settings, dict) else None
    )
    result.api_key_compared = api_key is not None and (
        result.state == "created" or not _masked(current_key)
    )
    if result.state == "in_sync":
        diffs = settings_differences(destination, api_key=api_key, sitecode=sitecode)
        if diffs:
            body = {"enabled": True, "settings": wanted_settings}
            change = Change(
                "PATCH", DESTINATION_PATH.format(id=destination_id), "fix the settings", body
            )
            if do(change, needs_update=True):
                updated = client.update_destination(destination_id, body)
                result.state = "updated"
                result.enabled = updated.get("enabled", True) is True
            else:
                result.state = "different"
                result.differences = diffs

    subscriptions = [] if result.state == "created" else client.list_subscriptions(destination_id)
    for plan, status, current in _compare_mappings(planned, subscriptions):
        path = SUBSCRIPTIONS_PATH.format(id=destination_id)
        if status.state == "missing":
            change = Change("POST", path, f"map {plan.spec.key}", plan.body())
            if do(change, needs_update=False):
                created = _create_checked(
                    partial(client.create_subscription, destination_id, plan.body()),
                    partial(_find_subscription, client, destination_id, plan),
                    session,
                )
                status.state = "created"
                status.subscription_id = str(created.get("id") or "") or None
            elif not status_only:
                status.state = "planned"
        elif status.state == "different" and current is not None:
            sub_path = SUBSCRIPTION_PATH.format(id=destination_id, sub=status.subscription_id)
            body = {"actionId": plan.action_id, "enabled": True}
            if current.get("actionId") != plan.action_id:
                body["settings"] = plan.settings
            change = Change("PATCH", sub_path, f"fix the {plan.spec.key} mapping", body)
            if do(change, needs_update=True):
                client.update_subscription(destination_id, str(status.subscription_id), body)
                status.state = "updated"
                status.differences = []
        result.mappings.append(status)
    if result.state == "in_sync" and any(
        m.state in ("missing", "different", "planned") for m in result.mappings
    ):
        result.state = "different"
    elif result.state == "in_sync" and result.applied:
        result.state = "updated"
    return result


@dataclass(frozen=True)
class SegmentLogin:
    profile: str
    region: str
    sources: int  # sources on the first page: proof that the token reads the workspace
    keyring_backend: str

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "region": self.region,
            "sources_seen": self.sources,
            "keyring": self.keyring_backend,
        }


def segment_login(session: Session, token: str, *, region: str | None) -> SegmentLogin:
    """Prove a Segment token (one page of sources), then keep it in the keyring, and the
    region in the profile when one is given."""
    from ksegcli.core.redact import register_secret

    register_secret(token)
    client = segment_client(session, region=region, token=token)
    data = client.get(SOURCES_PATH, {"pagination.count": 10})
    sources = data.get("sources") if isinstance(data, dict) else None
    session.keyring.set(session.profile_name, credentials.SEGMENT_TOKEN.name, token)
    if region:
        profile = session.profile
        profile.set(PROFILE_REGION_KEY, normalize_region(region))
        profile.save()
    return SegmentLogin(
        profile=session.profile_name,
        region=resolve_region(session, region),
        sources=len(sources) if isinstance(sources, list) else 0,
        keyring_backend=session.keyring.backend_name(),
    )


def verify_sitecode(session: Session, sitecode: str) -> Site | None:
    """The Kameleoon project with this sitecode, when client credentials are at hand (no
    prompt); None when they are not. Segment only checks a sitecode's length, so a typo
    would send every event nowhere: refuse it before writing."""
    cid = session.credentials.lookup(credentials.CLIENT_ID)
    secret = session.credentials.lookup(credentials.CLIENT_SECRET)
    if cid is None or secret is None:
        return None
    sites = session.kameleoon().list_sites()
    site = next((s for s in sites if s.code == sitecode), None)
    if site is None:
        raise NotFoundError(
            f"No Kameleoon project has the sitecode {sitecode} (these credentials reach "
            f"{len(sites)}).",
            hint="Run `ksegcli projects list` to see the sitecodes.",
        )
    return site


def destination_api_key(session: Session, flag_value: str | None = None) -> credentials.Credential:
    """The key the destination should hold: flag → KAMELEOON_API_KEY → keyring, else derived
    from the client id and secret (the key is their base64 JSON, API_NOTES §2)."""
    from ksegcli.core.apikey import derive_api_key
    from ksegcli.core.redact import register_secret
    from ksegcli.errors import NotLoggedInError

    creds = session.credentials
    found = creds.lookup(credentials.API_KEY, flag_value)
    if found is not None:
        return found
    cid = creds.lookup(credentials.CLIENT_ID)
    secret = creds.lookup(credentials.CLIENT_SECRET)
    if cid is None or secret is None:
        raise NotLoggedInError(
            "No Kameleoon API key for the Segment destination.",
            hint=f"Run `ksegcli auth getapikey` (keeps it in the keyring), set {config.ENV_API_KEY}, "
            "or give the client id and secret (`ksegcli auth login`) to derive it.",
        )
    key = derive_api_key(cid.value, secret.value)
    register_secret(key)
    return credentials.Credential(credentials.API_KEY, key, "derived")
