"""The tool's own errors and exit codes: the only way a command fails.

Core code raises :class:`KsegError` (or a subclass); the CLI layer turns it
into a message on stderr (or a JSON error document) and an exit code. Nothing
in here may hold a secret: messages are shown to the user as they are.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal


class ExitCode(IntEnum):
    """Process exit codes; documented in the README, stable across releases."""

    OK = 0
    ERROR = 1  # unexpected failure (a bug) or a generic error
    USAGE = 2  # bad flag, bad argument, bad input file, missing value in --no-input mode
    AUTH = 3  # credentials missing, refused, or not allowed
    NOT_FOUND = 4  # a named project, custom data, destination... does not exist
    API = 5  # the remote API refused or failed (4xx/5xx after retries)
    NETWORK = 6  # no connection, DNS failure, timeout
    CONFIG = 7  # config file unreadable or invalid, keyring unusable when required
    CHANGES_PENDING = 8  # apply --dry-run --detailed-exitcode: the plan has changes
    CHECK_FAILED = 9  # doctor / verification: at least one check failed
    DECLINED = 10  # asked on a terminal whether to go ahead, the user said no: nothing changed
    INTERRUPTED = 130  # Ctrl-C


ErrorCode = Literal[
    "error",
    "usage",
    "bad_input",
    "not_logged_in",
    "auth_failed",
    "not_found",
    "api_error",
    "api_refused",
    "not_applied",
    "rate_limited",
    "network",
    "timeout",
    "config",
    "keyring",
    "conflict",
    "changes_pending",
    "check_failed",
    "declined",
    "interrupted",
    "internal",
]


class KsegError(Exception):
    """A failure the user can act on: a message, an optional hint, an exit code."""

    code: ErrorCode = "error"
    exit_code: ExitCode = ExitCode.ERROR

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        code: ErrorCode | None = None,
        exit_code: ExitCode | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code
        if exit_code is not None:
            self.exit_code = exit_code

    def to_json(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message, "hint": self.hint}}


class UsageError(KsegError):
    code: ErrorCode = "usage"
    exit_code = ExitCode.USAGE


class BadInputError(KsegError):
    code: ErrorCode = "bad_input"
    exit_code = ExitCode.USAGE


class AuthError(KsegError):
    code: ErrorCode = "auth_failed"
    exit_code = ExitCode.AUTH


class NotLoggedInError(KsegError):
    code: ErrorCode = "not_logged_in"
    exit_code = ExitCode.AUTH


class NotFoundError(KsegError):
    code: ErrorCode = "not_found"
    exit_code = ExitCode.NOT_FOUND


class ApiError(KsegError):
    """The remote API answered with an error; ``status`` is the HTTP status."""

    code: ErrorCode = "api_error"
    exit_code = ExitCode.API

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        hint: str | None = None,
        code: ErrorCode | None = None,
        exit_code: ExitCode | None = None,
    ) -> None:
        super().__init__(message, hint=hint, code=code, exit_code=exit_code)
        self.status = status


class NotAppliedError(ApiError):
    """The API answered a write with success, but reading back shows the change is not there."""

    code: ErrorCode = "not_applied"
    exit_code = ExitCode.API


class NetworkError(KsegError):
    code: ErrorCode = "network"
    exit_code = ExitCode.NETWORK


class ConfigError(KsegError):
    code: ErrorCode = "config"
    exit_code = ExitCode.CONFIG


class KeyringUnavailableError(KsegError):
    code: ErrorCode = "keyring"
    exit_code = ExitCode.CONFIG


class RunStopped(BaseException):
    """Ends the run from wherever it is raised, past every handler that catches
    ``Exception`` (per-item failures, worker threads), as Ctrl-C would: for a failure
    that makes going on pointless. The CLI reports ``error`` and exits with its code."""

    def __init__(self, error: KsegError) -> None:
        super().__init__(error.message)
        self.error = error


def interrupted() -> KsegError:
    """Ctrl-C, wherever it lands: one message, exit 130."""
    return KsegError(
        "Interrupted.",
        code="interrupted",
        exit_code=ExitCode.INTERRUPTED,
        hint="Nothing was left half-written; rerunning the command is safe.",
    )
