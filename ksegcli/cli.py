"""The Typer application: global options, command groups, and the one place
where errors become messages and exit codes."""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any, NamedTuple

import typer
from typer import _click as click
from typer.core import TyperGroup, TyperOption

from ksegcli.core import interrupt
from ksegcli.core.redact import redact
from ksegcli.errors import ExitCode, KsegError, RunStopped, UsageError, interrupted
from ksegcli.output import Output, StdoutUnwritable, write_stdout
from ksegcli.state import DEFAULT_PROFILE, AppState

_APP_SETTINGS = {
    "name": "ksegcli",
    "help": (
        "Set up, operate and verify the Kameleoon <-> Segment integration.\n\n"
        "Global options may be given before or after the command."
    ),
    "no_args_is_help": True,
    "add_completion": False,  # static scripts: `ksegcli completion` (see ksegcli.completion)
    "pretty_exceptions_enable": False,  # locals can hold secrets; we print our own errors
    "context_settings": {"help_option_names": ["-h", "--help"]},
}


# name -> (module under ksegcli.commands, attribute, how it is mounted). Adding a command
# is one line here and its summary in _SUMMARIES: its module is imported only when the
# command runs (or Rich help lists it), see _LazyCommands. Help lists single commands
# first, then groups, each in this order.
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
    "export": ("export", "export", "command"),
    "sandbox": ("sandbox", "sandbox", "command"),
    "schema": ("schema", "schema", "command"),
    "completion": ("completion", "completion", "command"),
}


# name -> its line in the root's help, as its module's help says it (the first paragraph,
# markup dropped; tests/test_startup.py checks they agree). Plain root help lists the
# commands from here, without importing a single command module.
_SUMMARIES: dict[str, str] = {
    "auth": "Kameleoon API credentials and the Segment API key.",
    "sitecode": "Store or show the profile's project sitecode.",
    "projects": "Kameleoon projects these credentials reach.",
    "integration": "The Segment tool on Kameleoon projects (sends 'Experiment Viewed' to Segment).",
    "customdata": "Custom data that read Segment personas, traits and group ids in Kameleoon.",
    "snippet": "Ready-to-paste JavaScript (and SDK code) for the Segment integration.",
    "apply": "Make the Kameleoon side of the integration match FILE (TOML).",
    "segment": "Segment side: the Kameleoon (Actions) destination.",
    "reporting": 'Send "Experiment Viewed" to Segment: Segment as a campaign reporting tool.',
    "data": "Read what Kameleoon holds for a user (remote data written by Segment).",
    "goals": "Kameleoon goals.",
    "doctor": "Check the whole integration, one line per check, each with its fix.",
    "verify": "Send one probe through the whole chain and read it back from Kameleoon.",
    "export": "Write the apply file that describes the account: adopt a setup made by hand.",
    "sandbox": "Fake Kameleoon and Segment services on 127.0.0.1, with demo data.",
    "schema": "Print the JSON Schema of COMMAND's --json output; without COMMAND, list them.",
    "completion": "Print the shell completion script for SHELL (or install it: --install).",
}


def _listed_order() -> list[str]:
    """The order help lists them in: single commands first, then groups (as Typer
    lists a root's registered commands before its groups)."""
    return sorted(_COMMANDS, key=lambda name: _COMMANDS[name][2] != "command")


# (module, annotation text) -> its value; see _resolve_annotations.
_ANNOTATIONS: dict[tuple[str, str], Any] = {}


def _resolve_annotations(func: Callable[..., Any] | None) -> None:
    """Replace ``func``'s annotations, text under ``from __future__ import annotations``,
    by their values, evaluating each distinct text once per module. Typer reads them
    with typing.get_type_hints, which compiles every one anew: a few hundred compiles
    (``bool``, ``str | None``, ``typer.Context``...) when help lists every command.
    A text that does not evaluate is left for Typer to report as it would."""
    annotations = getattr(func, "__annotations__", None)
    if func is None or not annotations:
        return

    namespace = inspect.unwrap(func).__globals__
    module = str(namespace.get("__name__"))
    for key, text in annotations.items():
        if not isinstance(text, str):
            continue
        if (module, text) not in _ANNOTATIONS:
            try:
                _ANNOTATIONS[(module, text)] = eval(text, namespace)  # as get_type_hints does
            except Exception:
                continue
        annotations[key] = _ANNOTATIONS[(module, text)]


