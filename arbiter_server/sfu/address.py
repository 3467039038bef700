"""The SFU's public address and media ports: found at start, announced in every gathering.

A Fargate task has a private address on its network interface; AWS maps the task's
public IPv4 address onto it one to one (the ports stay the same). Nothing in the task
sees that public address, so without help the SFU offers only its private host
candidates and clients outside the VPC reach it only through TURN. At start the SFU
asks ECS's task metadata endpoint (``ECS_CONTAINER_METADATA_URI_V4``, set in every task)
for its private address, then EC2 (``DescribeNetworkInterfaces``, allowed by the SFU's
task role) for the public address associated with it, and :func:`announce` adds a
server-reflexive candidate ``public:port`` (related address ``private:port``) beside each
host candidate it gathers, as Janus's ``nat_1_1_mapping`` and mediasoup's
``announcedAddress`` do. ``ARBITER_SFU_PUBLIC_IP`` gives the address directly instead.

The security group opens one UDP port range to the SFU (``ARBITER_SFU_PORTS``); the SFU's
sockets take ephemeral ports, which the task definition confines to that range
(``net.ipv4.ip_local_port_range``). :func:`check_port_range` refuses to start when the
kernel's range is not inside it, since media on the other ports would never arrive.

On ECS both are required: an SFU that cannot find its public address exits (status 2)
and the room's start is retried with a new task.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aioice import Candidate
from aioice.candidate import candidate_foundation, candidate_priority
from aioice.ice import Connection

__all__ = [
    "METADATA_ENV",
    "PORTS_ENV",
    "PORT_RANGE_FILE",
    "PUBLIC_IP_ENV",
    "AddressError",
    "PublicAddress",
    "announce",
    "announced",
    "check_port_range",
    "find_public_address",
    "parse_port_range",
]

logger = logging.getLogger(__name__)

METADATA_ENV = "ECS_CONTAINER_METADATA_URI_V4"
"Set by ECS in every container: the task metadata endpoint (version 4)."

PUBLIC_IP_ENV = "ARBITER_SFU_PUBLIC_IP"
"The public address to announce, when it is known without asking AWS."

PORTS_ENV = "ARBITER_SFU_PORTS"
"``LOW-HIGH``: the UDP ports the security group opens to the SFU."

PORT_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
"Where Linux keeps the ephemeral port range the SFU's sockets are bound in."


class AddressError(RuntimeError):
    """The SFU cannot find its public address, or its ports are not the open ones."""


@dataclass(frozen=True)
class PublicAddress:
    """The address clients reach the SFU at, and the private one it maps to."""

    public_ip: str
    private_ip: str | None = None
    "Announce only beside host candidates of this address (None: every IPv4 one)."


def _get_json(url: str, timeout: float) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - ECS's endpoint
        return json.loads(resp.read())


def task_private_ip(metadata_uri: str, timeout: float = 5.0) -> str:
    """The task's private IPv4 address, from the container metadata (``Networks``)."""
    try:
        container = _get_json(metadata_uri, timeout)
    except (OSError, ValueError) as exc:
        raise AddressError(f"task metadata {metadata_uri} unreadable: {exc}") from None
    for network in container.get("Networks") or []:
        for address in network.get("IPv4Addresses") or []:
            return str(address)
    raise AddressError(f"task metadata {metadata_uri} names no IPv4 address")


def _ec2_client() -> Any:
    import boto3  # the SFU image has it; only an SFU on ECS needs it

    return boto3.client("ec2")


def public_ip_of(private_ip: str, ec2: Any) -> str:
    """The public IPv4 address associated with the interface that has ``private_ip``."""
    try:
        resp = ec2.describe_network_interfaces(
            Filters=[{"Name": "addresses.private-ip-address", "Values": [private_ip]}]
        )
    except Exception as exc:  # botocore's errors: no credentials, access denied, network
        raise AddressError(f"cannot look up the network interface of {private_ip}: {exc}") from None
    for interface in resp.get("NetworkInterfaces") or []:
        for address in interface.get("PrivateIpAddresses") or []:
            if address.get("PrivateIpAddress") == private_ip and address.get("Association"):
                return str(address["Association"]["PublicIp"])
        association = interface.get("Association") or {}
        if association.get("PublicIp"):
            return str(association["PublicIp"])
    raise AddressError(
        f"the network interface of {private_ip} has no public IPv4 address "
        "(run the task in a public subnet with assignPublicIp ENABLED)"
    )


