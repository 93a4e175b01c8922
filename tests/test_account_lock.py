"""Runs that write to one account take turns on one machine (core/lock.py): the second
says it waits for the first (its pid, command, age), waits at most KSEG_LOCK_TIMEOUT
seconds, then fails having changed nothing. A killed run never blocks the next one,
and read-only commands and dry runs never wait."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from conftest import CLIENT_ID, CLIENT_SECRET, ProcRunner, fake_env, writes

from ksegcli.core import config
from ksegcli.core.http.client import HttpClient
from ksegcli.core.lock import LOCKS_FOLDER, AccountLock, LockTimeout, read_holder
from ksegcli.core.paths import account_path
from ksegcli.core.session import Session
from ksegcli.errors import ConfigError, ExitCode

# A process that takes a lock file, says so, and keeps it until it is killed.
HOLD = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from ksegcli.core.lock import AccountLock\n"
    "AccountLock(Path(sys.argv[1])).acquire(command=sys.argv[2], started=time.time() - 30,"
    " timeout=0)\n"
    "print('held', flush=True)\n"
    "time.sleep(300)\n"
)
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def lock_path(cache: Path, api_url: str, client_id: str = CLIENT_ID) -> Path:
    return account_path(cache, LOCKS_FOLDER, api_url, client_id, ".lock")


class Holder:
    """Another process holding the account's lock."""

    def __init__(self, path: Path, command: str = "apply") -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(path), command],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "held"
        self.pid = self.process.pid

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def holders() -> Iterator[list[Holder]]:
    started: list[Holder] = []
    yield started
    for holder in started:
        holder.kill()


def hold(holders: list[Holder], path: Path, command: str = "apply") -> Holder:
    holder = Holder(path, command)
    holders.append(holder)
    return holder


def account_file(tmp_path: Path, codes: list[str]) -> Path:
    path = tmp_path / "account.toml"
    path.write_text(
        '[defaults]\ntraits = ["plan"]\n\n' + "".join(f"[projects.{c}]\n" for c in codes)
    )
    return path


# -- the lock itself -------------------------------------------------------------------------


def test_a_second_lock_fails_at_once_with_timeout_0_naming_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "a.lock"
    first = AccountLock(path)
    first.acquire(command="customdata create personas", started=time.time() - 12, timeout=0)
    second = AccountLock(path)  # another open file: flock makes it wait, even in one process
    began = time.monotonic()
    with pytest.raises(LockTimeout) as caught:
        second.acquire(command="apply", started=time.time(), timeout=0)
    assert time.monotonic() - began < 1
    assert f"pid {os.getpid()}, `customdata create personas`, started 12 s ago" in str(caught.value)
    assert caught.value.exit_code == ExitCode.NETWORK
    assert "KSEG_LOCK_TIMEOUT" in (caught.value.hint or "")
    assert not second.held
    first.release()
    second.acquire(command="apply", started=time.time(), timeout=0)
    assert second.held


def test_a_waiting_run_is_told_who_holds_it_and_goes_on_when_it_ends(tmp_path: Path) -> None:
    path = tmp_path / "a.lock"
    first = AccountLock(path)
    first.acquire(command="apply", started=time.time(), timeout=0)
    told: list[Any] = []
    timer = threading.Timer(0.4, first.release)
    timer.start()
    began = time.monotonic()
    second = AccountLock(path)
    second.acquire(command="apply", started=time.time(), timeout=30, on_wait=told.append)
    timer.join()
    assert 0.3 < time.monotonic() - began < 10
    assert len(told) == 1 and told[0].pid == os.getpid() and told[0].command == "apply"
    assert read_holder(path) is not None and second.held


def test_a_wait_is_bounded_by_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "a.lock"
    held = AccountLock(path)
    held.acquire(command="apply", started=time.time(), timeout=0)
    began = time.monotonic()
    with pytest.raises(LockTimeout, match=r"after 0\.5 s"):
        AccountLock(path).acquire(command="apply", started=time.time(), timeout=0.5)
    assert 0.4 < time.monotonic() - began < 5


