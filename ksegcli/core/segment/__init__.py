"""The Segment side: the Public API and the Kameleoon (Actions) destination on a source.

One module per concern, each readable on its own:

- :mod:`.regions`: the workspace's region and the API host;
- :mod:`.client`: :class:`SegmentClient`, the endpoints and media types;
- :mod:`.mappings`: the five mappings, planned from Segment's catalog;
- :mod:`.destination`: the destination and its mappings, status and ensure;
- :mod:`.login`: prove a Segment token, then keep it.

The names below are the package's public surface.
"""

from __future__ import annotations

from ksegcli.core.segment.client import (
    ALPHA_MEDIA_TYPE,
    CATALOG_DESTINATION_PATH,
    DESTINATION_PATH,
    DESTINATIONS_PATH,
    KAMELEOON_METADATA_ID,
    PAGE_COUNT,
    SOURCES_PATH,
    SUBSCRIPTION_PATH,
    SUBSCRIPTIONS_PATH,
    SegmentClient,
    segment_client,
)
from ksegcli.core.segment.destination import destination_status, ensure_destination
from ksegcli.core.segment.login import SegmentLogin, login_token, segment_login
from ksegcli.core.segment.mappings import (
    REQUIRED_MAPPINGS,
    MappingSpec,
    PlannedMapping,
    normalize_trigger,
    plan_mappings,
)
from ksegcli.core.segment.plan import (
    DESTINATION_NAME,
    SETTING_API_KEY,
    SETTING_SITECODE,
    find_destinations,
    is_kameleoon,
    settings_differences,
)
from ksegcli.core.segment.regions import (
    DEFAULT_REGION,
    PROFILE_REGION_KEY,
    REGION_HOSTS,
    normalize_region,
    resolve_region,
    segment_base_url,
)
from ksegcli.core.segment.result import (
    Change,
    DestinationResult,
    DestinationState,
    MappingState,
    MappingStatus,
)

__all__ = [
    "ALPHA_MEDIA_TYPE",
    "CATALOG_DESTINATION_PATH",
    "DEFAULT_REGION",
    "DESTINATIONS_PATH",
    "DESTINATION_NAME",
    "DESTINATION_PATH",
    "KAMELEOON_METADATA_ID",
    "PAGE_COUNT",
    "PROFILE_REGION_KEY",
    "REGION_HOSTS",
    "REQUIRED_MAPPINGS",
    "SETTING_API_KEY",
    "SETTING_SITECODE",
    "SOURCES_PATH",
    "SUBSCRIPTIONS_PATH",
    "SUBSCRIPTION_PATH",
    "Change",
    "DestinationResult",
    "DestinationState",
    "MappingSpec",
    "MappingState",
    "MappingStatus",
    "PlannedMapping",
    "SegmentClient",
    "SegmentLogin",
    "destination_status",
    "ensure_destination",
    "find_destinations",
    "is_kameleoon",
    "login_token",
    "normalize_region",
    "normalize_trigger",
    "plan_mappings",
    "resolve_region",
    "segment_base_url",
    "segment_client",
    "segment_login",
    "settings_differences",
]
