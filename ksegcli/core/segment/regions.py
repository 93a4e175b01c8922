"""Where the Segment Public API is: the workspace's region and its host.

Facts are from docs/api-facts.md §4 (C).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ksegcli.core import config
from ksegcli.errors import BadInputError

if TYPE_CHECKING:
    from ksegcli.core.session import Session

# --- regions (C) -------------------------------------------------------------------
REGION_HOSTS: dict[str, str] = {
    "us": config.SEGMENT_API.default,
    "eu": "https://eu1.api.segmentapis.com",
}
DEFAULT_REGION = "us"
PROFILE_REGION_KEY = "segment_region"


def normalize_region(region: str) -> str:
    value = region.strip().lower()
    if value not in REGION_HOSTS:
        raise BadInputError(
            f"Unknown Segment region {region!r}.",
            hint=f"Use one of: {', '.join(REGION_HOSTS)}.",
        )
    return value


def resolve_region(session: Session, region: str | None = None) -> str:
    """``--region`` → profile ``segment_region`` → ``us``."""
    if region:
        return normalize_region(region)
    stored = session.profile.get(PROFILE_REGION_KEY)
    if stored:
        return normalize_region(stored)
    return DEFAULT_REGION


def segment_base_url(session: Session, region: str | None = None) -> str:
    """Where the Segment Public API is, in one place.

    ``KSEG_SEGMENT_API_URL`` (tests, sandboxes) wins; then an explicit
    ``--region``; then the profile's ``segment_api_url``; then its
    ``segment_region``; then the US host.
    """
    service = config.SEGMENT_API
    if region:
        region = normalize_region(region)
    if session.env.get(service.env):
        return config.base_url(service, session.profile, session.env)
    if region:
        return REGION_HOSTS[region]
    if session.profile.get(service.key):
        return config.base_url(service, session.profile, session.env)
    return REGION_HOSTS[resolve_region(session)]
