"""Segment's HTTP Tracking API: events that reach the Kameleoon destinations."""

from __future__ import annotations

import base64
import binascii
import copy
import re

from ksegcli.testing.fake.calls import ApiError, RouteSpec, _Call, _json_response, _Response
from ksegcli.testing.fake.facts import KAMELEOON_METADATA_ID
from ksegcli.testing.fake.state import JSONDict, _Store


class _SegmentTracking(_Store):
    """Routes and handlers of the Tracking API.

    A source's write key (Basic auth, key as the user name) lets events in. The fake
    delivers an identify to the Kameleoon destinations of the source the way Kameleoon
    stores it (IDENTIFY_<userId> with its traits) when the destination is enabled, has a
    sitecode, and has an enabled identify mapping; otherwise the event goes nowhere.
    """

    def _tracking_routes(self) -> list[RouteSpec]:
        """The Tracking API's routes (another host in reality; the paths do not collide)."""
        return [
            ("POST", r"/v1/identify", "tracking", self._track_identify),
            ("POST", r"/v1/track", "tracking", self._track_track),
        ]

    def _tracking_source(self, call: _Call) -> JSONDict:
        scheme, _, encoded = (call.header("Authorization") or "").partition(" ")
        key = ""
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                key = ""
        for source in self._state.sources.values():
            if key and key in source.get("writeKeys", []):
                return source
        raise ApiError(401, "Invalid write key")

    def _tracking_body(self, call: _Call) -> JSONDict:
        if call.media_type() != "application/json":
            raise ApiError(400, "Content-Type must be application/json")
        body = call.json_body()
        if not isinstance(body, dict):
            raise ApiError(400, "The body must be a JSON object")
        if not any(isinstance(body.get(k), str) and body[k] for k in ("userId", "anonymousId")):
            raise ApiError(400, "userId or anonymousId is required")
        return body

    def _deliveries(self, source: JSONDict, event_type: str) -> list[str]:
        """Sitecodes of the Kameleoon destinations that take this event type from the source."""
        sitecodes = []
        for dest in self._state.destinations.values():
            if dest.get("sourceId") != source["id"] or not dest.get("enabled"):
                continue
            if dest.get("metadataId", dest.get("metadata", {}).get("id")) != KAMELEOON_METADATA_ID:
                continue
            sitecode = (dest.get("settings") or {}).get("sitecode")
            mapped = any(
                sub["destinationId"] == dest["id"]
                and sub.get("enabled")
                and re.sub(r"\s+", "", str(sub.get("trigger", ""))) == f'type="{event_type}"'
                for sub in self._state.subscriptions.values()
            )
            if sitecode and mapped:
                sitecodes.append(str(sitecode))
        return sitecodes

    def _track_identify(self, call: _Call) -> _Response:
        source = self._tracking_source(call)
        body = self._tracking_body(call)
        traits = body.get("traits", {})
        if not isinstance(traits, dict):
            raise ApiError(400, "traits must be an object")
        user = str(body.get("userId") or body.get("anonymousId"))
        for sitecode in self._deliveries(source, "identify"):
            stored = self._state.remote_data.setdefault(sitecode, {})
            entry = stored.setdefault(f"IDENTIFY_{user}", {"traits": {}})
            entry.setdefault("traits", {}).update(copy.deepcopy(traits))
        return _json_response(200, {"success": True})

    def _track_track(self, call: _Call) -> _Response:
        self._tracking_source(call)
        body = self._tracking_body(call)
        if not isinstance(body.get("event"), str) or not body["event"]:
            raise ApiError(400, "event is required")
        return _json_response(200, {"success": True})
