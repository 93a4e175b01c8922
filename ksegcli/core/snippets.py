"""Render the JavaScript (and SDK) snippets of the Kameleoon <-> Segment integration.

Offline and account-free: this is the first thing a newcomer runs, and the custom-data creator
uses ``render_snippet(...).code`` as ``customEvalCode`` and compares it to detect drift. So:
stdlib only (start-up path), deterministic output (no timestamps, no version numbers), and every
user-provided value goes in as an escaped string literal, never as code.

Templates live beside the package in ``ksegcli/snippets/`` (``*.js``; ``sdk/*.<lang>.txt``).
Fragments whose name starts with ``_`` are shared by several templates.
"""

from __future__ import annotations

import keyword
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from ksegcli.core.kameleoon import datahosts

try:  # what json.dumps(str, ensure_ascii=True) calls, without importing the json package
    from _json import encode_basestring_ascii as _json_ascii
except ImportError:  # pragma: no cover (Pythons without the C accelerator)
    from json.encoder import py_encode_basestring_ascii as _json_ascii

__all__ = [
    "DATA_HOSTS",
    "DEFAULT_DATA_HOST",
    "SDK_LANGUAGES",
    "SNIPPET_KINDS",
    "USER_ID_MODES",
    "Snippet",
    "SnippetError",
    "SnippetKind",
    "js_string",
    "persona_values_url",
    "render_snippet",
    "user_id_mode",
]


class SnippetError(ValueError):
    """A snippet request that cannot be rendered; the message is meant for the user."""


# Records as NamedTuples rather than dataclasses: same reading, a fraction of the creation
# cost, which every `snippet render` pays at start-up.
class SnippetKind(NamedTuple):
    name: str
    description: str
    paste_into: str
    takes_name: bool = False  # only `trait NAME`
    needs_sitecode: bool = False  # only persona-values
    has_sdk: bool = False  # personas, trait and group have a server-side (--sdk) version
    uses_user_id: bool = False  # acquisition code that reads the user's remote data


class Snippet(NamedTuple):
    kind: str
    code: str
    paste_into: str
    language: str  # "javascript" | "python" | "go"


_ACQUISITION = "Custom data › Acquisition method › Custom JavaScript code"

SNIPPET_KINDS: dict[str, SnippetKind] = {
    "identifier": SnippetKind(
        "identifier",
        "Sends the Kameleoon visitor code to Segment ('Kameleoon identifier' track call), "
        "once per Segment anonymous id",
        "Project › Global custom script",
    ),
    "personas": SnippetKind(
        "personas",
        "Custom data (list of strings): the Segment personas the user is in",
        _ACQUISITION,
        has_sdk=True,
        uses_user_id=True,
    ),
    "trait": SnippetKind(
        "trait",
        "Custom data (string): one Segment identify trait, by name",
        _ACQUISITION,
        takes_name=True,
        has_sdk=True,
        uses_user_id=True,
    ),
    "group": SnippetKind(
        "group",
        "Custom data (string): the Segment group id",
        _ACQUISITION,
        has_sdk=True,
        uses_user_id=True,
    ),
    "persona-values": SnippetKind(
        "persona-values",
        "The persona names offered in the targeting condition of the personas custom data",
        "Custom data › Save the values for the targeting condition",
        needs_sitecode=True,
    ),
}

USER_ID_MODES = ("visitor-code", "segment")
_USER_ID_LABELS = {"visitor-code": "Kameleoon visitor code", "segment": "Segment user id"}
# The header line of the acquisition templates names the mode they were rendered for.
_HEADER_MODE_RE = re.compile(r"\A\s*// ksegcli [a-z-]+ snippet - user id: (.+?)\s*$", re.MULTILINE)


def user_id_mode(code: str | None) -> str | None:
    """The user-id mode an acquisition snippet was rendered for (from its header line),
    None when the code is not one of them."""
    match = _HEADER_MODE_RE.match(code or "")
    if not match:
        return None
    for mode, label in _USER_ID_LABELS.items():
        if match.group(1) == label:
            return mode
    return None


# Data API hosts for the persona list: the one set every Data API command takes
# (core/kameleoon/datahosts.py), plus "legacy", the host the help article documents, read through its
# older /data?key= endpoint; the others are the current Data API (docs/api-facts.md §3).
DEFAULT_DATA_HOST = datahosts.LEGACY
DATA_HOSTS: dict[str, str] = {datahosts.LEGACY: datahosts.LEGACY_URL, **datahosts.HOSTS}

# --sdk value -> (template suffix, Snippet.language, language's name, where it goes)
SDK_LANGUAGES: dict[str, tuple[str, str, str, str]] = {
    "python": ("py", "python", "Python", "Your server code (Kameleoon Python SDK)"),
    "go": ("go", "go", "Go", "Your server code (Kameleoon Go SDK)"),
    "js": ("js", "javascript", "JavaScript", "Your server code (Kameleoon JavaScript/Node.js SDK)"),
}

_SITECODE_RE = re.compile(r"[A-Za-z0-9]{10}")
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLACEHOLDER_RE = re.compile(r"\{\{([a-z_]+)\}\}")


