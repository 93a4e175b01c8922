"""Seeding the fake from Python or JSON, and reading its state back (locked copies)."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ksegcli.testing.fake.automation import _Automation
from ksegcli.testing.fake.automation_rules import _CUSTOM_DATA_SPEC, _validate
from ksegcli.testing.fake.calls import _now_iso
from ksegcli.testing.fake.facts import (
    CAMPAIGN_STATUSES,
    DEMO_SITECODE,
    DEMO_SOURCE_ID,
    KAMELEOON_ACTIONS,
    KAMELEOON_METADATA_ID,
)
from ksegcli.testing.fake.segment_api import _action_id, _SegmentApi
from ksegcli.testing.fake.state import Account, JSONDict, SegmentWorkspace


class _Seeding(_Automation, _SegmentApi):
    """Helpers that create and read resources directly, bypassing the HTTP rules."""

    def add_account(self, client_id: str, client_secret: str) -> Account:
        with self._lock:
            if client_id in self._state.accounts:
                raise ValueError(f"account {client_id!r} exists")
            account = Account(client_id, client_secret)
            self._state.accounts[client_id] = account
            return account

    def add_site(
        self,
        client_id: str,
        name: str = "My site",
        url: str = "https://www.example.com",
        code: str | None = None,
        type: str = "SITE",  # the API's field name
        tracking_script: str = "",
    ) -> JSONDict:
        with self._lock:
            if client_id not in self._state.accounts:
                raise ValueError(f"no account {client_id!r}")
            codes = {s["code"] for s in self._state.sites.values()}
            if code is None:
                code = self._new_sitecode(codes)
            elif code in codes:
                raise ValueError(f"sitecode {code!r} is taken")
            site_id = self._next_id("site")
            site = {
                "id": site_id,
                "name": name,
                "url": url,
                "code": code,
                "type": type,
                "trackingScript": tracking_script,
                "dateCreated": _now_iso(),
            }
            self._state.sites[site_id] = site
            self._state.site_owner[site_id] = client_id
            self._state.integration_tools[site_id] = []
            return copy.deepcopy(site)

    def add_custom_data(self, site_id: int, name: str, **fields_: Any) -> JSONDict:
        """Create a custom data point directly (bypasses the 255 limit check)."""
        body: JSONDict = {
            "name": name,
            "siteId": site_id,
            "type": "UNIQUE",
            "format": "STRING",
            "method": "CLIENT",
            **fields_,
        }
        with self._lock:
            self._require_site(site_id)
            return copy.deepcopy(self._insert_custom_data(_validate(body, _CUSTOM_DATA_SPEC)))

    def add_goal(
        self,
        site_id: int,
        name: str,
        type: str = "CUSTOM",  # the API's field name
        has_multiple_conversions: bool = True,
    ) -> JSONDict:
        with self._lock:
            self._require_site(site_id)
            return copy.deepcopy(
                self._insert_goal(
                    {
                        "name": name,
                        "siteId": site_id,
                        "type": type,
                        "hasMultipleConversions": has_multiple_conversions,
                    }
                )
            )

    def add_experiment(
        self,
        site_id: int,
        name: str,
        status: str = "ACTIVE",
        tracking_tools: Sequence[Mapping[str, Any]] = (),
        type: str = "CLASSIC",  # the API's field name
    ) -> JSONDict:
        return self._add_campaign("experiments", site_id, name, status, tracking_tools, type)

    def add_personalization(
        self,
        site_id: int,
        name: str,
        status: str = "ACTIVE",
        tracking_tools: Sequence[Mapping[str, Any]] = (),
    ) -> JSONDict:
        return self._add_campaign("personalizations", site_id, name, status, tracking_tools, None)

    def set_integration_tools(self, site_id: int, tools: Sequence[Mapping[str, Any]]) -> None:
        with self._lock:
            self._require_site(site_id)
            self._state.integration_tools[site_id] = self._check_tools(list(tools))

    def set_remote_data(self, sitecode: str, key: str, value: Any) -> None:
        with self._lock:
            self._state.remote_data.setdefault(sitecode, {})[key] = copy.deepcopy(value)

    def add_segment_workspace(self, token: str, region: str = "us") -> SegmentWorkspace:
        with self._lock:
            if token in self._state.workspaces:
                raise ValueError("a workspace with that token exists")
            workspace = SegmentWorkspace(self._segment_id(), token, region)
            self._state.workspaces[token] = workspace
            return workspace

    def add_segment_source(
        self, token: str, name: str, slug: str | None = None, source_id: str | None = None
    ) -> JSONDict:
        with self._lock:
            workspace = self._state.workspaces.get(token)
            if workspace is None:
                raise ValueError("no workspace with that token")
            if source_id is None:
                source_id = self._segment_id()
            elif source_id in self._state.sources:
                raise ValueError(f"source id {source_id!r} is taken")
            source = {
                "id": source_id,
                "slug": slug or re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_"),
                "name": name,
                "enabled": True,
                "workspaceId": workspace.id,
                "writeKeys": [self._segment_id()],
                "metadata": {
                    "id": "IqDTy1TpoU",
                    "slug": "javascript",
                    "name": "Javascript",
                    "categories": ["Website"],
                },
                "settings": {},
                "labels": [],
            }
            self._state.sources[source_id] = source
            return copy.deepcopy(source)

    def add_segment_destination(
        self,
        token: str,
        source_id: str,
        settings: Mapping[str, Any],
        name: str | None = None,
        enabled: bool = True,
        metadata_id: str = KAMELEOON_METADATA_ID,
    ) -> JSONDict:
        with self._lock:
            workspace = self._state.workspaces.get(token)
            if workspace is None:
                raise ValueError("no workspace with that token")
            body = {
                "sourceId": source_id,
                "metadataId": metadata_id,
                "settings": dict(settings),
                "enabled": enabled,
            }
            if name is not None:
                body["name"] = name
            return copy.deepcopy(self._insert_destination(workspace, body))

    def seed(self, data: Mapping[str, Any]) -> JSONDict:
        """Seed from a JSON-like document (the body of POST /_fake/seed).

        Keys, all optional: demo (bool), accounts [{client_id, client_secret}],
        sites [{client_id, name, url, code, type}], segment [{token, region,
        sources: [{name, slug}]}], remote_data [{siteCode, key, value}],
        custom_datas [{site_id, name, ...fields}], goals [{site_id, name, type}],
        experiments / personalizations [{site_id, name, status, tracking_tools}].
        """
        out: JSONDict = {}
        if data.get("demo"):
            out["demo"] = self.seed_demo()
        out["accounts"] = [
            self.add_account(a["client_id"], a["client_secret"]).client_id
            for a in data.get("accounts", [])
        ]
        out["sites"] = [
            self.add_site(
                s["client_id"],
                name=s.get("name", "My site"),
                url=s.get("url", "https://www.example.com"),
                code=s.get("code"),
                type=s.get("type", "SITE"),
            )
            for s in data.get("sites", [])
        ]
        out["segment"] = []
        for ws in data.get("segment", []):
            workspace = self.add_segment_workspace(ws["token"], ws.get("region", "us"))
            sources = [
                self.add_segment_source(ws["token"], s["name"], s.get("slug"))
                for s in ws.get("sources", [])
            ]
            out["segment"].append({"workspaceId": workspace.id, "sources": sources})
        for item in data.get("remote_data", []):
            self.set_remote_data(item["siteCode"], item["key"], item["value"])
        out["custom_datas"] = [
            self.add_custom_data(
                c["site_id"],
                c["name"],
                **{k: v for k, v in c.items() if k not in ("site_id", "name")},
            )
            for c in data.get("custom_datas", [])
        ]
        out["goals"] = [
            self.add_goal(g["site_id"], g["name"], g.get("type", "CUSTOM"))
            for g in data.get("goals", [])
        ]
        out["experiments"] = [
            self.add_experiment(
                e["site_id"], e["name"], e.get("status", "ACTIVE"), e.get("tracking_tools", ())
            )
            for e in data.get("experiments", [])
        ]
        out["personalizations"] = [
            self.add_personalization(
                p["site_id"], p["name"], p.get("status", "ACTIVE"), p.get("tracking_tools", ())
            )
            for p in data.get("personalizations", [])
        ]
        return out

    def seed_demo(self) -> JSONDict:
        """The sandbox's demo data: account demo-client/demo-secret with two
        sites, Segment token demo-segment-token with one source, some remote data."""
        self.add_account("demo-client", "demo-secret")
        # The project, the id and the source of examples/account.toml: the README's apply
        # example runs against the sandbox as written.
        shop = self.add_site(
            "demo-client", name="Demo shop", url="https://shop.example.com", code=DEMO_SITECODE
        )
        blog = self.add_site("demo-client", name="Demo blog", url="https://blog.example.com")
        self.add_goal(shop["id"], "Signup")
        self.add_experiment(
            shop["id"],
            "Homepage hero",
            tracking_tools=[{"name": "GOOGLE_ANALYTICS_4"}],
        )
        self.add_personalization(shop["id"], "Welcome back banner")
        self.add_segment_workspace("demo-segment-token")
        source = self.add_segment_source(
            "demo-segment-token", "Demo website", "demo_website", source_id=DEMO_SOURCE_ID
        )
        self.set_remote_data(shop["code"], "COHORTS_demo-user", {"big_spenders": True})
        self.set_remote_data(
            shop["code"], "IDENTIFY_demo-user", {"traits": {"plan": "pro"}, "groupId": "acme"}
        )
        self.set_remote_data(shop["code"], "common", {"cohorts": ["big_spenders"]})
        return {
            "client_id": "demo-client",
            "client_secret": "demo-secret",
            "sites": [shop, blog],
            "segment_token": "demo-segment-token",
            "segment_source": source,
        }

    # -- read helpers (locked copies) --------------------------------------
    def snapshot(self) -> JSONDict:
        with self._lock:
            return self._state.to_json()

    def sites(self, client_id: str | None = None) -> list[JSONDict]:
        with self._lock:
            return copy.deepcopy(
                [
                    s
                    for i, s in sorted(self._state.sites.items())
                    if client_id is None or self._state.site_owner[i] == client_id
                ]
            )

    def integration_tools(self, site_id: int) -> list[JSONDict]:
        with self._lock:
            return copy.deepcopy(self._state.integration_tools.get(site_id, []))

    def custom_datas(self, site_id: int | None = None) -> list[JSONDict]:
        return self._site_items(self._state.custom_datas, site_id)

    def goals(self, site_id: int | None = None) -> list[JSONDict]:
        return self._site_items(self._state.goals, site_id)

    def experiments(self, site_id: int | None = None) -> list[JSONDict]:
        return self._site_items(self._state.experiments, site_id)

    def personalizations(self, site_id: int | None = None) -> list[JSONDict]:
        return self._site_items(self._state.personalizations, site_id)

    def remote_data(self, sitecode: str, key: str) -> Any:
        with self._lock:
            return copy.deepcopy(self._state.remote_data.get(sitecode, {}).get(key))

    def segment_destinations(self, token: str | None = None) -> list[JSONDict]:
        with self._lock:
            ws_id = self._state.workspaces[token].id if token is not None else None
            return copy.deepcopy(
                [
                    d
                    for d in self._state.destinations.values()
                    if ws_id is None or d["workspaceId"] == ws_id
                ]
            )

    def segment_subscriptions(self, destination_id: str) -> list[JSONDict]:
        with self._lock:
            return copy.deepcopy(
                [
                    s
                    for s in self._state.subscriptions.values()
                    if s["destinationId"] == destination_id
                ]
            )

    def kameleoon_action_ids(self) -> dict[str, str]:
        """Catalog action ids of the Kameleoon destination, by action slug."""
        return {slug: _action_id(slug) for slug, *_ in KAMELEOON_ACTIONS}

    def _add_campaign(
        self,
        kind: str,
        site_id: int,
        name: str,
        status: str,
        tracking_tools: Sequence[Mapping[str, Any]],
        type_: str | None,
    ) -> JSONDict:
        # Any case: one deploy script saw a personalization's status as lowercase "active".
        if status.upper() not in CAMPAIGN_STATUSES:
            raise ValueError(f"status must be one of {CAMPAIGN_STATUSES}")
        with self._lock:
            self._require_site(site_id)
            tools = self._check_tracking_tools([dict(t) for t in tracking_tools])
            item: JSONDict = {
                "id": self._next_id("experiment" if kind == "experiments" else "personalization"),
                "name": name,
                "siteId": site_id,
                "status": status,
                "description": "",
                "tags": [],
                "trackingTools": tools,
                "goals": [],
                "mainGoalId": None,
                "dateCreated": _now_iso(),
            }
            if type_ is not None:
                item["type"] = type_
            self._campaigns(kind)[item["id"]] = item
            return copy.deepcopy(item)
