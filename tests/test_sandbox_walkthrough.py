"""docs/sandbox.md's walk-through, run for real; and `ksegcli sandbox` itself."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ProcRunner

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "sandbox.md"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def walkthrough() -> str:
    blocks = re.findall(r"^```sh\n(.*?)^```", DOC.read_text(), flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, "docs/sandbox.md should hold exactly one ```sh walk-through"
    return str(blocks[0])


def shim_dir(tmp_path: Path) -> Path:
    """A `ksegcli` on PATH that runs this checkout (as the console script would)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "ksegcli"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ksegcli "$@"\n')
    shim.chmod(0o755)
    return bin_dir


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_walkthrough_runs_as_written(tmp_path: Path, proc: ProcRunner) -> None:
    env = {
        **proc.env,
        "PATH": f"{shim_dir(tmp_path)}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "PORT": str(free_port()),
    }
    result = subprocess.run(
        ["bash", "-c", walkthrough()],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        cwd=tmp_path,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    out = result.stdout
    # doctor: every check passed, destination included.
    assert "✓ Segment destination and mappings" in out
    assert "✓ Segment tool installed on the project" in out
    assert "✓ Identifier script in the global custom script" in out
    assert "✓ Remote data for user demo-user" in out
    assert "✗" not in out
    assert "five mappings as expected" in out
    # data lookups.
    assert "big_spenders" in out and "acme" in out
    assert "Logged in as demo-client" in result.stderr
    # The sandbox profile took the settings; the default profile was never written.
    config_dir = Path(proc.env["KSEG_CONFIG_DIR"])
    assert (config_dir / "sandbox.toml").exists()
    assert not (config_dir / "default.toml").exists()
    assert "sandbox" in "".join(proc.keyring_entries())


def test_sandbox_foreground_prints_exports_and_stops_on_sigterm(
    tmp_path: Path, proc: ProcRunner
) -> None:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "ksegcli", "sandbox", "--port", str(port), "--time-scale", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=proc.env,
    )
    try:
        assert child.stdout is not None
        lines = [child.stdout.readline() for _ in range(14)]
        exports = dict(line.removeprefix("export ").rstrip("\n").split("=", 1) for line in lines)
        assert exports["KSEG_API_URL"] == f"http://127.0.0.1:{port}"
        assert exports["KSEG_PROFILE"] == "sandbox"
        assert exports["KAMELEOON_CLIENT_ID"] == "demo-client"
        assert exports["KSEG_SEGMENT_WRITE_LIMIT"] == "5/30"
        assert exports["KSEG_RATE_LIMIT"] == "50/5"
        assert exports["KSEG_HOURLY_LIMIT"] == "1000/1800"

        printed = proc("sandbox", "--print-env", "--port", str(port), "--json")
        assert printed.exit_code == 0, printed.stderr
        assert printed.json()["env"]["KAMELEOON_SITECODE"] == exports["KAMELEOON_SITECODE"]
        assert printed.json()["env"]["SANDBOX_SOURCE_ID"] == exports["SANDBOX_SOURCE_ID"]

        # The sandbox really serves: a command pointed at it works.
        env = {k: v for k, v in printed.json()["env"].items()}
        listed = proc("projects", "list", "--json", env=env)
        assert listed.exit_code == 0, listed.stderr
        assert {p["name"] for p in listed.json()["items"]} == {"Demo shop", "Demo blog"}

        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=10)
        assert child.returncode == 0
        assert "127.0.0.1 only" in err and "Sandbox stopped." in err
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_print_env_without_sandbox_and_bad_options(proc: ProcRunner) -> None:
    port = free_port()
    missing = proc("sandbox", "--print-env", "--port", str(port), "--wait", "0.3")
    assert missing.exit_code == 6
    assert f"No ksegcli sandbox answers on http://127.0.0.1:{port}" in missing.stderr
    assert missing.stdout == ""
    bad = proc("sandbox", "--time-scale", "0")
    assert bad.exit_code == 2 and "--time-scale must be positive" in bad.stderr


def test_port_in_use(proc: ProcRunner) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        started = time.monotonic()
        result = proc("sandbox", "--port", str(port))
        assert time.monotonic() - started < 20
    assert result.exit_code == 2
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr
    assert result.stdout == ""
