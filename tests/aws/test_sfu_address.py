"""The SFU finds its public address as it would on Fargate, and announces it.

ECS's task metadata endpoint is served on loopback with the documented v4 container
shape; EC2 is moto, with a network interface holding this machine's own address and an
Elastic IP associated (moto hands out 127.x addresses, so nothing leaves the machine).
The SFU runs as ``python -m arbiter_server.sfu`` against a signaling stand-in with real
aiortc peers.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from aioice.ice import Connection, get_host_addresses

from arbiter_protocol import Handshake
from arbiter_server.sfu.address import (
    AddressError,
    PublicAddress,
    announce,
    check_port_range,
    find_public_address,
)
from tests.aws.helpers import client
from tests.sfu.fake_signaling import FakeSignaling
from tests.sfu.test_process import output, sfu_process

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("aws_env")]

KERNEL_PORTS = " ".join(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())


def _host_ip() -> str:
    return get_host_addresses(use_ipv4=True, use_ipv6=False)[0]


class _Metadata(BaseHTTPRequestHandler):
    """ECS's container metadata endpoint (v4): ``GET ${ECS_CONTAINER_METADATA_URI_V4}``."""

    body = b"{}"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def metadata() -> Iterator[str]:
    """The endpoint, answering for a task whose interface has this machine's address."""
    _Metadata.body = json.dumps(
        {
            "DockerId": "ea32192c8553fbff06c9340478a2ff089b2bb5646fb718b4ee206641c9086d66",
            "Name": "sfu",
            "Networks": [
                {
                    "NetworkMode": "awsvpc",
                    "IPv4Addresses": [_host_ip()],
                    "AttachmentIndex": 0,
                    "MACAddress": "0a:de:f6:10:51:e5",
                    "IPv4SubnetCIDRBlock": "172.31.0.0/20",
                    "PrivateDNSName": "ip-172-31-0-5.ec2.internal",
                }
            ],
        }
    ).encode()
    server = HTTPServer(("127.0.0.1", 0), _Metadata)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v4/ea32192c8553"
    finally:
        server.shutdown()
        server.server_close()