def find_public_address(
    env: Mapping[str, str], ec2_factory: Callable[[], Any] = _ec2_client
) -> PublicAddress | None:
    """The address to announce: given, found on ECS, or None (not on ECS: nothing to add)."""
    given = env.get(PUBLIC_IP_ENV, "").strip()
    if given:
        try:
            ipaddress.IPv4Address(given)
        except ValueError:
            raise AddressError(f"{PUBLIC_IP_ENV}={given!r} is not an IPv4 address") from None
        return PublicAddress(given)
    metadata = env.get(METADATA_ENV, "").strip()
    if not metadata:
        return None
    private = task_private_ip(metadata)
    return PublicAddress(public_ip_of(private, ec2_factory()), private)


def parse_port_range(text: str) -> tuple[int, int]:
    """``"40000-49999"`` (or ``"40000 49999"``) as ``(40000, 49999)``."""
    parts = text.replace("-", " ").split()
    try:
        low, high = (int(p) for p in parts)
    except ValueError:
        raise AddressError(f"{text!r} is not a port range LOW-HIGH") from None
    if not 1024 <= low <= high <= 65535:
        raise AddressError(f"{text!r} is not a port range within 1024-65535")
    return low, high


def check_port_range(text: str | None, kernel_file: Path = PORT_RANGE_FILE) -> None:
    """Refuse to run when the kernel's ephemeral ports are not inside the open range."""
    if not text:
        return
    low, high = parse_port_range(text)
    kernel = parse_port_range(kernel_file.read_text())
    if not (low <= kernel[0] and kernel[1] <= high):
        raise AddressError(
            f"the SFU's sockets take ports {kernel[0]}-{kernel[1]} "
            f"(net.ipv4.ip_local_port_range), but only {low}-{high} are open to it "
            f"({PORTS_ENV}); set net.ipv4.ip_local_port_range to '{low} {high}'"
        )


_announced: PublicAddress | None = None
_original_gather: Callable[[Connection], Any] | None = None


def announced() -> PublicAddress | None:
    """The address :func:`announce` installed in this process, if any."""
    return _announced


def announce(address: PublicAddress | None) -> None:
    """Add ``address`` beside every IPv4 host candidate gathered from now on (None: stop).

    Wraps aioice's ``Connection.gather_candidates`` (aioice 0.13: candidates are kept
    in ``Connection._local_candidates``); the SFU process serves one room, so the
    address holds for every connection it makes.
    """
    global _announced, _original_gather
    _announced = address
    if address is None:
        if _original_gather is not None:
            Connection.gather_candidates = _original_gather  # type: ignore[method-assign,assignment]
            _original_gather = None
        return
    if _original_gather is not None:
        return
    original = Connection.gather_candidates
    _original_gather = original

    async def gather_candidates(self: Connection) -> None:
        await original(self)
        current = _announced
        if current is not None:
            _add_mapped(self, current)

    Connection.gather_candidates = gather_candidates  # type: ignore[method-assign]


def _add_mapped(connection: Connection, address: PublicAddress) -> None:
    candidates: list[Candidate] = connection._local_candidates
    have = {(c.host, c.port, c.component) for c in candidates}
    for host in [c for c in candidates if c.type == "host"]:
        if ipaddress.ip_address(host.host).version != 4:
            continue
        if address.private_ip is not None and host.host != address.private_ip:
            continue
        if (address.public_ip, host.port, host.component) in have:
            continue  # STUN already found it
        candidates.append(
            Candidate(
                foundation=candidate_foundation("srflx", "udp", host.host),
                component=host.component,
                transport="udp",
                priority=candidate_priority(host.component, "srflx"),
                host=address.public_ip,
                port=host.port,
                type="srflx",
                related_address=host.host,
                related_port=host.port,
            )
        )
