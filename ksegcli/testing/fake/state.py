"""What the fake holds: its configuration, accounts, workspaces, the resources of
every service, the request records, and the base class that owns them.
"""

from __future__ import annotations

import copy
import random
import re
import string
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ksegcli.testing.fake.facts import CUSTOM_DATA_PER_SITE

JSONDict = dict[str, Any]

_BASE62 = string.digits + string.ascii_letters
_REDACTED = "***"

Service = str  # "oauth" | "automation" | "customers" | "data" | "segment" | "unknown"


@dataclass
class FakeConfig:
    """Behaviour of a FakeServer. Windows and expiries are multiplied by time_scale."""

    rate_limit: int = 50  # requests per rate_window per Kameleoon account; <= 0 disables
    rate_window: float = 10.0
    hourly_limit: int = 1000  # requests per hour per account; <= 0 disables
    time_scale: float = 1.0
    latency: float = 0.0  # absolute seconds slept per request (not scaled)
    token_ttl: int = 7200  # expires_in given out; tokens die after token_ttl * time_scale
    error_rate: float = 0.0  # chance of a 503 before anything is done
    drop_rate: float = 0.0  # chance, for a write, of committing then closing without answer
    seed: int = 0
    integration_tools_supported: bool = True
    site_patch_supported: bool = True  # False: PATCH /sites/{id} answers 405
    site_put_supported: bool = True  # False: PUT /sites/{id} answers 405
    sites_list_tracking_script: bool = True  # False: GET /sites items leave trackingScript out
    # False: no answer about a site carries trackingScript (list, GET one, byCode, writes).
    site_tracking_script: bool = True
    # Writes answered 2xx but not stored, as a server that ignores an unknown field would:
    # "integration-tools", "trackingScript" (PATCH and PUT of a site), "experiments",
    # "personalizations" (their trackingTools).
    ignore_writes: tuple[str, ...] = ()
    filter_in_supported: bool = True  # False: the IN operator is refused (EQUAL takes arrays)
    tools_without_settings: bool = False  # GET integration-tools items leave settings out
    # GET integration-tools answers {"integrationTools": [...]} instead of the bare array.
    integration_tools_wrapped: bool = False
    # Campaign kinds ("experiments", "personalizations") whose answers leave trackingTools out.
    hide_tracking_tools: tuple[str, ...] = ()
    # When set, GET getapikey answers this text (200, text/plain) instead of the key.
    getapikey_answer: str = ""
    segment_write_limit: int = 5  # subscription writes per window per workspace; <= 0 disables
    segment_write_window: float = 60.0
    fault_oauth: bool = False  # let random faults hit /oauth/token too
    log: bool = False  # one line per request on stderr
    custom_data_limit: int = CUSTOM_DATA_PER_SITE
    timeout_fault_seconds: float = 30.0  # how long a "timeout" fault hangs (or until stop)
    drop_methods: tuple[str, ...] = ("POST", "PUT", "PATCH")
    retry_after: str = ""  # when set, the Retry-After value of every 429 (any text, e.g. "inf")
    ignore_paging: bool = False  # Kameleoon lists answer the first page whatever `page` says
    trickle_interval: float = 1.0  # absolute seconds between bytes of a "trickle" answer
    huge_error_bytes: int = 2_000_000  # message length of a "huge_error" answer

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale


@dataclass
class RequestRecord:
    """One request the fake answered (admin calls are not recorded).

    status is 0 when the connection was closed without a response.
    """

    method: str
    path: str
    query: dict[str, str]
    status: int
    time: float
    account: str | None
    service: Service
    fault: str | None = None

    def to_json(self) -> JSONDict:
        return {
            "method": self.method,
            "path": self.path,
            "query": dict(self.query),
            "status": self.status,
            "time": self.time,
            "account": self.account,
            "service": self.service,
            "fault": self.fault,
        }


class _Window:
    """Sliding-window counter: at most `limit` hits in any `window` seconds."""

    def __init__(self) -> None:
        self.hits: deque[float] = deque()

    def wait_time(self, now: float, limit: int, window: float) -> float:
        """Seconds until one more hit fits (0 when it fits now)."""
        if limit <= 0:
            return 0.0
        while self.hits and self.hits[0] <= now - window:
            self.hits.popleft()
        if len(self.hits) < limit:
            return 0.0
        return self.hits[-limit] + window - now

    def add(self, now: float) -> None:
        self.hits.append(now)


@dataclass
class Account:
    """A Kameleoon account: API credentials and the account's rate-limit windows."""

    client_id: str
    client_secret: str = field(repr=False)
    burst: _Window = field(default_factory=_Window, repr=False)
    hourly: _Window = field(default_factory=_Window, repr=False)


