"""The identifier snippet in a project's global custom script (help article, Step 4).

The global custom script is the site's ``trackingScript`` field, written with
``PATCH /sites/{id}`` (docs/api-facts.md, inferred: the path and field are the
constants ``SITE_PATH`` and ``TRACKING_SCRIPT_FIELD`` of :mod:`ksegcli.core.kameleoon.client`).
The script is the user's own code: ksegcli owns only a block between two marker
lines (:data:`BEGIN_MARKER`, :data:`END_MARKER`), appended after whatever is
there, and never changes a byte outside it. Since the field is one string, every
write sends the whole script: the user's code exactly as read, with the block
added, replaced or removed.

Reading costs nothing extra when ``GET /sites`` items carry ``trackingScript``
(the one paged list of projects every command reads); otherwise one
``GET /sites/{id}`` per project. Planning (:func:`plan_identifier`) is pure.
Markers that do not pair up, or ksegcli's snippet pasted by hand outside a block,
make the action ``blocked`` with the reason: ksegcli does not guess which code is
whose.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from ksegcli.core.kameleoon.client import SITE_PATH, TRACKING_SCRIPT_FIELD
from ksegcli.core.kameleoon.readback import not_applied, save_backup
from ksegcli.core.kameleoon.refusals import explain as _explain
from ksegcli.core.kameleoon.script_write import PATCH_FALLBACK_STATUSES, write_script
from ksegcli.core.plan import DONE, Action, ActionResult, Request
from ksegcli.core.snippets import render_snippet
from ksegcli.errors import ApiError, ExitCode, KsegError

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.client import KameleoonClient, Site

BEGIN_MARKER = "// >>> ksegcli identifier (managed by ksegcli; edits inside are overwritten) >>>"
END_MARKER = "// <<< ksegcli identifier <<<"
# A marker line is recognised by its start, so a reworded comment is still ours.
_BEGIN_PREFIX = "// >>> ksegcli identifier"
_END_PREFIX = "// <<< ksegcli identifier"
# An identifier pasted by hand: ksegcli's snippet (its first line) or the help article's
# code, both of which send this event.
_HAND_COPY_RE = re.compile(r"""^\s*// ksegcli identifier snippet|["']Kameleoon identifier["']""")

LABEL = "identifier script"
SCRIPT_LOCATION = "Project › Settings › Global custom script"
MANUAL_ROUTE = f"{SCRIPT_LOCATION}: paste the code of `ksegcli snippet render identifier`"
MANUAL_REMOVAL = (
    f"{SCRIPT_LOCATION}: delete the lines from {BEGIN_MARKER!r} to {END_MARKER!r}, both included"
)

State = Literal["current", "outdated", "absent", "manual", "broken"]


def snippet_code() -> str:
    return render_snippet("identifier").code


def render_block(code: str | None = None) -> str:
    """The managed block, marker lines included, ending with a newline."""
    body = snippet_code() if code is None else code
    if not body.endswith("\n"):
        body += "\n"
    return f"{BEGIN_MARKER}\n{body}{END_MARKER}\n"


def _normalize(text: str) -> str:
    """Text as compared: line endings and trailing blanks do not count."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()


# -- reading a script (pure) ------------------------------------------------------------------


class MarkerError(ValueError):
    """The markers do not delimit exactly one block; the message says how."""


@dataclass(frozen=True)
class Block:
    """Where ksegcli's block is in a script (offsets into it)."""

    start: int  # first character of the begin marker line
    stop: int  # just after the end marker line's text (before its newline)
    end: int  # just after the end marker line's newline (or the end of the script)
    crlf: bool  # the begin marker line ends with "\r" (the script uses CRLF)

    def text(self, script: str) -> str:
        return script[self.start : self.stop]


def _lines(script: str) -> list[tuple[int, str]]:
    """(offset, text) of each line; only "\\n" ends a line (JavaScript's other line
    terminators may sit inside the user's string literals)."""
    out = []
    pos = 0
    for line in script.split("\n"):
        out.append((pos, line))
        pos += len(line) + 1
    return out


