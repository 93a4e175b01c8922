"""Unit tests (respx) for the Segment Public API client and destination planning."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
import respx

from ksegcli.core import segment
from ksegcli.core.kameleoon.apikey import derive_api_key
from ksegcli.core.session import Session
from ksegcli.errors import ApiError, AuthError, BadInputError, NotFoundError

BASE = "https://segment.test"
TOKEN = "sgp_test_token_0123456789"
SOURCE = "src123"
SITECODE = "abcde12345"
KEY = derive_api_key("client-1", "secret-1")
META = segment.KAMELEOON_METADATA_ID
CATALOG = {
    "data": {
        "destinationMetadata": {
            "id": META,
            "name": "Kameleoon (Actions)",
            "actions": [
                {"id": "act-LOG-9f", "slug": "logEvent", "fields": []},
                {"id": "act-IDN-3c", "slug": "identify", "fields": []},
                {"id": "act-GRP-7a", "slug": "group", "fields": []},
                {"id": "act-PAG-1b", "slug": "page", "fields": []},
            ],
            "presets": [
                {
                    "actionId": "act-LOG-9f",
                    "name": "Track",
                    "trigger": 'type = "track"',
                    "fields": {"event": {"@path": "$.event"}},
                },
                {
                    "actionId": "act-PAG-1b",
                    "name": "Page",
                    "trigger": "type = 'page'",
                    "fields": {},
                },
                {
                    "actionId": "act-IDN-3c",
                    "name": "Identify",
                    "trigger": 'type="identify"',
                    "fields": {},
                },
                {
                    "actionId": "act-GRP-7a",
                    "name": "Group",
                    "trigger": 'type = "group"',
                    "fields": {},
                },
            ],
        }
    }
}


def make_session(**env: str) -> Session:
    return Session(
        env={
            "KSEG_SEGMENT_API_URL": BASE,
            "SEGMENT_API_TOKEN": TOKEN,
            "KSEG_SEGMENT_WRITE_LIMIT": "1000/1",
            **env,
        }
    )


def client(**env: str) -> segment.SegmentClient:
    return segment.segment_client(make_session(**env))


@respx.mock
def test_paging_follows_cursor_and_sends_bearer() -> None:
    route = respx.get(f"{BASE}/sources").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "data": {
                        "sources": [{"id": "a"}],
                        "pagination": {"current": "MA==", "next": "MQ=="},
                    }
                },
            ),
            httpx.Response(
                200, json={"data": {"sources": [{"id": "b"}], "pagination": {"current": "MQ=="}}}
            ),
        ]
    )
    assert [s["id"] for s in client().list_sources()] == ["a", "b"]
    first, second = (call.request for call in route.calls)
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"
    assert first.url.params["pagination.count"] == str(segment.PAGE_COUNT)
    assert "pagination.cursor" not in first.url.params
    assert second.url.params["pagination.cursor"] == "MQ=="


@respx.mock
def test_errors_shape_shows_message_and_field() -> None:
    respx.post(f"{BASE}/destinations").mock(
        return_value=httpx.Response(
            422,
            json={
                "errors": [
                    {
                        "type": "validation",
                        "message": "sitecode is invalid",
                        "field": "settings.sitecode",
                        "status": 422,
                    }
                ]
            },
        )
    )
    with pytest.raises(ApiError) as info:
        client().create_destination({"sourceId": SOURCE})
    assert "sitecode is invalid" in info.value.message
    assert "settings.sitecode" in info.value.message
    assert info.value.status == 422


@respx.mock
def test_bad_token_is_auth_error_without_the_token() -> None:
    respx.get(f"{BASE}/sources").mock(
        return_value=httpx.Response(
            401, json={"errors": [{"type": "unauthorized", "message": "Unauthorized"}]}
        )
    )
    with pytest.raises(AuthError) as info:
        client().list_sources()
    assert "Unauthorized" in info.value.message
    assert "SEGMENT_API_TOKEN" in (info.value.hint or "")
    assert TOKEN not in info.value.message + (info.value.hint or "")


@respx.mock
def test_forbidden_alpha_endpoint_names_the_feature() -> None:
    respx.get(f"{BASE}/destinations/d1/subscriptions").mock(
        return_value=httpx.Response(403, json={"errors": [{"message": "Forbidden"}]})
    )
    with pytest.raises(AuthError) as info:
        client().list_subscriptions("d1")
    assert "Destination Subscriptions" in (info.value.hint or "")


@respx.mock
def test_429_retry_after_is_honoured() -> None:
    route = respx.get(f"{BASE}/destinations").mock(
        side_effect=[
            httpx.Response(
                429,
                headers={"Retry-After": "0.05"},
                json={"errors": [{"message": "Too many requests"}]},
            ),
            httpx.Response(200, json={"data": {"destinations": [], "pagination": {}}}),
        ]
    )
    c = client()
    assert c.list_destinations() == []
    assert route.call_count == 2
    assert c.http.throttled == 1


@respx.mock
def test_subscriptions_use_the_alpha_media_type() -> None:
    listed = respx.get(f"{BASE}/destinations/d1/subscriptions").mock(
        return_value=httpx.Response(200, json={"data": {"subscriptions": []}})
    )
    created = respx.post(f"{BASE}/destinations/d1/subscriptions").mock(
        return_value=httpx.Response(200, json={"data": {"destinationSubscription": {"id": "s1"}}})
    )
    c = client()
    c.list_subscriptions("d1")
    assert c.create_subscription("d1", {"name": "x"})["id"] == "s1"
    assert segment.ALPHA_MEDIA_TYPE in listed.calls[0].request.headers["Accept"]
    post = created.calls[0].request
    assert post.headers["Content-Type"] == segment.ALPHA_MEDIA_TYPE
    assert segment.ALPHA_MEDIA_TYPE in post.headers["Accept"]
    assert json.loads(post.content) == {"name": "x"}


def test_subscription_writes_are_paced() -> None:
    with respx.mock:
        respx.post(f"{BASE}/destinations/d1/subscriptions").mock(
            return_value=httpx.Response(200, json={"data": {"subscription": {"id": "s"}}})
        )
        respx.get(f"{BASE}/destinations/d1/subscriptions").mock(
            return_value=httpx.Response(200, json={"data": {"subscriptions": []}})
        )
        respx.get(f"{BASE}/sources").mock(
            return_value=httpx.Response(200, json={"data": {"sources": []}})
        )
        c = client(KSEG_SEGMENT_WRITE_LIMIT="2/0.2")
        limiter = c.alpha_writes.limiter
        assert limiter is not None and (limiter.limit, limiter.window) == (2, 0.2)
        started = time.monotonic()
        c.list_subscriptions("d1")
        c.list_sources()
        for _ in range(5):  # 5 writes at 2 per 0.2 s: at least two full windows
            c.create_subscription("d1", {})
        elapsed = time.monotonic() - started
    assert limiter.total == 5  # writes only, not reads
    assert elapsed >= 0.4


def test_write_limit_env() -> None:
    assert make_session().env["KSEG_SEGMENT_WRITE_LIMIT"] == "1000/1"
    from ksegcli.core.config import segment_write_limit

    assert segment_write_limit({}) == (5, 60.0)
    assert segment_write_limit({"KSEG_SEGMENT_WRITE_LIMIT": "5/0.6"}) == (5, 0.6)


def test_region_hosts() -> None:
    s = Session(env={})
    assert segment.segment_base_url(s, "eu") == "https://eu1.api.segmentapis.com"
    assert segment.segment_base_url(s, None) == "https://api.segmentapis.com"
    s.profile.set("segment_region", "eu")
    assert segment.segment_base_url(s, None) == "https://eu1.api.segmentapis.com"
    assert segment.segment_base_url(Session(env={"KSEG_SEGMENT_API_URL": BASE}), "eu") == BASE
    with pytest.raises(BadInputError):
        segment.segment_base_url(s, "mars")


def test_plan_mappings_uses_catalog_ids_and_screen_reuses_log_event() -> None:
    planned = {p.spec.key: p for p in segment.plan_mappings(CATALOG["data"]["destinationMetadata"])}
    assert set(planned) == {"track", "page", "identify", "group", "screen"}
    assert planned["page"].action_id == "act-PAG-1b"
    assert planned["identify"].action_id == "act-IDN-3c"
    assert planned["screen"].action_id == "act-LOG-9f"
    assert planned["screen"].spec.trigger == 'type = "screen"'
    assert planned["screen"].settings == {"event": {"@path": "$.event"}}


def test_plan_mappings_with_only_log_event() -> None:
    meta = {
        "actions": [
            {
                "id": "L",
                "slug": "logEvent",
                "fields": [{"fieldKey": "type", "defaultValue": {"@path": "$.type"}}],
            }
        ],
        "presets": [],
    }
    planned = segment.plan_mappings(meta)
    assert {p.action_id for p in planned} == {"L"}
    assert planned[0].settings == {"type": {"@path": "$.type"}}
    with pytest.raises(ApiError):
        segment.plan_mappings({"actions": [], "presets": []})


class FakeSegment:
    """Just enough Segment for ensure_destination, on respx."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.destinations: list[dict[str, Any]] = []
        self.subs: dict[str, list[dict[str, Any]]] = {}
        self.writes: list[str] = []
        router.get(f"{BASE}/sources").mock(
            return_value=httpx.Response(200, json={"data": {"sources": [{"id": SOURCE}]}})
        )
        router.get(f"{BASE}/catalog/destinations/{META}").mock(
            return_value=httpx.Response(200, json=CATALOG)
        )
        router.get(f"{BASE}/destinations").mock(side_effect=self.list_destinations)
        router.post(f"{BASE}/destinations").mock(side_effect=self.create_destination)
        router.patch(url__regex=rf"{BASE}/destinations/[^/]+$").mock(side_effect=self.patch_dest)
        router.get(url__regex=rf"{BASE}/destinations/[^/]+/subscriptions").mock(
            side_effect=self.list_subs
        )
        router.post(url__regex=rf"{BASE}/destinations/[^/]+/subscriptions").mock(
            side_effect=self.create_sub
        )
        router.patch(url__regex=rf"{BASE}/destinations/[^/]+/subscriptions/.+").mock(
            side_effect=self.patch_sub
        )

    def list_destinations(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"data": {"destinations": self.destinations, "pagination": {}}}
        )

    def create_destination(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        dest = {
            "id": f"d{len(self.destinations) + 1}",
            "name": body["name"],
            "enabled": body["enabled"],
            "sourceId": body["sourceId"],
            "metadata": {"id": body["metadataId"]},
            "settings": body["settings"],
        }
        self.destinations.append(dest)
        self.subs[dest["id"]] = []
        self.writes.append("POST dest")
        return httpx.Response(200, json={"data": {"destination": dest}})

    def patch_dest(self, request: httpx.Request) -> httpx.Response:
        dest_id = request.url.path.rsplit("/", 1)[1]
        dest = next(d for d in self.destinations if d["id"] == dest_id)
        body = json.loads(request.content)
        dest["settings"].update(body.get("settings", {}))
        dest["enabled"] = body.get("enabled", dest["enabled"])
        self.writes.append("PATCH dest")
        return httpx.Response(200, json={"data": {"destination": dest}})

    def list_subs(self, request: httpx.Request) -> httpx.Response:
        dest_id = request.url.path.split("/")[2]
        return httpx.Response(200, json={"data": {"subscriptions": self.subs[dest_id]}})

    def create_sub(self, request: httpx.Request) -> httpx.Response:
        dest_id = request.url.path.split("/")[2]
        assert request.headers["Content-Type"] == segment.ALPHA_MEDIA_TYPE
        body = json.loads(request.content)
        sub = {"id": f"s{len(self.subs[dest_id]) + 1}", **body}
        self.subs[dest_id].append(sub)
        self.writes.append("POST sub")
        return httpx.Response(200, json={"data": {"destinationSubscription": sub}})

    def patch_sub(self, request: httpx.Request) -> httpx.Response:
        _, _, dest_id, _, sub_id = request.url.path.split("/")
        sub = next(s for s in self.subs[dest_id] if s["id"] == sub_id)
        sub.update(json.loads(request.content)["input"])
        self.writes.append("PATCH sub")
        return httpx.Response(200, json={"data": {"subscription": sub}})


def ensure(**kwargs: Any) -> segment.DestinationResult:
    args: dict[str, Any] = {
        "region": None,
        "sitecode": SITECODE,
        "api_key": KEY,
        "update": False,
        "dry_run": False,
    }
    args.update(kwargs)
    return segment.ensure_destination(make_session(), SOURCE, **args)


def test_ensure_creates_once_then_is_a_no_op() -> None:
    with respx.mock(assert_all_called=False) as router:
        fake = FakeSegment(router)
        first = ensure()
        assert first.state == "created" and first.in_sync
        assert fake.writes == ["POST dest"] + ["POST sub"] * 5
        dest = fake.destinations[0]
        assert dest["settings"] == {"sitecode": SITECODE, "apiKey": KEY}
        assert dest["enabled"] is True
        triggers = {s["trigger"]: s["actionId"] for s in fake.subs["d1"]}
        assert triggers['type = "screen"'] == "act-LOG-9f"
        assert triggers['type = "group"'] == "act-GRP-7a"
        second = ensure()
        assert second.state == "in_sync" and second.in_sync and not second.changed
        assert len(fake.writes) == 6


def test_drift_is_reported_then_fixed_with_update() -> None:
    with respx.mock(assert_all_called=False) as router:
        fake = FakeSegment(router)
        ensure()
        fake.destinations[0]["settings"]["sitecode"] = "zzzzz99999"
        fake.subs["d1"][4]["enabled"] = False  # screen
        drift = ensure()
        assert drift.state == "different" and not drift.in_sync
        assert any("sitecode is zzzzz99999" in d for d in drift.differences)
        assert [m.key for m in drift.mappings if m.state == "different"] == ["screen"]
        assert len(drift.pending) == 2 and len(fake.writes) == 6
        fixed = ensure(update=True)
        assert fixed.state == "updated" and fixed.in_sync
        assert fake.destinations[0]["settings"]["sitecode"] == SITECODE
        assert fake.subs["d1"][4]["enabled"] is True
        assert ensure().state == "in_sync"


def test_missing_mapping_is_created_without_update_and_dry_run_writes_nothing() -> None:
    with respx.mock(assert_all_called=False) as router:
        fake = FakeSegment(router)
        planned = ensure(dry_run=True)
        assert planned.state == "planned" and fake.writes == []
        assert len(planned.pending) == 6
        ensure()
        del fake.subs["d1"][4]
        again = ensure()
        assert again.state == "updated" and again.in_sync
        assert fake.writes[-1] == "POST sub"


def test_status_and_unknown_source() -> None:
    with respx.mock(assert_all_called=False) as router:
        FakeSegment(router)
        missing = segment.destination_status(
            make_session(), SOURCE, region=None, sitecode=SITECODE, api_key=None
        )
        assert missing.state == "missing" and not missing.in_sync
        assert all(m.state == "missing" for m in missing.mappings)
        with pytest.raises(NotFoundError) as info:
            segment.destination_status(
                make_session(), "nope", region=None, sitecode=SITECODE, api_key=None
            )
        assert "segment sources list" in (info.value.hint or "")


def test_malformed_api_key_refused_before_any_request() -> None:
    with respx.mock() as router, pytest.raises(BadInputError):
        ensure(api_key="not-a-key")
    assert not router.calls


# -- the plan: status is the plan, a dry run renders it, ensure executes it -------------------


def _catalog_mappings() -> list[segment.PlannedMapping]:
    return segment.plan_mappings(CATALOG["data"]["destinationMetadata"])


def test_the_plan_of_a_new_destination_is_pure_and_ordered() -> None:
    from ksegcli.core.segment.plan import DestinationRead, plan_destination

    read = DestinationRead(_catalog_mappings(), destinations=[], subscriptions=[])
    plan = plan_destination(read, source_id=SOURCE, region="us", sitecode=SITECODE, api_key=KEY)
    assert [w.kind for w in plan.writes] == ["create-destination"] + ["create-mapping"] * 5
    assert not any(w.fix for w in plan.writes)
    create = plan.writes[0].change
    assert (create.method, create.path) == ("POST", "/destinations")
    assert create.body["settings"] == {"sitecode": SITECODE, "apiKey": KEY}
    assert {w.change.path for w in plan.writes[1:]} == {"/destinations/<new>/subscriptions"}
    status, dry = plan.report(), plan.report(dry_run=True)
    assert (status.state, dry.state) == ("missing", "planned")
    assert {m.state for m in status.mappings} == {"missing"}
    assert {m.state for m in dry.mappings} == {"planned"}
    assert status.pending == dry.pending == [w.change for w in plan.writes]
    assert not status.dry_run and dry.dry_run
    # Without a key a status plans nothing secret.
    keyless = plan_destination(read, source_id=SOURCE, region="us", sitecode=SITECODE, api_key=None)
    assert keyless.writes[0].change.body["settings"] == {"sitecode": SITECODE}


def test_the_plan_of_a_drifted_destination_fixes_only_what_differs() -> None:
    from ksegcli.core.segment.plan import DestinationRead, plan_destination

    mappings = _catalog_mappings()
    subs = [
        {
            "id": f"s-{m.spec.key}",
            "trigger": m.spec.trigger,
            "actionId": m.action_id,
            "enabled": True,
        }
        for m in mappings
        if m.spec.key not in ("screen", "group")
    ]
    subs.append(
        {"id": "s-group", "trigger": 'type = "group"', "actionId": "other", "enabled": True}
    )
    closest = {
        "id": "d1",
        "name": "Mine",
        "enabled": True,
        "settings": {"sitecode": "zzzzz99999", "apiKey": KEY},
    }
    read = DestinationRead(mappings, destinations=[closest, {"id": "d2"}], subscriptions=subs)
    plan = plan_destination(read, source_id=SOURCE, region="eu", sitecode=SITECODE, api_key=KEY)
    assert [(w.kind, w.change.path) for w in plan.writes] == [
        ("fix-destination", "/destinations/d1"),
        ("fix-mapping", "/destinations/d1/subscriptions/s-group"),
        ("create-mapping", "/destinations/d1/subscriptions"),
    ]
    assert [w.fix for w in plan.writes] == [True, True, False]
    assert plan.writes[1].change.body["actionId"] == "act-GRP-7a"
    assert "settings" in plan.writes[1].change.body  # a new action needs its field mappings
    status = plan.report()
    assert status.state == "different" and status.duplicates == ["d2"]
    assert status.differences == [f"sitecode is zzzzz99999, expected {SITECODE}"]
    assert {m.key: m.state for m in status.mappings}["screen"] == "missing"
    assert status.api_key_compared


def test_ensure_executes_the_plan_that_status_and_dry_run_show() -> None:
    with respx.mock(assert_all_called=False) as router:
        fake = FakeSegment(router)
        ensure()
        fake.destinations[0]["settings"]["sitecode"] = "zzzzz99999"
        del fake.subs["d1"][4]  # screen
        status = segment.destination_status(
            make_session(), SOURCE, region=None, sitecode=SITECODE, api_key=KEY
        )
        dry = ensure(dry_run=True, update=True)
        assert status.pending == dry.pending and len(dry.pending) == 2
        assert fake.writes == ["POST dest"] + ["POST sub"] * 5
        # Without --update the missing mapping is added and the settings fix waits.
        partial = ensure()
        assert [c.what for c in partial.applied] == ["map screen"]
        assert [c.what for c in partial.pending] == ["fix the settings"]
        assert partial.state == "different" and not partial.in_sync
        done = ensure(update=True)
        assert [c.what for c in done.applied] == ["fix the settings"]
        assert done.state == "updated" and done.in_sync and not done.pending