@dataclass
class SegmentWorkspace:
    id: str
    token: str = field(repr=False)
    region: str = "us"
    writes: _Window = field(default_factory=_Window, repr=False)


@dataclass
class _Token:
    client_id: str
    expires_at: float


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    kind: str
    remaining: int


@dataclass
class FakeState:
    """Everything the fake holds. Read it while no request is in flight, or use
    the FakeServer helpers, which lock and copy."""

    accounts: dict[str, Account] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)
    sites: dict[int, JSONDict] = field(default_factory=dict)
    site_owner: dict[int, str] = field(default_factory=dict)
    integration_tools: dict[int, list[JSONDict]] = field(default_factory=dict)
    custom_datas: dict[int, JSONDict] = field(default_factory=dict)
    custom_data_next_index: dict[int, int] = field(default_factory=dict)
    goals: dict[int, JSONDict] = field(default_factory=dict)
    experiments: dict[int, JSONDict] = field(default_factory=dict)
    personalizations: dict[int, JSONDict] = field(default_factory=dict)
    remote_data: dict[str, dict[str, Any]] = field(default_factory=dict)
    workspaces: dict[str, SegmentWorkspace] = field(default_factory=dict)  # by token
    sources: dict[str, JSONDict] = field(default_factory=dict)
    destinations: dict[str, JSONDict] = field(default_factory=dict)
    subscriptions: dict[str, JSONDict] = field(default_factory=dict)
    # Distinct id ranges per resource, so a client that mixes ids up gets a 404.
    next_id: dict[str, int] = field(
        default_factory=lambda: {
            "site": 10001,
            "customData": 50001,
            "goal": 200001,
            "experiment": 300001,
            "personalization": 400001,
        }
    )

    def to_json(self) -> JSONDict:
        """A JSON-able copy, secrets redacted (used by GET /_fake/state)."""
        return copy.deepcopy(
            {
                "accounts": [
                    {"client_id": a.client_id, "client_secret": _REDACTED}
                    for a in self.accounts.values()
                ],
                "sites": [
                    {**s, "owner": self.site_owner.get(i)} for i, s in sorted(self.sites.items())
                ],
                "integration_tools": {str(k): v for k, v in self.integration_tools.items()},
                "custom_datas": _sorted_values(self.custom_datas),
                "goals": _sorted_values(self.goals),
                "experiments": _sorted_values(self.experiments),
                "personalizations": _sorted_values(self.personalizations),
                "remote_data": self.remote_data,
                "segment_workspaces": [
                    {"id": w.id, "region": w.region, "token": _REDACTED}
                    for w in self.workspaces.values()
                ],
                "segment_sources": list(self.sources.values()),
                "segment_destinations": [
                    _redact_destination(d) for d in self.destinations.values()
                ],
                "segment_subscriptions": list(self.subscriptions.values()),
            }
        )


def _sorted_values(items: Mapping[int, JSONDict]) -> list[JSONDict]:
    return [items[k] for k in sorted(items)]


def _redact_destination(dest: JSONDict) -> JSONDict:
    settings = dict(dest.get("settings") or {})
    if "apiKey" in settings:
        settings["apiKey"] = _REDACTED
    return {**dest, "settings": settings}


class _Store:
    """The configuration and state every part of the fake shares, and the lock that
    guards them; FakeServer sets them up. Ids and lookups used by several services."""

    _config: FakeConfig
    _state: FakeState
    _lock: threading.RLock
    _id_rng: random.Random

    # -- internals: ids and lookups (call with the lock held) ----------------
    def _site_items(self, items: dict[int, JSONDict], site_id: int | None) -> list[JSONDict]:
        with self._lock:
            return copy.deepcopy(
                [
                    item
                    for _, item in sorted(items.items())
                    if site_id is None or item["siteId"] == site_id
                ]
            )

    def _next_id(self, kind: str) -> int:
        value = self._state.next_id[kind]
        self._state.next_id[kind] = value + 1
        return value

    def _new_sitecode(self, taken: set[str]) -> str:
        alphabet = string.ascii_lowercase + string.digits
        while True:
            code = "".join(self._id_rng.choice(alphabet) for _ in range(10))
            if code not in taken:
                return code

    def _segment_id(self) -> str:
        return "".join(self._id_rng.choice(_BASE62) for _ in range(22))

    def _require_site(self, site_id: int) -> JSONDict:
        site = self._state.sites.get(site_id)
        if site is None:
            raise ValueError(f"no site {site_id}")
        return site
