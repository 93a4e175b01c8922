"""Planned actions and their execution, shared by the setup commands and ``apply``.

Planning is pure: desired state + what the API listed → a list of :class:`Action`
(create / update / unchanged / drifted / delete / duplicate / install / uninstall /
blocked),
each with the reason and, for a write, the exact :class:`Request` it needs.
Execution (:func:`execute`) sends those requests, a bounded number at a time,
through the one rate-limited client, and turns every outcome into an
:class:`ActionResult`; one item failing never stops the others.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ksegcli.core import interrupt
from ksegcli.errors import ApiError, ExitCode, KsegError

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.client import KameleoonClient, Site

ActionKind = Literal[
    "create",
    "update",
    "unchanged",
    "drifted",
    "delete",
    "duplicate",  # a second copy of ksegcli's own item: deleted, the oldest is kept
    "install",
    "uninstall",
    "blocked",
]
#: Actions that write something.
WRITES: frozenset[str] = frozenset(
    {"create", "update", "delete", "duplicate", "install", "uninstall"}
)
#: What each write becomes once done.
DONE: Mapping[str, str] = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "duplicate": "deleted",
    "install": "installed",
    "uninstall": "uninstalled",
}

Resource = Literal["integration", "custom-data", "identifier"]


@dataclass(frozen=True)
class Request:
    """One write exactly as it will be sent (path relative to the API base URL)."""

    method: str
    path: str
    body: Any = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"method": self.method, "path": self.path}
        if self.body is not None:
            data["body"] = self.body
        return data


@dataclass
class Action:
    """One planned step on one project."""

    site: Site
    resource: Resource
    name: str  # the custom data's name, the integration tool's label, or "identifier script"
    action: ActionKind
    reason: str
    request: Request | None = None
    kind: str | None = None  # custom data: personas | trait | group | other
    existing_id: int | None = None
    # what the item should look like (custom data: the create body), for the JSON plan
    desired: Mapping[str, Any] | None = None
    # why a blocked action cannot be done, when an error says it best (kept for its hint)
    error: KsegError | None = field(default=None, repr=False)
    # what the plan read and the write sends back (another's data): saved to a backup first
    read: Any = field(default=None, repr=False, compare=False)

    @property
    def writes(self) -> bool:
        return self.action in WRITES

    def to_json(self) -> dict[str, Any]:
        return {
            "project": {"id": self.site.id, "sitecode": self.site.code, "name": self.site.name},
            "resource": self.resource,
            "name": self.name,
            "kind": self.kind,
            "action": self.action,
            "reason": self.reason,
            "id": self.existing_id,
            "request": self.request.to_json() if self.request else None,
        }


Status = Literal[
    "created",
    "updated",
    "deleted",
    "installed",
    "uninstalled",
    "unchanged",
    "drifted",
    "failed",
    "not applied",
    "interrupted",  # Ctrl-C while its write was in flight: outcome unknown
    "skipped",  # Ctrl-C before its write was sent
]


@dataclass
class ActionResult:
    action: Action
    status: Status
    message: str
    id: int | None = None
    error: KsegError | None = field(default=None, repr=False)

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "not applied")

    def to_json(self) -> dict[str, Any]:
        data = self.action.to_json()
        data.pop("request", None)
        data.update({"status": self.status, "message": self.message, "id": self.id})
        if self.error is not None:
            data["error"] = {
                "code": self.error.code,
                "message": self.error.message,
                "hint": self.error.hint,
            }
        return data


SKIPPED = "not sent: the run was interrupted (Ctrl-C) before it"
#: Writes in flight at once (the rate limiter holds whatever the number).
DEFAULT_WORKERS = 8

Handler = Callable[["KameleoonClient", Action], ActionResult]
Progress = Callable[[ActionResult], None]


def not_written(action: Action) -> ActionResult:
    """The result of an action that needs no request."""
    if action.action == "blocked":
        error = action.error or ApiError(action.reason, code="api_refused")
        return ActionResult(action, "failed", action.reason, action.existing_id, error)
    status: Status = "drifted" if action.action == "drifted" else "unchanged"
    return ActionResult(action, status, action.reason, action.existing_id)


def execute(
    client: KameleoonClient,
    actions: Sequence[Action],
    handlers: Mapping[str, Handler],
    *,
    workers: int = DEFAULT_WORKERS,
    progress: Progress | None = None,
) -> list[ActionResult]:
    """Run every write of ``actions`` (``handlers`` keyed by resource), in parallel.

    The client's rate limiter is shared by all threads, so concurrency only hides
    latency; it never raises the request rate above the limit. Results come back
    in the order of ``actions``. A failing item is reported, never raised.

    The writes run in worker threads while the caller's thread only waits, so that
    Ctrl-C (core/interrupt.py) is answered at once: no further write is started, a
    write in flight is given a few seconds, and the results say which writes were
    done, which was ``interrupted`` in flight and which were ``skipped``.
    """

    results: list[ActionResult | None] = [None] * len(actions)
    lock = threading.Lock()
    closed = False  # set once the caller stopped waiting: late outcomes are not reported
    errors: list[BaseException] = []

    def record(index: int, result: ActionResult) -> None:
        with lock:
            if closed:
                return
            results[index] = result
            if progress is not None:
                progress(result)

    def run(index: int) -> None:
        action = actions[index]
        sent = interrupt.sent_by_this_thread()
        try:
            result = handlers[action.resource](client, action)
        except interrupt.RequestStopped as exc:
            if interrupt.sent_by_this_thread() == sent:
                result = ActionResult(action, "skipped", SKIPPED, action.existing_id)
            else:  # its write went out, a request that would tell its outcome did not
                result = ActionResult(
                    action,
                    "interrupted",
                    "interrupted in flight: its outcome is unknown (a rerun finds out)",
                    action.existing_id,
                    exc,
                )
        except KsegError as exc:
            # A 2xx whose change the read-back does not show: "not applied", not "done".
            status: Status = "not applied" if exc.code == "not_applied" else "failed"
            result = ActionResult(action, status, exc.message, action.existing_id, exc)
        record(index, result)

    for i, action in enumerate(actions):
        if not action.writes:
            record(i, not_written(action))
    queue = deque(i for i, a in enumerate(actions) if a.writes)
    in_flight: set[int] = set()

    def worker() -> None:
        while True:
            with lock:
                if not queue or interrupt.requested():
                    return
                index = queue.popleft()
                in_flight.add(index)
            try:
                run(index)
            except BaseException as exc:  # a bug: raised in the caller's thread below
                with lock:
                    errors.append(exc)
                return
            finally:
                with lock:
                    in_flight.discard(index)

    if queue:
        interrupt.enter_writes()
        threads = [
            threading.Thread(target=worker, name=f"ksegcli-write-{n}", daemon=True)
            for n in range(max(1, min(workers, len(queue))))
        ]
        for thread in threads:
            thread.start()
        interrupt.join(threads)
        with lock:
            closed = True
            if errors and not interrupt.requested():
                raise errors[0]
            for index in in_flight:
                results[index] = ActionResult(
                    actions[index],
                    "interrupted",
                    f"interrupted while in flight; abandoned after {interrupt.GRACE:g} s, "
                    "its outcome is unknown (a rerun finds out)",
                    actions[index].existing_id,
                )
            for index in queue:
                results[index] = ActionResult(
                    actions[index], "skipped", SKIPPED, actions[index].existing_id
                )
    return [r for r in results if r is not None]


def exit_code(results: Iterable[ActionResult]) -> ExitCode:
    """OK when nothing failed, else the exit code of the first failure."""
    for result in results:
        if result.failed:
            return result.error.exit_code if result.error is not None else ExitCode.API
    return ExitCode.OK


def counts(items: Iterable[ActionResult | Action]) -> dict[str, int]:
    """How many of each status (results) or action (plans), for summaries."""
    out: dict[str, int] = {}
    for item in items:
        key = item.status if isinstance(item, ActionResult) else item.action
        out[key] = out.get(key, 0) + 1
    return out


def describe_counts(numbers: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {key}" for key, n in numbers.items()) or "nothing to do"
