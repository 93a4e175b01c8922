"""What a CI job of several ksegcli commands costs the account, against the fake server.

1. A dry run followed at once by ``apply`` (the CI habit) on a 10-project file:
   how many HTTP 429 answers the two processes met (goal 0).
2. Ten commands in a row with credentials from the environment: how many OAuth
   tokens they fetched (goal 1).

    python bench/ci_bench.py [--time-scale 0.2] [--latency 0.02]

--time-scale shrinks the server's 10 s window and the client's limiter together
(KSEG_RATE_LIMIT=50/(10*scale)); the hourly budget stays 1,000.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import SECRET, account_file, ksegcli_env, serve

CI_SCRIPT = [
    ["projects", "list", "--json"],
    ["customdata", "list", "--all", "--json"],
    ["integration", "status", "--all", "--json"],
    ["projects", "list", "--json"],
    ["customdata", "list", "--all", "--json"],
    ["integration", "status", "--all", "--json"],
    ["projects", "list", "--json"],
    ["customdata", "list", "--all", "--json"],
    ["integration", "status", "--all", "--json"],
    ["projects", "list", "--json"],
]


def run(args: list[str], env: dict[str, str]) -> int:
    proc = subprocess.run(
        [sys.executable, "-m", "ksegcli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode not in (0, 8):
        sys.stderr.write(proc.stderr[-2000:])
    return proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--traits", type=int, default=3)
    parser.add_argument("--time-scale", type=float, default=0.2)
    parser.add_argument("--latency", type=float, default=0.02)
    args = parser.parse_args()
    window = 10.0 * args.time_scale
    srv, codes = serve(
        "ci",
        SECRET,
        args.projects,
        "Project ",
        time_scale=args.time_scale,
        latency=args.latency,
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "account.toml"
            path.write_text(account_file(codes, args.traits))
            env = ksegcli_env(srv, "ci", SECRET, Path(tmp), rate_limit=f"50/{window:g}")
            srv.clear_requests()
            started = time.monotonic()
            codes_seen = [
                run(["apply", str(path), "--dry-run", "--json"], env),
                run(["apply", str(path), "--json"], env),
            ]
            wall = time.monotonic() - started
            records = srv.requests
            throttled = sum(1 for r in records if r.status == 429)
            print(
                f"dry-run then apply, {args.projects} projects x {args.traits + 2} custom data, "
                f"server 50/{window:g}s (scale {args.time_scale:g}), latency "
                f"{args.latency * 1000:.0f} ms: exit codes {codes_seen}, "
                f"{len(records)} requests, 429s: {throttled}, {wall:.1f} s"
            )
            time.sleep(window)
            env["KSEG_CACHE_DIR"] = str(Path(tmp) / "cache-ci")  # a fresh machine
            srv.clear_requests()
            exits = [run(cmd, env) for cmd in CI_SCRIPT]
            tokens = sum(1 for r in srv.requests if r.path == "/oauth/token")
            print(
                f"{len(CI_SCRIPT)}-command CI script with env credentials: exit codes {exits}, "
                f"tokens fetched: {tokens}"
            )
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
