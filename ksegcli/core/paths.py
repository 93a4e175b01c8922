"""Where ksegcli keeps files that are not configuration: the cache folder."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ENV_CACHE_DIR = "KSEG_CACHE_DIR"


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``KSEG_CACHE_DIR``, else the platform's user cache folder for ksegcli (not created)."""
    env = os.environ if env is None else env
    override = env.get(ENV_CACHE_DIR)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("ksegcli", appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) as 0700 if missing; an existing folder keeps its mode."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path
