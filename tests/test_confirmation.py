"""One rule for every command that deletes: on a terminal it shows what will go and
asks; --yes skips the question; without a terminal and without --yes it refuses
(exit 2) before any request. Declining says "Nothing changed." and exits 10.

The terminal cases run the real CLI on a pseudo-terminal (pexpect)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest
from conftest import CLIENT_ID, CliRunner, ProcRunner, fake_env, writes

from ksegcli.core.kameleoon.identifier import render_block
from ksegcli.core.snippets import render_snippet
from ksegcli.errors import ExitCode


def kameleoon_calls(server: Any) -> list[str]:
    return [r.path for r in server.requests if "oauth" not in r.path]


@pytest.fixture
def account(fake: Any, tmp_path: Path) -> dict[str, Any]:
    """Two projects with the Segment tool, ksegcli's identifier block and one
    custom data made by ksegcli; an apply file that no longer declares it."""
    sites = []
    for code in ("SHOP000001", "BLOG000002"):
        site = fake.add_site(
            CLIENT_ID, name=code.title(), code=code, tracking_script=render_block()
        )
        fake.set_integration_tools(site["id"], [{"name": "SEGMENT", "settings": {}}])
        sites.append(site)
    trait = render_snippet("trait", trait="plan").code
    ours = fake.add_custom_data(sites[0]["id"], "plan", method="CUSTOM_CODE", customEvalCode=trait)
    file = tmp_path / "account.toml"
    file.write_text("[projects.SHOP000001]\ntraits = []\npersonas = false\ngroup = false\n")
    fake.clear_requests()
    return {"sites": sites, "custom_data": ours, "file": str(file)}


DESTRUCTIVE = {
    "customdata delete": ("customdata", "delete", "plan", "--project", "SHOP000001"),
    "integration uninstall --all": ("integration", "uninstall", "--all"),
    "integration identifier uninstall --all": ("integration", "identifier", "uninstall", "--all"),
    "apply --prune": ("apply", "{file}", "--prune"),
}


def _args(name: str, account: dict[str, Any]) -> list[str]:
    return [a.replace("{file}", account["file"]) for a in DESTRUCTIVE[name]]


@pytest.mark.parametrize("name", sorted(DESTRUCTIVE))
def test_without_a_terminal_and_without_yes_it_refuses_before_any_request(
    name: str, fake: Any, account: dict[str, Any], cli: CliRunner
) -> None:
    result = cli(*_args(name, account), env=fake_env(fake))
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "without confirmation" in result.stderr and "--yes" in result.stderr
    assert "nothing was changed" in result.stderr
    assert kameleoon_calls(fake) == []  # refused before reading, let alone writing
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", sorted(DESTRUCTIVE))
def test_yes_goes_ahead_without_a_terminal(
    name: str, fake: Any, account: dict[str, Any], cli: CliRunner
) -> None:
    result = cli(*_args(name, account), "--yes", env=fake_env(fake))
    assert result.exit_code == 0, result.output
    assert any(method in ("PUT", "PATCH", "DELETE") for method, _ in writes(fake))


def test_refusal_is_one_json_error_document(
    fake: Any, account: dict[str, Any], cli: CliRunner
) -> None:
    result = cli("integration", "uninstall", "--all", "--json", env=fake_env(fake))
    assert result.exit_code == ExitCode.USAGE
    assert result.json()["error"]["code"] == "usage"


def test_dry_runs_need_no_confirmation(fake: Any, account: dict[str, Any], cli: CliRunner) -> None:
    env = fake_env(fake)
    assert cli("integration", "uninstall", "--all", "--dry-run", env=env).exit_code == 0
    assert cli("apply", account["file"], "--prune", "--dry-run", env=env).exit_code == 0
    assert writes(fake) == []


def test_uninstall_of_named_projects_is_not_asked(
    fake: Any, account: dict[str, Any], cli: CliRunner
) -> None:
    result = cli("integration", "uninstall", "--project", "SHOP000001", env=fake_env(fake))
    assert result.exit_code == 0, result.output


# --- on a terminal -------------------------------------------------------------------


def _spawn(fake: Any, proc: ProcRunner, *args: str) -> pexpect.spawn:
    env = {**proc.env, **fake_env(fake)}
    env.pop("CI")
    return pexpect.spawn(
        sys.executable,
        ["-m", "ksegcli", *args],
        env=env,
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 200),
    )


def _finish(child: pexpect.spawn) -> str:
    child.expect(pexpect.EOF)
    child.close()
    return child.before or ""


ASKS = {
    "customdata delete": ("Delete custom data", "'plan'"),
    "integration uninstall --all": (
        "Remove the Segment tool from these 2 project(s)?",
        "BLOG000002",
    ),
    "integration identifier uninstall --all": (
        "Remove ksegcli's identifier block from these 2 project(s)?",
        "BLOG000002",
    ),
    "apply --prune": ("Apply: 1 delete on Kameleoon?", "plan"),
}


def _asked(
    name: str, fake: Any, account: dict[str, Any], proc: ProcRunner
) -> tuple[pexpect.spawn, str]:
    """The command on a terminal, once it asks its question; the screen up to it."""
    question = ASKS[name][0]
    child = _spawn(fake, proc, *_args(name, account))
    child.expect_exact(question)
    return child, (child.before or "") + question


@pytest.mark.parametrize("name", sorted(DESTRUCTIVE))
def test_on_a_terminal_it_shows_what_will_go_and_declining_changes_nothing(
    name: str, fake: Any, account: dict[str, Any], proc: ProcRunner
) -> None:
    child, screen = _asked(name, fake, account, proc)
    child.expect_exact("[y/N]")
    screen += child.before or ""
    assert ASKS[name][1] in screen  # what will go is on screen when the question comes
    child.sendline("n")
    transcript = _finish(child)
    assert child.exitstatus == ExitCode.DECLINED, transcript
    assert "Nothing changed." in transcript
    assert writes(fake) == []


@pytest.mark.parametrize("name", sorted(DESTRUCTIVE))
def test_on_a_terminal_answering_yes_goes_ahead(
    name: str, fake: Any, account: dict[str, Any], proc: ProcRunner
) -> None:
    child, _ = _asked(name, fake, account, proc)
    child.sendline("y")
    transcript = _finish(child)
    assert child.exitstatus == 0, transcript
    assert writes(fake)


def test_on_a_terminal_yes_skips_the_question(
    fake: Any, account: dict[str, Any], proc: ProcRunner
) -> None:
    child = _spawn(fake, proc, "integration", "uninstall", "--all", "--yes")
    transcript = _finish(child)
    assert child.exitstatus == 0, transcript
    assert "?" not in transcript.split("uninstalled")[0]
    assert len(writes(fake)) == 2


def test_apply_on_a_terminal_shows_the_plan_and_asks_before_writing(
    fake: Any, account: dict[str, Any], proc: ProcRunner, tmp_path: Path
) -> None:
    file = tmp_path / "more.toml"
    file.write_text("[projects.BLOG000002]\ntraits = ['tier']\n")
    child = _spawn(fake, proc, "apply", str(file))
    child.expect_exact("Apply: ")
    assert "Planned changes" in (child.before or "") and "tier" in (child.before or "")
    child.sendline("")  # the default is no
    transcript = _finish(child)
    assert child.exitstatus == ExitCode.DECLINED, transcript
    assert writes(fake) == []

    child = _spawn(fake, proc, "apply", str(file))
    child.expect_exact("Apply: ")
    child.sendline("y")
    transcript = _finish(child)
    assert child.exitstatus == 0, transcript
    assert "tier" in [c["name"] for c in fake.custom_datas(account["sites"][1]["id"])]

    # Nothing left to change: no question at all.
    child = _spawn(fake, proc, "apply", str(file))
    transcript = _finish(child)
    assert child.exitstatus == 0, transcript
    assert "Apply:" not in transcript and "Nothing to change" in transcript


def test_declining_with_json_is_one_error_document_with_its_own_code(
    fake: Any, account: dict[str, Any], proc: ProcRunner
) -> None:
    child = _spawn(fake, proc, "integration", "uninstall", "--all", "--json")
    child.expect_exact("[y/N]")
    child.sendline("n")
    transcript = _finish(child)
    assert child.exitstatus == ExitCode.DECLINED
    document = json.loads(transcript[transcript.index("{") :])
    assert document["error"]["code"] == "declined"
    assert writes(fake) == []
