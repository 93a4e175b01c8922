"""The fake server enforces the remote APIs' rules and injects faults on demand."""

from __future__ import annotations

import base64
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ksegcli.testing import FakeConfig, FakeServer, serve
from ksegcli.testing.fake_server import (
    KAMELEOON_METADATA_ID,
    SEGMENT_ALPHA_MEDIA_TYPE,
    env_lines,
)

ALPHA = {"Accept": SEGMENT_ALPHA_MEDIA_TYPE, "Content-Type": SEGMENT_ALPHA_MEDIA_TYPE}
SEG = {"Authorization": "Bearer seg-token"}
REPO = Path(__file__).resolve().parents[1]
# httpx loads the CA bundle for every new client (~50 ms); the fake is plain
# http, so one shared context keeps the file fast.
_TLS = ssl.create_default_context()


def http(url: str, **kwargs: Any) -> httpx.Client:
    return httpx.Client(base_url=url, verify=_TLS, **kwargs)


@pytest.fixture
def srv() -> Iterator[FakeServer]:
    with FakeServer(FakeConfig(rate_limit=1000, hourly_limit=100000)) as server:
        server.add_account("acme", "acme-secret")
        server.add_account("other", "other-secret")
        yield server


@pytest.fixture
def client(srv: FakeServer) -> Iterator[httpx.Client]:
    with http(srv.url, timeout=5) as c:
        yield c


def bearer(client: httpx.Client, cid: str = "acme", secret: str = "acme-secret") -> dict[str, str]:
    r = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": cid, "client_secret": secret},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def custom_data(site_id: int, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "segment_personas",
        "siteId": site_id,
        "type": "LIST",
        "format": "STRING",
        "method": "CUSTOM_CODE",
        "customEvalCode": "return {value: [], overwrite: true};",
    }
    body.update(over)
    return body


# -- OAuth -------------------------------------------------------------------
def test_token_by_form_and_by_basic(client: httpx.Client) -> None:
    r = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "acme",
            "client_secret": "acme-secret",
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 7200 and body["access_token"]

    basic = base64.b64encode(b"acme:acme-secret").decode()
    r = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 200
    assert client.get("/sites", headers={"Authorization": f"Bearer {r.json()['access_token']}"})


def test_token_errors(client: httpx.Client) -> None:
    r = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "acme", "client_secret": "nope"},
    )
    assert r.status_code == 401
    assert r.json() == {"error": "invalid_client", "error_description": "Bad client credentials"}
    assert "nope" not in r.text

    r = client.post("/oauth/token", data={"client_id": "acme", "client_secret": "acme-secret"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"

    # OAuth wants a form, not JSON.
    r = client.post(
        "/oauth/token",
        json={"grant_type": "client_credentials", "client_id": "acme", "client_secret": "x"},
    )
    assert r.status_code == 400


def test_token_expires_after_scaled_ttl() -> None:
    with FakeServer(FakeConfig(token_ttl=2, time_scale=0.1)) as srv, http(srv.url) as c:
        srv.add_account("acme", "s")
        r = c.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "acme", "client_secret": "s"},
        )
        assert r.json()["expires_in"] == 2  # the unscaled figure, as a client would see it
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert c.get("/sites", headers=auth).status_code == 200
        time.sleep(0.25)
        r = c.get("/sites", headers=auth)
        assert r.status_code == 401
        assert r.json()["message"] == "Access token expired"
        assert srv.requests[-1].account == "acme"


def test_api_calls_need_a_valid_bearer(client: httpx.Client) -> None:
    r = client.get("/sites")
    assert r.status_code == 401 and r.json()["status"] == 401 and r.json()["message"]
    r = client.get("/sites", headers={"Authorization": "Bearer made-up-token"})
    assert r.status_code == 401
    assert "made-up-token" not in r.text


def test_expire_tokens_helper(srv: FakeServer, client: httpx.Client) -> None:
    auth = bearer(client)
    srv.expire_tokens()
    assert client.get("/sites", headers=auth).status_code == 401


# -- Sites, ownership, paging, filters ----------------------------------------
def test_accounts_see_only_their_own_sites(srv: FakeServer, client: httpx.Client) -> None:
    mine = srv.add_site("acme", name="Shop")
    theirs = srv.add_site("other", name="Theirs")
    auth = bearer(client)
    sites = client.get("/sites", headers=auth).json()
    assert [s["id"] for s in sites] == [mine["id"]]
    assert len(mine["code"]) == 10 and mine["code"].isalnum()
    assert client.get(f"/sites/{theirs['id']}", headers=auth).status_code == 404
    assert client.get(f"/sites/byCode/{theirs['code']}", headers=auth).status_code == 404
    r = client.get(f"/sites/byCode/{mine['code']}", headers=auth)
    assert r.status_code == 200 and r.json()["id"] == mine["id"]
    assert client.get("/sites/not-a-number", headers=auth).status_code == 400
    r = client.get(f"/custom-datas?siteId={theirs['id']}", headers=auth)
    assert r.status_code == 404


