"""The npm package as a web developer gets it: ``npm pack`` of ``apps/web-sdk`` installed
into a fresh Vite + React app (made from ``tests/packaging/consumer``, every package pinned
to the version the web SDK's lock file has, installed offline from npm's cache), with the
web SDK README's snippets in it. The app type-checks (``moduleResolution`` ``bundler``, and
the declarations under ``node16`` and ``nodenext``), builds, is served from its own origin,
and joins a room on ``arbiter-server dev`` in Chromium with a Python bot: video both ways,
chat, the stylesheet and its documented override. Also the web SDK's own dev flow,
``npm run dev`` with ``/?url=ROOM``, which needs CORS on the local gateway."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import pytest
from playwright.async_api import Browser, Page

from arbiter_client import ChatMessage, Room, TrackSubscribed
from tests.packaging.conftest import run
from tests.snippets import ROOT, shell_lines, to_run
from tests.web.test_browser import (
    Collector,
    assert_video_plays,
    close_pages,
    join_in_browser,
    within,
)

pytestmark = pytest.mark.timeout(600)

SDK = ROOT / "apps" / "web-sdk"
TEMPLATE = Path(__file__).parent / "consumer"
ARTIFACTS = ROOT / "test-artifacts"
DOC_URL = "http://127.0.0.1:8080/rooms/demo"


# ------------------------------------------------------------------------------- the tarball


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``npm pack`` of the built web SDK (``npm run build`` made ``dist/``)."""
    assert (SDK / "dist" / "index.d.ts").is_file(), "run npm run build in apps/web-sdk"
    out = tmp_path_factory.mktemp("pack")
    run(["npm", "pack", "--silent", "--pack-destination", str(out)], cwd=SDK, timeout=120)
    (packed,) = out.glob("arbiter-video-react-*.tgz")
    return packed


def test_the_tarball_is_a_publishable_esm_package_without_tests(tarball: Path) -> None:
    with tarfile.open(tarball) as tar:
        names = sorted(m.name.removeprefix("package/") for m in tar.getmembers() if m.isfile())
        manifest = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
    assert manifest["name"] == "arbiter-video-react"
    assert manifest["license"] == "MIT" and "LICENSE" in names
    assert "private" not in manifest and manifest["type"] == "module"
    assert set(manifest["peerDependencies"]) == {"react", "react-dom"}
    assert "dependencies" not in manifest
    assert set(manifest["exports"]) == {
        ".",
        "./core",
        "./hooks",
        "./prefabs",
        "./styles.css",
        "./package.json",
    }
    for entry, target in manifest["exports"].items():
        paths = [target] if isinstance(target, str) else list(target.values())
        for path in paths:
            assert path.removeprefix("./") in names, f"{entry} -> {path} is not in the tarball"
    assert [n for n in names if re.search(r"\.test\.|test-utils|/src/", n)] == []
    assert "dist/styles.css" in names
    declarations = [n for n in names if n.endswith(".d.ts")]
    for name in declarations:  # relative imports name files, as Node's ESM resolution needs
        with tarfile.open(tarball) as tar:
            text = tar.extractfile(f"package/{name}").read().decode()  # type: ignore[union-attr]
        bare = re.findall(r"""from ['"](\.{1,2}/[^'"]*)['"]""", text)
        assert [s for s in bare if not s.endswith(".js")] == [], name
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "packaging-npm.json").write_text(
        json.dumps(
            {
                "file": tarball.name,
                "bytes": tarball.stat().st_size,
                "files": len(names),
                "contents": names,
            },
            indent=2,
        )
    )


# --------------------------------------------------------------------------- the consumer app


def _lock_subset(roots: dict[str, str]) -> dict[str, Any]:
    """The web SDK lock's entries for ``roots`` and everything they need, as npm finds them."""
    lock = json.loads((SDK / "package-lock.json").read_text())
    packages: dict[str, Any] = lock["packages"]
    keep: dict[str, Any] = {}
    todo = [f"node_modules/{name}" for name in roots]
    while todo:
        path = todo.pop()
        if path in keep:
            continue
        keep[path] = packages[path]
        entry = packages[path]
        wanted = {
            **entry.get("dependencies", {}),
            **entry.get("optionalDependencies", {}),
            **entry.get("peerDependencies", {}),
        }
        for dep in wanted:
            base = path
            while True:  # node_modules/a/node_modules/b, then up the tree
                candidate = f"{base}/node_modules/{dep}"
                if candidate in packages:
                    todo.append(candidate)
                    break
                if "/node_modules/" not in base:
                    if f"node_modules/{dep}" in packages:
                        todo.append(f"node_modules/{dep}")
                    break  # an optional peer nobody installed
                base = base.rsplit("/node_modules/", 1)[0]
    return keep


