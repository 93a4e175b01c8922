"""Start-up: what each entry point imports, and the global options read from one place.

Timing lives in bench/startup.py; these tests pin the causes instead: a run that
needs no network imports no httpx, one that prints no table imports no Rich, a run
that names a command imports only that command's module.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
import typer
from conftest import CliRunner, ProcRunner
from typer import _click as click

from ksegcli import __main__ as entry
from ksegcli import cli as cli_module
from ksegcli.cli import _COMMANDS, _SUMMARIES, global_options, hoist_global_options
from ksegcli.errors import ExitCode

# What no fast path may load (docs/design.md, "Start-up and imports"): heavy third-party
# modules, the parts of Typer that pull in Rich or exist only for tests, and hashlib
# (OpenSSL's binding, ~4 ms: only account keys and token-cache names need it).
HEAVY = (
    "hashlib",
    "httpx",
    "rich",
    "keyring",
    "tenacity",
    "msgspec",
    "pydantic",
    "jsonschema",
    "markdown_it",
    "pygments",
    "typer.rich_utils",
    "typer.testing",
)

#: The import-cost test of each entry point bench/startup.py times: (its arguments, on a
#: terminal) -> the test's name. Filled by :func:`entry_point`.
ENTRY_POINTS: dict[tuple[tuple[str, ...], bool], str] = {}

_Test = TypeVar("_Test", bound=Callable[..., None])


def entry_point(*args: str, tty: bool = False) -> Callable[[_Test], _Test]:
    """Marks the test that pins what ``ksegcli ARGS`` imports (the case of bench/startup.py
    with these arguments)."""

    def mark(test: _Test) -> _Test:
        ENTRY_POINTS[(args, tty)] = test.__name__
        return test

    return mark


_PROBE = """
import atexit, runpy, sys
listing = sys.argv.pop(1)
atexit.register(lambda: open(listing, "w").write("\\n".join(sys.modules)))
runpy.run_module("ksegcli", run_name="__main__", alter_sys=True)
"""


def probe(
    proc: ProcRunner, *args: str, env: dict[str, str] | None = None, without: tuple[str, ...] = ()
) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The modules ``python -m ksegcli ARGS`` has loaded when it exits (off a terminal),
    and the run; ``without`` names env vars it must not see."""
    listing = Path(proc.env["KSEG_CONFIG_DIR"]).parent / "modules.txt"
    full = {k: v for k, v in {**proc.env, **(env or {})}.items() if k not in without}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(listing), *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return set(listing.read_text().split()), result


