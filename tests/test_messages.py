"""Messages that fit the context: the sitecode's source is said, an environment
variable that wins over the stored value is pointed out, an option that would change
nothing is refused with the reason, and a sitecode in another case is matched and said."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CLIENT_ID, CLIENT_SECRET, CliRunner, ProcRunner, fake_env

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
        (("group", "--host", "data"), "--data-host has no effect on the group"),
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
    from ksegcli.core.kameleoon.client import Site, site_by_code
    from ksegcli.errors import BadInputError

    sites = [Site(1, "a", "", "abcde12345", "SITE"), Site(2, "b", "", "ABCDE12345", "SITE")]
    assert site_by_code(sites, "ABCDE12345") is sites[1]
    with pytest.raises(BadInputError, match="matches 2 projects when case is ignored"):
        site_by_code(sites, "Abcde12345")
    assert site_by_code(sites, "zzzzz99999") is None


# -- hints fit where the credentials came from; the keyring is mentioned where it matters --


BROKEN_KEYRING = {"PYTHON_KEYRING_BACKEND": "ksegcli.testing.keyrings.BrokenKeyring"}


def test_refused_env_credentials_point_at_the_variables_not_at_login(
    proc: ProcRunner, fake: FakeServer
) -> None:
    env = {**fake_env(fake), "KAMELEOON_CLIENT_SECRET": "not-the-secret"}
    result = proc("projects", "list", env=env)
    assert result.exit_code == ExitCode.AUTH, result.stderr
    assert "Kameleoon refused the client id and secret" in result.stderr
    assert "KAMELEOON_CLIENT_ID and KAMELEOON_CLIENT_SECRET come from the environment" in (
        result.stderr
    )
    assert "auth login" not in result.stderr
    assert "not-the-secret" not in result.stdout + result.stderr


def test_refused_stored_credentials_still_say_to_log_in_again() -> None:
    from ksegcli.core.auth.credentials import CLIENT_ID, CLIENT_SECRET, Credential, refused_hint

    stored = refused_hint(
        Credential(CLIENT_ID, "cid", "config"), Credential(CLIENT_SECRET, "s", "keyring")
    )
    assert "ksegcli auth login" in stored
    mixed = refused_hint(
        Credential(CLIENT_ID, "cid", "config"), Credential(CLIENT_SECRET, "s", "env")
    )
    assert mixed.startswith("KAMELEOON_CLIENT_SECRET comes from") is False
    assert "KAMELEOON_CLIENT_SECRET come from the environment: set it" in mixed


def test_env_credentials_need_no_keyring_and_hear_nothing_of_it(
    proc: ProcRunner, fake: FakeServer
) -> None:
    fake.add_site(CLIENT_ID, name="Shop", code="shop000001")
    env = {**fake_env(fake), **BROKEN_KEYRING}
    # doctor looks for a stored API key before deriving it: a read that may fail silently.
    result = proc("doctor", "--sitecode", "shop000001", env=env)
    assert "Traceback" not in result.stderr
    assert "keyring" not in result.stderr.lower(), result.stderr
    assert "derived from the client id and secret" in result.stdout
    verbose = proc("doctor", "--sitecode", "shop000001", "-v", env=env)
    assert "The OS keyring is not usable" in verbose.stderr  # -v still shows it


def test_a_secret_found_nowhere_says_the_keyring_could_not_be_read(
    proc: ProcRunner, fake: FakeServer
) -> None:
    env = {**fake_env(fake, credentials=False), "KAMELEOON_CLIENT_ID": CLIENT_ID, **BROKEN_KEYRING}
    result = proc("projects", "list", env=env)
    assert result.exit_code == ExitCode.AUTH, result.stderr
    assert "No Kameleoon client secret for profile 'default': the OS keyring is not usable" in (
        result.stderr
    )
    assert "Hint: Set KAMELEOON_CLIENT_SECRET" in result.stderr


@pytest.mark.parametrize(
    "keyring_env",
    [
        BROKEN_KEYRING,  # a keyring that fails when used
        {"PYTHON_KEYRING_BACKEND": "", "DBUS_SESSION_BUS_ADDRESS": ""},  # none reachable
    ],
    ids=["broken", "unreachable"],
)
def test_login_without_a_usable_keyring_says_to_use_the_environment(
    proc: ProcRunner, fake: FakeServer, tmp_path: Path, keyring_env: dict[str, str]
) -> None:
    env = {**fake_env(fake, credentials=False), **keyring_env}
    if not keyring_env["PYTHON_KEYRING_BACKEND"]:
        env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")  # no keyringrc.cfg choosing one
        proc.env.pop("PYTHON_KEYRING_BACKEND", None)
        proc.env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        del env["PYTHON_KEYRING_BACKEND"], env["DBUS_SESSION_BUS_ADDRESS"]
    result = proc.login(CLIENT_ID, CLIENT_SECRET + "\n", env=env)
    assert result.exit_code == ExitCode.CONFIG, result.stderr
    assert result.stderr.startswith("Error: auth login keeps the client secret in the OS keyring")
    assert "Nothing was stored." in result.stderr
    assert "set KAMELEOON_CLIENT_ID and KAMELEOON_CLIENT_SECRET in the environment" in (
        result.stderr
    )
    assert "continuing" not in result.stderr and "Warning" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("Error:")] == [
        result.stderr.splitlines()[0]
    ]
    assert CLIENT_SECRET not in result.stdout + result.stderr
    assert not (Path(proc.env["KSEG_CONFIG_DIR"]) / "default.toml").exists() or (
        "client_id" not in (Path(proc.env["KSEG_CONFIG_DIR"]) / "default.toml").read_text()
    )
