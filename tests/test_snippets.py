"""ksegcli.core.snippets without node: escaping, validation, determinism, SDK snippets."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from typing import Any

import pytest

import ksegcli
from ksegcli.core.snippets import (
    DATA_HOSTS,
    SNIPPET_KINDS,
    USER_ID_MODES,
    Snippet,
    SnippetError,
    js_string,
    persona_values_url,
    render_snippet,
)

SITECODE = "a1b2c3d4e5"

HOSTILE = [
    'x"]);alert(1)//',
    "</script><script>alert(1)</script>",
    "first-name",
    "prénom ünïcødé 名前 😀",
    "line\u2028sep\u2029para",
    "back\\slash 'single' \"double\" `tick` ${x}",
    "<!-- -->",
    "a\nb\r\tc\x00d\x7f",
    "constructor",
    "__proto__",
    "{{trait}}",
]


def every_snippet() -> list[tuple[str, dict[str, Any]]]:
    """(kind, kwargs) for every kind, user-id mode and host."""
    cases: list[tuple[str, dict[str, Any]]] = []
    for mode in USER_ID_MODES:
        cases += [
            ("identifier", {"user_id": mode}),
            ("personas", {"user_id": mode}),
            ("trait", {"user_id": mode, "trait": "plan"}),
            ("group", {"user_id": mode}),
        ]
    cases += [("persona-values", {"sitecode": SITECODE, "data_host": h}) for h in DATA_HOSTS]
    return cases


# -- js_string -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [*HOSTILE, "", "plain", "\ud800"])
def test_js_string_is_json_that_decodes_back(value: str) -> None:
    literal = js_string(value)
    assert json.loads(literal) == value  # \uXXXX escapes are valid JSON as well as JS
    assert literal.isascii()
    assert not set(literal[1:-1]) & set("<>&'\u2028\u2029")
    assert re.search(r'(?<!\\)"', literal[1:-1]) is None  # no unescaped double quote inside


def test_js_string_escapes_script_breakers() -> None:
    assert js_string("</script>") == '"\\u003c/script\\u003e"'
    assert js_string("a&b'c") == '"a\\u0026b\\u0027c"'
    assert js_string("\u2028\u2029") == '"\\u2028\\u2029"'
    assert js_string('"\\') == '"\\"\\\\"'


@pytest.mark.parametrize("value", HOSTILE)
def test_python_literal_of_trait_names_round_trips(value: str) -> None:
    code = render_snippet("trait", trait=value, sdk="python").code
    literal = re.search(r"\)\.get\((\".*\")\)$", code, re.MULTILINE)
    assert literal is not None
    assert ast.literal_eval(literal.group(1)) == value
    assert code.isascii()


def test_go_literal_uses_long_escapes_for_astral_characters() -> None:
    code = render_snippet("trait", trait='😀\u2028"\\', sdk="go").code
    assert 'identify.Traits["\\U0001f600\\u2028\\"\\\\"]' in code
    assert "\\ud83d" not in code  # a surrogate escape is a compile error in Go


# -- rendering -------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "kwargs"), every_snippet())
def test_every_kind_renders_clean_deterministic_ascii(kind: str, kwargs: dict[str, Any]) -> None:
    snippet = render_snippet(kind, **kwargs)
    assert isinstance(snippet, Snippet)
    assert snippet.kind == kind
    assert snippet.language == "javascript"
    assert snippet.paste_into == SNIPPET_KINDS[kind].paste_into
    assert snippet.code.startswith(f"// ksegcli {kind} snippet")
    assert snippet.code.endswith("\n")
    assert "{{" not in snippet.code and "}}" not in snippet.code
    assert snippet.code.isascii()
    assert ksegcli.__version__ not in snippet.code  # upgrading must not look like drift
    assert render_snippet(kind, **kwargs) == snippet


def test_acquisition_code_states_its_user_id_mode_and_reads_exactly_one() -> None:
    vc = render_snippet("personas", user_id="visitor-code").code
    seg = render_snippet("personas", user_id="segment").code
    assert vc.splitlines()[0] == "// ksegcli personas snippet - user id: Kameleoon visitor code"
    assert seg.splitlines()[0] == "// ksegcli personas snippet - user id: Segment user id"
    assert vc.count("var userId") == 1 and "analytics" not in vc
    assert seg.count("var userId") == 1 and "Visitor.code" not in seg


def test_each_acquisition_kind_reads_its_remote_key() -> None:
    assert 'var key = "COHORTS_" + userId;' in render_snippet("personas").code
    assert 'var key = "IDENTIFY_" + userId;' in render_snippet("trait", trait="plan").code
    assert 'var key = "IDENTIFY_" + userId;' in render_snippet("group").code
    # the old shared flag that let only the first custom data fetch is gone
    for kind, kwargs in every_snippet():
        assert "runtime" not in render_snippet(kind, **kwargs).code


def test_identifier_ignores_the_user_id_mode() -> None:
    assert render_snippet("identifier").code == render_snippet("identifier", user_id="segment").code


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_trait_name_is_one_escaped_literal(name: str) -> None:
    code = render_snippet("trait", trait=name).code
    assert f"var traitName = {js_string(name)};\n" in code
    assert "</" not in code and "<!--" not in code
    assert code.isascii()


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("legacy", f"https://api-data.kameleoon.com/data?key=common&siteCode={SITECODE}"),
        ("data", f"https://data.kameleoon.io/map/map?siteCode={SITECODE}&key=common"),
        ("eu-data", f"https://eu-data.kameleoon.io/map/map?siteCode={SITECODE}&key=common"),
        ("na-data", f"https://na-data.kameleoon.io/map/map?siteCode={SITECODE}&key=common"),
        ("eu-data-eu", f"https://eu-data.kameleoon.eu/map/map?siteCode={SITECODE}&key=common"),
        ("na-data-eu", f"https://na-data.kameleoon.eu/map/map?siteCode={SITECODE}&key=common"),
    ],
)
def test_persona_values_url_per_host(host: str, url: str) -> None:
    assert persona_values_url(SITECODE, host) == url
    assert (
        f'var siteCode = "{SITECODE}";'
        in render_snippet("persona-values", sitecode=SITECODE, data_host=host).code
    )


def test_persona_values_defaults_to_the_documented_host() -> None:
    code = render_snippet("persona-values", sitecode=SITECODE).code
    assert '"https://api-data.kameleoon.com/data?key=common&siteCode=" + siteCode' in code


def test_host_table_needs_no_escaping() -> None:
    # _persona_url_expression writes hosts as plain literals: they must stay plain.
    for base in DATA_HOSTS.values():
        assert re.fullmatch(r"https://[a-z0-9.-]+", base)


def test_sitecode_is_ignored_by_kinds_that_do_not_use_it() -> None:
    assert render_snippet("personas", sitecode="not valid!") == render_snippet("personas")


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "kwargs", "message"),
    [
        ("cohorts", {}, "Unknown snippet kind 'cohorts'. Choose one of: identifier, personas"),
        ("personas", {"user_id": "email"}, "Choose one of: visitor-code, segment."),
        ("trait", {}, "needs the trait's name"),
        ("trait", {"trait": ""}, "needs the trait's name"),
        ("trait", {"trait": "bad\udc80"}, "not valid Unicode"),
        ("personas", {"trait": "plan"}, "takes no name"),
        ("persona-values", {}, "needs the project's sitecode"),
        ("persona-values", {"sitecode": ""}, "needs the project's sitecode"),
        ("persona-values", {"sitecode": "abc"}, "exactly 10 ASCII letters or digits"),
        ("persona-values", {"sitecode": "a1b2c3d4e5f"}, "exactly 10"),
        ("persona-values", {"sitecode": "a1b2c3d4e-"}, "exactly 10"),
        ("persona-values", {"sitecode": "١٢٣٤٥٦٧٨٩٠"}, "exactly 10"),  # non-ASCII digits
        ("persona-values", {"sitecode": "a1b2c3d4e5\n"}, "exactly 10"),
        ("persona-values", {"sitecode": SITECODE, "data_host": "us"}, "legacy (https://"),
        ("identifier", {"sdk": "python"}, "has no SDK version"),
        ("persona-values", {"sitecode": SITECODE, "sdk": "go"}, "has no SDK version"),
        ("personas", {"sdk": "ruby"}, "Unknown SDK 'ruby'. Choose one of: python, go, js."),
        ("personas", {"sdk": "python", "user_var": "class"}, "Invalid --user-var 'class'"),
        ("personas", {"sdk": "python", "user_var": "1st"}, "Python variable"),
        ("personas", {"sdk": "go", "user_var": "user-id"}, "Go variable"),
        ("personas", {"sdk": "go", "user_var": "func"}, "Go variable"),
        ("personas", {"sdk": "js", "user_var": "this"}, "JavaScript variable"),
        ("personas", {"sdk": "js", "user_var": "kameleoonClient"}, "declares"),
        ("personas", {"sdk": "python", "user_var": "utilisé"}, "ASCII"),
        ("personas", {"sdk": "python", "user_var": ""}, "Invalid --user-var"),
    ],
)
def test_bad_requests_raise_a_clear_snippet_error(
    kind: str, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(SnippetError, match=re.escape(message)):
        render_snippet(kind, **kwargs)


def test_snippet_error_is_a_value_error() -> None:
    assert issubclass(SnippetError, ValueError)


# -- SDK snippets ----------------------------------------------------------------------------


class FakeClient:
    """The Python SDK's get_remote_data(key, timeout=None): decoded JSON or None."""

    def __init__(self, store: dict[str, Any]) -> None:
        self.store = store
        self.keys: list[str] = []

    def get_remote_data(self, key: str, timeout: float | None = None) -> Any:
        self.keys.append(key)
        return self.store.get(key)


