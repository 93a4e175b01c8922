"""The fake Kameleoon + Segment server, under the name tests and `ksegcli sandbox` use.

The server lives in the package ksegcli.testing.fake (one module per service); this
module re-exports its names and runs it::

    python -m ksegcli.testing.fake_server --port 8787 --seed-demo [--time-scale 0.1]
"""

from __future__ import annotations

from ksegcli.testing.fake.cli import env_lines, main, serve
from ksegcli.testing.fake.facts import (
    CAMPAIGN_STATUSES,
    CREATED_STATUS,
    CUSTOM_DATA_FORMATS,
    CUSTOM_DATA_METHODS,
    CUSTOM_DATA_PER_SITE,
    CUSTOM_DATA_SCOPES,
    CUSTOM_DATA_TYPES,
    DEFAULT_PER_PAGE,
    DELETED_STATUS,
    DEMO_SITECODE,
    DEMO_SOURCE_ID,
    FAULT_KINDS,
    FILTER_OPERATORS,
    GOAL_TYPES,
    INTEGRATION_TOOL_NAMES,
    KAMELEOON_ACTIONS,
    KAMELEOON_METADATA_ID,
    MAX_PER_PAGE,
    MAX_REMOTE_DATA_KEYS,
    SEGMENT_ALPHA_MEDIA_TYPE,
    SEGMENT_DEFAULT_PAGE_COUNT,
    SEGMENT_MAX_PAGE_COUNT,
    SITE_TYPES,
)
from ksegcli.testing.fake.server import FakeServer
from ksegcli.testing.fake.state import (
    Account,
    FakeConfig,
    FakeState,
    RequestRecord,
    SegmentWorkspace,
)

__all__ = [
    "CAMPAIGN_STATUSES",
    "CREATED_STATUS",
    "CUSTOM_DATA_FORMATS",
    "CUSTOM_DATA_METHODS",
    "CUSTOM_DATA_PER_SITE",
    "CUSTOM_DATA_SCOPES",
    "CUSTOM_DATA_TYPES",
    "DEFAULT_PER_PAGE",
    "DELETED_STATUS",
    "DEMO_SITECODE",
    "DEMO_SOURCE_ID",
    "FAULT_KINDS",
    "FILTER_OPERATORS",
    "GOAL_TYPES",
    "INTEGRATION_TOOL_NAMES",
    "KAMELEOON_ACTIONS",
    "KAMELEOON_METADATA_ID",
    "MAX_PER_PAGE",
    "MAX_REMOTE_DATA_KEYS",
    "SEGMENT_ALPHA_MEDIA_TYPE",
    "SEGMENT_DEFAULT_PAGE_COUNT",
    "SEGMENT_MAX_PAGE_COUNT",
    "SITE_TYPES",
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

if __name__ == "__main__":
    raise SystemExit(main())
