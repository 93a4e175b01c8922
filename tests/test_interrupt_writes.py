"""Ctrl-C while a command writes: no new request after the signal, a bounded wait for
the one in flight, the results so far printed (table or JSON with ``interrupted``),
exit 130; a second Ctrl-C exits at once; a rerun converges."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import respx
from conftest import FakeFactory, ProcRunner, fake_env, write_records

from ksegcli.contract import load_schema
from ksegcli.core import interrupt
from ksegcli.core.http.client import HttpClient
from ksegcli.core.kameleoon.client import Site
from ksegcli.core.plan import Action, ActionResult, Request, execute
from ksegcli.errors import ExitCode
from ksegcli.testing import FakeServer

SECRET = "interrupt-secret-value-7"
SCALE = 0.01  # the fake's 10 s window lasts 0.1 s
LATENCY = 0.05  # per request: a write is in flight long enough to be caught
TRAITS = 4
PROJECTS = 10
# per project: the integration tool, personas, group and TRAITS traits
PER_PROJECT = 3 + TRAITS


@pytest.fixture
def srv(make_fake: FakeFactory) -> FakeServer:
    return make_fake(account=("cid", SECRET), time_scale=SCALE, latency=LATENCY)


env = partial(
    fake_env, client_id="cid", client_secret=SECRET, rate_limit=f"50/{10 * SCALE * 1.05:g}"
)


def account(srv: FakeServer, tmp_path: Path, projects: int = PROJECTS) -> Path:
    codes = [srv.add_site("cid", name=f"P{n}")["code"] for n in range(projects)]
    keys = ", ".join(f'"trait_{n}"' for n in range(TRAITS))
    text = f"[defaults]\ntraits = [{keys}]\n\n" + "".join(f"[projects.{c}]\n" for c in codes)
    path = tmp_path / "account.toml"
    path.write_text(text)
    return path


def start(
    proc: ProcRunner, srv: FakeServer, *args: str, extra: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ksegcli", *args],
        env={**proc.env, **env(srv), **(extra or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_apply(
    proc: ProcRunner, srv: FakeServer, tmp_path: Path, *flags: str
) -> tuple[Path, subprocess.Popen[str]]:
    """``ksegcli apply`` of a new account file (PROJECTS projects), started: the file
    and the child."""
    path = account(srv, tmp_path)
    return path, start(proc, srv, "apply", str(path), *flags)


def wait_for_writes(srv: FakeServer, n: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(write_records(srv)) < n:
        assert time.monotonic() < deadline, f"fewer than {n} writes reached the fake server"
        time.sleep(0.002)


def sigint(child: subprocess.Popen[str]) -> float:
    """Send Ctrl-C; the wall-clock time it was sent (the fake stamps arrivals so)."""
    sent = time.time()
    os.kill(child.pid, signal.SIGINT)
    return sent


def finish(child: subprocess.Popen[str]) -> tuple[str, str, float]:
    started = time.monotonic()
    stdout, stderr = child.communicate(timeout=30)
    return stdout, stderr, time.monotonic() - started


def stop(child: subprocess.Popen[str]) -> tuple[float, str, str]:
    """Ctrl-C, then the child must exit as interrupted within five seconds: when the
    signal was sent, stdout, stderr."""
    sent = sigint(child)
    stdout, stderr, seconds = finish(child)
    assert child.returncode == ExitCode.INTERRUPTED, stderr
    assert seconds < 5
    return sent, stdout, stderr


def results(stdout: str, command: str) -> dict[str, Any]:
    """The --json document, valid against the command's published schema."""
    doc: dict[str, Any] = json.loads(stdout)
    jsonschema.validate(doc, load_schema(command))
    return doc


def assert_nothing_started_after(srv: FakeServer, sent: float, workers: int = 8) -> None:
    """No write reached the server after the signal, but the ones already on their way
    (sent just before it: at most one per worker, within a few ms)."""
    late = [r for r in write_records(srv) if r.time > sent]
    assert len(late) <= workers, late
    assert all(r.time < sent + 0.05 for r in late), late


