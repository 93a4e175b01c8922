"""`apply` with [segment]: the Kameleoon destination declared in the file, real subprocess."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import CLIENT_ID, CLIENT_SECRET, ProcRunner, fake_env

from ksegcli.core.kameleoon.apikey import derive_api_key
from ksegcli.errors import ExitCode

TOKEN = "seg-token-apply-0042"


def setup(fake: Any, tmp_path: Path) -> tuple[dict[str, str], Path, str, str]:
    fake.configure(segment_write_window=0.6)  # Segment's 5 writes a minute, 100x faster
    site = fake.add_site(CLIENT_ID, name="Shop", code="SHOPCODE01")
    fake.add_segment_workspace(TOKEN)
    source = fake.add_segment_source(TOKEN, "web")
    env = {
        **fake_env(fake),
        "SEGMENT_API_TOKEN": TOKEN,
        "KSEG_SEGMENT_WRITE_LIMIT": "5/0.6",
    }
    path = tmp_path / "account.toml"
    path.write_text(
        f'[projects.{site["code"]}]\ntraits = ["plan"]\n'
        f'[projects.{site["code"]}.segment]\nsource_id = "{source["id"]}"\n'
    )
    return env, path, site["code"], source["id"]


def test_dry_run_plans_then_apply_creates_then_noop(
    fake: Any, proc: ProcRunner, tmp_path: Path
) -> None:
    env, path, sitecode, source_id = setup(fake, tmp_path)

    plan = proc("apply", str(path), "--dry-run", "--detailed-exitcode", "--json", env=env)
    assert plan.exit_code == ExitCode.CHANGES_PENDING, plan.stderr
    seg = [i for i in plan.json()["items"] if i["resource"] == "segment-destination"]
    assert [(s["source_id"], s["state"]) for s in seg] == [(source_id, "planned")]
    assert fake.segment_destinations(TOKEN) == []  # dry run wrote nothing

    done = proc("apply", str(path), env=env)
    assert done.exit_code == 0, done.stderr
    assert "Segment destinations" in done.stdout and "created" in done.stdout
    (dest,) = fake.segment_destinations(TOKEN)
    assert dest["sourceId"] == source_id
    assert dest["settings"]["sitecode"] == sitecode
    assert dest["settings"]["apiKey"] == derive_api_key(CLIENT_ID, CLIENT_SECRET)
    triggers = sorted(s["trigger"] for s in fake.segment_subscriptions(dest["id"]))
    assert len(triggers) == 5 and 'type = "screen"' in triggers

    again = proc("apply", str(path), "--dry-run", "--detailed-exitcode", env=env)
    assert again.exit_code == 0, again.stdout + again.stderr
    before = len(fake.requests)
    rerun = proc("apply", str(path), "--json", env=env)
    assert rerun.exit_code == 0
    assert rerun.json()["items"][-1]["resource"] == "segment-destination"
    assert rerun.json()["items"][-1]["state"] == "unchanged"
    assert set(rerun.json()["summary"]) == {"unchanged"} and rerun.json()["changes"] is False
    assert not [
        r
        for r in fake.requests[before:]
        if r.method in ("POST", "PUT", "PATCH", "DELETE") and r.path != "/oauth/token"
    ]
    for result in (plan, done, again, rerun):
        assert TOKEN not in result.stdout + result.stderr
        assert CLIENT_SECRET not in result.stdout + result.stderr


def test_file_is_the_desired_state_for_the_destination(
    fake: Any, proc: ProcRunner, tmp_path: Path
) -> None:
    env, path, sitecode, _ = setup(fake, tmp_path)
    assert proc("apply", str(path), env=env).exit_code == 0
    (dest,) = fake.segment_destinations(TOKEN)
    # Someone changes the sitecode in Segment's app: the next apply puts it back.
    fake.state.destinations[dest["id"]]["settings"]["sitecode"] = "WRONGCODE1"
    # Only the Segment side differs: the dry run's exit code, JSON and message agree.
    plan = proc("apply", str(path), "--dry-run", "--detailed-exitcode", "--json", env=env)
    assert plan.exit_code == ExitCode.CHANGES_PENDING, plan.stderr
    doc = plan.json()
    assert doc["changes"] is True and doc["summary"].get("planned") == 1
    assert doc["request_counts"]["writes"] == doc["request_counts"]["segment_writes"] >= 1
    assert len(doc["requests"]) == doc["request_counts"]["writes"]
    human = proc("apply", str(path), "--dry-run", "--detailed-exitcode", env=env)
    assert human.exit_code == ExitCode.CHANGES_PENDING
    writes = doc["request_counts"]["writes"]
    assert f"; {writes} write request(s) needed" in human.stderr
    result = proc("apply", str(path), "--json", env=env)
    assert result.exit_code == 0, result.stderr
    assert result.json()["items"][-1]["state"] == "updated"
    assert fake.segment_destinations(TOKEN)[0]["settings"]["sitecode"] == sitecode


def test_missing_segment_token_fails_before_any_write(
    fake: Any, proc: ProcRunner, tmp_path: Path
) -> None:
    env, path, _, _ = setup(fake, tmp_path)
    del env["SEGMENT_API_TOKEN"]
    result = proc("apply", str(path), env=env)
    assert result.exit_code == ExitCode.AUTH
    assert "ksegcli segment login" in result.stderr
    assert fake.custom_datas() == []  # the Kameleoon side was not touched either


def test_unknown_source_is_a_per_source_failure_after_kameleoon_is_done(
    fake: Any, proc: ProcRunner, tmp_path: Path
) -> None:
    env, path, _, source_id = setup(fake, tmp_path)
    path.write_text(path.read_text().replace(source_id, "noSuchSource123"))
    result = proc("apply", str(path), env=env)
    assert result.exit_code == ExitCode.NOT_FOUND, result.stdout + result.stderr
    assert "noSuchSource123" in result.stderr
    assert len(fake.custom_datas()) == 3  # personas, group, plan: done all the same


def test_two_projects_on_one_source_are_refused_with_the_line(
    tmp_path: Path, proc: ProcRunner
) -> None:
    path = tmp_path / "account.toml"
    path.write_text(
        '[segment]\nsource_id = "src1"\n\n[projects.AAAAAAAAAA]\n\n[projects.BBBBBBBBBB]\n'
    )
    result = proc("apply", str(path), "--dry-run")
    assert result.exit_code == ExitCode.USAGE
    assert "src1" in result.stderr and "AAAAAAAAAA" in result.stderr
    assert f"{path}:1:" in result.stderr
