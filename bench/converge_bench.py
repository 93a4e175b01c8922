"""Benchmark ksegcli's behaviour under concurrency and Ctrl-C, against the fake server.

1. Duplicates: two `apply` runs of one file, started at once from separate config
   folders and separate cache folders (two CI runners, two machines), against one
   account. Counts the custom data names held more than once afterwards (goal 0)
   and the runs' exit codes.
2. Ctrl-C: one `apply` with many writes against a slow server; SIGINT once the
   first write is answered (bench/interrupt_bench.py measures more cases). Reports the time from the signal to the exit, the
   writes the server received after the signal (goal 0) and the exit code.

    python bench/converge_bench.py                   # 3 trials of each
    python bench/converge_bench.py --projects 20 --trials 5
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from collections import Counter
from contextlib import AbstractContextManager
from pathlib import Path

from _common import ROOT, SECRET, FakeServer, fake_account, isolated_env, start_apply, writes

SCALE = 0.01  # the fake's 10 s window lasts 0.1 s


def base_env(srv: FakeServer, home: Path, name: str) -> dict[str, str]:
    return isolated_env(srv, "cid", SECRET, home / name, SCALE)


def account(
    projects: int, traits: int, latency: float
) -> AbstractContextManager[tuple[FakeServer, Path]]:
    return fake_account("cid", SECRET, projects, traits, time_scale=SCALE, latency=latency)


def duplicates_trial(projects: int, traits: int, latency: float) -> dict[str, object]:
    with account(projects, traits, latency) as (srv, path):
        home = path.parent
        runs = [start_apply(path, base_env(srv, home, name), home) for name in ("a", "b")]
        codes_out = []
        for run in runs:
            run.communicate(timeout=600)
            codes_out.append(run.returncode)
        names = Counter((c["siteId"], c["name"]) for c in srv.custom_datas())
        extra = sum(n - 1 for n in names.values() if n > 1)
        return {
            "duplicates": extra,
            "custom_data": sum(names.values()),
            "wanted": projects * (traits + 2),
            "exit_codes": codes_out,
        }


def interrupt_trial(projects: int, traits: int, latency: float) -> dict[str, object]:
    with account(projects, traits, latency) as (srv, path):
        home = path.parent
        run = start_apply(path, base_env(srv, home, "a"), home)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            r.method == "POST" and r.path == "/custom-datas" and r.status for r in srv.requests
        ):
            time.sleep(0.01)
        sent = time.time()
        signalled = time.monotonic()
        os.kill(run.pid, signal.SIGINT)
        stdout, stderr = run.communicate(timeout=120)
        seconds = time.monotonic() - signalled
        # the fake stamps a request when it arrives (before its latency): a write
        # stamped after the signal was started after it
        late = writes(srv, after=sent)
        try:
            doc = json.loads(stdout)
            interrupted = isinstance(doc, dict) and doc.get("interrupted") is True
            results = len(doc.get("items", [])) if isinstance(doc, dict) else 0
        except ValueError:
            interrupted, results = False, 0
        return {
            "seconds_to_exit": round(seconds, 2),
            "writes_after_signal": len(late),
            "exit_code": run.returncode,
            "json_interrupted": interrupted,
            "json_results": results,
            "traceback": "Traceback" in stderr,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--traits", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.02, help="server delay per request")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--skip-interrupt", action="store_true")
    args = parser.parse_args()
    print(f"checkout: {ROOT}")
    for n in range(args.trials):
        print("duplicates", n + 1, duplicates_trial(args.projects, args.traits, args.latency))
    if not args.skip_interrupt:
        for n in range(args.trials):
            print("interrupt", n + 1, interrupt_trial(args.projects * 3, args.traits, 0.1))


if __name__ == "__main__":
    main()
