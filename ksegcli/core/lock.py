"""One advisory lock per account: runs that write to an account take turns on one machine.

Two runs writing to one account at once (a CI job started twice, a developer's
``apply`` next to a script's) would both plan on the same state and both write.
The remote side converges anyway (core/kameleoon/customdata.py), but on one machine the
runs can simply take turns: every run that writes holds an exclusive ``flock``
on ``locks/<account>.lock`` in the cache folder (the account key of
core/paths.py, as for the shared request count), from before it reads what it
will change until it ends. Read-only commands and dry runs never take it.

The file holds the holder's pid, command and start time, for the message of the
run that waits. The operating system releases the lock when its process ends,
however it ends: a killed run never blocks the next one, and the file left
behind means nothing by itself.

Where ``fcntl`` does not exist (Windows), runs do not take turns:
:func:`fcntl_available` says so and the session notes it in the ``-v`` log.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ksegcli.core import interrupt
from ksegcli.core.config import ENV_LOCK_TIMEOUT
from ksegcli.core.http.client import human_duration
from ksegcli.core.paths import ensure_private_dir
from ksegcli.errors import ErrorCode, ExitCode, KsegError
from ksegcli.output import sanitize

LOCKS_FOLDER = "locks"
DEFAULT_TIMEOUT = 600.0
_POLL = 0.1  # seconds between tries while another run holds the lock


@dataclass(frozen=True)
class Holder:
    """What the lock file says about the run holding it."""

    pid: int
    command: str
    started: float  # wall-clock seconds

    def describe(self, now: float | None = None) -> str:
        """``pid 1234, `apply`, started 12 s ago``."""

        ago = max(0.0, (time.time() if now is None else now) - self.started)
        return f"pid {self.pid}, `{self.command}`, started {human_duration(ago)} ago"


class LockTimeout(KsegError):
    """Another run held the account's lock longer than ``KSEG_LOCK_TIMEOUT``."""

    code: ErrorCode = "timeout"
    exit_code = ExitCode.NETWORK


def fcntl_available() -> bool:
    try:
        import fcntl  # noqa: F401
    except ImportError:
        return False
    return True


def read_holder(path: Path) -> Holder | None:
    """The holder the file names, or None when it names none (empty, damaged, foreign)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    pid, command, started = data.get("pid"), data.get("command"), data.get("started")
    if (
        not isinstance(pid, int)
        or isinstance(pid, bool)
        or not isinstance(command, str)
        or not isinstance(started, int | float)
        or isinstance(started, bool)
        or started != started  # nan
    ):
        return None

    return Holder(pid, sanitize(command[:80], newlines=False), float(started))


class AccountLock:
    """The exclusive lock of one account's runs that write (see the module's docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(
        self,
        *,
        command: str,
        started: float,
        timeout: float,
        on_wait: Callable[[Holder | None], None] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """Take the lock, waiting at most ``timeout`` seconds (0: fail at once).

        ``on_wait`` is called once, with the holder, when the lock is taken by another
        run. Raises :class:`LockTimeout` when it is still held after ``timeout``, and
        ``OSError`` when the cache folder cannot hold the lock file.
        """

        if self._fd is not None:
            return

        ensure_private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            begun = time.monotonic()
            deadline = begun + timeout
            told = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pass
                interrupt.check("waiting for the account's lock")  # Ctrl-C ends the wait
                now = time.monotonic()
                if now >= deadline:
                    raise self._timeout(timeout)
                if not told:
                    # The holder writes its record just after taking the lock: give it a moment.
                    holder = read_holder(self.path)
                    if holder is not None or now - begun >= 1.0:
                        told = True
                        if on_wait is not None:
                            on_wait(holder)
                (sleep or interrupt.sleep)(min(_POLL, max(deadline - time.monotonic(), 0.001)))
            record = json.dumps({"pid": os.getpid(), "command": command, "started": started})
            os.ftruncate(fd, 0)
            os.pwrite(fd, record.encode("utf-8"), 0)
        except BaseException:
            os.close(fd)  # also releases the lock if it was taken
            raise
        self._fd = fd

    def release(self) -> None:
        """Let the next run in (the process's end does the same)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # the file names no holder between runs
        os.close(fd)

    def _timeout(self, timeout: float) -> LockTimeout:
        holder = read_holder(self.path)
        who = f" ({holder.describe()})" if holder else ""
        if timeout <= 0:
            waited = f"and {ENV_LOCK_TIMEOUT}=0"
        else:
            waited = f"after {timeout:g} s" if timeout < 600 else f"after {human_duration(timeout)}"
        return LockTimeout(
            f"Another ksegcli run on this account{who} still holds its lock {waited}; "
            "this run changed nothing.",
            hint=f"Rerun when it has finished, or wait longer with {ENV_LOCK_TIMEOUT}=SECONDS "
            f"(default {DEFAULT_TIMEOUT:g}; 0 fails at once). The lock is the file {self.path}.",
        )
