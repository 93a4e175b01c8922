"""Hostile input from the user's side: env knobs, files, arguments and a closed stdout.

Each ends in a clear error naming what is wrong (config exit 7, usage exit 2),
never "Internal error" and never a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ksegcli.errors import ExitCode
from tests.conftest import CLIENT_ID, CLIENT_SECRET, CliRunner, ProcRunner, Result, fake_env


def assert_clean(result: Result) -> None:
    assert "Internal error" not in result.output, result.output
    assert "Traceback" not in result.output, result.output


def assert_config_error(result: Result, says: str) -> None:
    """A config error (exit 7) whose message holds ``says``, and no crash."""
    assert_clean(result)
    assert result.exit_code == ExitCode.CONFIG, result.output
    assert says in result.stderr


def assert_projects_list_refuses(cli: CliRunner, name: str, value: str) -> None:
    """``projects list`` (credentials given) with ``name=value`` is a config error naming it."""
    env = {name: value, "KAMELEOON_CLIENT_ID": "a", "KAMELEOON_CLIENT_SECRET": "b"}
    assert_config_error(cli("projects", "list", env=env), name)


@pytest.mark.parametrize("value", ["1/inf", "1/nan", "1/-inf", "0/10", "50/0", "abc", "1e3/10"])
def test_a_rate_limit_that_is_not_finite_and_positive_is_a_config_error(
    cli: CliRunner, value: str
) -> None:
    assert_projects_list_refuses(cli, "KSEG_RATE_LIMIT", value)


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "0", "soon"])
def test_a_keyring_timeout_that_is_not_a_finite_positive_number_is_a_config_error(
    cli: CliRunner, value: str
) -> None:
    result = cli("auth", "status", env={"KSEG_KEYRING_TIMEOUT": value})
    assert_config_error(result, "KSEG_KEYRING_TIMEOUT")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:abc", "http://127.0.0.1:99999", "https://[::1", "https://a b"]
)
def test_a_base_url_with_a_bad_port_or_host_is_a_config_error_naming_the_variable(
    cli: CliRunner, url: str
) -> None:
    assert_projects_list_refuses(cli, "KSEG_API_URL", url)


def _deep_toml() -> str:
    return "a = " + "[" * 5000 + "]" * 5000 + "\n"


def test_a_profile_nested_thousands_deep_is_a_config_error(cli: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir(mode=0o700)
    (folder / "default.toml").write_text(_deep_toml())
    result = cli("sitecode", "show")
    assert_config_error(result, "nested too deeply")


def test_an_apply_file_nested_thousands_deep_is_a_usage_error(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "{a=" * 5000 + "1" + "}" * 5000 + "\n")
    result = cli("apply", "--dry-run", str(path))
    assert_clean(result)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "nested too deeply" in result.stderr


@pytest.mark.parametrize(
    "key",
    ["ABCDE12345\\n", "١٢٣", "１２３", "12345\\n", "ABCDE1234５"],
    ids=["newline-sitecode", "arabic-digits", "fullwidth-digits", "newline-id", "fullwidth-tail"],
)
def test_project_keys_with_a_newline_or_non_ascii_digits_are_refused(
    cli: CliRunner, tmp_path: Path, key: str
) -> None:
    path = tmp_path / "apply.toml"
    path.write_text(f'[projects."{key}"]\nintegration = true\n', encoding="utf-8")
    result = cli("apply", "--dry-run", str(path))
    assert_clean(result)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "invalid project" in result.stderr


def test_project_references_on_the_command_line_accept_only_ascii_ids() -> None:
    from ksegcli.core.config import is_project_id, validate_sitecode
    from ksegcli.errors import BadInputError

    assert is_project_id("10001")
    for bad in ("١٢٣", "１２３", "12\n", "", " 1"):
        assert not is_project_id(bad)
    with pytest.raises(BadInputError):
        validate_sitecode("ABCDE1234５")


def test_a_100_kb_client_id_is_a_usage_error_that_does_not_echo_it(
    proc: ProcRunner, fake: Any
) -> None:
    big = "c" * 100_000
    env = {**fake_env(fake), "KAMELEOON_CLIENT_ID": big}
    for args in (("auth", "getapikey"), ("projects", "list")):
        result = proc(*args, env=env)
        assert_clean(result)
        assert result.exit_code == ExitCode.USAGE, (args, result.output[:500])
        assert "KAMELEOON_CLIENT_ID" in result.stderr
        assert big[:200] not in result.output


def test_a_request_whose_url_cannot_be_built_is_a_usage_error() -> None:
    import httpx
    import respx

    from ksegcli.core.http.client import HttpClient
    from ksegcli.errors import BadInputError

    client = HttpClient("https://api.example.test", label="Automation API")
    with respx.mock, pytest.raises(BadInputError) as info:
        client.request("GET", "/x", params={"q": "v" * 100_000})
    assert "v" * 100 not in info.value.message
    client.close()
    assert httpx  # imported for respx's transport


@pytest.mark.parametrize("json_mode", [False, True])
def test_extra_arguments_are_never_echoed(cli: CliRunner, json_mode: bool) -> None:
    secret = "s3cr3t-pasted-by-mistake"
    args = ["auth", "login", "--client-id", "X", secret]
    result = cli(*(["--json", *args] if json_mode else args))
    assert result.exit_code == ExitCode.USAGE
    assert secret not in result.output
    assert "unexpected extra argument" in result.output


def _run_with_stdout(args: list[str], stdout: Any, preexec: Any = None) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "ksegcli", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CI": "true"},
        preexec_fn=preexec,
        timeout=60,
    )
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("args", [["--version"], ["--json", "--version"], ["snippet", "--help"]])
def test_a_closed_stdout_is_a_usage_error_on_stderr(args: list[str]) -> None:
    code, stderr = _run_with_stdout(args, None, preexec=lambda: os.close(1))
    assert code == ExitCode.USAGE, stderr
    assert "standard output is closed" in stderr
    assert "Traceback" not in stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
@pytest.mark.parametrize("args", [["--version"], ["--json", "--version"]])
def test_a_full_stdout_is_a_usage_error_on_stderr(tmp_path: Path, args: list[str]) -> None:
    full = tmp_path / "full"
    os.mknod(full, 0o600 | 0o020000, os.makedev(1, 7))  # our own node: writes fail, ENOSPC
    with open(full, "w") as handle:
        code, stderr = _run_with_stdout(args, handle)
    assert code == ExitCode.USAGE, stderr
    assert "Cannot write to standard output" in stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr


def test_valid_knobs_still_work(proc: ProcRunner, fake: Any) -> None:
    env = {
        **fake_env(fake),
        "KSEG_RATE_LIMIT": "50/10",
        "KSEG_KEYRING_TIMEOUT": "2.5",
        "KAMELEOON_CLIENT_ID": CLIENT_ID,
        "KAMELEOON_CLIENT_SECRET": CLIENT_SECRET,
    }
    result = proc("projects", "list", "--json", env=env)
    assert result.exit_code == ExitCode.OK, result.output
