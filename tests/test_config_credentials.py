"""Config files, profiles, base URLs, credential precedence and the keyring guard."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import keyring
import pytest
from conftest import CliRunner

from ksegcli.core import config
from ksegcli.core.auth import credentials
from ksegcli.core.auth.credentials import Credentials
from ksegcli.core.auth.keyring_store import KeyringStore
from ksegcli.core.kameleoon.apikey import check_api_key, decode_api_key, derive_api_key
from ksegcli.core.redact import mask, redact, register_secret
from ksegcli.errors import (
    ApiError,
    BadInputError,
    ConfigError,
    ExitCode,
    KeyringUnavailableError,
    NotLoggedInError,
)
from ksegcli.testing.keyrings import BrokenKeyring, HangingKeyring, MemoryKeyring


def test_profile_written_atomically_with_private_modes(tmp_path: Path) -> None:
    profile = config.load_profile("work")
    profile.set("sitecode", "ABCDE12345")
    profile.save()
    path = tmp_path / "config" / "work.toml"
    assert path.read_text() == 'sitecode = "ABCDE12345"\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_failed_write_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = config.load_profile("default")
    profile.set("sitecode", "AAAAAAAAAA")
    profile.save()
    path = profile.path

    def boom(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    profile.set("sitecode", "BBBBBBBBBB")
    with pytest.raises(ConfigError, match="disk full"):  # the user's problem, not a bug
        profile.save()
    assert "AAAAAAAAAA" in path.read_text()
    assert [p.name for p in path.parent.iterdir()] == ["default.toml"]


def test_broken_toml_names_file_line_and_column(tmp_path: Path, cli: CliRunner) -> None:
    path = tmp_path / "config" / "default.toml"
    path.parent.mkdir(parents=True)
    path.write_text('sitecode = "ABCDE12345"\nclient_id = \n')
    result = cli("sitecode", "show")
    assert result.exit_code == ExitCode.CONFIG
    assert str(path) in result.stderr
    assert "line 2" in result.stderr and "column" in result.stderr
    assert "Traceback" not in result.output
    # and nothing was overwritten
    assert path.read_text() == 'sitecode = "ABCDE12345"\nclient_id = \n'


def test_unknown_profile_setting_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config" / "default.toml"
    path.parent.mkdir(parents=True)
    path.write_text('client_secret = "oops"\n')
    with pytest.raises(ConfigError) as err:
        config.load_profile("default")
    assert "client_secret" in err.value.message
    assert "oops" not in err.value.message


@pytest.mark.parametrize("name", ["../x", "", "a b", "x" * 70])
def test_bad_profile_names(name: str) -> None:
    with pytest.raises(BadInputError):
        config.validate_profile_name(name)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://api.kameleoon.com", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:1", True),
        ("http://[::1]:9", True),
        ("http://api.kameleoon.com", False),
        ("ftp://x", False),
        ("https://x?y=1", False),
    ],
)
def test_base_url_rules(url: str, ok: bool) -> None:
    if ok:
        assert config.validate_base_url(url, source="t") == url.rstrip("/")
    else:
        with pytest.raises(ConfigError):
            config.validate_base_url(url, source="t")


def test_base_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    profile = config.load_profile("default")
    assert config.base_url(config.API, profile) == "https://api.kameleoon.com"
    profile.set("api_url", "https://profile.example")
    assert config.base_url(config.API, profile) == "https://profile.example"
    monkeypatch.setenv("KSEG_API_URL", "http://127.0.0.1:5/")
    assert config.base_url(config.API, profile) == "http://127.0.0.1:5"


@pytest.mark.parametrize("code", ["ABCDE1234", "ABCDE123456", "ABCDE-1234", "ÄBCDE12345"])
def test_invalid_sitecodes(code: str) -> None:
    with pytest.raises(BadInputError):
        config.validate_sitecode(code)


def test_rate_limit_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.rate_limit() == (50, 10.0)
    monkeypatch.setenv("KSEG_RATE_LIMIT", "50/1")
    assert config.rate_limit() == (50, 1.0)
    monkeypatch.setenv("KSEG_RATE_LIMIT", "lots")
    with pytest.raises(ConfigError):
        config.rate_limit()


def _creds(interactive: bool = False) -> Credentials:
    profile = config.load_profile("default")
    return Credentials(profile=profile, keyring=KeyringStore(timeout=2), interactive=interactive)


def test_precedence_flag_env_keyring(
    monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.set_password("ksegcli", "default:client_secret", "from-keyring")
    creds = _creds()
    found = creds.lookup(credentials.CLIENT_SECRET)
    assert found is not None and (found.value, found.source) == ("from-keyring", "keyring")
    monkeypatch.setenv("KAMELEOON_CLIENT_SECRET", "from-env")
    found = creds.lookup(credentials.CLIENT_SECRET)
    assert found is not None and (found.value, found.source) == ("from-env", "env")
    found = creds.lookup(credentials.CLIENT_SECRET, "from-flag")
    assert found is not None and (found.value, found.source) == ("from-flag", "flag")


def test_profiles_keep_separate_secrets(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("ksegcli", "prod:client_secret", "prod-secret")
    assert _creds().lookup(credentials.CLIENT_SECRET) is None


def test_missing_credential_without_tty_names_flag_and_env() -> None:
    with pytest.raises(NotLoggedInError) as err:
        _creds(interactive=False).require(credentials.CLIENT_SECRET)
    assert "KAMELEOON_CLIENT_SECRET" in (err.value.hint or "")
    assert "--client-secret-stdin" in (err.value.hint or "")


def test_hung_keyring_times_out_and_is_reported_once() -> None:
    keyring.set_keyring(HangingKeyring())
    warnings: list[str] = []
    store = KeyringStore(timeout=0.3, warn=warnings.append)
    started = time.monotonic()
    assert store.get("default", "client_secret") is None
    assert store.get("default", "api_key") is None  # off now: no second wait
    assert time.monotonic() - started < 1.5
    assert len(warnings) == 1
    assert "KAMELEOON_CLIENT_SECRET" in warnings[0]
    with pytest.raises(KeyringUnavailableError):
        store.set("default", "client_secret", "x")


def test_broken_keyring_is_not_fatal() -> None:
    keyring.set_keyring(BrokenKeyring())
    warnings: list[str] = []
    store = KeyringStore(timeout=1, warn=warnings.append)
    assert store.get("default", "client_secret") is None
    assert "locked" in warnings[0]


def test_api_key_round_trip_matches_segment_format() -> None:
    # Segment's destination decodes base64(JSON.stringify({id, secret})): compact, id first.
    key = derive_api_key("my-id", "my-secret")
    assert key == "eyJpZCI6Im15LWlkIiwic2VjcmV0IjoibXktc2VjcmV0In0="
    assert decode_api_key(key) == ("my-id", "my-secret")
    check_api_key(key, "my-id", "my-secret")
    with pytest.raises(ApiError):
        check_api_key(key, "other-id")
    with pytest.raises(BadInputError):
        decode_api_key("not a key!")


def test_redaction() -> None:
    register_secret("hunter2hunter2")
    text = redact("GET /x?id=a&secret=abc123&y=1 Authorization: Bearer tok.en hunter2hunter2")
    assert "abc123" not in text and "tok.en" not in text and "hunter2hunter2" not in text
    assert mask("abcdefghijklmnopqrstuvwxyz012345") == "abcd…2345"
    assert mask("abcdefghijklmnopqrstuvwxyz") == "abc…xyz"
    assert mask("short") == "****"
    # Never more than a quarter of a secret: a 13-character one shows 1 + 1.
    assert mask("0123456789abc") == "0…c"
    assert mask("0123456") == "****"
