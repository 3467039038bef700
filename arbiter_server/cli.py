"""``arbiter-server``: run the local stack (``dev``) or deploy to AWS (``deploy`` ...).

Each command imports what it needs when it runs, so an install with only the extra a
command needs runs it: ``arbiter-video[server]`` for ``dev`` (aiohttp),
``arbiter-video[aws]`` for ``deploy``, ``status`` and ``destroy`` (boto3, rich).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from arbiter_protocol import mint_grant

from .infra import cli as infra_cli
from .lambdas.page import find_web_dir
from .launcher import SubprocessLauncher
from .supervisor import spawn, stop_processes

if TYPE_CHECKING:
    from .local import LocalStack

__all__ = ["main"]

logger = logging.getLogger("arbiter.cli")

EXTRA_FOR = {"dev": "server", "smoke": "aws", **{command: "aws" for command in infra_cli.COMMANDS}}
"""The extra (``pip install 'arbiter-video[EXTRA]'``) each command needs (``smoke`` needs
boto3 only to find a deployment by ``--region``)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arbiter-server",
        description="Arbiter: self-hosted video rooms. Run it locally with 'dev'.",
    )
    parser.add_argument(
        "--version", action="version", version=f"arbiter-server {version('arbiter-video')}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    dev = sub.add_parser(
        "dev",
        help="run the whole stack on this machine with a demo room",
        description="Run the gateway, the SQLite store and one SFU process per room on "
        "this machine, create a demo room with a bot in it, and print its URL. "
        "Ctrl-C stops everything.",
    )
    dev.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)"
    )
    dev.add_argument(
        "--public-host",
        default=None,
        metavar="NAME",
        help="host name or address other machines reach this one by, used in the room, "
        "signaling and TURN URLs (default: --host, or this machine's first address "
        "when --host is 0.0.0.0)",
    )
    dev.add_argument("--port", type=int, default=8080, help="port (0 picks a free one)")
    dev.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".arbiter"),
        help="where the SQLite store and logs go (default .arbiter)",
    )
    dev.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    dev.add_argument("--room", default="demo", help="id of the demo room (default demo)")
    dev.add_argument("--no-bot", action="store_true", help="do not start the demo bot")
    dev.add_argument(
        "--pool-size", type=int, default=1, help="ready rooms kept with an SFU started (default 1)"
    )
    dev.add_argument("--no-turn", action="store_true", help="do not start coturn")
    dev.add_argument(
        "--max-participants",
        type=_positive,
        default=16,
        metavar="N",
        help="seats per room; the N+1st participant gets room_full (default 16)",
    )
    dev.add_argument(
        "--max-sfus-per-address",
        type=_positive,
        default=5,
        metavar="N",
        help="rooms (each one SFU process) one client address may have running; the next "
        "creation gets 429 rate_limited (default 5)",
    )
    dev.add_argument(
        "--join-rate-limit",
        type=_positive,
        default=30,
        metavar="N",
        help="POST /rooms/{id}/join requests one client address may make per minute; the "
        "next gets 429 rate_limited (default 30)",
    )
    dev.add_argument(
        "--session-lifetime",
        type=_positive,
        default=12 * 3600,
        metavar="SECONDS",
        help="how long a participant's session lasts before session_expired (default 43200)",
    )
    dev.add_argument(
        "--token-ttl",
        type=_positive,
        default=600,
        metavar="SECONDS",
        help="how long a join token may wait for its single identify (default 600)",
    )
    dev.add_argument(
        "--refresh-ttl",
        type=_positive,
        default=3600,
        metavar="SECONDS",
        help="how long a refresh credential works; clients refresh at half (default 3600)",
    )
    dev.add_argument(
        "--private-rooms",
        action="store_true",
        help="rooms (the demo room too) need a join grant minted with the API key "
        "(<data-dir>/api-key); open the printed moderator link to join the demo room",
    )
    dev.add_argument(
        "--webhook-url",
        default=None,
        metavar="URL",
        help="post signed room events to this URL (PUT /v1/webhook changes it)",
    )
    dev.add_argument(
        "--idle-timeout",
        type=_positive,
        default=600,
        metavar="SECONDS",
        help="close a WebSocket after this long without a message from its client, as API "
        "Gateway does (default 600)",
    )
    dev.add_argument(
        "--max-connection-age",
        type=_positive,
        default=7200,
        metavar="SECONDS",
        help="close every WebSocket this long after it opened, as API Gateway does "
        "(default 7200); clients and SFUs resume on a new one",
    )
    dev.add_argument(
        "--debug-stats",
        action="store_true",
        help="serve the gateway's WebSocket counters (closes by reason, resumes per "
        "participant and SFU) as JSON at GET /_dev/gateway",
    )
    dev.add_argument("--json", action="store_true", help="print the startup facts as one JSON line")
    smoke = sub.add_parser(
        "smoke",
        help="check that a deployment (or dev) carries video, through the SFU and TURN",
        description="Get a room (creating it with the API key if needed), join two bots, "
        "one relay-only, and check that video decodes both ways through the SFU and TURN. "
        "Prints each step with its time; exit code 0 only if every step passed.",
    )
    smoke.add_argument(
        "url",
        nargs="?",
        help="the Room API URL or a room URL (default: the deployment named by --region "
        "and --prefix)",
    )
    smoke.add_argument(
        "--api-key", default=None, help="x-api-key for creating rooms (default: ARBITER_API_KEY)"
    )
    smoke.add_argument("--timeout", type=float, default=30.0, help="seconds per step (30)")
    smoke.add_argument("--region", default=None, help="find the deployment in this AWS region")
    smoke.add_argument("--prefix", default="arbiter", help="the deployment's prefix (arbiter)")
    infra_cli.add_subcommands(sub)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "dev":
            logging.basicConfig(
                level=args.log_level.upper(),
                stream=sys.stderr,
                format="%(asctime)s %(name)s %(levelname)s %(message)s",
            )
            try:
                return asyncio.run(_dev(args))
            except OSError as exc:
                print(f"arbiter-server dev: {exc}", file=sys.stderr)
                return 1
        if args.command == "smoke":
            from . import smoke

            return smoke.main(args)
        if args.command in infra_cli.COMMANDS:
            return infra_cli.run(args)
    except ModuleNotFoundError as exc:
        extra = EXTRA_FOR[args.command]
        print(
            f"arbiter-server {args.command} needs the '{extra}' extra ({exc.name} is not "
            f"installed): pip install 'arbiter-video[{extra}]'",
            file=sys.stderr,
        )
        return 1
    parser.error(f"unknown command {args.command}")
    return 2


