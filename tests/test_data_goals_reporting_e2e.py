"""`ksegcli data | goals | reporting` as subprocesses against the fake server."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from conftest import FakeFactory, ProcRunner, Tenant

from ksegcli.core.kameleoon.goals import parse_goal_name
from ksegcli.testing import FakeServer

CLIENT_ID = "ks-client-3"
CLIENT_SECRET = "ks-secret-keep-out-of-logs-99"
SITECODE = "shop000001"
OTHER_CODE = "blog000002"
ACCOUNT = Tenant(CLIENT_ID, CLIENT_SECRET)


@pytest.fixture
def server(make_fake: FakeFactory) -> FakeServer:
    return ACCOUNT.serve(make_fake)


@pytest.fixture
def sites(server: FakeServer) -> dict[str, dict[str, Any]]:
    return {
        "shop": server.add_site(CLIENT_ID, name="Shop", code=SITECODE),
        "blog": server.add_site(CLIENT_ID, name="Blog", code=OTHER_CODE),
    }


env_for = partial(ACCOUNT.env, sitecode=SITECODE)


# --- data --------------------------------------------------------------------------
def test_data_lookups(proc: ProcRunner, server: FakeServer) -> None:
    server.set_remote_data(SITECODE, "COHORTS_u-42", {"big_spenders": True, "churn_risk": False})
    server.set_remote_data(SITECODE, "common", {"cohorts": ["big_spenders", "churn_risk", "vip"]})
    server.set_remote_data(
        SITECODE, "IDENTIFY_u-42", {"traits": {"plan": "pro", "seats": 12}, "groupId": "acme"}
    )
    env = env_for(server)

    cohorts = proc("data", "cohorts", "u-42", env=env)
    assert cohorts.exit_code == 0, cohorts.stderr
    assert "big_spenders" in cohorts.stdout and "yes" in cohorts.stdout
    assert "churn_risk" in cohorts.stdout and "no" in cohorts.stdout
    assert "vip" in cohorts.stderr  # known persona the user has no value for
    as_json = proc("data", "cohorts", "u-42", "--json", env=env).json()
    assert as_json["member_of"] == ["big_spenders"]
    assert as_json["cohorts"] == {"big_spenders": True, "churn_risk": False}

    traits = proc("data", "traits", "u-42", "--json", env=env)
    assert traits.exit_code == 0, traits.stderr
    assert traits.json()["traits"] == {"plan": "pro", "seats": 12}
    assert traits.json()["groupId"] == "acme"
    human = proc("data", "traits", "u-42", env=env)
    assert "plan" in human.stdout and "pro" in human.stdout and "acme" in human.stdout

    got = proc("data", "get", "IDENTIFY_u-42", "--json", env=env)
    assert got.json()["value"]["groupId"] == "acme" and got.json()["key"] == "IDENTIFY_u-42"

    # Every Data API call carried our User-Agent and passed the non-bot rule.
    data_calls = [r for r in server.requests if r.service == "data"]
    assert data_calls and all(r.status == 200 for r in data_calls)


def test_data_missing_user_and_other_sitecode(proc: ProcRunner, server: FakeServer) -> None:
    server.set_remote_data(OTHER_CODE, "COHORTS_u-1", {"vip": True})
    env = env_for(server)
    missing = proc("data", "cohorts", "u-1", env=env)
    assert missing.exit_code == 4
    assert "No personas stored for user 'u-1'" in missing.stderr
    assert SITECODE in missing.stderr
    found = proc("data", "cohorts", "u-1", "--sitecode", OTHER_CODE, env=env)
    assert found.exit_code == 0 and "vip" in found.stdout
    nothing = proc("data", "get", "nope", "--json", env=env)
    assert nothing.exit_code == 4
    assert nothing.json()["error"]["code"] == "not_found"
    bad = proc("data", "traits", "u-1", "--region", "mars", env=env)
    assert bad.exit_code == 2 and "eu, na" in bad.stderr


def test_data_needs_a_sitecode(proc: ProcRunner, server: FakeServer) -> None:
    env = env_for(server)
    del env["KAMELEOON_SITECODE"]
    result = proc("data", "get", "common", env=env)
    assert result.exit_code == 2
    assert "No sitecode" in result.stderr and "--sitecode" in result.stderr


# --- goals -------------------------------------------------------------------------
def test_goal_name_patterns() -> None:
    assert parse_goal_name("SegmentIO track – Signed Up") == ("classic", "Signed Up", "track")
    assert parse_goal_name("SegmentIO page - Pricing") == ("classic", "Pricing", "page")
    assert parse_goal_name("Segment.io – Order Completed") == ("actions", "Order Completed", None)
    assert parse_goal_name("Segment.io-Checkout") == ("actions", "Checkout", None)
    assert parse_goal_name("Signup") is None
    assert parse_goal_name("SegmentIO") is None


def test_goals_list_segment(
    proc: ProcRunner, server: FakeServer, sites: dict[str, dict[str, Any]]
) -> None:
    shop, blog = sites["shop"]["id"], sites["blog"]["id"]
    server.add_goal(shop, "Signup")
    server.add_goal(shop, "SegmentIO track – Signed Up")
    server.add_goal(shop, "Segment.io - Order Completed")
    server.add_goal(blog, "Segment.io – Subscribed")
    env = env_for(server)

    result = proc("goals", "list", "--segment", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    names = {g["name"]: g for g in result.json()["items"]}
    assert set(names) == {"SegmentIO track – Signed Up", "Segment.io - Order Completed"}
    assert names["SegmentIO track – Signed Up"]["event_type"] == "track"
    assert names["Segment.io - Order Completed"]["event"] == "Order Completed"

    both = proc(
        "goals", "list", "--segment", "--project", SITECODE, "--project", str(blog), env=env
    )
    assert both.exit_code == 0, both.stderr
    assert "Subscribed" in both.stdout and "Signed Up" in both.stdout
    assert "Signup" not in both.stdout.replace("Signed Up", "")

    everything = proc("goals", "list", "--all", "--json", env=env).json()["items"]
    assert len(everything) == 4
    assert [g["from_segment"] for g in everything].count(False) == 1
    assert CLIENT_SECRET not in result.stdout + result.stderr + both.stderr


def test_goals_list_empty_explains(
    proc: ProcRunner, server: FakeServer, sites: dict[str, dict[str, Any]]
) -> None:
    result = proc("goals", "list", "--segment", env=env_for(server))
    assert result.exit_code == 0
    assert "No Segment goals yet" in result.stderr


# --- reporting ---------------------------------------------------------------------
def test_reporting_enable_is_idempotent_and_keeps_other_tools(
    proc: ProcRunner, server: FakeServer, sites: dict[str, dict[str, Any]]
) -> None:
    shop, blog = sites["shop"]["id"], sites["blog"]["id"]
    exp = server.add_experiment(shop, "Hero", tracking_tools=[{"name": "GOOGLE_ANALYTICS_4"}])
    draft = server.add_experiment(shop, "Draft test", status="DRAFT")
    perso = server.add_personalization(shop, "Welcome back")
    elsewhere = server.add_experiment(blog, "Blog test")
    env = env_for(server)

    dry = proc("reporting", "enable", "--all-active", "--dry-run", env=env)
    assert dry.exit_code == 0, dry.stderr
    assert "2 campaign(s) would get the SEGMENT tool" in dry.stderr
    assert server.experiments(shop)[0]["trackingTools"] == [{"name": "GOOGLE_ANALYTICS_4"}]

    first = proc("reporting", "enable", "--all-active", "--json", env=env)
    assert first.exit_code == 0, first.stderr
    assert [p["id"] for p in first.json()["projects_without_segment_tool"]] == [shop]
    states = {(c["kind"], c["id"]): c["state"] for c in first.json()["items"]}
    assert {c["project"]["id"] for c in first.json()["items"]} == {shop}
    assert states == {
        ("experiment", exp["id"]): "updated",
        ("personalization", perso["id"]): "updated",
    }
    by_id = {e["id"]: e for e in server.experiments()}
    assert by_id[exp["id"]]["trackingTools"] == [
        {"name": "GOOGLE_ANALYTICS_4"},
        {"name": "SEGMENT"},
    ]
    assert by_id[draft["id"]]["trackingTools"] == []
    assert by_id[elsewhere["id"]]["trackingTools"] == []
    assert server.personalizations(shop)[0]["trackingTools"] == [{"name": "SEGMENT"}]

    server.clear_requests()
    again = proc("reporting", "enable", "--all-active", env=env)
    assert again.exit_code == 0, again.stderr
    assert "nothing changed" in again.stderr
    assert f"not installed on project(s) {shop}" in again.stderr
    assert not [r for r in server.requests if r.method == "PATCH"]

    server.set_integration_tools(shop, [{"name": "SEGMENT", "settings": {}}])
    one = proc("reporting", "enable", "--experiment", str(elsewhere["id"]), env=env)
    assert one.exit_code == 0, one.stderr
    assert "Segment added to 1 campaign(s)" in one.stderr
    assert f"not installed on project(s) {blog}:" in one.stderr
    installed = proc("reporting", "enable", "--all-active", env=env)
    assert "not installed" not in installed.stderr

    status = proc("reporting", "status", "--json", env=env)
    assert status.exit_code == 0, status.stderr
    seg = {(c["kind"], c["id"]): c["segment"] for c in status.json()["items"]}
    assert seg[("experiment", exp["id"])] is True
    assert seg[("experiment", draft["id"])] is False


def test_reporting_errors(
    proc: ProcRunner, server: FakeServer, sites: dict[str, dict[str, Any]]
) -> None:
    env = env_for(server)
    nothing = proc("reporting", "enable", env=env)
    assert nothing.exit_code == 2 and "--all-active" in nothing.stderr
    unknown = proc("reporting", "enable", "--experiment", "999999", env=env)
    assert unknown.exit_code == 4 and "No experiment 999999" in unknown.stderr
