"""The REST benchmark's baseline: an aiohttp server whose one handler answers a small JSON document, run as a
process of its own like a node, on the same event loop as a node (uvloop), so that the ratio measures the
node's own work. ``python -m benchmarks.trivial_server`` prints the port the OS picked."""

from __future__ import annotations

import asyncio

import uvloop
from aiohttp import web


async def answer(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"case_id": "0" * 32, "state": "SUBMITTED"}, status=201)


async def serve() -> None:
    app = web.Application()
    app.router.add_post("/v1/cases", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(runner.addresses[0][1], flush=True)  # the benchmark waits for this line: the server is up
    await asyncio.Event().wait()


if __name__ == "__main__":
    uvloop.run(serve())
