"""The naive baseline: aiortc decodes each published track and re-encodes it per subscriber.

``python -m benchmarks.naive_relay --port-file F`` serves a tiny JSON API on 127.0.0.1:

* ``POST /publish {sdp}`` -> ``{id, sdp}``: the publisher's offer, answered (aiortc decodes).
* ``POST /subscribe {}`` -> ``{id, sdp, mids: {mid: publisher_id}}``: an offer with one
  ``MediaRelay.subscribe(track, buffered=False)`` per published track; aiortc creates one
  encoder per sender.
* ``POST /answer {id, sdp}``.

This is what the Arbiter SFU must not be: it exists only to be measured against.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
from pathlib import Path

import aioice.ice
from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay


def pin_media_address(ip: str) -> None:
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [ip]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--media-ip", required=True)
    args = parser.parse_args()
    pin_media_address(args.media_ip)
    relay = MediaRelay()
    pcs: dict[int, RTCPeerConnection] = {}
    tracks: dict[int, object] = {}
    ids = itertools.count(1)

    async def publish(request: web.Request) -> web.Response:
        body = await request.json()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pid = next(ids)
        pcs[pid] = pc

        @pc.on("track")
        def on_track(track: object) -> None:
            if getattr(track, "kind", "") == "video":
                tracks[pid] = track

        await pc.setRemoteDescription(RTCSessionDescription(body["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return web.json_response({"id": pid, "sdp": pc.localDescription.sdp})

    async def subscribe(request: web.Request) -> web.Response:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        sid = next(ids)
        pcs[sid] = pc
        order = []
        for pid, track in tracks.items():
            pc.addTransceiver(relay.subscribe(track, buffered=False), direction="sendonly")
            order.append(pid)
        await pc.setLocalDescription(await pc.createOffer())
        mids = {t.mid: order[i] for i, t in enumerate(pc.getTransceivers())}
        return web.json_response({"id": sid, "sdp": pc.localDescription.sdp, "mids": mids})

    async def answer(request: web.Request) -> web.Response:
        body = await request.json()
        await pcs[body["id"]].setRemoteDescription(RTCSessionDescription(body["sdp"], "answer"))
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/publish", publish)
    app.router.add_post("/subscribe", subscribe)
    app.router.add_post("/answer", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    args.port_file.write_text(str(port))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await asyncio.gather(*(pc.close() for pc in pcs.values()), return_exceptions=True)
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
