"""Help reads well, on a terminal (Rich) and off it (plain): no option shown as taking
a value it does not take, no text lost to markup, every command's examples work,
every fixed set of values is listed, the global options are visible from every
subcommand, paragraphs are wrapped as paragraphs and everything fits 80 columns."""

from __future__ import annotations

import itertools
import os
import re
import shlex
from pathlib import Path

import pytest
import typer
from conftest import CliRunner, ProcRunner
from typer.core import TyperArgument, TyperGroup, TyperOption

from ksegcli import cli as cli_module
from ksegcli.docs_gen import command_paths, leaf_paths
from ksegcli.help import example_lines, reflow
from ksegcli.help_examples import EXAMPLES

WIDTH = 80
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain_help(cli: CliRunner, path: tuple[str, ...]) -> str:
    os.environ.pop("FORCE_COLOR", None)  # set by rich_help (and put back by the fixture)
    result = cli(*path, "--help", env={"COLUMNS": str(WIDTH)})
    assert result.exit_code == 0, (path, result.stderr)
    assert "╭" not in result.stdout
    return result.stdout


def rich_help(cli: CliRunner, path: tuple[str, ...]) -> str:
    """The help a terminal gets (Rich), 80 columns wide, colours dropped."""
    result = cli(*path, "--help", env={"COLUMNS": str(WIDTH), "FORCE_COLOR": "1"})
    assert result.exit_code == 0, (path, result.stderr)
    text = _ANSI.sub("", result.stdout)
    assert "╭" in text, path  # really the Rich renderer
    return text


def command_at(path: tuple[str, ...]) -> object:
    command: object = typer.main.get_command(cli_module.app)
    for name in path:
        assert isinstance(command, TyperGroup)
        command = command.commands[name]
    return command


def section(text: str, title: str) -> list[str]:
    """The lines of a plain help section ("Title:" up to the next blank line)."""
    lines = text.splitlines()
    start = lines.index(f"{title}:") + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def panel(text: str, title: str) -> list[str]:
    """The inner lines of a Rich panel titled ``title``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"╭─ {title} "))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("╰"))
    return [line.strip("│").strip() for line in lines[start + 1 : end]]


def examples_of(path: tuple[str, ...]) -> list[str]:
    return example_lines(EXAMPLES[" ".join(path)])


def ksegcli_argv(line: str) -> list[str]:
    """The arguments of the ksegcli call on an example line, without the shell around it
    (a pipe before it, a redirection or ``&`` after it)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = list(lexer)
    start = words.index("ksegcli") + 1
    end = next((i for i in range(start, len(words)) if set(words[i]) <= set("|&;<>()")), len(words))
    return words[start:end]


def parse_only(argv: list[str]) -> object:
    """Parse ``ksegcli ARGV`` down to the command with the CLI's own parser (types,
    choices, required options and arguments checked), without running anything."""
    root = typer.main.get_command(cli_module.app)
    ctx = root.make_context("ksegcli", cli_module.hoist_global_options(argv))
    while isinstance(ctx.command, TyperGroup):
        rest = [*ctx._protected_args, *ctx.args]
        assert rest, f"{argv}: no command named"
        name, sub, remaining = ctx.command.resolve_command(ctx, rest)
        assert sub is not None, argv
        ctx = sub.make_context(name, remaining, parent=ctx)
    return ctx.command


# -- earlier fixes ----------------------------------------------------------------------


def test_verbose_is_shown_as_a_flag_not_as_taking_an_integer(proc: ProcRunner) -> None:
    for args in (("--help",),):
        text = proc(*args).stdout
        line = next((ln for ln in text.splitlines() if "--verbose" in ln), "")
        assert "-v" in line and "INTEGER" not in line.upper() and "<int>" not in line
        assert "default: 0" not in line


def test_apply_help_keeps_the_bracketed_table_name(cli: CliRunner) -> None:
    for text in (plain_help(cli, ("apply",)), rich_help(cli, ("apply",))):
        joined = " ".join(text.replace("│", " ").split())
        assert "[projects.<REF>.segment]" in joined
        assert "source ()" not in joined


def test_the_cli_reference_keeps_the_bracketed_table_name() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    assert "[projects.<REF>.segment]" in " ".join(doc.split())
    assert "source ()" not in doc


# -- examples ---------------------------------------------------------------------------


def test_every_command_has_examples_and_no_group_or_stale_name_has_any() -> None:
    leaves = [" ".join(path) for path in leaf_paths()]
    assert len(leaves) > 30, leaves  # the walk found the tree
    assert sorted(EXAMPLES) == sorted(leaves)
    for leaf in leaves:
        commands = [line for line in example_lines(EXAMPLES[leaf]) if not line.startswith("#")]
        assert commands, leaf
        for line in commands:
            assert ksegcli_argv(line)[: len(leaf.split())] == leaf.split(), (leaf, line)


