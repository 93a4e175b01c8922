"""`ksegcli doctor --file FILE` as a subprocess against the fake server: what the file
declares is checked, item by item, and nothing it does not declare."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
from conftest import FakeFactory, ProcRunner, Tenant
from conftest import check_statuses as statuses

from ksegcli.testing import FakeServer

CLIENT_ID = "docfile-client"
CLIENT_SECRET = "docfile-secret-never-shown-31"
TOKEN = "sgp_docfile_token_hidden_8080"
SITECODE = "dfsite0001"
ACCOUNT = Tenant(CLIENT_ID, CLIENT_SECRET, TOKEN)
SECRETS = ACCOUNT.secrets


@pytest.fixture
def server(make_fake: FakeFactory) -> FakeServer:
    return ACCOUNT.serve(make_fake, site=("Doc file", SITECODE))


env_for = partial(ACCOUNT.env, segment_write_limit="100/0.1")


def test_doctor_file_fails_on_each_declared_item_then_passes_after_apply(
    proc: ProcRunner, server: FakeServer, tmp_path: Path
) -> None:
    source = str(server.add_segment_source(TOKEN, "Web")["id"])
    file = tmp_path / "account.toml"
    file.write_text(
        f'[projects.{SITECODE}]\ngroup = false\ntraits = ["plan", "age"]\n'
        f'[projects.{SITECODE}.segment]\nsource_id = "{source}"\n'
    )
    env = env_for(server)

    before = proc("doctor", "--file", str(file), "--json", env=env)
    assert before.exit_code == 9, before.stderr
    doc = before.json()
    assert doc["ok"] is False and doc["file"] == str(file)
    assert statuses(doc) == {
        "credentials": "pass",
        "api_key": "warn",  # derived, not stored
        f"{SITECODE}.integration": "fail",
        f"{SITECODE}.customdata.SegmentIO personas": "fail",
        f"{SITECODE}.customdata.plan": "fail",
        f"{SITECODE}.customdata.age": "fail",
        f"{SITECODE}.destination": "fail",
    }  # group = false: no Group ID check at all
    human = proc("doctor", "--file", str(file), env=env)
    assert human.exit_code == 9
    assert f"✗ {SITECODE}: trait custom data 'plan': missing" in human.stdout
    assert f"✗ {SITECODE}: Segment destination on {source}: no Kameleoon destination" in (
        human.stdout
    )
    assert f"fix: Run `ksegcli apply {file}`" in human.stdout
    assert "Group ID" not in human.stdout

    applied = proc("apply", str(file), env=env)
    assert applied.exit_code == 0, applied.stderr
    after = proc("doctor", "--file", str(file), "--json", env=env)
    assert after.exit_code == 0, after.stdout
    assert set(statuses(after.json()).values()) <= {"pass", "warn"}
    assert statuses(after.json())[f"{SITECODE}.destination"] == "pass"

    # Drift: the trait's custom data goes; the gate names exactly that item.
    gone = proc("customdata", "delete", "age", "--project", SITECODE, "--yes", env=env)
    assert gone.exit_code == 0, gone.stderr
    drift = proc("doctor", "--file", str(file), "--json", env=env)
    assert drift.exit_code == 9
    failed = [c for c in drift.json()["checks"] if c["status"] == "fail"]
    assert [c["id"] for c in failed] == [f"{SITECODE}.customdata.age"]
    for result in (before, human, after, drift):
        for secret in SECRETS:
            assert secret not in result.stdout + result.stderr


def test_doctor_file_reports_a_hand_made_look_alike_as_drifted(
    proc: ProcRunner, server: FakeServer, tmp_path: Path
) -> None:
    site = server.sites(CLIENT_ID)[0]
    server.set_integration_tools(site["id"], [{"name": "SEGMENT", "settings": {}}])
    server.add_custom_data(site["id"], "plan")  # same name, made by hand
    file = tmp_path / "a.toml"
    file.write_text(f'[projects.{SITECODE}]\npersonas = false\ngroup = false\ntraits = ["plan"]\n')
    result = proc("doctor", "--file", str(file), "--json", env=env_for(server))
    assert result.exit_code == 9
    checks = {c["id"]: c for c in result.json()["checks"]}
    plan = checks[f"{SITECODE}.customdata.plan"]
    assert plan["status"] == "fail" and plan["detail"].startswith("drifted")
    assert "--update" in plan["fix"]
    assert checks[f"{SITECODE}.integration"]["status"] == "pass"


def test_doctor_file_bad_input(proc: ProcRunner, server: FakeServer, tmp_path: Path) -> None:
    env = env_for(server)
    bad = tmp_path / "bad.toml"
    bad.write_text("[projects.ABCDE12345]\ngroop = true\n")
    invalid = proc("doctor", "--file", str(bad), env=env)
    assert invalid.exit_code == 2 and "did you mean 'group'" in invalid.stderr
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[projects.ZZZZZ99999]\n")
    result = proc("doctor", "--file", str(unknown), "--json", env=env)
    assert result.exit_code == 9
    assert statuses(result.json())["projects"] == "fail"
    mixed = proc("doctor", "--file", str(unknown), "--source", "x", env=env)
    assert mixed.exit_code == 2 and "cannot go with --file" in mixed.stderr
