"""The one HTTP client every remote call goes through.

It owns the base URL, timeouts, ``User-Agent``, authentication headers, the
client-side rate limiter, retries (tenacity) and the mapping of HTTP failures
to the tool's own errors with the server's message. Verbose logging goes
through here too, with secrets redacted, and so does ``--trace`` (every attempt,
answered or not, see :mod:`ksegcli.core.http.trace`).
"""

from __future__ import annotations

import email.utils
import json
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ksegcli import __version__
from ksegcli.core import interrupt
from ksegcli.core.redact import redact
from ksegcli.errors import (
    ApiError,
    AuthError,
    BadInputError,
    ErrorCode,
    ExitCode,
    NetworkError,
    NotFoundError,
)

if TYPE_CHECKING:
    import httpx

    from ksegcli.core.http.trace import Tracer

USER_AGENT = f"ksegcli/{__version__}"
DEFAULT_TIMEOUT = 30.0
# One attempt, from sending to the last byte of the answer: a body that trickles in
# a byte at a time never trips the per-read timeout, so the whole exchange is bounded.
DEFAULT_DEADLINE = 120.0
# The longest Retry-After the tool waits for; a server asking for more fails the run
# at once (saying how long it asked) rather than hanging it.
MAX_RETRY_AFTER = 120.0
# What is quoted from a server's error answer, at most.
MAX_QUOTED = 500
# An answer larger than this is refused (no API answer of ours comes near it).
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
READS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

Logger = Callable[[str], None]


class RateLimiter:
    """At most ``limit`` requests in any ``window`` seconds, as the *server* counts them.

    The server stamps a request when it arrives, somewhere between our send and
    our receipt of the answer. So a request occupies its slot from the moment it
    is sent until ``window`` seconds after its answer came back: then no two
    requests ``limit`` apart can ever arrive closer than ``window``, whatever
    the latency jitter. Thread-safe; also counts every request of the run.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._slots: list[list[float]] = []  # [release time]; inf while in flight
        self._paused_until = 0.0
        self._cond = threading.Condition()
        self.total = 0
        self.waited = 0.0

    def acquire(self) -> list[float]:
        """Wait for a slot; returns a ticket to hand to :meth:`release`."""
        with self._cond:
            while True:
                interrupt.check()  # after Ctrl-C, no slot is taken for a request never sent
                now = time.monotonic()
                self._slots = [slot for slot in self._slots if slot[0] + self.window > now]
                delay = self._paused_until - now
                if delay <= 0 and len(self._slots) < self.limit:
                    ticket = [float("inf")]
                    self._slots.append(ticket)
                    self.total += 1
                    return ticket
                if delay <= 0:
                    finite = [slot[0] for slot in self._slots if slot[0] != float("inf")]
                    # All slots in flight: wait for a release; else for the oldest to expire.
                    delay = min(finite) + self.window - now if finite else 1.0
                started = time.monotonic()
                self._cond.wait(timeout=max(min(delay, interrupt.POLL * 4), 0.0005))
                self.waited += time.monotonic() - started

    def release(self, ticket: list[float]) -> None:
        with self._cond:
            ticket[0] = time.monotonic()
            self._cond.notify_all()

    def pause(self, seconds: float) -> None:
        """The server said to wait (429): hold every thread back, not just this one."""
        with self._cond:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)


class _Retryable(Exception):
    def __init__(self, error: Exception, wait: float | None, *, max_attempts: int = 0) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait
        self.max_attempts = max_attempts  # 0: the client's default


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait: from a number (``inf`` stays infinite) or an HTTP date.

    None when the header is absent or unreadable (NaN included): the caller then
    backs off as for any other failure.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return None if seconds != seconds else max(0.0, seconds)  # NaN != NaN
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def human_duration(seconds: float) -> str:
    """``2 h 5 min``, ``45 s``, ``an unlimited time``."""
    if seconds == float("inf"):
        return "an unlimited time"
    seconds = max(0, round(seconds))
    if seconds < 600:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60} min"
    return f"{hours // 24} days {hours % 24} h"


def quote_server_text(text: str, limit: int = MAX_QUOTED) -> str:
    """At most ``limit`` characters of what a server said, and how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def server_message(response: httpx.Response) -> str:
    """The server's own words: JSON fields the APIs use, else the text, shortened."""
    return quote_server_text(_server_message(response))


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (ValueError, RecursionError):
        text = response.text.strip()
        return text[:300] if text else response.reason_phrase
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:  # Segment: {"errors": [{"message","field"}]}
            parts = []
            for item in errors:
                if isinstance(item, dict):
                    msg = str(item.get("message", ""))
                    if item.get("field"):
                        msg += f" (field: {item['field']})"
                    parts.append(msg)
            if parts:
                return "; ".join(parts)
        for key in ("message", "error_description", "error", "detail", "title"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])
    if isinstance(body, str) and body:
        return body[:300]
    return json.dumps(body)[:300]


