"""auth / projects / sitecode commands in-process, with respx standing in for Kameleoon."""

from __future__ import annotations

import json

import httpx
import keyring
import pytest
import respx
from conftest import CliRunner

from ksegcli.core.kameleoon.apikey import derive_api_key
from ksegcli.errors import ExitCode
from ksegcli.testing.keyrings import BrokenKeyring, MemoryKeyring

API = "https://api.kameleoon.com"
CUSTOMERS = "https://customers.kameleoon.com"
SECRET = "client-secret-XYZ-123"
SECRET_ENV = {"KAMELEOON_CLIENT_ID": "cid-1", "KAMELEOON_CLIENT_SECRET": SECRET}


def ok_token(router: respx.MockRouter, token: str = "access-token-abc") -> respx.Route:
    return router.post(f"{API}/oauth/token").mock(
        return_value=httpx.Response(200, json={"access_token": token, "expires_in": 7200})
    )


def assert_no_secret(*texts: str, secrets: tuple[str, ...] = (SECRET,)) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text


@respx.mock
def test_login_proves_then_stores(cli: CliRunner, memory_keyring: MemoryKeyring) -> None:
    route = ok_token(respx.mock)
    result = cli(
        "auth", "login", "--client-id", "cid-1", "--client-secret-stdin", stdin=SECRET + "\n"
    )
    assert result.exit_code == 0, result.stderr
    assert route.called
    assert memory_keyring.entries[("ksegcli", "default:client_secret")] == SECRET
    cached = json.loads(memory_keyring.entries[("ksegcli", "default:access_token")])
    assert cached["client_id"] == "cid-1"
    assert "Logged in as cid-1" in result.stderr
    assert_no_secret(result.stdout, result.stderr, secrets=(SECRET, "access-token-abc"))


