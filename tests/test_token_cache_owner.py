"""The cached OAuth token has one owner, core/auth/tokens.py: every read, write and removal of
it (keyring entry or token file) goes through that module, and no other module knows
its keyring entry, its folder or its fields."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from conftest import CliRunner

import ksegcli
from ksegcli.core.auth import tokens
from ksegcli.core.auth.keyring_store import KeyringStore
from ksegcli.testing.keyrings import MemoryKeyring

API = "https://api.kameleoon.com"
SECRET = "client-secret-owner-77"
OWNER = tokens.__name__


def _caller(depth: int = 2) -> str:
    return str(sys._getframe(depth).f_globals.get("__name__"))


class Touches:
    """Who read, wrote or removed the cached token, as (operation, module)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
        self.seen: list[tuple[str, str]] = []
        self.folder = folder
        for op in ("get", "set", "delete"):
            self._spy_keyring(monkeypatch, op)
        for name, op in (
            ("read_text", "read"),
            ("write_text", "write"),
            ("write_bytes", "write"),
            ("unlink", "remove"),
        ):
            self._spy_path(monkeypatch, name, op)
        real_open, real_replace = os.open, os.replace

        def os_open(path: Any, *args: Any, **kwargs: Any) -> int:
            self._file("write", path)
            return real_open(path, *args, **kwargs)

        def os_replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            self._file("write", dst)
            real_replace(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "open", os_open)
        monkeypatch.setattr(os, "replace", os_replace)

    def _spy_keyring(self, monkeypatch: pytest.MonkeyPatch, op: str) -> None:
        real: Callable[..., Any] = getattr(KeyringStore, op)

        def spy(store: KeyringStore, profile: str, name: str, *args: Any) -> Any:
            if name == tokens.ACCESS_TOKEN_ENTRY:
                self.seen.append((f"keyring {op}", _caller()))
            return real(store, profile, name, *args)

        monkeypatch.setattr(KeyringStore, op, spy)

    def _spy_path(self, monkeypatch: pytest.MonkeyPatch, name: str, op: str) -> None:
        real: Callable[..., Any] = getattr(Path, name)

        def spy(path: Path, *args: Any, **kwargs: Any) -> Any:
            self._file(op, path, depth=4)
            return real(path, *args, **kwargs)

        monkeypatch.setattr(Path, name, spy)

    def _file(self, op: str, path: Any, depth: int = 3) -> None:
        if isinstance(path, (str, Path)) and Path(path).parent == self.folder:
            self.seen.append((f"file {op}", _caller(depth)))

    def ops(self) -> set[str]:
        return {op for op, _ in self.seen}

    def callers(self) -> set[str]:
        return {module for _, module in self.seen}


@pytest.fixture
def touches(monkeypatch: pytest.MonkeyPatch) -> Iterator[Touches]:
    yield Touches(monkeypatch, tokens.tokens_dir())


def _token_route(router: respx.MockRouter) -> None:
    router.post(f"{API}/oauth/token").mock(
        return_value=httpx.Response(200, json={"access_token": "tok-owner", "expires_in": 7200})
    )


@respx.mock
def test_login_fetch_and_logout_touch_the_keyring_token_only_through_the_owner(
    cli: CliRunner, memory_keyring: MemoryKeyring, touches: Touches
) -> None:
    _token_route(respx.mock)
    login = cli("auth", "login", "--client-id", "cid-1", "--client-secret-stdin", stdin=SECRET)
    assert login.exit_code == 0, login.stderr
    memory_keyring.delete_password("ksegcli", "default:access_token")
    token = cli("auth", "token")  # nothing cached: fetched, then kept
    assert token.exit_code == 0, token.stderr
    logout = cli("auth", "logout", "--json")
    assert logout.exit_code == 0, logout.stderr
    assert "access_token" in logout.json()["removed"]
    assert touches.ops() == {"keyring get", "keyring set", "keyring delete"}
    assert touches.callers() == {OWNER}


@respx.mock
def test_env_credentials_write_and_logout_remove_the_token_file_only_through_the_owner(
    cli: CliRunner, touches: Touches
) -> None:
    _token_route(respx.mock)
    env = {"KAMELEOON_CLIENT_ID": "cid-1", "KAMELEOON_CLIENT_SECRET": SECRET}
    assert cli("auth", "token", env=env).exit_code == 0
    assert cli("auth", "token", env=env).exit_code == 0  # read back from the file
    assert list(tokens.tokens_dir().glob("*.json"))
    logout = cli("auth", "logout", "--json", env=env)
    assert logout.exit_code == 0, logout.stderr
    assert "access_token_file" in logout.json()["removed"]
    assert not list(tokens.tokens_dir().glob("*.json"))
    assert {"file read", "file write", "file remove"} <= touches.ops()
    assert touches.callers() == {OWNER}


# What only the owner may name: its keyring entry, its folder, the fields it writes.
_OWNED = (
    re.compile(r"\bACCESS_TOKEN_ENTRY\b"),
    re.compile(r"\bTOKENS_FOLDER\b"),
    re.compile(r"\b_write_private\b"),
    re.compile(r"""["']expires_at["']"""),
    re.compile(r"""["']access_token_file["']"""),
    re.compile(r"""(?:keyring|store)\w*\.(?:get|set|delete)\w*\([^)]*["']access_token["']"""),
    re.compile(r"""["'][^"'\s]*:access_token["']"""),
)


def test_no_other_module_knows_the_token_cache() -> None:
    package = Path(ksegcli.__file__).parent
    owner = Path(tokens.__file__).resolve()
    offenders = [
        f"{path.relative_to(package)}: {pattern.pattern}"
        for path in sorted(package.rglob("*.py"))
        if path.resolve() != owner
        for pattern in _OWNED
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_owner_reads_back_what_it_writes_and_nothing_else() -> None:
    raw = tokens.encode("cid", "tok", 1234.5)
    assert tokens.decode(raw, "cid") == ("tok", 1234.5)
    assert tokens.decode(raw, "other-cid") is None
    for damaged in ("", "[]", "{", '{"client_id": "cid"}', '{"client_id": "cid", "token": "t"}'):
        assert tokens.decode(damaged, "cid") is None
