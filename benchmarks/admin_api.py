"""What each server API operation costs, on the real local stack (not part of the test run).

    .venv/bin/python -m benchmarks.admin_api [--repeat 30] [--participants 4] [--json FILE]

For every operation of ``arbiter_admin.Admin`` (and a join with a grant, what the app's
users pay), it runs the operation ``--repeat`` times against ``arbiter-server dev``'s stack
(gateway, SQLite file, one real SFU process per room) with ``--participants`` seated
participants in the room (raw signaling sockets, no media), and prints per operation:
HTTP requests the app makes, store calls the handler makes (each would be one DynamoDB
request on AWS), signaling messages it posts, and the latency's median and p95.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import websockets

from arbiter_admin import Admin
from arbiter_server.local import LocalStack, LocalStackConfig
from arbiter_server.store import Store

STORE_CALLS = [
    name
    for name in dir(Store)
    if not name.startswith("_") and callable(getattr(Store, name)) and name not in ("close",)
]


@dataclass
class Row:
    """One operation's figures."""

    operation: str
    requests: int
    store_calls: float
    posts: float
    median_ms: float
    p95_ms: float


class Meter:
    """Counts the stack's store calls and signaling posts while an operation runs."""

    def __init__(self, stack: LocalStack) -> None:
        self.counts: Counter[str] = Counter()
        services = stack.services
        assert services is not None
        for name in STORE_CALLS:
            original = getattr(services.store, name)
            setattr(services.store, name, self._counted("store", original))
        services.poster.post = self._counted("post", services.poster.post)  # type: ignore[method-assign]

    def _counted(self, what: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.counts[what] += 1
            return fn(*args, **kwargs)

        return counted


async def _seat(url: str, body: dict[str, Any]) -> tuple[Any, str]:
    """Join over HTTP and identify on a raw socket; (socket, participant id)."""
    async with httpx.AsyncClient() as http:
        joined = (await http.post(f"{url}/join", json=body)).json()
    ws = await websockets.connect(joined["signaling_url"], max_size=None)
    await ws.send(json.dumps({"action": "identify", "v": 1, "token": joined["token"]}))
    while json.loads(await ws.recv())["action"] != "identified":
        pass
    asyncio.get_running_loop().create_task(_drain(ws))
    return ws, joined["participant_id"]


async def _drain(ws: Any) -> None:
    try:
        async for _ in ws:
            pass
    except websockets.ConnectionClosed:
        pass


async def _measure(
    meter: Meter,
    name: str,
    repeat: int,
    requests: int,
    run: Callable[[int], Awaitable[None]],
    before: Callable[[int], Awaitable[None]] | None = None,
) -> Row:
    times: list[float] = []
    store = posts = 0
    for i in range(repeat):
        if before is not None:
            await before(i)
        meter.counts.clear()
        started = time.perf_counter()
        await run(i)
        times.append((time.perf_counter() - started) * 1000)
        store += meter.counts["store"]
        posts += meter.counts["post"]
    times.sort()
    return Row(
        name,
        requests,
        round(store / repeat, 1),
        round(posts / repeat, 1),
        round(statistics.median(times), 2),
        round(times[min(len(times) - 1, int(len(times) * 0.95))], 2),
    )


async def run(repeat: int, participants: int) -> list[Row]:
    """Every operation, measured."""
    with tempfile.TemporaryDirectory() as tmp:
        stack = LocalStack(
            LocalStackConfig(
                data_dir=Path(tmp),
                port=0,
                pool_size=0,
                max_participants=4 * repeat + participants,
                maintenance_interval=3600.0,  # no background pass in the counts
                # the benchmark is one address making many requests: lift the per-address caps
                settings={"join_rate_limit": 10_000, "api_rate_limit": 10_000},
            )
        )
        await stack.start()
        sockets: list[Any] = []
        try:
            async with Admin(stack.base_url, stack.api_key) as admin:
                return await _operations(stack, admin, repeat, participants, sockets)
        finally:
            for ws in sockets:
                await ws.close()
            await stack.stop()


async def _operations(
    stack: LocalStack, admin: Admin, repeat: int, participants: int, sockets: list[Any]
) -> list[Row]:
    meter = Meter(stack)
    room = await admin.create_room("bench", private=True, lobby=True)
    url = room.url or stack.room_url("bench")
    ids = []
    for i in range(participants):
        ws, pid = await _seat(url, {"grant": admin.mint_grant("bench", f"user-{i}")})
        sockets.append(ws)
        ids.append(pid)
    target = ids[-1]
    await asyncio.sleep(0.5)  # the seating's last broadcasts are not the first operation's
    rows: list[Row] = []

    async def mint(i: int) -> None:
        admin.mint_grant("bench", f"u{i}", name="Ada", moderator=i % 2 == 0)

    rows.append(await _measure(meter, "mint_grant (offline)", repeat, 0, mint))

    http = httpx.AsyncClient(headers={"x-api-key": stack.api_key})  # one connection, as Admin

    async def http_mint(i: int) -> None:
        await http.post(
            f"{stack.base_url}/v1/grants", json={"room_id": "bench", "identity": f"u{i}"}
        )

    async def join(i: int) -> None:
        await http.post(f"{url}/join", json={"grant": admin.mint_grant("bench", f"j{i}", ttl=60)})

    try:
        rows.append(await _measure(meter, "POST /v1/grants", repeat, 1, http_mint))
        rows.append(await _measure(meter, "join with a grant (user)", repeat, 1, join))
    finally:
        await http.aclose()
    rows.append(
        await _measure(meter, "get_room", repeat, 1, lambda i: _done(admin.get_room("bench")))
    )
    rows.append(await _measure(meter, "list_rooms", repeat, 1, lambda i: _done(admin.list_rooms())))
    rows.append(
        await _measure(
            meter, "list_participants", repeat, 1, lambda i: _done(admin.list_participants("bench"))
        )
    )
    rows.append(
        await _measure(
            meter,
            "update_participant",
            repeat,
            1,
            lambda i: _done(admin.update_participant("bench", target, metadata=f'{{"n": {i}}}')),
        )
    )
    rows.append(
        await _measure(
            meter,
            "mute_participant",
            repeat,
            1,
            lambda i: _done(admin.mute_participant("bench", target, "audio", muted=i % 2 == 0)),
        )
    )
    victims: list[str] = []

    async def seat_victim(i: int) -> None:
        ws, pid = await _seat(url, {"grant": admin.mint_grant("bench", f"v{i}")})
        sockets.append(ws)
        victims.append(pid)

    rows.append(
        await _measure(
            meter,
            "remove_participant",
            repeat,
            1,
            lambda i: admin.remove_participant("bench", victims[i]),
            before=seat_victim,
        )
    )
    waiting: list[str] = []

    async def seat_walk_in(i: int) -> None:
        ws, pid = await _seat(url, {"name": f"w{i}"})  # no grant: the lobby
        sockets.append(ws)
        waiting.append(pid)

    rows.append(
        await _measure(
            meter,
            "admit (from the lobby)",
            repeat,
            1,
            lambda i: admin.admit("bench", waiting[i]),
            before=seat_walk_in,
        )
    )
    first = len(waiting)
    rows.append(
        await _measure(
            meter,
            "deny (from the lobby)",
            repeat,
            1,
            lambda i: admin.deny("bench", waiting[first + i]),
            before=seat_walk_in,
        )
    )
    rows.append(
        await _measure(
            meter,
            "set_webhook",
            repeat,
            1,
            lambda i: _done(admin.set_webhook(f"http://127.0.0.1:9/hook{i}")),
        )
    )
    rounds = max(3, repeat // 5)  # each starts and stops an SFU process
    rows.append(
        await _measure(
            meter,
            "create_room (starts an SFU)",
            rounds,
            1,
            lambda i: _done(admin.create_room(f"r{i}", private=True)),
        )
    )
    rows.append(
        await _measure(
            meter, "close_room (stops its SFU)", rounds, 1, lambda i: admin.close_room(f"r{i}")
        )
    )
    return rows


async def _done(awaitable: Awaitable[Any]) -> None:
    await awaitable


def _table(rows: list[Row]) -> str:
    head = ["operation", "HTTP requests", "store calls", "posts", "median ms", "p95 ms"]
    lines = [
        [
            r.operation,
            str(r.requests),
            f"{r.store_calls:g}",
            f"{r.posts:g}",
            f"{r.median_ms:.2f}",
            f"{r.p95_ms:.2f}",
        ]
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *lines, strict=False)]
    out = [" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    out.append("-|-".join("-" * w for w in widths))
    out += [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    return "\n".join(out)


def main() -> None:
    """Run and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--participants", type=int, default=4)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    rows = asyncio.run(run(args.repeat, args.participants))
    print(_table(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))


if __name__ == "__main__":
    main()
