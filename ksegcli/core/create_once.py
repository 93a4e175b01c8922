"""Create once, even when the answer is lost: one policy for every create.

A POST is never resent blindly (core/http/client.py): the server may have acted before
its answer was lost. So when a create's answer is lost (a time-out, a dropped
connection, a 5xx), :func:`create_once` looks for the thing first and sends the
create again only if it is absent: at most :data:`MAX_ATTEMPTS` creates in all,
with the client's growing, jittered pause between them. A refusal (4xx) is
raised at once: the server did nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ksegcli.errors import ApiError, KsegError, NetworkError

if TYPE_CHECKING:
    from ksegcli.core.http.client import HttpClient

#: Creates whose answer was lost are sent at most this many times in all.
MAX_ATTEMPTS = 4

T = TypeVar("T")


def maybe_committed(exc: KsegError) -> bool:
    """Could the server have acted although no success answer came back?"""
    if isinstance(exc, NetworkError):
        return True
    return isinstance(exc, ApiError) and exc.status is not None and exc.status >= 500


def create_once(
    http: HttpClient,
    create: Callable[[], T],
    find: Callable[[], T | None],
    *,
    attempts: int = MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[T, bool]:
    """``create()``'s answer, or what ``find()`` found after a lost answer (then True).

    ``find`` returns None when the thing is not there. ``http`` is the client the
    create goes through: its pause between attempts and its ``-v`` log.
    """
    for attempt in range(1, attempts + 1):
        try:
            return create(), False
        except KsegError as exc:
            if not maybe_committed(exc) or attempt == attempts:
                raise
            http.note(f"  the answer was lost ({exc.message}); checking before a retry")
            found = find()
            if found is not None:
                return found, True
            sleep(http.pause(attempt))
    raise AssertionError("unreachable")  # pragma: no cover
