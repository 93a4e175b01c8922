"""Entry point of ``ksegcli`` (console script) and ``python -m ksegcli``.

The CLI is imported inside :func:`main`, so that a Ctrl-C while it loads (Typer and
the command tree take ~150 ms) ends like any other Ctrl-C: "Interrupted.", exit 130,
not a traceback of the import machinery.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.stdout is None:  # started with stdout closed (`ksegcli ... >&-`)
        if sys.stderr is not None:
            sys.stderr.write(
                "Error: standard output is closed; ksegcli has nowhere to write its results.\n"
                "Hint: Run it with stdout open (redirect to a file instead of closing it).\n"
            )
        sys.exit(2)
    try:
        from ksegcli.cli import run

        code = run()  # handles Ctrl-C itself once its command is running
    except KeyboardInterrupt:
        code = _interrupted_early()
    sys.exit(code)


def _interrupted_early() -> int:
    from ksegcli.errors import interrupted
    from ksegcli.output import Output

    args = sys.argv[1:]
    if "--" in args:
        args = args[: args.index("--")]
    error = interrupted()
    Output(json_mode="--json" in args).error(error)
    return int(error.exit_code)


if __name__ == "__main__":
    main()
