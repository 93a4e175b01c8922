"""Messages that fit the context: the sitecode's source is said, an environment
variable that wins over the stored value is pointed out, an option that would change
nothing is refused with the reason, and a sitecode in another case is matched and said."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CLIENT_ID, CliRunner, ProcRunner, fake_env

from ksegcli.errors import ExitCode
from ksegcli.testing import FakeServer


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


# -- an option that changes nothing is refused, not ignored ---------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("identifier", "--user-id", "segment"), "--user-id has no effect on the identifier"),
        (
            ("persona-values", "--sitecode", "ABCDE12345", "--user-id", "visitor-code"),
            "--user-id has no effect on the persona-values",
        ),
        (("trait", "plan", "--sdk", "go", "--user-id", "segment"), "--user-id has no effect with"),
        (("group", "--host", "data"), "--host has no effect on the group"),
        (("personas", "--sitecode", "ABCDE12345"), "--sitecode has no effect on the personas"),
        (("trait", "plan", "--user-var", "uid"), "--user-var has no effect without --sdk"),
    ],
)
def test_snippet_options_without_effect_are_usage_errors(
    cli: CliRunner, args: tuple[str, ...], says: str
) -> None:
    result = cli("snippet", "render", *args)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert result.stdout == "" and result.stderr.startswith(f"Error: {says}")
    doc = cli("snippet", "render", *args, "--json").json()
    assert says in doc["error"]["message"]


def test_snippet_options_with_effect_are_still_accepted(cli: CliRunner) -> None:
    for args in (
        ("personas", "--user-id", "segment"),
        ("persona-values", "--sitecode", "ABCDE12345", "--host", "data"),
        ("trait", "plan", "--sdk", "python", "--user-var", "uid"),
        ("identifier",),
    ):
        result = cli("snippet", "render", *args)
        assert result.exit_code == 0, (args, result.stderr)


# -- sitecodes are matched case-blind, and the match is said ---------------------------------


def test_a_sitecode_in_another_case_finds_its_project_and_says_so(
    proc: ProcRunner, fake: FakeServer, tmp_path: Path
) -> None:
    fake.add_site(CLIENT_ID, name="Shop", code="shop000001")
    env = fake_env(fake)
    status = proc("integration", "status", "--project", "SHOP000001", "--json", env=env)
    assert status.exit_code == 0, status.stderr
    assert [i["project"]["sitecode"] for i in status.json()["items"]] == ["shop000001"]
    assert "Sitecode SHOP000001 matched project Shop" in status.stderr
    assert "shop000001 is used" in status.stderr
    plan = tmp_path / "account.toml"
    plan.write_text('[projects.SHOP000001]\ntraits = ["plan"]\n')
    dry = proc("apply", str(plan), "--dry-run", "--json", env=env)
    assert dry.exit_code == 0, dry.stderr
    assert {i["project"]["sitecode"] for i in dry.json()["items"]} == {"shop000001"}
    exact = proc("integration", "status", "--project", "shop000001", env=env)
    assert exact.exit_code == 0 and "matched" not in exact.stderr


def test_a_sitecode_that_matches_two_projects_ignoring_case_is_refused() -> None:
    from ksegcli.core.kameleoon import Site, site_by_code
    from ksegcli.errors import BadInputError

    sites = [Site(1, "a", "", "abcde12345", "SITE"), Site(2, "b", "", "ABCDE12345", "SITE")]
    assert site_by_code(sites, "ABCDE12345") is sites[1]
    with pytest.raises(BadInputError, match="matches 2 projects when case is ignored"):
        site_by_code(sites, "Abcde12345")
    assert site_by_code(sites, "zzzzz99999") is None
