"""When the Automation API will not take a request as ksegcli reads it: one wording.

Two answers are not ordinary failures for an endpoint whose shape is inferred
(docs/api-facts.md): a *refusal* (:data:`REFUSAL_STATUSES`: the path, verb or body
is not what this API takes) and a *403* (the API client lacks the right). Either
way the user gets the server's own words, what rests on an inference, and the way
to do it by hand. Used by the integration tool, the identifier script and the
campaigns' reporting tools.
"""

from __future__ import annotations

from ksegcli.errors import ApiError, AuthError, ExitCode, KsegError

# --- inferred (I) ---------------------------------------------------------------------------
#: Statuses that mean "this API does not take the request as we read it".
REFUSAL_STATUSES = frozenset({400, 404, 405})
# ----------------------------------------------------------------------------------------------
FORBIDDEN = 403


def server_words(exc: ApiError) -> str:
    """The server's message without our "X refused METHOD PATH (HTTP n): " prefix."""
    return exc.message.split(": ", 1)[-1] if ": " in exc.message else exc.message


def is_refusal(exc: KsegError) -> bool:
    return isinstance(exc, ApiError) and exc.status in REFUSAL_STATUSES


def refused(exc: ApiError, method: str, path: str, *, inference: str, hint: str) -> ApiError:
    """The API does not take the endpoint as we read it (exit 5)."""
    return ApiError(
        f"The Automation API refused {method} {path} (HTTP {exc.status}): {server_words(exc)}. "
        f"{inference[:1].upper()}{inference[1:]} is an inference (docs/api-facts.md).",
        status=exc.status,
        code="api_refused",
        exit_code=ExitCode.API,
        hint=hint,
    )


def forbidden(exc: ApiError, method: str, path: str, *, doing: str, hint: str) -> AuthError:
    """A 403: the credentials work, but this API client may not do that (exit 3)."""
    return AuthError(
        f"Your API client is not allowed to {doing} (HTTP 403 to {method} {path}: "
        f"{server_words(exc)}).",
        hint=f"{hint} Or ask a Kameleoon admin to give this API client that right.",
    )


def explain(
    exc: KsegError, method: str, path: str, *, doing: str, inference: str, hint: str
) -> KsegError:
    """``exc`` in the user's terms when it is a 403 or a refusal; else ``exc`` itself."""
    if not isinstance(exc, ApiError):
        return exc
    if exc.status == FORBIDDEN:
        return forbidden(exc, method, path, doing=doing, hint=hint)
    if exc.status in REFUSAL_STATUSES:
        return refused(exc, method, path, inference=inference, hint=hint)
    return exc
