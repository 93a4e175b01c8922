"""Answers no API should give: HTML, null or text ids, objects where lists belong, JSON
nested 100,000 deep. Through the real CLI against the fake server, each is an API
error (exit 5) naming the endpoint, never "Internal error" and never a traceback."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ksegcli.errors import ApiError, ExitCode
from tests.conftest import CLIENT_ID, ProcRunner, Result, fake_env

DEEP = "[" * 100_000 + "]" * 100_000
SEGMENT_TOKEN = "sgp_hostile_answers_token"


def assert_api_error(result: Result, endpoint: str) -> None:
    assert "Internal error" not in result.output, result.output[:2000]
    assert "Traceback" not in result.output, result.output[:2000]
    assert result.exit_code == ExitCode.API, result.output[:2000]
    assert endpoint in result.stderr, result.stderr[:2000]


SITES_BODIES = {
    "no id": json.dumps([{"name": "x", "code": "ABCDE12345"}]),
    "text id": json.dumps([{"id": "abc", "name": "x"}]),
    "null id": json.dumps([{"id": None, "name": "x"}]),
    "bool id": json.dumps([{"id": True}]),
    "list item": json.dumps([[1, 2]]),
    "object for list": json.dumps({"id": 1, "name": "x"}),
    "name is a list": json.dumps([{"id": 1, "name": ["x"]}]),
    "html": "<!doctype html><html><body>Gateway</body></html>",
    "truncated": '[{"id": 1, "na',
    "deep": DEEP,
    "not utf-8": b'[{"id": 1, "name": "\xff\xfe"}]',
}


@pytest.mark.parametrize("body", list(SITES_BODIES.values()), ids=list(SITES_BODIES))
def test_a_bad_projects_answer_is_an_api_error_naming_the_endpoint(
    proc: ProcRunner, fake: Any, body: str | bytes
) -> None:
    ctype = "text/html" if isinstance(body, str) and body.startswith("<") else "application/json"
    fake.serve_body("GET", r"^/sites$", body, content_type=ctype)
    result = proc("projects", "list", env=fake_env(fake))
    assert_api_error(result, "GET /sites")


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"access_token": None, "expires_in": 3600}),
        json.dumps({"token_type": "bearer"}),
        json.dumps([]),
        "<html>login</html>",
        DEEP,
    ],
    ids=["null token", "no token", "list", "html", "deep"],
)
def test_a_bad_token_answer_is_an_api_error(proc: ProcRunner, fake: Any, body: str) -> None:
    fake.serve_body("POST", r"^/oauth/token$", body)
    result = proc("projects", "list", env=fake_env(fake))
    assert_api_error(result, "POST /oauth/token")


@pytest.mark.parametrize(
    "body",
    [json.dumps([{"id": "abc", "name": "x"}]), json.dumps([{"id": 5, "siteId": "s"}])],
    ids=["text id", "text site id"],
)
def test_a_bad_custom_data_answer_is_an_api_error(proc: ProcRunner, fake: Any, body: str) -> None:
    site = fake.add_site(CLIENT_ID)
    fake.serve_body("GET", r"^/custom-datas$", body)
    result = proc("customdata", "list", "--project", site["code"], env=fake_env(fake))
    assert_api_error(result, "GET /custom-datas")


def test_a_bad_goal_answer_is_an_api_error(proc: ProcRunner, fake: Any) -> None:
    site = fake.add_site(CLIENT_ID)
    fake.serve_body("GET", r"^/goals$", json.dumps([{"id": None, "name": "SegmentIO track – x"}]))
    result = proc("goals", "list", "--project", site["code"], env=fake_env(fake))
    assert_api_error(result, "GET /goals")


def test_a_bad_campaign_answer_is_an_api_error(proc: ProcRunner, fake: Any) -> None:
    site = fake.add_site(CLIENT_ID)
    fake.serve_body("GET", r"^/experiments$", json.dumps([{"id": "x1"}]))
    result = proc("reporting", "status", "--project", site["code"], env=fake_env(fake))
    assert_api_error(result, "GET /experiments")


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"data": {"sources": [{"id": None, "name": "web"}]}}),
        json.dumps({"data": {"sources": [["web"]]}}),
        json.dumps({"data": {"sources": {"id": "a"}}}),
        "<html>Bad gateway</html>",
    ],
    ids=["null id", "list item", "object for list", "html"],
)
def test_a_bad_segment_answer_is_an_api_error(proc: ProcRunner, fake: Any, body: str) -> None:
    fake.add_segment_workspace(SEGMENT_TOKEN)
    fake.serve_body("GET", r"^/sources$", body)
    env = {**fake_env(fake), "SEGMENT_API_TOKEN": SEGMENT_TOKEN}
    result = proc("segment", "sources", "list", env=env)
    assert_api_error(result, "GET /sources")


def test_a_deep_error_body_is_still_reported_as_the_servers_refusal(
    proc: ProcRunner, fake: Any
) -> None:
    fake.serve_body("GET", r"^/sites$", DEEP, status=400)
    result = proc("projects", "list", env=fake_env(fake))
    assert_api_error(result, "GET /sites")
    assert len(result.stderr) < 5_000


def test_the_boundary_names_the_field() -> None:
    from ksegcli.core.http.parse import SiteAnswer, convert, decode

    with pytest.raises(ApiError) as info:
        convert([{"id": 1}, {"id": "abc"}], list[SiteAnswer], "GET /sites")
    assert "GET /sites" in info.value.message and "$[1].id" in info.value.message
    with pytest.raises(ApiError) as info:
        decode(DEEP.encode(), "GET /x")
    assert "nested too deeply" in info.value.message
    assert decode(b'{"a": [1, "b", null]}', "GET /x") == {"a": [1, "b", None]}