def find_block(script: str) -> Block | None:
    """ksegcli's block in ``script``, None when there is no marker; :class:`MarkerError`
    when the markers do not pair up."""
    begins: list[tuple[int, int, str]] = []  # (line number, offset, text)
    ends: list[tuple[int, int, str]] = []
    for number, (offset, line) in enumerate(_lines(script), start=1):
        stripped = line.strip()
        if stripped.startswith(_BEGIN_PREFIX):
            begins.append((number, offset, line))
        elif stripped.startswith(_END_PREFIX):
            ends.append((number, offset, line))
    if not begins and not ends:
        return None
    if len(begins) > 1:
        raise MarkerError(
            f"{len(begins)} begin markers (lines {', '.join(str(b[0]) for b in begins)})"
        )
    if len(ends) > 1:
        raise MarkerError(f"{len(ends)} end markers (lines {', '.join(str(e[0]) for e in ends)})")
    if not ends:
        raise MarkerError(f"a begin marker (line {begins[0][0]}) without its end marker")
    if not begins:
        raise MarkerError(f"an end marker (line {ends[0][0]}) without its begin marker")
    (b_line, b_offset, b_text), (e_line, e_offset, e_text) = begins[0], ends[0]
    if e_line < b_line:
        raise MarkerError(f"the end marker (line {e_line}) before the begin marker (line {b_line})")
    stop = e_offset + len(e_text.rstrip("\r"))  # a CRLF line keeps its "\r\n"
    end = min(e_offset + len(e_text) + 1, len(script))
    return Block(b_offset, stop, end, b_text.endswith("\r"))


def _hand_copy(script: str, block: Block | None) -> int | None:
    """The first line of an identifier outside the block (pasted by hand), if any."""
    for number, (offset, line) in enumerate(_lines(script), start=1):
        if block is not None and block.start <= offset < block.end:
            continue
        if _HAND_COPY_RE.search(line):
            return number
    return None


@dataclass(frozen=True)
class Inspection:
    """What a project's global custom script holds of the identifier."""

    state: State
    detail: str
    block: Block | None = None
    hand_copy: int | None = None  # line of a copy pasted by hand outside the block


def inspect(script: str, code: str | None = None) -> Inspection:
    code = snippet_code() if code is None else code
    try:
        block = find_block(script)
    except MarkerError as exc:
        return Inspection("broken", f"the ksegcli markers do not pair up: {exc}")
    hand = _hand_copy(script, block)
    if block is None:
        if hand is not None:
            return Inspection(
                "manual",
                f"an identifier pasted by hand (line {hand}), outside a ksegcli block",
                hand_copy=hand,
            )
        return Inspection("absent", "not in the global custom script")
    first = script.count("\n", 0, block.start) + 1
    last = script.count("\n", 0, block.stop) + 1
    where = f"(lines {first}-{last})"
    if _normalize(block.text(script)) == _normalize(render_block(code)):
        return Inspection("current", f"in the global custom script {where}, current", block, hand)
    return Inspection(
        "outdated",
        f"the ksegcli block {where} holds an older or edited identifier snippet",
        block,
        hand,
    )


# -- changing a script (pure) -----------------------------------------------------------------


def with_block(script: str, code: str | None = None) -> str:
    """``script`` with the block added after everything (or replaced where it is).
    Raises :class:`MarkerError` on markers that do not pair up."""
    block = find_block(script)
    new = render_block(code)
    if block is not None:
        newline = "\r\n" if block.crlf else "\n"
        text = new.rstrip("\n").replace("\n", newline)
        return script[: block.start] + text + script[block.stop :]
    if not script:
        return new
    # One newline before the marker, so the marker starts a line and removing it
    # (without_block) gives back the user's script exactly, trailing newline or not.
    return script + "\n" + new


def without_block(script: str) -> str:
    """``script`` without the block and the newline :func:`with_block` put before it."""
    block = find_block(script)
    if block is None:
        return script
    separator = "\r\n" if block.crlf else "\n"
    start = block.start
    if script[:start].endswith(separator):
        start -= len(separator)
    return script[:start] + script[block.end :]


def own_lines(script: str) -> int:
    """Non-blank lines of the user's own code (everything outside the block)."""
    try:
        rest = without_block(script)
    except MarkerError:
        rest = script
    return sum(1 for line in rest.split("\n") if line.strip())


# -- reads -----------------------------------------------------------------------------------

Script = str | KsegError


def manual_hint(removing: bool = False) -> str:
    if removing:
        return f"Remove it by hand in Kameleoon: {MANUAL_REMOVAL}."
    return f"Add it by hand in Kameleoon: {MANUAL_ROUTE}."


