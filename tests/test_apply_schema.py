"""The apply file's JSON Schema: generated from the validator's rules, committed, printed by
`ksegcli apply --schema`, and in agreement with the validator on every file the tests know."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import ProcRunner

from ksegcli.core.apply.desired import TOP_KEYS, FileError, parse
from ksegcli.core.apply.schema import COMMAND, build_schema, schema_text

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "docs" / "schema" / "apply.schema.json"
EXAMPLE = ROOT / "examples" / "account.toml"
# The only rules that compare one key with another, which JSON Schema cannot express:
# the validator refuses these files and the schema lets them through (its description says so).
BEYOND_SCHEMA = ("two custom data named", "is declared for projects")

# Files for rules the other tests do not cover: (text, valid?).
OWN_CASES: list[tuple[str, bool]] = [
    ('[projects.ABCDE12345]\npersonas = "  "\n', False),
    ('[projects.ABCDE12345]\ngroup = "Team"\npersonas = false\n', True),
    ('[projects."10001"]\ntraits = ["plan", "age"]\n', True),
    ("[projects.ABCDE12345]\ntraits = []\n", True),
    ('[projects.ABCDE12345]\ntraits = [""]\n', False),
    ('[projects.ABCDE12345]\ntraits = [" "]\n', False),
    ("[projects.ABCDE12345]\ntraits = [3]\n", False),
    ("[projects.ABCDE12345]\ntraits = { plan = false }\n", False),
    ("[projects.ABCDE12345]\ntraits = { plan = true }\n", True),
    ('[projects.ABCDE12345]\ntraits = { plan = "" }\n', False),
    ('[projects.ABCDE12345]\ntraits = { " " = "Plan" }\n', False),
    ('[projects.ABCDE12345]\ntraits = { plan = { name = "" } }\n', False),
    ("[projects.ABCDE12345]\ntraits = { plan = { name = 3 } }\n", False),
    ("[projects.ABCDE12345]\ntraits = { plan = {} }\n", True),
    ('[projects.ABCDE12345]\ntraits = "plan"\n', False),
    ('[projects.ABCDE12345]\npersonas = "' + "x" * 255 + '"\n', True),
    ('[projects.ABCDE12345]\npersonas = "' + "x" * 256 + '"\n', False),
    ("[projects.ABCDE12345]\nidentifier = 1\n", False),
    ("[projects.ABCDE12345]\nidentifier = false\n", True),
    ("projects = 3\n", False),
    ("[projects]\n", False),
    ("projects.ABCDE12345 = 3\n", False),
    ("version = true\n[projects.ABCDE12345]\n", False),
    ("version = 1\n[projects.ABCDE12345]\n", True),
    ("defaults = 1\n[projects.ABCDE12345]\n", False),
    ("[defaults]\nsegment = {}\n[projects.ABCDE12345]\n", False),
    ("unknown = 1\n[projects.ABCDE12345]\n", False),
    ("[projects.ABCDE12345]\nsegment = 3\n", False),
    ('[projects.ABCDE12345.segment]\nsource_id = "src_1-A"\nregion = "eu"\n', True),
    ('[projects.ABCDE12345.segment]\nsource_id = ""\n', False),
    ('[projects.ABCDE12345.segment]\nsource_id = "' + "a" * 65 + '"\n', False),
    ('[projects.ABCDE12345.segment]\nsource_i = "abc"\n', False),
    ("[projects.ABCDE12345]\nwhen = 2024-01-01\n", False),
    ('[segment]\nsource_id = "abc"\n[projects.ABCDE12345]\n[projects.ZYXWV98765]\n', False),
    ('[segment]\nregion = "eu"\n[projects.ABCDE12345]\n[projects.ZYXWV98765]\n', True),
    (
        '[projects.ABCDE12345.segment]\nsource_id = "abc"\n'
        '[projects.ZYXWV98765.segment]\nsource_id = "abc"\n',
        False,
    ),
]


def _strings_in(path: Path) -> list[str]:
    """Every string literal of a test module that is an apply file (TOML with a top key)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                data = tomllib.loads(node.value)
            except tomllib.TOMLDecodeError:
                continue  # syntax errors are the parser's, before any schema
            if any(key in data for key in TOP_KEYS):
                found.append(node.value)
    return found


