"""Help reads well: no option shown as taking a value it does not take, no text
lost to markup."""

from __future__ import annotations

from conftest import ProcRunner


def test_verbose_is_shown_as_a_flag_not_as_taking_an_integer(proc: ProcRunner) -> None:
    for args in (("--help",),):
        text = proc(*args).stdout
        line = next((ln for ln in text.splitlines() if "--verbose" in ln), "")
        assert "-v" in line and "INTEGER" not in line.upper() and "<int>" not in line
        assert "default: 0" not in line


def test_apply_help_keeps_the_bracketed_table_name(proc: ProcRunner) -> None:
    text = " ".join(proc("apply", "--help").stdout.split())
    assert "[projects.<REF>.segment]" in text
    assert "source ()" not in text
