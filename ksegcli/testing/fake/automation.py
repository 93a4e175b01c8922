"""Kameleoon Automation API: the OAuth token endpoint, sites, integration tools, custom
data, goals, experiments and personalizations.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, unquote

from ksegcli.testing.fake.automation_rules import (
    _CAMPAIGN_PATCH_SPEC,
    _CUSTOM_DATA_DEFAULTS,
    _CUSTOM_DATA_REQUIRED,
    _CUSTOM_DATA_SPEC,
    _GOAL_SPEC,
    _SITE_PATCH_SPEC,
    _check_custom_code,
    _int_arg,
    _matches,
    _parse_filter,
    _parse_id,
    _validate,
)
from ksegcli.testing.fake.calls import (
    ApiError,
    Handler,
    RouteSpec,
    _Call,
    _is_int,
    _json_response,
    _now_iso,
    _Response,
)
from ksegcli.testing.fake.facts import (
    CAMPAIGN_STATUSES,
    CREATED_STATUS,
    DEFAULT_PER_PAGE,
    DELETED_STATUS,
    INTEGRATION_TOOL_NAMES,
    MAX_PER_PAGE,
)
from ksegcli.testing.fake.pipeline import _Pipeline
from ksegcli.testing.fake.state import JSONDict, _Token


class _Automation(_Pipeline):
    """Routes and handlers of the Automation API (accounts log in through OAuth)."""

    def _automation_routes(self) -> list[RouteSpec]:
        """The Automation API's routes, the OAuth endpoint first."""
        return [
            ("POST", r"/oauth/token", "oauth", self._oauth_token),
            ("GET", r"/sites", "automation", self._sites_list),
            ("GET", r"/sites/byCode/(?P<code>[^/]+)", "automation", self._site_by_code),
            ("GET", r"/sites/(?P<id>[^/]+)", "automation", self._site_get),
            ("PATCH", r"/sites/(?P<id>[^/]+)", "automation", self._site_patch),
            ("PUT", r"/sites/(?P<id>[^/]+)", "automation", self._site_put),
            ("GET", r"/sites/(?P<id>[^/]+)/integration-tools", "automation", self._tools_get),
            ("PUT", r"/sites/(?P<id>[^/]+)/integration-tools", "automation", self._tools_put),
            ("GET", r"/custom-datas", "automation", self._custom_datas_list),
            ("POST", r"/custom-datas", "automation", self._custom_data_create),
            ("GET", r"/custom-datas/(?P<id>[^/]+)", "automation", self._custom_data_get),
            ("PATCH", r"/custom-datas/(?P<id>[^/]+)", "automation", self._custom_data_patch),
            ("DELETE", r"/custom-datas/(?P<id>[^/]+)", "automation", self._custom_data_delete),
            ("GET", r"/goals", "automation", self._goals_list),
            ("POST", r"/goals", "automation", self._goal_create),
            ("GET", r"/goals/(?P<id>[^/]+)", "automation", self._goal_get),
            ("GET", r"/experiments", "automation", self._campaign_list("experiments")),
            ("GET", r"/experiments/(?P<id>[^/]+)", "automation", self._campaign_get("experiments")),
            (
                "PATCH",
                r"/experiments/(?P<id>[^/]+)",
                "automation",
                self._campaign_patch("experiments"),
            ),
            ("GET", r"/personalizations", "automation", self._campaign_list("personalizations")),
            (
                "GET",
                r"/personalizations/(?P<id>[^/]+)",
                "automation",
                self._campaign_get("personalizations"),
            ),
            (
                "PATCH",
                r"/personalizations/(?P<id>[^/]+)",
                "automation",
                self._campaign_patch("personalizations"),
            ),
        ]

    # -- Kameleoon: inserts (call with the lock held) ------------------------
    def _insert_custom_data(self, body: JSONDict) -> JSONDict:
        site_id = int(body["siteId"])
        index = self._state.custom_data_next_index.get(site_id, 0)
        self._state.custom_data_next_index[site_id] = index + 1
        item: JSONDict = {"id": self._next_id("customData"), "name": body["name"], "index": index}
        item.update({"siteId": site_id, **_CUSTOM_DATA_DEFAULTS})
        item.update(copy.deepcopy(body))
        self._state.custom_datas[item["id"]] = item
        return item

    def _insert_goal(self, body: JSONDict) -> JSONDict:
        item: JSONDict = {
            "id": self._next_id("goal"),
            "description": "",
            "hasMultipleConversions": False,
            "status": "ACTIVE",
            "dateCreated": _now_iso(),
        }
        item.update(copy.deepcopy(body))
        self._state.goals[item["id"]] = item
        return item

    def _campaigns(self, kind: str) -> dict[int, JSONDict]:
        return self._state.experiments if kind == "experiments" else self._state.personalizations

    # -- Kameleoon: OAuth --------------------------------------------------
    def _oauth_token(self, call: _Call) -> _Response:
        if call.media_type() != "application/x-www-form-urlencoded":
            raise ApiError(
                400,
                "Content-Type must be application/x-www-form-urlencoded",
                error_type="invalid_request",
            )
        try:
            form = {
                k: v[-1]
                for k, v in parse_qs(call.body.decode("utf-8"), keep_blank_values=True).items()
            }
        except UnicodeDecodeError:
            raise ApiError(400, "Malformed form body", error_type="invalid_request") from None
        grant = form.get("grant_type")
        if not grant:
            raise ApiError(400, "Missing grant type", error_type="invalid_request")
        if grant != "client_credentials":
            raise ApiError(400, "Unsupported grant type", error_type="unsupported_grant_type")
        client_id, secret = self._client_credentials(call, form)
        account = self._state.accounts.get(client_id) if client_id else None
        if account is None or not hmac.compare_digest(
            account.client_secret.encode(), secret.encode()
        ):
            raise ApiError(401, "Bad client credentials", error_type="invalid_client")
        call.account = account
        self._check_rate(account)  # token calls count against the account too
        token = secrets.token_urlsafe(24)  # unguessable even though ids are seeded
        ttl = self._config.token_ttl
        self._state.tokens[token] = _Token(
            account.client_id, time.monotonic() + self._config.scaled(float(ttl))
        )
        return _json_response(
            200,
            {"access_token": token, "token_type": "Bearer", "expires_in": ttl},
            [("Cache-Control", "no-store")],
        )

    @staticmethod
    def _client_credentials(call: _Call, form: Mapping[str, str]) -> tuple[str, str]:
        auth = call.header("Authorization") or ""
        scheme, _, encoded = auth.partition(" ")
        if scheme.lower() == "basic" and encoded.strip():
            try:
                decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise ApiError(401, "Bad client credentials", error_type="invalid_client") from None
            client_id, sep, secret = decoded.partition(":")
            if not sep:
                raise ApiError(401, "Bad client credentials", error_type="invalid_client")
            # RFC 6749 form-encodes both parts before base64; plain also works.
            return unquote(client_id), unquote(secret)
        return form.get("client_id", ""), form.get("client_secret", "")

    # -- Kameleoon: shared list/ownership helpers ---------------------------
    def _owned_site(self, call: _Call, raw_id: Any, *, as_field: bool = False) -> JSONDict:
        assert call.account is not None
        site_id = raw_id if _is_int(raw_id) else _parse_id(str(raw_id))
        if self._state.site_owner.get(site_id) != call.account.client_id:
            if as_field:
                raise ApiError(
                    400, f"Field 'siteId': no site {site_id} in this account", field="siteId"
                )
            raise ApiError(404, f"Site {site_id} not found")
        return self._state.sites[site_id]

    def _owned_sites(self, call: _Call) -> set[int]:
        assert call.account is not None
        owner = call.account.client_id
        return {i for i, o in self._state.site_owner.items() if o == owner}

    def _list(
        self,
        call: _Call,
        items: Iterable[JSONDict],
        filterable: frozenset[str],
        extra_params: Sequence[tuple[str, str]] = (),
    ) -> _Response:
        """Filter, page and answer a bare JSON array, as Kameleoon lists do."""
        page = _int_arg(call, "page", 1, 1, None)
        per_page = _int_arg(call, "perPage", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        filters = _parse_filter(
            call.arg("filter"), filterable, in_supported=self._config.filter_in_supported
        )
        for param, fld in extra_params:
            value = call.arg(param)
            if value is not None:
                filters.append((fld, "EQUAL", [value]))
        selected = [i for i in items if _matches(i, filters)]
        selected.sort(key=lambda i: int(i["id"]))
        if self._config.ignore_paging:
            page = 1
        start = (page - 1) * per_page
        return _json_response(200, copy.deepcopy(selected[start : start + per_page]))

    def _site_scoped(self, call: _Call, items: dict[int, JSONDict]) -> list[JSONDict]:
        site_param = call.arg("siteId")
        if site_param is not None:
            self._owned_site(call, site_param)  # 404 for another account's site
        owned = self._owned_sites(call)
        return [i for i in items.values() if i["siteId"] in owned]

    # -- Kameleoon: sites --------------------------------------------------
    def _sites_list(self, call: _Call) -> _Response:
        owned = self._owned_sites(call)
        items = [s for i, s in self._state.sites.items() if i in owned]
        if not self._config.sites_list_tracking_script:
            items = [{k: v for k, v in s.items() if k != "trackingScript"} for s in items]
        items = [self._site_view(s) for s in items]
        return self._list(call, items, frozenset({"id", "name", "code", "url", "type"}))

    def _site_view(self, site: JSONDict) -> JSONDict:
        """A site as an answer shows it (a copy)."""
        if self._config.site_tracking_script:
            return copy.deepcopy(site)
        return {k: copy.deepcopy(v) for k, v in site.items() if k != "trackingScript"}

    def _site_get(self, call: _Call) -> _Response:
        return _json_response(200, self._site_view(self._owned_site(call, call.params["id"])))

    def _site_by_code(self, call: _Call) -> _Response:
        code = call.params["code"]
        owned = self._owned_sites(call)
        for site_id in owned:
            if self._state.sites[site_id]["code"] == code:
                return _json_response(200, self._site_view(self._state.sites[site_id]))
        raise ApiError(404, f"Site with code '{code}' not found")

    def _site_patch(self, call: _Call) -> _Response:
        if not self._config.site_patch_supported:
            raise ApiError(405, f"Request method '{call.method}' is not supported")
        site = self._owned_site(call, call.params["id"])
        changes = _validate(call.json_body(), _SITE_PATCH_SPEC)
        if "trackingScript" in self._config.ignore_writes:
            changes.pop("trackingScript", None)
        site.update(copy.deepcopy(changes))
        return _json_response(200, self._site_view(site))

    def _site_put(self, call: _Call) -> _Response:
        """The whole site back: read-only fields must be as they are, the others are set."""
        if not self._config.site_put_supported:
            raise ApiError(405, f"Request method '{call.method}' is not supported")
        site = self._owned_site(call, call.params["id"])
        body = call.json_body()
        if not isinstance(body, dict):
            raise ApiError(400, "Request body must be a JSON object")
        for key in ("id", "code", "dateCreated"):
            if key in body and body[key] != site.get(key):
                raise ApiError(400, f"Field '{key}' cannot be changed", field=key)
        for key in ("name", "url", "type"):
            if key not in body:
                raise ApiError(400, f"Field '{key}' is required", field=key)
        writable = {k: v for k, v in body.items() if k not in ("id", "code", "dateCreated")}
        changes = _validate(writable, _SITE_PATCH_SPEC)
        if "trackingScript" in self._config.ignore_writes:
            changes.pop("trackingScript", None)
        site.update(copy.deepcopy(changes))
        return _json_response(200, self._site_view(site))

    # -- Kameleoon: integration tools --------------------------------------
    def _tools_get(self, call: _Call) -> _Response:
        self._tools_supported(call)
        site = self._owned_site(call, call.params["id"])
        tools = copy.deepcopy(self._state.integration_tools[site["id"]])
        if self._config.tools_without_settings:
            tools = [{"name": t["name"]} for t in tools]
        if self._config.integration_tools_wrapped:
            return _json_response(200, {"integrationTools": tools})
        return _json_response(200, tools)

    def _tools_put(self, call: _Call) -> _Response:
        self._tools_supported(call)
        site = self._owned_site(call, call.params["id"])
        tools = self._check_tools(call.json_body())
        if "integration-tools" not in self._config.ignore_writes:
            self._state.integration_tools[site["id"]] = tools
        return _json_response(200, copy.deepcopy(tools))

    def _tools_supported(self, call: _Call) -> None:
        if not self._config.integration_tools_supported:
            raise ApiError(405, f"Request method '{call.method}' is not supported")

    @staticmethod
    def _check_tools(body: Any) -> list[JSONDict]:
        if not isinstance(body, list):
            raise ApiError(400, "Request body must be a JSON array of integration tools")
        seen: set[str] = set()
        tools: list[JSONDict] = []
        for n, item in enumerate(body):
            if not isinstance(item, dict):
                raise ApiError(400, f"Integration tool #{n} must be an object")
            for key in item:
                if key not in ("name", "settings"):
                    raise ApiError(
                        400, f"Unrecognized field '{key}' in integration tool #{n}", field=key
                    )
            name = item.get("name")
            if name not in INTEGRATION_TOOL_NAMES:
                raise ApiError(
                    400,
                    f"Integration tool #{n}: 'name' must be one of "
                    + ", ".join(INTEGRATION_TOOL_NAMES),
                    field="name",
                )
            settings = item.get("settings", {})
            if not isinstance(settings, dict):
                raise ApiError(
                    400, f"Integration tool {name}: 'settings' must be an object", field="settings"
                )
            if name in seen:
                raise ApiError(400, f"Integration tool {name} is listed twice")
            seen.add(name)
            tools.append({"name": name, "settings": copy.deepcopy(settings)})
        return tools

    # -- Kameleoon: custom data --------------------------------------------
    def _custom_datas_list(self, call: _Call) -> _Response:
        return self._list(
            call,
            self._site_scoped(call, self._state.custom_datas),
            frozenset({"id", "siteId", "name", "type", "format", "method", "scope", "index"}),
            [("siteId", "siteId")],
        )

    def _custom_data_create(self, call: _Call) -> _Response:
        body = _validate(call.json_body(), _CUSTOM_DATA_SPEC, _CUSTOM_DATA_REQUIRED)
        _check_custom_code({**_CUSTOM_DATA_DEFAULTS, **body})
        site = self._owned_site(call, body["siteId"], as_field=True)
        count = sum(1 for c in self._state.custom_datas.values() if c["siteId"] == site["id"])
        if count >= self._config.custom_data_limit:
            raise ApiError(
                400,
                f"The maximum number of custom data reached "
                f"({self._config.custom_data_limit} per project)",
            )
        return _json_response(CREATED_STATUS, copy.deepcopy(self._insert_custom_data(body)))

    def _owned_custom_data(self, call: _Call) -> JSONDict:
        item = self._state.custom_datas.get(_parse_id(call.params["id"]))
        if item is None or item["siteId"] not in self._owned_sites(call):
            raise ApiError(404, f"Custom data {call.params['id']} not found")
        return item

    def _custom_data_get(self, call: _Call) -> _Response:
        return _json_response(200, copy.deepcopy(self._owned_custom_data(call)))

    def _custom_data_patch(self, call: _Call) -> _Response:
        item = self._owned_custom_data(call)
        changes = _validate(call.json_body(), _CUSTOM_DATA_SPEC)
        if "siteId" in changes and changes["siteId"] != item["siteId"]:
            raise ApiError(400, "Field 'siteId' cannot be changed", field="siteId")
        merged = {**item, **changes}
        _check_custom_code(merged)
        item.update(copy.deepcopy(changes))
        return _json_response(200, copy.deepcopy(item))

    def _custom_data_delete(self, call: _Call) -> _Response:
        item = self._owned_custom_data(call)
        del self._state.custom_datas[item["id"]]
        return _Response(DELETED_STATUS)

    # -- Kameleoon: goals --------------------------------------------------
    def _goals_list(self, call: _Call) -> _Response:
        return self._list(
            call,
            self._site_scoped(call, self._state.goals),
            frozenset({"id", "siteId", "name", "type"}),
            [("siteId", "siteId")],
        )

    def _goal_create(self, call: _Call) -> _Response:
        body = _validate(call.json_body(), _GOAL_SPEC, ("name", "siteId", "type"))
        self._owned_site(call, body["siteId"], as_field=True)
        return _json_response(CREATED_STATUS, copy.deepcopy(self._insert_goal(body)))

    def _goal_get(self, call: _Call) -> _Response:
        item = self._state.goals.get(_parse_id(call.params["id"]))
        if item is None or item["siteId"] not in self._owned_sites(call):
            raise ApiError(404, f"Goal {call.params['id']} not found")
        return _json_response(200, copy.deepcopy(item))

    # -- Kameleoon: experiments and personalizations -----------------------
    def _campaign_list(self, kind: str) -> Handler:
        def handler(call: _Call) -> _Response:
            status = call.arg("status")
            if status is not None and status not in CAMPAIGN_STATUSES:
                raise ApiError(400, "status must be one of " + ", ".join(CAMPAIGN_STATUSES))
            return self._list(
                call,
                [
                    self._campaign_view(kind, c)
                    for c in self._site_scoped(call, self._campaigns(kind))
                ],
                frozenset({"id", "siteId", "name", "status", "type"}),
                [("siteId", "siteId"), ("status", "status")],
            )

        return handler

    def _owned_campaign(self, call: _Call, kind: str) -> JSONDict:
        item = self._campaigns(kind).get(_parse_id(call.params["id"]))
        if item is None or item["siteId"] not in self._owned_sites(call):
            raise ApiError(404, f"{kind[:-1].capitalize()} {call.params['id']} not found")
        return item

    def _campaign_view(self, kind: str, item: JSONDict) -> JSONDict:
        """A campaign as an answer shows it (a copy)."""
        if kind not in self._config.hide_tracking_tools:
            return copy.deepcopy(item)
        return {k: copy.deepcopy(v) for k, v in item.items() if k != "trackingTools"}

    def _campaign_get(self, kind: str) -> Handler:
        def handler(call: _Call) -> _Response:
            return _json_response(200, self._campaign_view(kind, self._owned_campaign(call, kind)))

        return handler

    def _campaign_patch(self, kind: str) -> Handler:
        def handler(call: _Call) -> _Response:
            item = self._owned_campaign(call, kind)
            changes = _validate(call.json_body(), _CAMPAIGN_PATCH_SPEC)
            if "trackingTools" in changes:
                changes["trackingTools"] = self._check_tracking_tools(changes["trackingTools"])
                if kind in self._config.ignore_writes:
                    del changes["trackingTools"]
            item.update(copy.deepcopy(changes))  # arrays are replaced, not merged
            return _json_response(200, self._campaign_view(kind, item))

        return handler

    @staticmethod
    def _check_tracking_tools(tools: list[Any]) -> list[JSONDict]:
        seen: set[str] = set()
        for n, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise ApiError(400, f"trackingTools[{n}] must be an object", field="trackingTools")
            name = tool.get("name")
            if name not in INTEGRATION_TOOL_NAMES:
                raise ApiError(
                    400,
                    f"trackingTools[{n}].name must be one of " + ", ".join(INTEGRATION_TOOL_NAMES),
                    field="trackingTools",
                )
            if name in seen:
                raise ApiError(400, f"Tracking tool {name} is listed twice", field="trackingTools")
            seen.add(name)
        return copy.deepcopy(tools)