def _fenced_toml(path: Path) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", path.read_text(), flags=re.S)


def corpus() -> list[tuple[str, str]]:
    files: list[tuple[str, str]] = [("examples/account.toml", EXAMPLE.read_text())]
    for doc in ("docs/apply.md", "README.md"):
        files += [(f"{doc} #{i}", text) for i, text in enumerate(_fenced_toml(ROOT / doc))]
    for test in sorted(ROOT.glob("tests/**/test_*.py")):
        if test.name == Path(__file__).name:
            continue
        files += [(f"{test.name} #{i}", text) for i, text in enumerate(_strings_in(test))]
    files += [(f"own #{i}", text) for i, (text, _) in enumerate(OWN_CASES)]
    return files


def validator_problems(text: str) -> list[str] | None:
    """None when the validator accepts the file, else its problems."""
    try:
        parse(text, Path("f.toml"))
    except FileError as exc:
        return [p.message for p in exc.problems]
    return None


def schema_errors(text: str) -> list[str]:
    validator = jsonschema.Draft7Validator(build_schema())
    return [e.message for e in validator.iter_errors(tomllib.loads(text))]


def test_the_schema_is_a_valid_draft_7_schema() -> None:
    jsonschema.Draft7Validator.check_schema(build_schema())


def test_committed_schema_is_up_to_date() -> None:
    assert COMMITTED.read_text() == schema_text(), f"{COMMITTED} is out of date: run `{COMMAND}`"


def test_example_file_names_the_schema_for_editors() -> None:
    first = EXAMPLE.read_text().splitlines()[0]
    assert first.startswith("#:schema ")
    assert (EXAMPLE.parent / first.removeprefix("#:schema ").strip()).resolve() == COMMITTED


def test_the_corpus_holds_the_cases_of_the_other_tests() -> None:
    names = [name for name, _ in corpus()]
    assert sum(n.startswith("test_apply_file.py") for n in names) >= 5
    assert any(n.startswith("docs/apply.md") for n in names)
    assert sum(validator_problems(text) is not None for _, text in corpus()) >= 20


@pytest.mark.parametrize(("name", "text"), corpus(), ids=[name for name, _ in corpus()])
def test_schema_and_validator_give_the_same_verdict(name: str, text: str) -> None:
    problems = validator_problems(text)
    errors = schema_errors(text)
    if problems is not None and all(any(b in p for b in BEYOND_SCHEMA) for p in problems):
        assert errors == [], f"{name}: beyond the schema, yet it refuses: {errors}"
        return
    assert (problems is None) == (errors == []), (
        f"{name}: validator {'accepts' if problems is None else problems}, "
        f"schema {errors or 'accepts'}"
    )


@pytest.mark.parametrize(("text", "valid"), OWN_CASES)
def test_own_cases_get_the_verdict_they_were_written_for(text: str, valid: bool) -> None:
    assert (validator_problems(text) is None) == valid, validator_problems(text)


def test_apply_schema_prints_the_schema_through_the_installed_cli(proc: ProcRunner) -> None:
    result = proc("apply", "--schema")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == COMMITTED.read_text()
    as_json = proc("apply", "--schema", "--json")
    assert json.loads(as_json.stdout) == build_schema()  # one JSON document either way
    both = proc("apply", "x.toml", "--schema")
    assert both.exit_code == 2 and "--schema takes no FILE" in both.stderr


def _keys(schema: Any) -> set[str]:
    return set(schema["properties"])


def test_editor_completion_sees_every_key_of_the_validator() -> None:
    from ksegcli.core.apply import desired

    schema = build_schema()
    project = schema["properties"]["projects"]["additionalProperties"]
    assert _keys(schema) == set(desired.TOP_KEYS)
    assert _keys(project) == set(desired.PROJECT_KEYS)
    assert _keys(schema["properties"]["defaults"]) == set(desired.DEFAULT_KEYS)
    assert _keys(schema["definitions"]["segment"]) == set(desired.SEGMENT_KEYS)
