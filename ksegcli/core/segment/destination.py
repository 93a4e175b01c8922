"""The Kameleoon (Actions) destination on a source, and its five mappings: status and ensure.

Both follow the plan → execute pattern (:mod:`ksegcli.core.segment.plan`):
:func:`destination_status` is the plan; :func:`ensure_destination` with ``dry_run`` is
the plan rendered, without it the plan executed (:func:`execute`). All return a
:class:`~ksegcli.core.segment.result.DestinationResult`.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from ksegcli.core import config
from ksegcli.core.create_once import create_once
from ksegcli.core.kameleoon.apikey import decode_api_key
from ksegcli.core.segment.client import SUBSCRIPTIONS_PATH, SegmentClient, segment_client
from ksegcli.core.segment.mappings import PlannedMapping, normalize_trigger
from ksegcli.core.segment.plan import (
    DestinationPlan,
    find_destinations,
    plan_destination,
    read_destination,
)
from ksegcli.core.segment.regions import resolve_region
from ksegcli.core.segment.result import DestinationResult

if TYPE_CHECKING:
    from ksegcli.core.session import Session


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
    sitecode = _checked(sitecode, api_key)
    client = segment_client(session, region=region, token=token)
    return destination_plan(
        session, client, source_id, region=region, sitecode=sitecode, api_key=api_key
    ).report()


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
    sitecode = _checked(sitecode, api_key)
    client = client or segment_client(session, region=region, token=token)
    plan = destination_plan(
        session, client, source_id, region=region, sitecode=sitecode, api_key=api_key
    )
    if dry_run:
        return plan.report(dry_run=True)
    return execute(client, plan, update=update)


def destination_plan(
    session: Session,
    client: SegmentClient,
    source_id: str,
    *,
    region: str | None,
    sitecode: str,
    api_key: str | None,
) -> DestinationPlan:
    """Read what exists, then plan every write (none is sent)."""
    read = read_destination(client, source_id, sitecode=sitecode, api_key=api_key)
    return plan_destination(
        read,
        source_id=source_id,
        region=resolve_region(session, region),
        sitecode=sitecode,
        api_key=api_key,
    )


def _checked(sitecode: str, api_key: str | None) -> str:
    """The sitecode, normalised; a malformed sitecode or key is refused before any request."""
    sitecode = config.validate_sitecode(sitecode)
    if api_key is not None:
        decode_api_key(api_key)
    return sitecode


def execute(client: SegmentClient, plan: DestinationPlan, *, update: bool) -> DestinationResult:
    """Send the plan's writes in order. What is missing is added; what differs is fixed
    only with ``update``, else left in ``pending``. A create whose answer is lost is
    looked up before it is sent again (core/create_once.py). A failed write raises (the
    writes before it are done; a rerun plans only what is still missing)."""
    result = plan.found()
    destination_id = plan.destination_id
    mappings = {m.key: m for m in result.mappings}
    for write in plan.writes:
        if write.fix and not update:
            result.pending.append(write.change)
            continue
        change = write.change
        if write.kind == "create-destination":
            created, _ = create_once(
                client.http,
                partial(client.create_destination, change.body),
                lambda: next(iter(find_destinations(client, plan.source_id)), None),
            )
            destination_id = str(created.get("id"))
            result.state = "created"
            result.destination_id = destination_id
            result.destination_name = str(created.get("name") or "") or None
            result.enabled = True
            result.api_key_compared = True
        elif write.kind == "fix-destination":
            assert destination_id is not None
            updated = client.update_destination(destination_id, change.body)
            result.state = "updated"
            result.enabled = updated.get("enabled", True) is True
            result.differences = []
        elif write.kind == "create-mapping":
            assert destination_id is not None and write.mapping is not None
            change = replace(change, path=SUBSCRIPTIONS_PATH.format(id=destination_id))
            subscription, _ = create_once(
                client.alpha_writes,
                partial(client.create_subscription, destination_id, change.body),
                partial(_find_subscription, client, destination_id, write.mapping),
            )
            status = mappings[write.mapping.spec.key]
            status.state = "created"
            status.subscription_id = str(subscription.get("id") or "") or None
        else:  # fix-mapping
            assert destination_id is not None and write.mapping is not None
            client.update_subscription(destination_id, str(write.subscription_id), change.body)
            status = mappings[write.mapping.spec.key]
            status.state = "updated"
            status.differences = []
        result.applied.append(change)
    if result.state != "created":
        if result.pending:
            result.state = "different"
        elif result.applied:
            result.state = "updated"
    return result


def _find_subscription(
    client: SegmentClient, destination_id: str, mapping: PlannedMapping
) -> dict[str, Any] | None:
    wanted = normalize_trigger(mapping.spec.trigger)
    return next(
        (
            s
            for s in client.list_subscriptions(destination_id)
            if normalize_trigger(str(s.get("trigger") or "")) == wanted
            and s.get("actionId") == mapping.action_id
        ),
        None,
    )
