"""``--trace FILE`` / ``KSEG_TRACE``: every HTTP exchange of the run, as JSON lines.

One line per attempt (a retried request is one line per try), appended to the
file as soon as the answer is in: time, service, method, URL, attempt, status,
elapsed milliseconds, request and answer headers and bodies, and the error when
no answer came (time-out, dropped connection, interrupted, cut off).

Nothing secret is written. Credential headers (``Authorization``, cookies, any
key-, token- or secret-like header) keep their name and lose their value; query
parameters, form fields and JSON members with a secret-like name (``client_secret``,
``access_token``, ``apiKey``, ``writeKey``, ``writeKeys``, ``token``, ...) are masked
wherever they are nested; an answer that *is* a secret (the API-key service's) is
not recorded at all; and every string then goes through :func:`ksegcli.core.redact.redact`,
the machinery that masks ``-v`` and every message, so a secret the run knows is
masked wherever it appears. Bodies are cut at :data:`BODY_LIMIT` characters, with a
marker giving the original length.

The file is created 0600 (an existing file keeps its mode) and only appended to,
one ``write`` per line, so parallel runs may share it. Imported only when tracing.
"""

from __future__ import annotations

import json
import os
import re
import stat
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ksegcli.core.redact import MASK, redact
from ksegcli.errors import ConfigError, RunStopped

if TYPE_CHECKING:
    import httpx

ENV_TRACE = "KSEG_TRACE"
BODY_LIMIT = 4096  # characters of a body kept in the trace
ERROR_LIMIT = 500  # characters of an error's text
SECRET_ANSWER = "[not recorded: this answer is a secret]"

# A name (header, query parameter, form field, JSON member) whose value is a secret,
# matched on the name lower-cased with everything but letters removed.
_SECRET_NAME = re.compile(
    r"secret|token|passw|apikey|writekey|authorization|cookie|credential|privatekey|signature"
)
# Headers are masked more widely: any name that speaks of a key, auth or a session.
_SECRET_HEADER = re.compile(r"key|auth|secret|token|cookie|passw|signature|session|credential")
_AUTH_SCHEMES = ("bearer", "basic")


def secret_name(name: str) -> bool:
    """Is a member, parameter or field called ``name`` a secret? (``client_secret``,
    ``access_token``, ``apiKey``, ``writeKeys``, ``X-Api-Token``, ...; not ``token_type``)"""
    letters = re.sub(r"[^a-z]", "", name.lower())
    return bool(_SECRET_NAME.search(letters)) and not letters.endswith("type")


def clean_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as a mapping; credentials masked (the ``Bearer``/``Basic`` scheme is kept)."""
    headers: dict[str, str] = {}
    for name, value in items:
        lower = name.lower()
        if lower in ("authorization", "proxy-authorization"):
            scheme = value.split(" ", 1)[0]
            shown = f"{scheme} {MASK}" if scheme.lower() in _AUTH_SCHEMES else MASK
        elif _SECRET_HEADER.search(re.sub(r"[^a-z]", "", lower)):
            shown = MASK
        else:
            shown = redact(value)
        headers[lower] = f"{headers[lower]}, {shown}" if lower in headers else shown
    return headers


def clean_url(url: str) -> str:
    """The URL with secret-like query parameters masked and known secrets redacted."""

    parts = urlsplit(url)
    if parts.query:
        query = _clean_pairs(parse_qsl(parts.query, keep_blank_values=True))
        parts = parts._replace(query=query)
    return redact(urlunsplit(parts))


def _clean_pairs(pairs: list[tuple[str, str]]) -> str:
    return urlencode([(k, MASK if secret_name(k) else v) for k, v in pairs], safe="*")


def clean_json(value: Any, *, masked: bool = False) -> Any:
    """``value`` with every member of a secret-like name masked (strings, lists of them,
    whole objects), and known secrets redacted from every other string."""
    if isinstance(value, dict):
        return {
            redact(str(k)): clean_json(v, masked=masked or secret_name(str(k)))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [clean_json(item, masked=masked) for item in value]
    if masked and value is not None and not isinstance(value, bool):
        return MASK
    if isinstance(value, str):
        return redact(value)
    return value


def clean_body(content: bytes, content_type: str) -> str:
    """A body as text safe to keep: JSON and form bodies masked by name, then redacted."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return f"[{len(content)} bytes, not UTF-8 text]"
    kind = content_type.lower()
    stripped = text.lstrip()
    if "json" in kind or stripped.startswith(("{", "[")):
        try:
            return json.dumps(clean_json(json.loads(text)), ensure_ascii=False)
        except (ValueError, RecursionError):
            pass  # not JSON after all (or too deep to walk): masked as text below
    if "x-www-form-urlencoded" in kind:
        return redact(_clean_pairs(parse_qsl(text, keep_blank_values=True)))
    return redact(text)


def body_record(content: bytes, content_type: str, *, secret: bool = False) -> dict[str, Any]:
    """``{"bytes": n, "body": text}``; ``"truncated": true`` when the text was cut."""
    record: dict[str, Any] = {"bytes": len(content)}
    if not content:
        record["body"] = None
        return record
    if secret:
        record["body"] = SECRET_ANSWER
        return record
    text = clean_body(content, content_type)
    if len(text) > BODY_LIMIT:
        text = f"{text[:BODY_LIMIT]}… [truncated: the body had {len(content)} bytes]"
        record["truncated"] = True
    record["body"] = text
    return record


