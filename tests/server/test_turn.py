"""coturn as the local stack runs it: TURN REST credentials, relaying, refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from aioice import stun
from aioice.turn import create_turn_endpoint

from arbiter_server.turn import TurnServer, turn_credentials

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def turn(tmp_path: Path) -> Iterator[TurnServer]:
    server = TurnServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        pid = server.pid
        server.stop()
        assert pid is not None
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.put_nowait((data, addr))


class _Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(b"echo:" + data, addr)


def test_credentials_follow_the_turn_rest_scheme() -> None:
    username, password = turn_credentials("s3cret", "p-1", ttl=60, now=1000)
    assert username == "1060:p-1"
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(hmac.new(b"s3cret", b"1060:p-1", hashlib.sha1).digest()).decode()
    assert password == expected


async def test_valid_credentials_allocate_a_relay_that_carries_traffic(turn: TurnServer) -> None:
    loop = asyncio.get_running_loop()
    echo_transport, _ = await loop.create_datagram_endpoint(_Echo, local_addr=("127.0.0.1", 0))
    echo_addr = echo_transport.get_extra_info("sockname")
    ice = turn.ice_servers("p-1", ttl=600)[1]
    transport, proto = await create_turn_endpoint(
        _Collector, ("127.0.0.1", turn.port), ice.username, ice.credential
    )
    try:
        relayed = transport.get_extra_info("sockname")
        assert relayed[0] == "127.0.0.1"
        assert turn.relay_ports[0] <= relayed[1] <= turn.relay_ports[1]
        transport.sendto(b"ping", echo_addr)
        data, addr = await asyncio.wait_for(proto.received.get(), 5)
        assert data == b"echo:ping" and addr[1] == echo_addr[1]
    finally:
        transport.close()
        echo_transport.close()


@pytest.mark.parametrize("how", ["expired", "forged", "wrong user"])
async def test_expired_or_forged_credentials_are_refused(turn: TurnServer, how: str) -> None:
    if how == "expired":
        username, password = turn_credentials(turn.secret, "p-1", ttl=-60)
    elif how == "forged":
        username, password = turn_credentials("not-the-secret", "p-1", ttl=600)
    else:
        username, _ = turn_credentials(turn.secret, "p-1", ttl=600)
        _, password = turn_credentials(turn.secret, "p-2", ttl=600)
    with pytest.raises(stun.TransactionFailed) as info:
        await create_turn_endpoint(_Collector, ("127.0.0.1", turn.port), username, password)
    assert info.value.response.attributes["ERROR-CODE"][0] == 401
