"""Ctrl-C mid-request: a clean message, exit 130, nothing half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conftest import ProcRunner, fake_env

from ksegcli.errors import ExitCode


def test_sigint_during_a_hung_request(fake: Any, proc: ProcRunner, tmp_path: Path) -> None:
    fake.configure(timeout_fault_seconds=30)
    fake.inject("GET", r"^/sites$", "timeout", count=1)
    assert proc("sitecode", "set", "KEEPME1234").exit_code == 0
    profile = tmp_path / "config" / "default.toml"
    before = profile.read_text()
    child = subprocess.Popen(
        [sys.executable, "-m", "ksegcli", "projects", "list"],
        env={**proc.env, **fake_env(fake)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any(r.path == "/oauth/token" for r in fake.requests):
        time.sleep(0.05)
    time.sleep(0.5)  # now waiting on the hung GET /sites
    os.kill(child.pid, signal.SIGINT)
    stdout, stderr = child.communicate(timeout=15)
    assert child.returncode == ExitCode.INTERRUPTED
    assert "Interrupted" in stderr
    assert "Traceback" not in stderr
    assert stdout == ""
    assert profile.read_text() == before
