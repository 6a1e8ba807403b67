"""The simulator's link proxy on real loopback sockets: it forwards both ways, a cut kills open connections
and refuses new ones until healed, and a slow link holds each chunk at least its delay."""

from __future__ import annotations

import asyncio
import time

from simulators.link_proxy import LinkProxy

BOUND_S = 5.0


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


async def round_trip(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(len(payload)), BOUND_S)
    finally:
        writer.close()


def test_forwards_cuts_heals_and_slows() -> None:
    async def scenario() -> None:
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        proxy = LinkProxy("127.0.0.1", server.sockets[0].getsockname()[1])
        await proxy.start()
        try:
            assert await round_trip(proxy.port, b"hello") == b"hello"

            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(b"x")
            assert await asyncio.wait_for(reader.readexactly(1), BOUND_S) == b"x"
            proxy.cut()
            assert await asyncio.wait_for(reader.read(), BOUND_S) == b""  # the open connection died
            writer.close()
            refused_reader, refused_writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            assert await asyncio.wait_for(refused_reader.read(), BOUND_S) == b""  # closed at once
            refused_writer.close()

            proxy.heal()
            assert await round_trip(proxy.port, b"again") == b"again"
            proxy.slow(0.2)
            started = time.monotonic()
            assert await round_trip(proxy.port, b"slow") == b"slow"
            assert time.monotonic() - started >= 0.4  # held once each way
            assert proxy.connections_made == 4
        finally:
            await proxy.stop()
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())