def test_site_patch_validates(srv: FakeServer, client: httpx.Client) -> None:
    site = srv.add_site("acme")
    auth = bearer(client)
    r = client.patch(f"/sites/{site['id']}", headers=auth, json={"trackingScript": "/* k */"})
    assert r.status_code == 200 and r.json()["trackingScript"] == "/* k */"
    r = client.patch(f"/sites/{site['id']}", headers=auth, json={"code": "x"})
    assert r.status_code == 400 and "'code'" in r.json()["message"]
    r = client.patch(
        f"/sites/{site['id']}", headers={**auth, "Content-Type": "application/json"}, content=b"{"
    )
    assert r.status_code == 400
    r = client.patch(f"/sites/{site['id']}", headers=auth, json={"trackingScript": 7})
    assert r.status_code == 400 and "'trackingScript'" in r.json()["message"]


def test_site_flags_refuse_patch_and_hide_the_script_in_lists(
    srv: FakeServer, client: httpx.Client
) -> None:
    site = srv.add_site("acme", tracking_script="mine();")
    auth = bearer(client)
    assert client.get("/sites", headers=auth).json()[0]["trackingScript"] == "mine();"
    srv.configure(site_patch_supported=False, sites_list_tracking_script=False)
    assert "trackingScript" not in client.get("/sites", headers=auth).json()[0]
    assert client.get(f"/sites/{site['id']}", headers=auth).json()["trackingScript"] == "mine();"
    r = client.patch(f"/sites/{site['id']}", headers=auth, json={"trackingScript": ""})
    assert r.status_code == 405 and "not supported" in r.json()["message"]
    assert srv.sites()[0]["trackingScript"] == "mine();"


def test_paging_answers_bare_arrays_and_refuses_big_pages(
    srv: FakeServer, client: httpx.Client
) -> None:
    site = srv.add_site("acme")
    for n in range(5):
        srv.add_custom_data(site["id"], f"cd{n}")
    auth = bearer(client)
    pages = [
        client.get("/custom-datas", params={"page": p, "perPage": 2}, headers=auth).json()
        for p in (1, 2, 3, 4)
    ]
    assert [len(p) for p in pages] == [2, 2, 1, 0]
    assert all(isinstance(p, list) for p in pages)
    assert [c["name"] for p in pages for c in p] == [f"cd{n}" for n in range(5)]
    assert len(client.get("/custom-datas", headers=auth).json()) == 5  # default page is large
    for bad in ({"perPage": 201}, {"perPage": 0}, {"perPage": "ten"}, {"page": 0}):
        r = client.get("/custom-datas", params=bad, headers=auth)
        assert r.status_code == 400, bad
        assert r.json()["message"]


def test_filters(srv: FakeServer, client: httpx.Client) -> None:
    a = srv.add_site("acme", name="A")
    b = srv.add_site("acme", name="B")
    srv.add_site("acme", name="C")
    auth = bearer(client)

    def names(flt: Any) -> list[str]:
        r = client.get("/sites", params={"filter": json.dumps(flt)}, headers=auth)
        assert r.status_code == 200, r.text
        return [s["name"] for s in r.json()]

    assert names([{"field": "code", "operator": "EQUAL", "parameters": [a["code"]]}]) == ["A"]
    assert names([{"field": "id", "operator": "IN", "parameters": [a["id"], str(b["id"])]}]) == [
        "A",
        "B",
    ]
    assert names([{"field": "name", "operator": "NOT_EQUAL", "parameters": ["B"]}]) == ["A", "C"]
    for bad in (
        [{"field": "code", "operator": "LIKE", "parameters": ["x"]}],
        [{"field": "secret", "operator": "EQUAL", "parameters": ["x"]}],
        [{"field": "code", "operator": "EQUAL", "parameters": []}],
        {"field": "code"},
        "not json",
    ):
        raw = bad if isinstance(bad, str) else json.dumps(bad)
        assert client.get("/sites", params={"filter": raw}, headers=auth).status_code == 400

    srv.add_custom_data(a["id"], "x")
    srv.add_custom_data(b["id"], "y")
    flt = json.dumps([{"field": "siteId", "operator": "EQUAL", "parameters": [b["id"]]}])
    r = client.get("/custom-datas", params={"filter": flt}, headers=auth)
    assert [c["name"] for c in r.json()] == ["y"]
    r = client.get("/custom-datas", params={"siteId": a["id"]}, headers=auth)
    assert [c["name"] for c in r.json()] == ["x"]


