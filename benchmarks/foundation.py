"""Foundation figures: join-to-first-frame on the local stack, and SFU CPU with 3 participants.

    .venv/bin/python benchmarks/foundation.py [--runs 10] [--cpu-seconds 20]

Join time is measured from the ``Room.join`` call to the first decoded remote video frame,
for a client joining a room where two others already publish (640x480 test patterns at
15 fps). SFU CPU is the room's SFU process (utime + stime from /proc) over a window with
three participants publishing and receiving.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import av

from arbiter_client import Room, TrackSubscribed
from arbiter_server.local import LocalStack, LocalStackConfig

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def first_frame_after_join(url: str, name: str) -> tuple[Room, float]:
    start = time.perf_counter()
    room = await Room.join(url, name=name)
    async for event in room.events():
        if isinstance(event, TrackSubscribed) and event.kind == "video":
            frame = await event.track.recv()
            assert isinstance(frame, av.VideoFrame)
            return room, time.perf_counter() - start
    raise RuntimeError("no video")


async def main(runs: int, cpu_window: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stack = LocalStack(LocalStackConfig(data_dir=Path(tmp), port=0, pool_size=0))
        await stack.start()
        try:
            joins: list[float] = []
            for i in range(runs):
                url = await stack.create_room(f"bench{i}")
                first = [await Room.join(url, name=f"r{i}a"), await Room.join(url, name=f"r{i}b")]
                room, seconds = await first_frame_after_join(url, f"r{i}c")
                joins.append(seconds)
                for r in [*first, room]:
                    await r.leave()
            url = await stack.create_room("cpu")
            rooms = [await Room.join(url, name=f"p{i}") for i in range(3)]
            readers = []
            for r in rooms:

                async def drain(r: Room = r) -> None:
                    async for event in r.events():
                        if isinstance(event, TrackSubscribed):

                            async def read(t=event.track) -> None:  # type: ignore[no-untyped-def]
                                while True:
                                    await t.recv()

                            readers.append(asyncio.create_task(read()))

                readers.append(asyncio.create_task(drain()))
            await asyncio.sleep(3)  # let every consumer connect
            launcher = stack.launcher
            assert launcher is not None and hasattr(launcher, "pids")
            room_pids = launcher.pids()
            sfu_pid = room_pids[-1]
            c0, t0 = cpu_seconds(sfu_pid), time.perf_counter()
            await asyncio.sleep(cpu_window)
            c1, t1 = cpu_seconds(sfu_pid), time.perf_counter()
            for task in readers:
                task.cancel()
            for r in rooms:
                await r.leave()
        finally:
            await stack.stop()
    joins.sort()
    print("| figure | value |\n|---|---|")
    median_ms = statistics.median(joins) * 1000
    print(f"| join to first remote video frame, median of {runs} | {median_ms:.0f} ms |")
    print(f"| same, min / max | {joins[0] * 1000:.0f} / {joins[-1] * 1000:.0f} ms |")
    print(
        f"| SFU CPU, 3 participants (6 video + 6 audio forwarded streams) | "
        f"{100 * (c1 - c0) / (t1 - t0):.1f} % of one core |"
    )
    print(f"| load average during the run | {os.getloadavg()[0]:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--cpu-seconds", type=float, default=20.0)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.cpu_seconds))