@respx.mock
def test_login_refused_stores_nothing(
    cli: CliRunner, memory_keyring: MemoryKeyring, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    respx.post(f"{API}/oauth/token").mock(
        return_value=httpx.Response(
            401, json={"error": "invalid_client", "error_description": "Bad client credentials"}
        )
    )
    result = cli("auth", "login", "--client-id", "cid-1", "--client-secret-stdin", stdin=SECRET)
    assert result.exit_code == ExitCode.AUTH
    assert "Bad client credentials" in result.stderr
    assert memory_keyring.entries == {}
    assert not (tmp_path / "config" / "default.toml").exists()
    assert_no_secret(result.output)


@respx.mock
def test_login_without_keyring_says_use_env_and_writes_nothing(cli: CliRunner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    keyring.set_keyring(BrokenKeyring())
    ok_token(respx.mock)
    result = cli("auth", "login", "--client-id", "cid-1", "--client-secret-stdin", stdin=SECRET)
    assert result.exit_code == ExitCode.CONFIG
    assert "KAMELEOON_CLIENT_SECRET" in result.stderr
    assert not (tmp_path / "config" / "default.toml").exists()
    assert "Traceback" not in result.output
    assert_no_secret(result.output)


def test_login_without_secret_in_ci_is_a_clear_error(cli: CliRunner) -> None:
    result = cli("auth", "login", "--client-id", "cid-1", env={"CI": "true"})
    assert result.exit_code == ExitCode.AUTH
    assert "--client-secret-stdin" in result.stderr and "KAMELEOON_CLIENT_SECRET" in result.stderr


@respx.mock
def test_getapikey_from_server_checked_stored_and_masked(
    cli: CliRunner, memory_keyring: MemoryKeyring
) -> None:
    key = derive_api_key("cid-1", SECRET)
    route = respx.get(f"{CUSTOMERS}/kameleoon/segmentio/getapikey").mock(
        return_value=httpx.Response(200, text=key)
    )
    result = cli("auth", "getapikey", "-v", env=SECRET_ENV)
    assert result.exit_code == 0, result.stderr
    assert route.calls.last.request.url.params["id"] == "cid-1"
    assert memory_keyring.entries[("ksegcli", "default:api_key")] == key
    assert key not in result.output
    assert result.stdout.strip() == f"{key[:4]}…{key[-4:]}"
    assert "getapikey" in result.stderr  # -v shows the request...
    assert_no_secret(result.output)  # ...without the secret in its query string
    shown = cli("auth", "getapikey", "--show", "--json", env=SECRET_ENV)
    assert shown.json()["api_key"] == key


@respx.mock
def test_getapikey_rejects_key_of_another_client(cli: CliRunner) -> None:
    respx.get(f"{CUSTOMERS}/kameleoon/segmentio/getapikey").mock(
        return_value=httpx.Response(200, text=derive_api_key("someone-else", SECRET))
    )
    result = cli("auth", "getapikey", env=SECRET_ENV)
    assert result.exit_code == ExitCode.API
    assert "does not belong" in result.stderr


@respx.mock(assert_all_mocked=True)
def test_getapikey_offline_makes_no_request(cli: CliRunner) -> None:
    result = cli("auth", "getapikey", "--offline", "--show", "--no-store", env=SECRET_ENV)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == derive_api_key("cid-1", SECRET)
    assert not respx.calls


def test_status_shows_sources_masked(cli: CliRunner, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("ksegcli", "default:api_key", "apikey-value-0123456789")
    result = cli(
        "auth",
        "status",
        "--json",
        env={"KAMELEOON_CLIENT_SECRET": SECRET, "KAMELEOON_CLIENT_ID": "cid-1"},
    )
    assert result.exit_code == 0, result.stderr
    rows = {row["name"]: row for row in result.json()["credentials"]}
    assert rows["client_secret"]["source"] == "env"
    assert rows["client_id"]["preview"] == "cid-1"
    assert rows["api_key"]["source"] == "keyring"
    assert rows["segment_token"]["present"] is False
    assert_no_secret(result.output, secrets=(SECRET, "apikey-value-0123456789"))


@respx.mock
def test_status_check_reports_refusal(cli: CliRunner) -> None:
    respx.post(f"{API}/oauth/token").mock(return_value=httpx.Response(401, json={"message": "bad"}))
    result = cli("auth", "status", "--check", env=SECRET_ENV)
    assert result.exit_code == ExitCode.AUTH
    assert "bad" in result.stderr


def test_logout_removes_secrets(cli: CliRunner, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("ksegcli", "default:client_secret", SECRET)
    memory_keyring.set_password("ksegcli", "other:client_secret", "keep-me")
    result = cli("auth", "logout", "--json")
    assert result.exit_code == 0
    assert result.json()["removed"] == ["client_secret"]
    assert memory_keyring.entries == {("ksegcli", "other:client_secret"): "keep-me"}


@respx.mock
def test_token_cached_across_runs(cli: CliRunner, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("ksegcli", "default:client_secret", SECRET)
    route = ok_token(respx.mock, "tok-cached")
    first = cli("auth", "token", env={"KAMELEOON_CLIENT_ID": "cid-1"})
    second = cli("auth", "token", env={"KAMELEOON_CLIENT_ID": "cid-1"})
    assert first.stdout.strip() == second.stdout.strip() == "tok-cached"
    assert route.call_count == 1


@respx.mock
def test_projects_list_json_and_global_flags_anywhere(cli: CliRunner) -> None:
    ok_token(respx.mock)
    respx.get(f"{API}/sites").mock(
        return_value=httpx.Response(
            200,
            json=[
                {
                    "id": 7,
                    "name": "Shop",
                    "url": "https://shop",
                    "code": "ABCDE12345",
                    "type": "SITE",
                }
            ],
        )
    )
    for args in (("--json", "projects", "list"), ("projects", "list", "--json")):
        result = cli(*args, env=SECRET_ENV)
        assert result.exit_code == 0, result.stderr
        assert result.json()["items"] == [
            {
                "id": 7,
                "name": "Shop",
                "url": "https://shop",
                "sitecode": "ABCDE12345",
                "type": "SITE",
            }
        ]
    human = cli("projects", "list", env=SECRET_ENV)
    assert "ABCDE12345" in human.stdout and "Shop" in human.stdout
    assert human.stderr == ""


@respx.mock
def test_network_failure_is_clean(cli: CliRunner) -> None:
    respx.post(f"{API}/oauth/token").mock(
        side_effect=httpx.ConnectError("Name or service not known")
    )
    result = cli("projects", "list", "--json", env=SECRET_ENV)
    assert result.exit_code == ExitCode.NETWORK
    assert result.json()["error"]["code"] == "network"
    assert "Traceback" not in result.output


def test_sitecode_invalid_json_error(cli: CliRunner) -> None:
    result = cli("sitecode", "set", "short", "--json")
    assert result.exit_code == ExitCode.USAGE
    doc = result.json()
    assert doc["error"]["code"] == "bad_input" and "10" in doc["error"]["message"]
    assert result.stderr == ""


@pytest.mark.parametrize("args", [("--profile", "../etc", "sitecode", "show"), ("sitecode", "set")])
def test_usage_errors_exit_2(cli: CliRunner, args: tuple[str, ...]) -> None:
    result = cli(*args)
    assert result.exit_code == ExitCode.USAGE
    assert "Traceback" not in result.output
