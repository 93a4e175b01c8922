"""The Typer application: global options, command groups, and the one place
where errors become messages and exit codes."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from ksegcli import __version__
from ksegcli.errors import ExitCode, KsegError, UsageError
from ksegcli.output import Output, StdoutUnwritable, write_stdout
from ksegcli.state import AppState

_APP_SETTINGS = {
    "name": "ksegcli",
    "help": (
        "Set up, operate and verify the Kameleoon <-> Segment integration.\n\n"
        "Global options (--profile, --json, -v, --no-input) may be given before or "
        "after the command."
    ),
    "no_args_is_help": True,
    "add_completion": False,  # static scripts in completions/ (see ksegcli.completion)
    "pretty_exceptions_enable": False,  # locals can hold secrets; we print our own errors
    "context_settings": {"help_option_names": ["-h", "--help"]},
}
app = typer.Typer(**_APP_SETTINGS)  # type: ignore[arg-type]


def _version_callback(ctx: typer.Context, value: bool) -> None:
    if value:
        state = ctx.obj
        if isinstance(state, AppState) and state.json_mode:  # --json: one document, always
            state.output.emit_json({"version": __version__})
        else:
            write_stdout(f"ksegcli {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: str = typer.Option(
        "default", "--profile", envvar="KSEG_PROFILE", help="Profile to use.", show_default=True
    ),
    json_mode: bool = typer.Option(
        False, "--json", help="Print exactly one JSON document on stdout."
    ),
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, help="Show requests and decisions on stderr."
    ),
    no_input: bool = typer.Option(
        False, "--no-input", help="Never prompt (implied by CI=... or no TTY)."
    ),
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version_callback,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    from ksegcli.core.config import validate_profile_name

    state = ctx.obj if isinstance(ctx.obj, AppState) else AppState()
    state.profile_name = validate_profile_name(profile)
    state.json_mode = json_mode
    state.verbose = verbose
    state.no_input_flag = no_input
    state.output.json_mode = json_mode
    state.output.verbose = verbose
    ctx.obj = state


# name -> (module under ksegcli.commands, attribute, how it is mounted). Canonical order.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "auth": ("auth", "app", "group"),
    "sitecode": ("sitecode", "app", "group"),
    "projects": ("projects", "app", "group"),
    "integration": ("integration", "app", "group"),
    "customdata": ("customdata", "app", "group"),
    "snippet": ("snippet", "app", "group"),
    "apply": ("apply", "apply", "command"),
    "segment": ("segment", "app", "group"),
    "reporting": ("reporting", "app", "group"),
    "data": ("data", "app", "group"),
    "goals": ("goals", "app", "group"),
    "doctor": ("doctor", "doctor", "command"),
    "verify": ("verify", "verify", "command"),
    "sandbox": ("sandbox", "sandbox", "command"),
}


def _register(target: typer.Typer, only: str | None = None) -> None:
    """Mount the command groups (all, or just ``only``) on ``target``.

    Command modules import only typer and light core modules; still, turning
    every group into Click objects costs ~20 ms a run, so a run that names its
    command builds just that one (see :func:`_app_for`).
    """
    import importlib

    for name, (module_name, attr, kind) in _COMMANDS.items():
        if only is not None and name != only:
            continue
        module = importlib.import_module(f"ksegcli.commands.{module_name}")
        obj = getattr(module, attr)
        if kind == "group":
            target.add_typer(obj, name=name)
        elif name == "apply":
            target.command("apply", help=module.HELP, no_args_is_help=True)(obj)
        else:
            target.command(name)(obj)


_register(app)


def _app_for(args: Sequence[str]) -> typer.Typer:
    """The app to parse ``args`` with: only the named command's tree when one is named
    (faster start-up), else the whole app (help, typos with suggestions)."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in _GLOBAL_WITH_VALUE:
            i += 2
            continue
        if arg.startswith("-"):
            if arg == "--version":  # answered by the root callback: no command tree needed
                return _single(None)
            if arg in ("--help", "-h"):
                return app
            i += 1
            continue
        if arg not in _COMMANDS:
            return app
        return _single(arg)
    return app


def _single(name: str | None) -> typer.Typer:
    """The root with one command (or none, for ``--version``)."""
    single = typer.Typer(**_APP_SETTINGS)  # type: ignore[arg-type]
    single.callback()(root)
    if name is not None:
        _register(single, only=name)
    return single


# Options that belong to the root but that users type after the subcommand.
_GLOBAL_FLAGS = frozenset({"--json", "--verbose", "--no-input", "--version"})
_GLOBAL_WITH_VALUE = frozenset({"--profile"})


