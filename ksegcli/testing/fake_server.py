"""A fake Kameleoon + Segment server for tests and for `ksegcli sandbox`.

One stdlib HTTP server answers the four services ksegcli talks to (Automation
API with its OAuth endpoint, the API-key service, the Data API and the Segment
Public API) on one port: their paths do not collide. It enforces the rules of
docs/api-facts.md (auth, rate limits, paging, validation, media types) so that a
client that breaks one fails here as it would against the real service, and it
can inject faults (5xx, 429, dropped connections, hangs) on demand or at random.

Every fact about the remote APIs that the fake relies on is in the block of
constants below, marked C (confirmed) or I (inferred), so that a correction is
a one-line change.

In a test::

    with FakeServer(FakeConfig(time_scale=0.1)) as srv:
        srv.add_account("id", "secret")
        site = srv.add_site("id", name="Shop")
        srv.inject("POST", r"^/custom-datas$", "drop_after_commit")
        ...  # point KSEG_*_URL at srv.url, run the client
        assert len(srv.custom_datas(site["id"])) == 1

As a sandbox (prints the KSEG_* variables and demo credentials)::

    python -m ksegcli.testing.fake_server --port 8787 --seed-demo [--time-scale 0.1]

Another process drives it through loopback-only admin endpoints:
GET /_fake/state, GET /_fake/requests[?since=N], GET|POST /_fake/config,
POST /_fake/inject {method, path, kind, count}, POST /_fake/reset,
POST /_fake/seed {...} (see FakeServer.seed), POST /_fake/expire-tokens.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import copy
import hashlib
import hmac
import ipaddress
import json
import math
import random
import re
import secrets
import signal
import socket
import string
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any, TextIO
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "FAULT_KINDS",
    "Account",
    "FakeConfig",
    "FakeServer",
    "FakeState",
    "RequestRecord",
    "SegmentWorkspace",
    "env_lines",
    "main",
    "serve",
]

JSONDict = dict[str, Any]

# ---------------------------------------------------------------------------
# Facts about the remote APIs (docs/api-facts.md). C = confirmed, I = inferred.
# ---------------------------------------------------------------------------
MAX_PER_PAGE = 200  # I: Kameleoon lists take perPage <= 200
DEFAULT_PER_PAGE = 200  # I: unknown; the brief picks the maximum
FILTER_OPERATORS = ("EQUAL", "NOT_EQUAL", "IN")  # I: Postman collections
CREATED_STATUS = 201  # I: Kameleoon POST answers; clients should accept any 2xx
DELETED_STATUS = 204  # I: Kameleoon DELETE answers, no body
SITE_TYPES = ("SITE", "SITE_JS", "SITE_SDK", "APPLICATION")  # I: kam-cli
# The sandbox's demo project and Segment source: the ones examples/account.toml names.
DEMO_SITECODE = "ABCDE12345"
DEMO_SOURCE_ID = "qQEHquLrjRDN9j1ByrChyn"
# I: "SEGMENT" is our reading; the others appear in community code and the UI.
INTEGRATION_TOOL_NAMES = (
    "SEGMENT",
    "GOOGLE_UNIVERSAL_ANALYTICS",
    "GOOGLE_ANALYTICS_4",
    "GOOGLE_TAG_MANAGER",
    "AMPLITUDE",
    "MIXPANEL",
    "HEAP",
    "PIANO",
    "AT_INTERNET",
    "ADOBE_OMNITURE",
    "CONTENTSQUARE",
    "TEALIUM",
    "CUSTOM_INTEGRATION",
)
CUSTOM_DATA_TYPES = ("UNIQUE", "LIST", "COUNT_LIST")  # I: kam-cli
CUSTOM_DATA_FORMATS = ("STRING", "NUMBER", "BOOLEAN")  # I
CUSTOM_DATA_METHODS = (
    "CLIENT",
    "CUSTOM_CODE",
    "GTM",
    "SDK",
    "TC",
    "TEALIUM",
    "ADOBE_ANALYTICS",
)  # I
CUSTOM_DATA_SCOPES = ("PAGE", "VISIT", "VISITOR")  # I
CUSTOM_DATA_PER_SITE = 255  # C: help.kameleoon.com
GOAL_TYPES = ("CUSTOM", "CLICK", "URL", "SCROLL", "TIME_SPENT", "PAGE_VIEWS")  # I
CAMPAIGN_STATUSES = ("DRAFT", "ACTIVE", "PAUSED", "STOPPED", "SCHEDULED", "ARCHIVED")  # I
MAX_REMOTE_DATA_KEYS = 100  # C: Data API /map/maps
KAMELEOON_METADATA_ID = "652ea51a327a62b351aa12c0"  # C: Segment catalog
SEGMENT_ALPHA_MEDIA_TYPE = "application/vnd.segment.v1alpha+json"  # C
SEGMENT_DEFAULT_PAGE_COUNT = 10  # I
SEGMENT_MAX_PAGE_COUNT = 200  # I
# C: action-destinations kameleoon/index.ts: four actions, presets for
# track/page/identify/group (screen is not mapped by default).
KAMELEOON_ACTIONS = (
    ("logEvent", "Log Event", 'type = "track"', "Track Calls"),
    ("page", "Page", 'type = "page"', "Page Calls"),
    ("identify", "Identify", 'type = "identify"', "Identify Calls"),
    ("group", "Group", 'type = "group"', "Group Calls"),
)
# ---------------------------------------------------------------------------

FAULT_KINDS = (
    "500",
    "503",
    "429",
    "403",
    "drop_before",
    "drop_after_commit",
    "timeout",
    "trickle",  # the normal answer, its body sent one byte every trickle_interval seconds
    "huge_error",  # a 400 whose message is huge_error_bytes long
    "500_after_commit",  # the request is carried out, then answered 500
)
_ADMIN_PREFIX = "/_fake/"
_MAX_BODY = 10 * 1024 * 1024
_BASE62 = string.digits + string.ascii_letters
_REDACTED = "***"
# Query parameters that carry secrets: never stored in request records.
_SECRET_PARAMS = frozenset({"secret", "client_secret", "apiKey", "access_token"})

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


class ApiError(ValueError):
    """An error answer; each service renders it in its own shape. A ValueError,
    so the Python seeding helpers raise what callers expect."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        error_type: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.error_type = error_type
        self.headers = list(headers)


@dataclass
class _Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    trickle: float = 0.0  # > 0: send the body one byte every `trickle` seconds


def _json_response(status: int, obj: Any, headers: Iterable[tuple[str, str]] = ()) -> _Response:
    return _Response(status, json.dumps(obj).encode("utf-8"), "application/json", list(headers))