# -- Custom data ----------------------------------------------------------------
def test_custom_data_create_defaults_index_and_duplicates(
    srv: FakeServer, client: httpx.Client
) -> None:
    site = srv.add_site("acme")
    auth = bearer(client)
    first = client.post("/custom-datas", headers=auth, json=custom_data(site["id"]))
    assert first.status_code == 201
    item = first.json()
    assert item["scope"] == "VISITOR" and item["description"] == ""
    assert item["isLocalOnly"] is False and item["isConstant"] is False
    # Duplicate names are allowed, as in the real app: a retried POST shows up as two.
    second = client.post("/custom-datas", headers=auth, json=custom_data(site["id"]))
    assert second.status_code == 201
    assert second.json()["index"] == item["index"] + 1
    assert [c["name"] for c in srv.custom_datas(site["id"])] == ["segment_personas"] * 2


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"saveValuesForTargeting": True}, "saveValuesForTargeting"),
        ({"type": "STRING_LIST"}, "type"),
        ({"format": "TEXT"}, "format"),
        ({"scope": "SESSION"}, "scope"),
        ({"customEvalCode": ""}, "customEvalCode"),
        ({"name": ""}, "name"),
        ({"siteId": "12"}, "siteId"),
        ({"isLocalOnly": "no"}, "isLocalOnly"),
    ],
)
def test_custom_data_validation(
    srv: FakeServer, client: httpx.Client, change: dict[str, Any], needle: str
) -> None:
    site = srv.add_site("acme")
    r = client.post("/custom-datas", headers=bearer(client), json=custom_data(site["id"], **change))
    assert r.status_code == 400
    assert needle in r.json()["message"]
    assert srv.custom_datas() == []


def test_custom_data_required_fields_and_foreign_site(
    srv: FakeServer, client: httpx.Client
) -> None:
    site = srv.add_site("acme")
    theirs = srv.add_site("other")
    auth = bearer(client)
    body = custom_data(site["id"])
    del body["method"]
    r = client.post("/custom-datas", headers=auth, json=body)
    assert r.status_code == 400 and "method" in r.json()["message"]
    r = client.post("/custom-datas", headers=auth, json=custom_data(theirs["id"]))
    assert r.status_code == 400 and "siteId" in r.json()["message"]


def test_custom_data_limit_per_site(srv: FakeServer, client: httpx.Client) -> None:
    site = srv.add_site("acme")
    other_site = srv.add_site("acme")
    for n in range(255):
        srv.add_custom_data(site["id"], f"cd{n}")
    auth = bearer(client)
    r = client.post("/custom-datas", headers=auth, json=custom_data(site["id"]))
    assert r.status_code == 400
    assert "maximum number of custom data" in r.json()["message"]
    assert client.post("/custom-datas", headers=auth, json=custom_data(other_site["id"]))


def test_custom_data_get_patch_delete(srv: FakeServer, client: httpx.Client) -> None:
    site = srv.add_site("acme")
    auth = bearer(client)
    item = client.post("/custom-datas", headers=auth, json=custom_data(site["id"])).json()
    url = f"/custom-datas/{item['id']}"
    assert client.get(url, headers=auth).json() == item
    r = client.patch(url, headers=auth, json={"description": "personas"})
    assert r.status_code == 200 and r.json()["description"] == "personas"
    assert client.patch(url, headers=auth, json={"scope": "NOPE"}).status_code == 400
    assert client.patch(url, headers=auth, json={"customEvalCode": None}).status_code == 400
    assert client.patch(url, headers=auth, json={"index": 3}).status_code == 400
    # Another account cannot see it.
    assert client.get(url, headers=bearer(client, "other", "other-secret")).status_code == 404
    assert client.delete(url, headers=auth).status_code == 204
    assert client.get(url, headers=auth).status_code == 404


# -- Integration tools, goals, campaigns -----------------------------------------
def test_integration_tools_get_put(srv: FakeServer, client: httpx.Client) -> None:
    site = srv.add_site("acme")
    auth = bearer(client)
    url = f"/sites/{site['id']}/integration-tools"
    assert client.get(url, headers=auth).json() == []
    tools = [{"name": "GOOGLE_ANALYTICS_4", "settings": {}}, {"name": "SEGMENT", "settings": {}}]
    r = client.put(url, headers=auth, json=tools)
    assert r.status_code == 200 and r.json() == tools
    assert srv.integration_tools(site["id"]) == tools
    for bad, needle in (
        ([{"name": "SEGMENT_IO", "settings": {}}], "name"),
        ([{"name": "SEGMENT", "settings": {}, "enabled": True}], "enabled"),
        ([{"name": "SEGMENT"}, {"name": "SEGMENT"}], "twice"),
        ([{"name": "SEGMENT", "settings": []}], "settings"),
        ({"name": "SEGMENT"}, "array"),
    ):
        r = client.put(url, headers=auth, json=bad)
        assert r.status_code == 400 and needle in r.json()["message"], bad
    assert srv.integration_tools(site["id"]) == tools


