"""``ksegcli snippet render identifier | personas | trait NAME | group | persona-values``.

Offline: no account, no network. Only persona-values reads anything (the sitecode: flag, env,
then profile). The renderer is imported when the command runs, not at CLI start-up.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ksegcli.errors import BadInputError, KsegError, UsageError
from ksegcli.state import get_state

if TYPE_CHECKING:
    from ksegcli.core.snippets import Snippet, SnippetKind
    from ksegcli.state import AppState

app = typer.Typer(
    help="Ready-to-paste JavaScript (and SDK code) for the Segment integration.",
    no_args_is_help=True,
)

# Help texts name the choices literally (importing the renderer here would cost every CLI
# start); tests/test_snippet_command.py checks they match the renderer's tables.
KIND_HELP = "identifier | personas | trait | group | persona-values"
USER_ID_HELP = (
    "Which user id the Segment data is stored under: visitor-code (Kameleoon visitor code) "
    "or segment (analytics.user().id(), else the anonymous id)."
)
HOST_HELP = (
    "persona-values: Data API host. legacy (api-data.kameleoon.com, the documented one), "
    "data (data.kameleoon.io), eu-data, na-data (.kameleoon.io), eu-data-eu, na-data-eu "
    "(.kameleoon.eu); eu, na, eu-eu, na-eu also work."
)
SDK_HELP = (
    "personas, trait, group: print server-side code for this Kameleoon SDK instead "
    "(python | go | js)."
)


def _complete_kind(incomplete: str) -> list[str]:
    from ksegcli.core.snippets import SNIPPET_KINDS

    return [kind for kind in SNIPPET_KINDS if kind.startswith(incomplete)]


@app.command("render")
def render(
    ctx: typer.Context,
    kind: str | None = typer.Argument(
        None, metavar="KIND", help=KIND_HELP, autocompletion=_complete_kind, show_default=False
    ),
    name: str | None = typer.Argument(
        None,
        metavar="[NAME]",
        help="The trait's name, as Segment sends it (trait only).",
        show_default=False,
    ),
    user_id: str = typer.Option(
        "visitor-code", "--user-id", metavar="visitor-code|segment", help=USER_ID_HELP
    ),
    sitecode: str | None = typer.Option(
        None,
        "--sitecode",
        help="persona-values: the project's sitecode (default: KAMELEOON_SITECODE, then the "
        "profile's).",
        show_default=False,
    ),
    host: str = typer.Option(
        "legacy",
        "--data-host",
        "--host",
        metavar="legacy|data|eu-data|na-data|eu-data-eu|na-data-eu",
        help=HOST_HELP,
    ),
    sdk: str | None = typer.Option(
        None,
        "--sdk",
        metavar="python|go|js",
        help=SDK_HELP,
        show_default=False,
    ),
    user_var: str = typer.Option(
        "user_id", "--user-var", help="With --sdk: the variable holding the user id."
    ),
    output_file: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Write exactly the code to this file (atomically) instead of stdout.",
        dir_okay=False,
        show_default=False,
    ),
    list_kinds: bool = typer.Option(
        False, "--list", help="List every snippet kind and where it goes in Kameleoon."
    ),
) -> None:
    """Print a snippet: highlighted on a terminal, exactly the code when piped or with -o."""
    from ksegcli.core import snippets

    state = get_state(ctx)
    if list_kinds:
        _list(state)
        return
    if kind is None:
        raise UsageError(
            "Which snippet? Give a KIND.",
            hint="Run `ksegcli snippet render --list` to see every kind.",
        )
    if kind not in snippets.SNIPPET_KINDS:
        raise UsageError(
            f"Unknown snippet kind {kind!r}.",
            hint=f"Choose one of: {', '.join(snippets.SNIPPET_KINDS)} "
            "(`ksegcli snippet render --list` says where each goes).",
        )
    _refuse_options_without_effect(ctx, snippets.SNIPPET_KINDS[kind], sdk)
    if snippets.SNIPPET_KINDS[kind].needs_sitecode and sdk is None:
        # Flag, KAMELEOON_SITECODE, then the profile: validated the same way as everywhere.
        sitecode = state.session.sitecode(sitecode, required=True)
    try:
        snippet = snippets.render_snippet(
            kind,
            user_id=user_id,
            trait=name,
            sitecode=sitecode,
            data_host=host,
            sdk=sdk,
            user_var=user_var,
        )
    except snippets.SnippetError as exc:
        raise UsageError(str(exc)) from None

    if output_file is not None:
        _write(output_file, snippet.code)
    _emit(state, snippet, output_file)


def _refuse_options_without_effect(ctx: typer.Context, spec: SnippetKind, sdk: str | None) -> None:
    """An option given for a snippet it does not change is a usage error, not ignored:
    the user meant something by it that the output would silently not have."""
    from typer._click.core import ParameterSource

    def given(name: str) -> bool:
        return ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)

    why = None
    if given("user_id") and sdk is not None:
        why = (
            "--user-id has no effect with --sdk: the server-side code reads the user id "
            "from the variable named by --user-var."
        )
    elif given("user_id") and not spec.uses_user_id:
        why = (
            f"--user-id has no effect on the {spec.name} snippet: only personas, trait and "
            "group read the user's Segment data by a user id."
        )
    elif given("host") and not spec.needs_sitecode:
        why = (
            f"--data-host has no effect on the {spec.name} snippet: it is the Data API host "
            "the persona-values snippet reads."
        )
    elif given("sitecode") and not spec.needs_sitecode:
        why = (
            f"--sitecode has no effect on the {spec.name} snippet: only persona-values "
            "holds a sitecode."
        )
    elif given("user_var") and sdk is None:
        why = "--user-var has no effect without --sdk: it names the SDK code's variable."
    if why is not None:
        raise UsageError(why, hint="Leave the option out, or choose the snippet it is for.")


def _list(state: AppState) -> None:
    from ksegcli.core.snippets import SNIPPET_KINDS

    out = state.output
    kinds = [
        {
            "kind": spec.name,
            "usage": f"{spec.name} NAME" if spec.takes_name else spec.name,
            "description": spec.description,
            "paste_into": spec.paste_into,
            "needs_sitecode": spec.needs_sitecode,
            "sdk": spec.has_sdk,
        }
        for spec in SNIPPET_KINDS.values()
    ]
    out.result(
        kinds,
        human=lambda: out.table(
            ["KIND", "PASTE INTO", "WHAT"],
            [(k["usage"], k["paste_into"], k["description"]) for k in kinds],
            optional=("WHAT",),
        ),
    )


def _write(path: Path, code: str) -> None:
    from ksegcli.core.config import atomic_write

    # atomic_write would create missing folders; a typo in the path should fail instead.
    if not path.parent.is_dir():
        raise BadInputError(f"Cannot write {path}: folder {path.parent} does not exist.")
    if path.is_dir():
        raise BadInputError(f"Cannot write {path}: it is a folder.")
    try:
        # A code file, not a secret: keep an existing file's mode, else the umask's default.
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        atomic_write(path, code.encode("utf-8"), mode=mode)
    except OSError as exc:
        raise KsegError(f"Cannot write {path}: {exc.strerror or exc}.") from None


def _emit(state: AppState, snippet: Snippet, output_file: Path | None) -> None:
    out = state.output
    data = {
        "kind": snippet.kind,
        "code": snippet.code,
        "paste_into": snippet.paste_into,
        "language": snippet.language,
    }
    if output_file is not None:
        data["file"] = str(output_file)
    # reveal: the code must come out byte for byte (it never holds a secret).
    if state.json_mode:
        from ksegcli.contract import document

        out.emit_json(document(data), reveal=True)
        return
    if output_file is not None:
        out.success(f"Wrote the {snippet.kind} snippet to {output_file}.")
    elif out.stdout_is_tty:
        from rich.syntax import Syntax

        syntax = Syntax(
            snippet.code.rstrip("\n"),
            snippet.language,
            theme="ansi_dark",
            background_color="default",
        )
        # soft_wrap: never crop or fold a long line, so what is copied is what runs.
        out.out.print(syntax, soft_wrap=True)
    else:
        out.line(snippet.code.rstrip("\n"), reveal=True)  # line() adds the final newline back
    # For a person at a terminal; a pipeline or CI log gets the code alone, and no Rich import.
    if sys.stderr.isatty():
        out.info(f"Paste it into: {snippet.paste_into}")
        if snippet.kind == "identifier" and snippet.language == "javascript":
            out.info("Or let ksegcli put it there: `ksegcli integration identifier install`.")
