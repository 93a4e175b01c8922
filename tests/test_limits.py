"""One request budget per account shared by every ksegcli process of the machine, and the
OAuth token cached for every credential source (core/http/limits.py, core/auth/tokens.py)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from conftest import CLIENT_ID, CLIENT_SECRET, ProcRunner, fake_env

from ksegcli.core.auth.tokens import TokenCache, cache_key
from ksegcli.core.http.client import HttpClient
from ksegcli.core.http.limits import BudgetExhausted, SharedRateLimiter, account_key
from ksegcli.core.kameleoon.client import TokenProvider
from ksegcli.errors import ExitCode

API = "https://api.test"


def shared(path: Path, limit: int = 5, window: float = 0.5, **kwargs: Any) -> SharedRateLimiter:
    return SharedRateLimiter(path, limit, window, **kwargs)


def use(limiter: SharedRateLimiter, n: int = 1) -> None:
    for _ in range(n):
        limiter.release(limiter.acquire())


# -- the shared limiter -------------------------------------------------------------------


def test_two_limiters_on_one_file_share_the_window(tmp_path: Path) -> None:
    state = tmp_path / "acct.json"
    first, second = shared(state), shared(state)
    use(first, 5)
    answered = time.time()
    second.release(second.acquire())  # the sixth request of the window waits for the first
    assert time.time() - answered >= 0.45
    assert first.total == 5 and second.total == 1


def test_a_429_pauses_every_limiter_of_the_account(tmp_path: Path) -> None:
    state = tmp_path / "acct.json"
    first, second = shared(state), shared(state)
    first.pause(0.6)
    started = time.monotonic()
    use(second)
    assert time.monotonic() - started >= 0.5


def test_a_pause_is_capped_at_120_seconds(tmp_path: Path) -> None:
    state = tmp_path / "acct.json"
    shared(state).pause(10**9)
    paused = json.loads(state.read_text())["paused_until"]
    assert paused <= time.time() + 121


def test_the_hourly_budget_stops_cleanly_and_says_when_to_resume(tmp_path: Path) -> None:
    limiter = shared(tmp_path / "acct.json", hourly_limit=3, hourly_window=3600)
    use(limiter, 3)
    assert limiter.hourly_remaining() == 0
    with pytest.raises(BudgetExhausted) as err:
        limiter.acquire()
    assert err.value.exit_code == ExitCode.API
    assert "hourly request budget is used up" in err.value.message
    assert "This run sent 3 requests" in err.value.message
    assert err.value.hint is not None and "Rerun after" in err.value.hint


def test_an_in_flight_slot_of_a_dead_process_is_freed(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)
    state = tmp_path / "acct.json"
    state.write_text(
        json.dumps({"slots": [[time.time(), None, pid]], "hour": [], "paused_until": 0})
    )
    started = time.monotonic()
    use(shared(state, limit=1, window=5))
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", '{"slots": [["x"]], "hour": "no"}'])
def test_a_damaged_state_file_counts_as_empty(tmp_path: Path, text: str) -> None:
    state = tmp_path / "acct.json"
    state.write_text(text)
    use(shared(state, limit=1))
    assert len(json.loads(state.read_text())["slots"]) == 1


def test_the_account_key_depends_on_api_and_client_id_only() -> None:
    assert account_key("https://a", "id") == account_key("https://a/", "id")
    assert account_key("https://a", "id") != account_key("https://b", "id")
    assert account_key("https://a", "id") != account_key("https://a", "other")


# -- the token cache ----------------------------------------------------------------------


def _token_json(client_id: str, token: str) -> str:
    return json.dumps({"client_id": client_id, "token": token, "expires_at": time.time() + 3600})


def test_a_token_cached_in_a_file_is_0600_and_holds_no_secret(tmp_path: Path) -> None:
    env = {"KSEG_CACHE_DIR": str(tmp_path / "cache")}
    cache = TokenCache("cid", "the-secret-value", API, env=env)
    cache.save(_token_json("cid", "tok-1"))
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.path.parent.stat().st_mode) == 0o700
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert "the-secret-value" not in path.read_text()
    assert json.loads(cache.load() or "{}")["token"] == "tok-1"


def test_a_changed_secret_or_api_never_reuses_a_token(tmp_path: Path) -> None:
    env = {"KSEG_CACHE_DIR": str(tmp_path / "cache")}
    TokenCache("cid", "old-secret", API, env=env).save(_token_json("cid", "tok-1"))
    assert TokenCache("cid", "new-secret", API, env=env).load() is None
    assert TokenCache("cid", "old-secret", "https://other.test", env=env).load() is None
    assert cache_key("cid", "a", API) != cache_key("cid", "b", API)


@respx.mock(base_url=API)
def test_a_cached_token_of_another_client_id_is_not_used(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post("/oauth/token").mock(
        return_value=httpx.Response(200, json={"access_token": "mine", "expires_in": 3600})
    )
    theirs = json.dumps(
        {
            "client_id": "someone-else",
            "token": "theirs",
            "expires_at": time.time() + 3600,
            "key": cache_key("cid", "secret", API),
        }
    )
    provider = TokenProvider(
        HttpClient(API, label="Automation API"), "cid", "secret", load=lambda: theirs
    )
    assert provider.get() == "mine"
    assert route.call_count == 1


# -- the real CLI against the fake server ---------------------------------------------------


def _apply_file(tmp_path: Path, codes: list[str]) -> Path:
    path = tmp_path / "account.toml"
    lines = ["[defaults]", 'traits = ["plan", "tier"]', ""]
    path.write_text("\n".join(lines + [f"[projects.{code}]" for code in codes]) + "\n")
    return path


def test_dry_run_then_apply_meets_no_429(fake: Any, proc: ProcRunner, tmp_path: Path) -> None:
    """The CI habit: two processes back to back against a tight server limit."""
    fake.configure(rate_limit=10, rate_window=1.0)
    codes = [fake.add_site(CLIENT_ID, name=f"P{n}")["code"] for n in range(3)]
    path = _apply_file(tmp_path, codes)
    env = {**fake_env(fake), "KSEG_RATE_LIMIT": "10/1"}
    plan = proc("apply", str(path), "--dry-run", "--json", env=env)
    assert plan.exit_code == 0, plan.stderr
    done = proc("apply", str(path), "--json", env=env)
    assert done.exit_code == 0, done.stderr
    assert [r.path for r in fake.requests if r.status == 429] == []
    assert len(fake.custom_datas()) == 12


def test_a_ci_job_of_several_commands_fetches_one_token(
    fake: Any, proc: ProcRunner, tmp_path: Path
) -> None:
    fake.add_site(CLIENT_ID)
    env = fake_env(fake)
    for _ in range(4):
        result = proc("projects", "list", "--json", env=env)
        assert result.exit_code == 0, result.stderr
    assert sum(1 for r in fake.requests if r.path == "/oauth/token") == 1
    files = list((tmp_path / "cache" / "tokens").glob("*.json"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert CLIENT_SECRET not in files[0].read_text()
    assert proc.keyring_entries() == {}  # env credentials: the keyring is left alone
    logout = proc("auth", "logout", "--json", env={"KAMELEOON_CLIENT_ID": CLIENT_ID})
    assert logout.exit_code == 0, logout.stderr
    assert list((tmp_path / "cache" / "tokens").glob("*.json")) == []


def test_the_hourly_budget_is_shared_and_a_run_stops_cleanly(fake: Any, proc: ProcRunner) -> None:
    fake.add_site(CLIENT_ID)
    env = {**fake_env(fake), "KSEG_HOURLY_LIMIT": "3"}
    assert proc("projects", "list", env=env).exit_code == 0  # token + one page
    sent = len(fake.requests)
    second = proc("projects", "list", "--json", env=env)  # one page; the next would be over
    assert second.exit_code == 0, second.stderr
    third = proc("projects", "list", "--json", env=env)
    assert third.exit_code == ExitCode.API
    error = third.json()["error"]
    assert "hourly request budget is used up" in error["message"]
    assert "Rerun after" in error["hint"]
    assert len(fake.requests) == sent + 1  # the stopped run sent nothing
    assert "Traceback" not in third.stderr


def test_a_plan_over_the_remaining_budget_says_so(
    fake: Any, proc: ProcRunner, tmp_path: Path
) -> None:
    codes = [fake.add_site(CLIENT_ID, name=f"P{n}")["code"] for n in range(2)]
    path = _apply_file(tmp_path, codes)
    env = {**fake_env(fake), "KSEG_HOURLY_LIMIT": "12"}
    plan = proc("apply", str(path), "--dry-run", "--json", env=env)
    assert plan.exit_code == 0, plan.stderr
    warnings = plan.json()["warnings"]
    assert any("remain of the account's hourly budget" in w for w in warnings), warnings


@pytest.mark.parametrize("value", ["abc", "0", "inf", "1/nan", "-5", "1000/0"])
def test_a_bad_hourly_limit_is_a_config_error(proc: ProcRunner, value: str) -> None:
    env = {
        "KSEG_HOURLY_LIMIT": value,
        "KAMELEOON_CLIENT_ID": "x",
        "KAMELEOON_CLIENT_SECRET": "y",
        "KSEG_API_URL": "http://127.0.0.1:9",
    }
    result = proc("projects", "list", env=env)
    assert result.exit_code == ExitCode.CONFIG, result.stderr
    assert "KSEG_HOURLY_LIMIT" in result.stderr


def test_an_unusable_cache_folder_falls_back_to_a_per_process_count(
    fake: Any, proc: ProcRunner, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    fake.add_site(CLIENT_ID)
    env = {**fake_env(fake), "KSEG_CACHE_DIR": str(blocker / "cache")}
    result = proc("projects", "list", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    assert os.path.isfile(blocker)


def test_dry_run_then_apply_of_ten_projects_meets_no_429_at_50_per_10_s(
    proc: ProcRunner, tmp_path: Path
) -> None:
    """The CI habit at Kameleoon's own limit (50 per 10 s, time scaled): two processes back
    to back draw on one budget, so the server never answers 429 (counted on its side)."""
    from ksegcli.testing import FakeConfig, FakeServer

    scale = 0.3  # the server's 10 s window lasts 3 s
    server = FakeServer(FakeConfig(rate_limit=50, rate_window=10.0, time_scale=scale)).start()
    try:
        server.add_account(CLIENT_ID, CLIENT_SECRET)
        codes = [server.add_site(CLIENT_ID, name=f"P{n}")["code"] for n in range(10)]
        path = _apply_file(tmp_path, codes)
        env = {**fake_env(server), "KSEG_RATE_LIMIT": f"50/{10 * scale:g}"}
        plan = proc("apply", str(path), "--dry-run", "--json", env=env)
        assert plan.exit_code == 0, plan.stderr
        done = proc("apply", str(path), "--json", env=env, timeout=120)
        assert done.exit_code == 0, done.stderr
        sent = server.requests
        assert len(sent) > 60  # more than one window's budget: the limit was really in play
        assert [r.path for r in sent if r.status == 429] == []
        assert len(server.custom_datas()) == 40
    finally:
        server.stop()
