"""The Segment destination's plan: read what exists, then decide every write, purely.

:func:`read_destination` reads the source, the catalog, the Kameleoon destinations on
the source and the mappings of the one closest to what is wanted;
:func:`plan_destination` turns that into a :class:`DestinationPlan`: what differs, and
the writes that would make it right, in the order they must be sent. ``destination
status`` is the plan (:meth:`DestinationPlan.report`), ``--dry-run`` the plan rendered,
and ``destination create`` the plan executed (:mod:`ksegcli.core.segment.destination`).

Facts are from docs/api-facts.md §4 (C).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from ksegcli.core.segment.client import (
    DESTINATION_PATH,
    DESTINATIONS_PATH,
    KAMELEOON_METADATA_ID,
    SUBSCRIPTION_PATH,
    SUBSCRIPTIONS_PATH,
)
from ksegcli.core.segment.mappings import PlannedMapping, normalize_trigger, plan_mappings
from ksegcli.core.segment.result import Change, DestinationResult, MappingStatus

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


def compare_mappings(
    planned: list[PlannedMapping], subscriptions: list[dict[str, Any]]
) -> list[tuple[PlannedMapping, MappingStatus, dict[str, Any] | None]]:
    """Each needed mapping against the destination's: ok, missing or different (and how),
    with the subscription it was compared with."""
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


# -- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DestinationRead:
    """What a run reads from Segment before it plans anything."""

    mappings: list[PlannedMapping]  # the five the integration needs, from the catalog
    destinations: list[dict[str, Any]]  # the Kameleoon ones on the source, the closest first
    subscriptions: list[dict[str, Any]]  # the mappings of the closest ([] when there is none)


def read_destination(
    client: SegmentClient, source_id: str, *, sitecode: str, api_key: str | None
) -> DestinationRead:
    """The source (NotFoundError when it is not in the workspace), the catalog's actions,
    the Kameleoon destinations on the source and the mappings of the closest one."""
    client.get_source(source_id)
    mappings = plan_mappings(client.destination_metadata())
    found = sorted(
        find_destinations(client, source_id),
        key=lambda d: len(settings_differences(d, api_key=api_key, sitecode=sitecode)),
    )
    subscriptions = client.list_subscriptions(str(found[0].get("id"))) if found else []
    return DestinationRead(mappings, found, subscriptions)


# -- planning -------------------------------------------------------------------------------

WriteKind = Literal["create-destination", "fix-destination", "create-mapping", "fix-mapping"]
#: Where a mapping of a destination not created yet goes, as a dry run shows it.
NEW_DESTINATION = "<new>"


@dataclass(frozen=True)
class Write:
    """One write of the plan, exactly as it will be sent (a mapping of a destination that
    does not exist yet is sent to the id the destination's create answers)."""

    kind: WriteKind
    change: Change
    mapping: PlannedMapping | None = None
    subscription_id: str | None = None

    @property
    def fix(self) -> bool:
        """Changes something that exists (sent only on request), rather than adding what is
        missing (always sent)."""
        return self.kind in ("fix-destination", "fix-mapping")


@dataclass(frozen=True)
class DestinationPlan:
    source_id: str
    region: str
    sitecode: str
    destination: dict[str, Any] | None  # the one kept; None: there is none yet
    duplicates: list[str]  # the ids of the other Kameleoon destinations on the source
    differences: list[str]  # of the destination's settings, in words
    mappings: list[MappingStatus]  # as read: ok, missing or different
    writes: list[Write]  # in the order they must be sent
    api_key_compared: bool  # False when no key was given or Segment masks it

    @property
    def destination_id(self) -> str | None:
        return None if self.destination is None else str(self.destination.get("id"))

    def found(self) -> DestinationResult:
        """What was read, as a result with no change listed."""
        destination = self.destination
        if destination is None:
            state: Literal["missing", "in_sync", "different"] = "missing"
        elif self.differences or any(m.state != "ok" for m in self.mappings):
            state = "different"
        else:
            state = "in_sync"
        return DestinationResult(
            source_id=self.source_id,
            region=self.region,
            sitecode=self.sitecode,
            state=state,
            destination_id=self.destination_id,
            destination_name=None
            if destination is None
            else str(destination.get("name") or "") or None,
            enabled=None if destination is None else destination.get("enabled") is True,
            differences=list(self.differences),
            mappings=[replace(m, differences=list(m.differences)) for m in self.mappings],
            duplicates=list(self.duplicates),
            api_key_compared=self.api_key_compared,
        )

    def report(self, *, dry_run: bool = False) -> DestinationResult:
        """The plan, nothing sent: every write pending. A status says what is "missing";
        a dry run says what a run would add is "planned"."""
        result = self.found()
        result.pending = [w.change for w in self.writes]
        if dry_run:
            result.dry_run = True
            if result.state == "missing":
                result.state = "planned"
            for mapping in result.mappings:
                if mapping.state == "missing":
                    mapping.state = "planned"
        return result


def plan_destination(
    read: DestinationRead,
    *,
    source_id: str,
    region: str,
    sitecode: str,
    api_key: str | None,
) -> DestinationPlan:
    """Every write that makes the source's destination hold this sitecode (and key, when
    given), enabled, with its five mappings. Without a key, a missing destination's create
    is planned without one (a status plans nothing secret)."""
    wanted: dict[str, Any] = {SETTING_SITECODE: sitecode}
    if api_key is not None:
        wanted[SETTING_API_KEY] = api_key
    if not read.destinations:
        body = {
            "sourceId": source_id,
            "metadataId": KAMELEOON_METADATA_ID,
            "name": DESTINATION_NAME,
            "enabled": True,
            "settings": wanted,
        }
        path = SUBSCRIPTIONS_PATH.format(id=NEW_DESTINATION)
        return DestinationPlan(
            source_id=source_id,
            region=region,
            sitecode=sitecode,
            destination=None,
            duplicates=[],
            differences=[],
            mappings=[
                MappingStatus(m.spec.key, m.spec.name, m.spec.trigger, m.action_slug, "missing")
                for m in read.mappings
            ],
            writes=[
                Write(
                    "create-destination",
                    Change("POST", DESTINATIONS_PATH, "create the destination", body),
                ),
                *(
                    Write("create-mapping", Change("POST", path, f"map {m.spec.key}", m.body()), m)
                    for m in read.mappings
                ),
            ],
            api_key_compared=False,
        )
    destination, *others = read.destinations
    destination_id = str(destination.get("id"))
    writes: list[Write] = []
    differences = settings_differences(destination, api_key=api_key, sitecode=sitecode)
    if differences:
        body = {"enabled": True, "settings": wanted}
        path = DESTINATION_PATH.format(id=destination_id)
        writes.append(Write("fix-destination", Change("PATCH", path, "fix the settings", body)))
    mappings: list[MappingStatus] = []
    for mapping, status, current in compare_mappings(read.mappings, read.subscriptions):
        mappings.append(status)
        if status.state == "missing":
            path = SUBSCRIPTIONS_PATH.format(id=destination_id)
            change = Change("POST", path, f"map {mapping.spec.key}", mapping.body())
            writes.append(Write("create-mapping", change, mapping))
        elif status.state == "different" and current is not None:
            path = SUBSCRIPTION_PATH.format(id=destination_id, sub=status.subscription_id)
            body = {"actionId": mapping.action_id, "enabled": True}
            if current.get("actionId") != mapping.action_id:
                body["settings"] = mapping.settings
            change = Change("PATCH", path, f"fix the {mapping.spec.key} mapping", body)
            writes.append(Write("fix-mapping", change, mapping, status.subscription_id))
    settings = destination.get("settings")
    current_key = settings.get(SETTING_API_KEY) if isinstance(settings, dict) else None
    return DestinationPlan(
        source_id=source_id,
        region=region,
        sitecode=sitecode,
        destination=destination,
        duplicates=[str(d.get("id")) for d in others],
        differences=differences,
        mappings=mappings,
        writes=writes,
        api_key_compared=api_key is not None and not _masked(current_key),
    )
