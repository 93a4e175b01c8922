"""The ``apply`` file: a TOML description of the desired setup, validated whole.

Every problem of the file is found before any request: unknown keys (with a
"did you mean"), wrong types, invalid project references, trait names the
snippets refuse, two custom data of one name on a project. Each is reported as
``FILE:LINE:COL: message``; tomllib gives the position of syntax errors only,
so :func:`locate` finds a key's line by scanning the text.

Schema (version 1) — see docs/apply.md::

    version = 1                       # optional
    [defaults]                        # optional; every project inherits it
    integration = true                # Segment tool installed (false: uninstalled)
    identifier = true                 # identifier block in the global custom script
                                      # (false: removed; absent: not managed)
    user_id = "visitor-code"          # or "segment"
    personas = true                   # true, false (not managed) or the name
    group = true                      # true, false or the name
    traits = ["plan"]                 # list of keys, or a table (see below)

    [projects.ABCDE12345]             # a sitecode, or a numeric project id ("10001")
    traits = { plan = "Plan", age = { name = "Age", format = "number" } }

    [projects.ABCDE12345.segment]     # the Kameleoon (Actions) destination on a source
    source_id = "qQEHquLrjRDN9j1ByrChyn"
    region = "us"                     # or "eu"; a top-level [segment] sets defaults
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ksegcli.core.config import is_project_id
from ksegcli.core.kameleoon.customdata import DEFAULT_NAMES, FORMATS, CustomDataSpec, build_spec
from ksegcli.errors import BadInputError, KsegError

SCHEMA_VERSION = 1
TOP_KEYS = ("version", "defaults", "projects", "segment")
PROJECT_KEYS = ("integration", "identifier", "user_id", "personas", "group", "traits", "segment")
DEFAULT_KEYS = ("integration", "identifier", "user_id", "personas", "group", "traits")
TRAIT_KEYS = ("name", "format")
SEGMENT_KEYS = ("source_id", "region")
SEGMENT_REGIONS = ("us", "eu")
USER_IDS = ("visitor-code", "segment")
# Used with fullmatch ("$" alone also matches before a trailing newline); ASCII classes
# only. core/apply/schema.py copies these patterns into the JSON Schema.
_SOURCE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SITECODE_RE = re.compile(r"^[A-Za-z0-9]{10}$")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class SegmentHook:
    """The Segment source whose Kameleoon destination should carry this project's sitecode."""

    source_id: str | None
    region: str


@dataclass(frozen=True)
class ProjectDesired:
    ref: str  # the key as written: a sitecode or a numeric id
    integration: bool
    user_id: str
    custom_data: tuple[CustomDataSpec, ...]
    segment: SegmentHook | None
    line: int | None = None
    # The identifier block in the global custom script: True installed, False removed,
    # None (the key absent) not managed, so files written before the key keep their meaning.
    identifier: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "integration": self.integration,
            "identifier": self.identifier,
            "user_id": self.user_id,
            "custom_data": [
                {
                    "kind": s.kind,
                    "name": s.name,
                    "type": s.type,
                    "format": s.format,
                    "trait": s.trait,
                }
                for s in self.custom_data
            ],
            "segment": None
            if self.segment is None
            else {"source_id": self.segment.source_id, "region": self.segment.region},
        }


@dataclass(frozen=True)
class Desired:
    path: Path
    projects: tuple[ProjectDesired, ...]
    segment: SegmentHook | None = None


@dataclass
class FileProblem:
    path: Path_
    message: str
    line: int | None = None
    column: int | None = None


@dataclass
class _Checker:
    text: str
    problems: list[FileProblem] = field(default_factory=list)

    def add(self, path: Path_, message: str) -> None:
        where = locate(self.text, path)
        self.problems.append(FileProblem(path, message, *(where if where else (None, None))))

    def keys(self, table: Mapping[str, Any], allowed: Sequence[str], path: Path_) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.add(
                    (*path, key),
                    f"unknown key {dotted((*path, key))!r}{hint} (allowed: {', '.join(allowed)})",
                )


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'"{part}"'
            out += ("." if out else "") + text
    return out


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


# -- the key locator ------------------------------------------------------------------------

_HEADER_RE = re.compile(r"^\s*\[\[?\s*(?P<key>[^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY_RE = re.compile(
    r"""^\s*(?P<key>(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*'))*)\s*="""
)


