"""The Kameleoon Data API: what the Segment integration stored for a user.

Segment's destination writes remote data that custom data and SDKs read
(docs/api-facts.md §3): ``COHORTS_<userId>`` (persona → true/false),
``IDENTIFY_<userId>`` (``{"traits": {...}, "groupId": …}``) and ``common``
(``{"cohorts": [persona names]}``). The API needs no credentials, only the
sitecode and a non-bot ``User-Agent`` (ours is ``ksegcli/<version>``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ksegcli.core import config
from ksegcli.core.http.client import response_json
from ksegcli.core.kameleoon import datahosts
from ksegcli.errors import ApiError, BadInputError, NotFoundError

if TYPE_CHECKING:
    from ksegcli.core.http.client import HttpClient
    from ksegcli.core.session import Session

# --- confirmed (C) ----------------------------------------------------------------
MAP_PATH = "/map/map"
MAPS_PATH = "/map/maps"
MAX_KEYS_PER_REQUEST = 100
# Regional hosts (core/kameleoon/datahosts.py holds the one set of names every command takes); the
# default (config.DATA_API) is data.kameleoon.io. The "-eu" names are the same regions on the
# kameleoon.eu domain. Keyed here by their earlier short names.
DATA_API_REGIONS: dict[str, str] = {
    alias: datahosts.HOSTS[name] for alias, name in datahosts.ALIASES.items()
}
# Keys written by the Segment integration (Kameleoon's help article on it).
COHORTS_KEY = "COHORTS_{user_id}"
IDENTIFY_KEY = "IDENTIFY_{user_id}"
COMMON_KEY = "common"


def normalize_region(region: str) -> str:
    """The Data API host's name for ``--data-host`` (or its earlier names and values)."""
    name = datahosts.canonical(region)
    if name is None:
        raise BadInputError(
            f"Unknown Data API host {region!r}.",
            hint=f"Use one of: {datahosts.choices()}; or omit --data-host.",
        )
    return name


def data_base_url(session: Session, region: str | None = None) -> str:
    """``KSEG_DATA_API_URL`` → ``--data-host`` → profile ``data_api_url`` → data.kameleoon.io."""
    service = config.DATA_API
    if region:
        value = normalize_region(region)
        if not session.env.get(service.env):
            return datahosts.HOSTS[value]
    return config.base_url(service, session.profile, session.env)


def data_client(session: Session, region: str | None = None) -> HttpClient:
    return session.http(config.DATA_API, base_url=data_base_url(session, region))


def _check_user_id(user_id: str) -> str:
    user_id = user_id.strip()
    if not user_id:
        raise BadInputError("The user id is empty.")
    return user_id


def get_value(session: Session, key: str, *, sitecode: str, region: str | None = None) -> Any:
    """The map stored under ``key`` (``{}`` when there is none)."""

    if not key.strip():
        # The Data API would answer 400, which reads as the service failing (exit 5).
        raise BadInputError(
            "The key is empty.",
            hint="The integration writes COHORTS_<userId>, IDENTIFY_<userId> and common.",
        )
    http = data_client(session, region)
    return response_json(http.request("GET", MAP_PATH, params={"siteCode": sitecode, "key": key}))


def get_values(
    session: Session, keys: Sequence[str], *, sitecode: str, region: str | None = None
) -> dict[str, Any]:
    """Several keys at once (``/map/maps``, at most 100 a request); absent keys are left out."""

    http = data_client(session, region)
    found: dict[str, Any] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), MAX_KEYS_PER_REQUEST):
        chunk = unique[start : start + MAX_KEYS_PER_REQUEST]
        body = response_json(
            http.request(
                "GET",
                MAPS_PATH,
                params={"siteCode": sitecode, "keys": json.dumps(chunk, separators=(",", ":"))},
            )
        )
        if not isinstance(body, dict):
            raise ApiError(f"Expected a JSON object from GET {MAPS_PATH}.")
        found.update(body)
    return found


def is_empty(value: Any) -> bool:
    return value is None or value == {} or value == "" or value == "{}"


@dataclass
class Cohorts:
    user_id: str
    sitecode: str
    key: str
    memberships: dict[str, bool] = field(default_factory=dict)
    known: list[str] = field(default_factory=list)  # persona names in `common`

    @property
    def member_of(self) -> list[str]:
        return [name for name, member in self.memberships.items() if member]

    @property
    def empty(self) -> bool:
        return not self.memberships

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "sitecode": self.sitecode,
            "key": self.key,
            "cohorts": self.memberships,
            "member_of": self.member_of,
            "known_personas": self.known,
        }


def cohorts(session: Session, user_id: str, *, sitecode: str, region: str | None = None) -> Cohorts:
    user_id = _check_user_id(user_id)
    key = COHORTS_KEY.format(user_id=user_id)
    values = get_values(session, [key, COMMON_KEY], sitecode=sitecode, region=region)
    raw = values.get(key)
    memberships = {str(k): bool(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    common = values.get(COMMON_KEY)
    known = common.get("cohorts") if isinstance(common, dict) else None
    return Cohorts(
        user_id=user_id,
        sitecode=sitecode,
        key=key,
        memberships=memberships,
        known=[str(n) for n in known] if isinstance(known, list) else [],
    )


@dataclass
class Traits:
    user_id: str
    sitecode: str
    key: str
    traits: dict[str, Any] = field(default_factory=dict)
    group_id: Any = None
    raw: Any = None

    @property
    def empty(self) -> bool:
        return not self.traits and self.group_id is None

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "sitecode": self.sitecode,
            "key": self.key,
            "traits": self.traits,
            "groupId": self.group_id,
        }


def traits(session: Session, user_id: str, *, sitecode: str, region: str | None = None) -> Traits:
    user_id = _check_user_id(user_id)
    key = IDENTIFY_KEY.format(user_id=user_id)
    raw = get_value(session, key, sitecode=sitecode, region=region)
    data = raw if isinstance(raw, dict) else {}
    found = data.get("traits")
    return Traits(
        user_id=user_id,
        sitecode=sitecode,
        key=key,
        traits=dict(found) if isinstance(found, dict) else {},
        group_id=data.get("groupId"),
        raw=raw,
    )


def nothing_stored(what: str, found: Cohorts | Traits) -> NotFoundError:
    """The error for a user of whom nothing of ``what`` is stored."""
    return NotFoundError(
        f"No {what} stored for user {found.user_id!r} ({found.key}).",
        hint=no_data_hint(found.sitecode),
    )


def no_data_hint(sitecode: str) -> str:
    return (
        "Segment has sent nothing for this user to sitecode "
        f"{sitecode} yet. Check the user id (the Segment userId or anonymousId Kameleoon "
        "links to the visitor), the sitecode, and the destination "
        "(`ksegcli segment destination status --source …`)."
    )
