"""Ctrl-C while a command writes: stop starting requests, keep what was done, say so.

The CLI installs :func:`installed` around every command. The first SIGINT sets one
process-wide flag, then:

- once the command started writing (:func:`enter_writes`, to its end),
  nothing is raised: the executor (core/plan.py) hands out no further write,
  core/http/client.py refuses to send any new request (:func:`check`), and the main thread
  waits for the request in flight at most :data:`GRACE` seconds after the signal
  (:func:`join`, :func:`call`) before it reports what was done;
- anywhere else (reading, planning: nothing written yet) it raises
  ``KeyboardInterrupt``, as Python's own handler would.

A second SIGINT ends the process at once (exit 130) with one line on stderr: no
clean-up, no traceback, whatever the main thread was doing.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from ksegcli.errors import ErrorCode, ExitCode, KsegError

T = TypeVar("T")

#: Seconds a request in flight is given, after the first Ctrl-C, to finish before it is
#: abandoned (its outcome then unknown). The whole wind-down stays under 5 s.
GRACE = 3.0
#: How often a waiting main thread looks at the flag (signal handlers run between waits).
POLL = 0.05

_flag = threading.Event()
_state: dict[str, Any] = {"when": None, "shield": 0, "reported": False}
_local = threading.local()


class RequestStopped(KsegError):
    """A request that was not sent because the run was interrupted. ``in_flight``: the
    step it belongs to had already sent something (its outcome is unknown); else the
    step was not started at all."""

    code: ErrorCode = "interrupted"
    exit_code = ExitCode.INTERRUPTED
    in_flight = True


def not_started(what: str) -> RequestStopped:
    """The error of a step the run did not start because of Ctrl-C."""
    error = RequestStopped(
        f"Not sent: the run was interrupted (Ctrl-C) before {what}.",
        hint="Rerun the command: it finds what was done and does the rest.",
    )
    error.in_flight = False
    return error


def request_stop() -> None:
    """What the first Ctrl-C does: ask the run to stop (also for tests)."""
    if not _flag.is_set():
        _state["when"] = time.monotonic()
        _flag.set()


def requested() -> bool:
    """Has Ctrl-C been pressed during this run?"""
    return _flag.is_set()


def check(what: str = "") -> None:
    """Raise :class:`RequestStopped` once Ctrl-C was pressed: called before every send."""
    if _flag.is_set():
        raise RequestStopped(
            f"Not sent{f' ({what})' if what else ''}: the run was interrupted (Ctrl-C).",
            hint="Rerun the command: it finds what was done and does the rest.",
        )


def sleep(seconds: float) -> None:
    """``time.sleep`` that Ctrl-C cuts short (retry back-offs, rate-limit waits)."""
    _flag.wait(max(seconds, 0.0))


def deadline() -> float:
    """The monotonic time until which a request in flight is waited for."""
    when = _state["when"]
    return float("inf") if when is None else float(when) + GRACE


def join(threads: Sequence[threading.Thread]) -> bool:
    """Wait for ``threads``; after Ctrl-C, no later than :func:`deadline`.

    True when they all ended, False when some were abandoned still running (daemon
    threads: they never hold the process back).
    """
    for thread in threads:
        while thread.is_alive():
            thread.join(POLL)
            if _flag.is_set() and time.monotonic() >= deadline():
                return not any(t.is_alive() for t in threads)
    return True


def call(fn: Callable[[], T]) -> T:
    """Run ``fn`` (which sends requests) in a daemon thread and wait for it as
    :func:`join` does. Its exception is raised here; abandoned: :class:`RequestStopped`."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the waiting thread, raised there
            box["error"] = exc

    thread = threading.Thread(target=run, name="ksegcli-call", daemon=True)
    thread.start()
    if not join([thread]):
        raise RequestStopped(
            f"Abandoned after {GRACE:g} s: the run was interrupted (Ctrl-C) while a request "
            "was in flight; its outcome is unknown.",
            hint="Rerun the command: it finds what was done and does the rest.",
        )
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def enter_writes() -> None:
    """The command starts writing: from now to its end, a first Ctrl-C only asks the run
    to stop (see the module doc), so that what was done is always reported."""
    _state["shield"] = 1


def writing() -> bool:
    return bool(_state["shield"])


def note_sent() -> None:
    """core/http/client.py: this thread sent a request (see :func:`sent_by_this_thread`)."""
    _local.sent = getattr(_local, "sent", 0) + 1


def sent_by_this_thread() -> int:
    """How many requests this thread has sent: tells a write that was never sent
    (``skipped``) from one whose outcome is unknown (``interrupted``)."""
    return int(getattr(_local, "sent", 0))


def mark_reported() -> None:
    """The interrupted run's results were printed: the CLI adds no "Interrupted." error."""
    _state["reported"] = True


def reported() -> bool:
    return bool(_state["reported"])


def reset() -> None:
    """A fresh run (the CLI runs several in one process in tests)."""
    _flag.clear()
    _state.update(when=None, shield=0, reported=False)


def _say(text: str) -> None:
    # os.write, not sys.stderr: the handler may run while the main thread is inside a
    # write to sys.stderr, and the buffered writer refuses re-entrant calls.
    with suppress(OSError):
        os.write(2, (text + "\n").encode())


def _on_sigint(signum: int, frame: object) -> None:
    if _flag.is_set():
        _say("Interrupted again: exiting at once (exit 130).")
        os._exit(int(ExitCode.INTERRUPTED))
    request_stop()
    if not _state["shield"]:
        raise KeyboardInterrupt
    _say(
        f"Stopping: no new request is sent; the one in flight gets at most {GRACE:g} s. "
        "Press Ctrl-C again to exit at once."
    )


@contextmanager
def installed() -> Iterator[None]:
    """Handle SIGINT as above for the duration of a command (main thread only)."""
    reset()
    try:
        previous = signal.signal(signal.SIGINT, _on_sigint)
    except ValueError:  # not the main thread (an embedding host): leave Python's handler
        yield
        return
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
