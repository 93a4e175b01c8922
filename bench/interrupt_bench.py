"""Benchmark Ctrl-C during `apply`, against the fake server.

Three cases, each on a fresh fake server with PROJECTS projects of TRAITS traits
(personas, group and the Segment tool too: 3 + TRAITS writes per project):

1. `signal`: SIGINT once WRITES writes have been answered. Reports the seconds from
   the signal to the exit, the writes the server received after the signal (it
   stamps a request when it arrives: a write stamped after the signal was started
   after it; goal 0), the exit code (goal 130), whether `--json` printed the
   envelope with `"interrupted": true` and the items' states, and any traceback.
2. `hung`: the same, but custom data creates hang (never answered) from the
   WRITES-th write on: the in-flight writes must be abandoned (goal: exit < 5 s).
3. `twice`: hung writes, SIGINT, then a second one 0.3 s later: the seconds from the
   second to the exit (goal: at once) and any traceback.

    python bench/interrupt_bench.py                  # 3 trials of each
    python bench/interrupt_bench.py --projects 30 --trials 5
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import time
from collections import Counter
from typing import Any

from _common import ROOT, SECRET, fake_account, isolated_env, start_apply, writes

SCALE = 0.01  # the fake's 10 s window lasts 0.1 s
LIMIT = 60.0  # seconds after the signal at which a run still going is killed


def trial(case: str, projects: int, traits: int, latency: float, after: int) -> dict[str, Any]:
    config = {"time_scale": SCALE, "latency": latency}
    with fake_account("cid", SECRET, projects, traits, **config) as (srv, path):
        home = path.parent
        run = start_apply(path, isolated_env(srv, "cid", SECRET, home, SCALE), home)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(writes(srv)) < after:
            time.sleep(0.002)
        if case in ("hung", "twice"):
            srv.configure(timeout_fault_seconds=60.0)
            srv.inject("POST", r"^/custom-datas$", "timeout", count=100_000)
            time.sleep(0.5)  # the workers now wait on hung creates
        sent = time.time()
        signalled = time.monotonic()
        os.kill(run.pid, signal.SIGINT)
        second = None
        if case == "twice":
            time.sleep(0.3)
            if run.poll() is None:
                second = time.monotonic()
                os.kill(run.pid, signal.SIGINT)
        try:
            stdout, stderr = run.communicate(timeout=LIMIT)
            ended = time.monotonic()
        except subprocess.TimeoutExpired:  # still winding down: stop the measure there
            run.kill()
            stdout, stderr = run.communicate()
            ended = None
        late = writes(srv, after=sent)
        try:
            doc = json.loads(stdout)
        except ValueError:
            doc = None
        items = doc.get("items", []) if isinstance(doc, dict) else []
        out: dict[str, Any] = {
            "seconds_to_exit": f">{LIMIT:g}" if ended is None else round(ended - signalled, 2),
            "writes_before_signal": len(writes(srv)) - len(late),
            "writes_after_signal": len(late),
            "exit_code": run.returncode,
            "json_interrupted": isinstance(doc, dict) and doc.get("interrupted") is True,
            "json_items": dict(Counter(i.get("state") for i in items)),
            "traceback": "Traceback" in stderr,
        }
        if case == "twice":
            out["seconds_after_second"] = (
                None
                if second is None
                else f">{LIMIT:g}"
                if ended is None
                else round(ended - second, 2)
            )
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=30)
    parser.add_argument("--traits", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.1, help="server delay per request")
    parser.add_argument("--writes", type=int, default=1, help="answered writes before SIGINT")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--cases", default="signal,hung,twice")
    args = parser.parse_args()
    print(f"checkout: {ROOT}")
    for case in args.cases.split(","):
        for n in range(args.trials):
            result = trial(case, args.projects, args.traits, args.latency, args.writes)
            print(case, n + 1, result, flush=True)


if __name__ == "__main__":
    main()
