"""Test support shipped with ksegcli: a fake Kameleoon + Segment server.

The public names of ksegcli.testing.fake are loaded on first use, so that a process that
only needs ksegcli.testing.keyrings (a keyring backend) does not load the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ksegcli.testing.fake import *  # noqa: F403


def __getattr__(name: str) -> Any:
    if not name.startswith("_"):
        from importlib import import_module

        fake = import_module("ksegcli.testing.fake")
        if name in fake.__all__:
            return getattr(fake, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