def assert_truthful(srv: FakeServer, items: list[dict[str, Any]]) -> Counter[str]:
    """Each item's state agrees with what the server holds."""
    names = {(c["siteId"], c["name"]): c["id"] for c in srv.custom_datas()}
    states: Counter[str] = Counter()
    for item in items:
        state = item["state"]
        states[state] += 1
        site_id = item["project"]["id"]
        if item["resource"] == "custom-data":
            held = names.get((site_id, item["name"]))
            if state == "created":
                assert held == item["id"], item
            elif state == "skipped":
                assert held is None, item
        elif item["resource"] == "integration":
            installed = any(t["name"] == "SEGMENT" for t in srv.integration_tools(site_id))
            if state == "installed":
                assert installed, item
            elif state == "skipped":
                assert not installed, item
    return states


def rerun_converges(proc: ProcRunner, srv: FakeServer, path: Path) -> None:
    again = proc("apply", str(path), "--json", env=env(srv))
    assert again.exit_code == 0, again.stderr
    assert "interrupted" not in again.json()
    held = Counter((c["siteId"], c["name"]) for c in srv.custom_datas())
    assert max(held.values()) == 1  # no duplicates
    assert len(held) == PROJECTS * (PER_PROJECT - 1)
    check = proc("apply", str(path), "--dry-run", "--detailed-exitcode", env=env(srv))
    assert check.exit_code == 0, check.stdout + check.stderr


def test_ctrl_c_during_apply_stops_writing_and_prints_the_json_results(
    proc: ProcRunner, srv: FakeServer, tmp_path: Path
) -> None:
    path, child = start_apply(proc, srv, tmp_path, "--json")
    wait_for_writes(srv, 10)
    sent, stdout, stderr = stop(child)

    assert "Traceback" not in stderr
    assert_nothing_started_after(srv, sent)
    doc = results(stdout, "apply")  # one document: the envelope, not an error
    assert doc["command"] == "apply" and doc["dry_run"] is False
    assert doc["interrupted"] is True
    assert len(doc["items"]) == PROJECTS * PER_PROJECT
    states = assert_truthful(srv, doc["items"])
    assert states["skipped"] > 0
    assert set(states) <= {"created", "installed", "interrupted", "skipped"}
    assert doc["summary"] == dict(Counter(i["state"] for i in doc["items"]))
    done = states["created"] + states["installed"]
    answered = len([r for r in write_records(srv) if r.status < 300])
    assert done <= answered <= done + states["interrupted"], states
    assert f"{done} write(s) done" in stderr
    assert f"{states['skipped']} not sent" in stderr
    assert f"rerunning `ksegcli apply {path}` converges" in stderr
    assert "Nothing was left half-written" not in stderr

    rerun_converges(proc, srv, path)


def test_ctrl_c_during_apply_prints_the_results_table(
    proc: ProcRunner, srv: FakeServer, tmp_path: Path
) -> None:
    _, child = start_apply(proc, srv, tmp_path)
    wait_for_writes(srv, 10)
    sent, stdout, stderr = stop(child)

    assert_nothing_started_after(srv, sent)
    assert "RESULT" in stdout and "skipped" in stdout and "created" in stdout
    assert "Stopping: no new request is sent" in stderr
    assert "Interrupted (Ctrl-C):" in stderr and "write(s) done" in stderr
    assert "Traceback" not in stderr


def wait_until_hung(srv: FakeServer, pending: int) -> None:
    """Until the injected "timeout" faults left are ``pending`` (requests hang on the
    others), and a little more for the client to be waiting on them."""
    deadline = time.monotonic() + 30
    while srv.pending_faults() > pending:
        assert time.monotonic() < deadline, "the request to hang never came"
        time.sleep(0.005)
    time.sleep(0.2)


def hang_writes_after(srv: FakeServer, n: int) -> None:
    """From the n-th write on, custom data creates hang (never answered, never stored)."""
    wait_for_writes(srv, n)
    srv.configure(timeout_fault_seconds=60.0)
    srv.inject("POST", r"^/custom-datas$", "timeout", count=1000)
    wait_until_hung(srv, 999)  # a worker now waits on a hung create


