"""The sitecodes of the last project listing, for shell completion.

Every command that lists the account's projects (``projects list``, ``--all``, a
``--project`` resolved against the listing) leaves one small file per profile in the
cache folder: ``<cache>/projects/<profile>.tsv``, 0600, one project a line as
``SITECODE<TAB>ID<TAB>NAME``. Only those three fields, never a credential. The
completion scripts (ksegcli/completion.py) read it on a TAB: completion itself never
calls the network, so it offers what the last listing saw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ksegcli.core.config import atomic_write, is_sitecode, validate_profile_name
from ksegcli.core.paths import cache_dir

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.client import Site

FOLDER = "projects"
MAX_NAME = 120


def cache_file(profile: str, env: Mapping[str, str] | None = None) -> Path:
    return cache_dir(env) / FOLDER / f"{validate_profile_name(profile)}.tsv"


def _clean(name: str) -> str:
    """A name on one line of the file: no tab, newline or other control character."""
    text = "".join(c if c.isprintable() else " " for c in name)
    return " ".join(text.split())[:MAX_NAME]


def render(sites: Iterable[Site]) -> str:
    lines = [
        f"{site.code}\t{site.id}\t{_clean(site.name)}\n" for site in sites if is_sitecode(site.code)
    ]
    return "".join(lines)


def remember(
    profile: str,
    sites: Iterable[Site],
    env: Mapping[str, str] | None = None,
    log: Callable[[str], None] | None = None,
) -> None:
    """Write the listing for ``profile``'s completion; a failure only costs completion."""

    text = render(sites)
    try:
        path = cache_file(profile, env)
        try:
            if path.read_text(encoding="utf-8") == text:
                return
        except (OSError, UnicodeDecodeError):
            pass
        atomic_write(path, text.encode("utf-8"), mode=0o600)
    except OSError as exc:
        if log is not None:
            log(f"  could not cache the project list for completion: {exc.strerror or exc}")


def read(profile: str, env: Mapping[str, str] | None = None) -> list[tuple[str, int, str]]:
    """(sitecode, id, name) of the cached listing; empty when there is none."""
    try:
        text = cache_file(profile, env).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    out: list[tuple[str, int, str]] = []
    for line in text.splitlines():
        code, _, rest = line.partition("\t")
        ident, _, name = rest.partition("\t")
        if ident.isdigit():
            out.append((code, int(ident), name))
    return out
