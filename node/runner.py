"""Runs one node: the aiohttp REST server and the grpc.aio server in one process and one event loop.

SIGINT/SIGTERM stop it gracefully: health turns NOT_SERVING, in-flight requests and RPCs finish
(up to ``shutdown_grace_s``), then the store closes.
"""

from __future__ import annotations

import asyncio
import signal

import structlog
from aiohttp import web

from node.bootstrap import build_services, close_services
from node.grpc.server import build_server, mark_serving
from node.http.app import create_app
from node.settings import Settings

log = structlog.get_logger("tongban.node")


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set or the process receives SIGINT/SIGTERM."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    services = await asyncio.to_thread(build_services, settings)
    try:
        runner = web.AppRunner(create_app(services), access_log=None)
        await runner.setup()
        site = web.TCPSite(
            runner, settings.http_host, settings.http_port, shutdown_timeout=settings.shutdown_grace_s
        )
        await site.start()
        grpc_server, health = build_server(services)
        grpc_port = grpc_server.add_insecure_port(f"{settings.grpc_host}:{settings.grpc_port}")
        await grpc_server.start()
        await mark_serving(health, True)
        http_port = runner.addresses[0][1]
        log.info(
            "node.started",
            province=settings.province,
            http_port=http_port,
            grpc_port=grpc_port,
            store=settings.store,
            settings=settings.describe(),
        )
        await stop.wait()
        log.info("node.stopping", grace_s=settings.shutdown_grace_s)
        await mark_serving(health, False)
        await asyncio.gather(grpc_server.stop(settings.shutdown_grace_s), runner.cleanup())
    finally:
        await asyncio.to_thread(close_services, services)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    log.info("node.stopped", province=settings.province)
