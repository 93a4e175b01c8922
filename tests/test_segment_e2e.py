"""`ksegcli segment …` as a subprocess against the fake Kameleoon/Segment server."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from conftest import FakeFactory, ProcRunner, Result, Tenant, writes

from ksegcli.core.kameleoon.apikey import derive_api_key
from ksegcli.testing import FakeServer

CLIENT_ID = "seg-client-7"
CLIENT_SECRET = "seg-secret-very-private-42"
TOKEN = "sgp_e2e_token_do_not_print_1234"
SITECODE = "segsite001"
ACCOUNT = Tenant(CLIENT_ID, CLIENT_SECRET, TOKEN)
API_KEY = derive_api_key(CLIENT_ID, CLIENT_SECRET)
SECRETS = ACCOUNT.secrets


@pytest.fixture
def server(make_fake: FakeFactory) -> FakeServer:
    return ACCOUNT.serve(make_fake, site=("Shop", SITECODE))


@pytest.fixture
def source(server: FakeServer) -> dict[str, Any]:
    server.add_segment_source(TOKEN, "Other site")
    return server.add_segment_source(TOKEN, "Web shop")


env_for = partial(ACCOUNT.env, sitecode=SITECODE, segment_write_limit="5/0.6")


def no_secrets(result: Result) -> None:
    for secret in SECRETS:
        assert secret not in result.stdout
        assert secret not in result.stderr


def test_sources_list(proc: ProcRunner, server: FakeServer, source: dict[str, Any]) -> None:
    result = proc("segment", "sources", "list", "--json", env=env_for(server))
    assert result.exit_code == 0, result.stderr
    assert source["id"] in [s["id"] for s in result.json()["items"]]
    human = proc("segment", "sources", "list", env=env_for(server))
    assert "Web shop" in human.stdout and source["id"] in human.stdout
    no_secrets(human)


def test_create_once_then_noop_then_drift_fixed_by_update(
    proc: ProcRunner, server: FakeServer, source: dict[str, Any]
) -> None:
    env = env_for(server)
    src = source["id"]
    created = proc("segment", "destination", "create", "--source", src, "--json", env=env)
    assert created.exit_code == 0, created.stderr
    (item,) = created.json()["items"]
    assert item["state"] == "created" and created.json()["summary"] == {"created": 1}
    doc = item["destination"]
    assert doc["state"] == "created" and doc["in_sync"] is True
    assert [m["state"] for m in doc["mappings"]] == ["created"] * 5
    no_secrets(created)

    (dest,) = server.segment_destinations(TOKEN)
    assert dest["sourceId"] == src and dest["enabled"] is True
    assert dest["settings"] == {"apiKey": API_KEY, "sitecode": SITECODE}
    subs = server.segment_subscriptions(dest["id"])
    ids = server.kameleoon_action_ids()
    by_trigger = {s["trigger"]: s["actionId"] for s in subs}
    assert by_trigger == {
        'type = "track"': ids["logEvent"],
        'type = "page"': ids["page"],
        'type = "identify"': ids["identify"],
        'type = "group"': ids["group"],
        'type = "screen"': ids["logEvent"],
    }
    assert all(s["enabled"] for s in subs)
    # Client-side pacing kept us under Segment's write limit: no 429 seen.
    assert not [r for r in server.requests if r.status == 429]

    server.clear_requests()
    again = proc("segment", "destination", "create", "--source", src, env=env)
    assert again.exit_code == 0, again.stderr
    assert "nothing changed" in again.stderr
    assert writes(server, service="segment") == []
    assert len(server.segment_destinations(TOKEN)) == 1

    # Someone changes the sitecode and disables the screen mapping in Segment.
    server.state.destinations[dest["id"]]["settings"]["sitecode"] = "zzzzz99999"
    screen = next(s for s in subs if s["trigger"] == 'type = "screen"')
    server.state.subscriptions[screen["id"]]["enabled"] = False

    status = proc("segment", "destination", "status", "--source", src, env=env)
    assert status.exit_code == 9
    assert "sitecode is zzzzz99999, expected segsite001" in status.stdout
    assert "Screen Calls" in status.stdout and "different" in status.stdout
    assert "--update" in status.stderr
    no_secrets(status)

    server.clear_requests()
    refused = proc("segment", "destination", "create", "--source", src, env=env)
    assert refused.exit_code == 8
    assert "rerun with --update" in refused.stderr
    assert writes(server, service="segment") == []

    fixed = proc("segment", "destination", "create", "--source", src, "--update", "--json", env=env)
    assert fixed.exit_code == 0, fixed.stderr
    assert fixed.json()["items"][0]["state"] == "updated"
    assert server.segment_destinations(TOKEN)[0]["settings"]["sitecode"] == SITECODE
    assert server.state.subscriptions[screen["id"]]["enabled"] is True

    ok = proc("segment", "destination", "status", "--source", src, "--json", env=env)
    assert ok.exit_code == 0, ok.stdout
    assert ok.json()["in_sync"] is True


def test_dry_run_writes_nothing(
    proc: ProcRunner, server: FakeServer, source: dict[str, Any]
) -> None:
    result = proc(
        "segment",
        "destination",
        "create",
        "--source",
        source["id"],
        "--dry-run",
        env=env_for(server),
    )
    assert result.exit_code == 0, result.stderr
    assert "Would POST /destinations" in result.stderr
    assert result.stderr.count("Would POST") == 6
    assert writes(server, service="segment") == []
    no_secrets(result)


def test_status_before_create(proc: ProcRunner, server: FakeServer, source: dict[str, Any]) -> None:
    result = proc("segment", "destination", "status", "--source", source["id"], env=env_for(server))
    assert result.exit_code == 9
    assert "No Kameleoon (Actions) destination" in result.stdout
    assert "segment destination create" in result.stderr


def test_bad_token_is_auth_error_and_never_printed(
    proc: ProcRunner, server: FakeServer, source: dict[str, Any]
) -> None:
    bad = "sgp_wrong_token_should_stay_hidden"
    env = env_for(server, SEGMENT_API_TOKEN=bad)
    result = proc("segment", "destination", "create", "--source", source["id"], "-v", env=env)
    assert result.exit_code == 3
    assert "Error:" in result.stderr and "HTTP 401" in result.stderr
    assert "SEGMENT_API_TOKEN" in result.stderr
    assert bad not in result.stdout + result.stderr
    as_json = proc("segment", "sources", "list", "--json", env=env)
    assert as_json.exit_code == 3
    assert as_json.json()["error"]["code"] == "auth_failed"
    assert bad not in as_json.stdout + as_json.stderr


def test_token_from_stdin(proc: ProcRunner, server: FakeServer, source: dict[str, Any]) -> None:
    env = env_for(server)
    del env["SEGMENT_API_TOKEN"]
    result = proc(
        "segment", "sources", "list", "--token-stdin", "--json", env=env, stdin=TOKEN + "\n"
    )
    assert result.exit_code == 0, result.stderr
    assert source["id"] in result.stdout
    missing = proc("segment", "sources", "list", env=env)
    assert missing.exit_code == 3
    assert "SEGMENT_API_TOKEN" in missing.stderr


def test_unknown_source(proc: ProcRunner, server: FakeServer, source: dict[str, Any]) -> None:
    result = proc("segment", "destination", "create", "--source", "nope", env=env_for(server))
    assert result.exit_code == 4
    assert "No Segment source 'nope'" in result.stderr
    assert "segment sources list" in result.stderr


def test_server_429_retry_after_is_obeyed(
    proc: ProcRunner, server: FakeServer, source: dict[str, Any]
) -> None:
    # A client budget looser than Segment's: the server answers 429 + Retry-After.
    server.configure(segment_write_limit=2)
    env = env_for(server, KSEG_SEGMENT_WRITE_LIMIT="100/1")
    result = proc("segment", "destination", "create", "--source", source["id"], env=env)
    assert result.exit_code == 0, result.stderr
    assert [r for r in server.requests if r.status == 429]
    (dest,) = server.segment_destinations(TOKEN)
    assert len(server.segment_subscriptions(dest["id"])) == 5


def test_api_key_from_env_wins_and_must_be_a_key(
    proc: ProcRunner, server: FakeServer, source: dict[str, Any]
) -> None:
    other = derive_api_key("other-client", "other-secret")
    env = env_for(server, KAMELEOON_API_KEY=other)
    result = proc("segment", "destination", "create", "--source", source["id"], env=env)
    assert result.exit_code == 0, result.stderr
    assert server.segment_destinations(TOKEN)[0]["settings"]["apiKey"] == other
    assert other not in result.stdout + result.stderr
    bad = proc(
        "segment",
        "destination",
        "create",
        "--source",
        source["id"],
        env=env_for(server, KAMELEOON_API_KEY="garbage-key"),
    )
    assert bad.exit_code == 2
    assert "not a Kameleoon Segment API key" in bad.stderr


def test_lost_answers_do_not_create_twice(
    proc: ProcRunner, server: FakeServer, source: dict[str, Any]
) -> None:
    # The server commits, then drops the connection: ksegcli must look before repeating.
    server.inject("POST", r"^/destinations$", "drop_after_commit")
    server.inject("POST", r"/subscriptions$", "drop_after_commit", count=2)
    result = proc(
        "segment", "destination", "create", "--source", source["id"], "--json", env=env_for(server)
    )
    assert result.exit_code == 0, result.stderr
    assert result.json()["items"][0]["destination"]["in_sync"] is True
    (dest,) = server.segment_destinations(TOKEN)
    subs = server.segment_subscriptions(dest["id"])
    assert sorted(s["trigger"] for s in subs) == sorted(
        f'type = "{t}"' for t in ("track", "page", "identify", "group", "screen")
    )
    assert len([r for r in server.requests if r.fault == "drop_after_commit"]) == 3


def test_server_error_before_acting_is_retried_once(
    proc: ProcRunner, server: FakeServer, source: dict[str, Any]
) -> None:
    server.inject("POST", r"/subscriptions$", "503")
    result = proc("segment", "destination", "create", "--source", source["id"], env=env_for(server))
    assert result.exit_code == 0, result.stderr
    (dest,) = server.segment_destinations(TOKEN)
    assert len(server.segment_subscriptions(dest["id"])) == 5


def test_sitecode_of_no_project_is_refused_before_writing(
    proc: ProcRunner, server: FakeServer, source: dict[str, Any]
) -> None:
    env = env_for(server)
    result = proc(
        "segment",
        "destination",
        "create",
        "--source",
        source["id"],
        "--sitecode",
        "typo000000",
        env=env,
    )
    assert result.exit_code == 4
    assert "No Kameleoon project has the sitecode typo000000" in result.stderr
    assert writes(server, service="segment") == []
    # Without Kameleoon credentials (key given directly) the sitecode cannot be checked.
    for name in ("KAMELEOON_CLIENT_ID", "KAMELEOON_CLIENT_SECRET"):
        del env[name]
    env["KAMELEOON_API_KEY"] = API_KEY
    unchecked = proc("segment", "destination", "create", "--source", source["id"], env=env)
    assert unchecked.exit_code == 0, unchecked.stderr
    assert server.segment_destinations(TOKEN)[0]["settings"]["sitecode"] == SITECODE


def test_segment_login_keeps_a_proven_token(
    proc: ProcRunner, server: FakeServer, source: dict[str, Any]
) -> None:
    env = env_for(server)
    del env["SEGMENT_API_TOKEN"]
    bad = proc("segment", "login", "--token-stdin", env=env, stdin="sgp_not_valid_9999\n")
    assert bad.exit_code == 3
    assert "sgp_not_valid_9999" not in bad.stdout + bad.stderr
    assert not any("segment_token" in k for k in proc.keyring_entries())

    ok = proc("segment", "login", "--token-stdin", "--region", "eu", env=env, stdin=TOKEN + "\n")
    assert ok.exit_code == 0, ok.stderr
    assert "Segment token accepted (2 source(s) seen, region eu)" in ok.stderr
    assert TOKEN not in ok.stdout + ok.stderr
    assert TOKEN in proc.keyring_entries().values()
    listed = proc("segment", "sources", "list", "--json", env=env)  # token from the keyring
    assert listed.exit_code == 0, listed.stderr
    assert source["id"] in listed.stdout
    status = proc("auth", "status", "--json", env=env).json()
    seg = next(c for c in status["credentials"] if c["name"] == "segment_token")
    assert seg["source"] == "keyring"


def test_a_kameleoon_destination_on_another_source_is_not_taken_for_ours(
    proc: ProcRunner, server: FakeServer, source: dict[str, Any]
) -> None:
    """Same workspace, same settings, another source: ours is still missing, and is made."""
    other = next(s for s in server.state.sources.values() if s["name"] == "Other site")
    theirs = server.add_segment_destination(
        TOKEN, other["id"], {"apiKey": API_KEY, "sitecode": SITECODE}, name="Kameleoon"
    )
    env = env_for(server)
    status = proc("segment", "destination", "status", "--source", source["id"], "--json", env=env)
    assert status.exit_code == 9, status.stdout + status.stderr
    assert theirs["id"] not in status.stdout
    server.clear_requests()
    created = proc("segment", "destination", "create", "--source", source["id"], "--json", env=env)
    assert created.exit_code == 0, created.stderr
    (item,) = created.json()["items"]
    assert item["state"] == "created"
    assert ("POST", "/destinations") in writes(server, service="segment")
    # the other source's is untouched
    assert not any(theirs["id"] in path for _, path in writes(server, service="segment"))
    mine = [d for d in server.segment_destinations(TOKEN) if d["sourceId"] == source["id"]]
    assert len(mine) == 1 and mine[0]["id"] != theirs["id"]
    no_secrets(created)