STOP_TIMEOUT = 4.0
"Seconds ``dev`` takes at most to stop after Ctrl-C or SIGTERM before it kills what is left."


async def _dev(args: argparse.Namespace) -> int:
    from .local import LocalStack, LocalStackConfig

    config = LocalStackConfig(
        data_dir=args.data_dir,
        host=args.host,
        public_host=args.public_host,
        port=args.port,
        pool_size=args.pool_size,
        log_level=args.log_level,
        web_dir=find_web_dir(),
        turn=not args.no_turn,
        max_participants=args.max_participants,
        max_sfus_per_address=args.max_sfus_per_address,
        join_rate_limit=args.join_rate_limit,
        session_lifetime=args.session_lifetime,
        token_ttl=min(args.token_ttl, args.refresh_ttl),
        refresh_ttl=args.refresh_ttl,
        idle_timeout=args.idle_timeout,
        max_connection_age=args.max_connection_age,
        debug_stats=args.debug_stats,
        keep_rooms=(args.room,),
        stop_timeout=2.0,
        private_rooms=args.private_rooms,
        webhook_url=args.webhook_url,
    )
    stack = LocalStack(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    bot: subprocess.Popen[bytes] | None = None

    def on_signal() -> None:
        if stop.is_set():  # a second Ctrl-C: do not wait any longer
            _kill_and_exit(_child_pids(stack, bot), "stopped at once (second signal)")
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        await stack.start()
        url = await stack.create_room(args.room)
        if not args.no_bot:
            bot = _start_bot(args, url, stack.api_key)
        _announce(args, stack, url, bot)
        await stop.wait()
        print("\nStopping...", flush=True)
    finally:
        pids = _child_pids(stack, bot)
        try:
            await asyncio.wait_for(_stop(stack, bot), STOP_TIMEOUT)
        except TimeoutError:
            _kill_and_exit(pids, f"did not stop within {STOP_TIMEOUT:g} s")
    print("Stopped.", flush=True)
    return 0


def _start_bot(args: argparse.Namespace, url: str, api_key: str) -> subprocess.Popen[bytes]:
    with open(args.data_dir / "logs" / "demo-bot.log", "ab") as log:
        return spawn(
            [
                sys.executable,
                "-m",
                "arbiter_server.demo_bot",
                url,
                "--name",
                "demo-bot",
                "--log-level",
                args.log_level,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "ARBITER_API_KEY": api_key},
        )


BOT_STOP_TIMEOUT = 1.5
"Seconds the demo bot gets to leave (through the still running stack) before it is killed."


async def _stop(stack: LocalStack, bot: subprocess.Popen[bytes] | None) -> None:
    """Stop the bot (it leaves through the running stack), then the SFUs and coturn, then
    the gateway."""
    if bot is not None:
        await asyncio.get_running_loop().run_in_executor(
            None, stop_processes, [bot], BOT_STOP_TIMEOUT
        )
    await stack.stop()


def _child_pids(stack: LocalStack, bot: subprocess.Popen[bytes] | None) -> list[int]:
    """Every child process ``dev`` started and still tracks."""
    pids = [bot.pid] if bot is not None and bot.poll() is None else []
    if stack.turn is not None and stack.turn.pid is not None:
        pids.append(stack.turn.pid)
    launcher = stack.launcher
    if isinstance(launcher, SubprocessLauncher):
        pids += launcher.pids()
    return pids


def _kill_and_exit(pids: list[int], why: str) -> None:
    """Last resort: SIGKILL our children by PID and leave now, threads and all."""
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:  # still ours, not a reused PID
                if int(f.read().rsplit(")", 1)[1].split()[1]) != os.getpid():
                    continue
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass
    print(f"arbiter-server dev: {why}; killed its child processes", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(1)


def _announce(
    args: argparse.Namespace, stack: LocalStack, url: str, bot: subprocess.Popen[bytes] | None
) -> None:
    if args.json:
        print(
            json.dumps(
                {
                    "url": url,
                    "api": stack.base_url,
                    "signaling": stack.signaling_url,
                    "turn": _turn_url(stack),
                    "turn_pid": stack.turn.pid if stack.turn is not None else None,
                    "bot_pid": bot.pid if bot else None,
                    "data_dir": str(args.data_dir),
                    "api_key_file": str(args.data_dir / "api-key"),
                    "moderator_url": _moderator_url(stack, args.room, url),
                }
            ),
            flush=True,
        )
        return
    print(f"Arbiter dev server on {stack.base_url} (data in {args.data_dir})", flush=True)
    print(
        f"Room: {url}" + (" (private: join with a grant)" if args.private_rooms else ""), flush=True
    )
    print(f"Moderator link (12 h): {_moderator_url(stack, args.room, url)}", flush=True)
    print(
        f"Server API key (x-api-key; signs grants and webhooks): {args.data_dir / 'api-key'}",
        flush=True,
    )
    if stack.turn is not None:
        print(f"TURN: {_turn_url(stack)} (coturn pid {stack.turn.pid})", flush=True)
    elif stack.turn_off_reason:
        print(f"TURN is off: {stack.turn_off_reason}", flush=True)
    print("Join from Python (prints who is there, then the first video frame's size):", flush=True)
    for line in _python_example(url).splitlines():
        print(f"  {line}", flush=True)
    print("Open the room URL in a browser for the web demo. Ctrl-C stops everything.", flush=True)


def _moderator_url(stack: LocalStack, room_id: str, url: str) -> str:
    """The demo room's URL with a moderator grant for its page (``?token=``), 12 hours."""
    grant = mint_grant(
        stack.api_key,
        room_id,
        "host",
        name="host",
        grants=["publish", "subscribe", "data", "screen", "moderator"],
        ttl=12 * 3600,
    )
    return f"{url}?token={grant}"


def _turn_url(stack: LocalStack) -> str | None:
    if stack.turn is None:
        return None
    return f"turn:{stack.turn.public_host}:{stack.turn.port}"


def _python_example(url: str) -> str:
    """A short script that joins ``url`` and shows something happened."""
    return f"""python - <<'EOF'
import asyncio
from arbiter_client import Room, TrackSubscribed

async def main():
    async with Room.join({url!r}, name="me") as room:
        async for event in room.events():
            if isinstance(event, TrackSubscribed) and event.kind == "video":
                frame = await event.track.recv()
                print(event.participant.name, frame.width, "x", frame.height)
                return

asyncio.run(main())
EOF"""
