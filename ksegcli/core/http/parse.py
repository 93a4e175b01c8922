"""The one typed boundary every remote answer crosses before the tool acts on it.

A body is decoded by msgspec (C, bounded nesting, UTF-8 only) and each object
the code relies on is converted into a Struct below, strictly: an id must be an
integer (or, for Segment, a non-empty string), never null, "abc" or a list. Any
other shape is an :class:`ApiError` (exit 5) that names the endpoint and the
field, never an "Internal error". Fields the tool does not read are ignored.

msgspec is imported here only, and this module only from functions that have
an answer in hand: commands without network pay nothing (~8 ms otherwise).
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from ksegcli.errors import ApiError

T = TypeVar("T")

_MAX_QUOTE = 200


class SiteAnswer(msgspec.Struct):
    """A project of GET /sites, /sites/{id}, /sites/byCode/{code}."""

    id: int
    name: str | None = None
    url: str | None = None
    code: str | None = None
    type: str | None = None


class CustomDataAnswer(msgspec.Struct):
    """An item of GET /custom-datas (and the answer to its POST/PATCH)."""

    id: int
    name: str | None = None
    siteId: int | None = None
    type: str | None = None
    format: str | None = None
    method: str | None = None
    customEvalCode: str | None = None


class GoalAnswer(msgspec.Struct):
    id: int
    name: str | None = None
    siteId: int | None = None
    type: str | None = None


class CampaignAnswer(msgspec.Struct):
    """An experiment or personalization."""

    id: int
    name: str | None = None
    siteId: int | None = None
    status: str | None = None
    trackingTools: list[dict[str, Any]] | None = None


class TokenAnswer(msgspec.Struct):
    """POST /oauth/token."""

    access_token: str
    expires_in: float | None = None


class SegmentItem(msgspec.Struct):
    """Any object of a Segment Public API list: sources, destinations, subscriptions."""

    id: str


def decode(content: bytes, endpoint: str) -> Any:
    """JSON ``content`` → Python values; malformed, non-UTF-8 or absurdly deep → ApiError."""
    try:
        return msgspec.json.decode(content)
    except (msgspec.DecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        start = content[:40].decode("utf-8", "replace").lstrip()
        what = "an HTML page" if start[:1] == "<" else "something that is not JSON"
        raise ApiError(
            f"{endpoint} answered {what} ({_cut(reason)}).",
            hint="The service, or a proxy in between, is not answering as its API does; "
            "check the base URL (`ksegcli doctor`) and try again later.",
        ) from None


def convert(data: Any, kind: type[T], endpoint: str, *, where: str = "$") -> T:
    """``data`` as ``kind`` (a Struct above, or a container of them); else ApiError."""
    try:
        return msgspec.convert(data, kind, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc).replace("`$", f"`{where}", 1)
        raise ApiError(
            f"{endpoint} answered an unexpected shape: {_cut(message)}.",
            hint="The API changed or a proxy altered the answer; nothing was acted on "
            "from it. Rerun with -v to see the request.",
        ) from None
    except RecursionError:
        raise ApiError(f"{endpoint} answered JSON nested too deeply.") from None


def item_list(data: Any, endpoint: str) -> list[dict[str, Any]]:
    """A JSON array of objects (a list endpoint's page)."""
    return convert(data, list[dict[str, Any]], endpoint)


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_QUOTE else text[:_MAX_QUOTE] + "…"