def test_a_hung_write_is_abandoned_within_five_seconds(
    proc: ProcRunner, srv: FakeServer, tmp_path: Path
) -> None:
    path, child = start_apply(proc, srv, tmp_path, "--json")
    hang_writes_after(srv, 4)
    _, stdout, stderr = stop(child)

    doc = json.loads(stdout)
    assert doc["interrupted"] is True
    states = assert_truthful(srv, doc["items"])
    assert states["interrupted"] >= 1  # the hung ones: outcome unknown, not "created"
    hung = [i for i in doc["items"] if i["state"] == "interrupted"]
    assert all("outcome is unknown" in i["message"] for i in hung)
    assert f"{states['interrupted']} in flight when stopped (outcome unknown)" in stderr
    assert "Traceback" not in stderr

    srv.clear_faults()
    rerun_converges(proc, srv, path)


def test_a_second_ctrl_c_exits_at_once_without_a_traceback(
    proc: ProcRunner, srv: FakeServer, tmp_path: Path
) -> None:
    _, child = start_apply(proc, srv, tmp_path)
    hang_writes_after(srv, 4)
    sigint(child)
    time.sleep(0.3)  # winding down: waiting for the hung writes
    sigint(child)
    again = time.monotonic()
    time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):  # a third press changes nothing
        sigint(child)
    _, stderr, _ = finish(child)

    assert child.returncode == ExitCode.INTERRUPTED
    assert time.monotonic() - again < 2
    assert "exiting at once" in stderr
    assert "Traceback" not in stderr and "Exception" not in stderr


def test_ctrl_c_during_customdata_create_reports_what_was_done(
    proc: ProcRunner, srv: FakeServer, tmp_path: Path
) -> None:
    for n in range(20):
        srv.add_site("cid", name=f"P{n}")
    child = start(proc, srv, "customdata", "create", "trait", "plan", "--all", "--json")
    hang_writes_after(srv, 1)
    _, stdout, stderr = stop(child)

    doc = results(stdout, "customdata create trait")
    assert doc["command"] == "customdata create trait" and doc["interrupted"] is True
    states = assert_truthful(srv, doc["items"])
    assert states["created"] == len(srv.custom_datas()) and states["created"] >= 1
    assert states["interrupted"] + states["skipped"] == 20 - states["created"]
    assert "rerunning `ksegcli customdata create trait` converges" in stderr


def test_ctrl_c_during_reporting_enable_reports_each_campaign(
    proc: ProcRunner, srv: FakeServer, tmp_path: Path
) -> None:
    site = srv.add_site("cid", name="Shop")
    ids = [srv.add_experiment(site["id"], f"Test {n}")["id"] for n in range(15)]
    child = start(
        proc, srv, "reporting", "enable", "--all-active", "--project", site["code"], "--json"
    )
    wait_for_writes(srv, 2)
    srv.configure(timeout_fault_seconds=60.0)
    srv.inject("PATCH", r"^/experiments/", "timeout", count=1000)
    wait_until_hung(srv, 999)  # the next PATCH hangs
    _, stdout, stderr = stop(child)

    doc = results(stdout, "reporting enable")
    assert doc["interrupted"] is True
    by_id = {e["id"]: e for e in srv.experiments()}
    states = Counter(i["state"] for i in doc["items"])
    for item in doc["items"]:
        segment = {"name": "SEGMENT"} in by_id[item["id"]]["trackingTools"]
        assert segment == (item["state"] == "updated"), item
    assert states["updated"] >= 2 and states["interrupted"] == 1
    assert states["updated"] + states["interrupted"] + states["skipped"] == len(ids)
    assert f"{states['updated']} write(s) done" in stderr and "Traceback" not in stderr


SEGMENT_TOKEN = "sgp_interrupt_token_never_shown_77"


