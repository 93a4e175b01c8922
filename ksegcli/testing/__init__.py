"""Test support shipped with ksegcli: a fake Kameleoon + Segment server.

Names are loaded on first use: importing fake_server here eagerly would make
`python -m ksegcli.testing.fake_server` run a second copy of the module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ksegcli.testing.fake_server import (
        FAULT_KINDS,
        Account,
        FakeConfig,
        FakeServer,
        FakeState,
        RequestRecord,
        SegmentWorkspace,
        env_lines,
        main,
        serve,
    )

__all__ = [
    "FAULT_KINDS",
    "Account",
    "FakeConfig",
    "FakeServer",
    "FakeState",
    "RequestRecord",
    "SegmentWorkspace",
    "env_lines",
    "main",
    "serve",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ksegcli.testing import fake_server

        return getattr(fake_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
