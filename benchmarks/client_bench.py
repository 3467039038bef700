"""Client benchmarks on the real local stack (not part of the test run).

    .venv/bin/python benchmarks/client_bench.py join [--joins 20]
    .venv/bin/python benchmarks/client_bench.py memory [--seconds 60]   # --seconds 300: 5 min
    .venv/bin/python benchmarks/client_bench.py cpu [--seconds 30]

* ``join``: time of ``await Room.join`` (HTTP join to data channel open) for N sequential
  joins into a room that already has an SFU and one publishing peer; median and p95.
* ``memory``: RSS of this process (which runs the measured client plus 3 publishing peers,
  so the figure is an upper bound for the client) sampled every 10 s during a call; the
  measured client reads every track with ``frames()`` as a UI would.
* ``cpu``: process CPU of a receive-only client (``publish=None``) with 3 incoming
  streams, measured in a separate process so the peers' encoding does not count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

from arbiter_client import Room, TrackSubscribed
from arbiter_server.local import LocalStack, LocalStackConfig

SIZE = (640, 480)


async def _stack(tmp: str) -> LocalStack:
    stack = LocalStack(LocalStackConfig(data_dir=Path(tmp), port=0, pool_size=0))
    await stack.start()
    return stack


async def _peers(url: str, n: int) -> list[Room]:
    return [
        await Room.join(url, name=f"peer{i}", video_size=SIZE, fps=15, timeout=30) for i in range(n)
    ]


async def bench_join(joins: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        stack = await _stack(tmp)
        try:
            await stack.create_room("bench")
            url = stack.room_url("bench")
            peers = await _peers(url, 1)
            times = []
            for _ in range(joins):
                started = time.perf_counter()
                room = await Room.join(url, name="joiner", video_size=SIZE, timeout=30)
                times.append((time.perf_counter() - started) * 1000)
                await room.leave()
            for peer in peers:
                await peer.leave()
        finally:
            await stack.stop()
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {
        "joins": joins,
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(p95, 1),
        "min_ms": round(times[0], 1),
        "max_ms": round(times[-1], 1),
    }


async def _consume_everything(room: Room) -> list[asyncio.Task[None]]:
    tasks: list[asyncio.Task[None]] = []

    async def read(event: TrackSubscribed) -> None:
        async for _ in event.track.frames(latest=event.kind == "video"):
            pass

    async def watch() -> None:
        async for event in room.events():
            if isinstance(event, TrackSubscribed):
                tasks.append(asyncio.create_task(read(event)))

    tasks.append(asyncio.create_task(watch()))
    return tasks


async def bench_memory(seconds: float) -> dict[str, object]:
    process = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp:
        stack = await _stack(tmp)
        try:
            await stack.create_room("mem")
            url = stack.room_url("mem")
            peers = await _peers(url, 3)
            room = await Room.join(url, name="measured", video_size=SIZE, timeout=30)
            tasks = await _consume_everything(room)
            await asyncio.sleep(10)  # warm up: decoders, buffers
            samples = []
            started = time.monotonic()
            while True:
                samples.append(round(process.memory_info().rss / 2**20, 1))
                if time.monotonic() - started >= seconds:
                    break
                await asyncio.sleep(10)
            received = {
                p.name: p.video.frames_received
                for p in room.participants.values()
                if p.video is not None
            }
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await room.leave()
            for peer in peers:
                await peer.leave()
        finally:
            await stack.stop()
    return {
        "seconds": seconds,
        "rss_mib_every_10s": samples,
        "growth_mib": round(samples[-1] - samples[0], 1),
        "video_frames_received": received,
    }


async def bench_cpu(seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        stack = await _stack(tmp)
        try:
            await stack.create_room("cpu")
            url = stack.room_url("cpu")
            peers = await _peers(url, 3)
            # the gateway runs in this loop: the child must not be waited on blockingly
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "_receiver",
                url,
                "--seconds",
                str(seconds),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(child.communicate(), seconds + 60)
            for peer in peers:
                await peer.leave()
        finally:
            await stack.stop()
    if child.returncode != 0:
        raise RuntimeError(err.decode())
    result: dict[str, object] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def receiver(url: str, seconds: float) -> dict[str, object]:
    """The receive-only client of ``cpu``: join, read every track, measure own CPU."""
    process = psutil.Process()
    room = await Room.join(url, name="receiver", publish=None, timeout=30)
    tasks = await _consume_everything(room)
    await asyncio.sleep(5)
    before, wall = process.cpu_times(), time.monotonic()
    await asyncio.sleep(seconds)
    after, elapsed = process.cpu_times(), time.monotonic() - wall
    received = {
        p.name: p.video.frames_received for p in room.participants.values() if p.video is not None
    }
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await room.leave()
    used = (after.user - before.user) + (after.system - before.system)
    return {
        "seconds": round(elapsed, 1),
        "incoming_streams": len(received),
        "cpu_percent_of_one_core": round(100 * used / elapsed, 1),
        "video_frames_received": received,
        "stream": f"{SIZE[0]}x{SIZE[1]} VP8 15 fps + Opus each",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["join", "memory", "cpu", "_receiver"])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--joins", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    if args.what == "join":
        result: object = asyncio.run(bench_join(args.joins))
    elif args.what == "memory":
        result = asyncio.run(bench_memory(args.seconds or 60))
    elif args.what == "cpu":
        result = asyncio.run(bench_cpu(args.seconds or 30))
    else:
        result = asyncio.run(receiver(args.url, args.seconds or 30))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