def test_integration_tools_unsupported_mode() -> None:
    with FakeServer(FakeConfig(integration_tools_supported=False)) as srv, http(srv.url) as c:
        srv.add_account("acme", "acme-secret")
        site = srv.add_site("acme")
        auth = bearer(c)
        for method in ("GET", "PUT"):
            r = c.request(method, f"/sites/{site['id']}/integration-tools", headers=auth, json=[])
            assert r.status_code == 405 and r.json()["message"]


def test_goals(srv: FakeServer, client: httpx.Client) -> None:
    site = srv.add_site("acme")
    srv.add_goal(site["id"], "Existing")
    auth = bearer(client)
    body = {
        "name": "Signup",
        "siteId": site["id"],
        "type": "CUSTOM",
        "hasMultipleConversions": True,
    }
    r = client.post("/goals", headers=auth, json=body)
    assert r.status_code == 201 and r.json()["name"] == "Signup"
    r = client.get("/goals", params={"siteId": site["id"], "perPage": 200}, headers=auth)
    assert [g["name"] for g in r.json()] == ["Existing", "Signup"]
    assert client.post("/goals", headers=auth, json={**body, "type": "EVENT"}).status_code == 400


def test_experiments_tracking_tools(srv: FakeServer, client: httpx.Client) -> None:
    site = srv.add_site("acme")
    exp = srv.add_experiment(site["id"], "Hero", tracking_tools=[{"name": "GOOGLE_ANALYTICS_4"}])
    srv.add_experiment(site["id"], "Old", status="STOPPED")
    pers = srv.add_personalization(site["id"], "Banner")
    auth = bearer(client)
    r = client.get("/experiments", params={"siteId": site["id"], "status": "ACTIVE"}, headers=auth)
    assert [e["name"] for e in r.json()] == ["Hero"]
    assert client.get("/experiments", params={"status": "LIVE"}, headers=auth).status_code == 400

    tools = [{"name": "GOOGLE_ANALYTICS_4"}, {"name": "SEGMENT"}]
    r = client.patch(f"/experiments/{exp['id']}", headers=auth, json={"trackingTools": tools})
    assert r.status_code == 200 and r.json()["trackingTools"] == tools
    # The array is replaced: a client that sends only SEGMENT drops GA4.
    r = client.patch(
        f"/personalizations/{pers['id']}",
        headers=auth,
        json={"trackingTools": [{"name": "SEGMENT"}]},
    )
    assert r.json()["trackingTools"] == [{"name": "SEGMENT"}]
    bad = {"trackingTools": [{"name": "SEGMENTIO"}]}
    assert client.patch(f"/experiments/{exp['id']}", headers=auth, json=bad).status_code == 400
    assert (
        client.patch(
            f"/experiments/{exp['id']}", headers=auth, json={"status": "PAUSED"}
        ).status_code
        == 400
    )
    # Experiment and personalization ids live in different ranges.
    assert client.get(f"/personalizations/{exp['id']}", headers=auth).status_code == 404


# -- Rate limits and faults ---------------------------------------------------------
def test_rate_limit_with_scaled_window() -> None:
    cfg = FakeConfig(rate_limit=5, rate_window=10.0, time_scale=0.05)  # 5 per 0.5 s
    with FakeServer(cfg) as srv, http(srv.url) as c:
        srv.add_account("acme", "acme-secret")
        auth = bearer(c)  # the token call counts too
        statuses = [c.get("/sites", headers=auth).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 200, 429]
        r = c.get("/sites", headers=auth)
        assert r.status_code == 429 and r.json()["message"]
        wait = float(r.headers["Retry-After"])
        assert 0 < wait <= 0.5 and "." in r.headers["Retry-After"]
        time.sleep(wait)
        assert c.get("/sites", headers=auth).status_code == 200
        assert sum(1 for q in srv.requests if q.status == 429) == 2
        assert {q.account for q in srv.requests} == {"acme"}


def test_rate_limit_is_per_account() -> None:
    with FakeServer(FakeConfig(rate_limit=2)) as srv, http(srv.url) as c:
        srv.add_account("acme", "acme-secret")
        srv.add_account("other", "other-secret")
        a = bearer(c)
        assert c.get("/sites", headers=a).status_code == 200
        assert c.get("/sites", headers=a).status_code == 429
        assert c.get("/sites", headers=bearer(c, "other", "other-secret")).status_code == 200


def test_drop_after_commit_commits_then_drops(srv: FakeServer, client: httpx.Client) -> None:
    site = srv.add_site("acme")
    auth = bearer(client)
    srv.inject("POST", r"^/custom-datas$", "drop_after_commit")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/custom-datas", headers=auth, json=custom_data(site["id"]))
    assert len(srv.custom_datas(site["id"])) == 1  # committed though the client saw nothing
    record = srv.requests[-1]
    assert (record.status, record.fault, record.account) == (0, "drop_after_commit", "acme")
    # One-shot: the retry goes through (and makes a duplicate a careless client would keep).
    assert client.post("/custom-datas", headers=auth, json=custom_data(site["id"])).is_success
    assert len(srv.custom_datas(site["id"])) == 2


