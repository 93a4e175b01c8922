"""Segment Public API: sources, destinations, the destination catalog and the
(alpha) subscriptions, with Segment's paging and media types.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ksegcli.testing.fake.calls import (
    ApiError,
    RouteSpec,
    _admit,
    _Call,
    _json_response,
    _Response,
)
from ksegcli.testing.fake.facts import (
    KAMELEOON_ACTIONS,
    KAMELEOON_METADATA_ID,
    SEGMENT_ALPHA_MEDIA_TYPE,
    SEGMENT_DEFAULT_PAGE_COUNT,
    SEGMENT_MAX_PAGE_COUNT,
)
from ksegcli.testing.fake.state import _BASE62, JSONDict, SegmentWorkspace, _Store


class _SegmentApi(_Store):
    """Routes and handlers of the Segment Public API."""

    def _segment_routes(self) -> list[RouteSpec]:
        """The Segment Public API's routes."""
        return [
            ("GET", r"/sources", "segment", self._seg_sources),
            ("GET", r"/destinations", "segment", self._seg_destinations),
            ("POST", r"/destinations", "segment", self._seg_destination_create),
            ("GET", r"/destinations/(?P<id>[^/]+)", "segment", self._seg_destination_get),
            ("PATCH", r"/destinations/(?P<id>[^/]+)", "segment", self._seg_destination_patch),
            ("DELETE", r"/destinations/(?P<id>[^/]+)", "segment", self._seg_destination_delete),
            ("GET", r"/destinations/(?P<id>[^/]+)/subscriptions", "segment", self._seg_subs_list),
            ("POST", r"/destinations/(?P<id>[^/]+)/subscriptions", "segment", self._seg_sub_create),
            (
                "GET",
                r"/destinations/(?P<id>[^/]+)/subscriptions/(?P<sub>[^/]+)",
                "segment",
                self._seg_sub_get,
            ),
            (
                "PATCH",
                r"/destinations/(?P<id>[^/]+)/subscriptions/(?P<sub>[^/]+)",
                "segment",
                self._seg_sub_patch,
            ),
            (
                "DELETE",
                r"/destinations/(?P<id>[^/]+)/subscriptions/(?P<sub>[^/]+)",
                "segment",
                self._seg_sub_delete,
            ),
            ("GET", r"/catalog/destinations/(?P<id>[^/]+)", "segment", self._seg_catalog),
            ("GET", r"/sources/(?P<id>[^/]+)", "segment", self._seg_source_get),
        ]

    def _seg_sources(self, call: _Call) -> _Response:
        assert call.workspace is not None
        ws_id = call.workspace.id
        items = [s for s in self._state.sources.values() if s["workspaceId"] == ws_id]
        return _json_response(200, {"data": _segment_page(call, items, "sources")})

    def _seg_destinations(self, call: _Call) -> _Response:
        assert call.workspace is not None
        ws_id = call.workspace.id
        items = [d for d in self._state.destinations.values() if d["workspaceId"] == ws_id]
        return _json_response(200, {"data": _segment_page(call, items, "destinations")})

    def _seg_owned_destination(self, call: _Call) -> JSONDict:
        assert call.workspace is not None
        dest = self._state.destinations.get(call.params["id"])
        if dest is None or dest["workspaceId"] != call.workspace.id:
            raise ApiError(404, f"Destination {call.params['id']} not found")
        return dest

    def _seg_destination_get(self, call: _Call) -> _Response:
        dest = self._seg_owned_destination(call)
        return _json_response(200, {"data": {"destination": copy.deepcopy(dest)}})

    def _seg_destination_create(self, call: _Call) -> _Response:
        assert call.workspace is not None
        body = _segment_json(call)
        dest = self._insert_destination(call.workspace, body)
        return _json_response(200, {"data": {"destination": copy.deepcopy(dest)}})

    def _insert_destination(self, workspace: SegmentWorkspace, body: Any) -> JSONDict:
        if not isinstance(body, dict):
            raise ApiError(422, "Body must be a JSON object")
        _segment_known_fields(body, ("sourceId", "metadataId", "name", "enabled", "settings"))
        for key in ("sourceId", "metadataId"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise ApiError(422, f"{key} is required", field=key)
        source = self._state.sources.get(body["sourceId"])
        if source is None or source["workspaceId"] != workspace.id:
            raise ApiError(422, f"Source {body['sourceId']} not found", field="sourceId")
        if body["metadataId"] != KAMELEOON_METADATA_ID:
            raise ApiError(
                422, f"Unknown destination metadata {body['metadataId']}", field="metadataId"
            )
        if "settings" not in body:
            raise ApiError(422, "settings is required", field="settings")
        settings = _check_kameleoon_settings(body["settings"])
        name = body.get("name", "Kameleoon (Actions)")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(422, "name must be a non-empty string", field="name")
        enabled = body.get("enabled", False)
        if not isinstance(enabled, bool):
            raise ApiError(422, "enabled must be a boolean", field="enabled")
        dest_id = "".join(self._id_rng.choice("0123456789abcdef") for _ in range(24))
        dest = {
            "id": dest_id,
            "name": name,
            "enabled": enabled,
            "workspaceId": workspace.id,
            "sourceId": source["id"],
            "metadata": {
                "id": KAMELEOON_METADATA_ID,
                "name": "Kameleoon (Actions)",
                "slug": "actions-kameleoon",
            },
            "settings": settings,
        }
        self._state.destinations[dest_id] = dest
        return dest

    def _seg_destination_patch(self, call: _Call) -> _Response:
        dest = self._seg_owned_destination(call)
        body = _segment_json(call)
        if not isinstance(body, dict):
            raise ApiError(422, "Body must be a JSON object")
        _segment_known_fields(body, ("name", "enabled", "settings"))
        update = _check_shared_fields(body, ("name",))
        if "settings" in update:
            update["settings"] = _check_kameleoon_settings(
                {**dest["settings"], **update["settings"]}
            )
        dest.update(update)
        return _json_response(200, {"data": {"destination": copy.deepcopy(dest)}})

    def _seg_destination_delete(self, call: _Call) -> _Response:
        dest = self._seg_owned_destination(call)
        del self._state.destinations[dest["id"]]
        for sub_id in [
            s["id"] for s in self._state.subscriptions.values() if s["destinationId"] == dest["id"]
        ]:
            del self._state.subscriptions[sub_id]
        return _json_response(200, {"data": {"status": "SUCCESS"}})

    def _seg_catalog(self, call: _Call) -> _Response:
        if call.params["id"] != KAMELEOON_METADATA_ID:
            raise ApiError(404, f"Destination metadata {call.params['id']} not found")
        return _json_response(200, {"data": {"destinationMetadata": _kameleoon_metadata()}})

    # Subscriptions (alpha): media type checked, writes rate-limited per workspace.
    def _seg_alpha(self, call: _Call, *, write: bool) -> JSONDict:
        if write and call.method != "DELETE" and call.media_type() != SEGMENT_ALPHA_MEDIA_TYPE:
            raise ApiError(
                415, f"Content-Type must be {SEGMENT_ALPHA_MEDIA_TYPE} for this alpha endpoint"
            )
        accept = (call.header("Accept") or "").lower()
        if SEGMENT_ALPHA_MEDIA_TYPE not in accept:
            raise ApiError(
                406, f"Accept must include {SEGMENT_ALPHA_MEDIA_TYPE} for this alpha endpoint"
            )
        dest = self._seg_owned_destination(call)
        if write:
            assert call.workspace is not None
            cfg = self._config
            limit = cfg.segment_write_limit
            _admit(
                [(call.workspace.writes, limit, cfg.scaled(cfg.segment_write_window))],
                f"Too many requests: {limit} subscription writes per "
                f"{cfg.segment_write_window:g} s",
            )
        return dest

    def _seg_owned_sub(self, call: _Call, dest: JSONDict) -> JSONDict:
        sub = self._state.subscriptions.get(call.params["sub"])
        if sub is None or sub["destinationId"] != dest["id"]:
            raise ApiError(404, f"Subscription {call.params['sub']} not found")
        return sub

    def _seg_subs_list(self, call: _Call) -> _Response:
        dest = self._seg_alpha(call, write=False)
        items = [s for s in self._state.subscriptions.values() if s["destinationId"] == dest["id"]]
        return _alpha_response({"data": _segment_page(call, items, "subscriptions")})

    def _seg_sub_get(self, call: _Call) -> _Response:
        dest = self._seg_alpha(call, write=False)
        sub = self._seg_owned_sub(call, dest)
        return _alpha_response({"data": {"subscription": copy.deepcopy(sub)}})

    def _seg_sub_create(self, call: _Call) -> _Response:
        dest = self._seg_alpha(call, write=True)
        body = _segment_json(call)
        if not isinstance(body, dict):
            raise ApiError(422, "Body must be a JSON object")
        _segment_known_fields(body, ("name", "actionId", "trigger", "enabled", "settings"))
        for key in ("name", "actionId", "trigger", "enabled"):
            if key not in body:
                raise ApiError(422, f"{key} is required", field=key)
        sub_fields = _check_subscription_fields(body)
        sub_id = self._segment_id()
        sub = {
            "id": sub_id,
            "destinationId": dest["id"],
            "settings": {},
            **sub_fields,
        }
        self._state.subscriptions[sub_id] = sub
        return _alpha_response({"data": {"destinationSubscription": copy.deepcopy(sub)}})

    def _seg_sub_patch(self, call: _Call) -> _Response:
        dest = self._seg_alpha(call, write=True)
        sub = self._seg_owned_sub(call, dest)
        body = _segment_json(call)
        # C: UpdateSubscriptionForDestinationAlphaInput wraps the changes in "input".
        if not isinstance(body, dict):
            raise ApiError(422, "Body must be a JSON object")
        _segment_known_fields(body, ("input",))
        changes = body.get("input")
        if not isinstance(changes, dict):
            raise ApiError(422, "input is required and must be an object", field="input")
        _segment_known_fields(changes, ("name", "actionId", "trigger", "enabled", "settings"))
        sub.update(_check_subscription_fields(changes))
        return _alpha_response({"data": {"subscription": copy.deepcopy(sub)}})

    def _seg_sub_delete(self, call: _Call) -> _Response:
        dest = self._seg_alpha(call, write=True)
        sub = self._seg_owned_sub(call, dest)
        del self._state.subscriptions[sub["id"]]
        return _alpha_response({"data": {"status": "SUCCESS"}})

    def _seg_source_get(self, call: _Call) -> _Response:
        assert call.workspace is not None
        source = self._state.sources.get(call.params["id"])
        if source is None or source["workspaceId"] != call.workspace.id:
            raise ApiError(404, f"Source {call.params['id']} not found")
        return _json_response(200, {"data": {"source": copy.deepcopy(source)}})


def _segment_json(call: _Call) -> Any:
    if call.method != "DELETE" and "json" not in call.media_type():
        raise ApiError(415, "Content-Type must be a JSON media type")
    try:
        return call.json_body()
    except ApiError as err:
        raise ApiError(400, err.message) from None


def _segment_known_fields(body: Mapping[str, Any], allowed: Sequence[str]) -> None:
    for key in body:
        if key not in allowed:
            raise ApiError(422, f"Unknown field '{key}'", field=key)


def _check_kameleoon_settings(settings: Any) -> JSONDict:
    # C: the destination requires apiKey and a 10-character sitecode.
    if not isinstance(settings, dict):
        raise ApiError(422, "settings must be an object", field="settings")
    for key in settings:
        if key not in ("apiKey", "sitecode"):
            raise ApiError(422, f"Unknown setting '{key}'", field=f"settings.{key}")
    api_key = settings.get("apiKey")
    if not isinstance(api_key, str) or not api_key.strip():
        raise ApiError(422, "settings.apiKey is required", field="settings.apiKey")
    sitecode = settings.get("sitecode")
    if not isinstance(sitecode, str) or len(sitecode) != 10:
        raise ApiError(
            422, "settings.sitecode must be exactly 10 characters", field="settings.sitecode"
        )
    return dict(settings)


def _check_shared_fields(body: Mapping[str, Any], texts: tuple[str, ...]) -> JSONDict:
    """The fields a destination and a subscription both take, checked and copied: the
    texts (non-empty), enabled (a boolean) and settings (an object)."""
    out: JSONDict = {}
    for key in texts:
        if key in body:
            value = body[key]
            if not isinstance(value, str) or not value.strip():
                raise ApiError(422, f"{key} must be a non-empty string", field=key)
            out[key] = value
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise ApiError(422, "enabled must be a boolean", field="enabled")
        out["enabled"] = body["enabled"]
    if "settings" in body:
        if not isinstance(body["settings"], dict):
            raise ApiError(422, "settings must be an object", field="settings")
        out["settings"] = copy.deepcopy(body["settings"])
    return out


def _check_subscription_fields(body: Mapping[str, Any]) -> JSONDict:
    out = _check_shared_fields(body, ("name", "trigger"))
    if "actionId" in body:
        slugs = {_action_id(slug): slug for slug, *_ in KAMELEOON_ACTIONS}
        slug = slugs.get(body["actionId"]) if isinstance(body["actionId"], str) else None
        if slug is None:
            raise ApiError(
                422,
                f"actionId {str(body['actionId'])[:40]!r} is not an action of this destination",
                field="actionId",
            )
        out["actionId"] = body["actionId"]
        out["actionSlug"] = slug
    return out


def _alpha_response(obj: Any) -> _Response:
    resp = _json_response(200, obj)
    resp.content_type = SEGMENT_ALPHA_MEDIA_TYPE
    return resp


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"fake:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    match = re.fullmatch(r"fake:([0-9]{1,9})", text)
    if match is None:
        raise ApiError(422, "Invalid pagination.cursor", field="pagination.cursor")
    return int(match.group(1))


def _segment_page(call: _Call, items: list[JSONDict], key: str) -> JSONDict:
    raw_count = call.arg("pagination.count")
    count = SEGMENT_DEFAULT_PAGE_COUNT
    if raw_count is not None:
        if not re.fullmatch(r"[0-9]{1,9}", raw_count) or not (
            1 <= int(raw_count) <= SEGMENT_MAX_PAGE_COUNT
        ):
            raise ApiError(
                422,
                f"pagination.count must be an integer from 1 to {SEGMENT_MAX_PAGE_COUNT}",
                field="pagination.count",
            )
        count = int(raw_count)
    raw_cursor = call.arg("pagination.cursor")
    offset = _decode_cursor(raw_cursor) if raw_cursor else 0
    page = items[offset : offset + count]
    pagination: JSONDict = {"current": _encode_cursor(offset), "totalEntries": len(items)}
    if offset + count < len(items):
        pagination["next"] = _encode_cursor(offset + count)
    if offset > 0:
        pagination["previous"] = _encode_cursor(max(0, offset - count))
    return {key: copy.deepcopy(page), "pagination": pagination}


def _action_id(slug: str) -> str:
    """A stable, opaque catalog id per action, so a client must look ids up."""
    digest = hashlib.sha256(f"ksegcli-fake:kameleoon:{slug}".encode()).digest()
    number = int.from_bytes(digest[:16], "big")
    out = []
    for _ in range(22):
        number, rest = divmod(number, 62)
        out.append(_BASE62[rest])
    return "".join(out)


def _kameleoon_metadata() -> JSONDict:
    actions = []
    presets = []
    for slug, name, trigger, preset_name in KAMELEOON_ACTIONS:
        action_id = _action_id(slug)
        actions.append(
            {
                "id": action_id,
                "slug": slug,
                "name": name,
                "description": f"Send {name.lower()} calls to Kameleoon.",
                "platform": "CLOUD",
                "hidden": False,
                "defaultTrigger": trigger,
                "fields": [],
            }
        )
        presets.append(
            {"actionId": action_id, "name": preset_name, "trigger": trigger, "fields": {}}
        )
    return {
        "id": KAMELEOON_METADATA_ID,
        "name": "Kameleoon (Actions)",
        "slug": "actions-kameleoon",
        "description": "Send Segment events to Kameleoon",
        "status": "PUBLIC",
        "categories": ["A/B Testing", "Personalization"],
        "options": [
            {"name": "apiKey", "type": "password", "required": True},
            {"name": "sitecode", "type": "string", "required": True},
        ],
        "actions": actions,
        "presets": presets,
    }
