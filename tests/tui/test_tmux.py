"""The app in a real terminal: tmux runs ``python -m arbiter_tui``, the test reads the screen."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from arbiter_tui import CHAT_TOPIC

from arbiter_client import DataReceived, Room
from arbiter_server.local import LocalStack

pytestmark = pytest.mark.timeout(90)

# The test process has COLUMNS=80 and LINES=24 set; a terminal app must read its
# real size from the pty instead.
TERMINAL_ENV = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
HALF_BLOCK = "\u2580"
SGR = re.compile(r"\x1b\[([0-9;]*)m")


@dataclass
class Tmux:
    """A tmux server of our own (its own socket), one session, and the PIDs to clean up."""

    socket: str
    session: str
    pids: list[int]

    async def run(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            "tmux",
            "-L",
            self.socket,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=TERMINAL_ENV,
        )
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)} failed: {err.decode().strip()}")
        return out.decode()

    async def capture(self) -> str:
        """The visible screen with escape sequences (colours) kept."""
        return await self.run("capture-pane", "-p", "-e", "-t", self.session)

    async def send(self, *keys: str) -> None:
        await self.run("send-keys", "-t", self.session, *keys)


@pytest.fixture
async def tmux() -> AsyncIterator[Tmux]:
    t = Tmux(f"arbiter-tui-test-{uuid.uuid4().hex[:8]}", "tui", [])
    try:
        yield t
    finally:
        for pid in reversed(t.pids):  # the app first, then the tmux server
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc = await asyncio.create_subprocess_exec(
            "tmux",
            "-L",
            t.socket,
            "kill-server",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await proc.wait()


def video_cells(screen: str) -> int:
    """How many half-block cells ``screen`` (``capture-pane -e`` output) draws with a
    true-colour foreground other than black."""
    count = 0
    coloured = False
    pos = 0
    for match in [*SGR.finditer(screen), None]:
        text = screen[pos : match.start() if match else len(screen)]
        if coloured:
            count += text.count(HALF_BLOCK)
        if match is None:
            break
        codes = match.group(1).split(";")
        for i, code in enumerate(codes):
            if code in ("", "0", "39"):
                coloured = False
            elif code == "38" and codes[i + 1 : i + 2] == ["2"]:
                coloured = any(int(c or 0) for c in codes[i + 2 : i + 5])
        pos = match.end()
    return count


CHAT_WIDTH = 36  # the chat panel's columns at the right edge (app.tcss)


def right_columns(row: str, width: int) -> str:
    """The last ``width`` visible columns of ``row``, with the colour codes inside them."""
    parts = re.split(r"(\x1b\[[0-9;]*m)", row)
    visible = sum(len(p) for p in parts if not SGR.fullmatch(p))
    skip, out = visible - width, []
    for part in parts:
        if SGR.fullmatch(part):
            if skip <= 0:  # colours set left of the panel (the tiles') are not the panel's
                out.append(part)
        elif skip >= len(part):
            skip -= len(part)
        else:
            out.append(part[max(skip, 0) :])
            skip = 0
    return "".join(out)


def input_line(screen: str) -> str:
    """The chat input (three rows of the chat panel, colours kept): it changes with the focus."""
    rows = screen.splitlines()
    for i, row in enumerate(rows):
        if "Type a message" in SGR.sub("", row):
            return "\n".join(right_columns(r, CHAT_WIDTH) for r in rows[max(i - 1, 0) : i + 2])
    return ""


async def test_real_terminal_shows_both_bots_and_their_video(
    stack: LocalStack, bots: list[Room], tmux: Tmux
) -> None:
    bot1, _ = bots
    chats: list[str] = []

    async def listen() -> None:
        async for event in bot1.events():
            if isinstance(event, DataReceived) and event.topic == CHAT_TOPIC:
                chats.append(str(event.data))

    listener = asyncio.create_task(listen())
    command = f"{sys.executable} -m arbiter_tui {stack.room_url('r')} --name term --source none"
    try:
        await tmux.run(
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "40",
            "-s",
            tmux.session,
            "-e",
            "COLORTERM=truecolor",
            command,
        )
        server_pid = int(await tmux.run("display-message", "-p", "#{pid}"))
        pane_pid = int(await tmux.run("display-message", "-p", "-t", tmux.session, "#{pane_pid}"))
        tmux.pids += [server_pid, pane_pid]

        deadline = time.monotonic() + 30
        screen = ""
        while time.monotonic() < deadline:
            screen = await tmux.capture()
            plain = SGR.sub("", screen)
            if "bot-1" in plain and "bot-2" in plain and video_cells(screen) > 200:
                break
            await asyncio.sleep(0.2)
        plain = SGR.sub("", screen)
        assert "bot-1" in plain and "bot-2" in plain, plain
        width = max(len(line) for line in plain.splitlines())
        assert width == 120, f"the app drew {width} columns, not the terminal's 120"
        assert video_cells(screen) > 200, plain

        # keys reach the app: c focuses the chat, the text goes to the bots. As a person
        # would, type once the chat line shows its focus (Textual redraws the input with a
        # cursor and a focused border), not at once: keys that arrive in the same read as "c"
        # may still go to the widget that had the focus.
        blurred = input_line(await tmux.capture())
        await tmux.send("c")
        deadline = time.monotonic() + 10
        while input_line(await tmux.capture()) == blurred and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert input_line(await tmux.capture()) != blurred, "the chat line never took the focus"
        await tmux.send("-l", "hi from tmux")
        await tmux.send("Enter")
        deadline = time.monotonic() + 10
        while "hi from tmux" not in chats and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert "hi from tmux" in chats

        # q leaves: the app exits, and bot-1 sees it go
        await tmux.send("Escape")
        # a terminal reads ESC followed at once by "q" as Alt-q: send "q" once the app has
        # taken the Escape (the chat line shows it lost the focus), as a person would
        deadline = time.monotonic() + 10
        while input_line(await tmux.capture()) != blurred and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert input_line(await tmux.capture()) == blurred, "Escape did not leave the chat line"
        await tmux.send("q")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(bot1.participants) > 1:
            await asyncio.sleep(0.1)
        assert len(bot1.participants) == 1, bot1.participants
    finally:
        listener.cancel()
