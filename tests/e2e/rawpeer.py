"""An attacker's own client: HTTP join, raw WebSocket signaling, a data-channel-only producer.

It speaks the protocol without the SDK, so it can send on its producer data channel what
the SDK never would: raw text, bytes, undecodable "text" and floods.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcsctptransport import WEBRTC_STRING

from tests.utils import WsPeer


class RawPeer:
    """A participant with a signaling socket and a producer data channel labelled ``arbiter``."""

    def __init__(self, ws: WsPeer, joined: dict[str, Any]) -> None:
        self.ws = ws
        self.joined = joined
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.channel: RTCDataChannel = self.pc.createDataChannel("arbiter")
        self.received: asyncio.Queue[str | bytes] = asyncio.Queue()
        self.channel.on("message", self.received.put_nowait)

    @classmethod
    async def join(cls, room_url: str, name: str = "mallory") -> RawPeer:
        """Join, identify and open the producer data channel (no media)."""
        async with httpx.AsyncClient() as http:
            reply = await http.post(f"{room_url}/join", json={"name": name})
        assert reply.status_code == 200, reply.text
        joined = reply.json()
        ws = await WsPeer.connect(joined["signaling_url"])
        peer = cls(ws, joined)
        await ws.send({"action": "identify", "v": 1, "token": joined["token"]})
        identified = await ws.expect("identified")
        if not identified["sfu_ready"]:
            await ws.expect("sfu_ready", timeout=20)
        await peer._publish()
        return peer

    async def _publish(self) -> None:
        opened = asyncio.Event()
        self.channel.on("open", opened.set)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = self.pc.localDescription
        await self.ws.send(
            {
                "action": "handshake",
                "v": 1,
                "connection": "producer",
                "sdp": {"type": "offer", "sdp": offer.sdp},
            }
        )
        while True:
            msg = await self.ws.recv(timeout=10)
            if msg["action"] == "handshake" and msg.get("connection") == "producer":
                break
        await self.pc.setRemoteDescription(RTCSessionDescription(**msg["sdp"]))
        await asyncio.wait_for(opened.wait(), 10)

    def send(self, raw: str | bytes) -> None:
        """Send one data channel message as it is (text or binary)."""
        self.channel.send(raw)

    async def send_undecodable_text(self, data: bytes) -> None:
        """Send ``data`` as a WebRTC *string* message although it is not UTF-8."""
        sctp = self.pc.sctp
        assert sctp is not None and self.channel.id is not None
        await sctp._send(self.channel.id, WEBRTC_STRING, data)

    async def reply(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next message the SFU sends on the channel, decoded."""
        raw = await asyncio.wait_for(self.received.get(), timeout)
        result: dict[str, Any] = json.loads(raw)
        return result

    async def close(self) -> None:
        await self.pc.close()
        await self.ws.close()
