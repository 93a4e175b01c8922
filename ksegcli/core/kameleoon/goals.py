"""Goals the Segment integration created in Kameleoon.

Kameleoon turns each Segment event it receives into a custom goal (seed
article; docs/api-facts.md). The names follow one of two conventions (I):
``SegmentIO <eventType> – <eventName>`` (classic destination) and
``Segment.io – <eventName>`` (Actions destination). The dash is an en dash
in the documentation; we accept a hyphen or an em dash too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.client import Site
    from ksegcli.core.session import Session

# --- inferred (I) -------------------------------------------------------------------
GOALS_PATH = "/goals"
_DASH = r"\s*[–—-]\s*"
SEGMENT_GOAL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("classic", re.compile(rf"^SegmentIO\s+(?P<type>\S+){_DASH}(?P<event>.+?)\s*$")),
    ("actions", re.compile(rf"^Segment\.io{_DASH}(?P<event>.+?)\s*$")),
)


@dataclass(frozen=True)
class Goal:
    id: int
    name: str
    site_id: int
    sitecode: str
    type: str
    event: str | None  # set for goals the Segment integration created
    event_type: str | None
    convention: str | None  # "classic" | "actions" | None (not a Segment goal)

    @property
    def from_segment(self) -> bool:
        return self.convention is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "project_id": self.site_id,
            "sitecode": self.sitecode,
            "from_segment": self.from_segment,
            "event": self.event,
            "event_type": self.event_type,
            "convention": self.convention,
            "type": self.type,
        }


def parse_goal_name(name: str) -> tuple[str, str, str | None] | None:
    """(convention, event name, event type) when ``name`` is a Segment goal's name."""
    for convention, pattern in SEGMENT_GOAL_PATTERNS:
        match = pattern.match(name)
        if match:
            groups = match.groupdict()
            return convention, groups["event"], groups.get("type")
    return None


def list_goals(session: Session, sites: Sequence[Site], *, segment_only: bool) -> list[Goal]:
    """Goals of each project; with ``segment_only``, those named by the Segment integration."""
    from ksegcli.core.http.parse import GoalAnswer, convert

    client = session.kameleoon()
    found: list[Goal] = []
    for site in sites:
        for raw in client.paginate_filtered(GOALS_PATH, [("siteId", "EQUAL", [site.id])]):
            goal = convert(raw, GoalAnswer, f"GET {GOALS_PATH}")
            if (goal.siteId if goal.siteId is not None else site.id) != site.id:
                continue
            name = goal.name or ""
            parsed = parse_goal_name(name)
            if parsed is None and segment_only:
                continue
            convention, event, event_type = parsed or (None, None, None)
            found.append(
                Goal(
                    id=goal.id,
                    name=name,
                    site_id=site.id,
                    sitecode=site.code,
                    type=goal.type or "",
                    event=event,
                    event_type=event_type,
                    convention=convention,
                )
            )
    return found
