from __future__ import annotations

from conftest import CliRunner, ProcRunner


def test_version_in_process(cli: CliRunner) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("ksegcli ")


def test_sitecode_round_trip_subprocess(proc: ProcRunner) -> None:
    assert proc("sitecode", "set", "ABCDE12345").exit_code == 0
    shown = proc("sitecode", "show", "--json")
    assert shown.exit_code == 0, shown.stderr
    assert shown.json()["sitecode"] == "ABCDE12345"