def test_drop_before_does_not_commit(srv: FakeServer, client: httpx.Client) -> None:
    site = srv.add_site("acme")
    auth = bearer(client)
    srv.inject("*", "custom-datas", "drop_before")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/custom-datas", headers=auth, json=custom_data(site["id"]))
    assert srv.custom_datas() == []


def test_injected_errors_are_one_shot_and_counted(srv: FakeServer, client: httpx.Client) -> None:
    auth = bearer(client)
    srv.inject("GET", r"^/sites$", "500", count=2)
    srv.inject("GET", r"^/sites$", "429")
    assert [client.get("/sites", headers=auth).status_code for _ in range(2)] == [500, 500]
    r = client.get("/sites", headers=auth)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert client.get("/sites", headers=auth).status_code == 200
    assert [(q.status, q.fault, q.account) for q in srv.requests[-4:]] == [
        (500, "500", "acme"),
        (500, "500", "acme"),
        (429, "429", "acme"),
        (200, None, "acme"),
    ]
    srv.inject("GET", "/sources", "503")
    r = client.get("/sources", headers=SEG)
    assert r.status_code == 503 and r.json()["errors"][0]["status"] == 503


def test_timeout_fault_hangs_until_client_gives_up(srv: FakeServer) -> None:
    srv.configure(timeout_fault_seconds=5.0)
    srv.inject("GET", "/map/map", "timeout")
    started = time.monotonic()
    with http(srv.url, timeout=0.3) as c, pytest.raises(httpx.ReadTimeout):
        c.get("/map/map", params={"siteCode": "x", "key": "k"})
    assert time.monotonic() - started < 2


def test_random_faults_are_seeded_and_spare_oauth() -> None:
    with FakeServer(FakeConfig(error_rate=1.0)) as srv, http(srv.url) as c:
        srv.add_account("acme", "acme-secret")
        auth = bearer(c)  # /oauth/token is spared unless fault_oauth=True
        r = c.get("/sites", headers=auth)
        assert r.status_code == 503 and r.json()["message"] == "Service temporarily unavailable"

    def run(seed: int) -> list[int]:
        with (
            FakeServer(FakeConfig(error_rate=0.5, seed=seed)) as srv,
            http(srv.url, headers={"User-Agent": "ksegcli-test"}) as c,
        ):
            return [c.get("/map/map?siteCode=a&key=b").status_code for _ in range(12)]

    assert run(7) == run(7)
    assert set(run(7)) == {200, 503}


def test_drop_rate_hits_writes_only() -> None:
    with FakeServer(FakeConfig(drop_rate=1.0)) as srv, http(srv.url) as c:
        srv.add_account("acme", "acme-secret")
        site = srv.add_site("acme")
        auth = bearer(c)
        assert c.get("/sites", headers=auth).status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            c.post("/custom-datas", headers=auth, json=custom_data(site["id"]))
        assert len(srv.custom_datas()) == 1


def test_latency_is_applied() -> None:
    with FakeServer(FakeConfig(latency=0.1)) as srv, http(srv.url) as c:
        started = time.monotonic()
        c.get("/map/map?siteCode=a&key=b", headers={"User-Agent": "t"})
        assert time.monotonic() - started >= 0.1


def test_concurrent_creates_get_distinct_ids(srv: FakeServer) -> None:
    site = srv.add_site("acme")
    with http(srv.url) as c:
        auth = bearer(c)

    def create() -> None:
        with http(srv.url) as c:
            for _ in range(5):
                assert c.post("/custom-datas", headers=auth, json=custom_data(site["id"]))

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    items = srv.custom_datas(site["id"])
    assert len({i["id"] for i in items}) == len({i["index"] for i in items}) == 20


