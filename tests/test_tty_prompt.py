"""A person at a terminal: login prompts for the id and (hidden) secret."""

from __future__ import annotations

import json
import sys
from typing import Any

import pexpect
from conftest import CLIENT_ID, CLIENT_SECRET, ProcRunner, fake_env


def test_login_prompts_on_a_tty_and_hides_the_secret(fake: Any, proc: ProcRunner) -> None:
    env = {**proc.env, **fake_env(fake, credentials=False)}
    env.pop("CI")
    child = pexpect.spawn(
        sys.executable, ["-m", "ksegcli", "auth", "login"], env=env, encoding="utf-8", timeout=20
    )
    child.expect("Kameleoon client id: ")
    child.sendline(CLIENT_ID)
    child.expect("Kameleoon client secret: ")
    child.sendline(CLIENT_SECRET)
    child.expect(pexpect.EOF)
    child.close()
    transcript = child.before or ""
    assert child.exitstatus == 0, transcript
    assert "Logged in as" in transcript
    assert CLIENT_SECRET not in transcript  # not echoed, not printed
    assert (
        json.loads(proc.keyring_file.read_text())["ksegcli/default:client_secret"] == CLIENT_SECRET
    )


def test_no_input_never_prompts_even_on_a_tty(fake: Any, proc: ProcRunner) -> None:
    env = {**proc.env, **fake_env(fake, credentials=False)}
    env.pop("CI")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "ksegcli", "auth", "login", "--no-input"],
        env=env,
        encoding="utf-8",
        timeout=20,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3
    assert "KAMELEOON_CLIENT_ID" in (child.before or "")
