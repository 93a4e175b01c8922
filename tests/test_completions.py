"""Shell completion: the committed scripts match the app, and real bash, zsh and fish
offer what a TAB should: commands, options, known values, profiles and the sitecodes
of the last project listing, never files where no file is wanted.

A shell that is missing skips its tests, except with KSEG_REQUIRE_SHELLS=1 (as .ci/run
sets it), where a skip would hide a broken completion.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CliRunner, ProcRunner, fake_env

from ksegcli.completion import (
    FILES,
    FREE_TEXT,
    MARKER,
    SHELLS,
    _value_rules,
    _walk_raw,
    generate,
    tree,
    unknown_values,
)
from ksegcli.core import project_cache

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = os.environ.get("KSEG_REQUIRE_SHELLS") == "1"


def home_env(home: Path) -> dict[str, str]:
    """HOME for a run that installs, and no variable that would send it elsewhere."""
    blank = ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "BASH_COMPLETION_USER_DIR")
    return {"HOME": str(home), **dict.fromkeys(blank, ""), "ZDOTDIR": ""}


def need(shell: str) -> str:
    found = shutil.which(shell)
    if found is None:
        if REQUIRED:
            pytest.fail(f"KSEG_REQUIRE_SHELLS=1 but {shell} is not installed")
        pytest.skip(f"needs {shell}")
    return found


# -- the scripts are generated from the command tree ------------------------------------------


@pytest.mark.parametrize("shell", SHELLS)
def test_committed_completions_are_up_to_date(shell: str) -> None:
    path = ROOT / "completions" / FILES[shell]
    assert path.exists(), f"missing {path}: run python -m ksegcli.completion {shell} > {path}"
    assert path.read_text() == generate(shell), (
        f"{path} is out of date: run `python -m ksegcli.completion {shell} > {path}`"
    )


def test_every_value_taking_option_says_what_it_completes_to() -> None:
    """A new option with a value must get a rule in ksegcli.completion (known values,
    profiles, sitecodes, files) or be listed there as free text."""
    assert unknown_values() == []


def test_every_completion_rule_names_an_option_that_exists() -> None:
    existing: set[tuple[str, str]] = set()
    for command, path in _walk_raw():
        for param in command.params:
            names = [*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ())]
            if param.param_type_name == "argument":
                names = [param.name or ""]
            for name in names:
                words = path.split()
                existing.update((" ".join(words[:n]), name) for n in range(len(words) + 1))
    stale = [key for key in (*_value_rules(), *FREE_TEXT) if key not in existing]
    assert stale == [], f"completion rules for options that no longer exist: {stale}"


@pytest.mark.parametrize("shell", SHELLS)
def test_the_completion_command_prints_the_committed_script(proc: ProcRunner, shell: str) -> None:
    result = proc("completion", shell)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (ROOT / "completions" / FILES[shell]).read_text()
    as_json = proc("completion", shell, "--json")
    assert as_json.json()["script"] == result.stdout
    assert as_json.json()["shell"] == shell


def test_the_completion_command_refuses_an_unknown_shell(proc: ProcRunner) -> None:
    result = proc("completion", "tcsh")
    assert result.exit_code == 2
    assert "Unknown shell 'tcsh'" in result.stderr and "bash, zsh, fish" in result.stderr
    assert result.stdout == ""


# -- driving the shells --------------------------------------------------------------------


def bash_complete(words: list[str], env: dict[str, str] | None = None) -> list[str]:
    """What bash's TAB offers for ``words`` (the last one is being typed)."""
    need("bash")
    script = ROOT / "completions" / FILES["bash"]
    line = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    program = (
        f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; "
        '_ksegcli; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=30,
    )
    assert proc.stderr == ""
    return [w for w in proc.stdout.splitlines() if w]


