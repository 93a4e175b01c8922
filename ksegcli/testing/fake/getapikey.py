"""The API-key service: getapikey turns account credentials into the key the Segment
destination takes.
"""

from __future__ import annotations

import base64
import hmac
import json

from ksegcli.testing.fake.calls import ApiError, RouteSpec, _Call, _Response
from ksegcli.testing.fake.state import _Store


class _GetApiKey(_Store):
    """Routes and handler of the API-key service."""

    def _getapikey_routes(self) -> list[RouteSpec]:
        """The API-key service's routes (both known paths)."""
        return [
            ("GET", r"/kameleoon/segmentio/getapikey", "customers", self._getapikey),
            ("GET", r"/segmentio/getapikey", "customers", self._getapikey),
        ]

    def _getapikey(self, call: _Call) -> _Response:
        client_id, secret = call.arg("id"), call.arg("secret")
        if not client_id or not secret:
            raise ApiError(400, "Missing id or secret")
        account = self._state.accounts.get(client_id)
        if account is None or not hmac.compare_digest(
            account.client_secret.encode(), secret.encode()
        ):
            raise ApiError(401, "Invalid credentials")
        if self._config.getapikey_answer:
            return _Response(
                200, self._config.getapikey_answer.encode(), "text/plain; charset=utf-8"
            )
        key = json.dumps({"id": client_id, "secret": secret}, separators=(",", ":"))
        return _Response(200, base64.b64encode(key.encode()), "text/plain; charset=utf-8")