def explain(exc: KsegError, method: str, site: Site, *, removing: bool = False) -> KsegError:
    """A refusal or a 403 of the site endpoint, with the way by hand (core/kameleoon/refusals.py)."""

    return _explain(
        exc,
        method,
        SITE_PATH.format(site_id=site.id),
        doing="read a project's global custom script"
        if method == "GET"
        else "change a project's global custom script",
        inference=f"the global custom script as the site's {TRACKING_SCRIPT_FIELD!r}, read and "
        "written there,",
        hint=manual_hint(removing),
    )


def _field_missing(site: Site) -> ApiError:
    path = SITE_PATH.format(site_id=site.id)
    return ApiError(
        f"GET {path} answered without a string {TRACKING_SCRIPT_FIELD!r}: the global custom "
        "script field is an inference (docs/api-facts.md) that this API does not confirm.",
        code="api_refused",
        hint=manual_hint(),
    )


def read_script(client: KameleoonClient, site: Site) -> str:
    """The project's global custom script: from the listing when it carried it, else
    ``GET /sites/{id}``."""
    if site.tracking_script is not None:
        return site.tracking_script
    path = SITE_PATH.format(site_id=site.id)
    try:
        data = client.get(path)
    except ApiError as exc:
        raise explain(exc, "GET", site) from None
    if not isinstance(data, dict) or TRACKING_SCRIPT_FIELD not in data:
        raise _field_missing(site)
    value = data[TRACKING_SCRIPT_FIELD]
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _field_missing(site)
    return value


def read_all_scripts(
    client: KameleoonClient, sites: Sequence[Site], *, workers: int = 8
) -> dict[int, Script]:
    """Each project's script (or the error that stopped us reading it); requests only for
    projects whose listing did not carry it, in parallel under the shared rate limiter."""

    def one(site: Site) -> Script:
        try:
            return read_script(client, site)
        except KsegError as exc:
            return exc

    out: dict[int, Script] = {
        site.id: site.tracking_script for site in sites if site.tracking_script is not None
    }
    missing = [site for site in sites if site.tracking_script is None]
    if len(missing) <= 1 or workers <= 1:
        out.update({site.id: one(site) for site in missing})
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(missing))) as pool:
            out.update(zip((s.id for s in missing), pool.map(one, missing), strict=True))
    return {site.id: out[site.id] for site in sites}


# -- planning (pure) -------------------------------------------------------------------------


def _blocked(site: Site, reason: str) -> Action:
    return Action(
        site,
        "identifier",
        LABEL,
        "blocked",
        reason,
        # Not the API's refusal but the script's state: "conflict", with the exit code of a
        # failed item (5) like every other item that could not be done.
        error=ApiError(
            f"{site.label()}: {reason}.",
            code="conflict",
            exit_code=ExitCode.API,
            hint=f"Fix it by hand in Kameleoon ({SCRIPT_LOCATION}), then rerun.",
        ),
    )


def plan_identifier(
    site: Site, script: Script, *, install: bool = True, code: str | None = None
) -> Action:
    """One project's script → install / update / uninstall / unchanged / blocked."""
    if isinstance(script, KsegError):
        return Action(site, "identifier", LABEL, "blocked", script.message, error=script)
    code = snippet_code() if code is None else code
    found = inspect(script, code)
    path = SITE_PATH.format(site_id=site.id)
    if found.state == "broken":
        return _blocked(
            site,
            f"{found.detail}; ksegcli does not guess which code is its own: make the global "
            "custom script hold exactly one begin and one end marker line, or none",
        )
    if not install:
        if found.block is None:
            note = " (the copy pasted by hand is not ksegcli's block: left alone)"
            return Action(
                site,
                "identifier",
                LABEL,
                "unchanged",
                "not in the global custom script" + (note if found.hand_copy else ""),
            )
        body = {TRACKING_SCRIPT_FIELD: without_block(script)}
        return Action(
            site,
            "identifier",
            LABEL,
            "uninstall",
            found.detail,
            Request("PATCH", path, body),
            read=script,
        )
    if found.hand_copy is not None:
        return _blocked(
            site,
            f"the global custom script already sends the identifier at line {found.hand_copy} "
            "(ksegcli's snippet or a 'Kameleoon identifier' track call pasted by hand), outside "
            "a ksegcli block; ksegcli never edits code outside its block: remove that copy, "
            "then rerun",
        )
    if found.state == "current":
        return Action(site, "identifier", LABEL, "unchanged", found.detail)
    body = {TRACKING_SCRIPT_FIELD: with_block(script, code)}
    if found.state == "absent":
        kept = own_lines(script)
        reason = "not in the global custom script" + (
            f"; appended after the project's own code ({kept} line(s), kept as is)" if kept else ""
        )
        return Action(
            site, "identifier", LABEL, "install", reason, Request("PATCH", path, body), read=script
        )
    return Action(
        site, "identifier", LABEL, "update", found.detail, Request("PATCH", path, body), read=script
    )


