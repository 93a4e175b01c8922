"""Writing a project's global custom script (the site's ``trackingScript``), by either route.

How the field is written is inferred (docs/api-facts.md): one community tool sends
``PATCH /sites/{id}`` with the field alone, two others ``GET /sites/{id}`` then
``PUT /sites/{id}`` with the whole site. ksegcli tries ``PATCH`` first; when it is
refused with one of :data:`PATCH_FALLBACK_STATUSES`, it takes the ``GET`` + ``PUT``
route. The whole site is data ksegcli did not author: it is saved to a backup file
before the ``PUT``, and every other field is compared with the read-back after it.

:func:`write_script` returns what the server now holds; whether the script is the
one sent is for the caller to judge (it knows which part is its own).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ksegcli.core.http.client import response_json
from ksegcli.core.kameleoon.client import SITE_PATH, TRACKING_SCRIPT_FIELD
from ksegcli.core.kameleoon.readback import save_backup
from ksegcli.errors import ApiError, ExitCode

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.client import KameleoonClient, Site

# --- inferred (I) ---------------------------------------------------------------------------
#: A PATCH answered with one of these is retried as GET + PUT of the whole site.
PATCH_FALLBACK_STATUSES = frozenset({400, 405})
#: Site fields the server may change by itself on any write (not compared after a PUT).
VOLATILE_SITE_FIELD = re.compile(r"(?i)^date|modif|updat")
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    stored: str | None  # the script the server holds after the write (None: it did not say)
    route: str  # "PATCH" or "GET+PUT"
    backup: Path | None = None  # the whole site as read before a PUT


def _script_of(data: Any) -> str | None:
    if not isinstance(data, dict) or TRACKING_SCRIPT_FIELD not in data:
        return None
    value = data[TRACKING_SCRIPT_FIELD]
    if value is None:
        return ""
    return value if isinstance(value, str) else None


def fetch_site(client: KameleoonClient, site: Site) -> dict[str, Any]:
    path = SITE_PATH.format(site_id=site.id)
    data = client.get(path)
    if not isinstance(data, dict):
        raise ApiError(f"Expected a JSON object from GET {path}, got {type(data).__name__}.")
    return data


def _is_resource(data: Any, site: Site) -> bool:
    return isinstance(data, dict) and str(data.get("id")) == str(site.id)


def write_script(client: KameleoonClient, site: Site, script: str) -> Written:
    """Set the project's global custom script to ``script``; PATCH, else GET + PUT.

    Raises the API's error when both routes are refused (the caller adds the way by
    hand), and a ``conflict`` error (exit 5) when a PUT changed another field.
    """

    path = SITE_PATH.format(site_id=site.id)
    try:
        response = client.http.request(
            "PATCH", path, json_body={TRACKING_SCRIPT_FIELD: script}, retry_unsafe=True
        )
    except ApiError as exc:
        if exc.status not in PATCH_FALLBACK_STATUSES:
            raise
        return _put_whole_site(client, site, script)
    data = response_json(response)
    if not _is_resource(data, site):
        data = fetch_site(client, site)
    return Written(_script_of(data), "PATCH")


def _put_whole_site(client: KameleoonClient, site: Site, script: str) -> Written:
    path = SITE_PATH.format(site_id=site.id)
    before = fetch_site(client, site)
    backup = save_backup("site", site.id, before)
    body = {**before, TRACKING_SCRIPT_FIELD: script}
    answer = client.put(path, body)
    after = answer if _is_resource(answer, site) else fetch_site(client, site)
    assert isinstance(after, dict)
    keys = sorted((set(before) | set(after)) - {TRACKING_SCRIPT_FIELD})
    missing = object()
    changed = [
        key
        for key in keys
        if not VOLATILE_SITE_FIELD.search(key)
        and before.get(key, missing) != after.get(key, missing)
    ]
    if changed:
        raise ApiError(
            f"PUT {path} (the whole site, sent back to set its global custom script) changed "
            f"field(s) it should have kept: {', '.join(changed)}. The site as read before is "
            f"saved in {backup}.",
            code="conflict",
            exit_code=ExitCode.API,
            hint="Compare the project's settings in Kameleoon with the backup and restore "
            "what changed by hand.",
        )
    return Written(_script_of(after), "GET+PUT", backup)
