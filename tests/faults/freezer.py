"""A TCP proxy on loopback that can freeze the connections it carries: bytes stop flowing
both ways while both sockets stay open, as on a network that silently drops a path (a
half-open connection). Connections made after the freeze flow normally."""

from __future__ import annotations

import asyncio
import contextlib


class FreezingProxy:
    """Forwards ``127.0.0.1:port`` to ``127.0.0.1:target``; :meth:`freeze` stalls what is open."""

    def __init__(self) -> None:
        self.port = 0
        self.target = 0
        self.opened = 0
        "Connections accepted so far."
        self._server: asyncio.Server | None = None
        self._frozen: set[asyncio.Event] = set()
        self._live: set[asyncio.Event] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def listen(self) -> int:
        """Start listening on a free port (before the target is known); return the port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    def freeze(self) -> int:
        """Stop every open connection's bytes, both ways; return how many were frozen."""
        frozen = len(self._live)
        self._frozen |= self._live
        self._live = set()
        return frozen

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.opened += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self._writers |= {writer, up_writer}
        flowing = asyncio.Event()
        self._live.add(flowing)
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer, flowing)),
            asyncio.create_task(self._pump(up_reader, writer, flowing)),
        ]
        self._tasks.update(pumps)
        for pump in pumps:
            pump.add_done_callback(self._tasks.discard)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, flowing: asyncio.Event
    ) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                if flowing in self._frozen:
                    continue  # swallowed: the other end never hears of it
                writer.write(data)
                await writer.drain()
        if flowing not in self._frozen:  # a frozen path never tells of a close either
            writer.close()

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers:
            writer.close()
