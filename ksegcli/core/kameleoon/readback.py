"""Writes whose shape is inferred are checked, never trusted.

A 2xx from the Automation API only says the request was accepted: a server that
ignores an unknown field answers the same. So every write that rests on an
inferred fact (docs/api-facts.md) is followed by a read of the resource, and
ksegcli reports ``not applied`` (exit 5, with the way by hand) when the change is
not there. A write that sends back data ksegcli did not author (the project's
other integration tools, the whole site, the user's own script) first saves what
was read to a backup file, and after the write the parts that should be
untouched are compared with what is read back.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from ksegcli.core.paths import cache_dir
from ksegcli.errors import ConfigError, NotAppliedError

BACKUPS = "backups"


def not_applied(
    method: str, path: str, what: str, *, seen: str, inference: str, hint: str
) -> NotAppliedError:
    """The write was answered with success, but the read-back does not show it."""
    return NotAppliedError(
        f"not applied: the Automation API accepted {method} {path}, but reading it back "
        f"shows {seen}; {what} rests on an inference ({inference}, see docs/api-facts.md).",
        hint=hint,
    )


# -- backups ----------------------------------------------------------------------------------


def backups_dir() -> Path:
    return cache_dir() / BACKUPS


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "item"


def save_backup(kind: str, site_id: int, data: Any) -> Path:
    """Save ``data`` (what was read before a write) as JSON; the folder is 0700 and the
    file 0600, never overwritten (one file per write). Returns its path."""
    folder = backups_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        base = f"{stamp}-{time.time_ns() % 1_000_000_000:09d}-site{site_id}-{_slug(kind)}"
        path = folder / f"{base}.json"
        text = json.dumps(
            {"kind": kind, "site_id": site_id, "saved_at": stamp, "data": data},
            indent=2,
            ensure_ascii=False,
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError as exc:
        raise ConfigError(
            f"Cannot save a backup before the write in {folder}: {exc.strerror or exc}. "
            "Nothing was written.",
            hint="Point KSEG_CACHE_DIR at a writable folder.",
        ) from None
    return path
