"""`ksegcli apply` against the fake server: plan, idempotence, drift, prune, faults, SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from conftest import CliRunner, FakeFactory, ProcRunner, Result, fake_env, writes

from ksegcli.core.snippets import render_snippet
from ksegcli.testing import FakeServer

SECRET = "apply-secret-value-7"
SCALE = 0.01  # the fake's 10 s window lasts 0.1 s


@pytest.fixture
def srv(make_fake: FakeFactory) -> FakeServer:
    return make_fake(account=("cid", SECRET), time_scale=SCALE)


# the real 50 per 10 s, scaled like the server, with a little slack
env = partial(
    fake_env, client_id="cid", client_secret=SECRET, rate_limit=f"50/{10 * SCALE * 1.05:g}"
)


@pytest.fixture
def apply(srv: FakeServer, cli: CliRunner, tmp_path: Path) -> Any:
    path = tmp_path / "account.toml"

    def call(text: str | None, *args: str) -> Result:
        if text is not None:
            path.write_text(text)
        result = cli("apply", str(path), *args, env=env(srv))
        assert SECRET not in result.stdout + result.stderr
        return result

    return call


def duplicates(srv: FakeServer) -> list[tuple[int, str]]:
    names = Counter((c["siteId"], c["name"]) for c in srv.custom_datas())
    return [key for key, n in names.items() if n > 1]


def test_plan_apply_then_noop(srv: FakeServer, apply: Any) -> None:
    shop = srv.add_site("cid", name="Shop", code="SHOP000001")
    blog = srv.add_site("cid", name="Blog")
    srv.set_integration_tools(shop["id"], [{"name": "HEAP", "settings": {"appId": "1"}}])
    text = f"""
[defaults]
traits = ["plan"]

[projects.SHOP000001]
traits = {{ age = {{ name = "Age", format = "number" }} }}

