"""``ksegcli snippet render``: output modes, sitecode resolution, errors, -o, --list."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest
from conftest import CliRunner, ProcRunner

from ksegcli.commands import snippet as snippet_command
from ksegcli.core.snippets import (
    DATA_HOSTS,
    SDK_LANGUAGES,
    SNIPPET_KINDS,
    USER_ID_MODES,
    persona_values_url,
    render_snippet,
)

SITECODE = "a1b2c3d4e5"


def test_piped_output_is_exactly_the_code(cli: CliRunner) -> None:
    result = cli("snippet", "render", "personas")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == render_snippet("personas").code
    assert result.stderr == ""  # no note when nobody is at the terminal


def test_trait_with_name_and_segment_user_id(cli: CliRunner) -> None:
    result = cli("snippet", "render", "trait", "first-name", "--user-id", "segment")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == render_snippet("trait", trait="first-name", user_id="segment").code


def test_hostile_name_is_rendered_as_data(cli: CliRunner) -> None:
    name = 'x"]);alert(1)//</script>'
    result = cli("snippet", "render", "trait", name)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == render_snippet("trait", trait=name).code
    assert "</script>" not in result.stdout


@pytest.mark.parametrize("where", ["before", "after"])
def test_json_document(cli: CliRunner, where: str) -> None:
    args = ["snippet", "render", "group"]
    result = cli(*(["--json", *args] if where == "before" else [*args, "--json"]))
    assert result.exit_code == 0, result.stderr
    snippet = render_snippet("group")
    assert result.json() == {
        "schema_version": 1,
        "command": "snippet render",
        "kind": "group",
        "code": snippet.code,
        "paste_into": snippet.paste_into,
        "language": "javascript",
    }


def test_terminal_output_is_highlighted_with_a_note(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ksegcli.output import Output

    monkeypatch.setattr(Output, "stdout_is_tty", property(lambda self: True))
    monkeypatch.setattr(Output, "line", None)  # the plain, piped path must not be taken
    monkeypatch.setattr(sys, "stderr", _TtyStream(sys.stderr))
    result = cli("snippet", "render", "identifier")
    assert result.exit_code == 0
    # Rich renders the Syntax; the capture is not a terminal, so it comes out uncoloured and
    # with every line whole (soft wrap: nothing cropped).
    code = render_snippet("identifier").code
    assert [line.rstrip() for line in result.stdout.splitlines()] == code.splitlines()
    assert "Paste it into: Project › Global custom script" in result.stderr
    assert "`ksegcli integration identifier install`" in result.stderr


class _TtyStream:
    """Stands in for sys.stderr (which capsys replaces) and claims to be a terminal."""

    def __init__(self, stream: object) -> None:
        self._stream = stream

    def isatty(self) -> bool:
        return True

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def test_sdk_snippet(cli: CliRunner) -> None:
    result = cli("snippet", "render", "trait", "plan", "--sdk", "go", "--user-var", "visitorCode")
    assert result.exit_code == 0, result.stderr
    expected = render_snippet("trait", trait="plan", sdk="go", user_var="visitorCode")
    assert result.stdout == expected.code
    assert 'GetRemoteData("IDENTIFY_" + visitorCode)' in result.stdout


# -- persona-values and the sitecode ---------------------------------------------------------


def test_persona_values_needs_a_sitecode(cli: CliRunner) -> None:
    result = cli("snippet", "render", "persona-values", "--json")
    assert result.exit_code == 2
    error = result.json()["error"]
    assert error["code"] == "usage" and "sitecode" in error["message"].lower()
    assert "KAMELEOON_SITECODE" in error["hint"]


def test_persona_values_sitecode_from_flag_env_then_profile(cli: CliRunner) -> None:
    assert cli("sitecode", "set", "PROFILE123").exit_code == 0
    from_profile = cli("snippet", "render", "persona-values")
    assert from_profile.exit_code == 0, from_profile.stderr
    assert 'var siteCode = "PROFILE123";' in from_profile.stdout

    from_env = cli("snippet", "render", "persona-values", env={"KAMELEOON_SITECODE": "ENVCODE123"})
    assert 'var siteCode = "ENVCODE123";' in from_env.stdout

    from_flag = cli("snippet", "render", "persona-values", "--sitecode", SITECODE)
    assert from_flag.stdout == render_snippet("persona-values", sitecode=SITECODE).code


def test_persona_values_host_option(cli: CliRunner) -> None:
    for host in DATA_HOSTS:
        result = cli("snippet", "render", "persona-values", "--sitecode", SITECODE, "--host", host)
        assert result.exit_code == 0, result.stderr
        prefix = persona_values_url(SITECODE, host).split(SITECODE)[0]
        assert f'var url = "{prefix}" + siteCode' in result.stdout


def test_invalid_sitecode_flag_is_refused(cli: CliRunner) -> None:
    result = cli("snippet", "render", "persona-values", "--sitecode", "short")
    assert result.exit_code == 2
    assert "sitecode" in result.stderr.lower()


def test_other_kinds_ignore_a_broken_profile_sitecode(cli: CliRunner) -> None:
    # An offline render of personas must not fail because of an unrelated setting.
    result = cli("snippet", "render", "personas", env={"KAMELEOON_SITECODE": "not-a-code"})
    assert result.exit_code == 0, result.stderr


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Give a KIND"),
        (["cohorts"], "Unknown snippet kind 'cohorts'"),
        (["trait"], "needs the trait's name"),
        (["trait", ""], "needs the trait's name"),
        (["personas", "plan"], "takes no name"),
        (["personas", "--user-id", "email"], "Choose one of: visitor-code, segment"),
        (["personas", "--sdk", "ruby"], "Unknown SDK 'ruby'"),
        (["identifier", "--sdk", "python"], "has no SDK version"),
        (["personas", "--sdk", "python", "--user-var", "class"], "Invalid --user-var"),
        (["persona-values", "--sitecode", SITECODE, "--host", "us"], "Unknown data host"),
    ],
)
def test_usage_errors(cli: CliRunner, args: list[str], message: str) -> None:
    result = cli("snippet", "render", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    as_json = cli("snippet", "render", *args, "--json")
    assert as_json.exit_code == 2
    assert message in as_json.json()["error"]["message"]


# -- -o FILE ---------------------------------------------------------------------------------


def test_output_file_holds_exactly_the_code(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "trait.js"
    result = cli("snippet", "render", "trait", "plan", "-o", str(target))
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes() == render_snippet("trait", trait="plan").code.encode("utf-8")
    assert result.stdout == ""
    assert "Wrote the trait snippet" in result.stderr
    assert list(tmp_path.iterdir()) == [target]  # no temp file left behind


def test_output_file_replaces_and_keeps_its_mode(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "group.js"
    target.write_text("old")
    target.chmod(0o640)
    assert cli("snippet", "render", "group", "--output", str(target)).exit_code == 0
    assert target.read_text() == render_snippet("group").code
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_output_file_with_json(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "p.js"
    result = cli("--json", "snippet", "render", "personas", "-o", str(target))
    assert result.exit_code == 0
    assert result.json()["file"] == str(target)
    assert target.read_text() == result.json()["code"]


def test_output_file_in_a_missing_folder(cli: CliRunner, tmp_path: Path) -> None:
    result = cli("snippet", "render", "group", "-o", str(tmp_path / "nope" / "group.js"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
    assert not (tmp_path / "nope").exists()


# -- --list and help -------------------------------------------------------------------------


def test_list_names_every_kind_and_where_it_goes(cli: CliRunner) -> None:
    human = cli("snippet", "render", "--list")
    assert human.exit_code == 0
    listed = cli("snippet", "render", "--list", "--json").json()["items"]
    assert [item["kind"] for item in listed] == list(SNIPPET_KINDS)
    for item in listed:
        spec = SNIPPET_KINDS[item["kind"]]
        assert item["paste_into"] == spec.paste_into
        assert item["kind"] in human.stdout
    assert "trait NAME" in human.stdout
    assert "Global custom script" in human.stdout


def test_help_texts_name_every_choice() -> None:
    # The command module spells the choices out to avoid importing the renderer at start-up.
    assert " | ".join(SNIPPET_KINDS) == snippet_command.KIND_HELP
    for mode in USER_ID_MODES:
        assert mode in snippet_command.USER_ID_HELP
    for host, base in DATA_HOSTS.items():
        assert host in snippet_command.HOST_HELP
        assert base.removeprefix("https://").split(".", 1)[0] in snippet_command.HOST_HELP
    assert snippet_command.SDK_HELP.endswith(f"({' | '.join(SDK_LANGUAGES)}).")


def test_command_module_does_not_import_the_renderer_at_start_up() -> None:
    import subprocess

    code = "import sys, ksegcli.cli; print('ksegcli.core.snippets' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


# -- the real process ------------------------------------------------------------------------


def test_subprocess_render(proc: ProcRunner) -> None:
    result = proc("snippet", "render", "trait", "first-name", "--user-id", "segment")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == render_snippet("trait", trait="first-name", user_id="segment").code
    assert result.stderr == ""
