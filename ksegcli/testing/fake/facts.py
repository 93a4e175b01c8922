"""Facts about the remote APIs that the fake relies on, and the faults it can inject.

Each fact is marked C (confirmed) or I (inferred), so that a correction is a
one-line change; docs/api-facts.md gives their sources.
"""

from __future__ import annotations

MAX_PER_PAGE = 200  # I: Kameleoon lists take perPage <= 200
DEFAULT_PER_PAGE = 200  # I: unknown; the brief picks the maximum
FILTER_OPERATORS = ("EQUAL", "NOT_EQUAL", "IN")  # I: Postman collections
CREATED_STATUS = 201  # I: Kameleoon POST answers; clients should accept any 2xx
DELETED_STATUS = 204  # I: Kameleoon DELETE answers, no body
SITE_TYPES = ("SITE", "SITE_JS", "SITE_SDK", "APPLICATION")  # I: kam-cli
# The sandbox's demo project and Segment source: the ones examples/account.toml names.
DEMO_SITECODE = "ABCDE12345"
DEMO_SOURCE_ID = "qQEHquLrjRDN9j1ByrChyn"
# I: "SEGMENT" is our reading; the others appear in community code and the UI.
INTEGRATION_TOOL_NAMES = (
    "SEGMENT",
    "GOOGLE_UNIVERSAL_ANALYTICS",
    "GOOGLE_ANALYTICS_4",
    "GOOGLE_TAG_MANAGER",
    "AMPLITUDE",
    "MIXPANEL",
    "HEAP",
    "PIANO",
    "AT_INTERNET",
    "ADOBE_OMNITURE",
    "CONTENTSQUARE",
    "TEALIUM",
    "CUSTOM_INTEGRATION",
)
CUSTOM_DATA_TYPES = ("UNIQUE", "LIST", "COUNT_LIST")  # I: kam-cli
CUSTOM_DATA_FORMATS = ("STRING", "NUMBER", "BOOLEAN")  # I
CUSTOM_DATA_METHODS = (
    "CLIENT",
    "CUSTOM_CODE",
    "GTM",
    "SDK",
    "TC",
    "TEALIUM",
    "ADOBE_ANALYTICS",
)  # I
CUSTOM_DATA_SCOPES = ("PAGE", "VISIT", "VISITOR")  # I
CUSTOM_DATA_PER_SITE = 255  # C: help.kameleoon.com
GOAL_TYPES = ("CUSTOM", "CLICK", "URL", "SCROLL", "TIME_SPENT", "PAGE_VIEWS")  # I
CAMPAIGN_STATUSES = ("DRAFT", "ACTIVE", "PAUSED", "STOPPED", "SCHEDULED", "ARCHIVED")  # I
MAX_REMOTE_DATA_KEYS = 100  # C: Data API /map/maps
KAMELEOON_METADATA_ID = "652ea51a327a62b351aa12c0"  # C: Segment catalog
SEGMENT_ALPHA_MEDIA_TYPE = "application/vnd.segment.v1alpha+json"  # C
SEGMENT_DEFAULT_PAGE_COUNT = 10  # I
SEGMENT_MAX_PAGE_COUNT = 200  # I
# C: action-destinations kameleoon/index.ts: four actions, presets for
# track/page/identify/group (screen is not mapped by default).
KAMELEOON_ACTIONS = (
    ("logEvent", "Log Event", 'type = "track"', "Track Calls"),
    ("page", "Page", 'type = "page"', "Page Calls"),
    ("identify", "Identify", 'type = "identify"', "Identify Calls"),
    ("group", "Group", 'type = "group"', "Group Calls"),
)

FAULT_KINDS = (
    "500",
    "503",
    "429",
    "403",
    "drop_before",
    "drop_after_commit",
    "timeout",
    "trickle",  # the normal answer, its body sent one byte every trickle_interval seconds
    "huge_error",  # a 400 whose message is huge_error_bytes long
    "500_after_commit",  # the request is carried out, then answered 500
)
