"""The Kameleoon (Actions) destination on a source, and its five mappings.

:func:`ensure_destination` plans and applies the destination and its five
mappings; :func:`destination_status` reports without writing. Both return a
:class:`DestinationResult`.

Facts are from API_NOTES §4 (C).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from ksegcli.core import config
from ksegcli.core.segment.client import (
    DESTINATION_PATH,
    DESTINATIONS_PATH,
    KAMELEOON_METADATA_ID,
    SUBSCRIPTION_PATH,
    SUBSCRIPTIONS_PATH,
    SegmentClient,
    segment_client,
)
from ksegcli.core.segment.mappings import PlannedMapping, normalize_trigger, plan_mappings
from ksegcli.core.segment.plan import (
    DESTINATION_NAME,
    SETTING_API_KEY,
    SETTING_SITECODE,
    _compare_mappings,
    _masked,
    find_destinations,
    settings_differences,
)
from ksegcli.core.segment.regions import resolve_region
from ksegcli.core.segment.result import Change, DestinationResult, MappingStatus
from ksegcli.errors import ApiError, NetworkError

if TYPE_CHECKING:
    from ksegcli.core.session import Session


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
