"""The OAuth access-token cache: the one module that reads, writes and removes it.

A token is reused across runs whatever the credentials' source (flag, environment,
keyring), so a CI job of ten commands fetches one token, not ten. Each entry is
keyed by ``sha256(client id, secret, API URL)``: a changed secret or another API
never reuses a token. The secret itself is never written anywhere.

Where: the OS keyring when the credentials live there (one entry per profile,
``<profile>:access_token``), else a 0600 file in the cache folder,
``tokens/<key>.json``. Either holds ``{"client_id", "token", "expires_at", "key"}``:
:func:`encode` writes it and :func:`decode` reads it. Fetching a token
(``TokenProvider``), ``auth login`` and ``auth logout`` all go through this module.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ksegcli.core.paths import cache_dir, ensure_private_dir, sha256_hex

if TYPE_CHECKING:
    from ksegcli.core.auth.keyring_store import KeyringStore

TOKENS_FOLDER = "tokens"
#: The keyring entry (``<profile>:access_token``) of a profile whose secret is there.
ACCESS_TOKEN_ENTRY = "access_token"
#: What :func:`forget` names a removed token file in ``auth logout``'s list.
TOKEN_FILE_NAME = "access_token_file"


def encode(client_id: str, token: str, expires_at: float) -> str:
    """A token as the cache keeps it (:meth:`TokenCache.save` adds the entry's key)."""
    return json.dumps({"client_id": client_id, "token": token, "expires_at": expires_at})


def decode(raw: str, client_id: str) -> tuple[str, float] | None:
    """The token and its expiry (epoch seconds) in ``raw``; None when it is damaged or
    is another client id's."""
    try:
        data = json.loads(raw)
        if data.get("client_id") != client_id:
            return None
        return str(data["token"]), float(data["expires_at"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def cache_key(client_id: str, secret: str, api_url: str) -> str:
    material = "\n".join((client_id, secret, api_url.rstrip("/")))
    return sha256_hex(material)


def tokens_dir(env: Mapping[str, str] | None = None) -> Path:
    return cache_dir(env) / TOKENS_FOLDER


class TokenCache:
    """Load and save one account's token (the JSON text :class:`TokenProvider` uses)."""

    def __init__(
        self,
        client_id: str,
        secret: str,
        api_url: str,
        *,
        keyring: KeyringStore | None = None,
        profile: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.client_id = client_id
        self.key = cache_key(client_id, secret, api_url)
        self._keyring = keyring
        self._profile = profile
        self._env = env

    @property
    def path(self) -> Path:
        return tokens_dir(self._env) / f"{self.key}.json"

    def load(self) -> str | None:
        raw = self._load_raw()
        if not raw:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("key") != self.key:
            return None  # another secret, another API, or an entry from an older version
        return raw

    def _load_raw(self) -> str | None:
        if self._keyring is not None and self._profile is not None:
            return self._keyring.get(self._profile, ACCESS_TOKEN_ENTRY)
        try:
            return self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def save(self, value: str) -> None:
        """Store the provider's JSON (with this cache's key added); "" removes the entry.

        A cache: failing to write it costs only a token fetch next time.
        """
        if not value:
            self.remove()
            return
        try:
            data = json.loads(value)
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        text = json.dumps({**data, "key": self.key})
        if self._keyring is not None and self._profile is not None:
            if self._keyring.available:
                with contextlib.suppress(Exception):
                    self._keyring.set(self._profile, ACCESS_TOKEN_ENTRY, text)
            return
        with contextlib.suppress(OSError):
            _write_private(self.path, text)

    def remove(self) -> None:
        if self._keyring is not None and self._profile is not None:
            with contextlib.suppress(Exception):
                self._keyring.delete(self._profile, ACCESS_TOKEN_ENTRY)
            return
        with contextlib.suppress(OSError):
            self.path.unlink()


def _write_private(path: Path, text: str) -> None:
    """Write a 0600 file atomically (created 0600, never readable by others first)."""

    ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(tmp, path)


def forget(
    keyring: KeyringStore, profile: str, client_id: str | None, env: Mapping[str, str] | None
) -> list[str]:
    """``auth logout``: remove the profile's token from the keyring and every token file
    of ``client_id``; what was removed, by the names the logout reports."""
    removed = []
    if keyring.delete(profile, ACCESS_TOKEN_ENTRY):
        removed.append(ACCESS_TOKEN_ENTRY)
    if client_id is not None and _remove_files_for(client_id, env):
        removed.append(TOKEN_FILE_NAME)
    return removed


def _remove_files_for(client_id: str, env: Mapping[str, str] | None = None) -> int:
    """Delete every cached token file of ``client_id``; how many."""
    folder = tokens_dir(env)
    removed = 0
    try:
        entries = list(folder.glob("*.json"))
    except OSError:
        return 0
    for path in entries:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        if isinstance(data, dict) and data.get("client_id") == client_id:
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
    return removed
