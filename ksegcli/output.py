"""Everything the tool writes to the terminal goes through :class:`Output`.

Results go to stdout (a Rich table in human mode, exactly one JSON document
with ``--json``); messages and progress go to stderr. Rich is imported only
when something is printed, to keep start-up fast. Colour only on a TTY, and
never with ``NO_COLOR`` (Rich honours it).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ksegcli.core.redact import redact
from ksegcli.errors import ErrorCode, ExitCode, KsegError

if TYPE_CHECKING:
    from rich.console import Console


# Terminal control: ESC sequences (CSI, OSC, DCS/SOS/PM/APC, two-byte), their 8-bit forms,
# the other C0 and C1 controls, DEL, and the bidi marks, embeddings, overrides and isolates
# that make text read differently from what it is. Kept as pattern text: re compiles (and
# caches) each on first use, so a run that prints only trusted text never compiles them.
_ESCAPES = (
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -~]?"
)
_CONTROLS = "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
_BREAKS = "[\t\n]"
# Characters json.dumps leaves raw with ensure_ascii=False that a terminal still obeys.
_JSON_RAW = "[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"


def sanitize(text: str, *, newlines: bool = True) -> str:
    """``text`` made safe for a terminal: escape sequences and control characters removed.

    For every server- or file-provided string in human output (tables, messages,
    errors). ``newlines=False`` (table cells) turns tabs and line breaks into spaces;
    otherwise they are kept. JSON output keeps the exact text instead (escaped).
    """
    if text.isascii() and text.isprintable():
        return text
    text = re.sub(_CONTROLS, "", re.sub(_ESCAPES, "", text))
    return text if newlines else re.sub(_BREAKS, " ", text)


def _json_text(data: Any) -> str:
    """One JSON document; every control and bidi character escaped (exact text once parsed)."""
    import json  # only --json runs pay for it

    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    return re.sub(_JSON_RAW, lambda m: f"\\u{ord(m.group()):04x}", text)


class StdoutUnwritable(KsegError):
    """Standard output is closed or full: the results cannot be written anywhere."""

    code: ErrorCode = "usage"
    exit_code = ExitCode.USAGE


def write_stdout(text: str) -> None:
    """Write and flush ``text`` on stdout; a closed or full stdout is a clear error."""
    try:
        if sys.stdout is None:
            raise OSError(9, "standard output is closed")
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise  # the reader went away (`| head`): quiet, handled by the CLI
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise StdoutUnwritable(
            f"Cannot write to standard output ({reason}).",
            hint="Run ksegcli with stdout open and writable (redirect it to a file).",
        ) from None


class Output:
    def __init__(self, *, json_mode: bool = False, verbose: int = 0) -> None:
        self.json_mode = json_mode
        self.verbose = verbose
        self._out: Console | None = None
        self._err: Console | None = None

    # -- consoles -----------------------------------------------------------
    @property
    def out(self) -> Console:
        if self._out is None:
            from rich.console import Console

            self._out = Console(file=sys.stdout, highlight=False, soft_wrap=False)
        return self._out

    @property
    def err(self) -> Console:
        if self._err is None:
            from rich.console import Console

            self._err = Console(file=sys.stderr, highlight=False, soft_wrap=True)
        return self._err

    @property
    def stdout_is_tty(self) -> bool:
        return sys.stdout.isatty()

    # -- messages (stderr) --------------------------------------------------
    def _message(self, text: str, style: str | None) -> None:
        if not sys.stderr.isatty():
            # No colour off a TTY anyway: skip importing Rich (it costs ~40 ms a run).
            sys.stderr.write(sanitize(redact(text)) + "\n")
            sys.stderr.flush()
            return
        from rich.text import Text

        self.err.print(Text(sanitize(redact(text)), style=style or ""))

    def info(self, text: str) -> None:
        self._message(text, None)

    def success(self, text: str) -> None:
        self._message(text, "green")

    def warn(self, text: str) -> None:
        self._message(f"Warning: {text}", "yellow")

    def debug(self, text: str) -> None:
        if self.verbose:
            self._message(text, "dim")

    def error(self, exc: KsegError) -> None:
        if self.json_mode and not isinstance(exc, StdoutUnwritable):
            self.emit_json(_redacted_json(exc.to_json()))
            return
        self._message(f"Error: {exc.message}", "bold red")
        if exc.hint:
            self._message(f"Hint: {exc.hint}", "yellow")

    # -- results (stdout) ---------------------------------------------------
    def emit_json(self, data: Any, *, reveal: bool = False) -> None:
        text = _json_text(data)
        write_stdout((text if reveal else redact(text)) + "\n")

    def result(
        self,
        data: Any,
        human: Callable[[], None] | None = None,
        *,
        reveal: bool = False,
    ) -> None:
        """Print a command's result: JSON in ``--json`` mode (the contract's document, see
        :mod:`ksegcli.contract`), else ``human()`` (or the data)."""
        if self.json_mode:
            from ksegcli.contract import document

            self.emit_json(document(data), reveal=reveal)
        elif human is not None:
            human()
        else:
            self.line(str(data), reveal=reveal)

    def line(self, text: str, *, reveal: bool = False) -> None:
        """A plain line on stdout, unstyled (for values scripts read). Made safe for a
        terminal, unless ``reveal`` (code and secrets shown on purpose, byte for byte)."""
        write_stdout((text if reveal else sanitize(redact(text))) + "\n")

    def table(
        self,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        title: str | None = None,
        optional: Sequence[str] = (),
    ) -> None:
        """A table on stdout. On a terminal too narrow for it, the ``optional`` columns
        are left out, in that order, until it fits (a note on stderr says which), so a
        row stays one line; piped, every column is written (scripts read them)."""
        cells = [
            [sanitize(redact("" if cell is None else str(cell)), newlines=False) for cell in row]
            for row in rows
        ]
        title = None if title is None else sanitize(redact(title), newlines=False)
        if not self.stdout_is_tty:
            # Piped: plain aligned columns, without importing Rich (~100 ms).
            widths = [len(c) for c in columns]
            for row in cells:
                widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
            lines = [title] if title else []
            for row in [list(columns), *cells]:
                line = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False))
                lines.append(line.rstrip())
            write_stdout("".join(f"{line}\n" for line in lines))
            return
        from rich.table import Table
        from rich.text import Text

        columns, cells, hidden = fit_columns(list(columns), cells, self.out.width, optional)
        # Text, not str: Rich would read "[bold]" or "[/]" in a project name as markup.
        table = Table(
            title=None if title is None else Text(title),
            header_style="bold",
            box=None,
            pad_edge=False,
        )
        for column in columns:
            table.add_column(Text(column))
        for row in cells:
            table.add_row(*(Text(cell) for cell in row))
        self.out.print(table)
        if hidden:
            self.info(
                f"Not shown at {self.out.width} columns: {', '.join(hidden)} "
                "(a wider terminal or --json shows them)."
            )


def table_width(columns: Sequence[str], cells: Sequence[Sequence[str]]) -> int:
    """Columns a borderless table needs on one line: each column as wide as its widest
    cell, two blanks between columns."""
    widths = [len(c) for c in columns]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    return sum(widths) + 2 * max(len(widths) - 1, 0)


def fit_columns(
    columns: list[str], cells: list[list[str]], width: int, optional: Sequence[str]
) -> tuple[list[str], list[list[str]], list[str]]:
    """Drop ``optional`` columns, in order, while the table is wider than ``width``;
    the kept columns, their cells and the names left out."""
    hidden: list[str] = []
    for name in optional:
        if table_width(columns, cells) <= width:
            break
        if name not in columns:
            continue
        index = columns.index(name)
        columns = columns[:index] + columns[index + 1 :]
        cells = [row[:index] + row[index + 1 :] for row in cells]
        hidden.append(name)
    return columns, cells, hidden


def _redacted_json(data: dict[str, Any]) -> dict[str, Any]:
    import json

    parsed: dict[str, Any] = json.loads(redact(json.dumps(data)))
    return parsed
