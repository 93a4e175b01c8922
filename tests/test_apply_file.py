"""The apply file: schema, defaults, and every problem reported with file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from ksegcli.core.apply.desired import FileError, locate, parse
from ksegcli.core.apply.engine import HOURLY_BUDGET, budget_warnings
from ksegcli.core.http.client import RateLimiter
from ksegcli.core.snippets import render_snippet

F = Path("acct.toml")


def problems(text: str) -> list[str]:
    with pytest.raises(FileError) as info:
        parse(text, F)
    assert info.value.exit_code == 2
    assert "docs/apply.md" in (info.value.hint or "")
    return [line.strip() for line in info.value.message.splitlines()[1:]]


def test_smallest_file_gets_the_defaults() -> None:
    desired = parse("[projects.ABCDE12345]\n", F)
    (project,) = desired.projects
    assert project.ref == "ABCDE12345" and project.integration is True
    assert project.identifier is None  # not managed unless declared
    assert project.user_id == "visitor-code"
    assert [(s.kind, s.name, s.type, s.format) for s in project.custom_data] == [
        ("personas", "SegmentIO personas", "LIST", "STRING"),
        ("group", "Group ID", "UNIQUE", "STRING"),
    ]
    assert project.custom_data[0].code == render_snippet("personas").code
    assert project.segment is None


def test_example_file_is_valid() -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "account.toml"
    desired = parse(example.read_text(), example)
    by_ref = {p.ref: p for p in desired.projects}
    shop = by_ref["ABCDE12345"]
    assert shop.user_id == "segment"
    assert shop.identifier is True  # from [defaults]
    assert {(s.name, s.format, s.trait) for s in shop.custom_data if s.kind == "trait"} == {
        ("plan", "STRING", "plan"),
        ("Company", "STRING", "company"),
        ("Age", "NUMBER", "age"),
        ("vip", "BOOLEAN", "vip"),
    }
    assert all("Segment user id" in s.code for s in shop.custom_data)
    other = by_ref["10002"]
    assert [s.name for s in other.custom_data] == ["Segment audiences", "plan"]
    # The destination is declared per project: a source holds one sitecode.
    assert shop.segment is not None and shop.segment.region == "us"
    assert shop.segment.source_id == "qQEHquLrjRDN9j1ByrChyn"
    assert other.segment is None


def test_defaults_and_project_values_merge() -> None:
    text = """
[defaults]
user_id = "segment"
group = false
traits = ["plan", "tier"]

[projects.ABCDE12345]
personas = "Audiences"
integration = false
traits = { tier = "Customer tier", score = { format = "number" } }
"""
    (project,) = parse(text, F).projects
    assert project.integration is False and project.user_id == "segment"
    assert [(s.name, s.format) for s in project.custom_data] == [
        ("Audiences", "STRING"),
        ("plan", "STRING"),
        ("Customer tier", "STRING"),
        ("score", "NUMBER"),
    ]


def test_unknown_keys_with_did_you_mean_and_position() -> None:
    text = """[defaults]
integraton = true

[projects.ABCDE12345]
trait = ["plan"]
[projects.ABCDE12345.traits]
age = { name = "Age", formt = "number" }
"""
    lines = problems(text)
    assert lines[0] == (
        "acct.toml:2:1: unknown key 'defaults.integraton'; did you mean 'integration'? "
        "(allowed: integration, identifier, user_id, personas, group, traits)"
    )
    assert lines[1].startswith(
        "acct.toml:5:1: unknown key 'projects.ABCDE12345.trait'; did you mean 'traits'?"
    )
    assert lines[2].startswith(
        "acct.toml:7:23: unknown key 'projects.ABCDE12345.traits.age.formt'; did you mean 'format'?"
    )


def test_wrong_types_and_values_with_position() -> None:
    text = """version = 1
[projects.ABCDE12345]
personas = 3
user_id = "email"
integration = "yes"
traits = { age = { format = "numbr" }, x = 4 }

[projects.bad]
[projects."12x"]

