"""``segment login``: prove a Segment token, then keep it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ksegcli.core.auth import credentials
from ksegcli.core.redact import register_secret
from ksegcli.core.segment.client import SOURCES_PATH, segment_client
from ksegcli.core.segment.regions import PROFILE_REGION_KEY, normalize_region, resolve_region

if TYPE_CHECKING:
    from ksegcli.core.session import Session


@dataclass(frozen=True)
class SegmentLogin:
    profile: str
    region: str
    sources: int  # sources on the first page: proof that the token reads the workspace
    keyring_backend: str

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "region": self.region,
            "sources_seen": self.sources,
            "keyring": self.keyring_backend,
        }


def login_token(session: Session, given: str | None) -> str:
    """The token `segment login` proves: ``given`` (standard input), SEGMENT_API_TOKEN, or
    asked for on a terminal; never the stored one, which a login replaces."""
    return session.credentials.obtain(credentials.SEGMENT_TOKEN, given, stored="never").value


def segment_login(session: Session, token: str, *, region: str | None) -> SegmentLogin:
    """Prove a Segment token (one page of sources), then keep it in the keyring, and the
    region in the profile when one is given."""

    register_secret(token)
    client = segment_client(session, region=region, token=token)
    data = client.get(SOURCES_PATH, {"pagination.count": 10})
    sources = data.get("sources") if isinstance(data, dict) else None
    session.keyring.set(session.profile_name, credentials.SEGMENT_TOKEN.name, token)
    if region:
        profile = session.profile
        profile.set(PROFILE_REGION_KEY, normalize_region(region))
        profile.save()
    return SegmentLogin(
        profile=session.profile_name,
        region=resolve_region(session, region),
        sources=len(sources) if isinstance(sources, list) else 0,
        keyring_backend=session.keyring.backend_name(),
    )
