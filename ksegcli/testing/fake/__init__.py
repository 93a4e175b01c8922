"""A fake Kameleoon + Segment server for tests and for `ksegcli sandbox`.

One stdlib HTTP server answers the four services ksegcli talks to (Automation
API with its OAuth endpoint, the API-key service, the Data API and the Segment
Public API) on one port: their paths do not collide. It enforces the rules of
docs/api-facts.md (auth, rate limits, paging, validation, media types) so that a
client that breaks one fails here as it would against the real service, and it
can inject faults (5xx, 429, dropped connections, hangs) on demand or at random.

Every fact about the remote APIs that the fake relies on is in facts.py, marked
C (confirmed) or I (inferred), so that a correction is a one-line change.

Layout: facts.py (API facts, fault kinds), state.py (config, state, records),
calls.py (request, answer, error), pipeline.py (faults, auth, rate limits, records
around every handler), one module per service contributing its routes and handlers
(automation.py with automation_rules.py, getapikey.py, data_api.py, segment_api.py,
segment_tracking.py), seeding.py (seeding and read helpers), server.py (FakeServer:
lifecycle, configuration, admin endpoints) and cli.py (the command line).

In a test::

    with FakeServer(FakeConfig(time_scale=0.1)) as srv:
        srv.add_account("id", "secret")
        site = srv.add_site("id", name="Shop")
        srv.inject("POST", r"^/custom-datas$", "drop_after_commit")
        ...  # point KSEG_*_URL at srv.url, run the client
        assert len(srv.custom_datas(site["id"])) == 1

As a sandbox (prints the KSEG_* variables and demo credentials)::

    python -m ksegcli.testing.fake_server --port 8787 --seed-demo [--time-scale 0.1]

Another process drives it through loopback-only admin endpoints:
GET /_fake/state, GET /_fake/requests[?since=N], GET|POST /_fake/config,
POST /_fake/inject {method, path, kind, count}, POST /_fake/reset,
POST /_fake/seed {...} (see FakeServer.seed), POST /_fake/expire-tokens.
"""

from __future__ import annotations

from ksegcli.testing.fake.cli import env_lines, main, serve
from ksegcli.testing.fake.facts import FAULT_KINDS
from ksegcli.testing.fake.server import FakeServer
from ksegcli.testing.fake.state import (
    Account,
    FakeConfig,
    FakeState,
    RequestRecord,
    SegmentWorkspace,
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
