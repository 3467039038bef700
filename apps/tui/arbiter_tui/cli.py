"""``arbiter-tui URL --name NAME [--source ...]``: parse the command line and run the app."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import version

from arbiter_client import MediaSource

from .app import ArbiterTUI
from .media import NoDevices, publish_for

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(
        prog="arbiter-tui",
        description="Join an Arbiter room in the terminal: video tiles, audio levels, chat.",
        epilog=(
            "Keys: m mute mic, v stop/start video, c chat (Esc leaves it), q leave. "
            "Put the URL first. The room's audio plays on ALSA --audio-out (default: "
            "default); without a usable device the app runs silent and says so."
        ),
    )
    p.add_argument("--version", action="version", version=f"arbiter-tui {version('arbiter-video')}")
    p.add_argument("url", help="the room URL, e.g. http://127.0.0.1:8080/rooms/demo")
    p.add_argument("--name", default="terminal", help="your display name (default: terminal)")
    p.add_argument(
        "--token",
        default=None,
        metavar="GRANT",
        help="a join grant minted by the app's backend (needed for a private room; it "
        "names you, so --name is ignored)",
    )
    p.add_argument(
        "--source",
        nargs="+",
        default=["auto"],
        metavar="KIND",
        help=(
            "what to publish: auto (camera and microphone; an error if there are none), "
            "pattern (a test pattern and a tone), file PATH, or none (watch only)"
        ),
    )
    p.add_argument(
        "--fps", type=float, default=10.0, help="most frames a second to draw per tile (10)"
    )
    p.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for the join")
    p.add_argument(
        "--audio-out",
        default="default",
        metavar="DEVICE",
        help="ALSA device to play the room's audio on (default, hw:0, pulse, ...), or none",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app; returns the exit status."""
    args = parser().parse_args(argv)
    if not 0 < args.fps <= 30:
        parser().error("--fps must be in (0, 30]")
    try:
        publish = publish_for(list(args.source))
    except (NoDevices, ValueError) as exc:
        print(f"arbiter-tui: {exc}", file=sys.stderr)
        return 2
    app = ArbiterTUI(
        args.url,
        name=args.name,
        publish=publish,
        fps=args.fps,
        join_timeout=args.timeout,
        audio_out=None if args.audio_out == "none" else args.audio_out,
        token=args.token,
    )
    try:
        return app.run() or 0
    finally:
        if isinstance(publish, MediaSource):  # the devices we opened are ours to close
            publish.close()
