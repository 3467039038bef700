"""The wheel as a user gets it: installed into fresh virtual environments outside the
checkout by the docs' own install lines, then used as the docs say.

- README: ``pip install 'arbiter-video[server]'`` and ``arbiter-server dev`` from an empty
  folder; Chromium opens the printed room URL and joins, and a Python bot run by the same
  venv gets the browser's video while the browser plays the bot's (video both ways).
- apps/tui/README: ``pip install 'arbiter-video[tui]'`` and the three ways to start the
  app, each in a real terminal (tmux), joined to that room.
- docs/aws.md: ``pip install 'arbiter-video[aws]'`` alone (no aiohttp) runs ``deploy
  --dry-run`` and ``status`` against moto.

``arbiter-server dev`` runs as written, on port 8080, inside a network namespace the test
makes (``unshare --net``), so it cannot collide with anything else on the machine; the
namespace has loopback and one address of its own on a veth pair whose both ends stay inside
(WebRTC peers gather no loopback candidates), so nothing it sends can leave it. Chromium,
the bot and tmux join that namespace (``nsenter``). ``pip`` finds
``arbiter-video`` in the freshly built ``dist/`` (``PIP_FIND_LINKS``) and the dependencies
on the package index as usual.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright

from tests.packaging.conftest import INSTALL_TIMEOUT, Venv
from tests.packaging.test_build import sfu_image_install
from tests.snippets import ROOT, shell_lines, to_run
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.web.test_browser import assert_video_plays, join_in_browser

pytestmark = pytest.mark.timeout(900)

STEP = 60.0
NAMESPACE = (
    "ip link set lo up && ip link add arb0 type veth peer name arb1"
    " && ip addr add 10.203.0.1/24 dev arb0 && ip link set arb0 up && ip link set arb1 up"
)
"Set up inside the new network namespace before dev starts."

BOT = """
import asyncio, sys
from arbiter_client import Room, TrackSubscribed

async def main(url):
    async with Room.join(url, name="wheel-bot", video_size=(320, 240)) as room:
        async for event in room.events():
            if (isinstance(event, TrackSubscribed) and event.kind == "video"
                    and event.participant.name == "web"):
                frame = await asyncio.wait_for(event.track.recv(), 30)
                image = frame.to_ndarray(format="rgb24")
                print("got", event.participant.name, frame.width, frame.height,
                      round(float(image.std()), 1), flush=True)
                break
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

