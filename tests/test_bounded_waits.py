"""Every wait on a server is bounded: long Retry-After, trickled bodies, endless paging
and huge error messages end in a clear error, never a hang. Unit tests (respx) and
the real CLI against the fake server."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx
import pytest
import respx
from conftest import CLIENT_ID, ProcRunner, fake_env

from ksegcli.core.http.client import (
    MAX_QUOTED,
    HttpClient,
    RateLimiter,
    human_duration,
    parse_retry_after,
    server_message,
)
from ksegcli.core.kameleoon.client import KameleoonClient, TokenProvider
from ksegcli.errors import ApiError, ExitCode, NetworkError

BASE = "https://api.test"


def make_client(**kwargs: object) -> HttpClient:
    params: dict[str, object] = {"label": "Automation API", "backoff": 0.001, "max_attempts": 3}
    params.update(kwargs)
    return HttpClient(BASE, **params)  # type: ignore[arg-type]


# -- Retry-After ---------------------------------------------------------------------


def test_retry_after_numbers_dates_infinity_and_nan() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("inf") == float("inf")
    assert parse_retry_after("1e999") == float("inf")
    assert parse_retry_after("nan") is None
    assert parse_retry_after("Mon, 99 Foo 99999 99:99:99 GMT") is None
    ahead = email.utils.formatdate(time.time() + 86400 * 30, usegmt=True)
    wait = parse_retry_after(ahead)
    assert wait is not None and wait > 86400 * 29


def test_human_duration() -> None:
    assert human_duration(45) == "45 s"
    assert human_duration(600) == "10 min"
    assert human_duration(999999) == "11 days 13 h"
    assert human_duration(float("inf")) == "an unlimited time"


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("999999", "11 days 13 h"),
        ("inf", "an unlimited time"),
        ("121", "121 s"),
    ],
)
@respx.mock(base_url=BASE)
def test_retry_after_beyond_the_cap_fails_at_once(
    respx_mock: respx.MockRouter, value: str, said: str
) -> None:
    route = respx_mock.get("/x").mock(
        return_value=httpx.Response(429, headers={"Retry-After": value}, json={"message": "slow"})
    )
    limiter = RateLimiter(50, 10)
    started = time.monotonic()
    with pytest.raises(ApiError) as err:
        make_client(limiter=limiter).get_json("/x")
    assert time.monotonic() - started < 2
    assert route.call_count == 1
    assert err.value.exit_code == ExitCode.API
    assert said in err.value.message
    assert "at most 120 s" in err.value.message
    # Nothing paused: the run stops instead of waiting.
    before = time.monotonic()
    limiter.release(limiter.acquire())
    assert time.monotonic() - before < 0.5


@respx.mock(base_url=BASE)
def test_retry_after_as_a_far_http_date_fails_at_once(respx_mock: respx.MockRouter) -> None:
    ahead = email.utils.formatdate(time.time() + 86400 * 3, usegmt=True)
    respx_mock.get("/x").mock(return_value=httpx.Response(429, headers={"Retry-After": ahead}))
    with pytest.raises(ApiError) as err:
        make_client().get_json("/x")
    assert (
        "asked to wait 3 days" in err.value.message or "asked to wait 2 days" in err.value.message
    )


# -- total deadline per request -----------------------------------------------------------


class _Trickle(httpx.SyncByteStream):
    """A body that arrives one byte every ``interval`` seconds."""

    def __init__(self, body: bytes, interval: float) -> None:
        self.body = body
        self.interval = interval

    def __iter__(self) -> Any:
        for index in range(len(self.body)):
            time.sleep(self.interval)
            yield self.body[index : index + 1]


@respx.mock(base_url=BASE)
def test_a_trickling_body_is_cut_at_the_deadline(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get("/x").mock(
        side_effect=lambda request: httpx.Response(
            200, stream=_Trickle(b'{"items": [' + b" " * 200 + b"]}", 0.05)
        )
    )
    client = make_client(deadline=0.4, max_attempts=2)
    started = time.monotonic()
    with pytest.raises(NetworkError) as err:
        client.get_json("/x")
    assert time.monotonic() - started < 2.5
    assert route.call_count == 2  # a read may be retried; each attempt is bounded
    assert err.value.code == "timeout"


@respx.mock(base_url=BASE)
def test_a_slow_but_complete_body_within_the_deadline_is_read(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get("/x").mock(
        side_effect=lambda request: httpx.Response(200, stream=_Trickle(b'{"a": 1}', 0.01))
    )
    assert make_client(deadline=5).get_json("/x") == {"a": 1}


@respx.mock(base_url=BASE)
def test_gzip_answers_are_still_decoded(respx_mock: respx.MockRouter) -> None:
    import gzip

    respx_mock.get("/x").mock(
        return_value=httpx.Response(
            200,
            content=gzip.compress(b'{"zipped": true}'),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
    )
    assert make_client().get_json("/x") == {"zipped": True}


# -- paging ----------------------------------------------------------------------------


def _kameleoon() -> KameleoonClient:
    api = make_client(auth_header=lambda: {"Authorization": "Bearer t"})
    return KameleoonClient(api, TokenProvider(make_client(), "cid", "secret"))


@respx.mock(base_url=BASE)
def test_a_server_ignoring_page_is_stopped(respx_mock: respx.MockRouter) -> None:
    page = [{"id": i} for i in range(3)]
    route = respx_mock.get("/things").mock(return_value=httpx.Response(200, json=page))
    with pytest.raises(ApiError) as err:
        list(_kameleoon().paginate("/things", per_page=3))
    assert route.call_count == 2
    assert "same 3 items" in err.value.message
    assert err.value.exit_code == ExitCode.API


@respx.mock(base_url=BASE)
def test_endless_new_pages_stop_at_the_page_bound(respx_mock: respx.MockRouter) -> None:
    counter = iter(range(10**6))
    respx_mock.get("/things").mock(
        side_effect=lambda request: httpx.Response(200, json=[{"id": next(counter)}])
    )
    client = _kameleoon()
    client.max_pages = 7
    with pytest.raises(ApiError) as err:
        list(client.paginate("/things", per_page=1))
    assert "after 7 pages" in err.value.message


# -- quoting a server ---------------------------------------------------------------------


def test_a_huge_server_message_is_quoted_short() -> None:
    text = server_message(httpx.Response(500, json={"message": "y" * 2_000_000}))
    assert len(text) < MAX_QUOTED + 60
    assert "1999500 more characters" in text
    plain = server_message(httpx.Response(500, text="z" * 100_000))
    assert len(plain) < MAX_QUOTED + 60


# -- the real CLI against the fake server ----------------------------------------------------


def _elapsed(proc: ProcRunner, *args: str, env: dict[str, str]) -> tuple[Any, float]:
    started = time.monotonic()
    result = proc(*args, env=env, timeout=60)
    return result, time.monotonic() - started


@pytest.mark.parametrize("value", ["999999", "inf"])
def test_cli_fails_at_once_on_a_long_retry_after(fake: Any, proc: ProcRunner, value: str) -> None:
    fake.add_site(CLIENT_ID)
    fake.configure(retry_after=value)
    fake.inject("GET", r"^/sites$", "429", count=5)
    result, took = _elapsed(proc, "projects", "list", env=fake_env(fake))
    assert result.exit_code == ExitCode.API, result.stderr
    assert took < 15
    assert "asked to wait" in result.stderr
    assert "Traceback" not in result.stderr
    assert [r.status for r in fake.requests if r.path == "/sites"] == [429]


def test_cli_cuts_a_trickling_answer_and_retries_the_read(fake: Any, proc: ProcRunner) -> None:
    fake.add_site(CLIENT_ID, code="TRICKLE001")
    fake.configure(trickle_interval=0.2)
    fake.inject("GET", r"^/sites$", "trickle", count=1)
    env = {**fake_env(fake), "KSEG_REQUEST_DEADLINE": "1"}
    result, took = _elapsed(proc, "projects", "list", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    assert result.json()["items"][0]["sitecode"] == "TRICKLE001"
    assert took < 20
    assert len([r for r in fake.requests if r.path == "/sites"]) == 2


def test_cli_stops_a_server_that_ignores_paging(fake: Any, proc: ProcRunner) -> None:
    for i in range(200):
        fake.add_site(CLIENT_ID, name=f"s{i}")
    fake.configure(ignore_paging=True)
    result, _ = _elapsed(proc, "projects", "list", "--json", env=fake_env(fake))
    assert result.exit_code == ExitCode.API
    assert "ignore the page parameter" in result.json()["error"]["message"]
    assert len([r for r in fake.requests if r.path == "/sites"]) == 2


def test_cli_quotes_a_huge_error_message_short(fake: Any, proc: ProcRunner) -> None:
    fake.configure(huge_error_bytes=2_000_000)
    fake.inject("GET", r"^/sites$", "huge_error", count=1)
    result, _ = _elapsed(proc, "projects", "list", env=fake_env(fake))
    assert result.exit_code == ExitCode.API
    assert len(result.stderr) < 3000
    assert "more characters" in result.stderr


@pytest.mark.parametrize("value", ["inf", "nan", "0", "-1", "abc"])
def test_cli_refuses_a_bad_request_deadline(proc: ProcRunner, value: str) -> None:
    result = proc(
        "projects",
        "list",
        env={
            "KSEG_REQUEST_DEADLINE": value,
            "KAMELEOON_CLIENT_ID": "x",
            "KAMELEOON_CLIENT_SECRET": "y",
            "KSEG_API_URL": "http://127.0.0.1:9",
        },
    )
    assert result.exit_code == ExitCode.CONFIG, result.stderr
    assert "KSEG_REQUEST_DEADLINE" in result.stderr
