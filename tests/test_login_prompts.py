"""When ``auth login`` and ``segment login`` ask for a credential, on a terminal and off it:
the commands end to end, over the decision table tests/test_credential_choice.py pins.

A login replaces what is stored: on a terminal it asks even when a value is kept (an
empty answer keeps the client secret; a Segment token is never taken from the keyring);
off a terminal it never asks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pexpect
import pytest
from conftest import FakeFactory, ProcRunner, Tenant, fake_env

from ksegcli.errors import ExitCode
from ksegcli.testing import FakeServer

CLIENT_ID = "prompt-client"
CLIENT_SECRET = "prompt-secret-never-shown-64"
TOKEN = "sgp_prompt_token_hidden_4646"
OLD_TOKEN = "sgp_prompt_token_kept_earlier_1212"
ACCOUNT = Tenant(CLIENT_ID, CLIENT_SECRET, TOKEN)


@pytest.fixture
def srv(make_fake: FakeFactory) -> FakeServer:
    return ACCOUNT.serve(make_fake)


def keep(proc: ProcRunner, tmp_path: Path, **entries: str) -> None:
    """What an earlier login kept: the client id in the profile, secrets in the keyring."""
    folder = tmp_path / "config"
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / "default.toml").write_text(f'client_id = "{CLIENT_ID}"\n')
    proc.keyring_file.write_text(
        json.dumps({f"ksegcli/default:{name}": value for name, value in entries.items()})
    )


def spawn(proc: ProcRunner, srv: FakeServer, *args: str) -> pexpect.spawn:
    """ksegcli on a terminal (no CI), against the fake."""
    env = {**proc.env, **fake_env(srv, credentials=False)}
    env.pop("CI")
    return pexpect.spawn(
        sys.executable, ["-m", "ksegcli", *args], env=env, encoding="utf-8", timeout=20
    )


def finish(child: pexpect.spawn) -> str:
    child.expect(pexpect.EOF)
    child.close()
    screen = child.before or ""
    for secret in ACCOUNT.secrets:
        assert secret not in screen
    return screen


def token_fetches(srv: FakeServer) -> int:
    return sum(1 for r in srv.requests if r.path == "/oauth/token")


def test_auth_login_on_a_terminal_asks_over_the_stored_secret_and_an_empty_answer_keeps_it(
    proc: ProcRunner, srv: FakeServer, tmp_path: Path
) -> None:
    keep(proc, tmp_path, client_secret=CLIENT_SECRET)
    child = spawn(proc, srv, "auth", "login")
    child.expect_exact("Kameleoon client secret: ")
    child.sendline("")
    screen = finish(child)
    assert child.exitstatus == 0, screen
    assert "Kameleoon client secret: " not in screen  # asked once: the stored one is proven
    assert token_fetches(srv) == 1
    assert proc.keyring_entries()["ksegcli/default:client_secret"] == CLIENT_SECRET


def test_auth_login_on_a_terminal_with_nothing_stored_asks_twice_then_refuses(
    proc: ProcRunner, srv: FakeServer
) -> None:
    child = spawn(proc, srv, "auth", "login", "--client-id", CLIENT_ID)
    for _ in range(2):
        child.expect_exact("Kameleoon client secret: ")
        child.sendline("")
    screen = finish(child)
    assert child.exitstatus == ExitCode.AUTH, screen
    assert "No Kameleoon client secret for profile 'default'." in screen
    assert srv.requests == [] and proc.keyring_entries() == {}


def test_auth_login_off_a_terminal_proves_the_stored_secret_without_asking(
    proc: ProcRunner, srv: FakeServer, tmp_path: Path
) -> None:
    keep(proc, tmp_path, client_secret=CLIENT_SECRET)
    result = proc("auth", "login", env=fake_env(srv, credentials=False), timeout=20)
    assert result.exit_code == 0, result.stderr
    assert "Kameleoon client secret:" not in result.stderr
    assert token_fetches(srv) == 1


def test_segment_login_on_a_terminal_asks_even_with_a_token_stored(
    proc: ProcRunner, srv: FakeServer, tmp_path: Path
) -> None:
    keep(proc, tmp_path, segment_token=OLD_TOKEN)
    child = spawn(proc, srv, "segment", "login")
    child.expect_exact("Segment Public API token: ")
    child.sendline(TOKEN)
    screen = finish(child)
    assert child.exitstatus == 0, screen
    assert proc.keyring_entries()["ksegcli/default:segment_token"] == TOKEN


@pytest.mark.parametrize("where", ["pipe", "--no-input"])
def test_segment_login_without_a_terminal_neither_asks_nor_takes_the_stored_token(
    proc: ProcRunner, srv: FakeServer, tmp_path: Path, where: str
) -> None:
    keep(proc, tmp_path, segment_token=OLD_TOKEN)
    if where == "pipe":
        result = proc("segment", "login", env=fake_env(srv, credentials=False), timeout=20)
        exit_code, screen = result.exit_code, result.stdout + result.stderr
    else:
        child = spawn(proc, srv, "--no-input", "segment", "login")
        screen = finish(child)
        exit_code = child.exitstatus
    assert exit_code == ExitCode.AUTH, screen
    assert "No Segment Public API token given." in screen
    assert "Segment Public API token:" not in screen  # no question
    assert srv.requests == []
    assert proc.keyring_entries()["ksegcli/default:segment_token"] == OLD_TOKEN
