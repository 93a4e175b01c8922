"""The repository cites only itself: every relative link of the README and docs/ opens a
file of the repository, every `docs/….md` named in code, tests or docs exists, and no
file points at notes kept outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
DOCS_PATH = re.compile(r"\bdocs/[\w./-]+\.md\b")
# Built from parts, so that this file does not match itself.
OUTSIDE = ("API_" + "NOTES", "DESIGN" + ".md")
SOURCES = [
    ROOT / "README.md",
    *(
        path
        for folder in ("ksegcli", "docs", "tests", "bench", "examples")
        for path in sorted((ROOT / folder).rglob("*"))
        if path.is_file() and path.suffix in {".py", ".md", ".toml", ".js", ".txt", ".json"}
    ),
]


def test_every_relative_link_of_the_docs_opens_a_file_of_the_repository() -> None:
    broken = []
    for page in PAGES:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#", 1)[0]).resolve()
            if not path.exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert broken == []


def test_every_docs_page_named_in_the_repository_exists() -> None:
    missing = sorted(
        {
            f"{path.relative_to(ROOT)}: {name}"
            for path in SOURCES
            for name in DOCS_PATH.findall(path.read_text(encoding="utf-8", errors="replace"))
            if not (ROOT / name).exists()
        }
    )
    assert missing == []


def test_no_file_points_at_notes_outside_the_repository() -> None:
    cited = [
        f"{path.relative_to(ROOT)}: {name} (cite docs/api-facts.md or docs/design.md)"
        for path in SOURCES
        for name in OUTSIDE
        if name in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert cited == []
