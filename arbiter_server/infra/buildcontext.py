"""The Docker build context of the images: ``.dockerignore`` as Docker reads it, and what
each Dockerfile copies out of it.

The images are built with the repository root as context (``deploy/*.Dockerfile``), so
``.dockerignore`` decides what is sent to the builder. :class:`DockerIgnore` applies the
rules Docker's builder applies (its ``patternmatcher``): patterns are cleaned paths
relative to the context (a leading ``/`` dropped), ``*`` and ``?`` never cross a ``/``,
``**`` crosses any number of directories, ``[...]`` is a character class, ``\\`` escapes;
a pattern that matches a directory matches everything below it; ``!pattern`` takes a
path back in; the last pattern that decides wins. :func:`copied_files` lists the files
of the context a Dockerfile's ``COPY`` lines take, which is what an image's tag is
hashed from (:mod:`.images`), so the tag changes exactly when the image would.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DockerIgnore",
    "DockerfileError",
    "context_files",
    "copied_files",
    "copy_sources",
]


class DockerfileError(ValueError):
    """A Dockerfile ``COPY`` this module cannot follow (a wildcard, a missing source)."""


@dataclass(frozen=True)
class _Pattern:
    text: str
    exclusion: bool
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        rest = self.text[2:]
        if self.text.startswith("**") and not any(ch in rest for ch in "*?[\\"):
            # a leading "**" before plain text: Docker compares the ends of the paths
            return path.endswith(rest) or (rest.startswith("/") and path == rest[1:])
        return self.regex.match(path) is not None


def _clean(pattern: str) -> str:
    cleaned = posixpath.normpath(pattern)
    if len(cleaned) > 1 and cleaned.startswith("/"):
        cleaned = cleaned.lstrip("/") or "/"
    return cleaned


def _to_regex(pattern: str) -> re.Pattern[str]:
    out = ["^"]
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*" and pattern[i + 1 : i + 2] == "*":
            i += 2
            if pattern[i : i + 1] == "/":
                i += 1
            # "**" at the end takes the rest; elsewhere any number of directories (even 0)
            out.append(".*" if i >= len(pattern) else "(.*/)?")
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif ch in "[]":
            out.append(ch)
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return re.compile("".join(out))


class DockerIgnore:
    """The patterns of a ``.dockerignore`` and the question Docker asks of each path."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns: list[_Pattern] = []
        for raw in patterns:
            text = raw.strip()
            if not text:
                continue
            exclusion = text.startswith("!")
            if exclusion:
                text = text[1:].strip()
                if not text:
                    raise ValueError('illegal exclusion pattern: "!"')
            text = _clean(text)
            self.patterns.append(_Pattern(text, exclusion, _to_regex(text)))

    @classmethod
    def parse(cls, text: str) -> DockerIgnore:
        """Read a ``.dockerignore``: one pattern a line, ``#`` comments, a BOM dropped."""
        lines = text.removeprefix("\ufeff").splitlines()
        return cls([line for line in lines if not line.startswith("#")])

    @classmethod
    def of(cls, context: Path) -> DockerIgnore:
        """The ``.dockerignore`` at the root of ``context`` (no patterns if there is none)."""
        path = context / ".dockerignore"
        return cls.parse(path.read_text()) if path.is_file() else cls([])

    def excluded(self, path: str) -> bool:
        """Whether ``path`` (relative, ``/``-separated) is left out of the context."""
        path = posixpath.normpath(path)
        parts = path.split("/")
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        matched = False
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue  # only a later opposite pattern can change the answer
            if any(pattern.matches(c) for c in candidates):
                matched = not pattern.exclusion
        return matched

    def may_take_back_below(self, directory: str) -> bool:
        """Whether a ``!pattern`` could take back a path below an excluded ``directory``.

        Docker still walks such a directory; when none could, it is skipped whole.
        """
        parts = posixpath.normpath(directory).split("/")
        for pattern in self.patterns:
            if not pattern.exclusion:
                continue
            components = pattern.text.split("/")
            for i, part in enumerate(parts):
                if i >= len(components) or "**" in components[i]:
                    return True
                if not _to_regex(components[i]).match(part):
                    break
            else:
                return True
        return False


def context_files(context: Path, ignore: DockerIgnore | None = None) -> list[str]:
    """Every file Docker sends from ``context`` (relative ``/`` paths, sorted)."""
    ignore = ignore or DockerIgnore.of(context)
    out: list[str] = []
    for root, dirs, files in os.walk(context):
        base = Path(root).relative_to(context).as_posix()
        prefix = "" if base == "." else base + "/"
        dirs[:] = [
            d
            for d in sorted(dirs)
            if not ignore.excluded(prefix + d) or ignore.may_take_back_below(prefix + d)
        ]
        out.extend(prefix + f for f in files if not ignore.excluded(prefix + f))
    return sorted(out)


def copy_sources(dockerfile: Path) -> list[str]:
    """The context paths a Dockerfile's ``COPY``/``ADD`` lines take (not ``--from`` ones)."""
    sources: list[str] = []
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    for line in text.splitlines():
        words = line.strip().split(None, 1)
        if len(words) < 2 or words[0].upper() not in ("COPY", "ADD"):
            continue
        rest = words[1].strip()
        args: list[str]
        if rest.startswith("["):
            args = [str(a) for a in json.loads(rest)]
        else:
            args = rest.split()
        flags = [a for a in args if a.startswith("--")]
        if any(f.startswith("--from") for f in flags):
            continue
        paths = [a for a in args if not a.startswith("--")]
        for source in paths[:-1]:
            if any(ch in source for ch in "*?["):
                raise DockerfileError(
                    f"{dockerfile.name}: COPY {source}: wildcards are not followed"
                )
            sources.append(posixpath.normpath(source.lstrip("/")))
    return sources


def copied_files(dockerfile: Path, context: Path) -> list[str]:
    """The files of the build context that the Dockerfile's ``COPY`` lines put in the image."""
    sent = context_files(context)
    out: list[str] = []
    for source in copy_sources(dockerfile):
        taken = [f for f in sent if f == source or f.startswith(source + "/")]
        if not taken:
            raise DockerfileError(
                f"{dockerfile.name}: COPY {source}: not in the build context "
                f"(missing, or left out by .dockerignore)"
            )
        out.extend(taken)
    return sorted(set(out))
