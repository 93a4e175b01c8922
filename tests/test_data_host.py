"""One option and one set of values for the Data API host, on every command that reads it."""

from __future__ import annotations

import pytest
import respx
from conftest import CliRunner
from typer.core import TyperOption as ClickOption

from ksegcli.core.kameleoon import dataapi, datahosts
from ksegcli.core.session import Session
from ksegcli.docs_gen import commands
from ksegcli.errors import BadInputError

SITECODE = "abcde12345"
# command -> the name it took before --data-host, still accepted
EARLIER_NAME = {
    ("data", "get"): "--region",
    ("data", "cohorts"): "--region",
    ("data", "traits"): "--region",
    ("doctor",): "--data-region",
    ("verify",): "--data-region",
    ("snippet", "render"): "--host",
}


def _option(path: tuple[str, ...]) -> ClickOption:
    command = dict(commands())[path]
    return next(
        p
        for p in getattr(command, "params", [])
        if isinstance(p, ClickOption) and "--data-host" in p.opts
    )


@pytest.mark.parametrize("path", sorted(EARLIER_NAME))
def test_every_data_api_command_takes_data_host_and_its_earlier_name(
    path: tuple[str, ...],
) -> None:
    option = _option(path)
    assert option.opts[0] == "--data-host"
    assert EARLIER_NAME[path] in option.opts
    shown = (option.metavar or "").split("|")
    expected = list(datahosts.HOSTS)
    if path == ("snippet", "render"):
        expected = [datahosts.LEGACY, *expected]
    assert shown == expected


def test_no_other_command_has_a_data_host_option() -> None:
    having = {
        path
        for path, command in commands()
        for p in getattr(command, "params", [])
        if isinstance(p, ClickOption) and "--data-host" in p.opts
    }
    assert having == set(EARLIER_NAME)


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("data", "https://data.kameleoon.io"),
        ("eu-data", "https://eu-data.kameleoon.io"),
        ("EU", "https://eu-data.kameleoon.io"),
        ("na-data-eu", "https://na-data.kameleoon.eu"),
        ("na-eu", "https://na-data.kameleoon.eu"),
    ],
)
def test_names_and_earlier_values_reach_the_same_host(value: str, url: str) -> None:
    assert dataapi.data_base_url(Session(env={}), value) == url


def test_legacy_host_is_only_for_the_snippet() -> None:
    with pytest.raises(BadInputError) as caught:
        dataapi.data_base_url(Session(env={}), "legacy")
    assert "Unknown Data API host 'legacy'" in caught.value.message
    assert "eu-data" in (caught.value.hint or "")


def test_snippet_takes_the_same_values_under_either_name(cli: CliRunner) -> None:
    base = ("snippet", "render", "persona-values", "--sitecode", SITECODE)
    for alias, name in datahosts.ALIASES.items():
        new = cli(*base, "--data-host", name)
        old = cli(*base, "--host", alias)
        assert new.exit_code == 0 and old.exit_code == 0, (new.output, old.output)
        assert new.stdout == old.stdout
        assert datahosts.HOSTS[name] in new.stdout
    legacy = cli(*base, "--data-host", "legacy")
    assert legacy.exit_code == 0 and datahosts.LEGACY_URL in legacy.stdout


@respx.mock
def test_data_command_reads_the_host_named_by_data_host(cli: CliRunner) -> None:
    route = respx.get("https://na-data.kameleoon.eu/map/map").respond(json={"a": 1})
    for args in (("--data-host", "na-data-eu"), ("--region", "na-eu")):
        result = cli("data", "get", "common", "--sitecode", SITECODE, *args)
        assert result.exit_code == 0, result.output
    assert route.call_count == 2


def test_unknown_host_is_a_usage_error_naming_the_values(cli: CliRunner) -> None:
    result = cli("data", "get", "common", "--sitecode", SITECODE, "--data-host", "moon")
    assert result.exit_code == 2
    assert "Unknown Data API host 'moon'" in result.output
    assert "eu-data" in result.output
