"""Options that several commands share read the same everywhere: one flag, one help,
one metavar, one default (ksegcli/commands/_options.py)."""

from __future__ import annotations

import pytest
from typer.core import TyperOption

from ksegcli.docs_gen import commands

SHARED: dict[str, tuple[str, ...]] = {
    "--project": (
        "integration install",
        "integration uninstall",
        "integration status",
        "customdata list",
        "customdata delete",
        "customdata create personas",
        "customdata create trait",
        "customdata create group",
        "reporting enable",
        "reporting status",
        "goals list",
    ),
    "--all": (
        "integration install",
        "integration uninstall",
        "integration status",
        "customdata create trait",
        "reporting enable",
        "reporting status",
        "goals list",
    ),
    "--sitecode": (
        "doctor",
        "segment destination create",
        "segment destination status",
        "data get",
        "data cohorts",
        "data traits",
    ),
    "--region": (
        "doctor",
        "verify",
        "segment login",
        "segment sources list",
        "segment destination create",
        "segment destination status",
    ),
    "--token-stdin": (
        "doctor",
        "segment login",
        "segment sources list",
        "segment destination create",
        "segment destination status",
    ),
    "--data-region": ("doctor", "verify"),
    "--dry-run": (
        "integration install",
        "integration uninstall",
        "customdata create personas",
        "customdata create trait",
        "customdata create group",
    ),
}


def _option(path: str, name: str) -> TyperOption:
    command = dict(commands())[tuple(path.split())]
    return next(
        p for p in getattr(command, "params", []) if isinstance(p, TyperOption) and name in p.opts
    )


@pytest.mark.parametrize("name", sorted(SHARED))
def test_a_shared_option_is_declared_once(name: str) -> None:
    shapes = {
        path: (_option(path, name).help, _option(path, name).metavar, _option(path, name).default)
        for path in SHARED[name]
    }
    assert len(set(shapes.values())) == 1, shapes


def test_project_selection_is_the_same_on_every_command_that_takes_it() -> None:
    project = _option("reporting enable", "--project")
    assert project.metavar == "ID|SITECODE" and project.multiple
    assert "repeatable" in (project.help or "")
    assert _option("goals list", "--all").help == "Every project these credentials reach."
