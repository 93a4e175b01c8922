"""The Segment Public API client.

:class:`SegmentClient` sits on :class:`~ksegcli.core.http.client.HttpClient` and adds
what Segment needs: the bearer token, ``{"data": …}`` unwrapping, cursor
paging, regions, and the alpha media type (with its 5-writes-a-minute budget)
for destination subscriptions ("mappings"). Segment's ``{"errors": [...]}``
answers become the tool's errors in HttpClient (message and field shown).

Facts are from docs/api-facts.md §4 (C) unless marked (I).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ksegcli.core import config
from ksegcli.core.auth import credentials
from ksegcli.core.http.client import RateLimiter, response_json, server_message
from ksegcli.core.segment.regions import segment_base_url
from ksegcli.errors import ApiError, AuthError, NotFoundError

if TYPE_CHECKING:
    from ksegcli.core.http.client import HttpClient
    from ksegcli.core.session import Session

# --- endpoints and media types (C) -----------------------------------------------
SOURCES_PATH = "/sources"
DESTINATIONS_PATH = "/destinations"
DESTINATION_PATH = "/destinations/{id}"
SUBSCRIPTIONS_PATH = "/destinations/{id}/subscriptions"
SUBSCRIPTION_PATH = "/destinations/{id}/subscriptions/{sub}"
CATALOG_DESTINATION_PATH = "/catalog/destinations/{id}"
ALPHA_MEDIA_TYPE = "application/vnd.segment.v1alpha+json"
PAGE_COUNT = 100  # (I) pagination.count per page; Segment documents a maximum, we stay below

# --- the Kameleoon (Actions) destination in the catalog (C) ----------------------
KAMELEOON_METADATA_ID = "652ea51a327a62b351aa12c0"


class SegmentClient:
    """Authenticated access to the Segment Public API."""

    def __init__(self, http: HttpClient, *, alpha_writes: HttpClient | None = None) -> None:
        """``alpha_writes`` sends subscription writes: same host and token, but its own
        limiter (5 writes a minute), which a 429 on those writes also pauses."""
        self.http = http
        self.alpha_writes = alpha_writes or http

    # -- verbs ---------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        alpha: bool = False,
    ) -> Any:
        headers: dict[str, str] = {}
        if alpha:
            headers["Accept"] = f"{ALPHA_MEDIA_TYPE}, application/json"
            if body is not None:
                headers["Content-Type"] = ALPHA_MEDIA_TYPE
        http = self.alpha_writes if alpha and method != "GET" else self.http
        try:
            response = http.request(method, path, params=params, json_body=body, headers=headers)
        except AuthError as exc:
            hint = (
                "Check SEGMENT_API_TOKEN (or `--token-stdin`): the token must be valid for "
                "this workspace and region (EU workspaces: --region eu), with access to "
                "sources and destinations."
            )
            if alpha and getattr(exc, "status", None) == 403:
                hint = (
                    "Mappings use Segment's alpha Destination Subscriptions endpoints, which "
                    "need that feature on the workspace (ask Segment) and a token allowed to "
                    "edit destinations; or add the mappings in the Segment app."
                )
            raise AuthError(exc.message, hint=hint) from None
        payload = response_json(response)
        if isinstance(payload, dict) and isinstance(payload.get("errors"), list):
            raise ApiError(f"{self.http.label}: {server_message(response)}")
        if isinstance(payload, dict) and "data" in payload:
            return payload["data"]
        return payload

    def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, alpha: bool = False
    ) -> Any:
        return self._call("GET", path, params=params, alpha=alpha)

    def post(self, path: str, body: Any, *, alpha: bool = False) -> Any:
        return self._call("POST", path, body=body, alpha=alpha)

    def patch(self, path: str, body: Any, *, alpha: bool = False) -> Any:
        return self._call("PATCH", path, body=body, alpha=alpha)

    def paginate(
        self, path: str, key: str, *, alpha: bool = False, count: int = PAGE_COUNT
    ) -> Iterator[dict[str, Any]]:
        """Every item under ``data.<key>``, following ``pagination.next`` cursors."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {"pagination.count": count}
            if cursor:
                params["pagination.cursor"] = cursor
            data = self.get(path, params, alpha=alpha)
            if not isinstance(data, dict) or not isinstance(data.get(key), list):
                raise ApiError(f"Unexpected answer to GET {path}: no {key!r} list.")
            from ksegcli.core.http.parse import SegmentItem, convert

            for n, item in enumerate(data[key]):
                convert(item, SegmentItem, f"GET {path}", where=f"$.data.{key}[{n}]")
                if not item["id"]:
                    raise ApiError(f"GET {path} answered an item with an empty id.")
                yield item
            pagination = data.get("pagination")
            nxt = pagination.get("next") if isinstance(pagination, dict) else None
            if not nxt or not isinstance(nxt, str) or nxt in seen:
                return
            seen.add(nxt)
            cursor = nxt

    # -- resources -------------------------------------------------------------------
    def list_sources(self) -> list[dict[str, Any]]:
        return list(self.paginate(SOURCES_PATH, "sources"))

    def get_source(self, source_id: str) -> dict[str, Any]:
        """The source with this id, from the (paged) list: one code path for every workspace."""
        for source in self.paginate(SOURCES_PATH, "sources"):
            if source.get("id") == source_id:
                return source
        raise NotFoundError(
            f"No Segment source {source_id!r} in this workspace.",
            hint="Run `ksegcli segment sources list` to find the source id "
            "(and check the region: EU workspaces need --region eu).",
        )

    def list_destinations(self) -> list[dict[str, Any]]:
        return list(self.paginate(DESTINATIONS_PATH, "destinations"))

    def destination_metadata(self, metadata_id: str = KAMELEOON_METADATA_ID) -> dict[str, Any]:
        data = self.get(CATALOG_DESTINATION_PATH.format(id=metadata_id))
        meta = data.get("destinationMetadata") if isinstance(data, dict) else None
        if not isinstance(meta, dict):
            raise ApiError(f"Unexpected catalog answer for {metadata_id}: no destinationMetadata.")
        return meta

    def create_destination(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return _unwrap(self.post(DESTINATIONS_PATH, dict(body)), "destination")

    def update_destination(self, destination_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return _unwrap(
            self.patch(DESTINATION_PATH.format(id=destination_id), dict(body)), "destination"
        )

    def list_subscriptions(self, destination_id: str) -> list[dict[str, Any]]:
        return list(
            self.paginate(SUBSCRIPTIONS_PATH.format(id=destination_id), "subscriptions", alpha=True)
        )

    def create_subscription(self, destination_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        # The create answer is data.destinationSubscription (get/update: data.subscription).
        return _unwrap(
            self.post(SUBSCRIPTIONS_PATH.format(id=destination_id), dict(body), alpha=True),
            "destinationSubscription",
            "subscription",
        )

    def update_subscription(
        self, destination_id: str, subscription_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        return _unwrap(
            # UpdateSubscriptionForDestinationAlphaInput wraps the changes in "input".
            self.patch(
                SUBSCRIPTION_PATH.format(id=destination_id, sub=subscription_id),
                {"input": dict(body)},
                alpha=True,
            ),
            "subscription",
        )


def _unwrap(data: Any, *keys: str) -> dict[str, Any]:
    if isinstance(data, dict):
        for key in keys:
            if isinstance(data.get(key), dict):
                return dict(data[key])
        return dict(data)
    raise ApiError(f"Unexpected answer from the Segment Public API: no {keys[0]}.")


def segment_client(
    session: Session, *, region: str | None = None, token: str | None = None
) -> SegmentClient:
    """A client for the profile's (or ``region``'s) Segment host, token flag → env → keyring."""

    found = session.credentials.require(credentials.SEGMENT_TOKEN, token)
    value = found.value
    base = segment_base_url(session, region)

    def auth() -> dict[str, str]:
        return {"Authorization": f"Bearer {value}"}

    def lock() -> None:
        session.lock_account(segment_token=value)

    limit, window = config.segment_write_limit(session.env)
    return SegmentClient(
        session.http(config.SEGMENT_API, base_url=base, auth_header=auth, before_write=lock),
        alpha_writes=session.http(
            config.SEGMENT_API,
            base_url=base,
            auth_header=auth,
            before_write=lock,
            limiter=RateLimiter(limit, window),
        ),
    )