def imported(proc: ProcRunner, *args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules ``python -m ksegcli ARGS`` has loaded when it exits (off a terminal)."""
    return probe(proc, *args, env=env)[0]


def loaded(modules: set[str], *packages: str) -> set[str]:
    """Which of ``packages`` (or their submodules) are among ``modules``."""
    return {m for m in modules for p in packages if m == p or m.startswith(p + ".")}


def command_modules(modules: set[str]) -> set[str]:
    """The command modules among ``modules`` (not the helpers they share, ``_options`` …)."""
    return {
        name
        for m in modules
        if m.startswith("ksegcli.commands.") and not (name := m.rsplit(".", 1)[1]).startswith("_")
    }


# -- what each entry point imports ------------------------------------------------------------


@entry_point("--version")
def test_bare_version_is_answered_before_typer_is_imported(proc: ProcRunner) -> None:
    for args in (("--version",), ("--json", "--version")):
        modules = imported(proc, *args)
        assert not loaded(modules, "typer", "ksegcli.cli", "ksegcli.output", *HEAVY), args


@entry_point("snippet", "render", "trait", "plan")
def test_a_named_command_imports_only_its_own_module(proc: ProcRunner) -> None:
    modules = imported(proc, "snippet", "render", "trait", "plan")
    assert command_modules(modules) == {"snippet"}
    assert not loaded(modules, *HEAVY)
    assert "tomllib" not in modules  # no profile file to read
    # Nor the config rules (the default profile name needs no check), JSON (not --json)
    # or dataclasses (Typer does not need them; ours would cost their creation).
    assert not loaded(modules, "ksegcli.core.config", "json", "dataclasses")


def test_a_profile_name_given_is_still_checked_before_any_command_runs(
    proc: ProcRunner,
) -> None:
    for args in (("--profile", "../etc"), ()):
        result = proc(*args, "snippet", "render", "trait", "plan", env={"KSEG_PROFILE": "a b"})
        assert result.exit_code == ExitCode.USAGE, (args, result.stderr)
        assert "Invalid profile name" in result.stderr
        assert result.stdout == ""


@entry_point("auth", "getapikey", "--offline")
def test_offline_api_key_with_env_credentials_needs_no_network_code(proc: ProcRunner) -> None:
    modules = imported(
        proc,
        "auth",
        "getapikey",
        "--offline",
        "--no-store",
        env={"KAMELEOON_CLIENT_ID": "cid", "KAMELEOON_CLIENT_SECRET": "s3cret-value"},
    )
    assert command_modules(modules) == {"auth"}
    assert not loaded(modules, *HEAVY)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the D-Bus rule is Linux's")
def test_offline_api_key_on_a_machine_without_a_keyring_never_imports_keyring(
    proc: ProcRunner, tmp_path: Path
) -> None:
    """As on CI: env credentials, no D-Bus session, no keyring configured. The key is
    not kept (said once, with why), and keyring is never imported to find that out."""
    (tmp_path / "runtime").mkdir()
    modules, result = probe(
        proc,
        "auth",
        "getapikey",
        "--offline",
        env={
            "KAMELEOON_CLIENT_ID": "cid",
            "KAMELEOON_CLIENT_SECRET": "s3cret-value",
            "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
            "XDG_RUNTIME_DIR": str(tmp_path / "runtime"),
        },
        without=("PYTHON_KEYRING_BACKEND", "DBUS_SESSION_BUS_ADDRESS", "DISPLAY"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() and "s3cret-value" not in result.stdout + result.stderr
    assert result.stderr.count("The OS keyring is not usable") == 1, result.stderr
    assert "DBUS_SESSION_BUS_ADDRESS" in result.stderr
    assert "the API key was not kept" in result.stderr
    assert command_modules(modules) == {"auth"}
    assert not loaded(modules, *HEAVY)


@entry_point("sitecode", "show")
def test_a_local_read_imports_nothing_heavy(proc: ProcRunner) -> None:
    modules = imported(proc, "sitecode", "show", env={"KAMELEOON_SITECODE": "ABCDE12345"})
    assert command_modules(modules) == {"sitecode"}
    assert not loaded(modules, *HEAVY)


@entry_point("apply", "--help")
def test_a_command_help_off_a_terminal_imports_only_that_command_and_no_rich(
    proc: ProcRunner,
) -> None:
    modules = imported(proc, "apply", "--help")
    assert command_modules(modules) == {"apply"}
    assert not loaded(modules, *HEAVY)
    assert "ksegcli.help" in modules


@entry_point("--help")
def test_the_root_help_off_a_terminal_lists_every_command_without_importing_one(
    proc: ProcRunner,
) -> None:
    for args in (("--help",), ("-h",), ()):  # no command at all prints the root help too
        modules, result = probe(proc, *args)
        assert "\n  snippet " in result.stdout and "\n  apply " in result.stdout, args
        assert command_modules(modules) == set(), args
        assert not loaded(modules, "ksegcli.commands", *HEAVY), args
        assert "json" not in modules, args


@entry_point("--help", tty=True)
def test_rich_help_on_a_terminal_loads_no_markdown_or_syntax_highlighting(
    proc: ProcRunner,
) -> None:
    """On a terminal help is Typer's Rich help, without markdown-it and pygments, which it
    imports only for Markdown markup and pretty tracebacks (both unused here)."""
    for args in (("--help",), ("apply", "--help"), ("auth",)):
        modules, result = probe(proc, *args, env={"FORCE_COLOR": "1"})
        assert "╭─" in result.stdout and "Usage" in result.stdout, args
        assert "typer.rich_utils" in modules, args
        assert not loaded(modules, "markdown_it", "pygments", "rich.markdown", "rich.syntax"), args
        rich_help = ("rich", "typer.rich_utils")
        assert not loaded(modules, *(m for m in HEAVY if m not in rich_help)), args


def test_every_entry_point_bench_times_has_an_import_cost_test() -> None:
    """Start-up is kept by tests of what each path imports, not by timing: a case added
    to bench/startup.py needs its test here."""
    bench = runpy.run_path(str(Path(__file__).parents[1] / "bench" / "startup.py"))
    timed = {(case.args, case.tty) for case in bench["CASES"]}
    assert timed == set(ENTRY_POINTS), timed ^ set(ENTRY_POINTS)


_STAND_INS = """
import sys
from ksegcli.help import load_rich_help
load_rich_help()
from typer import rich_utils
assert "rich.markdown" not in sys.modules and "rich.traceback" not in sys.modules
import rich.markdown, rich.traceback
assert isinstance(rich_utils.Markdown("*x*"), rich.markdown.Markdown)
assert rich_utils.Traceback.from_exception == rich.traceback.Traceback.from_exception
print("real")
"""


def test_the_modules_left_out_of_rich_help_are_loaded_for_real_when_used() -> None:
    """Typer's names for them still work (they load the real classes), and an import of
    them afterwards gets the real modules."""
    result = subprocess.run(
        [sys.executable, "-c", _STAND_INS], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "real", result.stderr


def test_tracing_is_loaded_only_when_asked_for_and_costs_nothing_heavy(
    proc: ProcRunner, tmp_path: Path
) -> None:
    env = {"KAMELEOON_SITECODE": "ABCDE12345"}
    assert "ksegcli.core.http.trace" not in imported(proc, "sitecode", "show", env=env)
    trace = tmp_path / "t.jsonl"
    modules = imported(proc, "sitecode", "show", "--trace", str(trace), env=env)
    assert "ksegcli.core.http.trace" in modules
    assert not loaded(modules, *HEAVY)
    assert trace.read_text() == ""  # no request made, none traced


def test_a_run_that_shows_no_help_does_not_load_the_help_renderer(proc: ProcRunner) -> None:
    modules = imported(proc, "snippet", "render", "trait", "plan")
    assert "ksegcli.help" not in modules


def test_mounted_commands_carry_annotation_values_not_text() -> None:
    """Typer reads every callback's annotations; under ``from __future__ import
    annotations`` they are text it would compile one by one on every run. Mounted
    commands carry the values instead (each distinct text evaluated once)."""
    group = typer.main.get_command(cli_module.app)
    assert isinstance(group, typer.core.TyperGroup)

    def check(command: object) -> int:
        callback = getattr(command, "callback", None)
        count = 0
        for value in getattr(callback, "__annotations__", {}).values():
            assert not isinstance(value, str), (command, value)
            count += 1
        for sub in getattr(command, "commands", {}).values():
            count += check(sub)
        return count

    assert check(group) > 100  # every command of the tree was looked at


def test_an_annotation_that_does_not_evaluate_is_left_for_typer_to_report() -> None:
    def probe(flag: str | None, ctx: typer.Context, other: NoSuchName) -> None:  # type: ignore[name-defined]  # noqa: F821
        del flag, ctx, other

    cli_module._resolve_annotations(probe)
    assert probe.__annotations__["flag"] == (str | None)
    assert probe.__annotations__["ctx"] is typer.Context
    assert probe.__annotations__["other"] == "NoSuchName"


# -- global options: declared once, on the root -----------------------------------------------


def _root_options() -> dict[str, typer.core.TyperOption]:
    command = typer.main.get_command(cli_module.app)
    return {
        name: param
        for param in command.params
        if isinstance(param, typer.core.TyperOption)
        for name in (*param.opts, *param.secondary_opts)
    }


def test_every_root_option_is_accepted_after_the_command() -> None:
    options = global_options()
    root = _root_options()
    assert set(root) == options.flags | options.with_value
    for name, param in root.items():
        if name in options.flags:
            assert param.is_flag or param.count, name
            assert hoist_global_options(["sitecode", "show", name]) == [name, "sitecode", "show"]
        else:
            moved = hoist_global_options(["sitecode", "show", name, "x"])
            assert moved == [name, "x", "sitecode", "show"], name


def test_a_new_root_option_needs_no_other_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding an option to the root callback is the whole change: hoisting (and the
    pre-parse scans that use the same table) pick it up."""

    def root(
        ctx: typer.Context,
        json_mode: bool = typer.Option(False, "--json"),
        verbose: int = typer.Option(0, "--verbose", "-v", count=True),
        trace: str | None = typer.Option(None, "--trace"),
        quiet: bool = typer.Option(False, "--quiet", "-q"),
    ) -> None:
        del ctx, json_mode, verbose, trace, quiet

    wider = typer.Typer(name="ksegcli")
    wider.callback()(root)
    monkeypatch.setattr(cli_module, "app", wider)
    global_options.cache_clear()
    try:
        args = ["sitecode", "show", "--trace=t.json", "-q", "--trace", "u.json", "-vv", "--", "-q"]
        assert hoist_global_options(args) == [
            "--trace=t.json",
            "-q",
            "--trace",
            "u.json",
            "-vv",
            "sitecode",
            "show",
            "--",
            "-q",
        ]
    finally:
        global_options.cache_clear()


def test_verbosity_and_json_are_seen_before_parsing(cli: CliRunner) -> None:
    """A usage error is reported in the mode asked for, wherever the options stand."""
    result = cli("sitecode", "show", "--no-such-option", "--json")
    assert result.exit_code == 2
    assert result.json()["error"]["code"] == "usage"
    after_dashes = cli("sitecode", "--no-such-option", "--", "--json")
    assert after_dashes.exit_code == 2
    assert after_dashes.stdout == ""


def test_the_entry_points_version_answer_is_the_roots(cli: CliRunner, proc: ProcRunner) -> None:
    root = _root_options()
    assert root[entry.VERSION_OPTION].is_eager and root[entry.VERSION_OPTION].is_flag
    assert entry.JSON_OPTION in global_options().json
    for args in (("--version",), ("--json", "--version"), ("--version", "--json")):
        fast = proc(*args)
        assert (fast.exit_code, fast.stdout, fast.stderr) == (0, cli(*args).stdout, ""), args


def test_help_and_the_reference_list_commands_in_one_order(tmp_path: Path) -> None:
    """Single commands first, then groups, each in the table's order; typos still get
    suggestions although unknown names build nothing."""
    group = typer.main.get_command(cli_module.app)
    assert isinstance(group, typer.core.TyperGroup)
    names = list(group.commands)
    singles = [n for n, (_, _, kind) in _COMMANDS.items() if kind == "command"]
    assert names == singles + [n for n in _COMMANDS if n not in singles]
    assert group.commands.get("auht") is None


# -- plain help (off a terminal) says what Rich's help says -----------------------------------


def _plain(cli: CliRunner, path: tuple[str, ...]) -> str:
    result = cli(*path, "--help")
    assert result.exit_code == 0, (path, result.stderr)
    return result.stdout


def test_plain_help_shows_every_option_argument_and_subcommand(cli: CliRunner) -> None:
    from ksegcli.docs_gen import command_paths

    root = typer.main.get_command(cli_module.app)
    for path in command_paths():
        command = root
        for name in path:
            assert isinstance(command, typer.core.TyperGroup)
            command = command.commands[name]
        text = _plain(cli, path)
        assert text.startswith(f"Usage: {' '.join(('ksegcli', *path))} "), path
        assert "\x1b[" not in text and "╭" not in text, path
        for param in command.params:
            if getattr(param, "hidden", False):
                continue
            if isinstance(param, typer.core.TyperArgument):
                assert f"\n  {param.human_readable_name}" in text, (path, param.name)
            for name in param.opts if isinstance(param, typer.core.TyperOption) else ():
                assert name in text, (path, name)
        if isinstance(command, typer.core.TyperGroup):
            for name, sub in command.commands.items():
                if not sub.hidden:
                    assert f"\n  {name} " in text, (path, name)
        first_line = (command.help or "").strip().split("\n")[0]
        assert " ".join(first_line.split()[:4]) in " ".join(text.split()), path


def test_the_roots_summaries_table_says_what_each_commands_own_help_says() -> None:
    """Root help lists commands from a table so as not to import them: it must never
    drift from the first paragraph of each command's help."""
    from ksegcli.help import summary

    assert list(_SUMMARIES) == list(_COMMANDS)
    for name in _COMMANDS:
        assert _SUMMARIES[name] == summary(cli_module._build_command(name)), name


@pytest.mark.parametrize("columns", ["200", "60"])
def test_the_root_help_from_the_table_is_the_help_of_the_built_commands(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    """Byte for byte, with and without the table (then every command is built and
    its own help read), for --help and for no command at all."""
    monkeypatch.setenv("COLUMNS", columns)
    from_table = [cli("--help"), cli()]
    built: list[click.Command] = []
    real_build = cli_module._build_command

    def build(name: str) -> click.Command:
        built.append(command := real_build(name))
        return command

    monkeypatch.setattr(cli_module, "_build_command", build)
    assert [cli("--help").stdout, cli().stdout] == [r.stdout for r in from_table]
    assert not built  # the table answered: nothing was built
    monkeypatch.setattr(cli_module._LazyCommands, "summary", lambda self, name: None)
    from_commands = [cli("--help"), cli()]
    assert len(built) == 2 * len(_COMMANDS)
    for table, commands in zip(from_table, from_commands, strict=True):
        assert (table.exit_code, table.stdout, table.stderr) == (
            commands.exit_code,
            commands.stdout,
            commands.stderr,
        )
    assert from_table[0].exit_code == 0 and from_table[1].exit_code == ExitCode.USAGE
    for name in _COMMANDS:
        assert f"\n  {name} " in from_table[0].stdout, name


def test_plain_help_drops_rich_markup_as_rich_would() -> None:
    from ksegcli.help import strip_markup

    assert strip_markup("a [bold]b[/bold] [/]c") == "a b c"
    assert strip_markup(r"keep \[projects.X] and [1, 2]") == "keep [projects.X] and [1, 2]"


def test_plain_help_wraps_to_the_terminal_width(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    lines = _plain(cli, ("apply",)).splitlines()
    assert max(len(line) for line in lines) <= 60
    assert any(line.startswith("  --workers") for line in lines)


def test_help_without_a_command_goes_to_stdout_with_exit_2(cli: CliRunner) -> None:
    result = cli("auth")
    assert result.exit_code == 2
    assert result.stdout.startswith("Usage: ksegcli auth [OPTIONS] COMMAND")
    assert result.stderr == ""
