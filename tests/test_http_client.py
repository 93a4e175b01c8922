"""HttpClient and KameleoonClient against respx: retries, limits, errors, tokens, paging."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import respx

from ksegcli.core.http.client import HttpClient, RateLimiter, parse_retry_after, server_message
from ksegcli.core.kameleoon.client import KameleoonClient, TokenProvider
from ksegcli.core.redact import register_secret
from ksegcli.errors import ApiError, AuthError, ExitCode, NetworkError, NotFoundError

BASE = "https://api.test"


def make_client(**kwargs: object) -> HttpClient:
    params: dict[str, object] = {"label": "Automation API", "backoff": 0.001, "max_attempts": 4}
    params.update(kwargs)
    return HttpClient(BASE, **params)  # type: ignore[arg-type]


def kameleoon(
    secret: str = "s3cret-value", **kwargs: object
) -> tuple[KameleoonClient, TokenProvider]:
    token_http = make_client()
    tokens = TokenProvider(token_http, "cid", secret)
    api = make_client(
        auth_header=lambda: {"Authorization": f"Bearer {tokens.get()}"},
        on_unauthorized=tokens.invalidate,
        **kwargs,
    )
    return KameleoonClient(api, tokens), tokens


def token_route(mock: respx.MockRouter, *tokens: str, expires_in: int = 7200) -> respx.Route:
    return mock.post("/oauth/token").mock(
        side_effect=[
            httpx.Response(200, json={"access_token": t, "expires_in": expires_in}) for t in tokens
        ]
    )


@respx.mock(base_url=BASE, assert_all_called=False)
def test_user_agent_and_bearer(respx_mock: respx.MockRouter) -> None:
    token_route(respx_mock, "tok-1")
    sites = respx_mock.get("/sites").mock(return_value=httpx.Response(200, json=[]))
    client, _ = kameleoon()
    assert client.list_sites() == []
    request = sites.calls.last.request
    assert request.headers["Authorization"] == "Bearer tok-1"
    assert request.headers["User-Agent"].startswith("ksegcli/")
    assert request.url.params["perPage"] == "200"
    assert request.url.params["page"] == "1"


@respx.mock(base_url=BASE)
def test_token_request_is_form_encoded_client_credentials(respx_mock: respx.MockRouter) -> None:
    route = token_route(respx_mock, "tok-1")
    _client, tokens = kameleoon()
    assert tokens.get() == "tok-1"
    body = route.calls.last.request.content.decode()
    assert route.calls.last.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "grant_type=client_credentials" in body
    assert "client_id=cid" in body
    assert "client_secret=s3cret-value" in body


@respx.mock(base_url=BASE)
def test_token_reused_while_valid_and_refetched_near_expiry(respx_mock: respx.MockRouter) -> None:
    route = token_route(respx_mock, "tok-1", "tok-2", expires_in=7200)
    _, tokens = kameleoon()
    assert tokens.get() == "tok-1"
    assert tokens.get() == "tok-1"
    assert route.call_count == 1
    # 59 s left is inside the 60 s margin: a new token is fetched.
    assert tokens._token is not None
    tokens._token = type(tokens._token)(tokens._token.token, time.time() + 59)
    assert tokens.get() == "tok-2"
    assert route.call_count == 2


@respx.mock(base_url=BASE)
def test_401_drops_token_and_retries_once(respx_mock: respx.MockRouter) -> None:
    token_route(respx_mock, "old", "new")
    route = respx_mock.get("/sites").mock(
        side_effect=[
            httpx.Response(401, json={"message": "Token expired"}),
            httpx.Response(200, json=[{"id": 1, "name": "A", "url": "u", "code": "ABCDE12345"}]),
        ]
    )
    client, _ = kameleoon()
    sites = client.list_sites()
    assert [s.code for s in sites] == ["ABCDE12345"]
    assert [c.request.headers["Authorization"] for c in route.calls] == ["Bearer old", "Bearer new"]


@respx.mock(base_url=BASE)
def test_persistent_401_is_an_auth_error(respx_mock: respx.MockRouter) -> None:
    token_route(respx_mock, "a", "b")
    route = respx_mock.get("/sites").mock(
        return_value=httpx.Response(401, json={"message": "nope"})
    )
    client, _ = kameleoon()
    with pytest.raises(AuthError) as err:
        client.list_sites()
    assert route.call_count == 2  # one retry with a fresh token, not more
    assert "nope" in err.value.message
    assert err.value.exit_code == ExitCode.AUTH


@respx.mock(base_url=BASE)
def test_bad_client_credentials(respx_mock: respx.MockRouter) -> None:
    respx_mock.post("/oauth/token").mock(
        return_value=httpx.Response(
            401, json={"error": "invalid_client", "error_description": "Bad client credentials"}
        )
    )
    _, tokens = kameleoon(secret="wrong-secret-123")
    with pytest.raises(AuthError) as err:
        tokens.get()
    assert "Bad client credentials" in err.value.message
    assert "wrong-secret-123" not in err.value.message


@respx.mock(base_url=BASE)
def test_paging_until_short_page(respx_mock: respx.MockRouter) -> None:
    token_route(respx_mock, "t")

    def pages(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        per = int(request.url.params["perPage"])
        total = 450
        start = (page - 1) * per
        items = [{"id": i, "code": f"C{i:09d}"} for i in range(start, min(start + per, total))]
        return httpx.Response(200, json=items)

    route = respx_mock.get("/sites").mock(side_effect=pages)
    client, _ = kameleoon()
    assert len(client.list_sites()) == 450
    assert route.call_count == 3
    client.list_sites()
    assert route.call_count == 3  # cached for the run


@respx.mock(base_url=BASE)
def test_exact_multiple_of_page_size_needs_one_empty_page(respx_mock: respx.MockRouter) -> None:
    token_route(respx_mock, "t")
    route = respx_mock.get("/sites").mock(
        side_effect=[
            httpx.Response(200, json=[{"id": i} for i in range(200)]),
            httpx.Response(200, json=[]),
        ]
    )
    client, _ = kameleoon()
    assert len(client.list_sites()) == 200
    assert route.call_count == 2


@respx.mock(base_url=BASE)
def test_429_honours_retry_after_then_succeeds(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get("/x").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "0.2"}, json={"message": "slow down"}),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    limiter = RateLimiter(50, 10)
    client = make_client(limiter=limiter)
    started = time.monotonic()
    assert client.get_json("/x") == {"ok": True}
    assert time.monotonic() - started >= 0.2
    assert route.call_count == 2
    assert client.throttled == 1


@respx.mock(base_url=BASE)
def test_post_429_is_retried_but_post_503_is_not(respx_mock: respx.MockRouter) -> None:
    ok = respx_mock.post("/a").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "0"}),
            httpx.Response(201, json={}),
        ]
    )
    bad = respx_mock.post("/b").mock(return_value=httpx.Response(503, json={"message": "down"}))
    client = make_client()
    client.request("POST", "/a", json_body={})
    assert ok.call_count == 2
    with pytest.raises(ApiError) as err:
        client.request("POST", "/b", json_body={})
    assert bad.call_count == 1  # the server may have acted: the caller decides
    assert "down" in err.value.message
    assert err.value.status == 503


@respx.mock(base_url=BASE)
def test_get_5xx_retried_then_gives_up_with_server_message(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get("/x").mock(return_value=httpx.Response(502, text="bad gateway here"))
    client = make_client(max_attempts=3)
    with pytest.raises(ApiError) as err:
        client.get_json("/x")
    assert route.call_count == 3
    assert "bad gateway here" in err.value.message
    assert err.value.exit_code == ExitCode.API


@respx.mock(base_url=BASE)
def test_connect_error_is_network_error(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("/x").mock(side_effect=httpx.ConnectError("Connection refused"))
    client = make_client(max_attempts=2)
    with pytest.raises(NetworkError) as err:
        client.get_json("/x")
    assert err.value.exit_code == ExitCode.NETWORK
    assert "Cannot reach" in err.value.message


@respx.mock(base_url=BASE)
def test_404_is_not_found_with_message(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("/sites/9").mock(return_value=httpx.Response(404, json={"message": "Site 9"}))
    with pytest.raises(NotFoundError) as err:
        make_client().get_json("/sites/9")
    assert "Site 9" in err.value.message


def test_server_message_shapes() -> None:
    seg = httpx.Response(
        422,
        json={"errors": [{"type": "validation", "message": "bad sitecode", "field": "sitecode"}]},
    )
    assert server_message(seg) == "bad sitecode (field: sitecode)"
    assert server_message(httpx.Response(400, json={"message": "m"})) == "m"
    assert server_message(httpx.Response(400, text="plain")) == "plain"


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.25") == 0.25
    assert parse_retry_after(None) is None
    assert parse_retry_after("garbage") is None


def test_rate_limiter_spaces_sends_from_previous_answers() -> None:
    limiter = RateLimiter(5, 0.2)
    sends: list[float] = []
    answers: list[float] = []
    for _ in range(12):
        ticket = limiter.acquire()
        sends.append(time.monotonic())
        time.sleep(0.01)  # latency
        limiter.release(ticket)
        answers.append(time.monotonic())
    # Request i+5 leaves only once request i's answer is a full window old.
    for i in range(5, len(sends)):
        assert sends[i] - answers[i - 5] >= 0.2 - 1e-3


def test_rate_limiter_with_threads_keeps_limit_in_flight() -> None:
    import threading

    limiter = RateLimiter(3, 0.1)
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal in_flight, peak
        for _ in range(4):
            ticket = limiter.acquire()
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            time.sleep(0.005)
            with lock:
                in_flight -= 1
            limiter.release(ticket)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak <= 3
    assert limiter.total == 24


@respx.mock(base_url=BASE)
def test_verbose_log_redacts_secrets(respx_mock: respx.MockRouter) -> None:
    register_secret("topsecretvalue")
    respx_mock.get("/getapikey").mock(return_value=httpx.Response(200, text="k"))
    lines: list[str] = []
    client = make_client(log=lines.append)
    client.request("GET", "/getapikey", params={"id": "cid", "secret": "topsecretvalue"})
    text = "\n".join(lines)
    assert "GET" in text and "/getapikey" in text
    assert "topsecretvalue" not in text
    assert "secret=****" in text


def test_api_errors_are_json_serialisable() -> None:
    err = ApiError("x", status=400, hint="h")
    assert json.loads(json.dumps(err.to_json()))["error"]["hint"] == "h"