def error_text(exc: BaseException) -> str:
    """What became of an attempt that got no answer, in a few words, redacted."""
    import httpx

    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C) before the answer was complete"
    if isinstance(exc, (httpx.LocalProtocolError, UnicodeError)):
        # Its text quotes the header it refused: a credential, in practice.
        return f"{type(exc).__name__}: not sent, a header value HTTP cannot carry"
    text = str(exc).strip()
    kind = "timeout" if isinstance(exc, httpx.TimeoutException) else type(exc).__name__
    text = redact(f"{kind}: {text}" if text else kind)
    if len(text) > ERROR_LIMIT:
        text = f"{text[:ERROR_LIMIT]}… ({len(text) - ERROR_LIMIT} more characters)"
    return text


class Tracer:
    """An open trace file; :meth:`record` appends one exchange. Thread-safe."""

    def __init__(self, path: str, fd: int, origin: str) -> None:
        self.path = path
        self.origin = origin  # "--trace" or "KSEG_TRACE": named in errors
        self._fd: int | None = fd
        self._lock = threading.Lock()
        self.run = os.urandom(4).hex()  # tells apart the runs appended to one file
        self.lines = 0
        self._failed: ConfigError | None = None

    @classmethod
    def open(cls, path: str, origin: str) -> Tracer:
        """Open (or create, 0600) ``path`` for appending; a :class:`ConfigError` if it cannot be."""
        if not path.strip():
            raise ConfigError(
                f"{origin} names no file.", hint="Give a file path, e.g. --trace trace.jsonl."
            )
        if os.path.isdir(path):
            raise ConfigError(
                f"Cannot write the trace to {path} ({origin}): it is a folder.",
                hint="Give a file path, e.g. --trace trace.jsonl.",
            )
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)  # a FIFO: no hang
        try:
            fd = os.open(path, flags, 0o600)  # the mode applies only to a new file
            os.set_blocking(fd, True)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"Cannot open the trace file {path} ({origin}): {_reason(exc)}.",
                hint="Give a writable file path (its folder must exist), or drop the option.",
            ) from None
        return cls(path, fd, origin)

    def record(
        self,
        service: str,
        request: httpx.Request,
        response: httpx.Response | None,
        *,
        attempt: int,
        started: float,
        error: BaseException | None = None,
        secret_answer: bool = False,
    ) -> None:
        """Append one exchange: ``response`` (its body read) or the ``error`` that ended it."""
        elapsed = round((time.monotonic() - started) * 1000, 1)
        entry: dict[str, Any] = {
            "time": _now(),
            "run": self.run,
            "service": service,
            "method": request.method,
            "url": clean_url(str(request.url)),
            "attempt": attempt,
            "status": response.status_code if response is not None else None,
            "elapsed_ms": elapsed,
            "request": {
                "headers": clean_headers(request.headers.multi_items()),
                **body_record(_request_content(request), request.headers.get("content-type", "")),
            },
            "response": None,
            "error": error_text(error) if error is not None else None,
        }
        if response is not None:
            secret = secret_answer and 200 <= response.status_code < 300
            entry["response"] = {
                "headers": clean_headers(response.headers.multi_items()),
                **body_record(
                    response.content, response.headers.get("content-type", ""), secret=secret
                ),
            }
        self._write(json.dumps(entry, ensure_ascii=False) + "\n")

    def _write(self, line: str) -> None:
        data = line.encode("utf-8")
        with self._lock:
            if self._failed is not None:  # the run is stopping: no thread writes on
                raise RunStopped(self._failed)
            if self._fd is None:
                return
            sent = 0
            try:
                while sent < len(data):
                    sent += os.write(self._fd, data[sent:])
            except OSError as exc:
                if sent:
                    self._drop_partial(sent)
                self._failed = ConfigError(
                    f"Cannot write the trace file {self.path} ({self.origin}): "
                    f"{_reason(exc)}; the run stopped there.",
                    hint="Free some space or give another file, then rerun: writes "
                    "already made are checked before they are repeated.",
                )
                raise RunStopped(self._failed) from None
            self.lines += 1

    def _drop_partial(self, sent: int) -> None:
        """Cut the part of a line a failed write left at the end of a regular file,
        unless something else was appended after it: the file keeps whole lines."""

        assert self._fd is not None
        try:
            info = os.fstat(self._fd)
            end = os.lseek(self._fd, 0, os.SEEK_CUR)
            if stat.S_ISREG(info.st_mode) and info.st_size == end >= sent:
                os.ftruncate(self._fd, end - sent)
        except OSError:
            pass  # the error reported is the write's

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def open_from(value: str | None, *, from_env: bool) -> Tracer | None:
    """The run's tracer for the option's value (None: no trace, no file touched)."""
    if value is None:
        return None
    return Tracer.open(value, f"{ENV_TRACE}={value}" if from_env else "--trace")


def _request_content(request: httpx.Request) -> bytes:
    try:
        return request.content
    except Exception:  # a streamed body (none of ours): not kept
        return b""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
