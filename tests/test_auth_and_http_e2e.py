"""The real CLI, as a subprocess, against the fake server on 127.0.0.1."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from conftest import CLIENT_ID, CLIENT_SECRET, ProcRunner, fake_env

from ksegcli.core.kameleoon.apikey import derive_api_key
from ksegcli.errors import ExitCode


def token_calls(server: Any) -> int:
    return sum(1 for r in server.requests if r.path == "/oauth/token")


def assert_clean(*texts: str, secrets: tuple[str, ...] = (CLIENT_SECRET,)) -> None:
    for text in texts:
        assert "Traceback" not in text
        for secret in secrets:
            assert secret not in text


def test_login_then_commands_use_keyring_and_cached_token(
    fake: Any, proc: ProcRunner, tmp_path: Path
) -> None:
    fake.add_site(CLIENT_ID, name="Shop", code="SHOPCODE01")
    env = fake_env(fake, credentials=False)
    login = proc.login(CLIENT_ID, CLIENT_SECRET + "\n", "-v", env=env)
    assert login.exit_code == 0, login.stderr
    assert_clean(login.stdout, login.stderr)
    entries = proc.keyring_entries()
    assert entries["ksegcli/default:client_secret"] == CLIENT_SECRET
    token = json.loads(entries["ksegcli/default:access_token"])["token"]
    assert token not in login.stderr  # -v must not show the bearer token
    profile = tmp_path / "config" / "default.toml"
    assert stat.S_IMODE(profile.stat().st_mode) == 0o600
    assert CLIENT_SECRET not in profile.read_text()
    assert f'client_id = "{CLIENT_ID}"' in profile.read_text()

    before = token_calls(fake)
    listed = proc("projects", "list", "--json", "-v", env=env)
    assert listed.exit_code == 0, listed.stderr
    assert [p["sitecode"] for p in listed.json()["items"]] == ["SHOPCODE01"]
    assert token_calls(fake) == before  # the token from login was reused
    assert_clean(listed.stdout, listed.stderr, secrets=(CLIENT_SECRET, token))


def test_projects_list_reads_every_page(fake: Any, proc: ProcRunner) -> None:
    for i in range(450):
        fake.add_site(CLIENT_ID, name=f"site {i}")
    result = proc("projects", "list", "--json", env=fake_env(fake))
    assert result.exit_code == 0, result.stderr
    assert len(result.json()["items"]) == 450
    pages = [r for r in fake.requests if r.path == "/sites"]
    assert [r.query["page"] for r in pages] == ["1", "2", "3"]
    assert all(r.query["perPage"] == "200" for r in pages)


def test_expired_token_is_replaced_once(fake: Any, proc: ProcRunner) -> None:
    fake.add_site(CLIENT_ID)
    env = fake_env(fake, credentials=False)
    assert proc.login(CLIENT_ID, CLIENT_SECRET, env=env).exit_code == 0
    fake.expire_tokens()
    result = proc("projects", "list", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    statuses = [r.status for r in fake.requests if r.path == "/sites"]
    assert statuses == [401, 200]


def test_server_rate_limit_is_honoured(fake: Any, proc: ProcRunner) -> None:
    # The server allows 3 requests per 0.5 s; the client, not told, gets 429s and waits.
    fake.configure(rate_limit=3, rate_window=0.5)
    for i in range(700):
        fake.add_site(CLIENT_ID, name=f"s{i}")
    result = proc("projects", "list", "--json", env=fake_env(fake))
    assert result.exit_code == 0, result.stderr
    assert len(result.json()["items"]) == 700
    assert any(r.status == 429 for r in fake.requests)


def test_client_limiter_avoids_429(fake: Any, proc: ProcRunner) -> None:
    fake.configure(rate_limit=3, rate_window=0.5)
    for i in range(700):
        fake.add_site(CLIENT_ID, name=f"s{i}")
    result = proc("projects", "list", "--json", env={**fake_env(fake), "KSEG_RATE_LIMIT": "3/0.5"})
    assert result.exit_code == 0, result.stderr
    assert not [r for r in fake.requests if r.status == 429]


def test_5xx_and_dropped_reads_are_retried(fake: Any, proc: ProcRunner) -> None:
    fake.add_site(CLIENT_ID, code="RETRYCODE1")
    fake.inject("GET", r"^/sites$", "503", count=2)
    fake.inject("GET", r"^/sites$", "drop_before", count=1)
    result = proc("projects", "list", "--json", env=fake_env(fake))
    assert result.exit_code == 0, result.stderr
    assert result.json()["items"][0]["sitecode"] == "RETRYCODE1"


def test_api_error_shows_server_message(fake: Any, proc: ProcRunner) -> None:
    fake.inject("GET", r"^/sites$", "500", count=10)
    result = proc("projects", "list", env=fake_env(fake))
    assert result.exit_code == ExitCode.API
    assert "HTTP 500" in result.stderr
    assert_clean(result.stdout, result.stderr)


def test_bad_credentials(fake: Any, proc: ProcRunner) -> None:
    env = {**fake_env(fake), "KAMELEOON_CLIENT_SECRET": "wrong-secret-value"}
    result = proc("projects", "list", "--json", env=env)
    assert result.exit_code == ExitCode.AUTH
    error = result.json()["error"]
    assert error["code"] == "auth_failed"
    assert "wrong-secret-value" not in result.stdout + result.stderr


def test_getapikey_from_fake_service(fake: Any, proc: ProcRunner) -> None:
    result = proc("auth", "getapikey", "--json", "--show", "-v", env=fake_env(fake))
    assert result.exit_code == 0, result.stderr
    assert result.json()["api_key"] == derive_api_key(CLIENT_ID, CLIENT_SECRET)
    assert result.json()["origin"] == "server"
    assert_clean(result.stderr)  # -v logged the request without the secret
    assert "getapikey" in result.stderr


def test_no_server_is_a_network_error(fake: Any, proc: ProcRunner) -> None:
    env = fake_env(fake)
    fake.stop()
    result = proc("projects", "list", env=env)
    assert result.exit_code == ExitCode.NETWORK
    assert "Cannot reach" in result.stderr
    assert_clean(result.stdout, result.stderr)


def test_status_check_and_logout(fake: Any, proc: ProcRunner) -> None:
    env = fake_env(fake, credentials=False)
    proc.login(CLIENT_ID, CLIENT_SECRET, env=env)
    status = proc("auth", "status", "--check", "--json", env=env)
    assert status.exit_code == 0, status.stderr
    assert status.json()["check"]["ok"] is True
    assert proc("auth", "logout", env=env).exit_code == 0
    assert proc.keyring_entries() == {}
    after = proc("auth", "status", "--check", "--json", env=env)
    assert after.exit_code == ExitCode.AUTH
