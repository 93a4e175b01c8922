"""Where ksegcli keeps files that are not configuration: the cache folder."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

ENV_CACHE_DIR = "KSEG_CACHE_DIR"


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``KSEG_CACHE_DIR``, else the platform's user cache folder for ksegcli (not created)."""
    return user_dir("cache", ENV_CACHE_DIR, env)


def user_dir(
    kind: Literal["config", "cache"], variable: str, env: Mapping[str, str] | None
) -> Path:
    """The folder the environment ``variable`` names, else the platform's user ``kind``
    folder for ksegcli (not created)."""
    env = os.environ if env is None else env
    override = env.get(variable)
    if override:
        return Path(override).expanduser()
    import platformdirs

    where = platformdirs.user_config_dir if kind == "config" else platformdirs.user_cache_dir
    return Path(where("ksegcli", appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) as 0700 if missing; an existing folder keeps its mode."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def account_key(api_url: str, client_id: str) -> str:
    """A file-name-safe key for one account of one API (the secret plays no part).

    Every per-account file of the cache folder is named by it: the shared request
    count (``limits/``) and the lock of the runs that write (``locks/``).
    """
    return sha256_hex(f"{api_url.rstrip('/')}\n{client_id}")[:32]


def sha256_hex(text: str) -> str:
    """The SHA-256 of ``text`` (UTF-8, lone surrogates kept) in hex: the one way ksegcli
    names a file or an account after something it must not write down."""
    import hashlib  # OpenSSL's binding: ~4 ms, and no fast path needs it

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def account_path(cache: Path, folder: str, api_url: str, client_id: str, suffix: str) -> Path:
    """``<cache>/<folder>/<account key><suffix>``: one account's file in the cache folder."""
    return cache / folder / f"{account_key(api_url, client_id)}{suffix}"
