"""STUN/TURN: TURN REST credentials and ICE servers, and coturn as a local child process.

Credentials follow the TURN REST API (coturn's ``--use-auth-secret``): the username is
``<expiry unix time>:<participant id>`` and the password is
``base64(HMAC-SHA1(secret, username))``; coturn refuses them after the expiry. The
configuration comes from :mod:`arbiter_server.turn_config`, as in production.
:func:`turn_ice_servers` is the one place ICE server entries are built, for the local
stack (:class:`TurnServer`) and for AWS (:mod:`arbiter_server.aws`); how long they stay
valid is :attr:`arbiter_server.settings.Settings.turn_ttl`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from arbiter_protocol import IceServer

from .supervisor import spawn
from .turn_config import limits_for, render, write_config

__all__ = [
    "TURN_PORT",
    "TurnServer",
    "dev_allowed_peers",
    "free_turn_port",
    "turn_credentials",
    "turn_ice_servers",
]

logger = logging.getLogger(__name__)

TURN_PORT = 3478
"STUN/TURN port of coturn behind the AWS load balancer (the standard port)."


def turn_credentials(
    secret: str, participant_id: str, ttl: int, now: float | None = None
) -> tuple[str, str]:
    """A TURN REST username and password valid for ``ttl`` seconds."""
    expiry = int(now if now is not None else time.time()) + ttl
    username = f"{expiry}:{participant_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def turn_ice_servers(
    host: str,
    port: int,
    secret: str,
    participant_id: str,
    ttl: int,
    *,
    transports: Sequence[str] = ("udp",),
    now: float | None = None,
) -> list[IceServer]:
    """A STUN entry and a TURN entry (one URL per transport) with fresh credentials."""
    username, password = turn_credentials(secret, participant_id, ttl, now)
    return [
        IceServer(urls=[f"stun:{host}:{port}"]),
        IceServer(
            urls=[f"turn:{host}:{port}?transport={t}" for t in transports],
            username=username,
            credential=password,
        ),
    ]


def dev_allowed_peers(host: str) -> list[str]:
    """The peers ``dev``'s coturn may relay to despite the deny list.

    This host's own interface addresses (aioice never gathers 127.0.0.1, so local peers'
    candidates are these) and, only when coturn listens on loopback (so only this host
    can use it), the loopback address it listens on.
    """
    from aioice.ice import get_host_addresses

    allowed = list(get_host_addresses(use_ipv4=True, use_ipv6=True))
    try:
        listening = ipaddress.ip_address(host)
    except ValueError:
        listening = None
    if listening is not None and listening.is_loopback:
        allowed.append(listening.compressed)
    return allowed


def free_turn_port(host: str = "127.0.0.1", attempts: int = 100) -> int:
    """A port free on ``host`` for both UDP and TCP, as coturn listens on both.

    A port picked for UDP alone may be taken for TCP (any outgoing TCP connection's
    ephemeral port); coturn then does not exit but retries binding it for ever.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(attempts):
        with socket.socket(family, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port: int = udp.getsockname()[1]
            with socket.socket(family, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise OSError(f"no port free for both UDP and TCP on {host}")


class TurnServer:
    """One ``turnserver`` child process on loopback with a generated config and secret."""

    def __init__(
        self,
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        relay_ports: tuple[int, int] | None = None,
        realm: str = "arbiter.local",
        binary: str = "turnserver",
        max_participants: int = 16,
        public_host: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.host = host
        self.public_host = public_host or host
        "The host in the STUN/TURN URLs handed out (``host`` unless others reach it by name)."
        self.port = port
        if relay_ports is None:
            # a random block, so several stacks on one machine do not compete for ports
            base = 50000 + secrets.randbelow(60) * 200
            relay_ports = (base, base + 199)
        self.relay_ports = relay_ports
        self.realm = realm
        self.binary = binary
        self.max_participants = max_participants
        self.secret = secrets.token_urlsafe(24)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "logs" / "turnserver.log"

    @staticmethod
    def available(binary: str = "turnserver") -> bool:
        """Whether coturn's ``turnserver`` is installed."""
        return shutil.which(binary) is not None

    def start(self, attempts: int = 3) -> None:
        """Write the config and start coturn; raise ``OSError`` if it does not come up.

        With a picked port (``port=0``) a start that fails, e.g. because another process
        took the port in the meantime, is tried again on a new port.
        """
        pick = not self.port
        for attempt in range(attempts):
            if pick:
                self.port = 0
            try:
                self._start_once()
                return
            except OSError:
                if attempt == attempts - 1 or not pick:
                    raise
                logger.warning("turnserver did not start; trying another port")

    def _start_once(self) -> None:
        turn_dir = self.data_dir / "turn"
        turn_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_turn_port(self.host)
        config = turn_dir / "turnserver.conf"
        write_config(config, self.config_text())
        with open(self.log_path, "ab") as log:
            self.proc = spawn(
                [self.binary, "-c", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._wait_listening()
        logger.info("coturn on %s:%s (pid %s)", self.host, self.port, self.proc.pid)

    @property
    def config_path(self) -> Path:
        """Where the configuration is written (readable by its owner only)."""
        return self.data_dir / "turn" / "turnserver.conf"

    def config_text(self) -> str:
        """The configuration, from :func:`arbiter_server.turn_config.render`."""
        return render(
            secret=self.secret,
            realm=self.realm,
            port=self.port,
            relay_ports=self.relay_ports,
            state_dir=self.data_dir / "turn",
            limits=limits_for(self.max_participants),
            listening_ips=[self.host],
            relay_ips=[self.host],
            allowed_peers=dev_allowed_peers(self.host),
            verbose=True,
        )

    def _wait_listening(self, timeout: float = 10.0) -> None:
        """Wait until coturn answers a STUN binding request."""
        request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + secrets.token_bytes(12)
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise OSError(
                        f"turnserver exited with {self.proc.returncode}; see {self.log_path}"
                    )
                s.sendto(request, (self.host, self.port))
                try:
                    data, _ = s.recvfrom(2048)
                except TimeoutError:
                    continue
                if data[:2] == b"\x01\x01":
                    return
        self.stop()
        raise OSError(f"turnserver did not answer on {self.host}:{self.port}")

    @property
    def pid(self) -> int | None:
        """The coturn process id while it runs."""
        return self.proc.pid if self.proc is not None else None

    def ice_servers(self, participant_id: str, ttl: int) -> list[IceServer]:
        """STUN and TURN entries with credentials valid ``ttl`` seconds for one participant."""
        return turn_ice_servers(self.public_host, self.port, self.secret, participant_id, ttl)

    def stop(self) -> None:
        """Stop coturn by PID (idempotent)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