def run_python_snippet(code: str, user_var: str, user_id: str, store: dict[str, Any]) -> Any:
    client = FakeClient(store)
    namespace: dict[str, Any] = {"kameleoon_client": client, user_var: user_id}
    exec(compile(code, "<snippet>", "exec"), namespace)
    return namespace, client.keys


def test_python_sdk_snippets_read_the_same_values() -> None:
    store = {
        "COHORTS_u1": {"Buyers": True, "Churned": False, "Fans": "true"},
        "IDENTIFY_u1": {"traits": {"first-name": "Ada", "plan": "pro"}, "groupId": "g7"},
    }
    personas = render_snippet("personas", sdk="python", user_var="uid").code
    namespace, keys = run_python_snippet(personas, "uid", "u1", store)
    assert namespace["personas"] == ["Buyers", "Fans"] and keys == ["COHORTS_u1"]

    trait = render_snippet("trait", trait="first-name", sdk="python").code
    namespace, keys = run_python_snippet(trait, "user_id", "u1", store)
    assert namespace["trait"] == "Ada" and keys == ["IDENTIFY_u1"]

    group = render_snippet("group", sdk="python").code
    namespace, _ = run_python_snippet(group, "user_id", "u1", store)
    assert namespace["group_id"] == "g7"

    # nothing stored yet: empty, not an exception
    namespace, _ = run_python_snippet(trait, "user_id", "nobody", store)
    assert namespace["trait"] is None
    namespace, _ = run_python_snippet(personas, "uid", "nobody", store)
    assert namespace["personas"] == []


@pytest.mark.parametrize(
    ("sdk", "language"), [("python", "python"), ("go", "go"), ("js", "javascript")]
)
@pytest.mark.parametrize("kind", ["personas", "trait", "group"])
def test_sdk_snippets_use_the_sdk_method_and_the_named_variable(
    kind: str, sdk: str, language: str
) -> None:
    snippet = render_snippet(
        kind, trait="plan" if kind == "trait" else None, sdk=sdk, user_var="uid"
    )
    method = {"python": "get_remote_data", "go": "GetRemoteData", "js": "getRemoteData"}[sdk]
    prefix = "COHORTS_" if kind == "personas" else "IDENTIFY_"
    assert f'{method}("{prefix}" + uid)' in snippet.code
    assert snippet.language == language
    assert snippet.paste_into.startswith("Your server code")
    assert snippet.code.isascii() and "{{" not in snippet.code
    assert (
        render_snippet(kind, trait="plan" if kind == "trait" else None, sdk=sdk, user_var="uid")
        == snippet
    )


# -- import cost ---------------------------------------------------------------------------


def test_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, ksegcli.core.snippets as s; s.render_snippet('trait', trait='x');"
        "print(sorted(m for m in ('httpx','rich','typer','click','importlib.resources')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
