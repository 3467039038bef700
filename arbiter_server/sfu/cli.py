"""Command line of the SFU: run one room's SFU.

Usage::

    ARBITER_SFU_TOKEN=... ARBITER_ICE_SERVERS='[{"urls": ["stun:host:3478"]}]' \\
        python -m arbiter_server.sfu --room ROOM --signaling ws://HOST:PORT/ws [--log-level info]

``ARBITER_SFU_TOKEN`` is the bootstrap code the launcher made for this SFU: it admits it
once, within minutes; the refresh credential it gets in exchange stays in this process.

Exits 0 on SIGTERM/SIGINT (after closing every peer connection), 1 when signaling cannot
be reached or is lost for good, 2 on bad arguments or environment (including a public
address that cannot be found on ECS, or media ports outside the open range: see
:mod:`.address`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from collections.abc import Sequence
from pathlib import Path

from arbiter_rtc import parse_ice_servers

from .address import PORTS_ENV, AddressError, announce, check_port_range, find_public_address
from .heap import HeapKeeper
from .service import SfuConfig, SfuService
from .signaling import SignalingError

__all__ = ["main", "serve"]

logger = logging.getLogger("arbiter_server.sfu")

TOKEN_ENV = "ARBITER_SFU_TOKEN"
ICE_SERVERS_ENV = "ARBITER_ICE_SERVERS"
STATE_FILE_ENV = "ARBITER_SFU_STATE_FILE"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m arbiter_server.sfu",
        description="Arbiter SFU for one room.",
        epilog=f"Environment: {TOKEN_ENV} (required), {ICE_SERVERS_ENV} (JSON, default []), "
        "ARBITER_SFU_PUBLIC_IP or ECS task metadata (the address to announce), "
        f"{PORTS_ENV} (LOW-HIGH, the UDP ports open to the SFU).",
    )
    parser.add_argument("--room", required=True, help="room id to serve")
    parser.add_argument("--signaling", required=True, help="signaling URL, ws://HOST:PORT/ws")
    parser.add_argument(
        "--connect-attempts",
        type=int,
        default=5,
        help="signaling connection attempts before giving up (default: 5)",
    )
    parser.add_argument(
        "--retry-delay",
        type=float,
        default=1.0,
        help="seconds before the first retry, doubling up to 10 (default: 1)",
    )
    parser.add_argument(
        "--data-rate-limit",
        type=int,
        default=200,
        help="data-channel messages one participant may send per window (default: 200)",
    )
    parser.add_argument(
        "--data-rate-window",
        type=float,
        default=10.0,
        help="seconds of that window (default: 10)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="logging level (default: info)",
    )
    return parser


async def serve(config: SfuConfig) -> int:
    """Run an SFU until SIGTERM/SIGINT (returns 0) or signaling is gone (returns 1)."""
    service = SfuService(config)
    keeper = HeapKeeper(lambda: service.room.stats().peer_connections)
    keeper_task = asyncio.create_task(keeper.run(), name="sfu-heap")
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    run_task = asyncio.create_task(service.run(), name="sfu-run")
    stop_task = asyncio.create_task(stop.wait(), name="sfu-stop")
    code = 0
    try:
        await asyncio.wait({run_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        if run_task.done():
            exc = run_task.exception()
            if isinstance(exc, SignalingError):
                logger.error("%s", exc)
            elif exc is not None:
                logger.error("SFU failed", exc_info=exc)
            code = 1
        else:
            logger.info("stopping")
    finally:
        for task in (run_task, stop_task, keeper_task):
            task.cancel()
        await asyncio.wait({run_task, stop_task, keeper_task})
        await service.close()
        for sig in signals:
            loop.remove_signal_handler(sig)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.log_level != "debug":
        # aioice logs every ICE candidate pair check at INFO.
        logging.getLogger("aioice").setLevel(logging.WARNING)
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        logger.error("%s is not set", TOKEN_ENV)
        return 2
    try:
        ice_servers = parse_ice_servers(os.environ.get(ICE_SERVERS_ENV))
    except ValueError as exc:
        logger.error("%s: %s", ICE_SERVERS_ENV, exc)
        return 2
    try:
        check_port_range(os.environ.get(PORTS_ENV))
        address = find_public_address(os.environ)
    except AddressError as exc:
        logger.error("%s", exc)
        return 2
    if address is not None:
        announce(address)
        logger.info(
            "announcing public address %s (for %s)",
            address.public_ip,
            address.private_ip or "every IPv4 host address",
        )
    config = SfuConfig(
        room_id=args.room,
        signaling_url=args.signaling,
        token=token,
        ice_servers=ice_servers,
        connect_attempts=max(1, args.connect_attempts),
        retry_delay=max(0.0, args.retry_delay),
        state_file=Path(state) if (state := os.environ.get(STATE_FILE_ENV)) else None,
        data_rate=(max(1, args.data_rate_limit), max(0.001, args.data_rate_window)),
    )
    logger.info("SFU for room %s, signaling %s", config.room_id, config.signaling_url)
    return asyncio.run(serve(config))
