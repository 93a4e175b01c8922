"""Completion scripts: committed files match the app, and bash really completes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ksegcli.completion import FILES, SHELLS, generate

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("shell", SHELLS)
def test_committed_completions_are_up_to_date(shell: str) -> None:
    path = ROOT / "completions" / FILES[shell]
    assert path.exists(), f"missing {path}: run python -m ksegcli.completion {shell} > {path}"
    assert path.read_text() == generate(shell), (
        f"{path} is out of date: run `python -m ksegcli.completion {shell} > {path}`"
    )


def bash_complete(words: list[str]) -> list[str]:
    script = ROOT / "completions" / FILES["bash"]
    line = " ".join(f"'{w}'" for w in words)
    program = (
        f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; "
        '_ksegcli; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    proc = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return [w for w in proc.stdout.splitlines() if w]


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_bash_completes_groups_commands_and_options() -> None:
    assert "auth" in bash_complete(["ksegcli", ""])
    assert bash_complete(["ksegcli", "au"]) == ["auth"]
    assert "getapikey" in bash_complete(["ksegcli", "auth", ""])
    assert "--offline" in bash_complete(["ksegcli", "auth", "getapikey", "--"])
    # A global option's value is skipped when finding the command path.
    assert "getapikey" in bash_complete(["ksegcli", "--profile", "prod", "auth", ""])