def test_every_example_parses_with_the_clis_own_parser() -> None:
    for path in leaf_paths():
        for line in examples_of(path):
            if line.startswith("#"):
                continue
            command = parse_only(ksegcli_argv(line))
            assert command is command_at(path) or getattr(command, "name", None) == path[-1], line


def test_the_example_parser_would_catch_a_broken_example() -> None:
    from typer import _click as click

    for broken in (
        "ksegcli snippet render trait --sdk",  # option without its value
        "ksegcli apply --no-such-flag x.toml",  # unknown option
        "ksegcli apply x.toml --workers 99",  # out of range
        "ksegcli verify --yes",  # required --source missing
        "ksegcli integration instal --all",  # no such command
    ):
        with pytest.raises(click.exceptions.ClickException):
            parse_only(ksegcli_argv(broken))


def test_examples_are_shown_in_both_renderers(cli: CliRunner) -> None:
    for path in leaf_paths():
        lines = examples_of(path)
        assert section(plain_help(cli, path), "Examples") == [f"  {line}" for line in lines]
        assert panel(rich_help(cli, path), "Examples") == lines, path


def test_the_snippet_examples_run_as_written(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """They need no account: each one really runs and prints (or writes) code."""
    monkeypatch.chdir(tmp_path)
    for line in examples_of(("snippet", "render")):
        if line.startswith("#"):
            continue
        result = cli(*ksegcli_argv(line))
        assert result.exit_code == 0, (line, result.stderr)
        assert result.stdout.strip() or (tmp_path / "plan.js").read_text().strip(), line


# -- allowed values -----------------------------------------------------------------------


def _fixed_sets() -> dict[tuple[str, str], tuple[str, ...]]:
    """(command path prefix, option) -> the values the code accepts, from the code."""
    from ksegcli.core.kameleoon.customdata import FORMATS
    from ksegcli.core.kameleoon.datahosts import HOSTS
    from ksegcli.core.segment import REGION_HOSTS
    from ksegcli.core.snippets import DATA_HOSTS, SDK_LANGUAGES, USER_ID_MODES

    return {
        ("", "--region"): tuple(REGION_HOSTS),
        ("", "--data-host"): tuple(HOSTS),
        ("", "--format"): tuple(FORMATS),
        ("", "--user-id"): USER_ID_MODES,
        ("snippet render", "--data-host"): tuple(DATA_HOSTS),
        ("snippet render", "--sdk"): tuple(SDK_LANGUAGES),
    }


def _allowed(path: tuple[str, ...], option: str) -> tuple[str, ...] | None:
    sets = _fixed_sets()
    prefixes = [p for p, o in sets if o == option and " ".join(path).startswith(p)]
    return sets[(max(prefixes, key=len), option)] if prefixes else None


def test_every_option_with_a_fixed_set_lists_exactly_its_values(cli: CliRunner) -> None:
    seen: set[str] = set()
    for path in leaf_paths():
        command = command_at(path)
        for param in getattr(command, "params", []):
            if not isinstance(param, TyperOption):
                continue
            name = param.opts[0]
            allowed = _allowed(path, name)
            if allowed is None:
                continue
            seen.add(name)
            shown = "|".join(allowed)
            assert param.metavar == shown, (path, name, param.metavar)
            row = next(ln for ln in section(plain_help(cli, path), "Options") if name in ln)
            assert shown in row, (path, row)
            rich = " ".join(panel(rich_help(cli, path), "Options"))
            assert all(value in rich for value in allowed), (path, name)
    assert seen == {"--region", "--data-host", "--format", "--user-id", "--sdk"}


def test_snippet_kinds_are_listed_in_both_renderers(cli: CliRunner) -> None:
    from ksegcli.core.snippets import SNIPPET_KINDS

    path = ("snippet", "render")
    for text in (plain_help(cli, path), rich_help(cli, path)):
        assert " | ".join(SNIPPET_KINDS) in text


# -- global options -------------------------------------------------------------------------


def _root_option_names() -> list[str]:
    root = typer.main.get_command(cli_module.app)
    return [p.opts[0] for p in root.params if isinstance(p, TyperOption) and not p.hidden]


def test_global_options_are_listed_in_every_subcommands_help(cli: CliRunner) -> None:
    names = _root_option_names()
    assert {"--profile", "--json", "--verbose", "--no-input"} <= set(names)
    for path in command_paths()[1:]:
        plain = section(plain_help(cli, path), "Global options")
        rich = panel(rich_help(cli, path), "Global options")
        for name in names:
            assert any(name in line for line in plain), (path, name)
            assert any(name in line for line in rich), (path, name)
        assert not any("--help" in line for line in plain + rich), path
    root = plain_help(cli, ())
    assert "Global options:" not in root and "--profile" in "\n".join(section(root, "Options"))


def test_global_options_come_from_the_root_callback(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new option on the root callback shows in every subcommand's help, unchanged."""
    wider = typer.Typer(name="ksegcli")

    @wider.callback()
    def root(trace: str | None = typer.Option(None, "--trace", help="Write a trace file.")) -> None:
        del trace

    @wider.command("probe")
    def probe() -> None:
        """Probe."""

    monkeypatch.setattr(cli_module, "app", wider)
    for text in (plain_help(cli, ("probe",)), rich_help(cli, ("probe",))):
        assert "--trace" in text and "Write a trace file." in text
        assert "Global options" in text


# -- paragraphs and width -------------------------------------------------------------------


def test_reflow_joins_prose_and_keeps_code_lists_and_marked_paragraphs() -> None:
    text = "First line\nof the summary.\n\nProse that\nwas wrapped\nby hand.\n\n    code = 1\n    more = 2\nafter.\n\n- one\n- two\n\n\bkept\nas is\n\fhidden"
    assert reflow(text).split("\n\n") == [
        "First line of the summary.",
        "Prose that was wrapped by hand.",
        "    code = 1\n    more = 2\nafter.",
        "- one\n- two",
        "\bkept\nas is",
    ]


def _description(text: str, rich: bool) -> list[str]:
    """The description lines of a help page (between the usage and the first section)."""
    lines = text.splitlines()
    usage = next(i for i, line in enumerate(lines) if "Usage:" in line)
    end = next(
        i
        for i in range(usage + 1, len(lines))
        if lines[i].startswith("╭" if rich else ("Arguments:", "Options:", "Commands:"))
    )
    return [line.rstrip() for line in lines[usage + 1 : end]]


def _early_breaks(lines: list[str], width: int) -> list[str]:
    """Lines of a paragraph that end although the next word would have fit."""

    def indent(line: str) -> int:
        return len(line) - len(line.lstrip())

    base = min((indent(line) for line in lines if line.strip()), default=0)
    problems = []
    for line, following in itertools.pairwise(lines):
        if not line.strip() or not following.strip():
            continue
        if indent(line) != base or indent(following) != base:  # code, kept as written
            continue
        if following.lstrip().startswith(("- ", "* ")):
            continue
        word = following.split()[0]
        if len(line) + 1 + len(word) <= width:
            problems.append(f"{line!r} / {word!r}")
    return problems


def test_no_help_paragraph_breaks_before_the_line_is_full(cli: CliRunner) -> None:
    for path in command_paths():
        plain = _description(plain_help(cli, path), rich=False)
        assert not _early_breaks(plain, WIDTH), (path, _early_breaks(plain, WIDTH))
        rich = _description(rich_help(cli, path), rich=True)
        assert not _early_breaks(rich, WIDTH - 1), (path, _early_breaks(rich, WIDTH - 1))


def test_the_early_break_check_would_catch_a_hand_wrapped_paragraph() -> None:
    assert _early_breaks(["  the Segment destination on a source. Schema", "  and example"], 80)
    assert not _early_breaks(["      [projects.X]", "  traits = 1"], 80)


def test_every_help_fits_80_columns(cli: CliRunner) -> None:
    for path in command_paths():
        for text in (plain_help(cli, path), rich_help(cli, path)):
            too_wide = [line for line in text.splitlines() if len(line) > WIDTH]
            assert not too_wide, (path, too_wide)


def test_every_argument_and_option_has_help() -> None:
    for path, command in ((p, command_at(p)) for p in leaf_paths()):
        for param in getattr(command, "params", []):
            if isinstance(param, TyperArgument | TyperOption) and not param.hidden:
                assert (param.help or "").strip(), (path, param.name)


def test_examples_on_a_narrow_terminal_wrap_into_lines_that_still_paste(cli: CliRunner) -> None:
    path = ("customdata", "delete")
    result = cli(*path, "--help", env={"COLUMNS": "44"})
    rows = section(result.stdout, "Examples")
    assert max(len(row) for row in rows) <= 44 and len(rows) > len(examples_of(path))
    commands: list[str] = []
    pending = ""
    for row in (r.strip() for r in rows if not r.strip().startswith("#")):
        pending = f"{pending} {row}".strip()
        if pending.endswith(" \\"):
            pending = pending[:-2]
        else:
            commands.append(pending)
            pending = ""
    assert commands == [line for line in examples_of(path) if not line.startswith("#")]
    assert shlex.split(commands[0])[3] == "Group ID"  # quoted words kept whole


def test_every_argument_is_named_in_capitals_as_usage_lines_name_them() -> None:
    for path in leaf_paths():
        for param in getattr(command_at(path), "params", []):
            if isinstance(param, TyperArgument):
                letters = re.sub(r"[^A-Za-z]", "", param.human_readable_name)
                assert letters.isupper(), (path, param.human_readable_name)