def _interface(private_ip: str, public: bool) -> tuple[str, str | None]:
    """A network interface with ``private_ip`` (and an Elastic IP); its id and public IP."""
    ec2 = client("ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress=private_ip)
    eni_id = eni["NetworkInterface"]["NetworkInterfaceId"]
    if not public:
        return eni_id, None
    alloc = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(AllocationId=alloc["AllocationId"], NetworkInterfaceId=eni_id)
    return eni_id, str(alloc["PublicIp"])


@pytest.fixture
def interface() -> Iterator[str]:
    """An interface with this machine's address and a public IP; yields the public IP."""
    eni_id, public = _interface(_host_ip(), public=True)
    try:
        assert public is not None and public.startswith("127.")
        yield public
    finally:
        _drop(eni_id)


def _drop(eni_id: str) -> None:
    ec2 = client("ec2")
    eni = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"][0]
    association = eni.get("Association")
    if association:
        ec2.disassociate_address(AssociationId=association["AssociationId"])
        ec2.release_address(AllocationId=association["AllocationId"])
    ec2.delete_network_interface(NetworkInterfaceId=eni_id)


async def test_the_sfu_announces_the_public_address_of_its_task_and_media_flows(
    metadata: str, interface: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = _host_ip()
    monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", metadata)  # as ECS sets it
    monkeypatch.setenv("ARBITER_SFU_PORTS", KERNEL_PORTS)
    signaling = FakeSignaling()
    await signaling.start()
    try:
        async with sfu_process(signaling.url) as proc:
            await asyncio.wait_for(signaling.connected.wait(), 20)
            alice = await signaling.join("alice", size=(320, 240))
            bob = await signaling.join("bob", size=(352, 288))
            await bob.wait_media("alice", video=5, audio=0, timeout=20)
            await alice.wait_media("bob", video=5, audio=0, timeout=20)
            sdps = []
            while not signaling.from_sfu.empty():
                message = signaling.from_sfu.get_nowait()
                if isinstance(message, Handshake) and message.sdp is not None:
                    sdps.append((message.connection, message.sdp.sdp))
            await signaling.close_peers()
            proc.terminate()
            code, out = await output(proc, 30)
    finally:
        await signaling.stop()
    assert f"announcing public address {interface} (for {host})" in out, out
    # the producers' answers and the consumers' offers: each host candidate has its twin
    assert {kind for kind, _ in sdps} == {"producer", "consumer"}
    for _, sdp in sdps:
        hosts = re.findall(rf"a=candidate:\S+ 1 udp \d+ {re.escape(host)} (\d+) typ host", sdp)
        mapped = re.findall(
            rf"a=candidate:\S+ 1 udp \d+ {re.escape(interface)} (\d+) typ srflx "
            rf"raddr {re.escape(host)} rport (\d+)",
            sdp,
        )
        assert hosts and sorted(hosts) == sorted(p for p, _ in mapped)
        assert all(port == rport for port, rport in mapped)
    assert code == 0, out


async def test_an_sfu_on_ecs_without_a_public_address_refuses_to_start(
    metadata: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", metadata)
    eni_id, _ = _interface(_host_ip(), public=False)
    try:
        async with sfu_process("ws://127.0.0.1:9/ws") as proc:
            code, out = await output(proc, 30)
    finally:
        _drop(eni_id)
    assert code == 2
    assert f"the network interface of {_host_ip()} has no public IPv4 address" in out


async def test_an_sfu_whose_ports_are_not_the_open_ones_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    low, high = (int(p) for p in KERNEL_PORTS.split())
    narrow = f"{low + 1}-{high}"
    monkeypatch.setenv("ARBITER_SFU_PORTS", narrow)
    async with sfu_process("ws://127.0.0.1:9/ws") as proc:
        code, out = await output(proc, 30)
    assert code == 2
    assert f"the SFU's sockets take ports {low}-{high}" in out
    assert f"only {narrow} are open to it" in out


def test_port_ranges_and_a_given_address_are_checked(tmp_path: Path) -> None:
    kernel = tmp_path / "range"
    kernel.write_text("40000\t49999\n")
    check_port_range("40000-49999", kernel)
    check_port_range(None, kernel)  # not asked: nothing to check
    with pytest.raises(AddressError, match="set net.ipv4.ip_local_port_range to '40000 45000'"):
        check_port_range("40000-45000", kernel)
    with pytest.raises(AddressError, match="not a port range"):
        check_port_range("lots", kernel)
    assert find_public_address({}) is None  # not on ECS, nothing given: host candidates only
    assert find_public_address({"ARBITER_SFU_PUBLIC_IP": "127.0.0.9"}) == PublicAddress("127.0.0.9")
    with pytest.raises(AddressError, match="is not an IPv4 address"):
        find_public_address({"ARBITER_SFU_PUBLIC_IP": "sfu.example"})


async def test_announce_adds_a_mapped_twin_to_each_gathered_host_candidate() -> None:
    announce(PublicAddress("127.0.0.9"))
    connection = Connection(ice_controlling=True)
    try:
        await connection.gather_candidates()
        hosts = [c for c in connection.local_candidates if c.type == "host" and "." in c.host]
        twins = [c for c in connection.local_candidates if c.type == "srflx"]
        assert hosts and len(twins) == len(hosts)
        for host, twin in zip(hosts, twins, strict=True):
            assert (twin.host, twin.port) == ("127.0.0.9", host.port)
            assert (twin.related_address, twin.related_port) == (host.host, host.port)
            assert twin.priority < host.priority
    finally:
        announce(None)
        await connection.close()
    plain = Connection(ice_controlling=True)
    try:
        await plain.gather_candidates()
        assert [c for c in plain.local_candidates if c.type == "srflx"] == []
    finally:
        await plain.close()
