"""`ksegcli verify` as a subprocess against the sandbox: a probe sent to the fake's
tracking endpoint reaches its Data API only through an enabled Kameleoon destination with
an enabled identify mapping, and verify names the hop that failed otherwise."""

from __future__ import annotations

import base64
import json
from functools import partial
from typing import Any

import pytest
from conftest import FakeFactory, ProcRunner, Tenant

from ksegcli.testing import FakeServer

CLIENT_ID = "verify-client"
CLIENT_SECRET = "verify-secret-never-shown-12"
TOKEN = "sgp_verify_token_hidden_3131"
SITECODE = "vfsite0001"
ACCOUNT = Tenant(CLIENT_ID, CLIENT_SECRET, TOKEN)


@pytest.fixture
def server(make_fake: FakeFactory) -> FakeServer:
    return ACCOUNT.serve(make_fake, site=("Verify", SITECODE))


env_for = partial(ACCOUNT.env, segment_write_limit="100/0.1")


@pytest.fixture
def wired(proc: ProcRunner, server: FakeServer) -> dict[str, Any]:
    """A source with the Kameleoon destination and its five mappings, made by ksegcli."""
    source = server.add_segment_source(TOKEN, "Web")
    made = proc(
        "segment", "destination", "create", "--source", source["id"], "--sitecode", SITECODE,
        env=env_for(server),
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    return source


def secrets_of(source: dict[str, Any]) -> list[str]:
    key = source["writeKeys"][0]
    return [
        *ACCOUNT.secrets,
        key,
        base64.b64encode(f"{key}:".encode()).decode(),
    ]


def hops(doc: dict[str, Any]) -> dict[str, str]:
    return {h["id"]: h["status"] for h in doc["hops"]}


def test_verify_reads_the_probe_back_through_the_whole_chain(
    proc: ProcRunner, server: FakeServer, wired: dict[str, Any]
) -> None:
    env = env_for(server)
    result = proc("verify", "--source", wired["id"], "--yes", "--track", "--json", "-v", env=env)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["failed_hop"] is None
    assert hops(doc) == {
        "write_key": "pass",
        "destination": "pass",
        "sent": "pass",
        "stored": "pass",
    }
    assert doc["sitecode"] == SITECODE  # found on the destination
    assert doc["user_id"].startswith("ksegcli-probe-")
    stored = server.remote_data(SITECODE, f"IDENTIFY_{doc['user_id']}")
    assert stored["traits"]["ksegcli_probe"] == doc["nonce"]
    assert isinstance(doc["delay_seconds"], float)
    sent = [r.path for r in server.requests if r.path.startswith("/v1/")]
    assert sent == ["/v1/identify", "/v1/track"]
    for secret in secrets_of(wired):  # -v logs every request: the write key stays out
        assert secret not in result.stdout + result.stderr

    human = proc("verify", "--source", wired["id"], "--yes", env=env)
    assert human.exit_code == 0, human.stderr
    assert "✓ Write key of the source: read from source" in human.stdout
    assert "✓ Visible in Kameleoon's remote data: IDENTIFY_ksegcli-probe-" in human.stdout
    assert "went from Segment to Kameleoon" in human.stderr


def test_without_a_terminal_verify_needs_yes_and_sends_nothing(
    proc: ProcRunner, server: FakeServer, wired: dict[str, Any]
) -> None:
    server.clear_requests()
    result = proc("verify", "--source", wired["id"], env=env_for(server))
    assert result.exit_code == 2
    assert "every destination of that source" in result.stderr and "--yes" in result.stderr
    assert server.requests == []


def test_a_disabled_identify_mapping_fails_the_destination_hop(
    proc: ProcRunner, server: FakeServer, wired: dict[str, Any]
) -> None:
    for sub in server.state.subscriptions.values():
        if "identify" in sub["trigger"]:
            sub["enabled"] = False
    result = proc("verify", "--source", wired["id"], "--yes", "--json", env=env_for(server))
    assert result.exit_code == 9
    doc = result.json()
    assert doc["failed_hop"] == "destination"
    assert "identify mapping is disabled" in doc["hops"][1]["detail"]
    assert not any(r.path.startswith("/v1/") for r in server.requests)  # nothing sent


def test_a_missing_destination_fails_the_destination_hop(
    proc: ProcRunner, server: FakeServer
) -> None:
    bare = server.add_segment_source(TOKEN, "Bare")
    result = proc("verify", "--source", bare["id"], "--yes", env=env_for(server))
    assert result.exit_code == 9
    assert (
        f"✗ Kameleoon destination with the identify mapping: no Kameleoon destination on {bare['id']}"
        in (result.stdout)
    )
    assert "failed at kameleoon destination" in result.stderr


@pytest.mark.parametrize("breakage", ["destination disabled", "mapping disabled"])
def test_the_sandbox_does_not_deliver_without_the_destination_so_the_stored_hop_fails(
    proc: ProcRunner, server: FakeServer, wired: dict[str, Any], breakage: str
) -> None:
    """Without a Segment token the destination cannot be checked: the probe is sent on the
    write key alone, and the sandbox, like Segment, delivers it nowhere."""
    for dest in server.state.destinations.values():
        if breakage == "destination disabled":
            dest["enabled"] = False
    for sub in server.state.subscriptions.values():
        if breakage == "mapping disabled" and "identify" in sub["trigger"]:
            sub["enabled"] = False
    env = env_for(server, KAMELEOON_SITECODE=SITECODE)
    del env["SEGMENT_API_TOKEN"]
    key = wired["writeKeys"][0]
    result = proc(
        "verify", "--source", wired["id"], "--write-key-stdin", "--yes", "--timeout", "1",
        "--json", env=env, stdin=key + "\n",
    )  # fmt: skip
    assert result.exit_code == 9, result.stderr
    doc = result.json()
    assert hops(doc) == {
        "write_key": "pass",
        "destination": "skip",
        "sent": "pass",
        "stored": "fail",
    }
    assert doc["failed_hop"] == "stored"
    assert "did not hold the nonce within 1 s" in doc["hops"][3]["detail"]
    for secret in secrets_of(wired):
        assert secret not in result.stdout + result.stderr


def test_a_wrong_write_key_fails_the_sent_hop(
    proc: ProcRunner, server: FakeServer, wired: dict[str, Any]
) -> None:
    env = env_for(server)
    result = proc(
        "verify", "--source", wired["id"], "--write-key-stdin", "--yes", "--json",
        env=env, stdin="not-the-key-9876\n",
    )  # fmt: skip
    assert result.exit_code == 9
    doc = result.json()
    assert doc["failed_hop"] == "sent"
    assert "not-the-key-9876" not in result.stdout + result.stderr


def test_no_token_and_no_write_key_fails_the_write_key_hop(
    proc: ProcRunner, server: FakeServer, wired: dict[str, Any]
) -> None:
    env = env_for(server)
    del env["SEGMENT_API_TOKEN"]
    result = proc("verify", "--source", wired["id"], "--yes", "--json", env=env)
    assert result.exit_code == 9
    assert result.json()["failed_hop"] == "write_key"
    assert "--write-key-stdin" in result.json()["hops"][0]["fix"]


def test_a_tracking_host_per_region_and_the_override(monkeypatch: pytest.MonkeyPatch) -> None:
    from ksegcli.core.probe import TRACKING_HOSTS, tracking_base_url
    from ksegcli.core.session import Session

    session = Session(profile_name="default", interactive=False)
    assert tracking_base_url(session, "us") == "https://api.segment.io"
    assert tracking_base_url(session, "eu") == TRACKING_HOSTS["eu"]
    monkeypatch.setenv("KSEG_SEGMENT_TRACKING_URL", "http://127.0.0.1:9")
    session = Session(profile_name="default", interactive=False)
    assert tracking_base_url(session, "eu") == "http://127.0.0.1:9"


def test_on_a_terminal_verify_asks_and_declining_sends_nothing(
    proc: ProcRunner, server: FakeServer, wired: dict[str, Any]
) -> None:
    """verify follows the confirmation rule: the question names the source and that the
    event reaches every destination; declining says so and exits 10 (declined)."""
    import sys

    import pexpect

    from ksegcli.errors import ExitCode

    env = {**proc.env, **env_for(server)}
    env.pop("CI", None)
    server.clear_requests()
    child = pexpect.spawn(
        sys.executable, ["-m", "ksegcli", "verify", "--source", wired["id"]],
        env=env, encoding="utf-8", timeout=20, dimensions=(40, 200),
    )  # fmt: skip
    child.expect_exact("It reaches every destination of that source.")
    child.expect_exact("[y/N]")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == ExitCode.DECLINED, child.before
    assert "Nothing sent." in (child.before or "")
    assert not any(r.path.startswith("/v1/") for r in server.requests)
