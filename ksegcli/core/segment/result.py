"""What a run found and did to the destination: per mapping and for the whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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
