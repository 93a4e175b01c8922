"""Files the tool writes: symlinks followed (never replaced), FIFOs and devices written
through, an existing folder's mode left alone, profile saves that race lose nothing.
Every node here is made in tmp_path: no real system file is touched."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from ksegcli.core.config import Profile, atomic_write, load_profile
from ksegcli.errors import ExitCode
from tests.conftest import CLIENT_ID, CLIENT_SECRET, CliRunner, ProcRunner, fake_env

SITECODE = "ABCDE12345"


def test_snippet_output_through_a_symlink_writes_its_target(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "real.js"
    target.write_text("old")
    link = tmp_path / "link.js"
    link.symlink_to(target)
    result = cli("snippet", "render", "personas", "-o", str(link))
    assert result.exit_code == ExitCode.OK, result.output
    assert link.is_symlink()
    assert "ksegcli personas snippet" in target.read_text()


def test_snippet_output_into_a_fifo_writes_through_it(cli: CliRunner, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = cli("snippet", "render", "personas", "-o", str(fifo))
    reader.join(10)
    assert result.exit_code == ExitCode.OK, result.output
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert b"ksegcli personas snippet" in received[0]


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_snippet_output_to_a_device_writes_through_it(cli: CliRunner, tmp_path: Path) -> None:
    device = tmp_path / "null"
    os.mknod(device, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # our own null device node
    result = cli("snippet", "render", "personas", "-o", str(device))
    assert result.exit_code == ExitCode.OK, result.output
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_a_symlinked_profile_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "default.toml"
    real.parent.mkdir()
    real.write_text('client_id = "a"\n')
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "default.toml").symlink_to(real)
    profile = load_profile("default")
    profile.set("sitecode", SITECODE)
    profile.save()
    assert (folder / "default.toml").is_symlink()
    assert load_profile("default").values == {"client_id": "a", "sitecode": SITECODE}


def test_an_existing_folders_mode_is_never_changed(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    Profile("default", folder / "default.toml", {"sitecode": SITECODE}).save()
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(folder / "default.toml").st_mode) == 0o600


def test_a_new_folder_is_created_private(tmp_path: Path) -> None:
    target = tmp_path / "new" / "deeper" / "x.toml"
    atomic_write(target, b"a = 1\n")
    assert stat.S_IMODE(os.stat(target.parent).st_mode) == 0o700


def test_saves_of_two_profiles_objects_merge_their_own_changes(tmp_path: Path) -> None:
    first = load_profile("default")
    second = load_profile("default")
    first.set("client_id", CLIENT_ID)
    second.set("sitecode", SITECODE)
    first.save()
    second.save()
    assert load_profile("default").values == {"client_id": CLIENT_ID, "sitecode": SITECODE}


def test_login_racing_sitecode_set_loses_nothing(proc: ProcRunner, fake: Any) -> None:
    env = {**proc.env, **fake_env(fake, credentials=False)}
    procs = []
    for _ in range(4):
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "ksegcli", "auth", "login", "--client-id", CLIENT_ID,
                 "--client-secret-stdin"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                env=env,
            )
        )  # fmt: skip
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "ksegcli", "sitecode", "set", SITECODE],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                env=env,
            )
        )  # fmt: skip
    for p in procs:
        _, err = p.communicate(input=f"{CLIENT_SECRET}\n".encode() if p.stdin else None, timeout=60)
        assert p.returncode == 0, err.decode()
    values = load_profile("default").values
    assert values.get("client_id") == CLIENT_ID
    assert values.get("sitecode") == SITECODE


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o707, 0o770])
def test_a_config_folder_open_to_others_is_warned_about_and_keeps_its_mode(
    proc: ProcRunner, tmp_path: Path, mode: int
) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    os.chmod(folder, mode)
    result = proc("sitecode", "set", SITECODE)
    assert result.exit_code == ExitCode.OK, result.stderr
    assert f"The config folder {folder} is open to other users (mode {mode:04o})" in " ".join(
        result.stderr.split()
    )
    assert stat.S_IMODE(os.stat(folder).st_mode) == mode  # warned, never chmod-ed
    assert load_profile("default").values == {"sitecode": SITECODE}


def test_a_private_or_new_config_folder_gets_no_warning(proc: ProcRunner, tmp_path: Path) -> None:
    made = proc("sitecode", "set", SITECODE)  # the folder is created here, 0700
    assert made.exit_code == ExitCode.OK, made.stderr
    assert stat.S_IMODE(os.stat(tmp_path / "config").st_mode) == 0o700
    again = proc("sitecode", "set", SITECODE)
    assert "open to other users" not in made.stderr + again.stderr
