"""A TCP proxy on loopback that the simulator controls, standing in for the network between two nodes.

These machines have no ``tc netem``, so faults on a link are made here: ``cut()`` drops every open connection
and refuses new ones (a partition), ``slow(delay_s)`` holds every chunk for a while in each direction (a slow
link), ``heal()`` restores it. The proxy forwards bytes and nothing else: TLS between the nodes passes through
untouched, so mutual authentication is what it is without the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib

CHUNK = 64 * 1024


class LinkProxy:
    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1") -> None:
        self._target = (target_host, target_port)
        self._host = host
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.cut_now = False
        self.delay_s = 0.0
        self.connections_made = 0

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the proxy is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._accept, self._host, port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self._drop_all()

    def cut(self) -> None:
        """A partition: open connections die, new ones are closed at once."""
        self.cut_now = True
        self._drop_all()

    def slow(self, delay_s: float) -> None:
        self.delay_s = delay_s

    def heal(self) -> None:
        self.cut_now, self.delay_s = False, 0.0

    def _drop_all(self) -> None:
        for task in list(self._connections):
            task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_now:
            writer.close()
            return
        self.connections_made += 1
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - a handler always runs in a task
        self._connections.add(task)
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
            await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            for w in (writer, upstream_writer):
                if w is not None:
                    w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not self.cut_now:
            data = await reader.read(CHUNK)
            if not data:
                break
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(OSError):
            writer.write_eof()
