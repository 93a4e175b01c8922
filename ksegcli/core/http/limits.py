"""One request budget per Kameleoon account, shared by every ksegcli process of the machine.

Kameleoon counts requests per account (50 per 10 s and 1,000 per hour), not per
process: a dry run followed at once by ``apply`` meets 429s when each process
keeps its own count. So the count lives in a small JSON file in the cache folder
(``limits/<account>.json``), read and rewritten under an exclusive ``flock`` on a
lock file next to it, by every process and thread of that account.

The file holds, in wall-clock seconds:

- ``slots``: the requests of the short window: ``[sent, answered, pid]``, where
  ``answered`` is null while the request is in flight. As in
  :class:`ksegcli.core.http.client.RateLimiter`, a slot is taken at sending and freed a
  full window after its answer (the server stamps a request somewhere between).
  An in-flight slot whose process is gone is dropped.
- ``hour``: when each request of the last hour was sent.
- ``paused_until``: a 429's Retry-After, which every process then honours.

If the cache folder cannot be used, :func:`shared_limiter` falls back to the
per-process limiter: the run still works, with the old guarantee.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ksegcli.core import interrupt
from ksegcli.core.http.client import MAX_RETRY_AFTER, RateLimiter, human_duration
from ksegcli.core.paths import account_key as account_key  # re-exported: one key, one place
from ksegcli.core.paths import account_path
from ksegcli.errors import ApiError

HOUR = 3600.0
LIMITS_FOLDER = "limits"
_POLL = 0.05  # seconds between looks while every slot is in flight in some process


class BudgetExhausted(ApiError):
    """The account's hourly request budget is used up: stop, say when to resume."""

    code = "rate_limited"


class SharedRateLimiter(RateLimiter):
    """:class:`RateLimiter`'s interface, counted in a file shared across processes."""

    def __init__(
        self,
        path: Path,
        limit: int,
        window: float,
        *,
        hourly_limit: int = 1000,
        hourly_window: float = HOUR,
    ) -> None:
        super().__init__(limit, window)
        self.path = path
        self.lock_path = path.with_suffix(".lock")
        self.hourly_limit = hourly_limit
        self.hourly_window = hourly_window
        self._pid = os.getpid()
        self._local = threading.Lock()  # threads of this process queue here first

    # -- the state file ----------------------------------------------------------------
    @contextlib.contextmanager
    def _state(self) -> Iterator[dict[str, Any]]:
        """The state, locked; written back when the block ends without an error."""

        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            state = self._read()
            yield state
            self._write(state)
        finally:
            os.close(fd)  # releases the lock

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict):
            data = {}
        slots = data.get("slots")
        hour = data.get("hour")
        paused: Any = data.get("paused_until")
        return {
            "slots": [s for s in slots if _valid_slot(s)] if isinstance(slots, list) else [],
            "hour": [t for t in hour if _number(t)] if isinstance(hour, list) else [],
            "paused_until": float(paused) if _number(paused) else 0.0,
        }

    def _write(self, state: dict[str, Any]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{self._pid}.{threading.get_ident()}")
        tmp.write_text(json.dumps(state, separators=(",", ":")), encoding="utf-8")
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def _prune(self, state: dict[str, Any], now: float) -> None:
        state["slots"] = [
            s
            for s in state["slots"]
            if (s[1] is None and _alive(int(s[2])))
            or (s[1] is not None and s[1] + self.window > now)
        ]
        state["hour"] = [t for t in state["hour"] if t + self.hourly_window > now]

    # -- RateLimiter's interface ---------------------------------------------------------
    def acquire(self) -> list[float]:
        with self._local:
            while True:
                interrupt.check()  # after Ctrl-C, no slot is taken for a request never sent
                now = time.time()
                with self._state() as state:
                    self._prune(state, now)
                    delay = state["paused_until"] - now
                    if delay <= 0 and len(state["hour"]) >= self.hourly_limit:
                        raise self._exhausted(state, now)
                    if delay <= 0 and len(state["slots"]) < self.limit:
                        state["slots"].append([now, None, self._pid])
                        state["hour"].append(now)
                        self.total += 1
                        return [now]
                    if delay <= 0:
                        answered = [s[1] for s in state["slots"] if s[1] is not None]
                        delay = min(answered) + self.window - now if answered else _POLL
                started = time.monotonic()
                interrupt.sleep(min(max(delay, 0.001), 1.0))
                self.waited += time.monotonic() - started

    def release(self, ticket: list[float]) -> None:
        sent = ticket[0]
        with self._state() as state:
            for slot in state["slots"]:
                if slot[0] == sent and slot[2] == self._pid and slot[1] is None:
                    slot[1] = time.time()
                    break

    def pause(self, seconds: float) -> None:
        """A 429: every process of the account waits (at most :data:`MAX_RETRY_AFTER`)."""
        until = time.time() + min(max(seconds, 0.0), MAX_RETRY_AFTER)
        with self._state() as state:
            state["paused_until"] = max(state["paused_until"], until)

    # -- the hourly budget ---------------------------------------------------------------
    def hourly_remaining(self) -> int:
        now = time.time()
        with self._state() as state:
            self._prune(state, now)
            return max(0, self.hourly_limit - len(state["hour"]))

    def _exhausted(self, state: dict[str, Any], now: float) -> BudgetExhausted:
        hour = sorted(state["hour"])
        resume = hour[len(hour) - self.hourly_limit] + self.hourly_window
        at = time.strftime("%H:%M:%S", time.localtime(resume))
        return BudgetExhausted(
            f"The account's hourly request budget is used up ({self.hourly_limit} requests per "
            f"{human_duration(self.hourly_window)}, counted across every ksegcli run on this "
            f"machine); stopped before sending more. This run sent {self.total} requests.",
            hint=f"What was done is kept. Rerun after {at} (in {human_duration(resume - now)}); "
            "the rerun skips what is already done.",
        )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _valid_slot(slot: Any) -> bool:
    return (
        isinstance(slot, list)
        and len(slot) == 3
        and _number(slot[0])
        and (slot[1] is None or _number(slot[1]))
        and isinstance(slot[2], int)
    )


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, as another user's process
    return True


def shared_limiter(
    cache: Path,
    api_url: str,
    client_id: str,
    limit: int,
    window: float,
    *,
    hourly_limit: int,
    hourly_window: float,
    log: Any = None,
) -> RateLimiter:
    """The account's shared limiter, or a per-process one if the cache folder is unusable."""
    path = account_path(cache, LIMITS_FOLDER, api_url, client_id, ".json")
    folder = path.parent
    try:
        from ksegcli.core.paths import ensure_private_dir

        ensure_private_dir(folder)
        limiter = SharedRateLimiter(
            path, limit, window, hourly_limit=hourly_limit, hourly_window=hourly_window
        )
        limiter.hourly_remaining()  # proves the folder is writable
        return limiter
    except (OSError, ImportError) as exc:
        if log is not None:
            log(f"The request budget is counted for this process only ({folder}: {exc}).")
        return RateLimiter(limit, window)
