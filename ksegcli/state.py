"""Per-run state shared by every command: global options, output, the core session."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import typer

from ksegcli.output import Output

if TYPE_CHECKING:
    from ksegcli.core.config import Profile
    from ksegcli.core.http.trace import Tracer
    from ksegcli.core.session import Session


DEFAULT_PROFILE = "default"


class AppState:
    """The run's global options, output and (built on first use) core session.

    A plain class, not a dataclass: creating one costs every run about a millisecond.
    """

    def __init__(
        self,
        *,
        profile_name: str = DEFAULT_PROFILE,
        json_mode: bool = False,
        verbose: int = 0,
        no_input_flag: bool = False,
        output: Output | None = None,
    ) -> None:
        self.profile_name = profile_name
        self.json_mode = json_mode
        self.verbose = verbose
        self.no_input_flag = no_input_flag
        self.output = Output() if output is None else output
        self.tracer: Tracer | None = None  # --trace FILE / KSEG_TRACE
        self._session: Session | None = None

    @property
    def interactive(self) -> bool:
        """May we prompt? Never with --no-input, in CI, or without a TTY on stdin."""
        if self.no_input_flag or os.environ.get("CI"):
            return False
        return sys.stdin.isatty()

    @property
    def session(self) -> Session:
        if self._session is None:
            from ksegcli.core.session import Session

            self._session = Session(
                profile_name=self.profile_name,
                interactive=self.interactive,
                log=self.output.debug if self.verbose else None,
                warn=self.output.warn,
                notice=self.output.info,
                command=_command_name(),
                lock_writes=True,
                trace=self.tracer,
            )
        return self._session

    @property
    def profile(self) -> Profile:
        return self.session.profile

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
        if self.tracer is not None:
            self.tracer.close()


def _command_name() -> str:
    """The running command's names (``customdata create personas``): never an argument."""
    from typer._click.globals import get_current_context

    ctx = get_current_context(silent=True)
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names)) or "ksegcli"


def get_state(ctx: typer.Context) -> AppState:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppState):  # a command run without the root callback (tests)
        obj = AppState()
        ctx.find_root().obj = obj
    return obj