@pytest.fixture(scope="module")
def app(tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template app with the tarball installed by the README's line and its snippets."""
    app = tmp_path_factory.mktemp("consumer") / "app"
    shutil.copytree(TEMPLATE, app)
    lock = json.loads((SDK / "package-lock.json").read_text())["packages"]
    manifest = json.loads((app / "package.json").read_text())
    for group in ("dependencies", "devDependencies"):
        for name in manifest[group]:
            manifest[group][name] = lock[f"node_modules/{name}"]["version"]
    (app / "package.json").write_text(json.dumps(manifest, indent=2))
    roots = {**manifest["dependencies"], **manifest["devDependencies"]}
    root_entry = {k: manifest[k] for k in ("name", "version", "dependencies", "devDependencies")}
    (app / "package-lock.json").write_text(
        json.dumps(
            {
                "name": manifest["name"],
                "version": manifest["version"],
                "lockfileVersion": 3,
                "requires": True,
                "packages": {"": root_entry, **_lock_subset(roots)},
            },
            indent=2,
        )
    )
    npm_env = {**os.environ, "npm_config_update_notifier": "false"}
    run(["npm", "ci", "--offline", "--no-audit", "--no-fund"], cwd=app, env=npm_env, timeout=300)
    # the README's install line, with the package name pointing at the tarball
    (install,) = to_run("apps/web-sdk/README.md", "sh")
    (line,) = shell_lines(install)
    assert line == "npm install arbiter-video-react", line
    shutil.copy(tarball, app / tarball.name)
    command = line.replace("arbiter-video-react", f"./{tarball.name}").split()
    # the registry may be asked about the locked packages (their metadata), nothing new is
    # downloaded: every tarball comes from npm's cache, every version from the lock
    flags = ["--prefer-offline", "--no-audit", "--no-fund"]
    run(command + flags, cwd=app, env=npm_env, timeout=300)
    snippets = app / "src" / "snippets"
    snippets.mkdir()
    names = []
    for i, block in enumerate(to_run("apps/web-sdk/README.md", "tsx"), start=1):
        text = block.text.replace(
            f'"{DOC_URL}"', "{new URLSearchParams(location.search).get('url')!}"
        )
        (snippets / f"snippet{i}.tsx").write_text(f"// {block.where}\n{text}")
        names.append(f"snippet{i}")
    (snippets / "index.ts").write_text("".join(f"export * from './{n}.js';\n" for n in names))
    css = to_run("apps/web-sdk/README.md", "css")
    (snippets / "overrides.css").write_text("".join(b.text for b in css))
    return app


def test_the_app_type_checks_under_bundler_node16_and_nodenext(app: Path) -> None:
    run(["npm", "run", "-s", "typecheck"], cwd=app, timeout=300)


def test_the_declarations_resolve_to_declarations_not_bundles(app: Path) -> None:
    """``./hooks`` in ``index.d.ts`` once resolved to the bundle ``dist/hooks.js``."""
    out = run(
        ["npx", "tsc", "-p", "tsconfig.json", "--noEmit", "--traceResolution"],
        cwd=app,
        timeout=300,
    ).stdout
    resolved = re.findall(
        r"======== Module name '([^']+)' was successfully resolved to '([^']+)'", out
    )
    ours = [(name, path) for name, path in resolved if "arbiter-video-react" in path]
    assert ours, "no module of the package was resolved"
    wrong = [(name, path) for name, path in ours if not path.endswith(".d.ts")]
    assert wrong == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site(app: Path) -> Iterator[str]:
    """The app built by Vite and served from its own origin (not the Room API's)."""
    run(["npm", "run", "-s", "build"], cwd=app, timeout=300)
    handler = functools.partial(_Quiet, directory=str(app / "dist"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[str]:
    """``arbiter-server dev`` (this checkout) on a free port; yields its room URL."""
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "arbiter-server"),
            "dev",
            "--port",
            "0",
            "--json",
            "--no-bot",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("{"), f"dev printed {line!r}"
        yield json.loads(line)["url"]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


async def _browser_video_reaches(bot: Room, events: Collector, name: str) -> None:
    sub = await events.wait_for(
        lambda e: (
            isinstance(e, TrackSubscribed) and e.kind == "video" and e.participant.name == name
        ),
        f"the bot to get {name}'s video",
    )
    assert isinstance(sub, TrackSubscribed)
    frame = await within(sub.track.recv(), f"a frame of {name}'s video")
    assert isinstance(frame, av.VideoFrame)
    assert frame.to_ndarray(format="rgb24").std() > 1.0  # the fake camera's picture


PLAYING = """(name) => {
  const video = document.querySelector(`video[data-participant-name="${name}"]`);
  return video ? {width: video.videoWidth, time: video.currentTime, paused: video.paused} : null;
}"""


async def _plays(page: Page, name: str) -> None:
    async def playing() -> None:
        first = None
        while True:
            stats = await page.evaluate(PLAYING, name)
            if stats and stats["width"] > 0 and not stats["paused"]:
                if first is None:
                    first = stats
                elif stats["time"] > first["time"]:
                    return
            await asyncio.sleep(0.25)

    await within(playing(), f"{name}'s video to play in the app")


@contextlib.asynccontextmanager
async def bot_and_app(
    chromium: Browser, room_url: str, page_url: str
) -> AsyncIterator[tuple[Room, Collector, Page]]:
    """A Python bot in ``room_url`` and a Chromium page at ``page_url``; both closed after."""
    async with Room.join(room_url, name="bot", video_size=(320, 240)) as bot:
        events = Collector(bot)
        context = await chromium.new_context()
        page = await context.new_page()
        page.on("console", lambda msg: print(f"[app console] {msg.type}: {msg.text}"))
        try:
            await page.goto(page_url)
            yield bot, events, page
        finally:
            await events.close()
            await context.close()


async def test_the_hooks_snippet_app_joins_from_its_own_origin(
    site: str,
    dev_server: str,
    browser: Browser,
) -> None:
    async with bot_and_app(browser, dev_server, f"{site}/?url={dev_server}") as (bot, events, page):
        await _plays(page, "bot")  # the bot's video in the README's <Stage>
        await _browser_video_reaches(bot, events, "Ada")
        await page.get_by_role("button", name="wave").click()
        chat = await events.wait_for(
            lambda e: isinstance(e, ChatMessage) and e.name == "Ada", "the wave"
        )
        assert isinstance(chat, ChatMessage) and chat.text == "hi"
        style = await page.evaluate(
            """() => {
              const room = getComputedStyle(document.querySelector('.arb-room'));
              return {bg: room.backgroundColor, accent: room.getPropertyValue('--arb-accent'),
                      minHeight: room.minHeight};
            }"""
        )
        # the package's stylesheet applies, and the README's override wins over it
        assert style == {"bg": "rgb(255, 255, 255)", "accent": "#3b82f6", "minHeight": "360px"}


async def test_the_first_snippet_shows_the_room_with_tiles(
    site: str,
    dev_server: str,
    browser: Browser,
) -> None:
    page_url = f"{site}/?snippet=Call&url={dev_server}"
    async with bot_and_app(browser, dev_server, page_url) as (bot, events, page):
        await page.locator('.arb-conference[data-state="connected"]').wait_for(timeout=30_000)
        await assert_video_plays(page, "bot")
        await _browser_video_reaches(bot, events, "Ada")
        radius = await page.evaluate(
            "() => getComputedStyle(document.querySelector('.arb-tile')).borderRadius"
        )
        assert radius == "0px"  # the README's override of an arb- class


# ------------------------------------------------------------------------ the SDK's dev flow


@pytest.fixture
async def vite_dev() -> AsyncIterator[str]:
    """``npm run dev`` in apps/web-sdk on a free port (the README's command)."""
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        "npm",
        "run",
        "dev",
        "--",
        "--port",
        str(port),
        "--strictPort",
        "--host",
        "127.0.0.1",
        cwd=SDK,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
        # Vite colours its banner when CI is set; the readiness check below is the port anyway.
        env={**os.environ, "NO_COLOR": "1"},
    )
    output = bytearray()

    async def drain() -> None:
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(4096):
            output.extend(chunk)

    drainer = asyncio.create_task(drain())
    try:

        async def ready() -> None:
            # Ready when the port answers; a server that exits says why at once.
            while True:
                if proc.returncode is not None:
                    said = output.decode(errors="replace")
                    raise AssertionError(f"npm run dev exited with {proc.returncode}: {said}")
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.2)
                    continue
                writer.close()
                return

        await within(ready(), "the Vite dev server", timeout=60.0)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        drainer.cancel()


async def test_npm_run_dev_page_joins_a_room_on_dev(
    vite_dev: str,
    dev_server: str,
    browser: Browser,
) -> None:
    async with Room.join(dev_server, name="bot", video_size=(320, 240)) as bot:
        events = Collector(bot)
        page = await join_in_browser(browser, f"{vite_dev}/?url={dev_server}", "vite")
        try:
            await assert_video_plays(page, "bot")
            await _browser_video_reaches(bot, events, "vite")
        finally:
            await events.close()
            await close_pages(page)
