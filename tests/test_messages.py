"""Messages that fit the context: the sitecode's source is said, and an environment
variable that wins over the stored value is pointed out."""

from __future__ import annotations

from conftest import CliRunner


def test_sitecode_set_warns_when_the_environment_variable_wins(cli: CliRunner) -> None:
    result = cli("sitecode", "set", "ABCDE12345", env={"KAMELEOON_SITECODE": "ZZZZZ99999"})
    assert result.exit_code == 0, result.output
    assert "KAMELEOON_SITECODE is set (ZZZZZ99999) and takes precedence" in result.stderr
    shown = cli("sitecode", "show")
    assert shown.stdout.strip() == "ZZZZZ99999"
    assert "(from KAMELEOON_SITECODE)" in shown.stderr


def test_sitecode_show_names_the_profile_as_source(cli: CliRunner) -> None:
    assert cli("sitecode", "set", "ABCDE12345").exit_code == 0
    shown = cli("sitecode", "show")
    assert shown.stdout.strip() == "ABCDE12345"
    assert "(from profile 'default')" in shown.stderr
    assert "takes precedence" not in cli("sitecode", "set", "ABCDE12345").stderr
