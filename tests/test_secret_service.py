"""ksegcli against a real Secret Service: gnome-keyring inside a private D-Bus session.

Skipped where dbus-run-session or gnome-keyring-daemon is missing, unless
KSEG_REQUIRE_SECRET_SERVICE=1 (as .ci/run sets it), where a skip would hide a
broken install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KSEG_ENV_VARS

SECRET = "real-keyring-secret-0042"

needs_tools = not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon"))
if needs_tools and os.environ.get("KSEG_REQUIRE_SECRET_SERVICE") == "1":
    raise RuntimeError("KSEG_REQUIRE_SECRET_SERVICE=1 but gnome-keyring / dbus are not installed")

pytestmark = [
    pytest.mark.secretservice,
    pytest.mark.skipif(needs_tools, reason="needs dbus-run-session and gnome-keyring-daemon"),
]

SCRIPT = """
set -u
echo -n test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
run() {{ name=$1; shift; "{python}" -m ksegcli "$@" >"{out}/$name.out" 2>"{out}/$name.err"; echo $? >"{out}/$name.rc"; }}
"{python}" -c 'import keyring; print(type(keyring.get_keyring()).__module__)' >"{out}/backend.out"
KAMELEOON_CLIENT_ID=cid-real KAMELEOON_CLIENT_SECRET={secret} run store auth getapikey --offline
run status auth status --json
"{python}" -X importtime -m ksegcli auth status >/dev/null 2>"{out}/imports.err"
run logout auth logout --json
run status2 auth status --json
"""


def test_store_read_delete_through_real_secret_service(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    script = tmp_path / "session.sh"
    script.write_text(SCRIPT.format(python=sys.executable, out=out, secret=SECRET))
    env = {k: v for k, v in os.environ.items() if k not in KSEG_ENV_VARS}
    env["KSEG_CONFIG_DIR"] = str(tmp_path / "config")
    env["HOME"] = str(tmp_path)  # gnome-keyring keeps its files under $HOME
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    proc = subprocess.run(
        ["dbus-run-session", "--", "bash", str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr

    def read(name: str) -> tuple[int, str, str]:
        return (
            int((out / f"{name}.rc").read_text() or "1"),
            (out / f"{name}.out").read_text(),
            (out / f"{name}.err").read_text(),
        )

    assert "SecretService" in (out / "backend.out").read_text()
    rc, stdout, stderr = read("store")
    assert rc == 0, stderr
    assert "stored in the OS keyring" in stderr
    rc, stdout, stderr = read("status")
    assert rc == 0, stderr
    rows = {r["name"]: r for r in json.loads(stdout)["credentials"]}
    assert rows["api_key"]["present"] and rows["api_key"]["source"] == "keyring"
    assert "SecretService" in json.loads(stdout)["keyring"]
    # Chosen directly: keyring's survey of every backend (macOS, KWallet, plugins) is skipped.
    imports = (out / "imports.err").read_text()
    assert "keyring.backends.SecretService" in imports
    for survey_only in ("keyring.backends.macOS", "keyring.backends.kwallet"):
        assert survey_only not in imports, survey_only
    rc, stdout, _ = read("logout")
    assert rc == 0 and "api_key" in json.loads(stdout)["removed"]
    rc, stdout, _ = read("status2")
    rows = {r["name"]: r for r in json.loads(stdout)["credentials"]}
    assert rows["api_key"]["present"] is False
    for name in ("store", "status", "logout", "status2"):
        _, stdout, stderr = read(name)
        assert SECRET not in stdout + stderr
