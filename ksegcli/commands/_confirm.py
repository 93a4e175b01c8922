"""The one confirmation rule for commands that delete or overwrite.

Every destructive command (``customdata delete``, ``integration uninstall --all``,
``integration identifier uninstall --all``, ``apply --prune``) follows it, and so
does ``verify``, whose probe reaches every destination of a Segment source:

- ``--yes``: go ahead without a question.
- On a terminal (stdin is a TTY, no ``--no-input``, no ``CI``): show what will
  go, then ask; the default answer is no. Declining prints "Nothing changed."
  and exits with :attr:`ExitCode.DECLINED` (10).
- Without a terminal and without ``--yes``: refuse with a usage error (exit 2)
  *before* any request, so nothing is changed.

``apply`` on a terminal also shows its plan and asks before writing, deletes
or not; off a terminal it asks nothing and needs ``--yes`` only for ``--prune``.
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from ksegcli.errors import ExitCode, KsegError, UsageError
from ksegcli.state import AppState


def asks(state: AppState, *, yes: bool) -> bool:
    """Whether the run asks before it writes: on a terminal, without ``--yes``."""
    return state.interactive and not yes


def require_yes_off_terminal(state: AppState, *, yes: bool, what: str) -> None:
    """Refuse ``what`` off a terminal without ``--yes``; call before any request."""

    if yes or state.interactive:
        return
    raise UsageError(
        f"Refusing to {what} without confirmation; nothing was changed.",
        hint="Pass --yes to go ahead without a question (or run it on a terminal to be asked).",
    )


def confirm(
    state: AppState,
    *,
    yes: bool,
    question: str,
    show: Callable[[], None] | None = None,
    nothing: str = "Nothing changed.",
) -> None:
    """Show what will happen and ask ``question``; declining says ``nothing`` and exits 10.

    With ``yes``, or off a terminal (already refused by :func:`require_yes_off_terminal`
    where that matters), it returns at once.
    """
    if not asks(state, yes=yes):
        return
    if show is not None:
        show()
    if not typer.confirm(question, default=False, err=True):
        declined(state, nothing)


def declined(state: AppState, nothing: str = "Nothing changed.") -> None:
    """The user said no: say so, and exit with the documented code."""

    out = state.output
    if out.json_mode:
        out.error(KsegError(nothing, code="declined", exit_code=ExitCode.DECLINED))
    else:
        out.info(nothing)
    raise typer.Exit(int(ExitCode.DECLINED))
