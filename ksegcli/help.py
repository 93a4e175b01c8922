"""Help, drawn the same way on a terminal (Rich) and off it (plain text).

Typer draws help with Rich: panels, colour, Markdown support. Off a terminal none of
that shows, and loading it costs more than the rest of the run, so there the help is
drawn here instead (:func:`format_help`), from the same Click objects and the same
words: usage, the description, then Arguments, Options, Global options, Commands
and Examples (the root lists its commands from ksegcli.cli's table of summaries,
without importing them). Help strings are written for Rich markup, so its tags are dropped and
``\\[`` unescaped, as Rich would. On a terminal :func:`rich_help` lets Typer draw
its panels and adds the same Global options and Examples.

Both renderers share what is not Typer's: the description is reflowed (a
docstring's line breaks inside a paragraph are the source's, not the reader's, so
a paragraph is wrapped to the terminal as one; indented lines stay as written),
the global options are read from the root callback's own parameters, and each
leaf's examples come from :mod:`ksegcli.help_examples`.

ksegcli.cli hooks these in (:func:`format_help` off a terminal); this module is
imported only when help is drawn. Typer's Rich help module is loaded by
:func:`load_rich_help`, without what it never uses here.
"""

from __future__ import annotations

import importlib
import inspect
import re
import shutil
import sys
import textwrap
import types
from typing import Any

from typer import _click as click
from typer.core import TyperArgument, TyperGroup, TyperOption

from ksegcli.cli import _LazyCommands
from ksegcli.help_examples import EXAMPLES

# Rich's own markup tag pattern (rich.markup.RE_TAGS): [bold], [/], [link=...], \[escaped].
_TAGS = re.compile(r"(\\*)\[([a-z#/@][^[]*?)]")
_INDENT = 2
_GAP = 2
_MAX_LEFT = 32


def strip_markup(text: str) -> str:
    """``text`` as Rich would show it: tags dropped, escaped brackets kept."""

    def replace(match: re.Match[str]) -> str:
        backslashes, tag = match.group(1), match.group(2)
        pairs, escaped = divmod(len(backslashes), 2)
        return "\\" * pairs + (f"[{tag}]" if escaped else "")

    return _TAGS.sub(replace, text)


def _width() -> int:
    return max(shutil.get_terminal_size((80, 24)).columns, 40)


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    """Wrap each line of ``text`` on its own (line breaks are the author's)."""
    lines: list[str] = []
    for line in text.splitlines() or [""]:
        lead = line[: len(line) - len(line.lstrip())]
        wrapped = textwrap.wrap(
            line.strip(),
            width=max(width - len(indent) - len(lead), 20),
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines.extend(f"{indent}{lead}{piece}" for piece in wrapped or [""])
    return lines


def reflow(help_text: str) -> str:
    """``help_text`` with each prose paragraph on one line, for the renderer to wrap.

    Lines that start with blanks (code, the lines of a file), list items ("- ") and
    paragraphs marked ``\\b`` are kept as written; anything after ``\\f`` is dropped.
    """
    paragraphs: list[str] = []
    for paragraph in inspect.cleandoc(help_text).partition("\f")[0].split("\n\n"):
        if paragraph.startswith("\b"):
            paragraphs.append(paragraph)
            continue
        lines: list[str] = []
        for line in paragraph.split("\n"):
            verbatim = line[:1].isspace() or line.startswith(("- ", "* "))
            if verbatim or not lines or lines[-1][:1].isspace():
                lines.append(line.rstrip())
            else:
                lines[-1] = f"{lines[-1].rstrip()} {line.strip()}"
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs).strip("\n")


def _description(help_text: str) -> str:
    """The help reflowed, ``\\b`` markers dropped, markup stripped."""
    paragraphs = [p.removeprefix("\b\n") for p in reflow(help_text).split("\n\n")]
    return strip_markup("\n\n".join(paragraphs).strip())