# -- API key service and Data API -------------------------------------------------------
@pytest.mark.parametrize("path", ["/kameleoon/segmentio/getapikey", "/segmentio/getapikey"])
def test_getapikey(srv: FakeServer, client: httpx.Client, path: str) -> None:
    r = client.get(path, params={"id": "acme", "secret": "acme-secret"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert base64.b64decode(r.text) == b'{"id":"acme","secret":"acme-secret"}'
    r = client.get(path, params={"id": "acme", "secret": "wrong"})
    assert (r.status_code, r.text) == (401, "Invalid credentials")
    assert all("acme-secret" not in json.dumps(q.to_json()) for q in srv.requests)
    assert srv.requests[-1].query == {"id": "acme", "secret": "***"}


def test_data_api(srv: FakeServer, client: httpx.Client) -> None:
    srv.set_remote_data("abcdefghij", "COHORTS_u1", {"vip": True})
    srv.set_remote_data("abcdefghij", "common", {"cohorts": ["vip"]})
    ua = {"User-Agent": "ksegcli/0.1"}
    r = client.get("/map/map", params={"siteCode": "abcdefghij", "key": "COHORTS_u1"}, headers=ua)
    assert r.json() == {"vip": True}
    assert client.get("/map/map?siteCode=abcdefghij&key=none", headers=ua).json() == {}
    assert client.get("/map/map?siteCode=zzzzzzzzzz&key=common", headers=ua).json() == {}
    assert client.get("/data?key=common&siteCode=abcdefghij", headers=ua).json() == {
        "cohorts": ["vip"]
    }
    keys = json.dumps(["COHORTS_u1", "missing"])
    r = client.get("/map/maps", params={"siteCode": "abcdefghij", "keys": keys}, headers=ua)
    assert r.json() == {"COHORTS_u1": {"vip": True}}
    many = json.dumps([f"k{n}" for n in range(101)])
    r = client.get("/map/maps", params={"siteCode": "abcdefghij", "keys": many}, headers=ua)
    assert r.status_code == 400
    for agent in ("", "Googlebot/2.1"):
        r = client.get("/map/map?siteCode=abcdefghij&key=common", headers={"User-Agent": agent})
        assert r.status_code == 403


# -- Segment Public API ----------------------------------------------------------------
@pytest.fixture
def seg(srv: FakeServer) -> dict[str, Any]:
    srv.add_segment_workspace("seg-token")
    sources = [srv.add_segment_source("seg-token", f"Source {n}") for n in range(3)]
    srv.add_segment_workspace("eu-token", region="eu")
    foreign = srv.add_segment_source("eu-token", "EU source")
    return {"sources": sources, "foreign": foreign}


def kameleoon_destination(source_id: str, **settings: Any) -> dict[str, Any]:
    return {
        "sourceId": source_id,
        "metadataId": KAMELEOON_METADATA_ID,
        "name": "Kameleoon",
        "enabled": True,
        "settings": {"apiKey": "a2V5", "sitecode": "abcdefghij", **settings},
    }


def test_segment_auth_and_error_shape(client: httpx.Client, seg: dict[str, Any]) -> None:
    r = client.get("/sources", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    error = r.json()["errors"][0]
    assert error["type"] == "unauthorized" and error["status"] == 401 and error["message"]


def test_segment_cursor_paging(client: httpx.Client, seg: dict[str, Any]) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"pagination.count": 2}
    while True:
        data = client.get("/sources", params=params, headers=SEG).json()["data"]
        seen += [s["id"] for s in data["sources"]]
        assert data["pagination"]["totalEntries"] == 3
        if "next" not in data["pagination"]:
            break
        params["pagination.cursor"] = data["pagination"]["next"]
    assert seen == [s["id"] for s in seg["sources"]]  # the other workspace's source is not here
    for bad in ({"pagination.count": 0}, {"pagination.count": 201}, {"pagination.cursor": "x"}):
        r = client.get("/sources", params=bad, headers=SEG)
        assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("pagination")
    assert len(client.get("/sources", headers=SEG).json()["data"]["sources"]) == 3


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("sourceId"), "sourceId"),
        (lambda b: b.update(sourceId="nope"), "sourceId"),
        (lambda b: b.update(metadataId="54521fd525e721e32a72ee91"), "metadataId"),
        (lambda b: b.update(workspaceId="w"), "workspaceId"),
        (lambda b: b["settings"].pop("apiKey"), "settings.apiKey"),
        (lambda b: b["settings"].update(sitecode="short"), "settings.sitecode"),
        (lambda b: b["settings"].update(siteCode="abcdefghij"), "settings.siteCode"),
    ],
)
def test_segment_destination_validation(
    srv: FakeServer, client: httpx.Client, seg: dict[str, Any], mutate: Any, field: str
) -> None:
    body = kameleoon_destination(seg["sources"][0]["id"])
    mutate(body)
    r = client.post("/destinations", headers=SEG, json=body)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == field
    assert srv.segment_destinations() == []


def test_segment_destination_foreign_source(client: httpx.Client, seg: dict[str, Any]) -> None:
    body = kameleoon_destination(seg["foreign"]["id"])
    assert client.post("/destinations", headers=SEG, json=body).status_code == 422


