"""``ksegcli sandbox``: fake Kameleoon + Segment services on 127.0.0.1, with demo data."""

from __future__ import annotations

import contextlib
import signal
import sys

import typer

from ksegcli.state import get_state


def sandbox(
    ctx: typer.Context,
    port: int = typer.Option(8765, "--port", help="TCP port on 127.0.0.1 (0 picks a free one)."),
    time_scale: float = typer.Option(
        1.0,
        "--time-scale",
        help="Multiply the services' time windows (0.01: rate limits reset 100× faster).",
    ),
    latency: float = typer.Option(0.0, "--latency", help="Seconds of delay added to each answer."),
    error_rate: float = typer.Option(
        0.0, "--error-rate", help="Chance (0–1) that a request fails with HTTP 503."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for ids and random faults."),
    print_env: bool = typer.Option(
        False,
        "--print-env",
        help="Print the export lines of the sandbox already running on --port, and exit.",
    ),
    wait: float = typer.Option(
        10.0, "--wait", help="With --print-env: seconds to wait for the sandbox to answer."
    ),
) -> None:
    """Fake Kameleoon and Segment services on 127.0.0.1, with demo data.

    Serves until Ctrl-C, after printing `export …` lines (stdout) that point ksegcli at
    it. In a script: `ksegcli sandbox --port 8765 >/dev/null &` then
    `eval "$(ksegcli sandbox --print-env --port 8765)"`.
    """

    from ksegcli.core.sandbox import Sandbox, SandboxSettings, read_env

    state = get_state(ctx)
    out = state.output
    if print_env:
        env = read_env(port, wait=wait)
        out.result({"env": env}, human=lambda: _print_exports(env), reveal=True)
        return
    box = Sandbox(
        SandboxSettings(
            port=port, time_scale=time_scale, latency=latency, error_rate=error_rate, seed=seed
        )
    ).start()
    env = box.env()
    # The demo credentials are fake and the whole point of the output: never masked.
    out.result({"env": env}, human=lambda: _print_exports(env), reveal=True)
    out.info(
        f"ksegcli sandbox on {box.url} (127.0.0.1 only; profile {env['KSEG_PROFILE']!r}); "
        "Ctrl-C to stop."
    )
    signal.signal(signal.SIGTERM, lambda signum, frame: box.stop())
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the normal way to stop it
        box.wait()
    out.info("Sandbox stopped.")


def _print_exports(env: dict[str, str]) -> None:
    from ksegcli.core.sandbox import export_lines

    sys.stdout.write("".join(line + "\n" for line in export_lines(env)))
    sys.stdout.flush()
