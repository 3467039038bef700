"""Every snippet in the docs runs in a test (``tests/snippets.py`` says which), and the few
that cannot say why in a visible line; the Python SDK guide's snippets run here, against a
local stack; the README's option list is ``arbiter-server dev --help``'s."""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import arbiter_client
from arbiter_client import RemoteParticipant, Room
from arbiter_server.cli import _parser
from arbiter_server.local import LocalStack
from tests.snippets import DOCS, PICTURES, ROOT, RUNNERS, Block, blocks, to_run

# (document, first line) of every block that says it is not run, and nothing else
NOT_RUN = {
    ("README.md", "scripts/dev"),
    ("README.md", "scripts/test"),
    ("README.md", ".venv/bin/pytest -m faults"),
    ("apps/web-sdk/README.md", "npm ci            # from the committed package-lock.json"),
    (
        "docs/embedding.md",
        "arbiter-server dev                      # prints the Room API URL and where the key is",
    ),
    ("docs/server-api.md", ".venv/bin/python -m benchmarks.admin_api --repeat 30 --participants 4"),
    (
        "docs/python-sdk.md",
        'await room.mute_participant(pid, "audio")  # held muted: the SFU stops forwarding it',
    ),
}


def test_every_block_is_run_or_says_why_not() -> None:
    unclaimed = []
    for doc in DOCS:
        for block in blocks(doc):
            if block.lang in PICTURES or block.not_run:
                continue
            if (doc, block.lang) not in RUNNERS:
                unclaimed.append(f"{block.where} ({block.lang or 'no language'})")
    assert unclaimed == [], "blocks no test runs (give them a runner or a reason)"


def test_the_blocks_not_run_are_the_listed_few() -> None:
    found = {
        (doc, block.text.splitlines()[0]) for doc in DOCS for block in blocks(doc) if block.not_run
    }
    assert found == NOT_RUN


def test_every_runner_exists_and_reads_its_blocks() -> None:
    for (doc, lang), module in RUNNERS.items():
        assert to_run(doc, lang), f"no {lang} block left in {doc}: drop it from RUNNERS"
        source = (ROOT / module).read_text(encoding="utf-8")
        reads = f'to_run("{doc}", "{lang}")' in source or f'"{Path(doc).name}"' in source
        assert reads, f"{module} does not run {doc} {lang}"


def test_readme_lists_every_dev_option() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sentence = re.search(r"Options: (.*?) \(see `arbiter-server dev --help`", readme, re.S)
    assert sentence is not None
    listed = set(re.findall(r"`(--[a-z-]+)`", sentence.group(1)))
    dev = _parser()._subparsers._group_actions[0].choices["dev"]  # type: ignore[union-attr]
    options = {s for a in dev._actions for s in a.option_strings if s.startswith("--")}
    assert listed == options - {"--help"}


# --------------------------------------------------------------------- the SDK guide's snippets


async def _until(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (value := check()):
            await asyncio.sleep(0.05)
    return value


def _with_frames(room: Room) -> RemoteParticipant | None:
    for p in room.participants.values():
        if p.video and p.audio and p.video.frames_received > 2 and p.audio.frames_received > 2:
            return p
    return None


async def _run(block: Block, namespace: dict[str, Any]) -> None:
    code = compile(
        block.text, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )
    if code.co_flags & inspect.CO_COROUTINE:
        result: Awaitable[None] = eval(code, namespace)  # noqa: S307 - the docs' own code
        await asyncio.wait_for(result, 30)
    else:  # blocking code (arbiter_client.sync) runs beside the loop the stack needs
        await asyncio.wait_for(asyncio.to_thread(exec, code, namespace), 30)


@pytest.mark.timeout(120)
@pytest.mark.scenarios
async def test_python_sdk_snippets_run(
    stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the recording snippet writes call.mp4
    url = await stack.create_room("snippets")
    other = await Room.join(url, name="alice", video_size=(320, 240))
    room = await Room.join(url, name="bot", video_size=(320, 240))
    try:
        participant = await _until(lambda: _with_frames(room), "alice's media")
        snippets = to_run("docs/python-sdk.md", "python")
        assert len(snippets) >= 10
        for block in snippets:
            namespace = {
                "asyncio": asyncio,
                "url": url,
                "room": room,
                "participant": participant,
                **{name: getattr(arbiter_client, name) for name in arbiter_client.__all__},
            }
            try:
                await _run(block, namespace)
            except Exception as exc:
                raise AssertionError(f"{block.where} failed: {exc!r}\n{block.text}") from exc
            assert room.state == arbiter_client.RoomState.CONNECTED, block.where
    finally:
        await room.leave()
        await other.leave()