def _resolve_app(obj: Any) -> None:
    """:func:`_resolve_annotations` for a command function or every callback of a Typer app."""
    if not isinstance(obj, typer.Typer):
        _resolve_annotations(obj)
        return
    if obj.registered_callback is not None:
        _resolve_annotations(obj.registered_callback.callback)
    for command in obj.registered_commands:
        _resolve_annotations(command.callback)
    for group in obj.registered_groups:
        _resolve_app(group.typer_instance)


def _mount(target: typer.Typer, name: str) -> None:
    """Register command ``name`` (from its module under ksegcli.commands) on ``target``."""

    module_name, attr, kind = _COMMANDS[name]
    module = importlib.import_module(f"ksegcli.commands.{module_name}")
    obj = getattr(module, attr)
    _resolve_app(obj)
    if kind == "group":
        target.add_typer(obj, name=name)
    elif name == "apply":
        target.command("apply", help=module.HELP, no_args_is_help=True)(obj)
    else:
        target.command(name)(obj)


def _build_command(name: str) -> click.Command:
    """Command ``name`` as Click sees it, built exactly as if it were registered on the root."""
    holder = typer.Typer(**_APP_SETTINGS)  # type: ignore[arg-type]
    holder.callback()(_holder_callback)  # a callback makes it a group, whatever its size
    _mount(holder, name)
    return typer.main.get_group(holder).commands[name]


def _holder_callback() -> None:
    """Never run: only gives :func:`_build_command`'s holder its group shape."""


