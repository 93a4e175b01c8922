"""Help as plain text, for when it is not read on a terminal (piped, redirected, docs).

Typer draws help with Rich: panels, colour, Markdown support. Off a terminal none of
that shows, and loading it costs more than the rest of the run, so there the help is
drawn here instead, from the same Click objects and the same words: usage, the
description (first paragraph joined, later lines kept as written), then Arguments,
Options and Commands in two columns. Help strings are written for Rich markup, so
its tags are dropped and ``\\[`` unescaped, as Rich would.

ksegcli.cli decides when (off a terminal) and hooks :func:`format_help` in; this
module is imported only when help is drawn.
"""

from __future__ import annotations

import inspect
import re
import shutil
import textwrap
from typing import Any

from typer import _click as click
from typer.core import TyperArgument, TyperGroup

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


def _description(help_text: str) -> str:
    """First paragraph joined into one line, the rest as written (as Typer's Rich help)."""
    text = inspect.cleandoc(help_text).partition("\f")[0]
    first, _, rest = text.partition("\n\n")
    if not first.startswith("\b"):
        first = first.replace("\n", " ")
    return strip_markup(first.strip() + (f"\n\n{rest}" if rest else ""))


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
    for title, rows in (("Arguments", arguments), ("Options", options)):
        if rows:
            out += [f"{title}:", *_table(rows, width), ""]
    if isinstance(command, TyperGroup):
        commands: list[tuple[str, str]] = []
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            summary = inspect.cleandoc(sub.short_help or sub.help or "").split("\n\n")[0]
            commands.append((name, strip_markup(summary.replace("\n", " ").strip())))
        if commands:
            out += ["Commands:", *_table(commands, width), ""]
    if command.epilog:
        out.extend(_wrap(strip_markup(inspect.cleandoc(command.epilog)), width, "  "))
    formatter.write("\n".join(out).rstrip() + "\n")
