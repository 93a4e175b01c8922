"""Command line: python -m ksegcli.testing.fake_server, and what `ksegcli sandbox` runs."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any, TextIO

from ksegcli.testing.fake.server import _ADMIN_PREFIX, FakeServer
from ksegcli.testing.fake.state import FakeConfig


def env_lines(url: str, demo: Mapping[str, Any] | None = None) -> list[str]:
    """KEY=value lines that point ksegcli at a fake server (and at demo credentials)."""
    lines = [
        f"KSEG_API_URL={url}",
        f"KSEG_CUSTOMERS_URL={url}",
        f"KSEG_DATA_API_URL={url}",
        f"KSEG_SEGMENT_API_URL={url}",
        f"KSEG_SEGMENT_TRACKING_URL={url}",
    ]
    if demo:
        lines += [
            f"KAMELEOON_CLIENT_ID={demo['client_id']}",
            f"KAMELEOON_CLIENT_SECRET={demo['client_secret']}",
            f"KAMELEOON_SITECODE={demo['sites'][0]['code']}",
            f"SEGMENT_API_TOKEN={demo['segment_token']}",
        ]
    return lines


def serve(
    config: FakeConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    demo: bool = False,
    out: TextIO | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run a fake server until Ctrl-C, SIGTERM or `stop` is set; print the env
    vars that point ksegcli at it. This is what `ksegcli sandbox` calls."""
    out = out or sys.stdout
    srv = FakeServer(config, host=host, port=port)
    demo_data = srv.seed_demo() if demo else None
    srv.start()
    stop = stop or threading.Event()
    previous: Any = None
    if threading.current_thread() is threading.main_thread():

        def on_term(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = signal.signal(signal.SIGTERM, on_term)
    try:
        out.write(f"# ksegcli fake server on {srv.url} (admin: {srv.url}{_ADMIN_PREFIX}state)\n")
        for line in env_lines(srv.url, demo_data):
            out.write(line + "\n")
        out.write("# Ctrl-C to stop\n")
        out.flush()
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


def _build_parser() -> argparse.ArgumentParser:
    defaults = FakeConfig()
    p = argparse.ArgumentParser(
        prog="python -m ksegcli.testing.fake_server",
        description="Fake Kameleoon + Segment APIs on one local port, for tests and demos.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--seed-demo", action="store_true", help="create the demo account and data")
    p.add_argument("--time-scale", type=float, default=defaults.time_scale)
    p.add_argument("--latency", type=float, default=defaults.latency)
    p.add_argument("--error-rate", type=float, default=defaults.error_rate)
    p.add_argument("--drop-rate", type=float, default=defaults.drop_rate)
    p.add_argument("--rate-limit", type=int, default=defaults.rate_limit)
    p.add_argument("--rate-window", type=float, default=defaults.rate_window)
    p.add_argument("--hourly-limit", type=int, default=defaults.hourly_limit)
    p.add_argument("--token-ttl", type=int, default=defaults.token_ttl)
    p.add_argument("--segment-write-limit", type=int, default=defaults.segment_write_limit)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument(
        "--no-integration-tools",
        action="store_true",
        help="answer 405 on /sites/{id}/integration-tools",
    )
    p.add_argument("--no-site-patch", action="store_true", help="answer 405 on PATCH /sites/{id}")
    p.add_argument("--fault-oauth", action="store_true")
    p.add_argument("--log", action="store_true", help="one line per request on stderr")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    config = FakeConfig(
        rate_limit=args.rate_limit,
        rate_window=args.rate_window,
        hourly_limit=args.hourly_limit,
        time_scale=args.time_scale,
        latency=args.latency,
        token_ttl=args.token_ttl,
        error_rate=args.error_rate,
        drop_rate=args.drop_rate,
        seed=args.seed,
        integration_tools_supported=not args.no_integration_tools,
        site_patch_supported=not args.no_site_patch,
        segment_write_limit=args.segment_write_limit,
        fault_oauth=args.fault_oauth,
        log=args.log,
    )
    return serve(config, host=args.host, port=args.port, demo=args.seed_demo)
