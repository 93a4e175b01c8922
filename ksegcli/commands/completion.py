"""``ksegcli completion bash|zsh|fish [--install]``: the shell completion script.

The script is static (ksegcli/completion.py): a TAB never starts Python nor calls the
network. ``--install`` writes it where the shell looks for completions, atomically, and
never replaces a file that ksegcli did not write unless ``--force`` says so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import typer

from ksegcli.errors import ExitCode, KsegError, UsageError
from ksegcli.state import get_state

SHELL_HELP = "bash | zsh | fish"


def completion(
    ctx: typer.Context,
    shell: str = typer.Argument(..., metavar="SHELL", help=SHELL_HELP, show_default=False),
    install: bool = typer.Option(
        False,
        "--install",
        help="Write the script where SHELL looks for completions (and say what else to do) "
        "instead of printing it.",
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="With --install: replace a file at that place that ksegcli did not write.",
    ),
) -> None:
    """Print the shell completion script for SHELL (or install it: --install).

    A TAB never starts Python nor calls the network: it offers commands,
    options, known values (snippet kinds, regions, hosts, SDKs, formats),
    profile names from the config folder and the sitecodes of the last
    project listing (`projects list`, or any --all or --project run).
    """
    from ksegcli.completion import SHELLS, generate

    state = get_state(ctx)
    out = state.output
    if shell not in SHELLS:
        raise UsageError(
            f"Unknown shell {shell!r}.",
            hint=f"Choose one of: {', '.join(SHELLS)}.",
        )
    if force and not install:
        raise UsageError("--force only goes with --install.")
    script = generate(shell)
    if not install:
        if state.json_mode:
            from ksegcli.contract import document

            out.emit_json(document({"shell": shell, "script": script}), reveal=True)
        else:
            out.line(script.rstrip("\n"), reveal=True)
        return
    path = install_path(shell, os.environ)
    state_word = _install(path, script, force=force)
    steps = next_steps(shell, path, os.environ)
    data = {"shell": shell, "path": str(path), "state": state_word, "next_steps": steps}
    if state.json_mode:
        from ksegcli.contract import document

        out.emit_json(document(data))
        return
    said = {
        "installed": f"Installed the {shell} completion script: {path}",
        "updated": f"Updated the {shell} completion script: {path}",
        "unchanged": f"The {shell} completion script is already up to date: {path}",
    }
    out.success(said[state_word])
    for step in steps:
        out.info(step)


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or Path.home())


def _xdg(env: Mapping[str, str], name: str, default: str) -> Path:
    value = env.get(name, "")
    return Path(value) if value.startswith("/") else _home(env) / default


def install_path(shell: str, env: Mapping[str, str]) -> Path:
    """Where ``shell`` finds completions by itself (bash: bash-completion's user folder)."""
    if shell == "bash":
        user_dir = env.get("BASH_COMPLETION_USER_DIR", "").split(":")[0]
        base = (
            Path(user_dir)
            if user_dir
            else _xdg(env, "XDG_DATA_HOME", ".local/share") / ("bash-completion")
        )
        return base / "completions" / "ksegcli"
    if shell == "zsh":
        return _home(env) / ".zfunc" / "_ksegcli"
    return _xdg(env, "XDG_CONFIG_HOME", ".config") / "fish" / "completions" / "ksegcli.fish"


def next_steps(shell: str, path: Path, env: Mapping[str, str]) -> list[str]:
    """What the user still has to do for the script to be used (nothing for fish)."""
    if shell == "bash":
        return [
            "bash-completion (2.x) loads it in new shells on the first TAB.",
            f"Without bash-completion, add this line to ~/.bashrc: source {path}",
        ]
    if shell == "zsh":
        rc = Path(env.get("ZDOTDIR") or _home(env)) / ".zshrc"
        try:
            listed = ".zfunc" in rc.read_text(encoding="utf-8", errors="replace")
        except OSError:
            listed = False
        if listed:
            return [f"{rc} already mentions ~/.zfunc: open a new shell (or run: compinit)."]
        return [
            f"Add these lines to {rc} (the fpath line before compinit), then open a new shell:",
            "  fpath=(~/.zfunc $fpath)",
            "  autoload -Uz compinit && compinit",
        ]
    return ["fish loads it by itself: open a new shell."]


def _install(path: Path, script: str, *, force: bool) -> str:
    """Write ``script`` at ``path`` all-or-nothing; "installed", "updated" or "unchanged"."""
    from ksegcli.completion import MARKER
    from ksegcli.core.config import atomic_write

    if path.is_dir():
        raise KsegError(f"Cannot install at {path}: it is a folder.", exit_code=ExitCode.USAGE)
    try:
        current: str | None = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        current = None
    except OSError as exc:
        raise KsegError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if current == script:
        return "unchanged"
    if current is not None and MARKER not in current and not force:
        raise KsegError(
            f"{path} exists and was not written by ksegcli; left as it is.",
            code="conflict",
            exit_code=ExitCode.USAGE,
            hint="Move it away, or pass --force to replace it.",
        )
    try:
        atomic_write(path, script.encode("utf-8"), mode=0o644)
    except OSError as exc:
        raise KsegError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    return "installed" if current is None else "updated"
