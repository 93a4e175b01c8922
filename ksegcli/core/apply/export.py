"""``ksegcli export``: the apply file that describes an account set up by hand.

Reads the account with the same few requests ``apply`` makes (one paged list of
projects, one of their custom data, the integration tools and global custom
scripts, one paged list of Segment destinations) and writes, per project:

- ``integration``: the Segment tool installed or not;
- ``identifier = true`` when ksegcli's block is in the global custom script
  (absent: the key is left out, so apply does not manage the script);
- ksegcli's own custom data, recognised by the snippet header (core/kameleoon/customdata.py),
  as ``personas`` / ``group`` / ``traits`` with their names and formats, and the
  ``user_id`` mode their snippets were rendered for;
- ``[projects.<code>.segment]`` where a Kameleoon (Actions) destination sends to
  the project's sitecode.

Custom data that look like the integration's but were made by hand (an
integration name, or code that reads Segment's data) are written as comments
with the reason, never adopted silently. The text is validated with the apply
file's own validator before it is handed back.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ksegcli.core import segment
from ksegcli.core.apply.desired import FileError, parse
from ksegcli.core.auth import credentials
from ksegcli.core.kameleoon import customdata, identifier, integration
from ksegcli.core.kameleoon.customdata import DEFAULT_NAMES, CustomData
from ksegcli.core.segment import resolve_region
from ksegcli.core.snippets import user_id_mode
from ksegcli.errors import KsegError, NotFoundError

if TYPE_CHECKING:
    from ksegcli.core.kameleoon.client import Site
    from ksegcli.core.session import Session

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
# Code made by hand that reads Segment's data: analytics.js, its cookies, the user object.
_SEGMENT_CODE = re.compile(r"analytics\s*\.\s*user|ajs_(user|anonymous)_id|segment", re.I)


def _key(text: str) -> str:
    return text if _BARE_KEY.match(text) else json.dumps(text, ensure_ascii=False)


def _str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _comment(text: str) -> str:
    """One comment line; TOML allows no control character in a comment."""
    return "# " + _CONTROL.sub("", " ".join(text.split()))


@dataclass
class ProjectExport:
    site: Site
    lines: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    managed: bool = False  # anything of the integration found

    @property
    def written(self) -> bool:
        """In the file: something of the integration, or a note on something not read."""
        return self.managed or any(line.startswith("#") for line in self.lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.site.id,
            "sitecode": self.site.code,
            "name": self.site.name,
            "managed": self.managed,
            "notes": self.notes,
        }


@dataclass
class Export:
    text: str
    projects: list[ProjectExport]
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        exported = [p for p in self.projects if p.written]
        return {
            "projects": [p.to_json() for p in exported],
            "skipped": [
                {"id": p.site.id, "sitecode": p.site.code, "name": p.site.name}
                for p in self.projects
                if p not in exported
            ],
            "notes": self.notes,
            "toml": self.text,
        }


def export_account(
    session: Session, *, refs: tuple[str, ...] = (), region: str | None = None
) -> Export:
    """Read the account (or the ``refs`` projects) and build the apply file."""

    client = session.kameleoon()
    chosen = bool(refs)
    sites = session.projects(list(refs)) if chosen else client.list_sites()
    items = customdata.list_custom_data(client, [s.id for s in sites])
    tools = integration.read_all_tools(client, sites)
    scripts = identifier.read_all_scripts(client, sites)

    notes: list[str] = []
    destinations = _destinations(session, region, notes)
    region = resolve_region(session, region)

    projects = []
    for site in sites:
        project = ProjectExport(site)
        _integration(project, tools.get(site.id))
        _identifier(project, scripts.get(site.id))
        _custom_data(project, items.get(site.id, []))
        _segment(project, destinations, region)
        if chosen:
            project.managed = True  # asked for by name: always written
        projects.append(project)
    text = _render(session, projects, notes)
    _self_check(text)
    return Export(text=text, projects=projects, notes=notes)


def _integration(project: ProjectExport, tools: Any) -> None:
    if isinstance(tools, KsegError):
        project.notes.append(f"Segment tool not read ({tools.message}): not managed")
        project.lines.append(
            _comment(f"integration: not read ({tools.message}); left out, apply installs it")
        )
        return
    installed = integration.is_installed(tools or [])
    project.managed |= installed
    project.lines.append(f"integration = {'true' if installed else 'false'}")


def _identifier(project: ProjectExport, script: Any) -> None:
    if isinstance(script, KsegError) or script is None:
        why = script.message if isinstance(script, KsegError) else "no script"
        project.lines.append(_comment(f"identifier: the global custom script was not read ({why})"))
        return
    found = identifier.inspect(script)
    if found.state in ("current", "outdated"):
        project.managed = True
        project.lines.append("identifier = true")
        if found.state == "outdated":
            project.notes.append("identifier block outdated: apply will update it")
            project.lines.append(_comment("(the block holds an older snippet: apply updates it)"))
    elif found.state in ("manual", "broken"):
        project.managed = True
        project.notes.append(f"identifier not adopted: {found.detail}")
        project.lines.append(
            _comment(f"identifier: not adopted, {found.detail} (apply would refuse to touch it)")
        )


def _looks_like_ours(item: CustomData) -> str | None:
    if item.name in DEFAULT_NAMES.values():
        return f"named like the integration's {item.name!r}"
    if item.code and _SEGMENT_CODE.search(item.code):
        return "its code reads Segment's data"
    return None


def _custom_data(project: ProjectExport, items: list[CustomData]) -> None:
    ours = [i for i in items if i.ours]
    project.managed |= bool(ours)
    modes = Counter(m for m in (user_id_mode(i.code) for i in ours) if m)
    if modes:
        mode, _ = modes.most_common(1)[0]
        if mode != "visitor-code":
            project.lines.append(f"user_id = {_str(mode)}")
        if len(modes) > 1:
            project.notes.append("custom data rendered for both user-id modes")
            project.lines.append(
                _comment(
                    f"custom data use both user-id modes ({', '.join(sorted(modes))}): "
                    f"{mode!r} is the most common; apply rewrites the others for it"
                )
            )
    comments: list[str] = []
    for kind in ("personas", "group"):
        found = [i for i in ours if i.ours == kind]
        if not found:
            project.lines.append(f"{kind} = false")
            continue
        first = found[0]
        value = "true" if first.name == DEFAULT_NAMES[kind] else _str(first.name)
        project.lines.append(f"{kind} = {value}")
        for extra in found[1:]:
            comments.append(
                f"{kind} custom data {extra.id} {extra.name!r} is ksegcli's too: one {kind} "
                "a project is declared; left out"
            )
    traits: list[tuple[str, str, str]] = []  # (key, name, format)
    seen: set[str] = set()
    for item in (i for i in ours if i.ours == "trait"):
        trait = item.trait
        if trait is None:
            comments.append(
                f"custom data {item.id} {item.name!r}: a ksegcli trait snippet whose trait "
                "name cannot be read; left out"
            )
            continue
        if trait in seen:
            comments.append(f"custom data {item.id} {item.name!r}: trait {trait!r} again; left out")
            continue
        seen.add(trait)
        traits.append((trait, item.name, item.format.lower() or "string"))
    for item in items:
        if item.ours:
            continue
        why = _looks_like_ours(item)
        if why:
            project.managed = True
            project.notes.append(f"custom data {item.id} {item.name!r} made by hand: not adopted")
            comments.append(
                f"hand-made, not adopted: custom data {item.id} {item.name!r} ({why}, but no "
                "ksegcli snippet header). To let ksegcli manage it, declare it here and run "
                "`ksegcli apply FILE --update`"
            )
    project.lines.extend(_comment(c) for c in comments)
    if not traits:
        return
    if all(name == key and fmt == "string" for key, name, fmt in traits):
        project.lines.append(f"traits = [{', '.join(_str(k) for k, _, _ in traits)}]")
        return
    table = [f"[projects.{_key(project.site.code)}.traits]"]
    for key, name, fmt in traits:
        if fmt == "string":
            table.append(f"{_key(key)} = {_str(name)}")
        elif name == key:
            table.append(f"{_key(key)} = {{ format = {_str(fmt)} }}")
        else:
            table.append(f"{_key(key)} = {{ name = {_str(name)}, format = {_str(fmt)} }}")
    project.tables.append("\n".join(table))


def _destinations(session: Session, region: str | None, notes: list[str]) -> dict[str, list[str]]:
    """sitecode → source ids of the Kameleoon destinations that send to it."""

    if session.credentials.lookup(credentials.SEGMENT_TOKEN) is None:
        notes.append("Segment destinations not read: no Segment token")
        return {}
    client = segment.segment_client(session, region=region)
    out: dict[str, list[str]] = {}
    for dest in client.list_destinations():
        if not segment.is_kameleoon(dest):
            continue
        settings = dest.get("settings") if isinstance(dest.get("settings"), dict) else {}
        code = settings.get("sitecode") if isinstance(settings, dict) else None
        source = dest.get("sourceId")
        if isinstance(code, str) and isinstance(source, str):
            out.setdefault(code, []).append(source)
    return out


def _segment(project: ProjectExport, destinations: dict[str, list[str]], region: str) -> None:
    sources = destinations.get(project.site.code, [])
    if not sources:
        return
    project.managed = True
    table = [
        f"[projects.{_key(project.site.code)}.segment]",
        f"source_id = {_str(sources[0])}",
        f"region = {_str(region)}",
    ]
    for other in sources[1:]:
        project.notes.append(f"destination on source {other} not declared: one source a project")
        table.append(
            _comment(
                f"also sends to this sitecode: source {other} (a file declares one source per "
                "project; apply leaves that one alone)"
            )
        )
    project.tables.append("\n".join(table))


def _render(session: Session, projects: list[ProjectExport], notes: list[str]) -> str:
    out = [
        "# The Kameleoon side of the Kameleoon <-> Segment integration, as found on the",
        f"# account ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC), by `ksegcli export`.",
        "# Check that it describes the account (exit 0: nothing to change):",
        "#   ksegcli apply FILE --dry-run --detailed-exitcode",
        "# Schema: docs/apply.md (`ksegcli apply --schema` for editors).",
    ]
    out.extend(_comment(n) for n in notes)
    out += ["", "version = 1"]
    skipped = []
    for project in projects:
        if not project.written:
            skipped.append(project.site)
            continue
        out += ["", f"[projects.{_key(project.site.code)}]  {_comment(project.site.name)}"]
        out += project.lines
        out += project.tables
    if skipped:
        out += ["", "# Projects with nothing of the integration (not exported):"]
        out += [_comment(f"  {s.code} {s.name} (id {s.id})") for s in skipped]
    if not any(p.managed for p in projects):
        raise NotFoundError(
            "Nothing of the integration on these projects: no file to write.",
            hint="Name the projects to export anyway with --project (repeatable).",
        )
    return "\n".join(out) + "\n"


def _self_check(text: str) -> None:
    """The file must pass the apply validator: a file apply refuses is a bug of ours."""

    try:
        parse(text, Path("export.toml"))
    except FileError as exc:
        raise RuntimeError(f"export wrote a file apply refuses: {exc.message}") from None