[segment]
region = "europe"
source_id = "has space"
"""
    lines = problems(text)
    assert (
        "acct.toml:3:1: 'projects.ABCDE12345.personas' must be true, false or the custom data's name, not an integer"
        in lines
    )
    assert any(
        line.startswith(
            "acct.toml:4:1: 'projects.ABCDE12345.user_id' must be one of "
            "'visitor-code', 'segment', not 'email'"
        )
        for line in lines
    )
    assert any(
        line.startswith("acct.toml:5:1: 'projects.ABCDE12345.integration' must be true or false")
        for line in lines
    )
    assert any(
        line.startswith("acct.toml:6:20: 'projects.ABCDE12345.traits.age.format' must be one of")
        and "did you mean 'number'?" in line
        for line in lines
    )
    assert any(
        line.startswith("acct.toml:6:40: 'projects.ABCDE12345.traits.x' must be") for line in lines
    )
    assert any(line.startswith("acct.toml:8:1: invalid project 'bad'") for line in lines)
    assert any(line.startswith("acct.toml:9:1: invalid project '12x'") for line in lines)
    assert any(
        line.startswith("acct.toml:12:1: 'segment.region' must be one of 'us', 'eu'")
        for line in lines
    )
    assert any(
        line.startswith("acct.toml:13:1: 'segment.source_id' must be a Segment source id")
        for line in lines
    )


def test_syntax_error_has_line_and_column() -> None:
    (line,) = problems('[projects.ABCDE12345]\ntraits = ["plan"\n')
    assert line == "acct.toml:2:17: invalid TOML: Unclosed array (at end of file)"
    (line,) = problems("[projects.ABCDE12345]\npersonas = yes\ngroup = true\n")
    assert line.startswith("acct.toml:2:12: invalid TOML: Invalid value")


def test_duplicate_names_and_refused_trait_names() -> None:
    text = """[projects.ABCDE12345]
group = "plan"
traits = ["plan", "plan"]
"""
    lines = problems(text)
    assert any("trait 'plan' is listed twice" in line for line in lines)
    assert any(line.startswith("acct.toml:3:1: two custom data named 'plan'") for line in lines)


def test_no_projects_is_a_problem() -> None:
    assert problems("[defaults]\ngroup = false\n") == [
        "acct.toml: no [projects.<SITECODE or ID>] table: nothing to apply"
    ]
    assert problems("version = 2\n[projects.ABCDE12345]\n")[0].startswith(
        "acct.toml:1:1: unsupported version 2"
    )


def test_locate_quoted_dotted_and_inline() -> None:
    text = """# comment
[projects."10001"]
traits.plan = "Plan"
[projects.ABCDE12345.traits]
"odd key" = { name = "x", format = "number" }
"""
    assert locate(text, ("projects", "10001")) == (2, 1)
    assert locate(text, ("projects", "10001", "traits", "plan")) == (3, 1)
    assert locate(text, ("projects", "ABCDE12345", "traits", "odd key", "format")) == (5, 27)
    assert locate(text, ("projects", "ABCDE12345", "personas")) == (4, 1)  # nearest ancestor
    assert locate(text, ("segment",)) is None


def test_budget_warnings() -> None:
    class Client:
        limiter = RateLimiter(50, 10)

    assert budget_warnings(40, Client()) == []  # type: ignore[arg-type]
    (slow,) = budget_warnings(400, Client())  # type: ignore[arg-type]
    assert "at least 70 s" in slow
    hourly, _ = budget_warnings(HOURLY_BUDGET + 5, Client())  # type: ignore[arg-type]
    assert "1000 an hour" in hourly and "1005 requests" in hourly


def test_identifier_is_inherited_overridden_or_left_unmanaged() -> None:
    text = """
[defaults]
identifier = true

[projects.ABCDE12345]
[projects.FGHIJ67890]
identifier = false
"""
    first, second = parse(text, F).projects
    assert (first.identifier, second.identifier) == (True, False)
    assert first.to_json()["identifier"] is True
    (alone,) = parse("[projects.ABCDE12345]\n", F).projects
    assert alone.identifier is None and alone.to_json()["identifier"] is None
    assert problems("[defaults]\nidentifier = 1\n[projects.ABCDE12345]\n") == [
        "acct.toml:2:1: 'defaults.identifier' must be true or false, not an integer"
    ]
