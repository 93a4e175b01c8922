"""docs/api-facts.md names the constant or function that holds each API fact: every name
it gives exists in the module it names, so a rename cannot leave the page pointing at
nothing. The same holds for the facts `doctor --api` checks."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from ksegcli.core.doctor.api_facts import FACTS

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "api-facts.md"
# "core/x.py (`NAME`, `other`)" or "core/x.py: `NAME`, `other`"
HELD_IN = re.compile(r"(core/[\w/]+\.py)(?: \(([^)]*)\)|: ((?:`[^`]+`(?: \([^)]*\))?,? ?)+))")
NAME = re.compile(r"`([A-Za-z_][A-Za-z0-9_.]*)`")


def _module(path: str) -> object:
    return importlib.import_module("ksegcli." + path.removesuffix(".py").replace("/", "."))


def _has(module: object, dotted: str) -> bool:
    target = module
    for part in dotted.split("."):
        if not hasattr(target, part):
            return False
        target = getattr(target, part)
    return True


def test_every_module_and_name_the_page_gives_exists() -> None:
    text = " ".join(PAGE.read_text(encoding="utf-8").split())
    checked = 0
    for match in HELD_IN.finditer(text):
        path = match.group(1)
        assert (ROOT / "ksegcli" / path).is_file(), path
        module = _module(path)
        for name in NAME.findall(match.group(2) or match.group(3) or ""):
            assert _has(module, name), f"docs/api-facts.md: {path} has no {name}"
            checked += 1
    assert checked >= 30  # the page keeps naming its constants


def test_every_fact_doctor_api_checks_points_at_real_code_and_is_on_the_page() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for fact in FACTS:
        for part in fact.where.split(", "):
            path, _, name = part.partition(" ")
            assert (ROOT / "ksegcli" / path).is_file(), fact.where
            if name:
                assert _has(_module(path), name), fact.where
    for read in (
        "GET /sites/{id}/integration-tools",
        "GET /sites/{id}",
        "siteId IN",
        "GET /personalizations/{id}",
        "GET /kameleoon/segmentio/getapikey",
    ):
        assert read in text


def test_the_readme_links_the_page_and_names_doctor_api() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Inferred API facts", 1)[1].split("\n## ", 1)[0]
    assert "(docs/api-facts.md)" in section
    assert "`ksegcli doctor --api`" in section
    header = "| fact | how ksegcli verifies it | what you see when it is wrong |"
    assert header in section
