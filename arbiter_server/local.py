"""The local stack: SQLite store, local poster, subprocess launcher and gateway, wired up."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arbiter_protocol import IceServer

from .datadir import read_or_create_secret
from .gateway import LocalGateway, SocketLimits
from .lambdas import Services, configure
from .lambdas.rooms import ensure_sfu, refill_pool
from .launcher import Launcher, SubprocessLauncher
from .poster import LocalPoster
from .settings import Settings
from .store import RoomRecord, SQLiteStore
from .supervisor import Watchdog, stop_processes
from .turn import TurnServer
from .webhooks import Delivery, LocalWebhooks, WebhookTarget

__all__ = ["LocalStack", "LocalStackConfig", "public_host_for"]

logger = logging.getLogger(__name__)


@dataclass
class LocalStackConfig:
    """How to run the local stack."""

    data_dir: Path
    "Where the SQLite file and SFU logs go."
    host: str = "127.0.0.1"
    "Address to listen on (``0.0.0.0``: every interface)."
    public_host: str | None = None
    """Host name or address in the URLs handed out (room, signaling, TURN), for other
    machines to reach; default ``host``, or this machine's first address when ``host`` is
    ``0.0.0.0``."""
    port: int = 8080
    "0 picks a free port."
    pool_size: int = 1
    empty_room_grace: float = 30.0
    maintenance_interval: float = 5.0
    log_level: str = "info"
    web_dir: Path | None = None
    "Built web SDK demo page served at room URLs."
    open_room_creation: bool = True
    api_key: str | None = None
    """The deployment's API key (server API, grants, webhook signatures); default: one kept
    in ``<data_dir>/api-key``, made on the first start."""
    private_rooms: bool = False
    "Rooms made without saying (the demo room, pooled ones) need a grant (``dev --private``)."
    webhook_url: str | None = None
    "Where events are posted (``dev --webhook-url``; the server API can change it)."
    ice_servers: list[IceServer] = field(default_factory=list)
    turn: bool = False
    "Start coturn and hand out TURN credentials (off if ``turnserver`` is not installed)."
    launcher_factory: Callable[[Settings], Launcher] | None = None
    "Replaces the subprocess launcher (tests that play the SFU themselves)."
    max_participants: int = 16
    "Seats per room (``dev --max-participants``)."
    max_sfus_per_address: int = 5
    "Running SFUs one client address may start (``dev --max-sfus-per-address``)."
    join_rate_limit: int = 30
    "Joins one client address may ask for per minute (``dev --join-rate-limit``)."
    session_lifetime: int = 12 * 3600
    "Seconds a participant's session lasts (``dev --session-lifetime``)."
    token_ttl: int = 600
    "Seconds a join token may wait for its identify (``dev --token-ttl``)."
    refresh_ttl: int = 3600
    "Seconds a refresh credential works (``dev --refresh-ttl``)."
    idle_timeout: int = 600
    "Seconds a WebSocket may stay quiet before the gateway closes it (``dev --idle-timeout``)."
    max_connection_age: int = 7200
    "Seconds after which the gateway closes every WebSocket (``dev --max-connection-age``)."
    debug_stats: bool = False
    "Serve the gateway's socket counters at ``GET /_dev/gateway`` (``dev --debug-stats``)."
    keep_rooms: tuple[str, ...] = ()
    "Rooms recreated after a maintenance pass finds them expired (the demo room)."
    settings: dict[str, Any] = field(default_factory=dict)
    "Any other :class:`~arbiter_server.settings.Settings` field, e.g. to compress time."
    store_factory: Callable[[Path], SQLiteStore] | None = None
    "Opens the SQLite store at the given path (tests that limit its size or lock timeout)."
    stop_timeout: float = 3.0
    "Seconds :meth:`LocalStack.stop` gives child processes before it kills them."


class LocalStack:
    """Everything ``arbiter-server dev`` runs, in this process plus SFU children."""

    def __init__(self, config: LocalStackConfig) -> None:
        self.config = config
        self.services: Services | None = None
        self.launcher: Launcher | None = None
        self.gateway: LocalGateway | None = None
        self.store: SQLiteStore | None = None
        self.turn: TurnServer | None = None
        self.turn_off_reason: str | None = None
        self.turn_watchdog: Watchdog | None = None
        self.webhooks: LocalWebhooks | None = None
        self.api_key = ""
        "The deployment's API key (known once started)."
        self.port = 0
        self.public_host = public_host_for(config.host, config.public_host)
        "The host in every URL handed out."

    @property
    def base_url(self) -> str:
        """``http://public-host:port``."""
        return f"http://{self.public_host}:{self.port}"

    @property
    def signaling_url(self) -> str:
        """The WebSocket URL clients are given."""
        return f"ws://{self.public_host}:{self.port}/ws"

    def room_url(self, room_id: str) -> str:
        """The URL clients join."""
        return f"{self.base_url}/rooms/{room_id}"

    async def start(self) -> None:
        """Bind, configure the handlers and start serving."""
        cfg = self.config
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((cfg.host, cfg.port))
        sock.listen(128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        # SFUs run on this machine: they reach signaling on the address it listens on
        local_host = "127.0.0.1" if _is_wildcard(cfg.host) else cfg.host
        self.api_key = cfg.api_key or read_or_create_secret(cfg.data_dir / "api-key")
        settings = Settings(
            public_url=self.base_url,
            signaling_url=self.signaling_url,
            # kept in the data dir, so tokens (and so resuming) survive a restart
            secret=read_or_create_secret(cfg.data_dir / "secret"),
            pool_size=cfg.pool_size,
            empty_room_grace=cfg.empty_room_grace,
            open_room_creation=cfg.open_room_creation,
            api_key=self.api_key,
            private_rooms=cfg.private_rooms,
            webhook_url=cfg.webhook_url,
            max_participants=cfg.max_participants,
            max_sfus_per_address=cfg.max_sfus_per_address,
            join_rate_limit=cfg.join_rate_limit,
            session_lifetime=cfg.session_lifetime,
            token_ttl=cfg.token_ttl,
            refresh_ttl=cfg.refresh_ttl,
            idle_timeout=cfg.idle_timeout,
            max_connection_age=cfg.max_connection_age,
            web_dir=cfg.web_dir,
        )
        settings = dataclasses.replace(settings, **cfg.settings)
        db_path = cfg.data_dir / "arbiter.sqlite3"
        self.store = cfg.store_factory(db_path) if cfg.store_factory else SQLiteStore(db_path)
        self._forget_previous_run(self.store, time.time())
        poster = LocalPoster(asyncio.get_running_loop())
        ice_servers: Callable[[str], list[IceServer]] = self._static_ice_servers
        sfu_ice: list[IceServer] = list(cfg.ice_servers)
        if cfg.turn:
            if TurnServer.available():
                turn_host = _first_address() if _is_wildcard(cfg.host) else cfg.host
                self.turn = TurnServer(
                    cfg.data_dir,
                    host=turn_host,
                    max_participants=settings.max_participants,
                    public_host=self.public_host,
                )
                await asyncio.get_running_loop().run_in_executor(None, self.turn.start)
                self.turn_watchdog = Watchdog("coturn", self._turn_running, self.turn.start)
                self.turn_watchdog.start()
                ice_servers = functools.partial(self.turn.ice_servers, ttl=settings.turn_ttl)
                # the SFU needs no relay of its own (clients relay to it): STUN only, so no
                # TURN credential sits in its environment
                sfu_ice = self.turn.ice_servers("sfu", ttl=settings.turn_ttl)[:1]
            else:
                self.turn_off_reason = "coturn (turnserver) is not installed"
                logger.warning("TURN is off: %s", self.turn_off_reason)
        if cfg.launcher_factory is not None:
            self.launcher = cfg.launcher_factory(settings)
        else:
            self.launcher = SubprocessLauncher(
                f"ws://{local_host}:{self.port}/ws",
                cfg.data_dir / "logs",
                ice_servers=[_ice_dict(s) for s in sfu_ice],
                log_level=cfg.log_level,
                data_rate=(settings.data_rate_limit, settings.data_rate_window),
                stop_timeout=cfg.stop_timeout,
            )
        target = WebhookTarget(self.store, settings.webhook_url)
        self.webhooks = LocalWebhooks(
            target,
            Delivery(
                self.api_key,
                attempts=settings.webhook_attempts,
                backoff=settings.webhook_backoff,
                backoff_max=settings.webhook_backoff_max,
                timeout=settings.webhook_timeout,
            ),
        )
        self.webhooks.start()
        self.services = Services(
            store=self.store,
            poster=poster,
            launcher=self.launcher,
            settings=settings,
            ice_servers=ice_servers,
            webhooks=self.webhooks,
            webhook_target=target,
        )
        configure(self.services)
        self.gateway = LocalGateway(
            poster,
            sock,
            maintenance_interval=cfg.maintenance_interval,
            after_maintenance=self._keep_rooms,
            limits=SocketLimits(
                idle_timeout=settings.idle_timeout,
                max_connection_age=settings.max_connection_age,
            ),
            expose_stats=cfg.debug_stats,
        )
        await self.gateway.start()
        await asyncio.get_running_loop().run_in_executor(None, refill_pool, self.services)

    def _keep_rooms(self) -> None:
        """Recreate kept rooms (the demo room) that expired; their SFU starts at a join."""
        services = self.services
        if services is None:
            return
        for room_id in self.config.keep_rooms:
            if services.store.get_room(room_id) is None:
                now = services.clock()
                if services.store.create_room(
                    RoomRecord(
                        room_id=room_id,
                        created_at=now,
                        empty_since=now,
                        private=services.settings.private_rooms,
                    )
                ):
                    logger.info("room %s expired and was made again", room_id)

    def _turn_running(self) -> bool:
        proc = self.turn.proc if self.turn is not None else None
        return proc is not None and proc.poll() is None

    def _static_ice_servers(self, participant_id: str) -> list[IceServer]:
        return list(self.config.ice_servers)

    @staticmethod
    def _forget_previous_run(store: SQLiteStore, now: float) -> None:
        """SFU processes and sockets of an earlier run are gone: reset their records.

        Rooms stay, without an SFU (pooled ones are dropped). Their participants become
        ``away`` as of ``now``: each may resume within the reconnect grace (its client gets
        ``sfu_ready`` once the room's new SFU is up), the others are then announced as left.
        """
        participants = []
        for room in store.list_rooms():
            if room.pooled:
                store.delete_room(room.room_id)
                continue
            store.update_room(
                room.room_id,
                sfu_state="none",
                sfu_id=None,
                sfu_handle=None,
                sfu_connection_id=None,
                sfu_changed_at=now,
                sfu_started_by=None,
                waiting_since=None,
            )
            for conn in store.list_connections(room.room_id):
                if conn.role in ("participant", "away"):
                    conn.role, conn.away_since = "away", now
                    participants.append(conn)
        store.clear_connections()
        for conn in participants:
            store.put_connection(conn)
        if participants:
            logger.info("%d participants of the previous run may resume", len(participants))

    async def create_room(
        self, room_id: str, *, private: bool | None = None, lobby: bool = False
    ) -> str:
        """Create a room (if missing) and start its SFU; return its URL.

        ``private`` defaults to the stack's ``private_rooms``; ``lobby``: joiners without a
        grant wait for a moderator.
        """
        services = self._require()

        def create() -> None:
            now = services.clock()
            services.store.create_room(
                RoomRecord(
                    room_id=room_id,
                    created_at=now,
                    empty_since=now,
                    private=services.settings.private_rooms if private is None else private,
                    lobby=lobby,
                )
            )
            room = services.store.get_room(room_id)
            assert room is not None
            ensure_sfu(services, room)

        await asyncio.get_running_loop().run_in_executor(None, create)
        return self.room_url(room_id)

    async def stop_children(self) -> None:
        """Stop the SFUs and coturn at once (SIGTERM, SIGKILL after ``config.stop_timeout``).

        Done before the gateway closes, so no SFU sees its signaling go and tries to
        reconnect while it is being stopped.
        """
        loop = asyncio.get_running_loop()
        if self.gateway is not None:  # maintenance would restart the SFUs stopped here
            await self.gateway.stop_maintenance()
        if self.turn_watchdog is not None:
            await self.turn_watchdog.stop()
            self.turn_watchdog = None
        stopping = []
        if self.launcher is not None:
            stopping.append(loop.run_in_executor(None, self.launcher.stop_all))
        turn, self.turn = self.turn, None
        if turn is not None and turn.proc is not None:
            stopping.append(
                loop.run_in_executor(None, stop_processes, [turn.proc], self.config.stop_timeout)
            )
        await asyncio.gather(*stopping)
        if turn is not None:
            turn.stop()  # already stopped: forgets it

    def _require(self) -> Services:
        if self.services is None:
            raise RuntimeError("the local stack is not started")
        return self.services

    async def stop(self) -> None:
        """Stop every child process (SFUs, coturn), then serving, webhooks, then the store."""
        await self.stop_children()
        if self.gateway is not None:
            await self.gateway.stop()
            self.gateway = None
        if self.webhooks is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.webhooks.stop)
            self.webhooks = None
        if self.store is not None:
            self.store.close()
            self.store = None
        configure(None)


def _is_wildcard(host: str) -> bool:
    return host in ("", "0.0.0.0")


def _first_address() -> str:
    """This machine's first non-loopback IPv4 address (loopback if it has none)."""
    from aioice.ice import get_host_addresses

    addresses = get_host_addresses(use_ipv4=True, use_ipv6=False)
    return addresses[0] if addresses else "127.0.0.1"


def public_host_for(host: str, public_host: str | None) -> str:
    """The host for URLs: ``public_host``, else ``host`` unless it means every interface."""
    if public_host:
        return public_host
    return _first_address() if _is_wildcard(host) else host


def _ice_dict(server: IceServer) -> dict[str, object]:
    out: dict[str, object] = {"urls": server.urls}
    if server.username is not None:
        out["username"] = server.username
    if server.credential is not None:
        out["credential"] = server.credential
    return out