def _key_path(raw: str) -> list[str] | None:
    """A dotted TOML key → its parts (quoted parts unquoted), by asking tomllib itself."""
    try:
        data: Any = tomllib.loads(f"{raw} = 0")
    except tomllib.TOMLDecodeError:
        return None
    parts: list[str] = []
    while isinstance(data, dict) and len(data) == 1:
        key = next(iter(data))
        parts.append(key)
        data = data[key]
    return parts


def _common(a: Sequence[str], b: Sequence[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def locate(text: str, path: Path_) -> tuple[int, int] | None:
    """(line, column), 1-based, of the key ``path`` in TOML ``text``; else of the
    written key or table header that shares most of its path (its table, or the
    key holding the inline table or array it is in). None when nothing does."""
    target = [p for p in path if isinstance(p, str)]
    best: tuple[int, tuple[int, int]] | None = None  # (parts matched, position)
    current: list[str] = []

    def consider(matched: int, where: tuple[int, int]) -> None:
        nonlocal best
        if matched > 0 and (best is None or matched > best[0]):
            best = (matched, where)

    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        header = _HEADER_RE.match(line)
        if header:
            current = _key_path(header.group("key")) or []
            consider(_common(target, current), (number, line.index("[") + 1))
            if current == target:
                return (number, line.index("[") + 1)
            continue
        match = _KEY_RE.match(line)
        if not match:
            continue
        parts = current + (_key_path(match.group("key")) or [])
        col = match.start("key") + 1
        if target[: len(parts)] != parts:
            consider(_common(target, parts), (number, col))
            continue
        matched = len(parts)
        # Inline tables: look for the remaining keys further along the same line.
        pos = match.end()
        for part in target[len(parts) :]:
            found = re.search(
                r"(?<![\w\"'])(?:" + re.escape(part) + r"|\"" + re.escape(part) + r"\")\s*=",
                line[pos:],
            )
            if not found:
                break
            col = pos + found.start() + 1
            pos += found.end()
            matched += 1
        if matched == len(target):
            return (number, col)
        consider(matched, (number, col))
    return best[1] if best else None


def _syntax_position(exc: tomllib.TOMLDecodeError, text: str) -> tuple[int | None, int | None, str]:
    message = str(exc)
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
    if match:
        return int(match.group(1)), int(match.group(2)), message[: match.start()]
    match = re.search(r"\s*\(at end of document\)\s*$", message)
    if match:
        lines = text.splitlines() or [""]
        return len(lines), len(lines[-1]) + 1, message[: match.start()] + " (at end of file)"
    return None, None, message


class FileError(BadInputError):
    """The file is invalid: every problem with its position."""

    def __init__(self, path: Path, problems: Sequence[FileProblem]) -> None:
        lines = [format_problem(path, p) for p in problems]
        count = len(problems)
        super().__init__(
            f"{path} has {count} problem{'s' if count > 1 else ''}:\n  " + "\n  ".join(lines),
            hint="See docs/apply.md for the file's schema (`ksegcli apply --help`).",
        )
        self.problems = list(problems)


def format_problem(path: Path, problem: FileProblem) -> str:
    if problem.line is None:
        return f"{path}: {problem.message}"
    return f"{path}:{problem.line}:{problem.column}: {problem.message}"


# -- parsing and validation ------------------------------------------------------------------


def load(path: Path) -> Desired:
    """Read and validate the whole file; raise :class:`FileError` listing every problem."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadInputError(f"No such file: {path}.") from None
    except OSError as exc:
        raise BadInputError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInputError(f"{path}: not valid UTF-8 text.") from None
    return parse(text, path)


def parse(text: str, path: Path) -> Desired:
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise FileError(path, [FileProblem((), "invalid TOML: nested too deeply")]) from None
    except tomllib.TOMLDecodeError as exc:
        line, column, message = _syntax_position(exc, text)
        raise FileError(path, [FileProblem((), f"invalid TOML: {message}", line, column)]) from None
    check = _Checker(text)
    check.keys(data, TOP_KEYS, ())
    version = data.get("version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION or isinstance(version, bool):
        check.add(
            ("version",),
            f"unsupported version {version!r}: this ksegcli reads version {SCHEMA_VERSION}",
        )

    defaults = _table(check, data, ("defaults",))
    check.keys(defaults, DEFAULT_KEYS, ("defaults",))
    segment = _segment(check, data.get("segment"), ("segment",), None)

    projects_raw = data.get("projects")
    projects: list[ProjectDesired] = []
    if projects_raw is None:
        check.add((), "no [projects.<SITECODE or ID>] table: nothing to apply")
    elif not isinstance(projects_raw, dict):
        check.add(("projects",), f"'projects' must be a table, not {_type_name(projects_raw)}")
    else:
        if not projects_raw:
            check.add(("projects",), "'projects' is empty: nothing to apply")
        for ref, table in projects_raw.items():
            project = _project(check, ref, table, defaults, segment)
            if project is not None:
                projects.append(project)
    _one_project_per_source(check, projects, projects_raw)
    if check.problems:
        raise FileError(path, check.problems)
    return Desired(path=path, projects=tuple(projects), segment=segment)


def _one_project_per_source(check: _Checker, projects: Sequence[ProjectDesired], raw: Any) -> None:
    """A Segment source gets one Kameleoon destination, which holds one sitecode: two
    projects on one source would make each apply rewrite the other's settings."""
    owners: dict[tuple[str, str], str] = {}
    for project in projects:
        hook = project.segment
        if hook is None or hook.source_id is None:
            continue
        key = (hook.source_id, hook.region)
        if key not in owners:
            owners[key] = project.ref
            continue
        own = isinstance(raw, dict) and isinstance(raw.get(project.ref), dict)
        declared = own and "segment" in raw[project.ref]
        where: Path_ = ("projects", project.ref, "segment") if declared else ("segment",)
        check.add(
            where,
            f"Segment source {hook.source_id!r} is declared for projects {owners[key]} and "
            f"{project.ref}: a source sends to one Kameleoon destination, with one sitecode "
            "(give each project its own source, under [projects.<ref>.segment])",
        )


def _table(check: _Checker, parent: Mapping[str, Any], path: Path_) -> dict[str, Any]:
    value = parent.get(path[-1]) if isinstance(path[-1], str) else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        check.add(path, f"{dotted(path)!r} must be a table, not {_type_name(value)}")
        return {}
    return value


def _bool(check: _Checker, value: Any, path: Path_) -> bool | None:
    if isinstance(value, bool):
        return value
    check.add(path, f"{dotted(path)!r} must be true or false, not {_type_name(value)}")
    return None


def _choice(check: _Checker, value: Any, choices: Sequence[str], path: Path_) -> str | None:
    if isinstance(value, str) and value in choices:
        return value
    shown = repr(value) if isinstance(value, str) else _type_name(value)
    close = (
        difflib.get_close_matches(value, choices, n=1, cutoff=0.5) if isinstance(value, str) else []
    )
    hint = f"; did you mean {close[0]!r}?" if close else ""
    check.add(
        path, f"{dotted(path)!r} must be one of {', '.join(map(repr, choices))}, not {shown}{hint}"
    )
    return None


def _name_or_flag(check: _Checker, value: Any, path: Path_) -> str | bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip():
        return value.strip()
    check.add(
        path,
        f"{dotted(path)!r} must be true, false or the custom data's name, not "
        + (repr(value) if isinstance(value, str) else _type_name(value)),
    )
    return None


def _traits(check: _Checker, value: Any, path: Path_) -> dict[str, tuple[str | None, str, Path_]]:
    """key → (name or None, format, where) from a list of keys or a table."""
    out: dict[str, tuple[str | None, str, Path_]] = {}
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str) and item:
                if item in out:
                    check.add((*path, i), f"trait {item!r} is listed twice")
                out[item] = (None, "string", (*path, i))
            else:
                check.add(
                    (*path, i), f"{dotted((*path, i))!r} must be a trait key (a non-empty string)"
                )
        return out
    if not isinstance(value, dict):
        check.add(
            path,
            f"{dotted(path)!r} must be an array of trait keys or a table, not {_type_name(value)}",
        )
        return out
    for key, spec in value.items():
        where = (*path, key)
        if isinstance(spec, str):
            if not spec.strip():
                check.add(where, f"{dotted(where)!r}: the custom data name is empty")
                continue
            out[key] = (spec.strip(), "string", where)
        elif isinstance(spec, bool) and spec:
            out[key] = (None, "string", where)
        elif isinstance(spec, dict):
            check.keys(spec, TRAIT_KEYS, where)
            name = spec.get("name")
            if name is not None and (not isinstance(name, str) or not name.strip()):
                check.add(
                    (*where, "name"), f"{dotted((*where, 'name'))!r} must be a non-empty string"
                )
                name = None
            fmt = spec.get("format", "string")
            fmt = _choice(check, fmt, tuple(FORMATS), (*where, "format")) or "string"
            out[key] = (name.strip() if isinstance(name, str) else None, fmt, where)
        else:
            check.add(
                where,
                f"{dotted(where)!r} must be the custom data's name, true, or a table "
                f"{{ name = ..., format = ... }}, not {_type_name(spec)}",
            )
    return out


def _segment(
    check: _Checker, value: Any, path: Path_, inherited: SegmentHook | None
) -> SegmentHook | None:
    if value is None:
        return inherited
    if not isinstance(value, dict):
        check.add(path, f"{dotted(path)!r} must be a table, not {_type_name(value)}")
        return inherited
    check.keys(value, SEGMENT_KEYS, path)
    source = value.get("source_id", inherited.source_id if inherited else None)
    if source is not None and not (isinstance(source, str) and _SOURCE_ID_RE.fullmatch(source)):
        check.add(
            (*path, "source_id"),
            f"{dotted((*path, 'source_id'))!r} must be a Segment source id (letters, digits, "
            "'_' or '-'), as `ksegcli segment` lists them",
        )
        source = None
    region = value.get("region", inherited.region if inherited else "us")
    region = _choice(check, region, SEGMENT_REGIONS, (*path, "region")) or "us"
    return SegmentHook(source_id=source, region=region)


def _project(
    check: _Checker,
    ref: str,
    table: Any,
    defaults: Mapping[str, Any],
    segment: SegmentHook | None,
) -> ProjectDesired | None:
    path: Path_ = ("projects", ref)
    ok = True
    if not (is_project_id(ref) or _SITECODE_RE.fullmatch(ref)):
        shown = ref if len(ref) <= 80 else ref[:80] + "…"
        check.add(
            path,
            f"invalid project {shown!r}: use its sitecode (exactly 10 letters or digits) or its "
            'numeric id (quoted: [projects."10001"])',
        )
        ok = False
    if not isinstance(table, dict):
        check.add(path, f"{dotted(path)!r} must be a table, not {_type_name(table)}")
        return None
    check.keys(table, PROJECT_KEYS, path)

    def value(key: str) -> tuple[Any, Path_]:
        if key in table:
            return table[key], (*path, key)
        return defaults.get(key), ("defaults", key)

    raw, where = value("integration")
    integration = True if raw is None else _bool(check, raw, where)
    raw, where = value("identifier")
    identifier = None if raw is None else _bool(check, raw, where)
    raw, where = value("user_id")
    user_id = "visitor-code" if raw is None else _choice(check, raw, USER_IDS, where)
    flags: dict[str, str | bool | None] = {}
    for kind in ("personas", "group"):
        raw, where = value(kind)
        flags[kind] = True if raw is None else _name_or_flag(check, raw, where)
    traits: dict[str, tuple[str | None, str, Path_]] = {}
    if "traits" in defaults:
        traits.update(_traits(check, defaults["traits"], ("defaults", "traits")))
    if "traits" in table:
        traits.update(_traits(check, table["traits"], (*path, "traits")))
    hook = _segment(check, table.get("segment"), (*path, "segment"), segment)
    if not ok or integration is None or user_id is None:
        return None

    specs: list[CustomDataSpec] = []
    names: dict[str, Path_] = {}

    def add(kind: str, where: Path_, **kwargs: Any) -> None:
        try:
            spec = build_spec(kind, user_id=user_id, **kwargs)
        except KsegError as exc:
            check.add(where, exc.message.rstrip("."))
            return
        if spec.name in names:
            check.add(
                where,
                f"two custom data named {spec.name!r} on project {ref} "
                f"(also {dotted(names[spec.name])})",
            )
            return
        names[spec.name] = where
        specs.append(spec)

    for kind in ("personas", "group"):
        flag = flags[kind]
        if flag is None or flag is False:
            continue
        where = (*path, kind) if kind in table else ("defaults", kind)
        add(kind, where, name=DEFAULT_NAMES[kind] if flag is True else str(flag))
    for key, (name, fmt, where) in traits.items():
        add("trait", where, trait=key, name=name, fmt=fmt)
    return ProjectDesired(
        ref=ref,
        integration=integration,
        user_id=user_id,
        custom_data=tuple(specs),
        segment=hook,
        line=(locate(check.text, path) or (None, None))[0],
        identifier=identifier,
    )