@dataclass
class _Call:
    """One parsed request, as the handlers see it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    client_ip: str
    params: dict[str, str] = field(default_factory=dict)
    account: Account | None = None
    workspace: SegmentWorkspace | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def media_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    def json_body(self) -> Any:
        if not self.body:
            raise ApiError(400, "Required request body is missing")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "Malformed JSON request body") from None


Handler = Callable[[_Call], _Response]


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    service: Service
    handler: Handler


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _retry_after(seconds: float) -> str:
    """Retry-After value, rounded up so a client that obeys it is never early."""
    if seconds >= 1 or seconds <= 0:
        return str(max(1, math.ceil(seconds)))
    return f"{math.ceil(seconds * 100) / 100:.2f}"


def _norm(value: Any) -> str:
    """Comparable text for filter matching (ids may come as numbers or strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---------------------------------------------------------------------------
# Field validation for Kameleoon bodies: (kind, allowed values) per field.
# ---------------------------------------------------------------------------
_FieldSpec = tuple[str, tuple[str, ...]]

_CUSTOM_DATA_SPEC: dict[str, _FieldSpec] = {
    "name": ("name", ()),
    "siteId": ("int", ()),
    "description": ("str", ()),
    "type": ("enum", CUSTOM_DATA_TYPES),
    "format": ("enum", CUSTOM_DATA_FORMATS),
    "method": ("enum", CUSTOM_DATA_METHODS),
    "customEvalCode": ("str?", ()),
    "scope": ("enum", CUSTOM_DATA_SCOPES),
    "isLocalOnly": ("bool", ()),
    "isConstant": ("bool", ()),
}
_CUSTOM_DATA_REQUIRED = ("name", "siteId", "type", "format", "method")
_CUSTOM_DATA_DEFAULTS: JSONDict = {
    "description": "",
    "customEvalCode": None,
    "scope": "VISITOR",
    "isLocalOnly": False,
    "isConstant": False,
}
_GOAL_SPEC: dict[str, _FieldSpec] = {
    "name": ("name", ()),
    "siteId": ("int", ()),
    "type": ("enum", GOAL_TYPES),
    "hasMultipleConversions": ("bool", ()),
    "description": ("str", ()),
}
_SITE_PATCH_SPEC: dict[str, _FieldSpec] = {
    "name": ("name", ()),
    "url": ("str", ()),
    "type": ("enum", SITE_TYPES),
    "trackingScript": ("str?", ()),
    "description": ("str", ()),
}
_CAMPAIGN_PATCH_SPEC: dict[str, _FieldSpec] = {
    "name": ("name", ()),
    "description": ("str", ()),
    "tags": ("list", ()),
    "trackingTools": ("list", ()),
    "goals": ("list", ()),
    "mainGoalId": ("int?", ()),
}


def _validate(body: Any, spec: Mapping[str, _FieldSpec], required: Sequence[str] = ()) -> JSONDict:
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object")
    for key in body:
        if key not in spec:
            raise ApiError(400, f"Unrecognized field '{key}'", field=key)
    for key in required:
        if body.get(key) is None:
            raise ApiError(400, f"Field '{key}' is required", field=key)
    for key, value in body.items():
        kind, allowed = spec[key]
        ok = {
            "name": isinstance(value, str) and value.strip() != "",
            "str": isinstance(value, str),
            "str?": value is None or isinstance(value, str),
            "int": _is_int(value),
            "int?": value is None or _is_int(value),
            "bool": isinstance(value, bool),
            "list": isinstance(value, list),
            "enum": value in allowed,
        }[kind]
        if not ok:
            expected = {
                "name": "a non-empty string",
                "str": "a string",
                "str?": "a string or null",
                "int": "an integer",
                "int?": "an integer or null",
                "bool": "a boolean",
                "list": "an array",
                "enum": "one of " + ", ".join(allowed),
            }[kind]
            raise ApiError(400, f"Field '{key}' must be {expected}", field=key)
    return body


class _ThreadingServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeServer) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real clients expect
    # Headers and body go out in separate writes; with Nagle on, a keep-alive
    # client waits ~40 ms for the delayed ACK on every request.
    disable_nagle_algorithm = True
    server_version = "ksegcli-fake/1"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        srv = self._srv()
        with srv.connections_lock:
            srv.connections.add(self.connection)

    def finish(self) -> None:
        srv = self._srv()
        with srv.connections_lock:
            srv.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _srv(self) -> _ThreadingServer:
        assert isinstance(self.server, _ThreadingServer)
        return self.server

    def _dispatch(self) -> None:
        self._srv().fake._serve_http(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        if self._srv().fake.config.log:
            super().log_message(format, *args)


class FakeServer:
    """The fake services; see the module docstring. Use as a context manager or
    call start() / stop()."""

    def __init__(
        self, config: FakeConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._config = config or FakeConfig()
        self._host = host
        self._port = port
        self._lock = threading.RLock()
        self._state = FakeState()
        self._requests: list[RequestRecord] = []
        self._faults: list[_Fault] = []
        # serve_body(): canned answers that replace the next matching requests' own.
        self._bodies: list[tuple[str, re.Pattern[str], _Response, list[int]]] = []
        self._fault_rng = random.Random(self._config.seed)
        # Ids and sitecodes from their own RNG, so fault draws do not shift them.
        self._id_rng = random.Random(f"ids-{self._config.seed}")
        self._stopping = threading.Event()
        self._httpd: _ThreadingServer | None = None
        self._thread: threading.Thread | None = None
        self._routes = self._build_routes()

    # -- lifecycle ---------------------------------------------------------
    @property
    def config(self) -> FakeConfig:
        return self._config

    @property
    def state(self) -> FakeState:
        return self._state

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("FakeServer is not started")
        port = self._httpd.server_address[1]
        host = "127.0.0.1" if self._host in ("", "0.0.0.0") else self._host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeServer is not started")
        return int(self._httpd.server_address[1])

    def start(self) -> FakeServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _ThreadingServer((self._host, self._port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="ksegcli-fake-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes "timeout" faults
        httpd.shutdown()
        httpd.server_close()
        # Keep-alive connections would otherwise linger in their threads.
        with httpd.connections_lock:
            open_connections = list(httpd.connections)
        for conn in open_connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def serve_forever(self) -> None:
        """Start if needed and block until stop() (from another thread) or Ctrl-C."""
        self.start()
        try:
            while not self._stopping.wait(0.2):
                pass
        finally:
            self.stop()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- configuration, faults, records ------------------------------------
    def configure(self, **changes: Any) -> FakeConfig:
        """Change config fields at run time (type-checked against FakeConfig)."""
        known = {f.name: f for f in fields(FakeConfig)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown config field {name!r}")
            current = getattr(self._config, name)
            if isinstance(current, bool) != isinstance(value, bool):
                raise ValueError(f"config field {name!r} must be a boolean")
            if isinstance(current, float) and _is_int(value):
                value = float(value)
            if isinstance(current, tuple) and isinstance(value, list):
                value = tuple(value)
            if type(value) is not type(current):
                raise ValueError(f"config field {name!r} must be {type(current).__name__}")
        with self._lock:
            self._config = replace(self._config, **changes)
            if "seed" in changes:
                self._fault_rng = random.Random(self._config.seed)
        return self._config

    def inject(self, method: str, path_regex: str, kind: str, count: int = 1) -> None:
        """Make the next `count` requests matching method ("*" for any) and
        path_regex (re.search on the path) fail with `kind` (see FAULT_KINDS)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._faults.append(_Fault(method.upper(), re.compile(path_regex), kind, count))

    def serve_body(
        self,
        method: str,
        path_regex: str,
        body: bytes | str,
        *,
        status: int = 200,
        content_type: str = "application/json",
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` requests matching method ("*" for any) and path_regex
        with exactly ``body`` (a hostile or malformed answer), after authenticating them.
        Nothing is done on the server's side: the route's handler is not run."""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        with self._lock:
            self._bodies.append(
                (
                    method.upper(),
                    re.compile(path_regex),
                    _Response(status, raw, content_type),
                    [count],
                )
            )

    def _take_body(self, method: str, path: str) -> _Response | None:
        for entry in self._bodies:
            wanted, pattern, response, left = entry
            if wanted in ("*", method) and pattern.search(path):
                left[0] -= 1
                if left[0] <= 0:
                    self._bodies.remove(entry)
                return response
        return None

    def pending_faults(self) -> int:
        """How many injected faults are still to be served: a test sees a hung request
        arrive (a "timeout" fault is taken on arrival, recorded only when it ends)."""
        with self._lock:
            return sum(fault.remaining for fault in self._faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the request records, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def reset(self) -> None:
        """Forget all state, records and pending faults (config is kept)."""
        with self._lock:
            self._state = FakeState()
            self._requests.clear()
            self._faults.clear()
            self._bodies.clear()
            self._fault_rng = random.Random(self._config.seed)
            self._id_rng = random.Random(f"ids-{self._config.seed}")

    def expire_tokens(self) -> None:
        """Make every issued access token expired (to test a client's re-login)."""
        with self._lock:
            for token in self._state.tokens.values():
                token.expires_at = 0.0

    # -- seeding -----------------------------------------------------------
    def add_account(self, client_id: str, client_secret: str) -> Account:
        with self._lock:
            if client_id in self._state.accounts:
                raise ValueError(f"account {client_id!r} exists")
            account = Account(client_id, client_secret)
            self._state.accounts[client_id] = account
            return account

    def add_site(
        self,
        client_id: str,
        name: str = "My site",
        url: str = "https://www.example.com",
        code: str | None = None,
        type: str = "SITE",  # the API's field name
        tracking_script: str = "",
    ) -> JSONDict:
        with self._lock:
            if client_id not in self._state.accounts:
                raise ValueError(f"no account {client_id!r}")
            codes = {s["code"] for s in self._state.sites.values()}
            if code is None:
                code = self._new_sitecode(codes)
            elif code in codes:
                raise ValueError(f"sitecode {code!r} is taken")
            site_id = self._next_id("site")
            site = {
                "id": site_id,
                "name": name,
                "url": url,
                "code": code,
                "type": type,
                "trackingScript": tracking_script,
                "dateCreated": _now_iso(),
            }
            self._state.sites[site_id] = site
            self._state.site_owner[site_id] = client_id
            self._state.integration_tools[site_id] = []
            return copy.deepcopy(site)

    def add_custom_data(self, site_id: int, name: str, **fields_: Any) -> JSONDict:
        """Create a custom data point directly (bypasses the 255 limit check)."""
        body: JSONDict = {
            "name": name,
            "siteId": site_id,
            "type": "UNIQUE",
            "format": "STRING",
            "method": "CLIENT",
            **fields_,
        }
        with self._lock:
            self._require_site(site_id)
            return copy.deepcopy(self._insert_custom_data(_validate(body, _CUSTOM_DATA_SPEC)))

    def add_goal(
        self,
        site_id: int,
        name: str,
        type: str = "CUSTOM",  # the API's field name
        has_multiple_conversions: bool = True,
    ) -> JSONDict:
        with self._lock:
            self._require_site(site_id)
            return copy.deepcopy(
                self._insert_goal(
                    {
                        "name": name,
                        "siteId": site_id,
                        "type": type,
                        "hasMultipleConversions": has_multiple_conversions,
                    }
                )
            )

    def add_experiment(
        self,
        site_id: int,
        name: str,
        status: str = "ACTIVE",
        tracking_tools: Sequence[Mapping[str, Any]] = (),
        type: str = "CLASSIC",  # the API's field name
    ) -> JSONDict:
        return self._add_campaign("experiments", site_id, name, status, tracking_tools, type)

    def add_personalization(
        self,
        site_id: int,
        name: str,
        status: str = "ACTIVE",
        tracking_tools: Sequence[Mapping[str, Any]] = (),
    ) -> JSONDict:
        return self._add_campaign("personalizations", site_id, name, status, tracking_tools, None)

    def set_integration_tools(self, site_id: int, tools: Sequence[Mapping[str, Any]]) -> None:
        with self._lock:
            self._require_site(site_id)
            self._state.integration_tools[site_id] = self._check_tools(list(tools))

    def set_remote_data(self, sitecode: str, key: str, value: Any) -> None:
        with self._lock:
            self._state.remote_data.setdefault(sitecode, {})[key] = copy.deepcopy(value)

    def add_segment_workspace(self, token: str, region: str = "us") -> SegmentWorkspace:
        with self._lock:
            if token in self._state.workspaces:
                raise ValueError("a workspace with that token exists")
            workspace = SegmentWorkspace(self._segment_id(), token, region)
            self._state.workspaces[token] = workspace
            return workspace

    def add_segment_source(
        self, token: str, name: str, slug: str | None = None, source_id: str | None = None
    ) -> JSONDict:
        with self._lock:
            workspace = self._state.workspaces.get(token)
            if workspace is None:
                raise ValueError("no workspace with that token")
            if source_id is None:
                source_id = self._segment_id()
            elif source_id in self._state.sources:
                raise ValueError(f"source id {source_id!r} is taken")
            source = {
                "id": source_id,
                "slug": slug or re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_"),
                "name": name,
                "enabled": True,
                "workspaceId": workspace.id,
                "writeKeys": [self._segment_id()],
                "metadata": {
                    "id": "IqDTy1TpoU",
                    "slug": "javascript",
                    "name": "Javascript",
                    "categories": ["Website"],
                },
                "settings": {},
                "labels": [],
            }
            self._state.sources[source_id] = source
            return copy.deepcopy(source)

    def add_segment_destination(
        self,
        token: str,
        source_id: str,
        settings: Mapping[str, Any],
        name: str | None = None,
        enabled: bool = True,
        metadata_id: str = KAMELEOON_METADATA_ID,
    ) -> JSONDict:
        with self._lock:
            workspace = self._state.workspaces.get(token)
            if workspace is None:
                raise ValueError("no workspace with that token")
            body = {
                "sourceId": source_id,
                "metadataId": metadata_id,
                "settings": dict(settings),
                "enabled": enabled,
            }
            if name is not None:
                body["name"] = name
            return copy.deepcopy(self._insert_destination(workspace, body))

    def seed(self, data: Mapping[str, Any]) -> JSONDict:
        """Seed from a JSON-like document (the body of POST /_fake/seed).

        Keys, all optional: demo (bool), accounts [{client_id, client_secret}],
        sites [{client_id, name, url, code, type}], segment [{token, region,
        sources: [{name, slug}]}], remote_data [{siteCode, key, value}],
        custom_datas [{site_id, name, ...fields}], goals [{site_id, name, type}],
        experiments / personalizations [{site_id, name, status, tracking_tools}].
        """
        out: JSONDict = {}
        if data.get("demo"):
            out["demo"] = self.seed_demo()
        out["accounts"] = [
            self.add_account(a["client_id"], a["client_secret"]).client_id
            for a in data.get("accounts", [])
        ]
        out["sites"] = [
            self.add_site(
                s["client_id"],
                name=s.get("name", "My site"),
                url=s.get("url", "https://www.example.com"),
                code=s.get("code"),
                type=s.get("type", "SITE"),
            )
            for s in data.get("sites", [])
        ]
        out["segment"] = []
        for ws in data.get("segment", []):
            workspace = self.add_segment_workspace(ws["token"], ws.get("region", "us"))
            sources = [
                self.add_segment_source(ws["token"], s["name"], s.get("slug"))
                for s in ws.get("sources", [])
            ]
            out["segment"].append({"workspaceId": workspace.id, "sources": sources})
        for item in data.get("remote_data", []):
            self.set_remote_data(item["siteCode"], item["key"], item["value"])
        out["custom_datas"] = [
            self.add_custom_data(
                c["site_id"],
                c["name"],
                **{k: v for k, v in c.items() if k not in ("site_id", "name")},
            )
            for c in data.get("custom_datas", [])
        ]
        out["goals"] = [
            self.add_goal(g["site_id"], g["name"], g.get("type", "CUSTOM"))
            for g in data.get("goals", [])
        ]
        out["experiments"] = [
            self.add_experiment(
                e["site_id"], e["name"], e.get("status", "ACTIVE"), e.get("tracking_tools", ())
            )
            for e in data.get("experiments", [])
        ]
        out["personalizations"] = [
            self.add_personalization(
                p["site_id"], p["name"], p.get("status", "ACTIVE"), p.get("tracking_tools", ())
            )
            for p in data.get("personalizations", [])
        ]
        return out

    def seed_demo(self) -> JSONDict:
        """The sandbox's demo data: account demo-client/demo-secret with two
        sites, Segment token demo-segment-token with one source, some remote data."""
        self.add_account("demo-client", "demo-secret")
        # The project, the id and the source of examples/account.toml: the README's apply
        # example runs against the sandbox as written.
        shop = self.add_site(
            "demo-client", name="Demo shop", url="https://shop.example.com", code=DEMO_SITECODE
        )
        blog = self.add_site("demo-client", name="Demo blog", url="https://blog.example.com")
        self.add_goal(shop["id"], "Signup")
        self.add_experiment(
            shop["id"],
            "Homepage hero",
            tracking_tools=[{"name": "GOOGLE_ANALYTICS_4"}],
        )
        self.add_personalization(shop["id"], "Welcome back banner")
        self.add_segment_workspace("demo-segment-token")
        source = self.add_segment_source(
            "demo-segment-token", "Demo website", "demo_website", source_id=DEMO_SOURCE_ID
        )
        self.set_remote_data(shop["code"], "COHORTS_demo-user", {"big_spenders": True})
        self.set_remote_data(
            shop["code"], "IDENTIFY_demo-user", {"traits": {"plan": "pro"}, "groupId": "acme"}
        )
        self.set_remote_data(shop["code"], "common", {"cohorts": ["big_spenders"]})
        return {
            "client_id": "demo-client",
            "client_secret": "demo-secret",
            "sites": [shop, blog],
            "segment_token": "demo-segment-token",
            "segment_source": source,
        }

    # -- read helpers (locked copies) --------------------------------------
    def snapshot(self) -> JSONDict:
        with self._lock:
            return self._state.to_json()

    def sites(self, client_id: str | None = None) -> list[JSONDict]:
        with self._lock:
            return copy.deepcopy(
                [
                    s
                    for i, s in sorted(self._state.sites.items())
                    if client_id is None or self._state.site_owner[i] == client_id
                ]
            )

    def integration_tools(self, site_id: int) -> list[JSONDict]:
        with self._lock:
            return copy.deepcopy(self._state.integration_tools.get(site_id, []))

    def custom_datas(self, site_id: int | None = None) -> list[JSONDict]:
        return self._site_items(self._state.custom_datas, site_id)

    def goals(self, site_id: int | None = None) -> list[JSONDict]:
        return self._site_items(self._state.goals, site_id)

    def experiments(self, site_id: int | None = None) -> list[JSONDict]:
        return self._site_items(self._state.experiments, site_id)

    def personalizations(self, site_id: int | None = None) -> list[JSONDict]:
        return self._site_items(self._state.personalizations, site_id)

    def remote_data(self, sitecode: str, key: str) -> Any:
        with self._lock:
            return copy.deepcopy(self._state.remote_data.get(sitecode, {}).get(key))

    def segment_destinations(self, token: str | None = None) -> list[JSONDict]:
        with self._lock:
            ws_id = self._state.workspaces[token].id if token is not None else None
            return copy.deepcopy(
                [
                    d
                    for d in self._state.destinations.values()
                    if ws_id is None or d["workspaceId"] == ws_id
                ]
            )

    def segment_subscriptions(self, destination_id: str) -> list[JSONDict]:
        with self._lock:
            return copy.deepcopy(
                [
                    s
                    for s in self._state.subscriptions.values()
                    if s["destinationId"] == destination_id
                ]
            )

    def kameleoon_action_ids(self) -> dict[str, str]:
        """Catalog action ids of the Kameleoon destination, by action slug."""
        return {slug: _action_id(slug) for slug, *_ in KAMELEOON_ACTIONS}

    # -- internals: ids and inserts (call with the lock held) ----------------
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

    def _insert_custom_data(self, body: JSONDict) -> JSONDict:
        site_id = int(body["siteId"])
        index = self._state.custom_data_next_index.get(site_id, 0)
        self._state.custom_data_next_index[site_id] = index + 1
        item: JSONDict = {"id": self._next_id("customData"), "name": body["name"], "index": index}
        item.update({"siteId": site_id, **_CUSTOM_DATA_DEFAULTS})
        item.update(copy.deepcopy(body))
        self._state.custom_datas[item["id"]] = item
        return item

    def _insert_goal(self, body: JSONDict) -> JSONDict:
        item: JSONDict = {
            "id": self._next_id("goal"),
            "description": "",
            "hasMultipleConversions": False,
            "status": "ACTIVE",
            "dateCreated": _now_iso(),
        }
        item.update(copy.deepcopy(body))
        self._state.goals[item["id"]] = item
        return item

    def _add_campaign(
        self,
        kind: str,
        site_id: int,
        name: str,
        status: str,
        tracking_tools: Sequence[Mapping[str, Any]],
        type_: str | None,
    ) -> JSONDict:
        # Any case: one deploy script saw a personalization's status as lowercase "active".
        if status.upper() not in CAMPAIGN_STATUSES:
            raise ValueError(f"status must be one of {CAMPAIGN_STATUSES}")
        with self._lock:
            self._require_site(site_id)
            tools = self._check_tracking_tools([dict(t) for t in tracking_tools])
            item: JSONDict = {
                "id": self._next_id("experiment" if kind == "experiments" else "personalization"),
                "name": name,
                "siteId": site_id,
                "status": status,
                "description": "",
                "tags": [],
                "trackingTools": tools,
                "goals": [],
                "mainGoalId": None,
                "dateCreated": _now_iso(),
            }
            if type_ is not None:
                item["type"] = type_
            self._campaigns(kind)[item["id"]] = item
            return copy.deepcopy(item)

    def _campaigns(self, kind: str) -> dict[int, JSONDict]:
        return self._state.experiments if kind == "experiments" else self._state.personalizations

    # -- HTTP plumbing -----------------------------------------------------
    def _serve_http(self, h: _RequestHandler) -> None:
        parts = urlsplit(h.path)
        path = parts.path
        try:
            body = self._read_body(h)
        except ValueError as exc:
            self._write(h, _json_response(400, {"message": str(exc), "status": 400}))
            h.close_connection = True
            return
        call = _Call(
            method=h.command,
            path=path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in h.headers.items()},
            body=body,
            client_ip=h.client_address[0],
        )
        if path.startswith(_ADMIN_PREFIX):
            self._write(h, self._admin(call))
            return
        outcome = self._process(call)
        if outcome is None:
            h.close_connection = True  # no response at all: the client sees a dropped link
            return
        self._write(h, outcome)

    @staticmethod
    def _read_body(h: _RequestHandler) -> bytes:
        if (h.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > _MAX_BODY:
                    raise ValueError("request body too large")
                chunks.append(h.rfile.read(size))
                h.rfile.readline()
            return b"".join(chunks)
        length = int(h.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            raise ValueError("request body too large")
        return h.rfile.read(length) if length > 0 else b""

    @staticmethod
    def _write(h: _RequestHandler, resp: _Response) -> None:
        h.send_response(resp.status)
        if resp.status != 204:
            h.send_header("Content-Type", resp.content_type)
            h.send_header("Content-Length", str(len(resp.body)))
        for name, value in resp.headers:
            h.send_header(name, value)
        h.end_headers()
        if h.command != "HEAD" and resp.status != 204:
            if resp.trickle > 0:
                _trickle(h, resp.body, resp.trickle)
            else:
                h.wfile.write(resp.body)

    def _process(self, call: _Call) -> _Response | None:
        """Answer one API call; None means: close the connection without answering."""
        route, params, allowed = self._match(call)
        service = route.service if route else self._service_for(call.path)
        record = RequestRecord(
            method=call.method,
            path=call.path,
            query={k: (_REDACTED if k in _SECRET_PARAMS else v[-1]) for k, v in call.query.items()},
            status=0,
            time=time.time(),
            account=None,
            service=service,
        )
        cfg = self._config
        if cfg.latency > 0:
            time.sleep(cfg.latency)
        with self._lock:
            fault = self._take_fault(call.method, call.path)
            if fault is None and (service != "oauth" or cfg.fault_oauth):
                fault = self._random_fault(call.method)
        record.fault = fault
        if fault is not None and fault not in ("drop_after_commit", "500_after_commit"):
            with self._lock:
                self._identify(call, service)
        response: _Response | None
        if fault in ("drop_before", "timeout"):
            if fault == "timeout":
                self._stopping.wait(cfg.timeout_fault_seconds)
            response = None
        elif fault in ("500", "503", "429", "403", "huge_error"):
            response = self._fault_response(service, fault)
        else:
            try:
                if route is None:
                    if allowed:
                        raise ApiError(405, f"Request method '{call.method}' is not supported")
                    raise ApiError(404, f"No endpoint {call.method} {call.path}")
                call.params = params
                with self._lock:
                    self._authorize(call, service)
                    canned = self._take_body(call.method, call.path)
                    response = canned if canned is not None else route.handler(call)
            except ApiError as err:
                response = self._error_response(service, err)
            except Exception:  # a bug in the fake: say so rather than drop the link
                traceback.print_exc()
                response = self._error_response(service, ApiError(500, "fake server error"))
            if fault == "drop_after_commit":
                response = None
            elif fault == "500_after_commit":
                response = self._fault_response(service, "500")
            elif fault == "trickle" and response is not None:
                response.trickle = max(cfg.trickle_interval, 0.001)
                response.headers.append(("Connection", "close"))
        if call.account is not None:
            record.account = call.account.client_id
        elif call.workspace is not None:
            record.account = call.workspace.id
        record.status = response.status if response is not None else 0
        with self._lock:
            self._requests.append(record)
        if cfg.log:
            sys.stderr.write(
                f"fake {call.method} {call.path} -> {record.status}"
                + (f" [{fault}]" if fault else "")
                + "\n"
            )
        return response

    def _match(self, call: _Call) -> tuple[_Route | None, dict[str, str], bool]:
        """The route for the call, its path parameters, and whether the path exists."""
        path_known = False
        for route in self._routes:
            match = route.pattern.fullmatch(call.path)
            if match:
                if route.method == call.method or (call.method == "HEAD" and route.method == "GET"):
                    return route, match.groupdict(), True
                path_known = True
        return None, {}, path_known

    @staticmethod
    def _service_for(path: str) -> Service:
        first = path.strip("/").split("/")[0]
        if first in ("sources", "destinations", "catalog"):
            return "segment"
        return "unknown"

    def _take_fault(self, method: str, path: str) -> str | None:
        for fault in self._faults:
            if fault.method in ("*", method) and fault.pattern.search(path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault.kind
        return None

    def _random_fault(self, method: str) -> str | None:
        cfg = self._config
        if cfg.error_rate > 0 and self._fault_rng.random() < cfg.error_rate:
            return "503"
        if (
            method in cfg.drop_methods
            and cfg.drop_rate > 0
            and self._fault_rng.random() < cfg.drop_rate
        ):
            return "drop_after_commit"
        return None

    def _fault_response(self, service: Service, kind: str) -> _Response:
        if kind == "huge_error":
            text = "x" * self._config.huge_error_bytes
            return self._error_response(service, ApiError(400, text))
        if kind == "429":
            wait = self._config.retry_after or _retry_after(self._config.scaled(1.0))
            return self._error_response(
                service,
                ApiError(429, "Too many requests", headers=[("Retry-After", wait)]),
            )
        if kind == "500":
            return self._error_response(service, ApiError(500, "Internal server error"))
        if kind == "403":
            return self._error_response(service, ApiError(403, "Access denied"))
        return self._error_response(service, ApiError(503, "Service temporarily unavailable"))

    def _error_response(self, service: Service, err: ApiError) -> _Response:
        if service == "segment":
            item: JSONDict = {
                "type": err.error_type or _SEGMENT_ERROR_TYPES.get(err.status, "error"),
                "message": err.message,
                "status": err.status,
            }
            if err.field is not None:
                item["field"] = err.field
            return _json_response(err.status, {"errors": [item]}, err.headers)
        if service == "customers":
            return _Response(
                err.status, err.message.encode("utf-8"), "text/plain; charset=utf-8", err.headers
            )
        if service == "oauth" and err.error_type is not None:
            return _json_response(
                err.status,
                {"error": err.error_type, "error_description": err.message},
                err.headers,
            )
        body = {"message": err.message, "status": err.status}
        return _json_response(err.status, body, err.headers)

    def _authorize(self, call: _Call, service: Service) -> None:
        """Authenticate and rate-limit the call as its service does."""
        if service == "automation":
            call.account = self._bearer_account(call)
            self._check_rate(call.account)
        elif service == "segment":
            call.workspace = self._segment_workspace(call)

    def _identify(self, call: _Call, service: Service) -> None:
        """Note who is calling, without enforcing anything (for fault records)."""
        _, _, token = (call.header("Authorization") or "").partition(" ")
        if service == "automation" and token.strip() in self._state.tokens:
            entry = self._state.tokens[token.strip()]
            call.account = self._state.accounts.get(entry.client_id)
        elif service == "segment":
            call.workspace = self._state.workspaces.get(token.strip())

    def _bearer_account(self, call: _Call) -> Account:
        auth = call.header("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        challenge = [("WWW-Authenticate", 'Bearer realm="kameleoon"')]
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(
                401, "Full authentication is required to access this resource", headers=challenge
            )
        entry = self._state.tokens.get(token.strip())
        if entry is None:
            raise ApiError(401, "Invalid access token", headers=challenge)
        if entry.expires_at <= time.monotonic():
            # Also identify the account for the request record.
            call.account = self._state.accounts.get(entry.client_id)
            raise ApiError(401, "Access token expired", headers=challenge)
        account = self._state.accounts.get(entry.client_id)
        if account is None:
            raise ApiError(401, "Invalid access token", headers=challenge)
        return account

    def _check_rate(self, account: Account) -> None:
        cfg = self._config
        now = time.monotonic()
        wait = max(
            account.burst.wait_time(now, cfg.rate_limit, cfg.scaled(cfg.rate_window)),
            account.hourly.wait_time(now, cfg.hourly_limit, cfg.scaled(3600.0)),
        )
        if wait > 0:
            raise ApiError(
                429,
                f"Rate limit exceeded: {cfg.rate_limit} requests per {cfg.rate_window:g} s "
                f"and {cfg.hourly_limit} per hour",
                headers=[("Retry-After", _retry_after(wait))],
            )
        # A disabled limit keeps no history, so a long sandbox run stays small.
        if cfg.rate_limit > 0:
            account.burst.add(now)
        if cfg.hourly_limit > 0:
            account.hourly.add(now)

    # -- admin endpoints ---------------------------------------------------
    def _admin(self, call: _Call) -> _Response:
        try:
            if not ipaddress.ip_address(call.client_ip.split("%")[0]).is_loopback:
                raise ApiError(403, "admin endpoints answer loopback clients only")
            action = call.path[len(_ADMIN_PREFIX) :]
            if call.method == "GET" and action == "state":
                return _json_response(200, self.snapshot())
            if call.method == "GET" and action == "requests":
                since = call.arg("since")
                records = self.requests
                if since is not None:
                    if not since.isdigit():
                        raise ApiError(400, "since must be a record index")
                    records = records[int(since) :]
                return _json_response(200, [r.to_json() for r in records])
            if call.method == "GET" and action == "config":
                return _json_response(200, _config_json(self._config))
            if call.method == "POST":
                body = call.json_body() if call.body else {}
                if not isinstance(body, dict):
                    raise ApiError(400, "body must be a JSON object")
                return self._admin_post(action, body)
            raise ApiError(404, f"No admin endpoint {call.method} {call.path}")
        except ApiError as err:
            return _json_response(err.status, {"message": err.message, "status": err.status})
        except (KeyError, TypeError, ValueError, re.error) as exc:
            return _json_response(400, {"message": f"bad admin request: {exc}", "status": 400})

    def _admin_post(self, action: str, body: JSONDict) -> _Response:
        if action == "inject":
            self.inject(
                str(body.get("method", "*")),
                str(body["path"]),
                str(body["kind"]),
                int(body.get("count", 1)),
            )
            return _json_response(200, {"ok": True})
        if action == "reset":
            self.reset()
            return _json_response(200, {"ok": True})
        if action == "seed":
            return _json_response(200, self.seed(body))
        if action == "config":
            return _json_response(200, _config_json(self.configure(**body)))
        if action == "expire-tokens":
            self.expire_tokens()
            return _json_response(200, {"ok": True})
        raise ApiError(404, f"No admin endpoint POST {_ADMIN_PREFIX}{action}")

    # -- routes ------------------------------------------------------------
    def _build_routes(self) -> list[_Route]:
        table: list[tuple[str, str, Service, Handler]] = [
            ("POST", r"/oauth/token", "oauth", self._oauth_token),
            ("GET", r"/sites", "automation", self._sites_list),
            ("GET", r"/sites/byCode/(?P<code>[^/]+)", "automation", self._site_by_code),
            ("GET", r"/sites/(?P<id>[^/]+)", "automation", self._site_get),
            ("PATCH", r"/sites/(?P<id>[^/]+)", "automation", self._site_patch),
            ("PUT", r"/sites/(?P<id>[^/]+)", "automation", self._site_put),
            ("GET", r"/sites/(?P<id>[^/]+)/integration-tools", "automation", self._tools_get),
            ("PUT", r"/sites/(?P<id>[^/]+)/integration-tools", "automation", self._tools_put),
            ("GET", r"/custom-datas", "automation", self._custom_datas_list),
            ("POST", r"/custom-datas", "automation", self._custom_data_create),
            ("GET", r"/custom-datas/(?P<id>[^/]+)", "automation", self._custom_data_get),
            ("PATCH", r"/custom-datas/(?P<id>[^/]+)", "automation", self._custom_data_patch),
            ("DELETE", r"/custom-datas/(?P<id>[^/]+)", "automation", self._custom_data_delete),
            ("GET", r"/goals", "automation", self._goals_list),
            ("POST", r"/goals", "automation", self._goal_create),
            ("GET", r"/goals/(?P<id>[^/]+)", "automation", self._goal_get),
            ("GET", r"/experiments", "automation", self._campaign_list("experiments")),
            ("GET", r"/experiments/(?P<id>[^/]+)", "automation", self._campaign_get("experiments")),
            (
                "PATCH",
                r"/experiments/(?P<id>[^/]+)",
                "automation",
                self._campaign_patch("experiments"),
            ),
            ("GET", r"/personalizations", "automation", self._campaign_list("personalizations")),
            (
                "GET",
                r"/personalizations/(?P<id>[^/]+)",
                "automation",
                self._campaign_get("personalizations"),
            ),
            (
                "PATCH",
                r"/personalizations/(?P<id>[^/]+)",
                "automation",
                self._campaign_patch("personalizations"),
            ),
            ("GET", r"/kameleoon/segmentio/getapikey", "customers", self._getapikey),
            ("GET", r"/segmentio/getapikey", "customers", self._getapikey),
            ("GET", r"/map/map", "data", self._data_map),
            ("GET", r"/map/maps", "data", self._data_maps),
            ("GET", r"/data", "data", self._data_map),
            ("GET", r"/sources", "segment", self._seg_sources),
            ("GET", r"/destinations", "segment", self._seg_destinations),
            ("POST", r"/destinations", "segment", self._seg_destination_create),
            ("GET", r"/destinations/(?P<id>[^/]+)", "segment", self._seg_destination_get),
            ("PATCH", r"/destinations/(?P<id>[^/]+)", "segment", self._seg_destination_patch),
            ("DELETE", r"/destinations/(?P<id>[^/]+)", "segment", self._seg_destination_delete),
            ("GET", r"/destinations/(?P<id>[^/]+)/subscriptions", "segment", self._seg_subs_list),
            ("POST", r"/destinations/(?P<id>[^/]+)/subscriptions", "segment", self._seg_sub_create),
            (
                "GET",
                r"/destinations/(?P<id>[^/]+)/subscriptions/(?P<sub>[^/]+)",
                "segment",
                self._seg_sub_get,
            ),
            (
                "PATCH",
                r"/destinations/(?P<id>[^/]+)/subscriptions/(?P<sub>[^/]+)",
                "segment",
                self._seg_sub_patch,
            ),
            (
                "DELETE",
                r"/destinations/(?P<id>[^/]+)/subscriptions/(?P<sub>[^/]+)",
                "segment",
                self._seg_sub_delete,
            ),
            ("GET", r"/catalog/destinations/(?P<id>[^/]+)", "segment", self._seg_catalog),
            ("GET", r"/sources/(?P<id>[^/]+)", "segment", self._seg_source_get),
            # Segment's HTTP Tracking API (another host in reality; the paths do not collide).
            ("POST", r"/v1/identify", "tracking", self._track_identify),
            ("POST", r"/v1/track", "tracking", self._track_track),
        ]
        return [_Route(m, re.compile(p), s, h) for m, p, s, h in table]

    # -- Kameleoon: OAuth --------------------------------------------------
    def _oauth_token(self, call: _Call) -> _Response:
        if call.media_type() != "application/x-www-form-urlencoded":
            raise ApiError(
                400,
                "Content-Type must be application/x-www-form-urlencoded",
                error_type="invalid_request",
            )
        try:
            form = {
                k: v[-1]
                for k, v in parse_qs(call.body.decode("utf-8"), keep_blank_values=True).items()
            }
        except UnicodeDecodeError:
            raise ApiError(400, "Malformed form body", error_type="invalid_request") from None
        grant = form.get("grant_type")
        if not grant:
            raise ApiError(400, "Missing grant type", error_type="invalid_request")
        if grant != "client_credentials":
            raise ApiError(400, "Unsupported grant type", error_type="unsupported_grant_type")
        client_id, secret = self._client_credentials(call, form)
        account = self._state.accounts.get(client_id) if client_id else None
        if account is None or not hmac.compare_digest(
            account.client_secret.encode(), secret.encode()
        ):
            raise ApiError(401, "Bad client credentials", error_type="invalid_client")
        call.account = account
        self._check_rate(account)  # token calls count against the account too
        token = secrets.token_urlsafe(24)  # unguessable even though ids are seeded
        ttl = self._config.token_ttl
        self._state.tokens[token] = _Token(
            account.client_id, time.monotonic() + self._config.scaled(float(ttl))
        )
        return _json_response(
            200,
            {"access_token": token, "token_type": "Bearer", "expires_in": ttl},
            [("Cache-Control", "no-store")],
        )

    @staticmethod
    def _client_credentials(call: _Call, form: Mapping[str, str]) -> tuple[str, str]:
        auth = call.header("Authorization") or ""
        scheme, _, encoded = auth.partition(" ")
        if scheme.lower() == "basic" and encoded.strip():
            try:
                decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise ApiError(401, "Bad client credentials", error_type="invalid_client") from None
            client_id, sep, secret = decoded.partition(":")
            if not sep:
                raise ApiError(401, "Bad client credentials", error_type="invalid_client")
            # RFC 6749 form-encodes both parts before base64; plain also works.
            return unquote(client_id), unquote(secret)
        return form.get("client_id", ""), form.get("client_secret", "")

    # -- Kameleoon: shared list/ownership helpers ---------------------------
    def _owned_site(self, call: _Call, raw_id: Any, *, as_field: bool = False) -> JSONDict:
        assert call.account is not None
        site_id = raw_id if _is_int(raw_id) else _parse_id(str(raw_id))
        if self._state.site_owner.get(site_id) != call.account.client_id:
            if as_field:
                raise ApiError(
                    400, f"Field 'siteId': no site {site_id} in this account", field="siteId"
                )
            raise ApiError(404, f"Site {site_id} not found")
        return self._state.sites[site_id]

    def _owned_sites(self, call: _Call) -> set[int]:
        assert call.account is not None
        owner = call.account.client_id
        return {i for i, o in self._state.site_owner.items() if o == owner}

    def _list(
        self,
        call: _Call,
        items: Iterable[JSONDict],
        filterable: frozenset[str],
        extra_params: Sequence[tuple[str, str]] = (),
    ) -> _Response:
        """Filter, page and answer a bare JSON array, as Kameleoon lists do."""
        page = _int_arg(call, "page", 1, 1, None)
        per_page = _int_arg(call, "perPage", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        filters = _parse_filter(
            call.arg("filter"), filterable, in_supported=self._config.filter_in_supported
        )
        for param, fld in extra_params:
            value = call.arg(param)
            if value is not None:
                filters.append((fld, "EQUAL", [value]))
        selected = [i for i in items if _matches(i, filters)]
        selected.sort(key=lambda i: int(i["id"]))
        if self._config.ignore_paging:
            page = 1
        start = (page - 1) * per_page
        return _json_response(200, copy.deepcopy(selected[start : start + per_page]))

    def _site_scoped(self, call: _Call, items: dict[int, JSONDict]) -> list[JSONDict]:
        site_param = call.arg("siteId")
        if site_param is not None:
            self._owned_site(call, site_param)  # 404 for another account's site
        owned = self._owned_sites(call)
        return [i for i in items.values() if i["siteId"] in owned]

    # -- Kameleoon: sites --------------------------------------------------
    def _sites_list(self, call: _Call) -> _Response:
        owned = self._owned_sites(call)
        items = [s for i, s in self._state.sites.items() if i in owned]
        if not self._config.sites_list_tracking_script:
            items = [{k: v for k, v in s.items() if k != "trackingScript"} for s in items]
        items = [self._site_view(s) for s in items]
        return self._list(call, items, frozenset({"id", "name", "code", "url", "type"}))

    def _site_view(self, site: JSONDict) -> JSONDict:
        """A site as an answer shows it (a copy)."""
        if self._config.site_tracking_script:
            return copy.deepcopy(site)
        return {k: copy.deepcopy(v) for k, v in site.items() if k != "trackingScript"}

    def _site_get(self, call: _Call) -> _Response:
        return _json_response(200, self._site_view(self._owned_site(call, call.params["id"])))

    def _site_by_code(self, call: _Call) -> _Response:
        code = call.params["code"]
        owned = self._owned_sites(call)
        for site_id in owned:
            if self._state.sites[site_id]["code"] == code:
                return _json_response(200, self._site_view(self._state.sites[site_id]))
        raise ApiError(404, f"Site with code '{code}' not found")

    def _site_patch(self, call: _Call) -> _Response:
        if not self._config.site_patch_supported:
            raise ApiError(405, f"Request method '{call.method}' is not supported")
        site = self._owned_site(call, call.params["id"])
        changes = _validate(call.json_body(), _SITE_PATCH_SPEC)
        if "trackingScript" in self._config.ignore_writes:
            changes.pop("trackingScript", None)
        site.update(copy.deepcopy(changes))
        return _json_response(200, self._site_view(site))

    def _site_put(self, call: _Call) -> _Response:
        """The whole site back: read-only fields must be as they are, the others are set."""
        if not self._config.site_put_supported:
            raise ApiError(405, f"Request method '{call.method}' is not supported")
        site = self._owned_site(call, call.params["id"])
        body = call.json_body()
        if not isinstance(body, dict):
            raise ApiError(400, "Request body must be a JSON object")
        for key in ("id", "code", "dateCreated"):
            if key in body and body[key] != site.get(key):
                raise ApiError(400, f"Field '{key}' cannot be changed", field=key)
        for key in ("name", "url", "type"):
            if key not in body:
                raise ApiError(400, f"Field '{key}' is required", field=key)
        writable = {k: v for k, v in body.items() if k not in ("id", "code", "dateCreated")}
        changes = _validate(writable, _SITE_PATCH_SPEC)
        if "trackingScript" in self._config.ignore_writes:
            changes.pop("trackingScript", None)
        site.update(copy.deepcopy(changes))
        return _json_response(200, self._site_view(site))

    # -- Kameleoon: integration tools --------------------------------------
    def _tools_get(self, call: _Call) -> _Response:
        self._tools_supported(call)
        site = self._owned_site(call, call.params["id"])
        tools = copy.deepcopy(self._state.integration_tools[site["id"]])
        if self._config.tools_without_settings:
            tools = [{"name": t["name"]} for t in tools]
        if self._config.integration_tools_wrapped:
            return _json_response(200, {"integrationTools": tools})
        return _json_response(200, tools)

    def _tools_put(self, call: _Call) -> _Response:
        self._tools_supported(call)
        site = self._owned_site(call, call.params["id"])
        tools = self._check_tools(call.json_body())
        if "integration-tools" not in self._config.ignore_writes:
            self._state.integration_tools[site["id"]] = tools
        return _json_response(200, copy.deepcopy(tools))

    def _tools_supported(self, call: _Call) -> None:
        if not self._config.integration_tools_supported:
            raise ApiError(405, f"Request method '{call.method}' is not supported")

    @staticmethod
    def _check_tools(body: Any) -> list[JSONDict]:
        if not isinstance(body, list):
            raise ApiError(400, "Request body must be a JSON array of integration tools")
        seen: set[str] = set()
        tools: list[JSONDict] = []
        for n, item in enumerate(body):
            if not isinstance(item, dict):
                raise ApiError(400, f"Integration tool #{n} must be an object")
            for key in item:
                if key not in ("name", "settings"):
                    raise ApiError(
                        400, f"Unrecognized field '{key}' in integration tool #{n}", field=key
                    )
            name = item.get("name")
            if name not in INTEGRATION_TOOL_NAMES:
                raise ApiError(
                    400,
                    f"Integration tool #{n}: 'name' must be one of "
                    + ", ".join(INTEGRATION_TOOL_NAMES),
                    field="name",
                )
            settings = item.get("settings", {})
            if not isinstance(settings, dict):
                raise ApiError(
                    400, f"Integration tool {name}: 'settings' must be an object", field="settings"
                )
            if name in seen:
                raise ApiError(400, f"Integration tool {name} is listed twice")
            seen.add(name)
            tools.append({"name": name, "settings": copy.deepcopy(settings)})
        return tools

    # -- Kameleoon: custom data --------------------------------------------
    def _custom_datas_list(self, call: _Call) -> _Response:
        return self._list(
            call,
            self._site_scoped(call, self._state.custom_datas),
            frozenset({"id", "siteId", "name", "type", "format", "method", "scope", "index"}),
            [("siteId", "siteId")],
        )

    def _custom_data_create(self, call: _Call) -> _Response:
        body = _validate(call.json_body(), _CUSTOM_DATA_SPEC, _CUSTOM_DATA_REQUIRED)
        _check_custom_code({**_CUSTOM_DATA_DEFAULTS, **body})
        site = self._owned_site(call, body["siteId"], as_field=True)
        count = sum(1 for c in self._state.custom_datas.values() if c["siteId"] == site["id"])
        if count >= self._config.custom_data_limit:
            raise ApiError(
                400,
                f"The maximum number of custom data reached "
                f"({self._config.custom_data_limit} per project)",
            )
        return _json_response(CREATED_STATUS, copy.deepcopy(self._insert_custom_data(body)))

    def _owned_custom_data(self, call: _Call) -> JSONDict:
        item = self._state.custom_datas.get(_parse_id(call.params["id"]))
        if item is None or item["siteId"] not in self._owned_sites(call):
            raise ApiError(404, f"Custom data {call.params['id']} not found")
        return item

    def _custom_data_get(self, call: _Call) -> _Response:
        return _json_response(200, copy.deepcopy(self._owned_custom_data(call)))

    def _custom_data_patch(self, call: _Call) -> _Response:
        item = self._owned_custom_data(call)
        changes = _validate(call.json_body(), _CUSTOM_DATA_SPEC)
        if "siteId" in changes and changes["siteId"] != item["siteId"]:
            raise ApiError(400, "Field 'siteId' cannot be changed", field="siteId")
        merged = {**item, **changes}
        _check_custom_code(merged)
        item.update(copy.deepcopy(changes))
        return _json_response(200, copy.deepcopy(item))

    def _custom_data_delete(self, call: _Call) -> _Response:
        item = self._owned_custom_data(call)
        del self._state.custom_datas[item["id"]]
        return _Response(DELETED_STATUS)

    # -- Kameleoon: goals --------------------------------------------------
    def _goals_list(self, call: _Call) -> _Response:
        return self._list(
            call,
            self._site_scoped(call, self._state.goals),
            frozenset({"id", "siteId", "name", "type"}),
            [("siteId", "siteId")],
        )

    def _goal_create(self, call: _Call) -> _Response:
        body = _validate(call.json_body(), _GOAL_SPEC, ("name", "siteId", "type"))
        self._owned_site(call, body["siteId"], as_field=True)
        return _json_response(CREATED_STATUS, copy.deepcopy(self._insert_goal(body)))

    def _goal_get(self, call: _Call) -> _Response:
        item = self._state.goals.get(_parse_id(call.params["id"]))
        if item is None or item["siteId"] not in self._owned_sites(call):
            raise ApiError(404, f"Goal {call.params['id']} not found")
        return _json_response(200, copy.deepcopy(item))

    # -- Kameleoon: experiments and personalizations -----------------------
    def _campaign_list(self, kind: str) -> Handler:
        def handler(call: _Call) -> _Response:
            status = call.arg("status")
            if status is not None and status not in CAMPAIGN_STATUSES:
                raise ApiError(400, "status must be one of " + ", ".join(CAMPAIGN_STATUSES))
            return self._list(
                call,
                [
                    self._campaign_view(kind, c)
                    for c in self._site_scoped(call, self._campaigns(kind))
                ],
                frozenset({"id", "siteId", "name", "status", "type"}),
                [("siteId", "siteId"), ("status", "status")],
            )

        return handler

    def _owned_campaign(self, call: _Call, kind: str) -> JSONDict:
        item = self._campaigns(kind).get(_parse_id(call.params["id"]))
        if item is None or item["siteId"] not in self._owned_sites(call):
            raise ApiError(404, f"{kind[:-1].capitalize()} {call.params['id']} not found")
        return item

    def _campaign_view(self, kind: str, item: JSONDict) -> JSONDict:
        """A campaign as an answer shows it (a copy)."""
        if kind not in self._config.hide_tracking_tools:
            return copy.deepcopy(item)
        return {k: copy.deepcopy(v) for k, v in item.items() if k != "trackingTools"}

    def _campaign_get(self, kind: str) -> Handler:
        def handler(call: _Call) -> _Response:
            return _json_response(200, self._campaign_view(kind, self._owned_campaign(call, kind)))

        return handler

    def _campaign_patch(self, kind: str) -> Handler:
        def handler(call: _Call) -> _Response:
            item = self._owned_campaign(call, kind)
            changes = _validate(call.json_body(), _CAMPAIGN_PATCH_SPEC)
            if "trackingTools" in changes:
                changes["trackingTools"] = self._check_tracking_tools(changes["trackingTools"])
                if kind in self._config.ignore_writes:
                    del changes["trackingTools"]
            item.update(copy.deepcopy(changes))  # arrays are replaced, not merged
            return _json_response(200, self._campaign_view(kind, item))

        return handler

    @staticmethod
    def _check_tracking_tools(tools: list[Any]) -> list[JSONDict]:
        seen: set[str] = set()
        for n, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise ApiError(400, f"trackingTools[{n}] must be an object", field="trackingTools")
            name = tool.get("name")
            if name not in INTEGRATION_TOOL_NAMES:
                raise ApiError(
                    400,
                    f"trackingTools[{n}].name must be one of " + ", ".join(INTEGRATION_TOOL_NAMES),
                    field="trackingTools",
                )
            if name in seen:
                raise ApiError(400, f"Tracking tool {name} is listed twice", field="trackingTools")
            seen.add(name)
        return copy.deepcopy(tools)

    # -- API key service ---------------------------------------------------
    def _getapikey(self, call: _Call) -> _Response:
        client_id, secret = call.arg("id"), call.arg("secret")
        if not client_id or not secret:
            raise ApiError(400, "Missing id or secret")
        account = self._state.accounts.get(client_id)
        if account is None or not hmac.compare_digest(
            account.client_secret.encode(), secret.encode()
        ):
            raise ApiError(401, "Invalid credentials")
        if self._config.getapikey_answer:
            return _Response(
                200, self._config.getapikey_answer.encode(), "text/plain; charset=utf-8"
            )
        key = json.dumps({"id": client_id, "secret": secret}, separators=(",", ":"))
        return _Response(200, base64.b64encode(key.encode()), "text/plain; charset=utf-8")

    # -- Data API ----------------------------------------------------------
    @staticmethod
    def _data_user_agent(call: _Call) -> None:
        agent = call.header("User-Agent") or ""
        if not agent.strip() or "bot" in agent.lower():
            raise ApiError(403, "Forbidden: a non-bot User-Agent is required")

    def _data_map(self, call: _Call) -> _Response:
        self._data_user_agent(call)
        site_code, key = call.arg("siteCode"), call.arg("key")
        if not site_code or not key:
            raise ApiError(400, "Parameters siteCode and key are required")
        value = self._state.remote_data.get(site_code, {}).get(key, {})
        return _json_response(200, copy.deepcopy(value))

    def _data_maps(self, call: _Call) -> _Response:
        self._data_user_agent(call)
        site_code, raw = call.arg("siteCode"), call.arg("keys")
        if not site_code or raw is None:
            raise ApiError(400, "Parameters siteCode and keys are required")
        try:
            keys = json.loads(raw)
        except ValueError:
            raise ApiError(400, "keys must be a JSON array of strings") from None
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ApiError(400, "keys must be a JSON array of strings")
        if len(keys) > MAX_REMOTE_DATA_KEYS:
            raise ApiError(400, f"At most {MAX_REMOTE_DATA_KEYS} keys per request")
        stored = self._state.remote_data.get(site_code, {})
        return _json_response(200, {k: copy.deepcopy(stored[k]) for k in keys if k in stored})

    # -- Segment Public API ------------------------------------------------
    def _segment_workspace(self, call: _Call) -> SegmentWorkspace:
        auth = call.header("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        workspace = None
        if scheme.lower() == "bearer":
            workspace = self._state.workspaces.get(token.strip())
        if workspace is None:
            raise ApiError(401, "Unauthorized: a valid Bearer token is required")
        return workspace

    def _seg_sources(self, call: _Call) -> _Response:
        assert call.workspace is not None
        ws_id = call.workspace.id
        items = [s for s in self._state.sources.values() if s["workspaceId"] == ws_id]
        return _json_response(200, {"data": _segment_page(call, items, "sources")})

    def _seg_destinations(self, call: _Call) -> _Response:
        assert call.workspace is not None
        ws_id = call.workspace.id
        items = [d for d in self._state.destinations.values() if d["workspaceId"] == ws_id]
        return _json_response(200, {"data": _segment_page(call, items, "destinations")})

    def _seg_owned_destination(self, call: _Call) -> JSONDict:
        assert call.workspace is not None
        dest = self._state.destinations.get(call.params["id"])
        if dest is None or dest["workspaceId"] != call.workspace.id:
            raise ApiError(404, f"Destination {call.params['id']} not found")
        return dest

    def _seg_destination_get(self, call: _Call) -> _Response:
        dest = self._seg_owned_destination(call)
        return _json_response(200, {"data": {"destination": copy.deepcopy(dest)}})

    def _seg_destination_create(self, call: _Call) -> _Response:
        assert call.workspace is not None
        body = _segment_json(call)
        dest = self._insert_destination(call.workspace, body)
        return _json_response(200, {"data": {"destination": copy.deepcopy(dest)}})

    def _insert_destination(self, workspace: SegmentWorkspace, body: Any) -> JSONDict:
        if not isinstance(body, dict):
            raise ApiError(422, "Body must be a JSON object")
        _segment_known_fields(body, ("sourceId", "metadataId", "name", "enabled", "settings"))
        for key in ("sourceId", "metadataId"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise ApiError(422, f"{key} is required", field=key)
        source = self._state.sources.get(body["sourceId"])
        if source is None or source["workspaceId"] != workspace.id:
            raise ApiError(422, f"Source {body['sourceId']} not found", field="sourceId")
        if body["metadataId"] != KAMELEOON_METADATA_ID:
            raise ApiError(
                422, f"Unknown destination metadata {body['metadataId']}", field="metadataId"
            )
        if "settings" not in body:
            raise ApiError(422, "settings is required", field="settings")
        settings = _check_kameleoon_settings(body["settings"])
        name = body.get("name", "Kameleoon (Actions)")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(422, "name must be a non-empty string", field="name")
        enabled = body.get("enabled", False)
        if not isinstance(enabled, bool):
            raise ApiError(422, "enabled must be a boolean", field="enabled")
        dest_id = "".join(self._id_rng.choice("0123456789abcdef") for _ in range(24))
        dest = {
            "id": dest_id,
            "name": name,
            "enabled": enabled,
            "workspaceId": workspace.id,
            "sourceId": source["id"],
            "metadata": {
                "id": KAMELEOON_METADATA_ID,
                "name": "Kameleoon (Actions)",
                "slug": "actions-kameleoon",
            },
            "settings": settings,
        }
        self._state.destinations[dest_id] = dest
        return dest

    def _seg_destination_patch(self, call: _Call) -> _Response:
        dest = self._seg_owned_destination(call)
        body = _segment_json(call)
        if not isinstance(body, dict):
            raise ApiError(422, "Body must be a JSON object")
        _segment_known_fields(body, ("name", "enabled", "settings"))
        update: JSONDict = {}
        if "name" in body:
            if not isinstance(body["name"], str) or not body["name"].strip():
                raise ApiError(422, "name must be a non-empty string", field="name")
            update["name"] = body["name"]
        if "enabled" in body:
            if not isinstance(body["enabled"], bool):
                raise ApiError(422, "enabled must be a boolean", field="enabled")
            update["enabled"] = body["enabled"]
        if "settings" in body:
            if not isinstance(body["settings"], dict):
                raise ApiError(422, "settings must be an object", field="settings")
            update["settings"] = _check_kameleoon_settings({**dest["settings"], **body["settings"]})
        dest.update(update)
        return _json_response(200, {"data": {"destination": copy.deepcopy(dest)}})

    def _seg_destination_delete(self, call: _Call) -> _Response:
        dest = self._seg_owned_destination(call)
        del self._state.destinations[dest["id"]]
        for sub_id in [
            s["id"] for s in self._state.subscriptions.values() if s["destinationId"] == dest["id"]
        ]:
            del self._state.subscriptions[sub_id]
        return _json_response(200, {"data": {"status": "SUCCESS"}})

    def _seg_catalog(self, call: _Call) -> _Response:
        if call.params["id"] != KAMELEOON_METADATA_ID:
            raise ApiError(404, f"Destination metadata {call.params['id']} not found")
        return _json_response(200, {"data": {"destinationMetadata": _kameleoon_metadata()}})

    # Subscriptions (alpha): media type checked, writes rate-limited per workspace.
    def _seg_alpha(self, call: _Call, *, write: bool) -> JSONDict:
        if write and call.method != "DELETE" and call.media_type() != SEGMENT_ALPHA_MEDIA_TYPE:
            raise ApiError(
                415, f"Content-Type must be {SEGMENT_ALPHA_MEDIA_TYPE} for this alpha endpoint"
            )
        accept = (call.header("Accept") or "").lower()
        if SEGMENT_ALPHA_MEDIA_TYPE not in accept:
            raise ApiError(
                406, f"Accept must include {SEGMENT_ALPHA_MEDIA_TYPE} for this alpha endpoint"
            )
        dest = self._seg_owned_destination(call)
        if write:
            assert call.workspace is not None
            cfg = self._config
            now = time.monotonic()
            wait = call.workspace.writes.wait_time(
                now, cfg.segment_write_limit, cfg.scaled(cfg.segment_write_window)
            )
            if wait > 0:
                raise ApiError(
                    429,
                    f"Too many requests: {cfg.segment_write_limit} subscription writes per "
                    f"{cfg.segment_write_window:g} s",
                    headers=[("Retry-After", _retry_after(wait))],
                )
            if cfg.segment_write_limit > 0:
                call.workspace.writes.add(now)
        return dest

    def _seg_owned_sub(self, call: _Call, dest: JSONDict) -> JSONDict:
        sub = self._state.subscriptions.get(call.params["sub"])
        if sub is None or sub["destinationId"] != dest["id"]:
            raise ApiError(404, f"Subscription {call.params['sub']} not found")
        return sub

    def _seg_subs_list(self, call: _Call) -> _Response:
        dest = self._seg_alpha(call, write=False)
        items = [s for s in self._state.subscriptions.values() if s["destinationId"] == dest["id"]]
        return _alpha_response({"data": _segment_page(call, items, "subscriptions")})

    def _seg_sub_get(self, call: _Call) -> _Response:
        dest = self._seg_alpha(call, write=False)
        sub = self._seg_owned_sub(call, dest)
        return _alpha_response({"data": {"subscription": copy.deepcopy(sub)}})

    def _seg_sub_create(self, call: _Call) -> _Response:
        dest = self._seg_alpha(call, write=True)
        body = _segment_json(call)
        if not isinstance(body, dict):
            raise ApiError(422, "Body must be a JSON object")
        _segment_known_fields(body, ("name", "actionId", "trigger", "enabled", "settings"))
        for key in ("name", "actionId", "trigger", "enabled"):
            if key not in body:
                raise ApiError(422, f"{key} is required", field=key)
        sub_fields = _check_subscription_fields(body)
        sub_id = self._segment_id()
        sub = {
            "id": sub_id,
            "destinationId": dest["id"],
            "settings": {},
            **sub_fields,
        }
        self._state.subscriptions[sub_id] = sub
        return _alpha_response({"data": {"destinationSubscription": copy.deepcopy(sub)}})

    def _seg_sub_patch(self, call: _Call) -> _Response:
        dest = self._seg_alpha(call, write=True)
        sub = self._seg_owned_sub(call, dest)
        body = _segment_json(call)
        # C: UpdateSubscriptionForDestinationAlphaInput wraps the changes in "input".
        if not isinstance(body, dict):
            raise ApiError(422, "Body must be a JSON object")
        _segment_known_fields(body, ("input",))
        changes = body.get("input")
        if not isinstance(changes, dict):
            raise ApiError(422, "input is required and must be an object", field="input")
        _segment_known_fields(changes, ("name", "actionId", "trigger", "enabled", "settings"))
        sub.update(_check_subscription_fields(changes))
        return _alpha_response({"data": {"subscription": copy.deepcopy(sub)}})

    def _seg_sub_delete(self, call: _Call) -> _Response:
        dest = self._seg_alpha(call, write=True)
        sub = self._seg_owned_sub(call, dest)
        del self._state.subscriptions[sub["id"]]
        return _alpha_response({"data": {"status": "SUCCESS"}})

    # -- Segment Tracking API ----------------------------------------------
    # A source's write key (Basic auth, key as the user name) lets events in. The fake
    # delivers an identify to the Kameleoon destinations of the source the way Kameleoon
    # stores it (IDENTIFY_<userId> with its traits) when the destination is enabled, has a
    # sitecode, and has an enabled identify mapping; otherwise the event goes nowhere.
    def _seg_source_get(self, call: _Call) -> _Response:
        assert call.workspace is not None
        source = self._state.sources.get(call.params["id"])
        if source is None or source["workspaceId"] != call.workspace.id:
            raise ApiError(404, f"Source {call.params['id']} not found")
        return _json_response(200, {"data": {"source": copy.deepcopy(source)}})

    def _tracking_source(self, call: _Call) -> JSONDict:
        scheme, _, encoded = (call.header("Authorization") or "").partition(" ")
        key = ""
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                key = ""
        for source in self._state.sources.values():
            if key and key in source.get("writeKeys", []):
                return source
        raise ApiError(401, "Invalid write key")

    def _tracking_body(self, call: _Call) -> JSONDict:
        if call.media_type() != "application/json":
            raise ApiError(400, "Content-Type must be application/json")
        body = call.json_body()
        if not isinstance(body, dict):
            raise ApiError(400, "The body must be a JSON object")
        if not any(isinstance(body.get(k), str) and body[k] for k in ("userId", "anonymousId")):
            raise ApiError(400, "userId or anonymousId is required")
        return body

    def _deliveries(self, source: JSONDict, event_type: str) -> list[str]:
        """Sitecodes of the Kameleoon destinations that take this event type from the source."""
        sitecodes = []
        for dest in self._state.destinations.values():
            if dest.get("sourceId") != source["id"] or not dest.get("enabled"):
                continue
            if dest.get("metadataId", dest.get("metadata", {}).get("id")) != KAMELEOON_METADATA_ID:
                continue
            sitecode = (dest.get("settings") or {}).get("sitecode")
            mapped = any(
                sub["destinationId"] == dest["id"]
                and sub.get("enabled")
                and re.sub(r"\s+", "", str(sub.get("trigger", ""))) == f'type="{event_type}"'
                for sub in self._state.subscriptions.values()
            )
            if sitecode and mapped:
                sitecodes.append(str(sitecode))
        return sitecodes

    def _track_identify(self, call: _Call) -> _Response:
        source = self._tracking_source(call)
        body = self._tracking_body(call)
        traits = body.get("traits", {})
        if not isinstance(traits, dict):
            raise ApiError(400, "traits must be an object")
        user = str(body.get("userId") or body.get("anonymousId"))
        for sitecode in self._deliveries(source, "identify"):
            stored = self._state.remote_data.setdefault(sitecode, {})
            entry = stored.setdefault(f"IDENTIFY_{user}", {"traits": {}})
            entry.setdefault("traits", {}).update(copy.deepcopy(traits))
        return _json_response(200, {"success": True})

    def _track_track(self, call: _Call) -> _Response:
        self._tracking_source(call)
        body = self._tracking_body(call)
        if not isinstance(body.get("event"), str) or not body["event"]:
            raise ApiError(400, "event is required")
        return _json_response(200, {"success": True})


_SEGMENT_ERROR_TYPES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    415: "unsupported-media-type",
    422: "validation",
    429: "too-many-requests",
    500: "server-error",
    503: "service-unavailable",
}


def _trickle(h: _RequestHandler, body: bytes, interval: float) -> None:
    """Write ``body`` one byte at a time; stop when the client hangs up."""
    for index in range(len(body)):
        try:
            h.wfile.write(body[index : index + 1])
            h.wfile.flush()
        except OSError:
            return
        time.sleep(interval)


def _config_json(cfg: FakeConfig) -> JSONDict:
    out: JSONDict = {}
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def _parse_id(raw: str) -> int:
    if not re.fullmatch(r"[0-9]{1,18}", raw):
        raise ApiError(400, f"Invalid id '{raw[:40]}': an integer is expected")
    return int(raw)


def _int_arg(call: _Call, name: str, default: int, minimum: int, maximum: int | None) -> int:
    raw = call.arg(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        raise ApiError(400, f"Parameter '{name}' must be an integer")
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ApiError(400, f"Parameter '{name}' must be {bound}")
    return value


_Filter = tuple[str, str, list[Any]]


def _parse_filter(
    raw: str | None, filterable: frozenset[str], *, in_supported: bool = True
) -> list[_Filter]:
    if raw is None or raw == "":
        return []
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise ApiError(400, "Parameter 'filter' must be a JSON array") from None
    if not isinstance(parsed, list):
        raise ApiError(400, "Parameter 'filter' must be a JSON array")
    out: list[_Filter] = []
    for n, item in enumerate(parsed):
        if not isinstance(item, dict) or set(item) - {"field", "operator", "parameters"}:
            raise ApiError(
                400, f"filter[{n}] must be an object with field, operator and parameters"
            )
        fld, op, params = item.get("field"), item.get("operator"), item.get("parameters")
        if fld not in filterable:
            raise ApiError(
                400,
                f"filter[{n}]: cannot filter on field '{fld}'; use one of "
                + ", ".join(sorted(filterable)),
            )
        operators = FILTER_OPERATORS if in_supported else ("EQUAL", "NOT_EQUAL")
        if op not in operators:
            raise ApiError(
                400,
                f"filter[{n}]: unknown operator '{op}'; use one of " + ", ".join(operators),
            )
        if not isinstance(params, list) or not params:
            raise ApiError(400, f"filter[{n}]: parameters must be a non-empty array")
        # Without IN, EQUAL takes an array of values (the form of Kameleoon's tutorials).
        if op != "IN" and len(params) != 1 and (in_supported or op != "EQUAL"):
            raise ApiError(400, f"filter[{n}]: {op} takes exactly one parameter")
        out.append((str(fld), str(op), params))
    return out


def _matches(item: Mapping[str, Any], filters: Sequence[_Filter]) -> bool:
    for fld, op, params in filters:
        value = _norm(item.get(fld))
        wanted = {_norm(p) for p in params}
        if (op == "NOT_EQUAL") == (value in wanted):
            return False
    return True


def _check_custom_code(item: Mapping[str, Any]) -> None:
    if item.get("method") == "CUSTOM_CODE":
        code = item.get("customEvalCode")
        if not isinstance(code, str) or not code.strip():
            raise ApiError(
                400,
                "Field 'customEvalCode' is required when method is CUSTOM_CODE",
                field="customEvalCode",
            )


# -- Segment helpers ---------------------------------------------------------
def _segment_json(call: _Call) -> Any:
    if call.method != "DELETE" and "json" not in call.media_type():
        raise ApiError(415, "Content-Type must be a JSON media type")
    try:
        return call.json_body()
    except ApiError as err:
        raise ApiError(400, err.message) from None


def _segment_known_fields(body: Mapping[str, Any], allowed: Sequence[str]) -> None:
    for key in body:
        if key not in allowed:
            raise ApiError(422, f"Unknown field '{key}'", field=key)


def _check_kameleoon_settings(settings: Any) -> JSONDict:
    # C: the destination requires apiKey and a 10-character sitecode.
    if not isinstance(settings, dict):
        raise ApiError(422, "settings must be an object", field="settings")
    for key in settings:
        if key not in ("apiKey", "sitecode"):
            raise ApiError(422, f"Unknown setting '{key}'", field=f"settings.{key}")
    api_key = settings.get("apiKey")
    if not isinstance(api_key, str) or not api_key.strip():
        raise ApiError(422, "settings.apiKey is required", field="settings.apiKey")
    sitecode = settings.get("sitecode")
    if not isinstance(sitecode, str) or len(sitecode) != 10:
        raise ApiError(
            422, "settings.sitecode must be exactly 10 characters", field="settings.sitecode"
        )
    return dict(settings)


def _check_subscription_fields(body: Mapping[str, Any]) -> JSONDict:
    out: JSONDict = {}
    for key in ("name", "trigger"):
        if key in body:
            value = body[key]
            if not isinstance(value, str) or not value.strip():
                raise ApiError(422, f"{key} must be a non-empty string", field=key)
            out[key] = value
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise ApiError(422, "enabled must be a boolean", field="enabled")
        out["enabled"] = body["enabled"]
    if "settings" in body:
        if not isinstance(body["settings"], dict):
            raise ApiError(422, "settings must be an object", field="settings")
        out["settings"] = copy.deepcopy(body["settings"])
    if "actionId" in body:
        slugs = {_action_id(slug): slug for slug, *_ in KAMELEOON_ACTIONS}
        slug = slugs.get(body["actionId"]) if isinstance(body["actionId"], str) else None
        if slug is None:
            raise ApiError(
                422,
                f"actionId {str(body['actionId'])[:40]!r} is not an action of this destination",
                field="actionId",
            )
        out["actionId"] = body["actionId"]
        out["actionSlug"] = slug
    return out


def _alpha_response(obj: Any) -> _Response:
    resp = _json_response(200, obj)
    resp.content_type = SEGMENT_ALPHA_MEDIA_TYPE
    return resp


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"fake:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    match = re.fullmatch(r"fake:([0-9]{1,9})", text)
    if match is None:
        raise ApiError(422, "Invalid pagination.cursor", field="pagination.cursor")
    return int(match.group(1))


def _segment_page(call: _Call, items: list[JSONDict], key: str) -> JSONDict:
    raw_count = call.arg("pagination.count")
    count = SEGMENT_DEFAULT_PAGE_COUNT
    if raw_count is not None:
        if not re.fullmatch(r"[0-9]{1,9}", raw_count) or not (
            1 <= int(raw_count) <= SEGMENT_MAX_PAGE_COUNT
        ):
            raise ApiError(
                422,
                f"pagination.count must be an integer from 1 to {SEGMENT_MAX_PAGE_COUNT}",
                field="pagination.count",
            )
        count = int(raw_count)
    raw_cursor = call.arg("pagination.cursor")
    offset = _decode_cursor(raw_cursor) if raw_cursor else 0
    page = items[offset : offset + count]
    pagination: JSONDict = {"current": _encode_cursor(offset), "totalEntries": len(items)}
    if offset + count < len(items):
        pagination["next"] = _encode_cursor(offset + count)
    if offset > 0:
        pagination["previous"] = _encode_cursor(max(0, offset - count))
    return {key: copy.deepcopy(page), "pagination": pagination}


def _action_id(slug: str) -> str:
    """A stable, opaque catalog id per action, so a client must look ids up."""
    digest = hashlib.sha256(f"ksegcli-fake:kameleoon:{slug}".encode()).digest()
    number = int.from_bytes(digest[:16], "big")
    out = []
    for _ in range(22):
        number, rest = divmod(number, 62)
        out.append(_BASE62[rest])
    return "".join(out)


def _kameleoon_metadata() -> JSONDict:
    actions = []
    presets = []
    for slug, name, trigger, preset_name in KAMELEOON_ACTIONS:
        action_id = _action_id(slug)
        actions.append(
            {
                "id": action_id,
                "slug": slug,
                "name": name,
                "description": f"Send {name.lower()} calls to Kameleoon.",
                "platform": "CLOUD",
                "hidden": False,
                "defaultTrigger": trigger,
                "fields": [],
            }
        )
        presets.append(
            {"actionId": action_id, "name": preset_name, "trigger": trigger, "fields": {}}
        )
    return {
        "id": KAMELEOON_METADATA_ID,
        "name": "Kameleoon (Actions)",
        "slug": "actions-kameleoon",
        "description": "Send Segment events to Kameleoon",
        "status": "PUBLIC",
        "categories": ["A/B Testing", "Personalization"],
        "options": [
            {"name": "apiKey", "type": "password", "required": True},
            {"name": "sitecode", "type": "string", "required": True},
        ],
        "actions": actions,
        "presets": presets,
    }


# ---------------------------------------------------------------------------
# Command line: python -m ksegcli.testing.fake_server
# ---------------------------------------------------------------------------
def env_lines(url: str, demo: Mapping[str, Any] | None = None) -> list[str]:
    """KEY=value lines that point ksegcli at a fake server (and at demo credentials)."""
    lines = [
        f"KSEG_API_URL={url}",
        f"KSEG_CUSTOMERS_URL={url}",
        f"KSEG_DATA_API_URL={url}",
        f"KSEG_SEGMENT_API_URL={url}",
        f"KSEG_SEGMENT_TRACKING_URL={url}",
    ]
    if demo:
        lines += [
            f"KAMELEOON_CLIENT_ID={demo['client_id']}",
            f"KAMELEOON_CLIENT_SECRET={demo['client_secret']}",
            f"KAMELEOON_SITECODE={demo['sites'][0]['code']}",
            f"SEGMENT_API_TOKEN={demo['segment_token']}",
        ]
    return lines


def serve(
    config: FakeConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    demo: bool = False,
    out: TextIO | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run a fake server until Ctrl-C, SIGTERM or `stop` is set; print the env
    vars that point ksegcli at it. This is what `ksegcli sandbox` calls."""
    out = out or sys.stdout
    srv = FakeServer(config, host=host, port=port)
    demo_data = srv.seed_demo() if demo else None
    srv.start()
    stop = stop or threading.Event()
    previous: Any = None
    if threading.current_thread() is threading.main_thread():

        def on_term(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = signal.signal(signal.SIGTERM, on_term)
    try:
        out.write(f"# ksegcli fake server on {srv.url} (admin: {srv.url}{_ADMIN_PREFIX}state)\n")
        for line in env_lines(srv.url, demo_data):
            out.write(line + "\n")
        out.write("# Ctrl-C to stop\n")
        out.flush()
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


def _build_parser() -> argparse.ArgumentParser:
    defaults = FakeConfig()
    p = argparse.ArgumentParser(
        prog="python -m ksegcli.testing.fake_server",
        description="Fake Kameleoon + Segment APIs on one local port, for tests and demos.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--seed-demo", action="store_true", help="create the demo account and data")
    p.add_argument("--time-scale", type=float, default=defaults.time_scale)
    p.add_argument("--latency", type=float, default=defaults.latency)
    p.add_argument("--error-rate", type=float, default=defaults.error_rate)
    p.add_argument("--drop-rate", type=float, default=defaults.drop_rate)
    p.add_argument("--rate-limit", type=int, default=defaults.rate_limit)
    p.add_argument("--rate-window", type=float, default=defaults.rate_window)
    p.add_argument("--hourly-limit", type=int, default=defaults.hourly_limit)
    p.add_argument("--token-ttl", type=int, default=defaults.token_ttl)
    p.add_argument("--segment-write-limit", type=int, default=defaults.segment_write_limit)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument(
        "--no-integration-tools",
        action="store_true",
        help="answer 405 on /sites/{id}/integration-tools",
    )
    p.add_argument("--no-site-patch", action="store_true", help="answer 405 on PATCH /sites/{id}")
    p.add_argument("--fault-oauth", action="store_true")
    p.add_argument("--log", action="store_true", help="one line per request on stderr")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    config = FakeConfig(
        rate_limit=args.rate_limit,
        rate_window=args.rate_window,
        hourly_limit=args.hourly_limit,
        time_scale=args.time_scale,
        latency=args.latency,
        token_ttl=args.token_ttl,
        error_rate=args.error_rate,
        drop_rate=args.drop_rate,
        seed=args.seed,
        integration_tools_supported=not args.no_integration_tools,
        site_patch_supported=not args.no_site_patch,
        segment_write_limit=args.segment_write_limit,
        fault_oauth=args.fault_oauth,
        log=args.log,
    )
    return serve(config, host=args.host, port=args.port, demo=args.seed_demo)


if __name__ == "__main__":
    raise SystemExit(main())