[projects."{blog["id"]}"]
user_id = "segment"
group = false
"""
    plan = apply(text, "--dry-run", "--detailed-exitcode", "--json")
    assert plan.exit_code == 8, plan.stderr
    doc = plan.json()
    assert doc["changes"] is True
    assert doc["schema_version"] == 1 and doc["command"] == "apply" and doc["dry_run"] is True
    assert doc["summary"] == {"planned": 8}
    assert Counter(a["action"] for a in doc["items"]) == {"install": 2, "create": 6}
    assert doc["request_counts"]["writes"] == 8
    assert {a["request"]["method"] for a in doc["items"]} == {"PUT", "POST"}
    assert {r["method"] for r in doc["requests"]} == {"PUT", "POST"} and len(doc["requests"]) == 8
    assert writes(srv) == []
    human = apply(None, "--dry-run")
    assert human.exit_code == 0
    assert "create" in human.stdout and "absent" in human.stdout
    assert "8 write request(s) needed, nothing written" in human.stderr

    done = apply(None, "--json")
    assert done.exit_code == 0, done.stderr
    result = done.json()
    assert result["summary"] == {"installed": 2, "created": 6}
    (step,) = result["next_steps"]
    assert "2 project(s)" in step and "SHOP000001" in step and "persona-values" in step
    assert result["request_counts"]["throttled"] == 0
    assert srv.integration_tools(shop["id"]) == [
        {"name": "HEAP", "settings": {"appId": "1"}},
        {"name": "SEGMENT", "settings": {}},
    ]
    made = {(c["siteId"], c["name"]): c for c in srv.custom_datas()}
    assert set(made) == {
        (shop["id"], "SegmentIO personas"),
        (shop["id"], "Group ID"),
        (shop["id"], "plan"),
        (shop["id"], "Age"),
        (blog["id"], "SegmentIO personas"),
        (blog["id"], "plan"),
    }
    assert made[(shop["id"], "Age")]["format"] == "NUMBER"
    assert (
        made[(blog["id"], "plan")]["customEvalCode"]
        == render_snippet("trait", user_id="segment", trait="plan").code
    )

    srv.clear_requests()
    again = apply(None)
    assert again.exit_code == 0, again.stderr
    assert writes(srv) == []
    assert "Nothing to change: 8 unchanged" in again.stderr
    reads = Counter("tools" if "integration-tools" in r.path else r.path for r in srv.requests)
    # The token of the previous run is reused (cached for env credentials too).
    assert reads == {"/sites": 1, "/custom-datas": 1, "tools": 2}
    assert apply(None, "--dry-run", "--detailed-exitcode").exit_code == 0


def test_drift_ours_updated_theirs_left_unless_update(srv: FakeServer, apply: Any) -> None:
    site = srv.add_site("cid", name="Shop", code="SHOP000001")
    srv.set_integration_tools(site["id"], [{"name": "SEGMENT", "settings": {}}])
    ours = srv.add_custom_data(
        site["id"],
        "SegmentIO personas",
        type="LIST",
        method="CUSTOM_CODE",
        customEvalCode=render_snippet("personas", user_id="segment").code,
    )
    theirs = srv.add_custom_data(
        site["id"], "Group ID", method="CUSTOM_CODE", customEvalCode="return {value: 'g'};"
    )
    text = "[projects.SHOP000001]\n"
    plan = apply(text, "--dry-run", "--json").json()
    by_name = {a["name"]: a for a in plan["items"]}
    assert by_name["SegmentIO personas"]["action"] == "update"
    assert by_name["Group ID"]["action"] == "drifted"
    assert "not ksegcli's snippet" in by_name["Group ID"]["reason"]
    first = apply(None)
    assert first.exit_code == 0, first.stderr
    assert "--update overwrites them" in first.stderr
    items = {c["id"]: c for c in srv.custom_datas(site["id"])}
    assert items[ours["id"]]["customEvalCode"] == render_snippet("personas").code
    assert items[theirs["id"]]["customEvalCode"] == "return {value: 'g'};"
    forced = apply(None, "--update", "--json")
    assert forced.json()["summary"] == {"unchanged": 2, "updated": 1}
    assert srv.custom_datas(site["id"])[1]["customEvalCode"] == render_snippet("group").code
    assert len(srv.custom_datas(site["id"])) == 2


def test_prune_only_ours_and_only_when_asked(srv: FakeServer, apply: Any) -> None:
    site = srv.add_site("cid", name="Shop", code="SHOP000001")
    mine = srv.add_custom_data(
        site["id"], "Hand made", method="CUSTOM_CODE", customEvalCode="return {value: 1};"
    )
    assert apply("[projects.SHOP000001]\ntraits = ['plan', 'tier']\n").exit_code == 0
    assert len(srv.custom_datas(site["id"])) == 5
    smaller = "[projects.SHOP000001]\ngroup = false\nintegration = false\ntraits = ['plan']\n"
    kept = apply(smaller, "--json")
    assert kept.json()["summary"] == {"uninstalled": 1, "unchanged": 2}
    assert len(srv.custom_datas(site["id"])) == 5
    assert srv.integration_tools(site["id"]) == []
    plan = apply(None, "--dry-run", "--prune", "--json").json()
    deletes = sorted(a["name"] for a in plan["items"] if a["action"] == "delete")
    assert deletes == ["Group ID", "tier"]
    refused = apply(None, "--prune")  # deletes off a terminal need --yes
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert len(srv.custom_datas(site["id"])) == 5
    pruned = apply(None, "--prune", "--yes")
    assert pruned.exit_code == 0, pruned.stderr
    assert "deleted" in pruned.stdout and "unchanged" not in pruned.stdout
    assert "3 unchanged item(s) not shown" in pruned.stderr
    assert sorted(c["name"] for c in srv.custom_datas(site["id"])) == [
        "Hand made",
        "SegmentIO personas",
        "plan",
    ]
    assert any(c["id"] == mine["id"] for c in srv.custom_datas(site["id"]))


def test_invalid_file_or_unknown_project_writes_nothing(srv: FakeServer, apply: Any) -> None:
    srv.add_site("cid", name="Shop", code="SHOP000001")
    bad = apply("[projects.SHOP000001]\npersona = true\n")
    assert bad.exit_code == 2
    assert (
        "account.toml:2:1: unknown key 'projects.SHOP000001.persona'; did you mean 'personas'?"
        in bad.stderr
    )
    assert srv.requests == []  # checked before any request
    unknown = apply("[projects.SHOP000001]\n[projects.NOPE000000]\n")
    assert unknown.exit_code == 4
    assert "Unknown project: NOPE000000" in unknown.stderr
    assert writes(srv) == []
    usage = apply(None, "--detailed-exitcode")
    assert usage.exit_code == 2 and "--dry-run" in usage.stderr


def test_refused_integration_is_reported_and_the_rest_is_done(srv: FakeServer, apply: Any) -> None:
    site = srv.add_site("cid", name="Shop", code="SHOP000001")
    srv.configure(integration_tools_supported=False)
    plan = apply("[projects.SHOP000001]\n", "--dry-run")
    assert plan.exit_code == 5
    assert "Admin › Integrations › Segment" in plan.stderr.replace("\n", " ")
    done = apply(None, "--json")
    assert done.exit_code == 5
    assert done.json()["summary"] == {"failed": 1, "created": 2}
    assert len(srv.custom_datas(site["id"])) == 2


def test_faults_converge_without_duplicates(srv: FakeServer, apply: Any) -> None:
    codes = [srv.add_site("cid", name=f"P{n}")["code"] for n in range(4)]
    text = "[defaults]\ntraits = ['a', 'b', 'c']\n" + "".join(f"[projects.{c}]\n" for c in codes)
    srv.configure(error_rate=0.2, drop_rate=0.1, seed=7)
    srv.inject("POST", r"^/custom-datas$", "429", 3)
    srv.inject("GET", r"^/custom-datas$", "429", 1)
    srv.inject("POST", r"^/custom-datas$", "timeout", 1)
    # Random draws depend on thread timing: make sure each kind of fault happens at least once.
    srv.inject("POST", r"^/custom-datas$", "drop_after_commit", 2)
    srv.inject("PUT", r"^/sites/\d+/integration-tools$", "503", 1)
    srv.configure(timeout_fault_seconds=0.5)
    runs = []
    for _ in range(3):
        result = apply(text, "--json")
        runs.append(result)
        if result.exit_code == 0:
            break
        assert result.exit_code in (5, 6), result.stderr
        assert any(r["state"] == "failed" for r in result.json()["items"])
    assert runs[-1].exit_code == 0, runs[-1].stderr
    assert duplicates(srv) == []
    assert len(srv.custom_datas()) == 4 * 5
    assert all(srv.integration_tools(s)[0]["name"] == "SEGMENT" for s in srv.state.sites)
    faults = Counter(r.fault for r in srv.requests if r.fault)
    assert faults["drop_after_commit"] > 0 and faults["503"] > 0 and faults["429"] >= 4
    srv.configure(error_rate=0.0, drop_rate=0.0)
    srv.clear_requests()
    final = apply(None, "--json")
    assert final.exit_code == 0
    assert set(final.json()["summary"]) == {"unchanged"}
    assert writes(srv) == []


def test_sigkill_mid_run_then_rerun_converges(
    srv: FakeServer, proc: ProcRunner, tmp_path: Path
) -> None:
    srv.configure(latency=0.02)
    codes = [srv.add_site("cid", name=f"P{n}")["code"] for n in range(6)]
    path = tmp_path / "account.toml"
    path.write_text(
        "[defaults]\ntraits = ['a', 'b', 'c', 'd']\n" + "".join(f"[projects.{c}]\n" for c in codes)
    )
    child = subprocess.Popen(
        [sys.executable, "-m", "ksegcli", "apply", str(path), "--workers", "4"],
        env={**proc.env, **env(srv)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and child.poll() is None:
        if sum(1 for r in srv.requests if r.method == "POST" and r.path == "/custom-datas") >= 10:
            break
        time.sleep(0.005)
    assert child.poll() is None, "apply finished before it could be killed"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert 0 < len(srv.custom_datas()) < 36
    assert duplicates(srv) == []
    again = proc("apply", str(path), "--json", env=env(srv))
    assert again.exit_code == 0, again.stderr
    assert len(srv.custom_datas()) == 6 * 6
    assert duplicates(srv) == []
    srv.clear_requests()
    final = proc("apply", str(path), "--json", env=env(srv))
    assert final.exit_code == 0
    assert set(final.json()["summary"]) == {"unchanged"}
    assert writes(srv) == []


def test_project_option_applies_part_of_the_file(srv: FakeServer, apply: Any) -> None:
    one = srv.add_site("cid", name="One", code="ONEE000001")
    two = srv.add_site("cid", name="Two", code="TWOO000002")
    text = f'[projects.ONEE000001]\n[projects."{two["id"]}"]\n'
    part = apply(text, "--project", "TWOO000002", "--json")
    assert part.exit_code == 0, part.stderr
    assert {r["project"]["sitecode"] for r in part.json()["items"]} == {"TWOO000002"}
    assert srv.custom_datas(one["id"]) == [] and len(srv.custom_datas(two["id"])) == 2
    stranger = srv.add_site("cid", name="Three", code="THRE000003")
    wrong = apply(None, "--project", str(stranger["id"]))
    assert wrong.exit_code == 2
    assert f"--project {stranger['id']}: not a project of" in wrong.stderr