def test_ctrl_c_during_segment_destination_create_then_rerun_converges(
    proc: ProcRunner, srv: FakeServer
) -> None:
    site = srv.add_site("cid", name="Shop")
    srv.add_segment_workspace(SEGMENT_TOKEN)
    source = srv.add_segment_source(SEGMENT_TOKEN, "Web shop")
    srv.configure(timeout_fault_seconds=60.0)
    srv.inject("POST", r"/subscriptions$", "timeout", count=1000)  # the mappings hang
    extra = {
        "SEGMENT_API_TOKEN": SEGMENT_TOKEN,
        "KSEG_SEGMENT_API_URL": srv.url,
        "KSEG_CUSTOMERS_URL": srv.url,
        "KAMELEOON_SITECODE": site["code"],
    }
    args = ("segment", "destination", "create", "--source", source["id"], "--json")
    child = start(proc, srv, *args, extra=extra)
    wait_until_hung(srv, 999)  # the destination is created, its first mapping hangs
    _, stdout, stderr = stop(child)

    doc = results(stdout, "segment destination create")
    assert doc["interrupted"] is True
    (item,) = doc["items"]
    assert item["state"] == "interrupted"
    assert "in flight when stopped" in stderr and "Traceback" not in stderr
    assert SEGMENT_TOKEN not in stdout + stderr

    srv.clear_faults()
    again = proc(*args, env={**env(srv), **extra})
    assert again.exit_code == 0, again.stderr
    assert len(srv.segment_destinations(SEGMENT_TOKEN)) == 1


def test_ctrl_c_while_customdata_delete_is_in_flight(proc: ProcRunner, srv: FakeServer) -> None:
    site = srv.add_site("cid", name="Shop")
    made = proc("customdata", "create", "trait", "plan", "--project", site["code"], env=env(srv))
    assert made.exit_code == 0, made.stderr
    srv.configure(timeout_fault_seconds=60.0)
    srv.inject("DELETE", r"^/custom-datas/", "timeout")
    args = ("customdata", "delete", "plan", "--project", site["code"], "--yes", "--json")
    child = start(proc, srv, *args)
    wait_until_hung(srv, 0)  # the DELETE arrived and hangs
    _, stdout, _ = stop(child)

    doc = results(stdout, "customdata delete")
    assert doc["interrupted"] is True and doc["items"][0]["state"] == "interrupted"
    assert len(srv.custom_datas(site["id"])) == 1  # the hung DELETE did nothing

    srv.clear_faults()
    assert proc(*args, env=env(srv)).exit_code == 0
    assert srv.custom_datas(site["id"]) == []


# --- the pieces, in-process ---------------------------------------------------------------

SITE = Site(1, "Shop", "https://shop.test", "SHOP000001", "ECOMMERCE")


def actions(n: int) -> list[Action]:
    return [
        Action(SITE, "custom-data", f"cd{i}", "create", "absent", Request("POST", "/x"))
        for i in range(n)
    ]


def test_the_executor_starts_no_write_after_the_stop() -> None:
    calls: list[str] = []

    def handler(client: Any, action: Action) -> ActionResult:
        calls.append(action.name)
        if len(calls) == 3:
            interrupt.request_stop()  # Ctrl-C while the third write is in flight
        return ActionResult(action, "created", "done", 1)

    results = execute(None, actions(10), {"custom-data": handler}, workers=1)  # type: ignore[arg-type]
    assert calls == ["cd0", "cd1", "cd2"]
    assert [r.status for r in results] == ["created"] * 3 + ["skipped"] * 7


def test_a_write_in_flight_past_the_grace_is_reported_interrupted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(interrupt, "GRACE", 0.2)
    release = threading.Event()

    def handler(client: Any, action: Action) -> ActionResult:
        interrupt.request_stop()
        release.wait(10)
        return ActionResult(action, "created", "done", 1)

    started = time.monotonic()
    results = execute(None, actions(3), {"custom-data": handler}, workers=1)  # type: ignore[arg-type]
    release.set()
    assert time.monotonic() - started < 2
    assert [r.status for r in results] == ["interrupted", "skipped", "skipped"]
    assert "outcome is unknown" in results[0].message


@respx.mock(base_url="https://api.test")
def test_no_request_is_sent_after_the_stop(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post("/custom-datas").mock(return_value=httpx.Response(201, json={}))
    client = HttpClient("https://api.test", label="Automation API")
    client.request("POST", "/custom-datas", json_body={})
    interrupt.request_stop()
    with pytest.raises(interrupt.RequestStopped) as caught:
        client.request("POST", "/custom-datas", json_body={})
    assert route.call_count == 1
    assert caught.value.exit_code == ExitCode.INTERRUPTED