def hoist_global_options(argv: Sequence[str]) -> list[str]:
    """Move global options found anywhere (before ``--``) to the front, so that
    ``ksegcli projects list --json`` means ``ksegcli --json projects list``."""
    hoisted: list[str] = []
    rest: list[str] = []
    i = 0
    args = list(argv)
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg in _GLOBAL_FLAGS or (arg.startswith("-v") and set(arg[1:]) == {"v"}):
            hoisted.append(arg)
        elif arg in _GLOBAL_WITH_VALUE and i + 1 < len(args):
            hoisted.extend(args[i : i + 2])
            i += 1
        elif any(arg.startswith(f"{name}=") for name in _GLOBAL_WITH_VALUE):
            hoisted.append(arg)
        else:
            rest.append(arg)
        i += 1
    return hoisted + rest


def _no_help_for_missing_args(command: object) -> None:
    """With --json, a group without its subcommand (or ``apply`` without FILE) must be
    an error document: Typer's no_args_is_help would print Rich help on stdout instead."""
    from typer.core import TyperGroup

    if hasattr(command, "no_args_is_help"):
        command.no_args_is_help = False
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            _no_help_for_missing_args(sub)


def _interrupted() -> KsegError:
    from ksegcli.errors import interrupted

    return interrupted()


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code; never raises for a user mistake."""
    from typer import _click as click
    from typer import exceptions as typer_exc

    args = hoist_global_options(sys.argv[1:] if argv is None else argv)
    json_mode = "--json" in args
    verbose = sum(
        a.count("v") for a in args if a.startswith("-v") and set(a[1:]) == {"v"}
    ) + args.count("--verbose")
    state = AppState(json_mode=json_mode, verbose=verbose)
    state.output = Output(json_mode=json_mode, verbose=verbose)
    out = state.output
    command = typer.main.get_command(_app_for(args))  # Click objects built afresh each call
    if json_mode:
        _no_help_for_missing_args(command)
    try:
        result = command.main(args=args, prog_name="ksegcli", standalone_mode=False, obj=state)
        if result == ExitCode.INTERRUPTED:  # typer turns KeyboardInterrupt into Exit(130)
            out.error(_interrupted())
        return int(result) if isinstance(result, int) else ExitCode.OK
    except KsegError as exc:
        out.error(exc)
        if isinstance(exc, StdoutUnwritable):
            sys.stdout = None  # nothing more to flush at exit
        return int(exc.exit_code)
    except typer_exc.Exit as exc:
        if exc.exit_code == ExitCode.INTERRUPTED:
            out.error(_interrupted())
        return int(exc.exit_code)
    except typer_exc.Abort:
        out.error(_interrupted())
        return int(ExitCode.INTERRUPTED)
    except click.exceptions.NoArgsIsHelpError as exc:
        message = exc.format_message()  # empty when Rich has printed the help already
        if message.strip():
            sys.stderr.write(message + "\n")
        return int(ExitCode.USAGE)
    except click.exceptions.ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        hint = None
        if ctx is not None:
            hint = f"Run '{ctx.command_path} --help' for usage."
        out.error(UsageError(_unechoed(exc.format_message()), hint=hint))
        return int(ExitCode.USAGE)
    except KeyboardInterrupt:
        out.error(_interrupted())
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except Exception as exc:  # a bug: short report, never locals or secrets
        return _internal_error(exc, verbose, out)
    finally:
        state.close()


def _unechoed(message: str) -> str:
    """Click quotes extra arguments back ("(VALUE)"); one may be a pasted secret."""
    import re

    if not re.match(r"Got unexpected extra argument", message):
        return message
    return "Got unexpected extra argument(s) (not shown: one may be a secret)."


def _internal_error(exc: Exception, verbose: int, out: Output) -> int:
    """A bug of ours: a short report, never locals or secrets."""
    detail = f"{type(exc).__name__}: {exc}"
    if verbose:
        import traceback

        from ksegcli.core.redact import redact

        sys.stderr.write(redact("".join(traceback.format_exception(exc))))
    out.error(
        KsegError(
            f"Internal error ({detail}).",
            code="internal",
            hint="This is a bug in ksegcli. Rerun with -v for details and report it.",
        )
    )
    return int(ExitCode.ERROR)


def main() -> None:
    # The console script and `python -m ksegcli` go through ksegcli.__main__.main, which
    # also covers a Ctrl-C while this module loads.
    from ksegcli.__main__ import main as entry

    entry()