# Reserved words that cannot name a variable. Identifiers are kept to ASCII on purpose: the same
# rule then holds in all three languages and the rendered code stays pure ASCII.
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_RESERVED: dict[str, frozenset[str]] = {  # keyed like SDK_LANGUAGES
    "python": frozenset(keyword.kwlist),
    "go": _words(
        "break case chan const continue default defer else fallthrough for func go goto if "
        "import interface map package range return select struct switch type var "
        # predeclared names the snippet itself relies on: shadowing them breaks it
        "json sort append nil true false string"
    ),
    "js": _words(
        "await break case catch class const continue debugger default delete do else enum "
        "export extends false finally for function if implements import in instanceof "
        "interface let new null package private protected public return static super switch "
        "this throw true try typeof var void while with yield arguments eval undefined"
    ),
}
# Names the SDK templates declare themselves: the user id variable must not be one of them.
_SDK_LOCALS = _words(
    "kameleoon_client kameleoonClient cohorts personas identify trait traits traitName "
    "group_id groupId groupID raw err name member"
)

_TEMPLATE_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "snippets"
)
_template_cache: dict[str, str] = {}


def _template(name: str) -> str:
    # Plain file reads rather than importlib.resources: that import alone costs more than the
    # whole render, and the package is always installed as files (wheel, editable, sdist).
    text = _template_cache.get(name)
    if text is None:
        with open(os.path.join(_TEMPLATE_DIR, name), encoding="utf-8") as handle:
            text = handle.read()
        _template_cache[name] = text
    return text


def _fill(template: str, values: Mapping[str, str], *, partial: bool = False) -> str:
    # One pass, so a value that happens to contain "{{x}}" is never expanded again. `partial`
    # leaves unknown placeholders for a later pass (used to splice in fragments first).
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        if partial:
            return match.group(0)
        raise KeyError(f"snippet template placeholder {{{{{name}}}}} has no value")  # a bug

    return _PLACEHOLDER_RE.sub(replace, template)


# -- string literals -------------------------------------------------------------------------

_JS_EXTRA_ESCAPES = {
    "<": "\\u003c",  # no "</script>" or "<!--" can close or confuse an enclosing <script>
    ">": "\\u003e",
    "&": "\\u0026",
    "'": "\\u0027",  # safe inside a single-quoted HTML attribute too
    "\u2028": "\\u2028",  # line terminators inside string literals before ES2019
    "\u2029": "\\u2029",
}
_JS_EXTRA_RE = re.compile("[<>&'\u2028\u2029]")


def js_string(value: str) -> str:
    """Return ``value`` as a JavaScript string literal, also safe inside an HTML ``<script>``.

    JSON escaping (quotes, backslashes, control and non-ASCII characters as ``\\uXXXX``) plus
    ``< > & '`` and U+2028/U+2029, so the literal is pure ASCII and only ever data.
    """
    encoded = _json_ascii(value)  # exactly json.dumps(value, ensure_ascii=True)
    return _JS_EXTRA_RE.sub(lambda m: _JS_EXTRA_ESCAPES[m.group(0)], encoded)


def _py_go_string(value: str) -> str:
    # Python and Go share this literal form: printable ASCII as is, everything else escaped,
    # astral characters as \UXXXXXXXX (a JSON-style surrogate pair would be two wrong
    # characters in Python and a compile error in Go).
    out = ['"']
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


_LITERALS: dict[str, Callable[[str], str]] = {
    "javascript": js_string,
    "python": _py_go_string,
    "go": _py_go_string,
}


# -- validation ------------------------------------------------------------------------------


def _choices(options: Iterable[str]) -> str:
    return ", ".join(options)


def _check_kind(kind: str) -> SnippetKind:
    spec = SNIPPET_KINDS.get(kind)
    if spec is None:
        raise SnippetError(
            f"Unknown snippet kind {kind!r}. Choose one of: {_choices(SNIPPET_KINDS)}."
        )
    return spec


def _check_trait(spec: SnippetKind, trait: str | None) -> str | None:
    if not spec.takes_name:
        if trait is not None:
            raise SnippetError(f"The {spec.name} snippet takes no name (only 'trait NAME' does).")
        return None
    if trait is None or trait == "":
        raise SnippetError(
            "The trait snippet needs the trait's name, as Segment sends it "
            "(e.g. 'ksegcli snippet render trait plan')."
        )
    if any("\ud800" <= char <= "\udfff" for char in trait):
        # Lone surrogates (undecodable bytes on the command line) are not a real trait name and
        # cannot be written as a Go string.
        raise SnippetError("The trait name is not valid Unicode text.")
    return trait


def _check_sitecode(sitecode: str | None) -> str:
    if not sitecode:
        raise SnippetError(
            "The persona-values snippet needs the project's sitecode "
            "(--sitecode, KAMELEOON_SITECODE or 'ksegcli sitecode set CODE')."
        )
    if not _SITECODE_RE.fullmatch(sitecode):
        raise SnippetError(
            f"Invalid sitecode {sitecode!r}: a sitecode is exactly 10 ASCII letters or digits."
        )
    return sitecode