def _param_help(param: Any, ctx: click.Context) -> tuple[str, str] | None:
    """(names and metavar, help with its [env var/default/required] notes)."""
    record = param.get_help_record(ctx)
    if record is None:
        return None
    left, right = record
    raw = getattr(param, "help", None) or ""
    notes = right[len(raw) :].strip() if raw and right.startswith(raw) else right
    if raw:
        paragraphs = [
            p.replace("\n", " ").strip() if not p.startswith("\b") else p.strip("\b\n")
            for p in raw.split("\n\n")
        ]
        text = strip_markup("\n".join(paragraphs).strip())
        right = f"{text}  {notes}" if notes else text
    return left, right


def _table(rows: list[tuple[str, str]], width: int) -> list[str]:
    left_width = min(max(len(left) for left, _ in rows), _MAX_LEFT)
    column = _INDENT + left_width + _GAP
    lines: list[str] = []
    for left, right in rows:
        body = _wrap(right, width - column) if right else []
        head = " " * _INDENT + left
        if len(left) > left_width and body:  # too long for the column: help below
            lines.append(head)
            lines.extend(" " * column + line for line in body)
            continue
        first = body[0] if body else ""
        lines.append((head.ljust(column) + first).rstrip())
        lines.extend((" " * column + line).rstrip() for line in body[1:])
    return lines


def global_options(ctx: click.Context) -> tuple[click.Context, list[TyperOption]]:
    """The root callback's options (accepted after any command too), with the root's
    context to describe them in; none for the root itself, whose Options they are."""
    root = ctx.find_root()
    if root is ctx:
        return root, []
    params = [
        p
        for p in root.command.params
        if isinstance(p, TyperOption) and not getattr(p, "hidden", False)
    ]
    return root, params


def examples(ctx: click.Context) -> list[str]:
    """The command's examples, lines as written ("# ..." lines say what the next does)."""

    path = ctx.command_path.split(" ", 1)[1] if " " in ctx.command_path else ""
    return example_lines(EXAMPLES.get(path, ""))


def example_lines(block: str) -> list[str]:
    return [line.strip() for line in inspect.cleandoc(block).splitlines() if line.strip()]


# A shell word: unquoted characters and quoted strings, which may hold blanks.
_SHELL_WORD = re.compile(r"""(?:[^\s"']|"[^"]*"|'[^']*')+""")


def _example(line: str, width: int) -> list[str]:
    """An example line, indented; too long, a command is continued with `` \\`` (it
    still pastes into a shell) and a comment on further ``#`` lines."""
    if len(line) + _INDENT <= width:
        return [" " * _INDENT + line]
    if line.startswith("#"):
        return _wrap(line.removeprefix("#").strip(), width, " " * _INDENT + "# ")
    rows: list[str] = []
    current = ""
    for word in _SHELL_WORD.findall(line):
        lead = " " * (_INDENT + (4 if rows else 0))
        if current and len(lead) + len(current) + 1 + len(word) + 2 > width:
            rows.append(f"{lead}{current} \\")
            current = word
        else:
            current = f"{current} {word}" if current else word
    rows.append(" " * (_INDENT + (4 if rows else 0)) + current)
    return rows


def summary(command: click.Command) -> str:
    """The line a group's help gives ``command``: the first paragraph of its help."""
    text = inspect.cleandoc(command.short_help or command.help or "").split("\n\n")[0]
    return strip_markup(text.replace("\n", " ").strip())


def _listing(group: TyperGroup, ctx: click.Context) -> list[tuple[str, str]]:
    """(name, summary) of each of ``group``'s commands shown in help. The root's lazy
    commands give theirs from a table (ksegcli.cli._SUMMARIES): listing them all then
    imports no command module."""

    lazy = group.commands if isinstance(group.commands, _LazyCommands) else None
    rows: list[tuple[str, str]] = []
    for name in group.list_commands(ctx):
        known = lazy.summary(name) if lazy is not None else None
        if known is not None:
            rows.append((name, known))
            continue
        sub = group.get_command(ctx, name)
        if sub is not None and not sub.hidden:
            rows.append((name, summary(sub)))
    return rows


