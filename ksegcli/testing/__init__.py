"""Test support shipped with ksegcli: a fake Kameleoon + Segment server."""

from ksegcli.testing.fake_server import (
    FAULT_KINDS,
    Account,
    FakeConfig,
    FakeServer,
    FakeState,
    RequestRecord,
    SegmentWorkspace,
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
    "main",
    "serve",
]
