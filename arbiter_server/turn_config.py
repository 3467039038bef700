"""coturn's configuration, written in one place for the local stack and for AWS.

:func:`render` writes ``turnserver.conf``; :class:`~arbiter_server.turn.TurnServer` uses it
for ``arbiter-server dev``, and the production image's entrypoint
(``deploy/coturn-entrypoint.sh``) runs ``python3 -m arbiter_server.turn_config production``.
Standard library only: the coturn image carries this module and nothing else of Arbiter.

What every configuration says:

- relaying to every private, loopback, link-local, shared (CGNAT), multicast, reserved
  and documentation range, IPv4 and IPv6 (ULA, link-local, mapped and translated IPv4),
  is denied (``denied-peer-ip``, :data:`DENIED_PEER_RANGES`); ``dev`` allows back exactly
  the loopback address it listens on and this host's own interface addresses
  (``allowed-peer-ip``), which is where local peers' candidates are; production allows
  nothing private;
- no RFC 6062 TCP relay (``no-tcp-relay``); clients may still reach coturn over TCP;
- per-user and total allocation quotas and a per-allocation bandwidth cap
  (:func:`limits_for`, figures in ``docs/security.md``);
- the shared secret is in the file, never on a command line, and the file is written
  readable by its owner only (0600).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DENIED_PEER_RANGES",
    "TurnLimits",
    "address_range",
    "limits_for",
    "main",
    "render",
    "write_config",
]

DENIED_PEER_RANGES: tuple[str, ...] = (
    # IPv4 (RFC 6890 special-purpose registry)
    "0.0.0.0/8",  # "this network"
    "10.0.0.0/8",  # private
    "100.64.0.0/10",  # shared address space (CGNAT)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local (cloud metadata services)
    "172.16.0.0/12",  # private
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24",  # documentation (TEST-NET-1)
    "192.88.99.0/24",  # 6to4 relay anycast
    "192.168.0.0/16",  # private
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # documentation (TEST-NET-2)
    "203.0.113.0/24",  # documentation (TEST-NET-3)
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, and the broadcast address
    # IPv6
    "::/127",  # unspecified and loopback
    "::ffff:0:0/96",  # IPv4-mapped (would reach any IPv4 address)
    "64:ff9b::/96",  # IPv4/IPv6 translation (NAT64)
    "64:ff9b:1::/48",  # local-use IPv4/IPv6 translation
    "100::/64",  # discard-only
    "2001::/32",  # Teredo (tunnels to IPv4)
    "2001:db8::/32",  # documentation
    "2002::/16",  # 6to4 (tunnels to IPv4)
    "fc00::/7",  # unique local (ULA)
    "fe80::/10",  # link-local
    "fec0::/10",  # site-local (deprecated)
    "ff00::/8",  # multicast
)
"Peer address ranges coturn never relays to (unless ``allowed-peer-ip`` lists the address)."


@dataclass(frozen=True)
class TurnLimits:
    """Quotas and caps of one coturn server."""

    user_quota: int
    "Concurrent allocations per TURN username (one participant's credentials)."
    total_quota: int
    "Concurrent allocations on the whole server."
    max_bps: int
    "Bytes per second one allocation may carry in each direction."


MAX_BPS = 1_500_000
"""12 Mbit/s per allocation and direction: a relay-only publisher sends simulcast video
(about 2.2 Mbit/s for three layers), a simulcast screen share (about 3 Mbit/s) and audio
(64 kbit/s) on one allocation, plus RTP, SRTP and TURN overhead and retransmissions,
about 6 Mbit/s in all; this leaves twice that."""

TOTAL_QUOTA = 4096
"Allocations per coturn server: 64 relay-only participants in full rooms, or more in smaller."


def limits_for(max_participants: int) -> TurnLimits:
    """The quotas for rooms of up to ``max_participants``.

    A participant has one peer connection to publish and one per other participant to
    receive; a browser allocates on each TURN URL it is given (UDP and TCP), and while
    media is restarted the old connections' allocations are still there: four per
    participant in the room.
    """
    return TurnLimits(
        user_quota=4 * max(1, max_participants), total_quota=TOTAL_QUOTA, max_bps=MAX_BPS
    )


def address_range(network: str) -> str:
    """coturn's ``first-last`` form of a CIDR network (what every coturn version reads).

    A range may not start at the unspecified address (``0.0.0.0``, ``::``): coturn reads
    such a start as "from anything", so ``::-::1`` would deny every IPv4 peer. The range
    starts one address later; coturn refuses the unspecified address itself anyway.
    """
    net = ipaddress.ip_network(network, strict=True)
    first = net[0] + 1 if net[0].is_unspecified else net[0]
    return f"{first.compressed}-{net[-1].compressed}"


def render(
    *,
    secret: str,
    realm: str,
    port: int,
    relay_ports: tuple[int, int],
    state_dir: Path,
    limits: TurnLimits,
    listening_ips: Sequence[str] = (),
    relay_ips: Sequence[str] = (),
    external_ip: str | None = None,
    allowed_peers: Iterable[str] = (),
    verbose: bool = False,
) -> str:
    """The text of ``turnserver.conf``.

    ``allowed_peers`` are single addresses exempt from the deny list; listing a loopback
    address there also turns on coturn's ``allow-loopback-peers`` (coturn refuses
    loopback peers before it reads the lists). ``state_dir`` holds the pid file and the
    (unused) user database.
    """
    allowed = sorted({ipaddress.ip_address(a).compressed for a in allowed_peers})
    lines = [
        f"listening-port={port}",
        *(f"listening-ip={ip}" for ip in listening_ips),
        *(f"relay-ip={ip}" for ip in relay_ips),
        f"min-port={relay_ports[0]}",
        f"max-port={relay_ports[1]}",
    ]
    if external_ip is not None:
        lines.append(f"external-ip={external_ip}")
    lines += [
        "use-auth-secret",
        f"static-auth-secret={secret}",
        f"realm={realm}",
        "fingerprint",
        "no-cli",
        "no-tls",
        "no-dtls",
        "no-tcp-relay",
        "no-multicast-peers",
        f"user-quota={limits.user_quota}",
        f"total-quota={limits.total_quota}",
        f"max-bps={limits.max_bps}",
        *(f"denied-peer-ip={address_range(n)}" for n in DENIED_PEER_RANGES),
        *(f"allowed-peer-ip={a}" for a in allowed),
    ]
    if any(ipaddress.ip_address(a).is_loopback for a in allowed):
        lines.append("allow-loopback-peers")
    lines += [
        "log-file=stdout",
        "simple-log",
        *(["verbose"] if verbose else []),
        f"pidfile={state_dir / 'turnserver.pid'}",
        f"userdb={state_dir / 'turndb.sqlite'}",
    ]
    return "\n".join(lines) + "\n"


def write_config(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable and writable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT


def _production(args: argparse.Namespace) -> int:
    secret = os.environ.get("TURN_SECRET", "")
    if not secret:
        print("arbiter-turn: TURN_SECRET is not set", file=sys.stderr)
        return 1
    try:
        external = ipaddress.ip_address(args.external_ip)
        private = ipaddress.ip_address(args.private_ip)
    except ValueError as exc:
        print(f"arbiter-turn: not an address: {exc}", file=sys.stderr)
        return 1
    env = os.environ
    state = Path(args.dir)
    text = render(
        secret=secret,
        realm=env.get("TURN_REALM", "arbiter"),
        port=int(env.get("TURN_PORT", "3478")),
        relay_ports=(
            int(env.get("TURN_MIN_PORT", "49152")),
            int(env.get("TURN_MAX_PORT", "65535")),
        ),
        state_dir=state,
        limits=limits_for(int(env.get("TURN_MAX_PARTICIPANTS", "16"))),
        external_ip=f"{external.compressed}/{private.compressed}",
    )
    write_config(state / "turnserver.conf", text)
    print(state / "turnserver.conf")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m arbiter_server.turn_config production``: write the AWS coturn config.

    Reads ``TURN_SECRET`` (required), ``TURN_REALM``, ``TURN_PORT``, ``TURN_MIN_PORT``,
    ``TURN_MAX_PORT`` and ``TURN_MAX_PARTICIPANTS`` from the environment; exits 1 when
    the secret is missing or an address is not an address.
    """
    parser = argparse.ArgumentParser(
        prog="python -m arbiter_server.turn_config",
        description="Write coturn's configuration (the same rules as arbiter-server dev).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    prod = sub.add_parser("production", help="the configuration of an AWS coturn task")
    prod.add_argument("--external-ip", required=True, help="the task's public address")
    prod.add_argument("--private-ip", required=True, help="the task's own (private) address")
    prod.add_argument("--dir", required=True, help="where turnserver.conf and its state go")
    args = parser.parse_args(argv)
    return _production(args)


if __name__ == "__main__":
    sys.exit(main())
