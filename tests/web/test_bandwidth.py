"""A subscriber on a narrow link: the SFU sends it a lower simulcast layer, and the higher
one again when the link widens.

Chromium publishes its 720p camera in three layers; a Python subscriber asks for ``high``
but receives through :class:`~tests.shaper.ShapingRelay` (token bucket and bounded queue:
this kernel has no ``netem``). Its receiver's REMB and loss reports are all the SFU knows
of the link.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import aioice.ice
import av
import pytest
from playwright.async_api import Browser

from arbiter_client import RemoteTrack, Room
from arbiter_protocol import Handshake, Message, SessionDescription
from arbiter_server.local import LocalStack

from ..shaper import ShapingRelay, relay_candidates
from .test_browser import within
from .test_simulcast import OUTBOUND_VIDEO, join_publishing, video_of


async def layer_rates(page: Any) -> dict[str, float]:
    """Chromium's send rate of each layer (bit/s), over one second."""
    first = {s["rid"]: (s["bytes"], time.monotonic()) for s in await page.evaluate(OUTBOUND_VIDEO)}
    await asyncio.sleep(1.0)
    rates = {}
    for s in await page.evaluate(OUTBOUND_VIDEO):
        before, at = first[s["rid"]]
        rates[s["rid"]] = (s["bytes"] - before) * 8 / (time.monotonic() - at)
    return rates


def through_relay(room: Room, relay: ShapingRelay) -> None:
    """Make ``room``'s consumer connection go through ``relay`` (candidates rewritten)."""
    consumers = room._c.link.consumers
    handshake, send = consumers.handshake, consumers._send

    def on_offer(message: Handshake) -> None:
        if message.sdp is not None:
            sdp, sfu = relay_candidates(message.sdp.sdp, relay.client_side)
            if relay.sfu_addr is None:
                relay.sfu_addr = sfu
            message = dataclasses.replace(
                message, sdp=SessionDescription(type=message.sdp.type, sdp=sdp)
            )
        handshake(message)

    async def on_answer(message: Message) -> None:
        if isinstance(message, Handshake) and message.sdp is not None:
            sdp, _ = relay_candidates(message.sdp.sdp, relay.sfu_side)
            message = dataclasses.replace(
                message, sdp=SessionDescription(type=message.sdp.type, sdp=sdp)
            )
        await send(message)

    consumers.handshake = on_offer  # type: ignore[method-assign]
    consumers._send = on_answer


@dataclasses.dataclass
class Watch:
    """Every decoded frame of one track: (monotonic time, width)."""

    frames: list[tuple[float, int]] = dataclasses.field(default_factory=list)
    changed: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    async def run(self, track: RemoteTrack) -> None:
        async for frame in track.av_frames(latest=False):
            assert isinstance(frame, av.VideoFrame)
            self.frames.append((time.monotonic(), frame.width))
            self.changed.set()

    async def until(self, ok: Any, since: float, timeout: float, what: str) -> float:
        """When the first frame after ``since`` with ``ok(width)`` was decoded."""

        async def wait() -> float:
            while True:
                for at, width in self.frames:
                    if at >= since and ok(width):
                        return at
                self.changed.clear()
                await self.changed.wait()

        return await within(wait(), what, timeout)

    def widest_gap(self, start: float, end: float) -> float:
        times = [start, *(at for at, _ in self.frames if start <= at <= end), end]
        return max(b - a for a, b in zip(times, times[1:], strict=False))


@pytest.mark.scenarios
@pytest.mark.timeout(240)
async def test_narrow_link_gets_a_lower_layer_and_the_higher_one_back(
    web_stack: LocalStack, browser: Browser
) -> None:
    await web_stack.create_room("narrow")
    url = web_stack.room_url("narrow")
    relay: ShapingRelay | None = None
    async with Room.join(url, name="viewer", publish=None) as viewer:
        host = aioice.ice.get_host_addresses(True, False)[0]  # this machine's own address
        relay = ShapingRelay(host)
        await relay.start()
        through_relay(viewer, relay)
        page = await join_publishing(browser, url, "alice")
        watch = Watch()
        try:
            video = await video_of(viewer, "alice")
            reader = asyncio.create_task(watch.run(video))
            started = time.monotonic()
            await watch.until(lambda w: w >= 1280, started, 45, "the top layer on an open link")
            top = max(w for _, w in watch.frames)
            await asyncio.sleep(2)  # steady on the top layer

            # narrow: the top layer (and audio) do not fit, the lowest does
            rates = await layer_rates(page)
            limit = (rates["q"] + rates["f"]) / 2 + 50_000
            print(f"layers {rates}; link limited to {limit / 1000:.0f} kbit/s")
            assert rates["f"] + 40_000 > limit > rates["q"] + 40_000
            limited = time.monotonic()
            relay.limit(limit)
            down = await watch.until(lambda w: w < top, limited, 5, "a lower layer within 5 s")
            await asyncio.sleep(6)  # a few probes up while narrow
            ended = time.monotonic()
            gap = watch.widest_gap(limited, ended)
            narrow = [w for at, w in watch.frames if down <= at <= ended]
            on_top = narrow.count(top) / len(narrow)
            print(
                f"narrow link: down {down - limited:.2f} s after the limit, widest gap "
                f"between frames {gap:.2f} s, {100 * on_top:.0f} % of frames on the top layer "
                f"(probes), relay dropped {relay.dropped}"
            )
            assert gap <= 1.0, f"the video froze for {gap:.2f} s"
            assert on_top < 0.5, "the narrow link mostly got the top layer"

            # lift the limit while a lower layer is sent: the top one comes back
            low_at = await watch.until(lambda w: w < top, ended, 20, "a lower layer to lift from")
            relay.limit(None)
            up = await watch.until(lambda w: w >= top, low_at, 30, "the top layer again")
            print(f"link widened: top layer again {up - low_at:.2f} s later")
            print("Chromium layers:", await page.evaluate(OUTBOUND_VIDEO))
            reader.cancel()
        finally:
            await page.context.close()
            relay.close()
