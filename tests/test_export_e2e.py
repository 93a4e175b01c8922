"""`ksegcli export` as a subprocess against the fake server: the file it writes describes
the account, so `apply --dry-run --detailed-exitcode` on it finds nothing to change."""

from __future__ import annotations

import tomllib
from functools import partial
from pathlib import Path

import pytest
from conftest import FakeFactory, ProcRunner, Tenant

from ksegcli.testing import FakeServer

CLIENT_ID = "export-client"
CLIENT_SECRET = "export-secret-never-shown-44"
TOKEN = "sgp_export_token_hidden_6262"
ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = Tenant(CLIENT_ID, CLIENT_SECRET, TOKEN)


@pytest.fixture
def server(make_fake: FakeFactory) -> FakeServer:
    return ACCOUNT.serve(make_fake)


env_for = partial(ACCOUNT.env, segment_write_limit="100/0.1")


def round_trip(proc: ProcRunner, env: dict[str, str], tmp_path: Path) -> tuple[Path, str]:
    out = tmp_path / "exported.toml"
    done = proc("export", "-o", str(out), env=env)
    assert done.exit_code == 0, done.stderr
    check = proc("apply", str(out), "--dry-run", "--detailed-exitcode", env=env)
    assert check.exit_code == 0, (out.read_text(), check.stdout, check.stderr)
    return out, out.read_text()


def test_an_account_made_by_the_example_file_round_trips(
    proc: ProcRunner, server: FakeServer, tmp_path: Path
) -> None:
    shop = server.add_site(CLIENT_ID, name="Shop", code="ABCDE12345")
    other = server.add_site(CLIENT_ID, name="Other")
    assert other["id"] == 10002  # the example names it by id
    server.add_site(CLIENT_ID, name="Untouched")
    source = server.add_segment_source(TOKEN, "Web")
    example = (ROOT / "examples" / "account.toml").read_text()
    account = tmp_path / "account.toml"
    account.write_text(example.replace("qQEHquLrjRDN9j1ByrChyn", source["id"]))
    env = env_for(server)
    made = proc("apply", str(account), env=env)
    assert made.exit_code == 0, made.stderr

    _, text = round_trip(proc, env, tmp_path)
    data = tomllib.loads(text)
    assert set(data["projects"]) == {shop["code"], other["code"]}  # not the untouched one
    shop_file = data["projects"][shop["code"]]
    assert shop_file["user_id"] == "segment" and shop_file["identifier"] is True
    assert shop_file["traits"] == {
        "plan": "plan",
        "company": "Company",
        "age": {"name": "Age", "format": "number"},
        "vip": {"format": "boolean"},
    }
    assert shop_file["segment"] == {"source_id": source["id"], "region": "us"}
    other_file = data["projects"][other["code"]]
    assert other_file["personas"] == "Segment audiences" and other_file["group"] is False
    assert other_file["traits"] == ["plan"]
    assert "Untouched" in text  # listed, as a comment, among the projects left out

    as_json = proc("export", "--json", env=env).json()
    assert as_json["file"] is None and tomllib.loads(as_json["toml"])["projects"]
    assert [p["sitecode"] for p in as_json["skipped"]] == [
        s["code"] for s in server.sites(CLIENT_ID) if s["name"] == "Untouched"
    ]


def test_hand_made_look_alikes_are_comments_never_adopted(
    proc: ProcRunner, server: FakeServer, tmp_path: Path
) -> None:
    site = server.add_site(CLIENT_ID, name="Hand")
    hand = server.add_custom_data(site["id"], "Group ID")
    env = env_for(server)
    for step in (
        ("integration", "install", "--project", site["code"]),
        ("customdata", "create", "personas", "--project", site["code"]),
        ("customdata", "create", "trait", "plan", "--project", site["code"]),
    ):
        done = proc(*step, env=env)
        assert done.exit_code == 0, (step, done.stderr)

    _, text = round_trip(proc, env, tmp_path)
    project = tomllib.loads(text)["projects"][site["code"]]
    assert project["group"] is False and project["personas"] is True
    assert project["traits"] == ["plan"]
    assert f"# hand-made, not adopted: custom data {hand['id']} 'Group ID'" in text
    assert "--update" in text


def test_export_without_anything_to_export_and_file_rules(
    proc: ProcRunner, server: FakeServer, tmp_path: Path
) -> None:
    site = server.add_site(CLIENT_ID, name="Bare")
    env = env_for(server)
    nothing = proc("export", env=env)
    assert nothing.exit_code == 4 and "--project" in nothing.stderr
    named = proc("export", "--project", site["code"], env=env)
    assert named.exit_code == 0, named.stderr
    project = tomllib.loads(named.stdout)["projects"][site["code"]]
    assert project == {"integration": False, "personas": False, "group": False}
    existing = tmp_path / "x.toml"
    existing.write_text("keep me\n")
    refused = proc("export", "--project", site["code"], "-o", str(existing), env=env)
    assert refused.exit_code == 2 and existing.read_text() == "keep me\n"
    forced = proc("export", "--project", site["code"], "-o", str(existing), "--force", env=env)
    assert forced.exit_code == 0 and "version = 1" in existing.read_text()