def test_ctrl_c_ends_the_wait(tmp_path: Path) -> None:
    from ksegcli.core import interrupt

    path = tmp_path / "a.lock"
    held = AccountLock(path)
    held.acquire(command="apply", started=time.time(), timeout=0)
    timer = threading.Timer(0.3, interrupt.request_stop)
    timer.start()
    began = time.monotonic()
    try:
        with pytest.raises(interrupt.RequestStopped):
            AccountLock(path).acquire(command="apply", started=time.time(), timeout=60)
    finally:
        timer.join()
        interrupt.reset()
    assert time.monotonic() - began < 5


def test_a_lock_left_by_a_killed_process_does_not_block(
    tmp_path: Path, holders: list[Holder]
) -> None:
    path = tmp_path / "a.lock"
    holder = hold(holders, path)
    with pytest.raises(LockTimeout, match=f"pid {holder.pid}"):
        AccountLock(path).acquire(command="apply", started=time.time(), timeout=0)
    holder.kill()
    assert read_holder(path) is not None  # its record is still there: it means nothing
    lock = AccountLock(path)
    lock.acquire(command="apply", started=time.time(), timeout=0)
    assert lock.held


@pytest.mark.parametrize(
    "text", ["", "{", "[]", '{"pid": "1", "command": "x", "started": 1}', '{"pid": 1}']
)
def test_a_damaged_lock_record_names_no_holder(tmp_path: Path, text: str) -> None:
    path = tmp_path / "a.lock"
    path.write_text(text)
    assert read_holder(path) is None


def test_a_holder_record_is_made_safe_for_the_terminal(tmp_path: Path) -> None:
    path = tmp_path / "a.lock"
    path.write_text(json.dumps({"pid": 7, "command": "apply\x1b]0;owned\x07", "started": 1.0}))
    holder = read_holder(path)
    assert holder is not None and "\x1b" not in holder.command


@pytest.mark.parametrize(
    ("raw", "expected"), [("", 600.0), ("0", 0.0), ("2.5", 2.5), (" 30 ", 30.0)]
)
def test_the_lock_timeout_setting(raw: str, expected: float) -> None:
    assert config.lock_timeout({"KSEG_LOCK_TIMEOUT": raw} if raw else {}) == expected


@pytest.mark.parametrize("raw", ["-1", "abc", "nan", "inf", "1e9"])
def test_a_bad_lock_timeout_is_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError, match="KSEG_LOCK_TIMEOUT"):
        config.lock_timeout({"KSEG_LOCK_TIMEOUT": raw})


# -- where it is taken ---------------------------------------------------------------------


@respx.mock(base_url="https://api.test")
def test_only_authenticated_writes_call_the_write_hook(respx_mock: respx.MockRouter) -> None:
    respx_mock.route().mock(return_value=httpx.Response(200, json={}))
    calls: list[int] = []
    client = HttpClient(
        "https://api.test",
        label="Automation API",
        auth_header=lambda: {"Authorization": "Bearer t"},
        before_write=lambda: calls.append(1),
    )
    client.request("GET", "/sites")
    client.request("POST", "/oauth/token", authenticated=False)
    assert calls == []
    for method in WRITES:
        client.request(method, "/custom-datas")
    assert len(calls) == 4


