"""Server- and file-provided text never drives the terminal: escape sequences, control
characters and bidi overrides are stripped from human output; JSON keeps the exact text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ksegcli.errors import ExitCode, KsegError
from ksegcli.output import Output, sanitize
from tests.conftest import CLIENT_ID, CliRunner, ProcRunner, fake_env

HOSTILE = "Shop\x1b]0;owned\x07\x1b[2J\x9b31m\u202eevil\x7f\x00[/]"
DANGEROUS = ("\x1b", "\x07", "\x9b", "\u202e", "\x7f", "\x00")


def assert_inert(text: str) -> None:
    for char in DANGEROUS:
        assert char not in text, (char, text)


def test_sanitize_strips_escape_sequences_controls_and_bidi_overrides() -> None:
    assert sanitize("a\x1b]0;title\x07b") == "ab"
    assert sanitize("x\x1b[2Jy") == "xy"
    assert sanitize("c\x9b31mz") == "cz"
    assert sanitize("p\u202eq\u2066r") == "pqr"
    assert sanitize("line\nnext\ttab") == "line\nnext\ttab"
    assert sanitize("line\nnext\ttab", newlines=False) == "line next tab"
    assert sanitize("résumé 日本 [bold]") == "résumé 日本 [bold]"


def test_a_hostile_project_name_is_inert_in_the_piped_table(proc: ProcRunner, fake: Any) -> None:
    fake.add_site(CLIENT_ID, name=HOSTILE)
    result = proc("projects", "list", env=fake_env(fake))
    assert result.exit_code == ExitCode.OK, result.stderr
    assert_inert(result.output)
    assert "Shop" in result.stdout and "evil" in result.stdout


def test_json_keeps_the_exact_name_escaped(proc: ProcRunner, fake: Any) -> None:
    fake.add_site(CLIENT_ID, name=HOSTILE)
    result = proc("projects", "list", "--json", env=fake_env(fake))
    assert result.exit_code == ExitCode.OK, result.stderr
    assert_inert(result.stdout)  # escaped as \\u001b etc.
    assert [site["name"] for site in result.json()["items"]] == [HOSTILE]


def test_the_terminal_table_strips_controls_and_reads_no_markup(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Output, "stdout_is_tty", property(lambda self: True))
    Output().table(["NAME"], [[HOSTILE]], title=HOSTILE)
    out = capsys.readouterr().out
    assert_inert(out)
    assert "[/]" in out  # shown as text, not read as Rich markup


@pytest.mark.parametrize("json_mode", [False, True])
def test_error_messages_and_hints_are_inert(
    capsys: pytest.CaptureFixture[str], json_mode: bool
) -> None:
    Output(json_mode=json_mode).error(KsegError(f"refused {HOSTILE}", hint=HOSTILE))
    captured = capsys.readouterr()
    assert_inert(captured.out + captured.err)
    if json_mode:
        assert json.loads(captured.out)["error"]["hint"] == HOSTILE


def test_a_hostile_apply_file_key_is_inert_in_the_error(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "apply.toml"
    path.write_text('[projects."\\u001b]0;x\\u0007\\u001b[2J"]\n', encoding="utf-8")
    result = cli("apply", "--dry-run", str(path))
    assert result.exit_code == ExitCode.USAGE
    assert_inert(result.output)
