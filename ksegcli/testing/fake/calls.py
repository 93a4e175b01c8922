"""One request as the handlers see it, their answer, and the error every service
renders in its own shape.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ksegcli.testing.fake.state import Account, SegmentWorkspace, Service, _Window


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


RouteSpec = tuple[str, str, Service, Handler]


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


def _admit(limits: Sequence[tuple[_Window, int, float]], message: str) -> None:
    """Counts one request in each (window, limit, seconds), or answers 429 with a
    Retry-After while any window is full. A disabled limit (0) keeps no history, so a
    long sandbox run stays small."""
    now = time.monotonic()
    wait = max(window.wait_time(now, limit, seconds) for window, limit, seconds in limits)
    if wait > 0:
        raise ApiError(429, message, headers=[("Retry-After", _retry_after(wait))])
    for window, limit, _ in limits:
        if limit > 0:
            window.add(now)


def _norm(value: Any) -> str:
    """Comparable text for filter matching (ids may come as numbers or strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
