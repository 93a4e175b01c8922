"""The five mappings the Kameleoon (Actions) destination needs, planned from Segment's catalog.

Facts are from docs/api-facts.md §4 (C).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ksegcli.core.segment.client import KAMELEOON_METADATA_ID
from ksegcli.errors import ApiError


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
# Kameleoon collects screen events: a logEvent mapping closes that gap (docs/api-facts.md §4).
REQUIRED_MAPPINGS: tuple[MappingSpec, ...] = (
    MappingSpec("track", "Track Calls", 'type = "track"', ("logEvent",)),
    MappingSpec("page", "Page Calls", 'type = "page"', ("page", "logEvent")),
    MappingSpec("identify", "Identify Calls", 'type = "identify"', ("identify", "logEvent")),
    MappingSpec("group", "Group Calls", 'type = "group"', ("group", "logEvent")),
    MappingSpec("screen", "Screen Calls", 'type = "screen"', ("logEvent",)),
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