def fish_complete(line: str, env: dict[str, str]) -> list[str]:
    """What fish offers for ``line`` (``complete -C``), without the descriptions. fish
    loads the script by itself (its completions folder), as for a user: that takes the
    user's paths (no --no-config) and a ksegcli on PATH."""
    need("fish")
    on_path = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    assert (Path(sys.executable).parent / "ksegcli").exists()
    proc = subprocess.run(
        ["fish", "-c", f"complete -C {shq(line)}"],
        capture_output=True,
        text=True,
        env={**env, "PATH": on_path},
        timeout=30,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return [w.split("\t")[0] for w in proc.stdout.splitlines() if w]


def shq(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# A real interactive zsh in a pseudo-terminal: compinit finds _ksegcli on $fpath, the line
# is typed and TAB pressed; compadd is wrapped to print the matches it really adds.
ZSH_CAPTURE = r"""
zmodload zsh/zpty || exit 3
local dir=$1 line=$2 sourced=$3 l
zpty z zsh -f -i
zpty -w z "PROMPT= RPROMPT= ; fpath=($dir \$fpath); autoload -Uz compinit; compinit -u -D; m=MATCH d=DONE"
[[ -n $sourced ]] && zpty -w z "source ${(q)sourced}"
zpty -w z 'compadd() { if (( ${@[(I)-[OAD]]} )); then builtin compadd "$@"; return; fi; local -a __hits; builtin compadd -A __hits "$@"; (( $#__hits )) && print -rl -- "<<$m>>"${^__hits}; builtin compadd "$@"; }'
zpty -w z 'zstyle ":completion:*" menu no; bindkey "^I" complete-word; comppostfuncs=(__done); __done() { print -r -- "<<$d>>"; exit }'
zpty -w z "$line"$'\t'
while zpty -r z l; do
  [[ $l == *"<<MATCH>>"* ]] && print -r -- ${${l##*<<MATCH>>}%%[$'\r\n']#}
  [[ $l == *"<<DONE>>"* ]] && break
done
"""


def zsh_complete(
    line: str, env: dict[str, str], fpath_dir: Path, sourced: Path | None = None
) -> list[str]:
    need("zsh")
    harness = Path(env["HOME"]) / "capture.zsh"
    harness.write_text(ZSH_CAPTURE)
    proc = subprocess.run(
        ["zsh", "-f", str(harness), str(fpath_dir), line, str(sourced or "")],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    return [w.strip() for w in proc.stdout.splitlines() if w.strip()]


@pytest.fixture
def shell_env(tmp_path: Path) -> dict[str, str]:
    """A HOME of its own, the test's config and cache folders, two profiles, and a cached
    project listing for the default profile."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        **home_env(home),
        "KSEG_CONFIG_DIR": str(tmp_path / "config"),
        "KSEG_CACHE_DIR": str(tmp_path / "cache"),
        "TERM": "dumb",
    }
    (tmp_path / "config").mkdir()
    for name in ("prod", "staging"):
        (tmp_path / "config" / f"{name}.toml").write_text('sitecode = "ABCDE12345"\n')
    cache = tmp_path / "cache" / "projects"
    cache.mkdir(parents=True)
    (cache / "default.tsv").write_text("SHOP000001\t1\tShop\nBLOG000002\t2\tBlog\n")
    (cache / "prod.tsv").write_text("PROD000001\t9\tProd shop\n")
    return env


# -- bash ------------------------------------------------------------------------------------


def test_bash_completes_groups_commands_and_options(shell_env: dict[str, str]) -> None:
    assert "auth" in bash_complete(["ksegcli", ""], shell_env)
    assert "completion" in bash_complete(["ksegcli", ""], shell_env)
    assert bash_complete(["ksegcli", "au"], shell_env) == ["auth"]
    assert "getapikey" in bash_complete(["ksegcli", "auth", ""], shell_env)
    assert "--offline" in bash_complete(["ksegcli", "auth", "getapikey", "--"], shell_env)
    # A global option's value is skipped when finding the command path.
    assert "getapikey" in bash_complete(["ksegcli", "--profile", "prod", "auth", ""], shell_env)


SHARED = ("--help", "-h", "--profile", "--json", "--verbose", "-v", "--no-input", "--trace")


def test_every_shell_offers_what_every_command_shares_after_its_words(
    shell_env: dict[str, str], proc: ProcRunner, tmp_path: Path
) -> None:
    """--help, -h and the global options are taken after any command's words too; the
    scripts list them once, so each shell is asked after a command, not at the root."""
    for words in (n.path.split() for n in tree() if n.path and not n.subcommands):
        offered = set(bash_complete(["ksegcli", *words, "-"], shell_env))
        assert set(SHARED) <= offered, words
    longs = {option for option in SHARED if option.startswith("--")}
    zfunc = tmp_path / "zfunc"
    zfunc.mkdir()
    (zfunc / "_ksegcli").write_text(generate("zsh"))
    assert longs <= set(zsh_complete("ksegcli auth login --", shell_env, zfunc))
    env = {**shell_env, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert proc("completion", "fish", "--install", env=env).exit_code == 0
    assert longs <= set(fish_complete("ksegcli auth login --", env))


def test_bash_completes_snippet_kinds_and_what_each_kind_takes(shell_env: dict[str, str]) -> None:
    kinds = bash_complete(["ksegcli", "snippet", "render", ""], shell_env)
    assert kinds == ["identifier", "personas", "trait", "group", "persona-values"]
    trait = bash_complete(["ksegcli", "snippet", "render", "trait", "--"], shell_env)
    assert {"--sdk", "--user-id", "--user-var", "--output"} <= set(trait)
    assert "--host" not in trait and "--sitecode" not in trait and "--list" not in trait
    values = bash_complete(["ksegcli", "snippet", "render", "persona-values", "--"], shell_env)
    assert {"--host", "--sitecode"} <= set(values) and "--sdk" not in values
    assert "--user-id" not in bash_complete(
        ["ksegcli", "snippet", "render", "identifier", "--"], shell_env
    )
    # The trait's NAME is free text: nothing is offered, in particular not the files here.
    assert bash_complete(["ksegcli", "snippet", "render", "trait", ""], shell_env) == []


def test_bash_completes_the_values_each_option_accepts(shell_env: dict[str, str]) -> None:
    render = ["ksegcli", "snippet", "render", "trait", "plan"]
    assert bash_complete([*render, "--sdk", ""], shell_env) == ["python", "go", "js"]
    assert bash_complete([*render, "--user-id", ""], shell_env) == ["visitor-code", "segment"]
    hosts = bash_complete(
        ["ksegcli", "snippet", "render", "persona-values", "--host", ""], shell_env
    )
    assert hosts[0] == "legacy" and "eu-data" in hosts
    create = ["ksegcli", "customdata", "create", "trait", "plan", "--format", ""]
    assert bash_complete(create, shell_env) == ["string", "number", "boolean"]
    data_hosts = ["data", "eu-data", "na-data", "eu-data-eu", "na-data-eu"]
    assert (
        bash_complete(["ksegcli", "data", "get", "k", "--data-host", ""], shell_env) == data_hosts
    )
    # the earlier name of the option offers the same, one set of values
    assert bash_complete(["ksegcli", "data", "get", "k", "--region", ""], shell_env) == data_hosts
    assert bash_complete(["ksegcli", "segment", "login", "--region", ""], shell_env) == [
        "us",
        "eu",
    ]
    assert bash_complete(["ksegcli", "doctor", "--data-region", "n"], shell_env) == [
        "na-data",
        "na-data-eu",
    ]
    assert bash_complete(["ksegcli", "completion", ""], shell_env) == list(SHELLS)
    # --opt=value: bash hands the '=' over as a word of its own.
    assert bash_complete(["ksegcli", "data", "get", "--data-host", "=", "e"], shell_env) == [
        "eu-data",
        "eu-data-eu",
    ]


def test_bash_offers_the_values_that_the_command_accepts(
    shell_env: dict[str, str], cli: CliRunner
) -> None:
    """What completion offers is what the command takes: every value renders."""
    render = ["ksegcli", "snippet", "render", "trait", "plan"]
    for sdk in bash_complete([*render, "--sdk", ""], shell_env):
        assert cli(*render[1:], "--sdk", sdk).exit_code == 0, sdk
    for mode in bash_complete([*render, "--user-id", ""], shell_env):
        assert cli(*render[1:], "--user-id", mode).exit_code == 0, mode
    values = ["ksegcli", "snippet", "render", "persona-values", "--sitecode", "ABCDE12345"]
    for host in bash_complete([*values, "--host", ""], shell_env):
        assert cli(*values[1:], "--host", host).exit_code == 0, host
    # Each kind takes the options offered once it is typed, and refuses the others.
    with_value = {
        "--sitecode": "ABCDE12345",
        "--host": "data",
        "--user-id": "segment",
        "--sdk": "go",
        "--user-var": "uid",
    }
    for kind in bash_complete(["ksegcli", "snippet", "render", ""], shell_env):
        args = ["snippet", "render", kind, *(["plan"] if kind == "trait" else [])]
        offered = set(bash_complete(["ksegcli", *args, "--"], shell_env)) & set(with_value)
        # --sdk (and its --user-var) make the server-side code, which reads no --user-id.
        sdk_part = {"--sdk", "--user-var"} & offered
        for part in (offered - sdk_part, sdk_part) if sdk_part else (offered,):
            given = [word for option in sorted(part) for word in (option, with_value[option])]
            result = cli(*args, *given)
            assert result.exit_code == 0, (kind, given, result.stderr)
        for option in set(with_value) - offered - {"--user-var"}:
            refused = cli(*args, option, with_value[option])
            assert refused.exit_code == 2, (kind, option)


def test_bash_completes_profiles_from_the_config_folder(
    shell_env: dict[str, str], tmp_path: Path
) -> None:
    # A file whose name is not a profile name is neither offered nor run.
    (tmp_path / "config" / "$(touch PWNED).toml").write_text("")
    (tmp_path / "config" / "notes.txt").write_text("")
    assert bash_complete(["ksegcli", "--profile", ""], shell_env) == ["default", "prod", "staging"]
    assert bash_complete(["ksegcli", "auth", "status", "--profile", "st"], shell_env) == ["staging"]
    assert bash_complete(["ksegcli", "--profile", "=", "p"], shell_env) == ["prod"]
    assert not (Path(shell_env["HOME"]) / "PWNED").exists() and not Path("PWNED").exists()


def test_bash_completes_cached_sitecodes_of_the_profile_in_effect(
    shell_env: dict[str, str], tmp_path: Path
) -> None:
    install = ["ksegcli", "integration", "install", "--project", ""]
    assert bash_complete(install, shell_env) == ["SHOP000001", "BLOG000002"]
    assert bash_complete(["ksegcli", "--profile", "prod", *install[1:]], shell_env) == [
        "PROD000001"
    ]
    assert bash_complete(["ksegcli", *install[1:3], "--profile=prod", *install[3:]], shell_env) == [
        "PROD000001"
    ]
    assert bash_complete(
        ["ksegcli", *install[1:3], "--profile", "=", "prod", *install[3:]], shell_env
    ) == ["PROD000001"]
    with_env = {**shell_env, "KSEG_PROFILE": "prod"}
    assert bash_complete(install, with_env) == ["PROD000001"]
    assert bash_complete(["ksegcli", "sitecode", "set", "B"], shell_env) == ["BLOG000002"]
    assert bash_complete(["ksegcli", "data", "get", "--sitecode", "S"], shell_env) == ["SHOP000001"]
    # A profile without a listing offers nothing; a hostile line of the cache is ignored.
    assert bash_complete(["ksegcli", "--profile", "staging", *install[1:]], shell_env) == []
    (tmp_path / "cache" / "projects" / "default.tsv").write_text(
        "$(touch PWNED)\t1\tx\nSHOP000001\t1\tShop\n"
    )
    assert bash_complete(install, shell_env) == ["SHOP000001"]
    assert not (Path(shell_env["HOME"]) / "PWNED").exists()


def test_bash_completes_files_only_where_a_file_is_wanted(
    shell_env: dict[str, str], tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "account.toml").write_text("")
    (work / "accounts").mkdir()

    def offered(words: list[str]) -> list[str]:
        script = ROOT / "completions" / FILES["bash"]
        line = " ".join(f"'{w}'" for w in words)
        proc = subprocess.run(
            [
                "bash",
                "--norc",
                "-c",
                f"cd {work}; source {script}; COMP_WORDS=({line}); "
                f'COMP_CWORD={len(words) - 1}; _ksegcli; printf "%s\\n" "${{COMPREPLY[@]}}"',
            ],
            capture_output=True,
            text=True,
            env=shell_env,
            check=True,
        )
        return [w for w in proc.stdout.splitlines() if w]

    need("bash")
    assert offered(["ksegcli", "apply", "acc"]) == ["account.toml", "accounts"]
    # A name with a space or a glob character comes back as itself.
    (work / "my account*.toml").write_text("")
    assert offered(["ksegcli", "apply", "my"]) == ["my account*.toml"]
    assert offered(["ksegcli", "export", "-o", "account."]) == ["account.toml"]
    assert offered(["ksegcli", "snippet", "render", "trait", "--output", "acc"]) == [
        "account.toml",
        "accounts",
    ]
    assert offered(["ksegcli", "customdata", "delete", "acc"]) == []
    assert offered(["ksegcli", "auth", "login", "--client-id", "acc"]) == []


def test_bash_completion_is_answered_by_bash_alone(shell_env: dict[str, str]) -> None:
    """A TAB runs no other program (no python, no ksegcli, no network): with an empty
    PATH it still answers, and quickly. One bash process, 50 TABs on a deep path that
    reads the cached sitecodes each time."""
    bash = need("bash")
    words = "ksegcli --profile prod integration identifier install --project ''"
    program = (
        f"source {ROOT / 'completions' / FILES['bash']}; COMP_WORDS=({words}); COMP_CWORD=7; "
        "start=$EPOCHREALTIME; for ((n = 0; n < 50; n++)); do _ksegcli; done; "
        'end=$EPOCHREALTIME; echo "${COMPREPLY[*]} $start $end"'
    )
    proc = subprocess.run(
        [bash, "--norc", "-c", program],
        capture_output=True,
        text=True,
        env={**shell_env, "PATH": str(Path(shell_env["HOME"]) / "empty")},
        check=True,
    )
    assert proc.stderr == ""
    out = proc.stdout.split()
    assert out[0] == "PROD000001"
    per_tab = (float(out[2]) - float(out[1])) / 50
    assert per_tab < 0.05, f"{per_tab * 1000:.1f} ms a TAB"


def test_bash_completion_through_bash_completion_after_install(
    shell_env: dict[str, str], proc: ProcRunner, tmp_path: Path
) -> None:
    """``completion bash --install`` puts the script where bash-completion's loader finds
    it on the first TAB of a new shell."""
    loader = Path("/usr/share/bash-completion/bash_completion")
    if not loader.exists():
        if REQUIRED:
            pytest.fail("KSEG_REQUIRE_SHELLS=1 but bash-completion is not installed")
        pytest.skip("needs bash-completion")
    result = proc("completion", "bash", "--install", env=shell_env)
    assert result.exit_code == 0, result.stderr
    installed = Path(shell_env["HOME"]) / ".local/share/bash-completion/completions/ksegcli"
    assert str(installed) in result.stderr
    assert installed.read_text() == generate("bash")
    program = (
        f"source {loader}; "
        # bash-completion's loader: _comp_load since 2.12, __load_completion before.
        "if declare -F _comp_load >/dev/null; then _comp_load ksegcli; "
        "else __load_completion ksegcli; fi; complete -p ksegcli; "
        "COMP_WORDS=(ksegcli snippet render ''); COMP_CWORD=3; _ksegcli; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    out = subprocess.run(
        ["bash", "--norc", "-c", program], capture_output=True, text=True, env=shell_env
    )
    lines = out.stdout.splitlines()
    assert lines[0] == "complete -F _ksegcli ksegcli", out.stderr
    assert lines[1:] == ["identifier", "personas", "trait", "group", "persona-values"]


# -- zsh ------------------------------------------------------------------------------------


def test_zsh_completes_after_install_as_the_next_steps_say(
    shell_env: dict[str, str], proc: ProcRunner
) -> None:
    need("zsh")
    result = proc("completion", "zsh", "--install", env=shell_env)
    assert result.exit_code == 0, result.stderr
    zfunc = Path(shell_env["HOME"]) / ".zfunc"
    assert "fpath=(~/.zfunc $fpath)" in result.stderr
    assert (zfunc / "_ksegcli").read_text() == generate("zsh")

    def tab(line: str) -> list[str]:
        return zsh_complete(line, shell_env, zfunc)

    assert tab("ksegcli snippet render ") == [
        "identifier",
        "personas",
        "trait",
        "group",
        "persona-values",
    ]
    assert tab("ksegcli au") == ["auth"]
    assert "--sdk" in tab("ksegcli snippet render trait --") and "--host" not in tab(
        "ksegcli snippet render trait --"
    )
    assert tab("ksegcli --profile ") == ["default", "prod", "staging"]
    assert tab("ksegcli integration install --project ") == ["SHOP000001", "BLOG000002"]
    assert tab("ksegcli --profile prod goals list --project ") == ["PROD000001"]
    assert tab("ksegcli data get --data-host=na") == ["na-data", "na-data-eu"]
    assert tab("ksegcli customdata create trait plan --format ") == ["string", "number", "boolean"]
    assert tab("ksegcli snippet render trait ") == []


def test_zsh_completes_when_the_script_is_sourced_after_compinit(
    shell_env: dict[str, str], tmp_path: Path
) -> None:
    """``source <(ksegcli completion zsh)`` in ~/.zshrc, without an $fpath folder."""
    empty = tmp_path / "no-fpath"
    empty.mkdir()
    script = ROOT / "completions" / FILES["zsh"]
    assert zsh_complete("ksegcli sitecode set ", shell_env, empty, sourced=script) == [
        "SHOP000001",
        "BLOG000002",
    ]
    assert zsh_complete("ksegcli completion ", shell_env, empty, sourced=script) == list(SHELLS)


# -- fish ------------------------------------------------------------------------------------


def test_fish_completes_after_install_without_any_rc_change(
    shell_env: dict[str, str], proc: ProcRunner, tmp_path: Path
) -> None:
    need("fish")
    env = {**shell_env, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    result = proc("completion", "fish", "--install", env=env)
    assert result.exit_code == 0, result.stderr
    installed = tmp_path / "xdg" / "fish" / "completions" / "ksegcli.fish"
    assert installed.read_text() == generate("fish")
    # fish finds it in its own completions folder (autoload), nothing sourced by hand.
    assert fish_complete("ksegcli snippet render ", env) == [
        "group",
        "identifier",
        "personas",
        "persona-values",
        "trait",
    ]
    assert fish_complete("ksegcli au", env) == ["auth"]
    trait = fish_complete("ksegcli snippet render trait --", env)
    assert "--sdk" in trait and "--host" not in trait
    assert fish_complete("ksegcli --profile ", env) == ["default", "prod", "staging"]
    assert fish_complete("ksegcli integration install --project ", env) == [
        "BLOG000002",
        "SHOP000001",
    ]
    assert fish_complete("ksegcli --profile prod goals list --project ", env) == ["PROD000001"]
    assert fish_complete("ksegcli snippet render trait plan --sdk ", env) == ["go", "js", "python"]
    assert fish_complete("ksegcli data get --data-host=na", env) == [
        "--data-host=na-data",
        "--data-host=na-data-eu",
    ]
    assert fish_complete("ksegcli snippet render trait ", env) == []


def test_fish_shows_project_names_beside_sitecodes(shell_env: dict[str, str]) -> None:
    need("fish")
    script = ROOT / "completions" / FILES["fish"]
    proc = subprocess.run(
        ["fish", "--no-config", "-c", f"source {script}; complete -C 'ksegcli sitecode set '"],
        capture_output=True,
        text=True,
        env=shell_env,
        timeout=30,
    )
    assert proc.stdout.splitlines() == ["BLOG000002\tBlog", "SHOP000001\tShop"]


# -- where the shells find the folders ----------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"XDG_CONFIG_HOME": "/xdg/config", "XDG_CACHE_HOME": "/xdg/cache"},
        {"XDG_CONFIG_HOME": "relative/ignored", "XDG_CACHE_HOME": " "},
        {"KSEG_CONFIG_DIR": "/k/config", "KSEG_CACHE_DIR": "~/k-cache"},
    ],
)
def test_the_shells_find_the_folders_where_ksegcli_keeps_them(
    extra: dict[str, str], tmp_path: Path
) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **extra}
    python = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ksegcli.core.config import config_dir; from ksegcli.core.paths import "
            "cache_dir; print(config_dir()); print(cache_dir())",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    want = python.stdout.splitlines()
    need("bash")
    script = ROOT / "completions" / FILES["bash"]
    bash = subprocess.run(
        [
            "bash",
            "--norc",
            "-c",
            f'source {script}; __ksegcli_dir config; echo "$REPLY"; '
            f'__ksegcli_dir cache; echo "$REPLY"',
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert bash.stdout.splitlines() == want
    if shutil.which("fish") or REQUIRED:
        need("fish")
        fish = subprocess.run(
            [
                "fish",
                "--no-config",
                "-c",
                f"source {ROOT / 'completions' / FILES['fish']}; "
                "__ksegcli_dir config; __ksegcli_dir cache",
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        assert fish.stdout.splitlines() == want


# -- --install ------------------------------------------------------------------------------


def test_install_never_replaces_a_file_it_did_not_write(proc: ProcRunner, tmp_path: Path) -> None:
    home = tmp_path / "home"
    target = home / ".zfunc" / "_ksegcli"
    target.parent.mkdir(parents=True)
    target.write_text("#compdef ksegcli\n# written by hand\n")
    env = home_env(home)
    refused = proc("completion", "zsh", "--install", env=env)
    assert refused.exit_code == 2
    assert "was not written by ksegcli" in refused.stderr and "--force" in refused.stderr
    assert target.read_text() == "#compdef ksegcli\n# written by hand\n"
    as_json = proc("completion", "zsh", "--install", "--json", env=env)
    assert as_json.exit_code == 2 and as_json.json()["error"]["code"] == "conflict"

    forced = proc("completion", "zsh", "--install", "--force", "--json", env=env)
    assert forced.exit_code == 0, forced.stderr
    assert forced.json()["state"] == "updated"
    assert target.read_text() == generate("zsh")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["_ksegcli"]  # no temp file left


def test_install_replaces_its_own_older_script_and_reports_each_state(
    proc: ProcRunner, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    env = home_env(home)
    first = proc("completion", "bash", "--install", "--json", env=env)
    assert first.exit_code == 0, first.stderr
    doc = first.json()
    path = home / ".local/share/bash-completion/completions/ksegcli"
    assert (doc["state"], doc["path"], doc["shell"]) == ("installed", str(path), "bash")
    assert any(f"source {path}" in step for step in doc["next_steps"])
    assert proc("completion", "bash", "--install", "--json", env=env).json()["state"] == (
        "unchanged"
    )
    path.write_text(f"{MARKER} (`ksegcli completion bash`). Do not edit.\n# an older one\n")
    again = proc("completion", "bash", "--install", env=env)
    assert again.exit_code == 0
    assert "Updated the bash completion script" in again.stderr
    assert path.read_text() == generate("bash")
    assert again.stdout == ""


def test_install_says_what_to_add_to_zshrc_only_when_it_is_missing(
    proc: ProcRunner, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = home_env(home)
    first = proc("completion", "zsh", "--install", env=env)
    assert "fpath=(~/.zfunc $fpath)" in first.stderr
    (home / ".zshrc").write_text("fpath=(~/.zfunc $fpath)\nautoload -Uz compinit && compinit\n")
    second = proc("completion", "zsh", "--install", env=env)
    assert "fpath=(" not in second.stderr and "already mentions ~/.zfunc" in second.stderr


def test_force_without_install_is_a_usage_error(proc: ProcRunner) -> None:
    result = proc("completion", "bash", "--force")
    assert result.exit_code == 2 and result.stdout == ""


# -- the project cache ------------------------------------------------------------------------


def test_listing_projects_caches_their_sitecodes_for_completion(
    fake: object, proc: ProcRunner, tmp_path: Path
) -> None:
    from conftest import CLIENT_ID, CLIENT_SECRET

    server = fake
    server.add_site(CLIENT_ID, name="Shop\tone\nline", code="SHOP000001")  # type: ignore[attr-defined]
    server.add_site(CLIENT_ID, name="Blog", code="BLOG000002")  # type: ignore[attr-defined]
    env = fake_env(server)
    result = proc("projects", "list", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    cache = tmp_path / "cache" / "projects" / "default.tsv"
    listed = {(item["sitecode"], item["id"]) for item in result.json()["items"]}
    cached = project_cache.read("default", proc.env)
    assert {(code, ident) for code, ident, _ in cached} == listed
    assert ("SHOP000001", "Shop one line") in {(code, name) for code, _, name in cached}
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    text = cache.read_text()
    assert CLIENT_SECRET not in text and CLIENT_ID not in text
    # The shells read it at once: what a TAB offers is what the listing saw.
    shell_env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **proc.env}
    offered = bash_complete(["ksegcli", "goals", "list", "--project", ""], shell_env)
    assert sorted(offered) == ["BLOG000002", "SHOP000001"]
    # Another profile keeps a listing of its own.
    other = proc("--profile", "prod", "integration", "status", "--all", env=env)
    assert other.exit_code in (0, 9), other.stderr
    assert project_cache.read("prod", proc.env) == project_cache.read("default", proc.env)


def test_a_cache_that_cannot_be_written_does_not_fail_the_command(
    fake: object, proc: ProcRunner, tmp_path: Path
) -> None:
    from conftest import CLIENT_ID

    fake.add_site(CLIENT_ID, name="Shop", code="SHOP000001")  # type: ignore[attr-defined]
    blocker = tmp_path / "cache" / "projects"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a folder")
    result = proc("projects", "list", "--json", env=fake_env(fake))
    assert result.exit_code == 0, result.stderr
    assert [p["sitecode"] for p in result.json()["items"]] == ["SHOP000001"]
    assert blocker.read_text() == "not a folder"


def test_the_cache_holds_only_valid_sitecodes_ids_and_one_line_names() -> None:
    from ksegcli.core.kameleoon.client import Site

    sites = [
        Site(
            id=1,
            name="A\x1b[31m\tshop\r\nname",
            url="https://secret.example",
            code="GOOD000001",
            type="SITE",
        ),
        Site(id=2, name="Bad", url="", code="bad code", type="SITE"),
    ]
    assert project_cache.render(sites) == "GOOD000001\t1\tA [31m shop name\n"