def _check_user_var(user_var: str, sdk: str) -> str:
    if (
        not _IDENTIFIER_RE.fullmatch(user_var)
        or user_var in _RESERVED[sdk]
        or user_var in _SDK_LOCALS
    ):
        raise SnippetError(
            f"Invalid --user-var {user_var!r}: give the name of the {SDK_LANGUAGES[sdk][2]} "
            "variable that "
            "holds the user id (ASCII letters, digits and _, not starting with a digit, not a "
            "reserved word or a name the snippet declares)."
        )
    return user_var


# -- rendering -------------------------------------------------------------------------------


# The persona list URL per host, as a JS expression over the variable `siteCode` (kept as its
# own escaped literal), so the code shows the URL plainly and the two stay in step.
_PERSONA_URL_FORMATS = {
    "legacy": ("{base}/data?key=common&siteCode=", ""),
    "current": ("{base}/map/map?siteCode=", "&key=common"),
}


def _persona_url_parts(data_host: str) -> tuple[str, str]:
    prefix, suffix = _PERSONA_URL_FORMATS["legacy" if data_host == "legacy" else "current"]
    return prefix.format(base=DATA_HOSTS[data_host]), suffix


def persona_values_url(sitecode: str, data_host: str = DEFAULT_DATA_HOST) -> str:
    """The URL the persona-values snippet reads the project's persona list (key ``common``) from."""
    prefix, suffix = _persona_url_parts(data_host)
    return prefix + sitecode + suffix


def _persona_url_expression(data_host: str) -> str:
    # Host and paths are our own constants (no quote, backslash or "<"), so they are written as
    # plain literals: js_string would turn "&" into \u0026 and obscure the URL for the reader.
    prefix, suffix = _persona_url_parts(data_host)
    expression = f'"{prefix}" + siteCode'
    return expression + (f' + "{suffix}"' if suffix else "")


def _render_acquisition(spec: SnippetKind, user_id: str, trait: str | None) -> str:
    key_prefix = "COHORTS_" if spec.name == "personas" else "IDENTIFY_"
    user_id_code = _template(f"_user_id_{user_id.replace('-', '_')}.js").rstrip("\n")
    remote_data = _template("_remote_data.js").rstrip("\n")
    # Fragments first (trusted template text), then the values in a single pass.
    template = _fill(
        _template(f"{spec.name}.js"),
        {"user_id": user_id_code, "remote_data": remote_data},
        partial=True,
    )
    values = {
        "user_id_label": _USER_ID_LABELS[user_id],
        "key_prefix": js_string(key_prefix),
        "trait": js_string(trait) if trait is not None else "",
    }
    return _fill(template, values)


def render_snippet(
    kind: str,
    *,
    user_id: str = "visitor-code",
    trait: str | None = None,
    sitecode: str | None = None,
    data_host: str = DEFAULT_DATA_HOST,
    sdk: str | None = None,
    user_var: str = "user_id",
) -> Snippet:
    """Render one snippet, ready to paste. Raises :class:`SnippetError` on a bad request.

    ``sitecode`` matters only to persona-values and ``user_id`` only to the acquisition code, so
    a caller may pass its defaults (e.g. the profile's sitecode) for every kind.
    """
    spec = _check_kind(kind)
    if user_id not in USER_ID_MODES:
        raise SnippetError(
            f"Invalid user-id mode {user_id!r}. Choose one of: {_choices(USER_ID_MODES)}."
        )
    host = datahosts.canonical(data_host, legacy=True)
    if host is None:
        raise SnippetError(
            f"Unknown data host {data_host!r}. Choose one of: "
            + ", ".join(f"{name} ({url})" for name, url in DATA_HOSTS.items())
            + " (or "
            + ", ".join(datahosts.ALIASES)
            + ")."
        )
    data_host = host
    name = _check_trait(spec, trait)

    if sdk is not None:
        if sdk not in SDK_LANGUAGES:
            raise SnippetError(f"Unknown SDK {sdk!r}. Choose one of: {_choices(SDK_LANGUAGES)}.")
        if not spec.has_sdk:
            raise SnippetError(
                f"The {spec.name} snippet has no SDK version (--sdk is for personas, trait "
                "and group)."
            )
        suffix, language, _, paste_into = SDK_LANGUAGES[sdk]
        variable = _check_user_var(user_var, sdk)
        literal = _LITERALS[language]
        code = _fill(
            _template(f"sdk/{spec.name}.{suffix}.txt"),
            {"user_var": variable, "trait": literal(name) if name is not None else ""},
        )
        return Snippet(kind=spec.name, code=code, paste_into=paste_into, language=language)

    if spec.name == "identifier":
        code = _template("identifier.js")
    elif spec.name == "persona-values":
        code = _fill(
            _template("persona_values.js"),
            {
                "sitecode": js_string(_check_sitecode(sitecode)),
                "url_expression": _persona_url_expression(data_host),
            },
        )
    else:
        code = _render_acquisition(spec, user_id, name)
    return Snippet(kind=spec.name, code=code, paste_into=spec.paste_into, language="javascript")
