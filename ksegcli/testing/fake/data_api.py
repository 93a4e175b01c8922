"""Kameleoon Data API: remote data read by sitecode and key."""

from __future__ import annotations

import copy
import json

from ksegcli.testing.fake.calls import ApiError, RouteSpec, _Call, _json_response, _Response
from ksegcli.testing.fake.facts import MAX_REMOTE_DATA_KEYS
from ksegcli.testing.fake.state import _Store


class _DataApi(_Store):
    """Routes and handlers of the Data API."""

    def _data_routes(self) -> list[RouteSpec]:
        """The Data API's routes."""
        return [
            ("GET", r"/map/map", "data", self._data_map),
            ("GET", r"/map/maps", "data", self._data_maps),
            ("GET", r"/data", "data", self._data_map),
        ]

    @staticmethod
    def _data_user_agent(call: _Call) -> None:
        agent = call.header("User-Agent") or ""
        if not agent.strip() or "bot" in agent.lower():
            raise ApiError(403, "Forbidden: a non-bot User-Agent is required")

    def _data_map(self, call: _Call) -> _Response:
        self._data_user_agent(call)
        site_code, key = call.arg("siteCode"), call.arg("key")
        if not site_code or not key:
            raise ApiError(400, "Parameters siteCode and key are required")
        value = self._state.remote_data.get(site_code, {}).get(key, {})
        return _json_response(200, copy.deepcopy(value))

    def _data_maps(self, call: _Call) -> _Response:
        self._data_user_agent(call)
        site_code, raw = call.arg("siteCode"), call.arg("keys")
        if not site_code or raw is None:
            raise ApiError(400, "Parameters siteCode and keys are required")
        try:
            keys = json.loads(raw)
        except ValueError:
            raise ApiError(400, "keys must be a JSON array of strings") from None
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ApiError(400, "keys must be a JSON array of strings")
        if len(keys) > MAX_REMOTE_DATA_KEYS:
            raise ApiError(400, f"At most {MAX_REMOTE_DATA_KEYS} keys per request")
        stored = self._state.remote_data.get(site_code, {})
        return _json_response(200, {k: copy.deepcopy(stored[k]) for k in keys if k in stored})