def format_help(command: click.Command, ctx: click.Context, formatter: click.HelpFormatter) -> None:
    width = _width()
    out: list[str] = [command.get_usage(ctx).rstrip(), ""]
    if command.help:
        out.extend(line.rstrip() for line in _wrap(_description(command.help), width, "  "))
        out.append("")
    arguments: list[tuple[str, str]] = []
    options: list[tuple[str, str]] = []
    for param in command.get_params(ctx):
        if getattr(param, "hidden", False):
            continue
        row = _param_help(param, ctx)
        if row is None:
            continue
        (arguments if isinstance(param, TyperArgument) else options).append(row)
    root_ctx, root_params = global_options(ctx)
    global_rows = [row for p in root_params if (row := _param_help(p, root_ctx)) is not None]
    sections = (("Arguments", arguments), ("Options", options), ("Global options", global_rows))
    for title, rows in sections:
        if rows:
            out += [f"{title}:", *_table(rows, width), ""]
    if isinstance(command, TyperGroup):
        commands = _listing(command, ctx)
        if commands:
            out += ["Commands:", *_table(commands, width), ""]
    lines = examples(ctx)
    if lines:
        out += ["Examples:", *(wrapped for ln in lines for wrapped in _example(ln, width)), ""]
    if command.epilog:
        out.extend(_wrap(strip_markup(inspect.cleandoc(command.epilog)), width, "  "))
    formatter.write("\n".join(out).rstrip() + "\n")


def rich_help(command: click.Command, ctx: click.Context, formatter: click.HelpFormatter) -> None:
    """Typer's Rich help, with the description reflowed, then the global options and
    the examples in panels of the same style."""
    load_rich_help()
    from rich.panel import Panel
    from rich.text import Text
    from typer import rich_utils

    mode = getattr(command, "rich_markup_mode", None)
    if mode is None:  # no Rich: Click's own help
        click.Command.format_help(command, ctx, formatter)
        return
    saved = command.help
    command.help = reflow(saved) if saved else saved
    try:
        rich_utils.rich_format_help(obj=command, ctx=ctx, markup_mode=mode)
    finally:
        command.help = saved
    console = rich_utils._get_rich_console()
    root_ctx, root_params = global_options(ctx)
    if root_params:
        rich_utils._print_options_panel(
            name="Global options",
            params=root_params,
            ctx=root_ctx,
            markup_mode=mode,
            console=console,
        )
    lines = examples(ctx)
    if lines:
        text = Text()
        for i, line in enumerate(lines):
            text.append(("\n" if i else "") + line, style="dim" if line.startswith("#") else "")
        console.print(
            Panel(
                text,
                border_style=rich_utils.STYLE_OPTIONS_PANEL_BORDER,
                title="Examples",
                title_align=rich_utils.ALIGN_OPTIONS_PANEL,
            )
        )


# -- Rich help (on a terminal) -------------------------------------------------------------------

# What typer.rich_utils imports at its top but uses only for what ksegcli turns off: Markdown
# (markdown-it, pygments) for rich_markup_mode="markdown" (ours is "rich"), and Traceback
# (pygments again) for pretty exceptions (disabled: locals can hold secrets). Together they
# are about half of what drawing Rich help loads.
_UNUSED_BY_HELP = (("rich.markdown", "Markdown"), ("rich.traceback", "Traceback"))


class _OnFirstUse(type):
    """A stand-in class that loads the real one when it is used (called or asked for an
    attribute): should Typer ever use it, it gets the real thing, only later."""

    _module: str
    _name: str

    def _real(cls) -> Any:
        return getattr(importlib.import_module(cls._module), cls._name)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls._real()(*args, **kwargs)

    def __getattr__(cls, attr: str) -> Any:
        return getattr(cls._real(), attr)


def load_rich_help() -> None:
    """Import Typer's Rich help module, with stand-ins for the modules in
    :data:`_UNUSED_BY_HELP` during that import only: afterwards they import as usual."""
    if "typer.rich_utils" in sys.modules:
        return
    stand_ins: dict[str, types.ModuleType] = {}
    for module, name in _UNUSED_BY_HELP:
        if module not in sys.modules:
            stand_in = types.ModuleType(module)
            setattr(stand_in, name, _OnFirstUse(name, (), {"_module": module, "_name": name}))
            stand_ins[module] = stand_in
    sys.modules.update(stand_ins)
    try:
        import typer.rich_utils  # noqa: F401
    finally:
        for module, stand_in in stand_ins.items():
            if sys.modules.get(module) is stand_in:
                del sys.modules[module]
