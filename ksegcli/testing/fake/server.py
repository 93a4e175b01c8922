"""The fake's HTTP server: lifecycle, run-time configuration, fault injection, request
records and the loopback-only admin endpoints. FakeServer combines every service.
"""

from __future__ import annotations

import contextlib
import ipaddress
import random
import re
import socket
import threading
import time
from dataclasses import fields, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ksegcli.testing.fake.calls import ApiError, _Call, _is_int, _json_response, _Response, _Route
from ksegcli.testing.fake.data_api import _DataApi
from ksegcli.testing.fake.facts import FAULT_KINDS
from ksegcli.testing.fake.getapikey import _GetApiKey
from ksegcli.testing.fake.seeding import _Seeding
from ksegcli.testing.fake.segment_tracking import _SegmentTracking
from ksegcli.testing.fake.state import FakeConfig, FakeState, JSONDict, RequestRecord, _Fault

_ADMIN_PREFIX = "/_fake/"
_MAX_BODY = 10 * 1024 * 1024


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


class FakeServer(_Seeding, _GetApiKey, _DataApi, _SegmentTracking):
    """The fake services; see the package docstring (ksegcli.testing.fake). Use as a context manager or
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

    # -- routes: each service contributes its own ------------------------
    def _build_routes(self) -> list[_Route]:
        table = [
            *self._automation_routes(),
            *self._getapikey_routes(),
            *self._data_routes(),
            *self._segment_routes(),
            *self._tracking_routes(),
        ]
        return [_Route(m, re.compile(p), s, h) for m, p, s, h in table]

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