class _LazyCommands(MutableMapping[str, "click.Command"]):
    """The root's commands: every name is known up front, but a command's module is
    imported and its Click object built only when it is looked up. Running one command
    builds one; help and shell completion, which list them all, build them all."""

    def __init__(self, built: Mapping[str, click.Command] | None = None) -> None:
        self._built: dict[str, click.Command] = dict(built or {})
        self._names: list[str] = [*_listed_order(), *(n for n in self._built if n not in _COMMANDS)]
        self.on_build: Callable[[click.Command], None] | None = None

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._built:
            if name not in self._names:
                raise KeyError(name)
            command = _build_command(name)
            if self.on_build is not None:
                self.on_build(command)
            self._built[name] = command
        return self._built[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._built[name] = command
        if name not in self._names:
            self._names.append(name)

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def summary(self, name: str) -> str | None:
        """Command ``name``'s line in help, without building it: None once it is built
        (its own help then says it) or when the table has none."""
        return None if name in self._built else _SUMMARIES.get(name)

    def built(self) -> list[click.Command]:
        """The commands built so far (looking them up would build the rest)."""
        return list(self._built.values())

    def __contains__(self, name: object) -> bool:
        return name in self._names


class _LazyGroup(TyperGroup):
    """The root group, with :class:`_LazyCommands` as its commands."""

    def __init__(
        self, *, commands: Mapping[str, click.Command] | None = None, **attrs: Any
    ) -> None:
        lazy: Any = _LazyCommands(commands)  # any mapping serves; typed as a dict upstream
        super().__init__(commands=lazy, **attrs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The names, in help's order; Typer's own reads every value, building them all."""
        return list(self.commands)


app = typer.Typer(cls=_LazyGroup, **_APP_SETTINGS)  # type: ignore[arg-type]


def _version_callback(ctx: typer.Context, value: bool) -> None:
    if value:
        from ksegcli.__main__ import version_text

        state = ctx.obj  # --json: one document, always
        write_stdout(version_text(json_mode=isinstance(state, AppState) and state.json_mode))
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: str = typer.Option(
        DEFAULT_PROFILE,
        "--profile",
        envvar="KSEG_PROFILE",
        help="Profile to use.",
        show_default=True,
    ),
    json_mode: bool = typer.Option(
        False, "--json", help="Print exactly one JSON document on stdout."
    ),
    verbose: int = typer.Option(
        0,
        "--verbose",
        "-v",
        count=True,
        metavar=" ",  # a counted flag takes no value: not "<int>" in help
        show_default=False,
        help="Show requests and decisions on stderr.",
    ),
    no_input: bool = typer.Option(
        False, "--no-input", help="Never prompt (implied by CI=... or no TTY)."
    ),
    trace: str | None = typer.Option(
        None,
        "--trace",
        envvar="KSEG_TRACE",
        metavar="FILE",
        help="Append every HTTP request and answer to FILE, as JSON lines, secrets masked.",
    ),
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version_callback,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    if profile != DEFAULT_PROFILE:  # the default is valid: no need to load the rules
        from ksegcli.core.config import validate_profile_name

        profile = validate_profile_name(profile)
    state = ctx.obj if isinstance(ctx.obj, AppState) else AppState()
    state.profile_name = profile
    state.json_mode = json_mode
    state.verbose = verbose
    state.no_input_flag = no_input
    state.output.json_mode = json_mode
    state.output.verbose = verbose
    ctx.obj = state
    if trace is not None and state.tracer is None:
        from typer._click.core import ParameterSource

        from ksegcli.core.http.trace import open_from

        from_env = ctx.get_parameter_source("trace") == ParameterSource.ENVIRONMENT
        state.tracer = open_from(trace, from_env=from_env)


_resolve_annotations(root)  # read by Typer on every run


class GlobalOptions(NamedTuple):
    """The root's options, as the pre-parse scans need them; derived from :func:`root`."""

    flags: frozenset[str]  # take no value (--json, --version, -v/--verbose, ...)
    with_value: frozenset[str]  # take one value (--profile X, --profile=X)
    counted_short: frozenset[str]  # short counters that may be repeated in one word (-vv)
    json: frozenset[str]  # the names of the option that asks for JSON output
    verbose: frozenset[str]  # the names of the option that counts verbosity


@functools.cache
def global_options() -> GlobalOptions:
    """Read the root command's own declaration: adding an option to :func:`root` is the
    only change needed for it to be accepted after the command too."""
    return _options_of(typer.main.get_command(app))


def _options_of(root_command: click.Command) -> GlobalOptions:
    flags: set[str] = set()
    with_value: set[str] = set()
    counted_short: set[str] = set()
    by_dest: dict[str, frozenset[str]] = {}
    for param in root_command.params:
        if not isinstance(param, TyperOption):
            continue
        names = [*param.opts, *param.secondary_opts]
        by_dest[param.name or ""] = frozenset(names)
        if param.is_flag or param.count:
            flags.update(names)
        else:
            with_value.update(names)
        if param.count:
            counted_short.update(n for n in names if len(n) == 2 and n[0] == "-" and n[1] != "-")
    return GlobalOptions(
        flags=frozenset(flags),
        with_value=frozenset(with_value),
        counted_short=frozenset(counted_short),
        json=by_dest.get("json_mode", frozenset()),
        verbose=by_dest.get("verbose", frozenset()),
    )


def _count_flag(arg: str, short: frozenset[str]) -> int:
    """How many times ``arg`` (e.g. ``-vv``) repeats one of the counted short options."""
    for name in short:
        if len(arg) >= 2 and arg[0] == "-" and set(arg[1:]) == {name[1]}:
            return len(arg) - 1
    return 0


def hoist_global_options(argv: Sequence[str], options: GlobalOptions | None = None) -> list[str]:
    """Move global options found anywhere (before ``--``) to the front, so that
    ``ksegcli projects list --json`` means ``ksegcli --json projects list``."""
    options = global_options() if options is None else options
    hoisted: list[str] = []
    rest: list[str] = []
    i = 0
    args = list(argv)
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg in options.flags or _count_flag(arg, options.counted_short):
            hoisted.append(arg)
        elif arg in options.with_value and i + 1 < len(args):
            hoisted.extend(args[i : i + 2])
            i += 1
        elif any(
            arg.startswith(f"{name}=") for name in options.with_value if name.startswith("--")
        ):
            hoisted.append(arg)
        else:
            rest.append(arg)
        i += 1
    return hoisted + rest


def _no_help_for_missing_args(command: click.Command) -> None:
    """With --json, a group without its subcommand (or ``apply`` without FILE) must be
    an error document: Typer's no_args_is_help would print help on stdout instead."""
    if hasattr(command, "no_args_is_help"):
        command.no_args_is_help = False


def _plain_help_wanted() -> bool:
    """Help without Rich unless stdout is a terminal (or colour is forced, which Rich
    would honour): off a terminal Rich's panels and colour add nothing but start-up."""
    if os.environ.get("FORCE_COLOR") or os.environ.get("PY_COLORS"):
        return False
    try:
        return not sys.stdout.isatty()
    except (AttributeError, ValueError):  # stdout closed or replaced
        return True


def _help_renderer(plain: bool) -> Callable[[click.Command], None]:
    """A hook that draws a command's help with ksegcli.help (imported only if help is
    asked for): plain text, or Typer's Rich panels plus global options and examples."""

    def hook(command: click.Command) -> None:
        def draw(ctx: click.Context, formatter: click.HelpFormatter) -> None:
            from ksegcli import help as rendering

            (rendering.format_help if plain else rendering.rich_help)(command, ctx, formatter)

        command.format_help = draw  # type: ignore[method-assign]

    return hook


def _each_built(command: click.Command) -> Iterator[click.Command]:
    """``command`` and the commands under it that exist already (builds nothing)."""
    yield command
    if isinstance(command, TyperGroup):
        subs = command.commands
        for sub in subs.built() if isinstance(subs, _LazyCommands) else list(subs.values()):
            yield from _each_built(sub)


def _adjust(command: click.Command, hooks: Sequence[Callable[[click.Command], None]]) -> None:
    """Apply the run's ``hooks`` to the tree now, and to each root command as it is built."""

    def apply(top: click.Command) -> None:
        for each in _each_built(top):
            for hook in hooks:
                hook(each)

    apply(command)
    if isinstance(command, TyperGroup) and isinstance(command.commands, _LazyCommands):
        command.commands.on_build = apply


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code; never raises for a user mistake."""
    from typer import exceptions as typer_exc

    command = typer.main.get_command(app)  # Click objects built afresh each call
    options = _options_of(command)  # the same as global_options(), without a second build
    args = hoist_global_options(sys.argv[1:] if argv is None else argv, options)
    before_dashes = args[: args.index("--")] if "--" in args else args
    json_mode = any(a in options.json for a in before_dashes)
    verbose = sum(
        1 if a in options.verbose else _count_flag(a, options.counted_short) for a in before_dashes
    )
    state = AppState(json_mode=json_mode, verbose=verbose)
    state.output = Output(json_mode=json_mode, verbose=verbose)
    out = state.output
    hooks: list[Callable[[click.Command], None]] = []
    if json_mode:
        hooks.append(_no_help_for_missing_args)
    hooks.append(_help_renderer(plain=_plain_help_wanted()))
    _adjust(command, hooks)

    try:
        with interrupt.installed():
            result = command.main(args=args, prog_name="ksegcli", standalone_mode=False, obj=state)
        if result == ExitCode.INTERRUPTED and not interrupt.reported():
            out.error(interrupted())  # typer turns KeyboardInterrupt into Exit(130)
        return int(result) if isinstance(result, int) else ExitCode.OK
    except RunStopped as stop:  # e.g. the trace file can no longer be written
        out.error(stop.error)
        return int(stop.error.exit_code)
    except KsegError as exc:
        out.error(exc)
        if isinstance(exc, StdoutUnwritable):
            sys.stdout = None  # nothing more to flush at exit
        return int(exc.exit_code)
    except typer_exc.Exit as exc:
        if exc.exit_code == ExitCode.INTERRUPTED and not interrupt.reported():
            out.error(interrupted())
        return int(exc.exit_code)
    except typer_exc.Abort:
        out.error(interrupted())
        return int(ExitCode.INTERRUPTED)
    except click.exceptions.NoArgsIsHelpError as exc:
        message = exc.format_message()  # empty when Rich has printed the help already
        if message.strip():
            write_stdout(message + "\n")
        return int(ExitCode.USAGE)
    except click.exceptions.ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        hint = None
        if ctx is not None:
            hint = f"Run '{ctx.command_path} --help' for usage."
        out.error(UsageError(_unechoed(exc.format_message()), hint=hint))
        return int(ExitCode.USAGE)
    except KeyboardInterrupt:
        out.error(interrupted())
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except Exception as exc:  # a bug: short report, never locals or secrets
        return _internal_error(exc, verbose, out)
    finally:
        state.close()


def _unechoed(message: str) -> str:
    """Click quotes extra arguments back ("(VALUE)"); one may be a pasted secret."""

    if not re.match(r"Got unexpected extra argument", message):
        return message
    return "Got unexpected extra argument(s) (not shown: one may be a secret)."


def _internal_error(exc: Exception, verbose: int, out: Output) -> int:
    """A bug of ours: a short report, never locals or secrets."""
    detail = f"{type(exc).__name__}: {exc}"
    if verbose:
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
