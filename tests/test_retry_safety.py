"""Which failed requests are repeated, and how: idempotent verbs are retried, a POST
whose answer was lost is never sent again blindly, and a create answered 500 is
looked up by name before anything is sent again."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from conftest import CLIENT_ID, ProcRunner, fake_env

from ksegcli.core.http.client import HttpClient
from ksegcli.core.kameleoon import customdata
from ksegcli.core.kameleoon.client import KameleoonClient, Site, TokenProvider
from ksegcli.core.plan import Action, Request
from ksegcli.errors import ApiError, NetworkError

BASE = "https://api.test"


def make_client(**kwargs: object) -> HttpClient:
    params: dict[str, object] = {"label": "Automation API", "backoff": 0.001, "max_attempts": 4}
    params.update(kwargs)
    return HttpClient(BASE, **params)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@respx.mock(base_url=BASE)
def test_put_is_retried_on_5xx(respx_mock: respx.MockRouter, status: int) -> None:
    route = respx_mock.put("/sites/1/integration-tools").mock(
        side_effect=[httpx.Response(status, json={"message": "busy"}), httpx.Response(200, json=[])]
    )
    make_client().request("PUT", "/sites/1/integration-tools", json_body=[])
    assert route.call_count == 2


@respx.mock(base_url=BASE)
def test_post_is_not_sent_again_after_a_timeout(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post("/custom-datas").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(NetworkError) as err:
        make_client().request("POST", "/custom-datas", json_body={"name": "x"})
    assert route.call_count == 1
    assert err.value.code == "timeout"


@respx.mock(base_url=BASE)
def test_post_is_not_sent_again_after_a_dropped_connection(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post("/custom-datas").mock(side_effect=httpx.RemoteProtocolError("gone"))
    with pytest.raises(NetworkError):
        make_client().request("POST", "/custom-datas", json_body={"name": "x"})
    assert route.call_count == 1


def _create_action() -> Action:
    site = Site(id=7, name="Shop", url="", code="shop000001", type="SITE")
    body = {"siteId": 7, "name": "plan", "type": "UNIQUE"}
    return Action(
        site, "custom-data", "plan", "create", "missing", Request("POST", "/custom-datas", body)
    )


@pytest.mark.parametrize("status", [500, 503])
@respx.mock(base_url=BASE)
def test_a_create_answered_5xx_is_looked_up_not_resent(
    respx_mock: respx.MockRouter, status: int
) -> None:
    post = respx_mock.post("/custom-datas").mock(
        return_value=httpx.Response(status, json={"message": "oops"})
    )
    lookup = respx_mock.get("/custom-datas").mock(
        return_value=httpx.Response(200, json=[{"id": 51, "siteId": 7, "name": "plan"}])
    )
    api = make_client(auth_header=lambda: {"Authorization": "Bearer t"})
    client = KameleoonClient(api, TokenProvider(make_client(), "cid", "secret"))
    result = customdata.create(client, _create_action())
    assert post.call_count == 1
    assert lookup.call_count == 1
    assert result.status == "created"
    assert result.id == 51


@respx.mock(base_url=BASE, assert_all_called=False)
def test_a_create_refused_4xx_is_not_looked_up(respx_mock: respx.MockRouter) -> None:
    respx_mock.post("/custom-datas").mock(return_value=httpx.Response(400, json={"message": "no"}))
    lookup = respx_mock.get("/custom-datas").mock(return_value=httpx.Response(200, json=[]))
    api = make_client(auth_header=lambda: {"Authorization": "Bearer t"})
    client = KameleoonClient(api, TokenProvider(make_client(), "cid", "secret"))
    with pytest.raises(ApiError):
        customdata.create(client, _create_action())
    assert lookup.call_count == 0


# -- one policy for every create: look up before resending ----------------------------------


class Creates:
    """A create that loses its answer ``lost`` times, and a look-up of what the server holds."""

    def __init__(self, lost: int, *, commits: bool, error: Exception | None = None) -> None:
        self.lost = lost
        self.commits = commits
        self.error = error or NetworkError("the connection dropped", code="network")
        self.held: list[str] = []
        self.sent = 0
        self.looked = 0

    def create(self) -> str:
        self.sent += 1
        if self.sent <= self.lost:
            if self.commits:
                self.held.append(f"x{self.sent}")
            raise self.error
        self.held.append(f"x{self.sent}")
        return self.held[-1]

    def find(self) -> str | None:
        self.looked += 1
        return self.held[0] if self.held else None


def _once(creates: Creates, pauses: list[float] | None = None) -> tuple[str, bool]:
    from ksegcli.core.create_once import create_once

    pauses = [] if pauses is None else pauses
    return create_once(make_client(), creates.create, creates.find, sleep=pauses.append)


def test_a_lost_answer_whose_create_happened_is_found_not_resent() -> None:
    creates = Creates(1, commits=True)
    assert _once(creates) == ("x1", True)
    assert (creates.sent, creates.looked, creates.held) == (1, 1, ["x1"])


def test_a_lost_answer_whose_create_did_not_happen_is_sent_again_after_a_pause() -> None:
    creates, pauses = Creates(2, commits=False), []
    assert _once(creates, pauses) == ("x3", False)
    assert (creates.sent, creates.looked) == (3, 2)
    assert len(pauses) == 2 and 0 < pauses[0] <= pauses[1]  # growing pauses


def test_lost_answers_give_up_after_the_shared_budget() -> None:
    from ksegcli.core.create_once import MAX_ATTEMPTS

    creates, pauses = Creates(99, commits=False), []
    with pytest.raises(NetworkError):
        _once(creates, pauses)
    assert creates.sent == MAX_ATTEMPTS
    assert creates.looked == MAX_ATTEMPTS - 1  # no look-up after the last attempt
    assert len(pauses) == MAX_ATTEMPTS - 1


@pytest.mark.parametrize(
    ("error", "looked"),
    [
        (ApiError("refused", status=422), 0),  # the server did nothing: raised at once
        (ApiError("unreadable answer"), 0),  # no status: not a lost answer
        (ApiError("busy", status=503), 1),  # may have acted: looked up
    ],
)
def test_only_an_answer_that_may_hide_a_create_is_looked_up(error: ApiError, looked: int) -> None:
    creates = Creates(1, commits=True, error=error)
    if looked:
        assert _once(creates) == ("x1", True)
    else:
        with pytest.raises(ApiError):
            _once(creates)
    assert (creates.sent, creates.looked) == (1, looked)


def test_segment_and_custom_data_share_the_create_policy() -> None:
    """A Segment mapping whose create keeps failing with 5xx gets the same budget as a
    custom data: looked up after each, sent at most MAX_ATTEMPTS times."""
    from ksegcli.core import segment
    from ksegcli.core.create_once import MAX_ATTEMPTS
    from ksegcli.core.segment.destination import execute
    from ksegcli.core.segment.plan import DestinationPlan, Write
    from ksegcli.core.session import Session

    base = "https://segment.test"
    session = Session(
        env={
            "KSEG_SEGMENT_API_URL": base,
            "SEGMENT_API_TOKEN": "sgp_test_token_0123456789",
            "KSEG_SEGMENT_WRITE_LIMIT": "1000/1",
        }
    )
    client = segment.segment_client(session)
    client.alpha_writes.backoff = 0.001
    mapping = segment.plan_mappings(
        {"actions": [{"id": "L", "slug": "logEvent", "fields": []}], "presets": []}
    )[0]
    plan = DestinationPlan(
        source_id="src",
        region="us",
        sitecode="abcde12345",
        destination={"id": "d1", "enabled": True, "settings": {"sitecode": "abcde12345"}},
        duplicates=[],
        differences=[],
        mappings=[segment.MappingStatus(mapping.spec.key, "n", "t", "logEvent", "missing")],
        writes=[
            Write(
                "create-mapping",
                segment.Change("POST", "/destinations/d1/subscriptions", "map", mapping.body()),
                mapping,
            )
        ],
        api_key_compared=False,
    )
    with respx.mock(base_url=base) as router:
        post = router.post("/destinations/d1/subscriptions").mock(
            return_value=httpx.Response(503, json={"errors": [{"message": "busy"}]})
        )
        lookup = router.get("/destinations/d1/subscriptions").mock(
            return_value=httpx.Response(200, json={"data": {"subscriptions": []}})
        )
        with pytest.raises(ApiError):
            execute(client, plan, update=False)
    assert post.call_count == MAX_ATTEMPTS
    assert lookup.call_count == MAX_ATTEMPTS - 1


# -- the real CLI against the fake server ---------------------------------------------------


def create_plan_trait_through(proc: ProcRunner, fake: Any, code: str, fault: str) -> None:
    """``customdata create trait plan`` on a new project whose first create is answered
    with ``fault``: it succeeds and the project ends with one custom data, not two."""
    site = fake.add_site(CLIENT_ID, code=code)
    fake.inject("POST", r"^/custom-datas$", fault, count=1)
    result = proc(
        "customdata", "create", "trait", "plan", "--project", code, "--json", env=fake_env(fake)
    )
    assert result.exit_code == 0, result.stderr
    assert [c["name"] for c in fake.custom_datas(site["id"])] == ["plan"]


def test_cli_create_answered_500_after_commit_is_found_not_duplicated(
    fake: Any, proc: ProcRunner
) -> None:
    create_plan_trait_through(proc, fake, "RETRYSAFE1", "500_after_commit")
    posts = [r for r in fake.requests if r.method == "POST" and r.path == "/custom-datas"]
    assert [r.status for r in posts] == [500]


def test_cli_create_answered_500_before_commit_is_looked_up_then_sent(
    fake: Any, proc: ProcRunner
) -> None:
    create_plan_trait_through(proc, fake, "RETRYSAFE2", "500")
    calls = [(r.method, r.status) for r in fake.requests if r.path == "/custom-datas"]
    # the list for the plan, the failed POST, the look-up by name, then the one real POST
    # (and the list that checks for a copy made by a concurrent run)
    assert calls[-4:] == [("POST", 500), ("GET", 200), ("POST", 201), ("GET", 200)]


def test_cli_put_answered_503_is_retried(fake: Any, proc: ProcRunner) -> None:
    site = fake.add_site(CLIENT_ID, code="RETRYSAFE3")
    fake.inject("PUT", r"/integration-tools$", "503", count=1)
    result = proc("integration", "install", "--project", "RETRYSAFE3", "--json", env=fake_env(fake))
    assert result.exit_code == 0, result.stderr
    puts = [r.status for r in fake.requests if r.method == "PUT"]
    assert puts == [503, 200]
    assert any(t.get("name") == "SEGMENT" for t in fake.integration_tools(site["id"]))