@respx.mock(base_url="https://api.test", assert_all_called=False)
def test_a_write_whose_lock_times_out_is_not_sent(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    route = respx_mock.route().mock(return_value=httpx.Response(200, json={}))
    env = {
        "KSEG_API_URL": "https://api.test",
        "KSEG_CACHE_DIR": str(tmp_path / "cache"),
        "KSEG_CONFIG_DIR": str(tmp_path / "config"),
        "KAMELEOON_CLIENT_ID": CLIENT_ID,
        "KSEG_LOCK_TIMEOUT": "0",
    }
    other = AccountLock(lock_path(tmp_path / "cache", "https://api.test"))
    other.acquire(command="apply", started=time.time(), timeout=0)
    session = Session(env=env, command="customdata create personas", lock_writes=True)
    client = session.http(config.API, before_write=session.lock_account)
    for _ in range(2):  # a second write after the timeout is refused too
        with pytest.raises(LockTimeout):
            client.request("POST", "/custom-datas", json_body={})
    assert not route.called
    other.release()
    session.close()


def test_a_session_holds_the_lock_until_it_closes(tmp_path: Path) -> None:
    env = {
        "KSEG_CACHE_DIR": str(tmp_path / "cache"),
        "KSEG_CONFIG_DIR": str(tmp_path / "config"),
        "KAMELEOON_CLIENT_ID": CLIENT_ID,
    }
    assert not Session(env=env).lock_writes  # only the CLI's sessions lock by default
    session = Session(env=env, command="apply", lock_writes=True)
    session.lock_account()
    session.lock_account()  # idempotent
    path = lock_path(tmp_path / "cache", config.API.default)
    holder = read_holder(path)
    assert holder is not None and holder.pid == os.getpid() and holder.command == "apply"
    with pytest.raises(LockTimeout):
        AccountLock(path).acquire(command="apply", started=time.time(), timeout=0)
    session.close()
    AccountLock(path).acquire(command="apply", started=time.time(), timeout=0)


# -- the real CLI against the fake server ----------------------------------------------------


def test_two_concurrent_applies_take_turns_and_both_succeed(
    fake: Any, proc: ProcRunner, tmp_path: Path
) -> None:
    """Same config and cache folder: the second waits, names the first, then finds it done."""
    codes = [fake.add_site(CLIENT_ID, name=f"P{n}")["code"] for n in range(3)]
    path = account_file(tmp_path, codes)
    fake.configure(latency=0.1)  # the first run lasts a few seconds
    env = {**proc.env, **fake_env(fake)}
    lock = lock_path(tmp_path / "cache", fake.url)
    command = [sys.executable, "-m", "ksegcli", "apply", str(path), "--json"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while (holder := read_holder(lock)) is None or holder.pid != first.pid:
        assert time.monotonic() < deadline and first.poll() is None, "the first run took no lock"
        time.sleep(0.02)
    second = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err_first = first.communicate(timeout=60)
    out_second, err_second = second.communicate(timeout=60)
    assert first.returncode == 0, err_first.decode()
    assert second.returncode == 0, err_second.decode()
    assert (
        f"Waiting for another ksegcli run on this account (pid {first.pid}, `apply`, started"
        in err_second.decode()
    )
    assert "Waiting" not in err_first.decode()
    names = Counter((c["siteId"], c["name"]) for c in fake.custom_datas())
    assert len(names) == 9 and set(names.values()) == {1}
    # The second planned after the first had finished: nothing left to create or delete.
    assert {item["state"] for item in json.loads(out_second)["items"]} == {"unchanged"}
    posts = [path for method, path in writes(fake) if method == "POST"]
    assert sum(1 for path in posts if path.startswith("/custom-datas")) == 9
    assert not any(method == "DELETE" for method, _ in writes(fake))


def test_lock_timeout_0_fails_at_once_and_changes_nothing(
    fake: Any, proc: ProcRunner, tmp_path: Path, holders: list[Holder]
) -> None:
    codes = [fake.add_site(CLIENT_ID, name="P")["code"]]
    path = account_file(tmp_path, codes)
    holder = hold(holders, lock_path(tmp_path / "cache", fake.url), "integration install")
    began = time.monotonic()
    result = proc("apply", str(path), env={**fake_env(fake), "KSEG_LOCK_TIMEOUT": "0"})
    assert time.monotonic() - began < 15
    assert result.exit_code == ExitCode.NETWORK, result.stderr
    assert re.search(
        rf"Another ksegcli run on this account \(pid {holder.pid}, `integration install`, "
        r"started 3\d s ago\) still holds its lock and KSEG_LOCK_TIMEOUT=0; this run changed "
        r"nothing\.",
        " ".join(result.stderr.split()),
    ), result.stderr
    assert "Traceback" not in result.stderr and CLIENT_SECRET not in result.output
    assert writes(fake) == [] and fake.custom_datas() == []
    as_json = proc("apply", str(path), "--json", env={**fake_env(fake), "KSEG_LOCK_TIMEOUT": "0"})
    assert as_json.exit_code == ExitCode.NETWORK
    assert as_json.json()["error"]["code"] == "timeout"


def test_a_second_run_waits_then_gives_up_after_the_timeout(
    fake: Any, proc: ProcRunner, tmp_path: Path, holders: list[Holder]
) -> None:
    site = fake.add_site(CLIENT_ID, name="P")
    holder = hold(holders, lock_path(tmp_path / "cache", fake.url))
    began = time.monotonic()
    result = proc(
        "integration",
        "install",
        "--project",
        site["code"],
        env={**fake_env(fake), "KSEG_LOCK_TIMEOUT": "1"},
    )
    assert 1 <= time.monotonic() - began < 20
    assert result.exit_code == ExitCode.NETWORK, result.stderr
    assert f"Waiting for another ksegcli run on this account (pid {holder.pid}, `apply`" in (
        result.stderr
    )
    assert "after 1 s" in result.stderr
    assert writes(fake) == []


def test_a_lock_left_by_a_killed_run_does_not_block_apply(
    fake: Any, proc: ProcRunner, tmp_path: Path, holders: list[Holder]
) -> None:
    path = account_file(tmp_path, [fake.add_site(CLIENT_ID, name="P")["code"]])
    hold(holders, lock_path(tmp_path / "cache", fake.url)).kill()
    result = proc("apply", str(path), env={**fake_env(fake), "KSEG_LOCK_TIMEOUT": "0"})
    assert result.exit_code == 0, result.stderr
    assert "Waiting" not in result.stderr
    assert len(fake.custom_datas()) == 3


def _segment_setup(fake: Any) -> list[str]:
    fake.add_segment_workspace("seg-token-lock")
    source = fake.add_segment_source("seg-token-lock", "Web")
    return ["--source", source["id"]]


@pytest.mark.parametrize(
    "command",
    [
        ["customdata", "create", "personas", "--project", "{code}"],
        ["customdata", "delete", "SegmentIO personas", "--project", "{code}", "--yes"],
        ["integration", "install", "--project", "{code}"],
        ["integration", "identifier", "install", "--project", "{code}"],
        ["reporting", "enable", "--experiment", "{experiment}"],
        ["segment", "destination", "create", "--sitecode", "{code}", "{source}"],
    ],
    ids=lambda c: " ".join(c[:3]),
)
def test_every_command_that_writes_takes_the_lock(
    fake: Any, proc: ProcRunner, tmp_path: Path, holders: list[Holder], command: list[str]
) -> None:
    site = fake.add_site(CLIENT_ID, name="P")
    if command[1] == "delete":
        fake.add_custom_data(site["id"], "SegmentIO personas")
    experiment = fake.add_experiment(site["id"], "E")
    source = _segment_setup(fake) if command[0] == "segment" else []
    args: list[str] = []
    for arg in command:
        if arg == "{source}":
            args += source
        else:
            args.append(arg.format(code=site["code"], experiment=experiment["id"]))
    holder = hold(holders, lock_path(tmp_path / "cache", fake.url))
    env = {**fake_env(fake), "KSEG_LOCK_TIMEOUT": "0", "SEGMENT_API_TOKEN": "seg-token-lock"}
    result = proc(*args, env=env)
    assert result.exit_code == ExitCode.NETWORK, result.stdout + result.stderr
    assert f"pid {holder.pid}" in result.stderr
    assert writes(fake) == []
    # The same command runs once the holder is gone.
    holder.kill()
    again = proc(*args, env=env)
    assert again.exit_code in (0, 8), again.stdout + again.stderr
    assert writes(fake) != []


@pytest.mark.parametrize(
    "command",
    [
        ["projects", "list"],
        ["customdata", "list", "--project", "{code}"],
        ["integration", "status", "--project", "{code}"],
        ["apply", "{file}", "--dry-run"],
        ["customdata", "create", "personas", "--project", "{code}", "--dry-run"],
        ["integration", "install", "--project", "{code}", "--dry-run"],
        ["doctor", "--project", "{code}"],
    ],
    ids=lambda c: " ".join(c[:3]),
)
def test_read_only_commands_and_dry_runs_never_wait(
    fake: Any, proc: ProcRunner, tmp_path: Path, holders: list[Holder], command: list[str]
) -> None:
    site = fake.add_site(CLIENT_ID, name="P")
    path = account_file(tmp_path, [site["code"]])
    hold(holders, lock_path(tmp_path / "cache", fake.url))
    args = [a.format(code=site["code"], file=path) for a in command]
    result = proc(*args, env={**fake_env(fake), "KSEG_LOCK_TIMEOUT": "0"})
    assert result.exit_code not in (ExitCode.NETWORK, ExitCode.ERROR), result.stderr
    assert "Waiting" not in result.stderr and "lock" not in result.stderr
    assert writes(fake) == []
