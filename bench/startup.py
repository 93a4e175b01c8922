"""Whole-process start-up time of ksegcli, against a bare ``import typer``.

Runs each command N times, interleaved (a, b, c, a, b, c, …) so that machine
noise hits all of them alike, and prints the medians in milliseconds.

    python bench/startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS: dict[str, list[str]] = {
    "python -c 'import typer' (floor)": [sys.executable, "-c", "import typer"],
    "ksegcli --version": [sys.executable, "-m", "ksegcli", "--version"],
    "ksegcli snippet render trait plan": [
        sys.executable,
        "-m",
        "ksegcli",
        "snippet",
        "render",
        "trait",
        "plan",
    ],
    "ksegcli auth getapikey --offline": [
        sys.executable,
        "-m",
        "ksegcli",
        "auth",
        "getapikey",
        "--offline",
        "--no-store",
    ],
    "ksegcli sitecode show": [sys.executable, "-m", "ksegcli", "sitecode", "show"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as config_dir:
        env = {
            **os.environ,
            "KSEG_CONFIG_DIR": config_dir,
            "KAMELEOON_SITECODE": "ABCDE12345",
            "KAMELEOON_CLIENT_ID": "bench-client",
            "KAMELEOON_CLIENT_SECRET": "bench-secret",
        }
        # Users' Pythons cache bytecode; some build machines turn that off. Measure as users run.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        times: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for cmd in COMMANDS.values():  # warm the file cache
            subprocess.run(cmd, env=env, capture_output=True, check=False)
        for _ in range(args.runs):
            for name, cmd in COMMANDS.items():
                started = time.perf_counter()
                proc = subprocess.run(cmd, env=env, capture_output=True, check=False)
                times[name].append((time.perf_counter() - started) * 1000)
                if proc.returncode != 0:
                    sys.exit(f"{name} failed: {proc.stderr.decode()[:500]}")
    medians = {name: statistics.median(values) for name, values in times.items()}
    floor = next(iter(medians.values()))
    if args.json:
        print(json.dumps({"runs": args.runs, "median_ms": medians}, indent=2))
        return
    print(f"median of {args.runs} interleaved runs")
    for name, value in medians.items():
        print(f"  {value:7.1f} ms  (+{value - floor:6.1f})  {name}")


if __name__ == "__main__":
    main()
