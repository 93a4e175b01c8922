"""Runs that race on one account end with one custom data of each name.

Two machines (two CI runners) cannot share a local lock, so the remote side
converges by itself: after its creates a run looks the names up again and
deletes the copies of ksegcli's own custom data, keeping the oldest; the plan
shows copies left behind as `duplicate`; doctor fails on a name held twice.
A custom data made by hand, and its copies, are reported, never deleted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from conftest import CliRunner, FakeFactory, ProcRunner, fake_env

from ksegcli.core.kameleoon import customdata
from ksegcli.core.snippets import render_snippet
from ksegcli.testing import FakeServer

SECRET = "race-secret-value-3"
SCALE = 0.01


@pytest.fixture
def srv(make_fake: FakeFactory) -> FakeServer:
    return make_fake(account=("cid", SECRET), time_scale=SCALE)


env = partial(
    fake_env, client_id="cid", client_secret=SECRET, rate_limit=f"50/{10 * SCALE * 1.05:g}"
)


def copies(srv: FakeServer) -> int:
    names = Counter((c["siteId"], c["name"]) for c in srv.custom_datas())
    return sum(n - 1 for n in names.values() if n > 1)


def deletes(srv: FakeServer) -> list[str]:
    return [r.path for r in srv.requests if r.method == "DELETE"]


def ours(kind: str, trait: str | None = None) -> dict[str, Any]:
    """The fields of a custom data that ksegcli made (its snippet as code)."""
    return {
        "type": "LIST" if kind == "personas" else "UNIQUE",
        "format": "STRING",
        "method": "CUSTOM_CODE",
        "customEvalCode": render_snippet(kind, trait=trait).code,
    }


def race(proc: ProcRunner, tmp_path: Path, srv: FakeServer, *args: str) -> list[Any]:
    """Start the same command twice at once, each with its own config and cache folder."""
    # A little latency per request: two runs started together both list before either creates.
    srv.configure(latency=0.05)
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "ksegcli", *args],
            env={
                **proc.env,
                **env(
                    srv,
                    KSEG_CONFIG_DIR=str(tmp_path / name / "config"),
                    KSEG_CACHE_DIR=str(tmp_path / name / "cache"),
                ),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("runner-a", "runner-b")
    ]
    done = []
    for run in runs:
        stdout, stderr = run.communicate(timeout=60)
        assert run.returncode == 0, stderr
        assert "Traceback" not in stderr and SECRET not in stdout + stderr
        done.append(stdout)
    return done


def test_two_concurrent_applies_from_two_machines_leave_one_of_each(
    srv: FakeServer, proc: ProcRunner, tmp_path: Path
) -> None:
    codes = [srv.add_site("cid", name=f"P{n}")["code"] for n in range(3)]
    path = tmp_path / "account.toml"
    path.write_text(
        '[defaults]\ntraits = ["plan"]\n\n' + "".join(f"[projects.{c}]\n" for c in codes)
    )
    outputs = race(proc, tmp_path, srv, "apply", str(path), "--json")
    assert copies(srv) == 0
    assert len(srv.custom_datas()) == 9  # personas, group and one trait on each project
    # When both listed before either created (the usual case), one run's copies were
    # deleted, and it says so; an item kept is one that exists.
    results = [r for out in outputs for r in json.loads(out)["items"]]
    raced = [r for r in results if "another run created it at the same time" in r["message"]]
    assert all(r["state"] == "unchanged" for r in raced)
    kept = {c["id"] for c in srv.custom_datas()}
    assert all(r["id"] in kept for r in raced)
    # The next run finds nothing to do.
    again = proc("apply", str(path), "--dry-run", "--detailed-exitcode", env=env(srv))
    assert again.exit_code == 0, again.stdout + again.stderr


def test_two_runs_that_both_list_before_creating_end_with_one_of_each(
    srv: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race made certain: both runs' plans read the empty account before either writes."""
    import threading

    from ksegcli.core.apply import desired
    from ksegcli.core.apply import engine as apply
    from ksegcli.core.session import Session

    codes = [srv.add_site("cid", name=f"P{n}")["code"] for n in range(2)]
    path = tmp_path / "account.toml"
    path.write_text(
        '[defaults]\ntraits = ["plan"]\n\n' + "".join(f"[projects.{c}]\n" for c in codes)
    )
    real = customdata.list_custom_data
    both_listed = threading.Barrier(2, timeout=20)
    plan_lists = iter(range(2))

    def list_and_wait(client: Any, site_ids: Any) -> Any:
        found = real(client, site_ids)
        if next(plan_lists, None) is not None:  # the two plans' lists, not the later checks
            both_listed.wait()
        return found

    monkeypatch.setattr(customdata, "list_custom_data", list_and_wait)
    runs: list[apply.ApplyRun] = []

    def one_run(machine: str) -> None:
        # Two machines: each its own cache folder (one machine's runs would take turns).
        client = Session(env=env(srv, KSEG_CACHE_DIR=str(tmp_path / machine))).kameleoon()
        plan = apply.plan_apply(client, desired.load(path))
        assert sum(a.action == "create" for a in plan.actions) == 6
        runs.append(apply.run_apply(client, plan, workers=4))

    threads = [threading.Thread(target=one_run, args=(m,)) for m in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(runs) == 2
    assert copies(srv) == 0 and len(srv.custom_datas()) == 6
    results = [r for run in runs for r in run.results if r.action.resource == "custom-data"]
    kept = {c["id"] for c in srv.custom_datas()}
    assert {r.id for r in results} == kept  # each result names the item that stays
    assert sum(r.status == "created" for r in results) == 6
    raced = [r for r in results if r.status == "unchanged"]
    assert len(raced) == 6
    assert all("another run created it at the same time" in r.message for r in raced)


def test_two_concurrent_customdata_creates_leave_one(
    srv: FakeServer, proc: ProcRunner, tmp_path: Path
) -> None:
    sites = [srv.add_site("cid", name=f"P{n}") for n in range(4)]
    race(proc, tmp_path, srv, "customdata", "create", "group", "--all")
    assert copies(srv) == 0
    assert sorted(c["siteId"] for c in srv.custom_datas()) == sorted(s["id"] for s in sites)


def test_copy_made_between_list_and_create_is_deleted_and_the_oldest_kept(
    srv: FakeServer, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = srv.add_site("cid", name="Shop")
    real = customdata.list_custom_data
    other: list[dict[str, Any]] = []

    def list_then_race(client: Any, site_ids: Any) -> Any:
        found = real(client, site_ids)
        if not other:  # another run creates the same item right after our plan's list
            other.append(srv.add_custom_data(site["id"], "Group ID", **ours("group")))
        return found

    monkeypatch.setattr(customdata, "list_custom_data", list_then_race)
    result = cli("customdata", "create", "group", "--project", str(site["id"]), env=env(srv))
    assert result.exit_code == 0, result.stderr
    left = srv.custom_datas(site["id"])
    assert [c["id"] for c in left] == [other[0]["id"]]  # the oldest, made by the other run
    assert "another run created it at the same time" in result.stdout
    assert "unchanged" in result.stdout
    assert len(deletes(srv)) == 1


def test_plan_shows_copies_as_duplicate_and_apply_deletes_them(
    srv: FakeServer, cli: CliRunner, tmp_path: Path
) -> None:
    site = srv.add_site("cid", name="Shop", code="SHOP000001")
    srv.set_integration_tools(site["id"], [{"name": "SEGMENT", "settings": {}}])
    first = srv.add_custom_data(site["id"], "Group ID", **ours("group"))
    extra = [srv.add_custom_data(site["id"], "Group ID", **ours("group")) for _ in range(2)]
    srv.add_custom_data(site["id"], "SegmentIO personas", **ours("personas"))
    path = tmp_path / "account.toml"
    path.write_text("[projects.SHOP000001]\n")

    plan = cli("apply", str(path), "--dry-run", "--detailed-exitcode", "--json", env=env(srv))
    assert plan.exit_code == 8, plan.stderr
    dup = [a for a in plan.json()["items"] if a.get("action") == "duplicate"]
    assert sorted(a["id"] for a in dup) == sorted(e["id"] for e in extra)
    assert all(a["request"]["method"] == "DELETE" for a in dup)
    human = cli("apply", str(path), "--dry-run", env=env(srv))
    assert "duplicate" in human.stdout and "the oldest is kept" in human.stdout
    pruned = cli("apply", str(path), "--dry-run", "--prune", "--json", env=env(srv))
    assert sum(a.get("action") == "duplicate" for a in pruned.json()["items"]) == 2

    done = cli("apply", str(path), env=env(srv))
    assert done.exit_code == 0, done.stderr
    assert [c["id"] for c in srv.custom_datas(site["id"]) if c["name"] == "Group ID"] == [
        first["id"]
    ]
    again = cli("apply", str(path), "--dry-run", "--detailed-exitcode", env=env(srv))
    assert again.exit_code == 0, again.stdout


def test_copies_of_a_hand_made_custom_data_are_reported_never_deleted(
    srv: FakeServer, cli: CliRunner, tmp_path: Path
) -> None:
    site = srv.add_site("cid", name="Shop", code="SHOP000001")
    srv.set_integration_tools(site["id"], [{"name": "SEGMENT", "settings": {}}])
    srv.add_custom_data(site["id"], "Group ID", customEvalCode="return 1;")  # by hand
    srv.add_custom_data(site["id"], "Group ID", **ours("group"))
    srv.add_custom_data(site["id"], "SegmentIO personas", **ours("personas"))
    srv.add_custom_data(site["id"], "SegmentIO personas", customEvalCode="return [];")
    before = srv.custom_datas(site["id"])
    path = tmp_path / "account.toml"
    path.write_text("[projects.SHOP000001]\n")

    plan = cli("apply", str(path), "--dry-run", "--json", env=env(srv))
    assert plan.exit_code == 0, plan.stderr
    assert not [a for a in plan.json()["items"] if a.get("action") in ("duplicate", "delete")]
    warnings = plan.json()["warnings"]
    assert any("'Group ID'" in w and "made by hand" in w for w in warnings)
    assert any("'SegmentIO personas'" in w and "made by hand" in w for w in warnings)
    done = cli("apply", str(path), "--prune", "--yes", env=env(srv))
    assert done.exit_code == 0, done.stderr
    assert "made by hand" in done.stderr
    assert deletes(srv) == []
    assert srv.custom_datas(site["id"]) == before


def test_doctor_fails_when_an_integration_custom_data_name_is_held_twice(
    srv: FakeServer, cli: CliRunner
) -> None:
    site = srv.add_site("cid", name="Shop", code="SHOP000001")
    srv.add_custom_data(site["id"], "plan", **ours("trait", "plan"))
    srv.add_custom_data(site["id"], "plan", **ours("trait", "plan"))
    srv.add_custom_data(site["id"], "unrelated", customEvalCode="return 1;")
    srv.add_custom_data(site["id"], "unrelated", customEvalCode="return 2;")
    result = cli("doctor", "--sitecode", "SHOP000001", "--json", env=env(srv))
    assert result.exit_code == 9
    check = {c["id"]: c for c in result.json()["checks"]}["customdata.duplicates"]
    assert check["status"] == "fail"
    assert list(check["data"]["duplicates"]) == ["plan"]  # not a name of the integration's
    assert "customdata delete" in check["fix"]

    srv.reset()
    srv.add_account("cid", SECRET)
    site = srv.add_site("cid", name="Shop", code="SHOP000001")
    srv.add_custom_data(site["id"], "plan", **ours("trait", "plan"))
    clean = cli("doctor", "--sitecode", "SHOP000001", "--json", env=env(srv))
    check = {c["id"]: c for c in clean.json()["checks"]}["customdata.duplicates"]
    assert check["status"] == "pass"
