"""The docs point only into the repository, at files that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "apps" / "web-sdk" / "README.md",
    ROOT / "apps" / "tui" / "README.md",
    ROOT / "examples" / "README.md",
    ROOT / "benchmarks" / "README.md",
]
LINK = re.compile(r"\]\(([^)\s]+)\)")
QUOTED_DOC = re.compile(r"`([^`\s]*\.md)`")


def targets(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    found = [t for t in LINK.findall(text) if not re.match(r"[a-z]+:|#", t)]
    return found + QUOTED_DOC.findall(text)


def test_every_doc_reference_stays_inside_the_repository() -> None:
    wrong = []
    for doc in DOCS:
        for target in targets(doc):
            resolved = (doc.parent / target.split("#")[0]).resolve()
            if target.startswith("/") or not resolved.is_relative_to(ROOT):
                wrong.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert wrong == []


def test_every_linked_file_exists() -> None:
    missing = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:|#", target):
                continue
            if not (doc.parent / target.split("#")[0]).exists():
                missing.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert missing == []
