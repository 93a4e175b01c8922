"""Whole-process start-up time of ksegcli, as a ratio to a bare ``import typer``.

``python -c "import typer"`` is the floor every Typer CLI pays. Each round runs the
floor and every command once, in turn, so that machine noise hits them alike; a
command's figure is the median over the rounds of (its time / the floor's time in the
same round). Off a terminal unless the case says "on a terminal" (then it runs in a
pseudo-terminal of its own).

The environment is a CI machine's: credentials in env vars, an empty config dir, no
D-Bus session and no keyring configuration (nothing reaches a real keyring).

    python bench/startup.py [--runs 20] [--json] [--check]

``--check`` exits 1 when a command with a target is above it. Timing belongs here,
not in the test suite: tests/test_startup.py pins what each entry point imports.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]  # after `python -m ksegcli`; () is the floor
    target: float | None = None  # the ratio to the floor it must stay under
    tty: bool = False


FLOOR = Case("python -c 'import typer' (floor)", ())
CASES = (
    Case("ksegcli --version", ("--version",), 0.5),
    Case("ksegcli snippet render trait plan", ("snippet", "render", "trait", "plan"), 1.15),
    Case("ksegcli auth getapikey --offline", ("auth", "getapikey", "--offline"), 1.5),
    Case("ksegcli --help", ("--help",), 1.3),
    Case("ksegcli apply --help", ("apply", "--help"), 1.3),
    Case("ksegcli --help (on a terminal)", ("--help",), 2.25, tty=True),
    Case("ksegcli sitecode show", ("sitecode", "show")),
)


def _command(case: Case) -> list[str]:
    if not case.args:
        return [sys.executable, "-c", "import typer"]
    args = list(case.args)
    if sys.platform != "linux" and args[:2] == ["auth", "getapikey"]:
        args.append("--no-store")  # elsewhere the OS keyring is always there: leave it alone
    return [sys.executable, "-m", "ksegcli", *args]


def _run(case: Case, env: dict[str, str]) -> float:
    """Seconds from start to exit of one run."""
    cmd = _command(case)
    if not case.tty:
        started = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, check=False)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            sys.exit(f"{case.name} failed: {proc.stderr.decode()[:500]}")
        return elapsed
    import pty

    leader, follower = pty.openpty()

    def drain() -> None:  # a terminal's buffer is small: keep reading so the child never blocks
        try:
            while os.read(leader, 65536):
                pass
        except OSError:
            pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    started = time.perf_counter()
    proc_tty = subprocess.run(
        cmd, env=env, stdin=follower, stdout=follower, stderr=follower, check=False
    )
    elapsed = time.perf_counter() - started
    os.close(follower)
    reader.join(5)
    os.close(leader)
    if proc_tty.returncode != 0:
        sys.exit(f"{case.name} failed with exit code {proc_tty.returncode}")
    return elapsed


def measure(runs: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("KSEG_", "KAMELEOON_", "SEGMENT_", "PYTHON_KEYRING"))
            and key not in ("DBUS_SESSION_BUS_ADDRESS", "CI")
        }
        env.update(
            {
                "KSEG_CONFIG_DIR": os.path.join(tmp, "config"),
                "XDG_CONFIG_HOME": os.path.join(tmp, "xdg"),  # no keyring configuration
                "KAMELEOON_SITECODE": "ABCDE12345",
                "KAMELEOON_CLIENT_ID": "bench-client",
                "KAMELEOON_CLIENT_SECRET": "bench-secret",
            }
        )
        # Users' Pythons cache bytecode; some build machines turn that off. Measure as users run.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for case in (FLOOR, *CASES):  # warm the file cache and the bytecode
            _run(case, env)
        ratios: dict[str, list[float]] = {case.name: [] for case in CASES}
        floors: list[float] = []
        for _ in range(runs):
            for case in CASES:
                floor = _run(FLOOR, env)
                floors.append(floor)
                ratios[case.name].append(_run(case, env) / floor)
    results = {"floor_ms": {"median": statistics.median(floors) * 1000}}
    for case in CASES:
        values = ratios[case.name]
        results[case.name] = {
            "ratio": statistics.median(values),
            "min": min(values),
            "max": max(values),
        }
        if case.target is not None:
            results[case.name]["target"] = case.target
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    results = measure(args.runs)
    missed = [
        case.name
        for case in CASES
        if case.target is not None and results[case.name]["ratio"] > case.target
    ]
    if args.json:
        print(json.dumps({"runs": args.runs, "results": results, "missed": missed}, indent=2))
    else:
        print(f"{args.runs} rounds; floor median {results['floor_ms']['median']:.1f} ms")
        print(f"  {'ratio':>6}  {'min-max':>11}  {'target':>6}  command")
        for case in CASES:
            row = results[case.name]
            target = f"{case.target:.2f}" if case.target is not None else "-"
            flag = "  MISSED" if case.name in missed else ""
            print(
                f"  {row['ratio']:6.2f}  {row['min']:5.2f}-{row['max']:<5.2f}  {target:>6}"
                f"  {case.name}{flag}"
            )
    if args.check and missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
