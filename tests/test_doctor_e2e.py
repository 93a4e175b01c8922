"""`ksegcli doctor` as a subprocess against the fake server."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from conftest import FakeFactory, ProcRunner, Tenant
from conftest import check_statuses as statuses

from ksegcli.core.kameleoon.apikey import derive_api_key
from ksegcli.testing import FakeServer

CLIENT_ID = "doc-client-1"
CLIENT_SECRET = "doc-secret-never-shown-77"
TOKEN = "sgp_doctor_token_hidden_5555"
SITECODE = "docsite001"
ACCOUNT = Tenant(CLIENT_ID, CLIENT_SECRET, TOKEN)
SECRETS = ACCOUNT.secrets


@pytest.fixture
def server(make_fake: FakeFactory) -> FakeServer:
    return ACCOUNT.serve(make_fake, site=("Docs", SITECODE))


@pytest.fixture
def source(server: FakeServer) -> str:
    return str(server.add_segment_source(TOKEN, "Web")["id"])


env_for = partial(ACCOUNT.env, sitecode=SITECODE, segment_write_limit="5/0.6")


def test_doctor_fails_before_setup_and_passes_after(
    proc: ProcRunner, server: FakeServer, source: str
) -> None:
    env = env_for(server)
    server.set_remote_data(SITECODE, "COHORTS_u-9", {"vip": True})
    args = ("doctor", "--source", source, "--user", "u-9")

    before = proc(*args, env=env)
    assert before.exit_code == 9
    assert "✓ Kameleoon API credentials" in before.stdout
    assert "✗ Segment tool installed on the project: not installed on docsite001" in before.stdout
    assert f"fix: Run `ksegcli integration install --project {SITECODE}`" in before.stdout
    assert "✗ Personas custom data" in before.stdout
    # The visitor-code strategy (the default) needs the identifier: a warning, not a failure.
    assert (
        f"! Identifier script in the global custom script: not in the global custom script of {SITECODE}"
        in before.stdout
    )
    assert (
        f"fix: Run `ksegcli integration identifier install --project {SITECODE}`" in before.stdout
    )
    assert f"fix: Run `ksegcli segment destination create --source {source}`" in before.stdout
    assert "✓ Remote data for user u-9: personas: vip" in before.stdout
    assert "failed" in before.stderr
    doc = proc(*args, "--json", env=env).json()
    assert doc["ok"] is False
    assert list(statuses(doc)) == [
        "credentials",
        "api_key",
        "sitecode",
        "integration",
        "customdata.personas",
        "customdata.group",
        "customdata.traits",
        "customdata.duplicates",
        "identifier",
        "destination",
        "remote_data",
    ]
    assert statuses(doc)["integration"] == "fail"
    assert statuses(doc)["identifier"] == "warn"

    for step in (
        ("integration", "install"),
        ("integration", "identifier", "install"),
        ("customdata", "create", "personas"),
        ("customdata", "create", "group"),
        ("segment", "destination", "create", "--source", source),
        ("auth", "getapikey"),
    ):
        done = proc(*step, env=env)
        assert done.exit_code == 0, (step, done.stderr)

    after = proc(*args, env=env)
    assert after.exit_code == 0, after.stdout
    assert "✗" not in after.stdout
    assert "✓ Segment destination and mappings" in after.stdout
    assert "five mappings as expected" in after.stdout
    doc = proc(*args, "--json", env=env).json()
    assert doc["ok"] is True
    assert set(statuses(doc).values()) == {"pass"}
    for result in (before, after):
        for secret in SECRETS:
            assert secret not in result.stdout + result.stderr


def test_doctor_without_credentials_skips_dependants(proc: ProcRunner, server: FakeServer) -> None:
    env = env_for(server)
    for name in ("KAMELEOON_CLIENT_ID", "KAMELEOON_CLIENT_SECRET", "SEGMENT_API_TOKEN"):
        del env[name]
    result = proc("doctor", "--json", env=env)
    assert result.exit_code == 9
    doc = result.json()
    assert statuses(doc) == {
        "credentials": "fail",
        "api_key": "fail",
        "sitecode": "skip",
        "integration": "skip",
        "customdata.personas": "skip",
        "customdata.group": "skip",
        "customdata.traits": "skip",
        "customdata.duplicates": "skip",
        "identifier": "skip",
        "destination": "skip",
    }
    first = doc["checks"][0]
    assert "auth login" in first["fix"] and "KAMELEOON_CLIENT_ID" in first["fix"]
    human = proc("doctor", env=env)
    assert human.exit_code == 9
    assert "– Integration" not in human.stdout  # titles, not ids
    assert "– Segment tool installed on the project: needs credentials" in human.stdout
    assert "Error" not in human.stderr  # failures are checks, not crashes


def test_doctor_wrong_secret_and_unknown_sitecode(proc: ProcRunner, server: FakeServer) -> None:
    wrong = proc("doctor", "--json", env=env_for(server, KAMELEOON_CLIENT_SECRET="nope-nope-nope"))
    assert wrong.exit_code == 9
    checks = statuses(wrong.json())
    assert checks["credentials"] == "fail" and checks["integration"] == "skip"
    assert "nope-nope-nope" not in wrong.stdout + wrong.stderr

    other = proc("doctor", "--sitecode", "zzzzz99999", "--json", env=env_for(server))
    checks = statuses(other.json())
    assert checks["credentials"] == "pass"
    assert checks["sitecode"] == "fail" and checks["integration"] == "skip"
    assert "projects list" in other.json()["checks"][2]["fix"]


def test_doctor_and_the_destination_refuse_an_unknown_sitecode_alike(
    proc: ProcRunner, server: FakeServer, source: str
) -> None:
    env = env_for(server, KAMELEOON_SITECODE="zzzzz99999")
    doctor = proc("doctor", "--json", env=env)
    check = next(c for c in doctor.json()["checks"] if c["id"] == "sitecode")
    create = proc("segment", "destination", "create", "--source", source, env=env)
    assert create.exit_code == 4
    assert check["status"] == "fail"
    assert (
        check["detail"]
        == "No Kameleoon project has the sitecode zzzzz99999 (these credentials reach 1)."
    )
    assert check["detail"] in create.stderr
    assert "sitecode set CODE" in check["fix"]
    assert not server.segment_destinations(TOKEN)


def test_doctor_destination_drift_and_missing_user(
    proc: ProcRunner, server: FakeServer, source: str
) -> None:
    env = env_for(server)
    assert proc("segment", "destination", "create", "--source", source, env=env).exit_code == 0
    (dest,) = server.segment_destinations(TOKEN)
    server.state.destinations[dest["id"]]["enabled"] = False
    result = proc("doctor", "--source", source, "--user", "ghost", "--json", env=env)
    assert result.exit_code == 9
    checks = {c["id"]: c for c in result.json()["checks"]}
    assert checks["destination"]["status"] == "fail"
    assert "destination is disabled" in checks["destination"]["detail"]
    assert checks["destination"]["fix"].endswith("--update`.")
    assert checks["remote_data"]["status"] == "fail"
    assert "COHORTS_ghost" in checks["remote_data"]["detail"]


def test_doctor_bad_segment_token_is_a_failed_check(
    proc: ProcRunner, server: FakeServer, source: str
) -> None:
    bad = "sgp_bad_token_for_doctor_0000"
    result = proc("doctor", "--source", source, env=env_for(server, SEGMENT_API_TOKEN=bad))
    assert result.exit_code == 9
    assert "✗ Segment destination and mappings" in result.stdout
    assert "HTTP 401" in result.stdout
    assert bad not in result.stdout + result.stderr


def test_doctor_when_the_integration_endpoint_is_refused(
    proc: ProcRunner, server: FakeServer
) -> None:
    server.configure(integration_tools_supported=False)
    result = proc("doctor", "--json", env=env_for(server))
    check = next(c for c in result.json()["checks"] if c["id"] == "integration")
    assert check["status"] == "warn"
    assert "Admin › Integrations › Segment" in check["fix"]


def test_doctor_identifier_states(proc: ProcRunner, server: FakeServer) -> None:
    from ksegcli.core.kameleoon.identifier import BEGIN_MARKER, with_block

    env = env_for(server)
    (site,) = server.sites()

    def identifier_check(**extra: str) -> dict[str, Any]:
        doc = proc("doctor", "--json", env={**env, **extra}).json()
        check: dict[str, Any] = next(c for c in doc["checks"] if c["id"] == "identifier")
        return check

    # Custom data written for Segment's user id: the identifier is not needed.
    assert proc("customdata", "create", "group", "--user-id", "segment", env=env).exit_code == 0
    check = identifier_check()
    assert check["status"] == "pass" and "not needed" in check["detail"]
    # An older block: a warning with the command that brings it up to date.
    old = with_block("mine();\n", "// ksegcli identifier snippet\nold();\n")
    server.state.sites[site["id"]]["trackingScript"] = old
    check = identifier_check()
    assert check["status"] == "warn" and "older or edited" in check["detail"]
    assert check["fix"] == f"Run `ksegcli integration identifier install --project {SITECODE}`."
    # A marker without its pair: a warning that says so, never a guess.
    server.state.sites[site["id"]]["trackingScript"] = f"mine();\n{BEGIN_MARKER}\nx();\n"
    check = identifier_check()
    assert check["status"] == "warn" and "without its end marker" in check["detail"]
    assert "Global custom script" in check["fix"]
    # Up to date, read through GET /sites/{id} when the listing leaves the script out.
    assert proc("integration", "identifier", "uninstall", env=env).exit_code == 5  # broken
    server.state.sites[site["id"]]["trackingScript"] = "mine();\n"
    assert proc("integration", "identifier", "install", env=env).exit_code == 0
    server.configure(sites_list_tracking_script=False)
    server.clear_requests()
    check = identifier_check()
    assert check["status"] == "pass" and "current" in check["detail"]
    assert ("GET", f"/sites/{site['id']}") in [(r.method, r.path) for r in server.requests]


def test_an_api_key_of_another_client_id_fails_doctor(proc: ProcRunner, server: FakeServer) -> None:
    theirs_secret = "their-secret-never-shown-31"
    theirs = derive_api_key("someone-else-9", theirs_secret)
    result = proc("doctor", "--json", env=env_for(server, KAMELEOON_API_KEY=theirs))
    assert result.exit_code == 9, result.stdout + result.stderr
    checks = {c["id"]: c for c in result.json()["checks"]}
    assert checks["api_key"]["status"] == "fail"
    assert "belongs to client id someone-else-9, not doc-client-1" in checks["api_key"]["detail"]
    assert "getapikey" in checks["api_key"]["fix"]
    for secret in (theirs, theirs_secret, *SECRETS):
        assert secret not in result.stdout + result.stderr
    ours = derive_api_key(CLIENT_ID, CLIENT_SECRET)
    right = proc("doctor", "--json", env=env_for(server, KAMELEOON_API_KEY=ours))
    assert statuses(right.json())["api_key"] == "pass"
