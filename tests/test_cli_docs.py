"""docs/cli.md is every command's --help, and stays in step with the commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from ksegcli.docs_gen import COMMAND, WIDTH, command_paths, generate, help_text

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "cli.md"


def test_committed_cli_reference_is_up_to_date() -> None:
    assert DOC.exists(), f"missing {DOC}: run `{COMMAND}`"
    assert DOC.read_text() == generate(), f"{DOC} is out of date: run `{COMMAND}`"


def test_every_command_has_a_section_in_tree_order() -> None:
    text = generate()
    positions = [text.index(f"\n## `{' '.join(('ksegcli', *path))}`\n") for path in command_paths()]
    assert positions == sorted(positions)
    assert ("auth", "login") in command_paths()
    assert ("customdata", "create", "personas") in command_paths()


def test_help_is_plain_and_fixed_width_whatever_the_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = help_text(("auth", "getapikey"))
    # What a CI runner or a narrow colour terminal would otherwise impose.
    for name, value in {
        "COLUMNS": "40",
        "FORCE_COLOR": "1",
        "GITHUB_ACTIONS": "true",
        "TERM": "xterm-256color",
    }.items():
        monkeypatch.setenv(name, value)
    assert help_text(("auth", "getapikey")) == plain
    assert "\x1b[" not in plain
    assert "Usage: ksegcli auth getapikey [OPTIONS]" in plain
    widths = [len(line) for line in plain.splitlines()]
    assert max(widths) <= WIDTH
    assert max(widths) > 40  # the help column uses the width given, not the 40 above