def plan(
    client: KameleoonClient, sites: Sequence[Site], *, install: bool = True, workers: int = 8
) -> list[Action]:
    scripts = read_all_scripts(client, sites, workers=workers)
    return [plan_identifier(site, scripts[site.id], install=install) for site in sites]


# -- writes ----------------------------------------------------------------------------------


def handle(client: KameleoonClient, action: Action) -> ActionResult:
    """Write the whole script (PATCH, else GET + PUT of the site: core/kameleoon/script_write.py),
    then judge what the server holds: the 2xx alone proves nothing (the field is inferred).
    The user's own code is saved to a backup file before, and compared after."""

    assert action.request is not None
    request = action.request
    sent = str(request.body[TRACKING_SCRIPT_FIELD])
    removing = action.action == "uninstall"
    original = action.read if isinstance(action.read, str) else None
    backup = None
    if original is not None and own_lines(original):
        backup = save_backup(
            "global-custom-script", action.site.id, {TRACKING_SCRIPT_FIELD: original}
        )
    try:
        written = write_script(client, action.site, sent)
    except ApiError as exc:
        if exc.code == "conflict":
            raise
        method = "PATCH and PUT" if exc.status in PATCH_FALLBACK_STATUSES else request.method
        raise explain(exc, method, action.site, removing=removing) from None
    stored = written.stored
    if stored is None:
        stored = read_script(client, _unlisted(action.site))
    where = f" (the script as read before is saved in {backup})" if backup else ""
    if _normalize(stored) != _normalize(sent):
        if original is not None and _own_code(stored) != _own_code(original):
            raise ApiError(
                f"After {written.route} {request.path}, the project's own code in the global "
                f"custom script is not what was read before{where}: someone else may have "
                "changed it meanwhile, or the write did.",
                code="conflict",
                exit_code=ExitCode.API,
                hint=f"Compare {SCRIPT_LOCATION} with the backup, restore what is missing by "
                "hand, then rerun.",
            )
        raise not_applied(
            written.route,
            request.path,
            "writing the global custom script by API",
            seen=f"a {TRACKING_SCRIPT_FIELD!r} that is not the script sent{where}",
            inference=f"the site's {TRACKING_SCRIPT_FIELD!r} field",
            hint=manual_hint(removing),
        )
    lines = own_lines(sent)
    verb = {"install": "appended", "update": "block replaced", "uninstall": "block removed"}[
        action.action
    ]
    message = f"{verb}; {lines} line(s) of the project's own code kept (verified)"
    if written.route != "PATCH":
        message += f" (PATCH refused: written with {written.route})"
    if backup is not None:
        message += f"; backup {backup}"
    if written.backup is not None:
        message += f"; site backup {written.backup}"
    return ActionResult(action, DONE[action.action], message)  # type: ignore[arg-type]


def _own_code(script: str) -> str:
    """The user's part of a script, as compared."""
    try:
        return _normalize(without_block(script))
    except MarkerError:
        return _normalize(script)


def _unlisted(site: Site) -> Site:
    """The same project without the listing's script, so that reading it asks the API."""

    return replace(site, tracking_script=None)


# -- status ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentifierStatus:
    site: Site
    state: State | None  # None: the script could not be read
    detail: str
    error: KsegError | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "project": {"id": self.site.id, "sitecode": self.site.code, "name": self.site.name},
            "state": self.state,
            "installed": None if self.state is None else self.state in ("current", "outdated"),
            "detail": self.detail,
            "error": None if self.error is None else self.error.to_json()["error"],
        }


def status(
    client: KameleoonClient, sites: Sequence[Site], *, workers: int = 8
) -> list[IdentifierStatus]:
    scripts = read_all_scripts(client, sites, workers=workers)
    out = []
    for site in sites:
        script = scripts[site.id]
        if isinstance(script, KsegError):
            out.append(IdentifierStatus(site, None, script.message, script))
        else:
            found = inspect(script)
            out.append(IdentifierStatus(site, found.state, found.detail))
    return out


HANDLERS: dict[str, Callable[[KameleoonClient, Action], ActionResult]] = {"identifier": handle}