def test_segment_destination_lifecycle(
    srv: FakeServer, client: httpx.Client, seg: dict[str, Any]
) -> None:
    source_id = seg["sources"][0]["id"]
    r = client.post("/destinations", headers=SEG, json=kameleoon_destination(source_id))
    assert r.status_code == 200
    dest = r.json()["data"]["destination"]
    assert dest["metadata"]["id"] == KAMELEOON_METADATA_ID and dest["sourceId"] == source_id
    r = client.patch(
        f"/destinations/{dest['id']}", headers=SEG, json={"settings": {"sitecode": "0123456789"}}
    )
    settings = r.json()["data"]["destination"]["settings"]
    assert settings == {"apiKey": "a2V5", "sitecode": "0123456789"}  # merged, not replaced
    r = client.patch(f"/destinations/{dest['id']}", headers=SEG, json={"sourceId": "x"})
    assert r.status_code == 422
    listed = client.get("/destinations", headers=SEG).json()["data"]["destinations"]
    assert [d["id"] for d in listed] == [dest["id"]]
    assert client.get(f"/destinations/{dest['id']}", headers=SEG).status_code == 200
    eu = {"Authorization": "Bearer eu-token"}
    assert client.get(f"/destinations/{dest['id']}", headers=eu).status_code == 404
    assert "a2V5" not in json.dumps(srv.snapshot())


def test_segment_catalog(client: httpx.Client, seg: dict[str, Any]) -> None:
    r = client.get(f"/catalog/destinations/{KAMELEOON_METADATA_ID}", headers=SEG)
    meta = r.json()["data"]["destinationMetadata"]
    assert meta["name"] == "Kameleoon (Actions)" and meta["slug"] == "actions-kameleoon"
    slugs = {a["slug"]: a["id"] for a in meta["actions"]}
    assert set(slugs) == {"logEvent", "identify", "group", "page"}
    assert all(action_id != slug for slug, action_id in slugs.items())
    triggers = {p["trigger"]: p["actionId"] for p in meta["presets"]}
    assert triggers['type = "track"'] == slugs["logEvent"]
    assert 'type = "screen"' not in triggers  # screen is not mapped by default
    assert client.get("/catalog/destinations/000", headers=SEG).status_code == 404


def test_segment_subscriptions(srv: FakeServer, client: httpx.Client, seg: dict[str, Any]) -> None:
    dest = srv.add_segment_destination(
        "seg-token", seg["sources"][0]["id"], {"apiKey": "k", "sitecode": "abcdefghij"}
    )
    url = f"/destinations/{dest['id']}/subscriptions"
    log_event = srv.kameleoon_action_ids()["logEvent"]
    body = {"name": "Screen", "actionId": log_event, "trigger": 'type = "screen"', "enabled": True}

    r = client.post(url, headers=SEG, json=body)  # plain application/json
    assert r.status_code == 415 and r.json()["errors"][0]["type"] == "unsupported-media-type"
    r = client.post(url, headers={**SEG, "Content-Type": SEGMENT_ALPHA_MEDIA_TYPE}, json=body)
    assert r.status_code == 406
    assert client.get(url, headers=SEG).status_code == 406

    alpha = {**SEG, **ALPHA}
    bad = {**body, "actionId": "logEvent"}  # a slug is not an id
    r = client.post(url, headers=alpha, content=json.dumps(bad))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "actionId"
    r = client.post(url, headers=alpha, content=json.dumps({**body, "trigger": ""}))
    assert r.status_code == 422
    r = client.post(url, headers=alpha, content=json.dumps(body))
    assert r.status_code == 200
    sub = r.json()["data"]["destinationSubscription"]
    assert sub["actionSlug"] == "logEvent" and sub["destinationId"] == dest["id"]

    listed = client.get(url, headers=alpha).json()["data"]["subscriptions"]
    assert [s["id"] for s in listed] == [sub["id"]]
    # An update wraps its changes in "input", as the Segment SDKs send it.
    r = client.patch(f"{url}/{sub['id']}", headers=alpha, content=json.dumps({"enabled": False}))
    assert r.status_code == 422
    r = client.patch(
        f"{url}/{sub['id']}", headers=alpha, content=json.dumps({"input": {"enabled": False}})
    )
    assert r.status_code == 200 and r.json()["data"]["subscription"]["enabled"] is False


