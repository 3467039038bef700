"""The code blocks of the docs, for the tests that run them (``tests/test_snippets.py``).

Every fenced block in :data:`DOCS` has a language. ``text`` and ``mermaid`` blocks are
pictures; every other block is run by the test named in :data:`RUNNERS` for its file and
language, unless the line before it says why not, in the visible form
``*Not run by the tests: REASON.*`` (listed in ``tests/test_snippets.py``, kept few).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DOCS = [
    "README.md",
    *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")),
    "apps/web-sdk/README.md",
    "apps/tui/README.md",
    "examples/README.md",
]
"The documents whose snippets must run."

PICTURES = {"text", "mermaid"}
"Languages of blocks that are diagrams or layouts, not code."

RUNNERS = {
    ("README.md", "python"): "tests/e2e/test_readme.py",
    ("docs/python-sdk.md", "python"): "tests/test_snippets.py",
    ("README.md", "sh"): "tests/packaging/test_wheel.py",
    ("docs/aws.md", "sh"): "tests/aws/test_runbook.py",  # its own line markers; and the
    # install line runs in tests/packaging/test_wheel.py
    ("apps/tui/README.md", "sh"): "tests/packaging/test_wheel.py",
    ("apps/web-sdk/README.md", "sh"): "tests/packaging/test_npm_package.py",
    ("apps/web-sdk/README.md", "tsx"): "tests/packaging/test_npm_package.py",
    ("apps/web-sdk/README.md", "css"): "tests/packaging/test_npm_package.py",
    ("docs/server-api.md", "json"): "tests/access/test_docs.py",
    ("docs/server-api.md", "python"): "tests/access/test_docs.py",
    ("docs/embedding.md", "python"): "tests/access/test_docs.py",  # lines of the example,
    # which tests/access/test_example_backend.py runs
}
"(document, language) -> the test module that runs every such block."

_FENCE = re.compile(r"^```(\S*)\s*$")
_MARKER = re.compile(r"^\*Not run by the tests: (.+)\*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block."""

    doc: str
    "Path of the document, relative to the repository."
    line: int
    "Line number of the opening fence."
    lang: str
    text: str
    not_run: str | None
    "The reason given in the marker line before it, if any."

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"


def blocks(doc: str) -> list[Block]:
    """Every fenced code block of ``doc`` (a path relative to the repository)."""
    lines = (ROOT / doc).read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        start = i
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            i += 1
        before = [line for line in lines[max(0, start - 2) : start] if line.strip()]
        marker = _MARKER.match(before[-1]) if before else None
        out.append(
            Block(
                doc=doc,
                line=start + 1,
                lang=fence.group(1),
                text="\n".join(lines[start + 1 : i]) + "\n",
                not_run=marker.group(1) if marker else None,
            )
        )
        i += 1
    return out


def to_run(doc: str, lang: str) -> list[Block]:
    """The blocks of ``doc`` in ``lang`` that a test must run."""
    return [b for b in blocks(doc) if b.lang == lang and b.not_run is None]


def shell_lines(block: Block) -> list[str]:
    """The commands of an ``sh`` block, comments dropped."""
    out = []
    for raw in block.text.splitlines():
        line = re.sub(r"\s+#.*$", "", raw).strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out