asyncio.run(main(sys.argv[1]))
"""


@dataclass
class Dev:
    """``arbiter-server dev`` in its own network namespace."""

    proc: subprocess.Popen[str]
    folder: Path
    room_url: str
    output: list[str]

    @property
    def netns(self) -> str:
        return f"/proc/{self.proc.pid}/ns/net"

    def enter(self, *cmd: str) -> list[str]:
        """``cmd`` run inside the namespace."""
        return ["nsenter", f"--net={self.netns}", *cmd]


def _read_lines(proc: subprocess.Popen[str], out: list[str], seen: threading.Event) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        out.append(line.rstrip("\n"))
        seen.set()


def _stop(proc: subprocess.Popen[Any], grace: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL it after ``grace`` seconds."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


@pytest.fixture(scope="module")
def server_venv(make_venv: Any) -> Venv:
    venv: Venv = make_venv()
    return venv


@pytest.fixture(scope="module")
def dev(server_venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    """The README's install lines, then its ``arbiter-server dev``, from an empty folder."""
    (block,) = to_run("README.md", "sh")
    lines = shell_lines(block)
    assert lines[-1] == "arbiter-server dev", lines
    folder = tmp_path_factory.mktemp("empty-folder")
    for line in lines[:-1]:
        assert line.startswith("pip install "), line
        server_venv.sh(line, cwd=folder, timeout=INSTALL_TIMEOUT)
    proc = subprocess.Popen(
        ["unshare", "--net", "--", "bash", "-c", f"{NAMESPACE} && exec {lines[-1]}"],
        cwd=folder,
        env=server_venv.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    seen = threading.Event()
    threading.Thread(target=_read_lines, args=(proc, output, seen), daemon=True).start()
    try:
        deadline = time.monotonic() + STEP
        url = None
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            found = [m for line in output if (m := re.match(r"Room: (http\S+)", line))]
            url = found[0].group(1) if found else None
            seen.wait(0.5)
            seen.clear()
        assert url is not None, "dev printed no room URL:\n" + "\n".join(output)
        yield Dev(proc, folder, url, output)
    finally:
        _stop(proc)


@pytest.fixture
async def netns_browser(dev: Dev, tmp_path: Path) -> AsyncIterator[Any]:
    """Debian's Chromium inside dev's network namespace (Playwright talks to it over a pipe)."""
    wrapper = tmp_path / "chromium"
    wrapper.write_text(f'#!/bin/sh\nexec nsenter --net={dev.netns} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(wrapper), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield browser
        finally:
            await browser.close()


async def test_dev_from_the_wheel_serves_the_page_and_carries_video_both_ways(
    dev: Dev, server_venv: Venv, netns_browser: Any
) -> None:
    assert dev.room_url == "http://127.0.0.1:8080/rooms/demo"
    assert (dev.folder / ".arbiter" / "arbiter.sqlite3").is_file()  # the empty folder's
    site = next((server_venv.path / "lib").glob("python3.*/site-packages"))
    assert (site / "arbiter_server" / "web" / "index.html").is_file()
    bot = subprocess.Popen(
        dev.enter(str(server_venv.python), "-c", BOT, dev.room_url),
        cwd=dev.folder,
        env=server_venv.env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        page = await join_in_browser(netns_browser, dev.room_url, "web")
        stats = await assert_video_plays(page, "wheel-bot")
        assert stats["width"] == 320 and stats["height"] == 240
        await assert_video_plays(page, "demo-bot")
        assert bot.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(bot.stdout.readline), STEP)
        got = line.split()
        assert got[:2] == ["got", "web"], (line, bot.stderr.read() if bot.poll() else "")
        width, height, spread = int(got[2]), int(got[3]), float(got[4])
        assert width > 0 and height > 0 and spread > 1.0  # the fake camera's picture
    finally:
        _stop(bot, grace=5)


@dataclass
class Terminal:
    """A private tmux server inside dev's namespace."""

    socket: str

    def tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout


async def _until(check: Any, what: str, timeout: float = STEP) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


async def test_tui_readme_commands_join_the_room(dev: Dev, server_venv: Venv) -> None:
    (block,) = to_run("apps/tui/README.md", "sh")
    lines = shell_lines(block)
    assert lines[0].startswith("pip install "), lines
    server_venv.sh(lines[0], cwd=dev.folder, timeout=INSTALL_TIMEOUT)
    env = {k: v for k, v in server_venv.env().items() if k not in ("COLUMNS", "LINES")}
    term = Terminal(f"arbiter-wheel-{uuid.uuid4().hex[:8]}")
    server = subprocess.run(
        dev.enter("tmux", "-L", term.socket, "-f", "/dev/null", "new-session", "-d")
        + ["-x", "120", "-y", "40", "-s", "keep", "sleep 600"],
        env=env,
        timeout=30,
        check=True,
    )
    assert server.returncode == 0
    try:
        for i, line in enumerate(lines[1:]):
            assert dev.room_url in line, line
            window = f"app{i}"
            # the documented line as it is, then its exit status on the screen
            command = f"{line}; echo exit status $?; sleep 600"
            term.tmux("new-window", "-d", "-n", window, "-c", str(ROOT), command, env=env)
            name = re.search(r"--name (\S+)", line)
            assert name is not None

            def screen(window: str = window) -> str:
                return term.tmux("capture-pane", "-p", "-t", f"keep:{window}")

            await _until(lambda: "demo-bot" in screen(), f"{line!r} to show the demo bot")
            term.tmux("send-keys", "-t", f"keep:{window}", "q")
            ended = await _until(
                lambda: re.search(r"exit status (\d+)", screen()), f"{line!r} to quit on q"
            )
            assert ended.group(1) == "0", f"{line!r} exited {ended.group(1)}:\n{screen()}"
    finally:
        subprocess.run(["tmux", "-L", term.socket, "kill-server"], timeout=30, check=False)


def test_the_aws_extra_alone_runs_deploy_dry_run_and_status(
    make_venv: Any, moto_env: dict[str, str], tmp_path: Path
) -> None:
    """docs/aws.md's install line, then ``deploy --dry-run`` and ``status`` against moto; the
    images' build context comes from the wheel, and the SFU image's install step works."""
    venv: Venv = make_venv()
    runbook = (ROOT / "docs" / "aws.md").read_text()
    (install,) = re.findall(r"^(pip install .*?)\s+# prerequisite$", runbook, re.M)
    assert install == "pip install 'arbiter-video[aws]'", install
    venv.sh(install, cwd=tmp_path, timeout=INSTALL_TIMEOUT)
    missing = subprocess.run(
        [str(venv.python), "-c", "import aiohttp"], capture_output=True, timeout=60, check=False
    )
    assert missing.returncode != 0, "the aws extra installed aiohttp"
    help_text = venv.sh("arbiter-server deploy --help", cwd=tmp_path, timeout=60)
    assert "--dry-run" in help_text
    plan = venv.sh(
        "arbiter-server deploy --region eu-west-1 --dry-run", cwd=tmp_path, timeout=300, **moto_env
    )
    assert "arbiter-http" in plan  # the plan names the HTTP API it would create
    status = venv.sh(
        "arbiter-server status --region eu-west-1", cwd=tmp_path, timeout=300, **moto_env
    )
    assert "No deployment 'arbiter' in eu-west-1" in status

    # deploy's images: their build context, assembled from the installed wheel
    probe = (
        "from arbiter_server.infra.images import DEPLOY_DIR, image_tags; "
        "print(DEPLOY_DIR); print(image_tags())"
    )
    found, tags = venv.sh(f'python -c "{probe}"', cwd=tmp_path, timeout=60).splitlines()
    context = Path(found).parent
    assert not context.is_relative_to(ROOT), "the context came from the checkout"
    assert re.fullmatch(r"\{'sfu': 'src-[0-9a-f]{12}', 'coturn': 'src-[0-9a-f]{12}'\}", tags)
    # (the probe's process removed its context when it ended: assemble one here to build)
    keep = tmp_path / "context"
    venv.sh(
        "python -c 'import shutil, sys; from arbiter_server.infra.images import DEPLOY_DIR; "
        f"shutil.copytree(DEPLOY_DIR.parent, sys.argv[1])' {keep}",
        cwd=tmp_path,
        timeout=60,
    )
    for name in ("sfu.Dockerfile", "coturn.Dockerfile", "coturn-entrypoint.sh"):
        assert (keep / "deploy" / name).is_file(), name
    assert not (keep / "arbiter_server" / "web").exists()
    built = sfu_image_install(keep, venv.python, tmp_path / "sfu-wheel", venv.env())
    assert built.returncode == 0, built.stderr[-3000:]

    dev = subprocess.run(
        [str(venv.bin / "arbiter-server"), "dev", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=venv.env(),
        check=False,
    )
    assert dev.returncode == 1
    assert "pip install 'arbiter-video[server]'" in dev.stderr
