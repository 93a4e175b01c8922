"""What every API request goes through before and after its handler: canned
bodies, injected and random faults, authentication, rate limits, the error shape of
each service, and the request record.
"""

from __future__ import annotations

import random
import re
import sys
import threading
import time
import traceback

from ksegcli.testing.fake.calls import (
    ApiError,
    _admit,
    _Call,
    _json_response,
    _Response,
    _retry_after,
    _Route,
)
from ksegcli.testing.fake.state import (
    _REDACTED,
    Account,
    JSONDict,
    RequestRecord,
    SegmentWorkspace,
    Service,
    _Fault,
    _Store,
)

# Query parameters that carry secrets: never stored in request records.
_SECRET_PARAMS = frozenset({"secret", "client_secret", "apiKey", "access_token"})

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


class _Pipeline(_Store):
    """The fault/limit pipeline around the handlers (see _process)."""

    _requests: list[RequestRecord]
    _faults: list[_Fault]
    _bodies: list[tuple[str, re.Pattern[str], _Response, list[int]]]
    _fault_rng: random.Random
    _stopping: threading.Event
    _routes: list[_Route]

    def _take_body(self, method: str, path: str) -> _Response | None:
        for entry in self._bodies:
            wanted, pattern, response, left = entry
            if wanted in ("*", method) and pattern.search(path):
                left[0] -= 1
                if left[0] <= 0:
                    self._bodies.remove(entry)
                return response
        return None

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
        _admit(
            [
                (account.burst, cfg.rate_limit, cfg.scaled(cfg.rate_window)),
                (account.hourly, cfg.hourly_limit, cfg.scaled(3600.0)),
            ],
            f"Rate limit exceeded: {cfg.rate_limit} requests per {cfg.rate_window:g} s "
            f"and {cfg.hourly_limit} per hour",
        )

    def _segment_workspace(self, call: _Call) -> SegmentWorkspace:
        auth = call.header("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        workspace = None
        if scheme.lower() == "bearer":
            workspace = self._state.workspaces.get(token.strip())
        if workspace is None:
            raise ApiError(401, "Unauthorized: a valid Bearer token is required")
        return workspace