class HttpClient:
    """An httpx client for one service."""

    def __init__(
        self,
        base_url: str,
        *,
        label: str,
        headers: Mapping[str, str] | None = None,
        auth_header: Callable[[], Mapping[str, str]] | None = None,
        on_unauthorized: Callable[[], bool] | None = None,
        limiter: RateLimiter | None = None,
        log: Logger | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        deadline: float = DEFAULT_DEADLINE,
        transport: httpx.BaseTransport | None = None,
        before_write: Callable[[], None] | None = None,
        trace: Tracer | None = None,
    ) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.label = label
        self._auth_header = auth_header
        self._on_unauthorized = on_unauthorized
        # Called before every authenticated request that is not a read: the session
        # takes the account's lock there (core/lock.py), so no write goes out without it.
        self.before_write = before_write
        self.limiter = limiter
        self._log = log
        self._trace = trace
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.deadline = deadline
        self.requests_sent = 0
        self.retries = 0
        self.throttled = 0  # 429 answers seen
        self._client = httpx.Client(
            base_url=self.base_url,
            verify=_tls_verify(self.base_url),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def pause(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1, 2, …): exponential from
        ``backoff``, capped at ``max_backoff``, jittered so that clients spread out."""
        exp = self.backoff * (2 ** (attempt - 1))
        return float(min(self.max_backoff, exp) * (0.5 + random.random() / 2))

    # -- logging --------------------------------------------------------------
    def _debug(self, text: str) -> None:
        if self._log is not None:
            self._log(redact(text))

    def note(self, text: str) -> None:
        """A decision worth a line in the -v log (redacted like every line of it)."""
        self._debug(text)

    # -- requests -------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        content: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        retry_unsafe: bool = False,
        allow_statuses: frozenset[int] = frozenset(),
        secret_answer: bool = False,
    ) -> httpx.Response:
        """Send one logical request, with retries, and return a 2xx response
        (or one whose status is in ``allow_statuses``). Raises the tool's errors.

        ``secret_answer``: a 2xx answer's body is itself a secret (the API key);
        ``--trace`` records its length only.

        POST/PATCH are not retried after a 5xx or a lost answer unless
        ``retry_unsafe``: the server may have acted (the caller must check first).
        A 429 is always retried: the server did nothing.
        """
        from tenacity import (
            RetryCallState,
            Retrying,
            stop_after_attempt,
        )

        method = method.upper()
        if authenticated and self.before_write is not None and method not in READS:
            self.before_write()
        safe = method in IDEMPOTENT or retry_unsafe
        refreshed = False
        attempts = 0

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Retryable) and exc.wait is not None:
                return min(exc.wait, 120.0)
            return self.pause(state.attempt_number)

        def before_sleep(state: RetryCallState) -> None:
            self.retries += 1
            exc = state.outcome.exception() if state.outcome else None
            delay = state.upcoming_sleep
            self._debug(f"  retrying {method} {path} in {delay:.2f}s ({exc})")

        def should_retry(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            if not isinstance(exc, _Retryable):
                return False
            return not exc.max_attempts or state.attempt_number < exc.max_attempts

        def attempt() -> httpx.Response:
            # After Ctrl-C no new request leaves (the one in flight may finish).
            interrupt.check(f"{method} {path}")
            req_headers: dict[str, str] = dict(headers or {})
            if authenticated and self._auth_header is not None:
                # Before taking a slot: this may itself fetch a token through the limiter.
                req_headers.update(self._auth_header())
            ticket = self.limiter.acquire() if self.limiter is not None else None
            try:
                interrupt.check(f"{method} {path}")  # the wait for a slot may have been long
                return send(req_headers)
            finally:
                if ticket is not None and self.limiter is not None:
                    self.limiter.release(ticket)

        def send(req_headers: dict[str, str]) -> httpx.Response:
            nonlocal refreshed, attempts
            import httpx

            started = time.monotonic()
            self.requests_sent += 1
            interrupt.note_sent()
            attempts += 1
            self._debug(f"→ {method} {self._display_url(path, params)}")
            try:
                request = self._client.build_request(
                    method,
                    path,
                    params=params,
                    json=json_body,
                    data=data,
                    content=content,
                    headers=req_headers,
                )
                response = self._exchange(request, started, attempts, secret_answer)
            except (UnicodeEncodeError, httpx.LocalProtocolError):
                # The request could not be built: a header value (a credential, in practice)
                # holds a non-ASCII character, a line break or edge spaces. The exception's
                # text quotes the header, so it must not reach the user; no retry helps.
                raise _unsendable(method, path, self.label) from None
            except httpx.InvalidURL:
                # A value given by the user made the URL impossible (a 100 KB query value):
                # the message would quote it, and no retry helps.
                raise BadInputError(
                    f"Cannot send {method} {path} to the {self.label}: a value given for "
                    "this request makes the URL invalid or too long.",
                    hint="Check the values passed on the command line or in env vars.",
                ) from None
            except httpx.TimeoutException as exc:
                err = NetworkError(
                    f"{self.label} did not answer in time ({method} {path}).",
                    code="timeout",
                    hint="Try again; if it persists, check your network or the service status.",
                )
                if safe:
                    raise _Retryable(err, None) from exc
                raise err from None
            except httpx.TransportError as exc:
                err = self._transport_error(method, path, exc)
                if safe:
                    # No route to the host is rarely fixed by waiting: one more try only.
                    tries = 2 if isinstance(exc, httpx.ConnectError) else 0
                    raise _Retryable(err, None, max_attempts=tries) from exc
                raise err from None
            elapsed = (time.monotonic() - started) * 1000
            self._debug(f"← {response.status_code} {method} {path} ({elapsed:.0f} ms)")
            status = response.status_code
            if status == 401 and authenticated and self._on_unauthorized and not refreshed:
                refreshed = True
                if self._on_unauthorized():
                    raise _Retryable(self._error(method, path, response), 0.0)
            if status == 429:
                self.throttled += 1
                raw_delay = response.headers.get("Retry-After")
                delay = parse_retry_after(raw_delay)
                if delay is not None and delay > MAX_RETRY_AFTER:
                    raise self._too_long_wait(method, path, delay, raw_delay or "")
                if delay is not None and self.limiter is not None:
                    self.limiter.pause(delay)
                raise _Retryable(self._error(method, path, response), delay)
            if status in RETRY_STATUSES and safe:
                raise _Retryable(self._error(method, path, response), None)
            if 200 <= status < 300 or status in allow_statuses:
                return response
            raise self._error(method, path, response)

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=wait,
            retry=should_retry,
            before_sleep=before_sleep,
            sleep=interrupt.sleep,
            reraise=True,
        )
        try:
            result: httpx.Response = retrying(attempt)
            return result
        except _Retryable as exc:
            raise exc.error from None

    def _exchange(
        self, request: httpx.Request, started: float, attempt: int, secret_answer: bool
    ) -> httpx.Response:
        """Send ``request`` within the deadline; with ``--trace``, record how it went."""
        if self._trace is None:
            return self._send_bounded(request, started + self.deadline)
        try:
            response = self._send_bounded(request, started + self.deadline)
        except BaseException as exc:  # timed out, dropped, cut off, interrupted: traced too
            self._trace.record(
                self.label, request, None, attempt=attempt, started=started, error=exc
            )
            raise
        self._trace.record(
            self.label,
            request,
            response,
            attempt=attempt,
            started=started,
            secret_answer=secret_answer,
        )
        return response

    def _send_bounded(self, request: httpx.Request, deadline: float) -> httpx.Response:
        """Send and read the whole answer by ``deadline`` (monotonic), whatever its pace."""
        import httpx

        response = self._client.send(request, stream=True)
        try:
            raw = bytearray()
            for chunk in response.iter_raw():
                raw += chunk
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout(
                        f"the answer took longer than {self.deadline:g} s in all",
                        request=request,
                    )
                if len(raw) > MAX_RESPONSE_BYTES:
                    raise ApiError(
                        f"The {self.label} sent more than {MAX_RESPONSE_BYTES // 2**20} MB in "
                        f"answer to {request.method} {request.url.path}; stopped reading.",
                        status=response.status_code,
                    )
        finally:
            response.close()
        complete = httpx.Response(
            response.status_code,
            headers=response.headers,
            content=bytes(raw),
            request=request,
            extensions=response.extensions,
        )
        complete.read()  # decodes any Content-Encoding, as a non-streamed send would
        return complete

    def _too_long_wait(self, method: str, path: str, delay: float, raw: str) -> ApiError:
        return ApiError(
            f"{self.label} refused {method} {path} (HTTP 429): it asked to wait "
            f"{human_duration(delay)} (Retry-After: {quote_server_text(raw.strip(), 60)!r}); "
            f"ksegcli waits at most {MAX_RETRY_AFTER:g} s, so it stopped here.",
            status=429,
            code="rate_limited",
            hint="Rerun once that time has passed. Writes already made are kept, and a rerun "
            "does not repeat them.",
        )

    def _display_url(self, path: str, params: Mapping[str, Any] | None) -> str:
        if not params:
            return f"{self.base_url}{path}"

        return f"{self.base_url}{path}?{urlencode({k: str(v) for k, v in params.items()})}"

    def _transport_error(self, method: str, path: str, exc: Exception) -> NetworkError:
        import httpx

        if isinstance(exc, httpx.ConnectError):
            return NetworkError(
                f"Cannot reach the {self.label} at {self.base_url}: {_reason(exc)}.",
                hint="Check your network connection and proxy settings, and the base URL "
                "(see `ksegcli doctor`).",
            )
        return NetworkError(
            f"The connection to the {self.label} broke during {method} {path}: {_reason(exc)}.",
            hint="Try again. Writes are checked before they are repeated, so a rerun is safe.",
        )

    def _error(self, method: str, path: str, response: httpx.Response) -> ApiError:
        status = response.status_code
        message = redact(server_message(response))
        where = f"{self.label} refused {method} {path} (HTTP {status})"
        code: ErrorCode = "api_error"
        if status in (401, 403):
            return _AuthApiError(f"{where}: {message}", status=status)
        if status == 404:
            return _NotFoundApiError(f"{where}: {message}", status=status)
        if status == 429:
            code = "rate_limited"
            return ApiError(
                f"{where}: rate limit reached ({message}).",
                status=status,
                code=code,
                hint="Wait a minute and rerun; ksegcli already paced its requests.",
            )
        hint = None
        if status >= 500:
            # Without it, callers fall back to their own advice ("check the client id and
            # secret"), which sends the user after the wrong problem.
            hint = (
                f"The {self.label} failed on its side; try again in a while. Writes are "
                "checked before they are repeated, so a rerun is safe."
            )
        return ApiError(f"{where}: {message}", status=status, code=code, hint=hint)

    # -- JSON helpers ----------------------------------------------------------
    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return _json(self.request("GET", path, params=params))


class _AuthApiError(ApiError, AuthError):
    code: ErrorCode = "auth_failed"
    exit_code = ExitCode.AUTH


class _NotFoundApiError(ApiError, NotFoundError):
    code: ErrorCode = "not_found"
    exit_code = ExitCode.NOT_FOUND


_SSL_CONTEXT: Any = None


def _tls_verify(base_url: str) -> Any:
    """One verifying SSL context for every client of the run.

    Loading the CA bundle costs ~90 ms; httpx would do it once per client, even
    for a plain-http loopback URL (tests, sandboxes) that never uses TLS.
    """
    global _SSL_CONTEXT
    if base_url.startswith("http://"):
        # Plain http (loopback only, see config.validate_base_url): TLS is never used.
        # A context with no trust anchors costs nothing and would fail closed if it were.
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if _SSL_CONTEXT is None:
        import httpx

        _SSL_CONTEXT = httpx.create_ssl_context()
    return _SSL_CONTEXT


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    from ksegcli.core.http.parse import decode

    return decode(response.content, f"{response.request.method} {response.request.url.path}")


def response_json(response: httpx.Response) -> Any:
    return _json(response)


def _unsendable(method: str, path: str, label: str) -> AuthError:
    return AuthError(
        f"Cannot send {method} {path} to the {label}: a credential holds a character HTTP "
        "headers cannot carry (non-ASCII, a line break, or spaces at either end).",
        hint="Copy the token or key again, without quotes or spaces, into its env var, "
        "--…-stdin, or `ksegcli auth login` / `ksegcli segment login`.",
    )


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return redact(text) if text else type(exc).__name__