def test_segment_subscription_write_limit() -> None:
    cfg = FakeConfig(segment_write_limit=5, segment_write_window=60.0, time_scale=0.01)
    with FakeServer(cfg) as srv, http(srv.url) as c:
        srv.add_segment_workspace("seg-token")
        source = srv.add_segment_source("seg-token", "Web")
        dest = srv.add_segment_destination(
            "seg-token", source["id"], {"apiKey": "k", "sitecode": "abcdefghij"}
        )
        url = f"/destinations/{dest['id']}/subscriptions"
        body = json.dumps(
            {
                "name": "Track",
                "actionId": srv.kameleoon_action_ids()["logEvent"],
                "trigger": 'type = "track"',
                "enabled": True,
            }
        )
        headers = {**SEG, **ALPHA}
        statuses = [c.post(url, headers=headers, content=body).status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        r = c.post(url, headers=headers, content=body)
        assert r.json()["errors"][0]["type"] == "too-many-requests"
        wait = float(r.headers["Retry-After"])
        assert 0 < wait <= 0.6
        assert c.get(url, headers=headers).status_code == 200  # reads are not limited
        time.sleep(wait)
        assert c.post(url, headers=headers, content=body).status_code == 200


# -- Admin endpoints, records, command line ------------------------------------------------
def test_admin_endpoints() -> None:
    with FakeServer() as srv, http(srv.url) as c:
        seeded = c.post(
            "/_fake/seed",
            json={
                "accounts": [{"client_id": "ci", "client_secret": "ci-secret"}],
                "sites": [{"client_id": "ci", "name": "CI site", "code": "cicicicici"}],
                "segment": [{"token": "seg-token", "sources": [{"name": "Web"}]}],
                "remote_data": [{"siteCode": "cicicicici", "key": "common", "value": {"a": 1}}],
            },
        ).json()
        site_id = seeded["sites"][0]["id"]
        state = c.get("/_fake/state").json()
        assert [s["code"] for s in state["sites"]] == ["cicicicici"]
        assert "ci-secret" not in json.dumps(state) and "seg-token" not in json.dumps(state)

        assert c.post(
            "/_fake/inject", json={"method": "GET", "path": "^/sites$", "kind": "503"}
        ).is_success
        assert c.post("/_fake/inject", json={"path": "x", "kind": "boom"}).status_code == 400
        auth = bearer(c, "ci", "ci-secret")
        assert c.get("/sites", headers=auth).status_code == 503
        assert c.get(f"/sites/{site_id}", headers=auth).status_code == 200
        records = c.get("/_fake/requests").json()
        assert [(r["path"], r["status"]) for r in records][-2:] == [
            ("/sites", 503),
            (f"/sites/{site_id}", 200),
        ]
        assert len(c.get("/_fake/requests", params={"since": len(records) - 1}).json()) == 1

        assert c.post("/_fake/config", json={"rate_limit": 1}).json()["rate_limit"] == 1
        assert c.post("/_fake/config", json={"nope": 1}).status_code == 400
        assert c.post("/_fake/reset").is_success
        assert c.get("/_fake/state").json()["sites"] == []
        assert c.get("/_fake/requests").json() == []
        assert c.post("/_fake/seed", json={"demo": True}).json()["demo"]["client_id"] == (
            "demo-client"
        )


def test_unknown_paths_and_methods(client: httpx.Client) -> None:
    r = client.get("/nowhere")
    assert r.status_code == 404 and r.json()["message"]
    assert client.delete("/sites").status_code == 405


def test_serve_prints_env_and_stops_on_event() -> None:
    class Out:
        def __init__(self) -> None:
            self.text = ""
            self.ready = threading.Event()

        def write(self, s: str) -> int:
            self.text += s
            if "Ctrl-C" in s:
                self.ready.set()
            return len(s)

        def flush(self) -> None:
            pass

    out, stop = Out(), threading.Event()
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(serve(demo=True, out=out, stop=stop))  # type: ignore[arg-type]
    )
    thread.start()
    assert out.ready.wait(5)
    env = dict(
        line.split("=", 1) for line in out.text.splitlines() if "=" in line and line[0] != "#"
    )
    with http(env["KSEG_API_URL"]) as c:
        auth = bearer(c, env["KAMELEOON_CLIENT_ID"], env["KAMELEOON_CLIENT_SECRET"])
        codes = [s["code"] for s in c.get("/sites", headers=auth).json()]
        assert env["KAMELEOON_SITECODE"] in codes and len(codes) == 2
        r = c.get("/sources", headers={"Authorization": f"Bearer {env['SEGMENT_API_TOKEN']}"})
        assert len(r.json()["data"]["sources"]) == 1
    stop.set()
    thread.join(5)
    assert result == [0]
    assert env_lines("http://x")[0] == "KSEG_API_URL=http://x"


def test_main_runs_as_a_module_and_stops_on_ctrl_c() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ksegcli.testing.fake_server",
            "--port",
            "0",
            "--seed-demo",
            "--time-scale",
            "0.5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        # A job started in the background inherits Ctrl-C as ignored; a person's sandbox
        # in a terminal does not. Test the terminal case wherever the suite runs.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout is not None
        env: dict[str, str] = {}
        for line in proc.stdout:
            if line.startswith("#") and "Ctrl-C" in line:
                break
            if "=" in line and not line.startswith("#"):
                key, value = line.strip().split("=", 1)
                env[key] = value
        assert env["KSEG_SEGMENT_API_URL"] == env["KSEG_API_URL"]
        with http(env["KSEG_CUSTOMERS_URL"]) as c:
            r = c.get(
                "/kameleoon/segmentio/getapikey",
                params={"id": env["KAMELEOON_CLIENT_ID"], "secret": env["KAMELEOON_CLIENT_SECRET"]},
            )
            assert r.status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None
        assert proc.stderr.read() == ""  # quiet by default, and no runpy double-import warning
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
