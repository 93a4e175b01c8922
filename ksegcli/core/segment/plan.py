"""Reading the Kameleoon (Actions) destinations on a source, and comparing them with what
the integration needs.

Facts are from API_NOTES §4 (C).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ksegcli.core.segment.client import KAMELEOON_METADATA_ID
from ksegcli.core.segment.mappings import PlannedMapping, normalize_trigger
from ksegcli.core.segment.result import MappingStatus

if TYPE_CHECKING:
    from ksegcli.core.segment.client import SegmentClient

DESTINATION_NAME = "Kameleoon (Actions)"  # our default display name for a new destination
SETTING_API_KEY = "apiKey"
SETTING_SITECODE = "sitecode"


def _masked(value: object) -> bool:
    """Segment may answer secret settings masked; such a value cannot be compared."""
    return isinstance(value, str) and bool(value) and set(value) <= set("*•x.")


def is_kameleoon(destination: Mapping[str, Any]) -> bool:
    meta = destination.get("metadata")
    meta_id = meta.get("id") if isinstance(meta, dict) else destination.get("metadataId")
    return meta_id == KAMELEOON_METADATA_ID


def find_destinations(client: SegmentClient, source_id: str) -> list[dict[str, Any]]:
    """Kameleoon (Actions) destinations connected to the source."""
    return [
        d for d in client.list_destinations() if is_kameleoon(d) and d.get("sourceId") == source_id
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
