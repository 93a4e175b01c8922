"""Entry point of ``ksegcli`` (console script) and ``python -m ksegcli``.

The CLI is imported inside :func:`main`, so that a Ctrl-C while it loads (Typer and
the command tree take ~50 ms) ends like any other Ctrl-C: "Interrupted.", exit 130,
not a traceback of the import machinery.

A bare ``--version`` (with or without ``--json``) is answered here, before Typer is
imported: it is the one question that needs no command tree. The option names below
are the root command's own (ksegcli.cli.root); tests/test_startup.py checks that they
agree and that both paths print the same.
"""

from __future__ import annotations

import contextlib
import os
import sys

from ksegcli import __version__

VERSION_OPTION = "--version"
JSON_OPTION = "--json"


def main() -> None:
    if sys.stdout is None:  # started with stdout closed (`ksegcli ... >&-`)
        if sys.stderr is not None:
            sys.stderr.write(
                "Error: standard output is closed; ksegcli has nowhere to write its results.\n"
                "Hint: Run it with stdout open (redirect to a file instead of closing it).\n"
            )
        sys.exit(2)
    args = sys.argv[1:]
    if VERSION_OPTION in args and set(args) <= {VERSION_OPTION, JSON_OPTION}:
        try:
            sys.stdout.write(version_text(json_mode=JSON_OPTION in args))
            sys.stdout.flush()
            sys.exit(0)
        except (OSError, ValueError):
            pass  # stdout refused it: the full path below says why, as for any output
    try:
        from ksegcli.cli import run

        code = run()  # handles Ctrl-C itself once its command is running
    except KeyboardInterrupt:
        code = _interrupted_early()
    _quiet_sigint()
    if code == 130:
        # Ctrl-C: requests abandoned in flight must not hold the exit back (worker
        # threads are joined at interpreter exit): flush what was printed, then leave.
        _flush()
        os._exit(code)
    sys.exit(code)


def _quiet_sigint() -> None:
    """The command is over: a Ctrl-C now (while flushing, exiting) just ends it, exit 130."""
    import signal

    with contextlib.suppress(ValueError):  # ValueError: not the main thread
        signal.signal(signal.SIGINT, lambda signum, frame: os._exit(130))


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


def version_text(*, json_mode: bool) -> str:
    """What ``ksegcli --version`` prints (the root's --version prints it too)."""

    if json_mode:
        import json

        return json.dumps({"version": __version__}, indent=2) + "\n"
    return f"ksegcli {__version__}\n"


def _interrupted_early() -> int:
    from ksegcli.errors import interrupted
    from ksegcli.output import Output

    args = sys.argv[1:]
    if "--" in args:
        args = args[: args.index("--")]
    error = interrupted()
    Output(json_mode=JSON_OPTION in args).error(error)
    return int(error.exit_code)


if __name__ == "__main__":
    main()
