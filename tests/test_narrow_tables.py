"""Tables on a narrow terminal keep one line a row: the optional columns go first (and a
note says which), the key columns stay; piped output keeps every column."""

from __future__ import annotations

import re
import sys
from typing import Any

import pexpect
from conftest import CLIENT_ID, ProcRunner, fake_env

from ksegcli.output import fit_columns, table_width

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LONG_URL = "https://www.a-rather-long-shop-domain-for-a-narrow-terminal.example.com/fr-fr"


def on_a_terminal(proc: ProcRunner, fake: Any, columns: int, *args: str) -> list[str]:
    """``ksegcli ARGS`` on a pseudo-terminal ``columns`` wide; its screen lines."""
    env = {**proc.env, **fake_env(fake)}
    for name in ("CI", "COLUMNS"):  # the terminal's own width decides
        env.pop(name, None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "ksegcli", *args],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, columns),
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return [_ANSI.sub("", line).rstrip() for line in (child.before or "").splitlines()]


def test_projects_on_80_columns_drop_type_then_url_and_keep_one_line_a_project(
    proc: ProcRunner, fake: Any
) -> None:
    shop = fake.add_site(CLIENT_ID, name="Shop de démonstration", code="shop000001", url=LONG_URL)
    blog = fake.add_site(CLIENT_ID, name="Blog", code="blog000002", url=LONG_URL + "/blog")
    lines = on_a_terminal(proc, fake, 80, "projects", "list")
    assert all(len(line) <= 80 for line in lines), lines
    header = next(line for line in lines if line.startswith("ID"))
    assert header.split() == ["ID", "NAME", "SITECODE"]
    for site in (shop, blog):
        row = next(line for line in lines if line.startswith(str(site["id"])))
        assert site["name"] in row and site["code"] in row  # the whole row on one line
    assert "Not shown at 80 columns: TYPE, URL" in "\n".join(lines)
    assert LONG_URL not in "\n".join(lines)


def test_projects_on_a_wide_terminal_and_piped_keep_every_column(
    proc: ProcRunner, fake: Any
) -> None:
    fake.add_site(CLIENT_ID, name="Shop", code="shop000001", url=LONG_URL)
    wide = on_a_terminal(proc, fake, 200, "projects", "list")
    assert next(line for line in wide if line.startswith("ID")).split() == [
        "ID",
        "NAME",
        "URL",
        "SITECODE",
        "TYPE",
    ]
    assert not any("Not shown" in line for line in wide)
    piped = proc("projects", "list", env={**fake_env(fake), "COLUMNS": "80"})
    assert piped.exit_code == 0, piped.stderr
    assert piped.stdout.splitlines()[0].split() == ["ID", "NAME", "URL", "SITECODE", "TYPE"]
    assert LONG_URL in piped.stdout and "Not shown" not in piped.stderr


def test_fit_columns_drops_only_what_it_must_in_the_order_given() -> None:
    columns = ["PROJECT", "SITECODE", "RESOURCE", "NAME", "ACTION", "WHY"]
    row = ["Shop de démonstration (10001)", "shop000001", "custom-data", "x" * 20, "create", "y"]
    full = table_width(columns, [row])
    assert fit_columns(columns, [row], full, ("SITECODE", "RESOURCE")) == (columns, [row], [])
    kept, cells, hidden = fit_columns(columns, [row], full - 1, ("SITECODE", "RESOURCE"))
    assert hidden == ["SITECODE"] and "SITECODE" not in kept and row[1] not in cells[0]
    kept, cells, hidden = fit_columns(columns, [row], 20, ("SITECODE", "RESOURCE"))
    assert hidden == ["SITECODE", "RESOURCE"]  # never more than the optional ones
    assert kept == ["PROJECT", "NAME", "ACTION", "WHY"] and len(cells[0]) == 4
