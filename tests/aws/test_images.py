"""The images' build context, checked with Docker's own ``.dockerignore`` rules (no Docker
engine here), and image tags that follow exactly what the images contain."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from arbiter_server.infra.buildcontext import (
    DockerfileError,
    DockerIgnore,
    context_files,
    copied_files,
    copy_sources,
)
from arbiter_server.infra.images import DEPLOY_DIR, IMAGES, image_tag

ROOT = DEPLOY_DIR.parent

# Docker's documented examples and its pattern matcher's behaviour, as (patterns, path, excluded)
RULES = [
    (["*/temp*"], "somedir/temporary.txt", True),
    (["*/temp*"], "somedir/temp", True),  # and everything below it
    (["*/temp*"], "somedir/temp/inner/file", True),
    (["*/temp*"], "temp", False),
    (["*/*/temp*"], "somedir/subdir/temporary.txt", True),
    (["*/*/temp*"], "somedir/temporary.txt", False),
    (["temp?"], "tempa", True),
    (["temp?"], "tempab", False),
    (["temp?"], "dir/tempa", False),
    (["**/*.go"], "a/b/c.go", True),
    (["**/*.go"], "c.go", True),
    (["**/__pycache__"], "arbiter_server/__pycache__/x.pyc", True),
    (["/abs/path"], "abs/path/file", True),
    (["a/../b"], "b", True),
    (["*.md", "!README*.md"], "README-secret.md", False),
    (["*.md", "!README*.md"], "CHANGES.md", True),
    (["*.md", "!README*.md", "README-secret.md"], "README-secret.md", True),
    (["*", "!keep"], "keep/deep/file", False),
    (["*", "!keep"], "other/file", True),
    (["*", "!dir/file.sh"], "dir/file.sh", False),
    (["*", "!dir/file.sh"], "dir/other.sh", True),
    (["foo**"], "foobar/x", True),
    (["foo/**"], "foo", False),
    (["foo/**"], "foo/x/y", True),
    (["**bar"], "a/foobar", True),
    (["f[ab]o"], "fbo", True),
    (["f[ab]o"], "fco", False),
    (["a\\*b"], "a*b", True),
    (["a\\*b"], "axb", False),
    (["file.txt"], "fileXtxt", False),
]


@pytest.mark.parametrize(("patterns", "path", "excluded"), RULES)
def test_dockerignore_rules_are_dockers(patterns: list[str], path: str, excluded: bool) -> None:
    assert DockerIgnore(patterns).excluded(path) is excluded


def test_a_dockerignore_file_is_read_as_docker_reads_it() -> None:
    ignore = DockerIgnore.parse("\ufeff# a comment\n  *.log  \n\n!/keep.log\n#not-a-pattern\n")
    assert [(p.text, p.exclusion) for p in ignore.patterns] == [
        ("*.log", False),
        ("keep.log", True),
    ]
    with pytest.raises(ValueError, match="illegal exclusion"):
        DockerIgnore(["!"])


def test_the_context_sends_exactly_what_the_images_copy() -> None:
    sent = context_files(ROOT)
    copied = sorted({f for file in IMAGES.values() for f in copied_files(DEPLOY_DIR / file, ROOT)})
    assert sent == copied
    tops = {f.split("/")[0] for f in sent}
    assert tops == {
        "README.md",
        "pyproject.toml",
        "setup.py",
        "LICENSE",
        "deploy",
        "arbiter_protocol",
        "arbiter_server",
        "arbiter_rtc",
    }
    assert not [f for f in sent if "__pycache__" in f or f.endswith(".pyc")]
    assert [f for f in sent if f.startswith("deploy/")] == [
        "deploy/coturn-entrypoint.sh",
        "deploy/coturn-healthcheck.sh",
    ]
    assert sum((ROOT / f).stat().st_size for f in sent) < 2 * 1024 * 1024


def test_the_sfu_image_copies_every_package_the_sfu_imports() -> None:
    probe = (
        "import json, sys, arbiter_server.sfu.cli; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    first_party = {m for m in json.loads(result.stdout) if (ROOT / m / "__init__.py").is_file()}
    assert "arbiter_server" in first_party
    assert first_party <= set(copy_sources(DEPLOY_DIR / "sfu.Dockerfile"))


def _context_copy(tmp_path: Path) -> Path:
    context = tmp_path / "ctx"
    context.mkdir()
    for name in (".dockerignore", "pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, context / name)
    for name in ("arbiter_protocol", "arbiter_rtc", "arbiter_server", "deploy"):
        shutil.copytree(ROOT / name, context / name, ignore=shutil.ignore_patterns("__pycache__"))
    return context


def test_an_image_tag_changes_with_any_file_the_image_contains_and_nothing_else(
    tmp_path: Path,
) -> None:
    context = _context_copy(tmp_path)
    sfu = context / "deploy" / "sfu.Dockerfile"
    tag = image_tag(sfu, context)
    assert tag == image_tag(DEPLOY_DIR / "sfu.Dockerfile", ROOT)
    (context / "tests").mkdir()
    (context / "tests" / "test_x.py").write_text("x = 1\n")
    (context / "arbiter_rtc" / "__pycache__").mkdir()
    (context / "arbiter_rtc" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (context / "arbiter_client").mkdir()
    (context / "arbiter_client" / "__init__.py").write_text("x = 1\n")
    assert image_tag(sfu, context) == tag  # not in the image: same tag
    rtc = context / "arbiter_rtc" / "__init__.py"
    rtc.write_text(rtc.read_text() + "\n# changed\n")
    assert image_tag(sfu, context) != tag  # the SFU image carries the RTC package
    coturn = context / "deploy" / "coturn.Dockerfile"
    assert image_tag(coturn, context) == image_tag(DEPLOY_DIR / "coturn.Dockerfile", ROOT)


def test_a_copy_the_context_does_not_carry_is_an_error(tmp_path: Path) -> None:
    context = _context_copy(tmp_path)
    dockerfile = context / "deploy" / "x.Dockerfile"
    dockerfile.write_text("FROM scratch\nCOPY --chown=1:1 tests /tests\nCOPY --from=b /a /b\n")
    assert copy_sources(dockerfile) == ["tests"]
    with pytest.raises(DockerfileError, match="COPY tests: not in the build context"):
        copied_files(dockerfile, context)
