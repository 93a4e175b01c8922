"""Benchmark `ksegcli apply` against the fake server with Kameleoon's real rate limit.

An account of N projects x (personas + T traits + group) custom data, plus the
Segment tool on each, applied from scratch and then again (a no-op). Reports
requests used against the minimum, wall time against the rate-limit floor, and
the number of HTTP 429 answers.

    python bench/apply_bench.py                      # 50 projects x 12 = 600 custom data
    python bench/apply_bench.py --time-scale 1       # real time: ~2.5 minutes
    python bench/apply_bench.py --client-limit 50    # no safety margin

--time-scale shrinks the server's windows (10 s -> 10*scale s) and the client's
limiter (KSEG_RATE_LIMIT=LIMIT/(10*scale)) together; --latency is the server's
per-request delay, in real seconds (not scaled).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import SECRET, FakeServer, account_file, ksegcli_env, serve

PER_PAGE = 200


def run_apply(srv: FakeServer, path: Path, env: dict[str, str], workers: int) -> dict:
    srv.clear_requests()
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "ksegcli", "apply", str(path), "--json", "--workers", str(workers)],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    wall = time.monotonic() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"apply exited {proc.returncode}")
    doc = json.loads(proc.stdout)
    records = srv.requests
    kameleoon = [r for r in records if r.service in ("automation", "oauth")]
    by_type: dict[str, int] = {}
    for r in kameleoon:
        kind = f"{r.method} " + (
            "/sites/{id}/integration-tools" if "integration-tools" in r.path else r.path
        )
        kind = "PATCH|DELETE /custom-datas/{id}" if r.path.startswith("/custom-datas/") else kind
        by_type[kind] = by_type.get(kind, 0) + 1
    return {
        "wall": wall,
        "apply_seconds": doc.get("seconds"),
        "requests": len(kameleoon),
        "by_type": by_type,
        "throttled": sum(1 for r in kameleoon if r.status == 429),
        "summary": doc.get("summary"),
    }


def floor_seconds(requests: int, limit: int, window: float) -> float:
    """Earliest the last of `requests` can be sent under `limit` per sliding `window`."""
    return ((requests - 1) // limit) * window if requests > 0 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--traits", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.1, help="server latency, seconds")
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument("--server-limit", type=int, default=50, help="requests per window")
    parser.add_argument(
        "--client-limit",
        type=int,
        default=None,
        help="client limiter per window (default: ksegcli's own default, KSEG_RATE_LIMIT unset "
        "but scaled)",
    )
    parser.add_argument(
        "--client-slack",
        type=float,
        default=0.0,
        help="extra seconds added to the client's (scaled) window, e.g. 0.02",
    )
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument(
        "--back-to-back",
        action="store_true",
        help="start the no-op run right after the full one (by default it waits one window: "
        "the server's window still holds the first run's requests, which the second "
        "process's limiter cannot see)",
    )
    args = parser.parse_args()

    window = 10.0 * args.time_scale
    srv, codes = serve(
        "bench",
        SECRET,
        args.projects,
        "Project ",
        rate_limit=args.server_limit,
        time_scale=args.time_scale,
        latency=args.latency,
    )
    try:
        items = args.projects * (args.traits + 2)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "account.toml"
            path.write_text(account_file(codes, args.traits))
            from ksegcli.core.config import rate_limit

            client_limit = args.client_limit or rate_limit({})[0]
            limiter = f"{client_limit}/{window + args.client_slack:g}"
            env = ksegcli_env(srv, "bench", SECRET, Path(tmp), rate_limit=limiter)
            full = run_apply(srv, path, env, args.workers)
            if not args.back_to_back:
                time.sleep(window)
            noop = run_apply(srv, path, env, args.workers)
        made = len(srv.custom_datas())
    finally:
        srv.stop()

    # Minimum: token + sites page(s) + custom data page(s) + one tools GET per project,
    # then one PUT per project and one POST per custom data.
    site_pages = args.projects // PER_PAGE + 1
    reads_empty = 1 + site_pages + 1 + args.projects
    reads_full = 1 + site_pages + items // PER_PAGE + 1 + args.projects
    minimum = reads_empty + args.projects + items
    floor = floor_seconds(minimum, args.server_limit, window)
    # A client cannot know when the server stamps a request (between send and answer),
    # so one that may never cause a 429 holds each slot until its answer is a window
    # old: its floor adds one latency per window.
    safe_floor = floor_seconds(minimum, args.server_limit, window + args.latency)
    apply_s = full["apply_seconds"] or full["wall"]
    print(
        f"apply benchmark: {args.projects} projects x {args.traits + 2} custom data = {items}; "
        f"server {args.server_limit}/{window:g}s (= 50/10s x {args.time_scale:g}), "
        f"client limiter {client_limit}/{window + args.client_slack:g}s, latency {args.latency * 1000:.0f} ms, "
        f"{args.workers} workers"
    )
    print(f"  custom data on the server after the runs: {made} (expected {items})")
    print(
        f"  full apply : {full['requests']} requests (minimum {minimum}); "
        f"{apply_s:.2f} s in apply ({full['wall']:.2f} s wall incl. start-up); "
        f"429s: {full['throttled']}"
    )
    print(
        f"    vs rate-limit floor {floor:.2f} s: {100 * (apply_s / floor - 1):+.1f} %; "
        f"vs latency-aware floor {safe_floor:.2f} s: {100 * (apply_s / safe_floor - 1):+.1f} %"
    )
    print(f"    by type: {json.dumps(full['by_type'])}")
    print(
        f"  no-op apply: {noop['requests']} requests (minimum {reads_full}); "
        f"{noop['wall']:.2f} s wall; 429s: {noop['throttled']}; summary {noop['summary']}"
    )
    print(f"    by type: {json.dumps(noop['by_type'])}")
    if args.time_scale != 1:
        print(
            f"  (latency is not scaled: at --time-scale 1 the floor is {floor / args.time_scale:.0f}"
            f" s and a latency per window costs {100 * args.latency * args.time_scale / window:.1f}"
            f" %, not {100 * args.latency / window:.0f} %)"
        )


if __name__ == "__main__":
    main()
