"""Runs one node: the aiohttp REST server and the grpc.aio server in one process and one event loop.

SIGINT/SIGTERM stop it gracefully: health turns NOT_SERVING, in-flight requests and RPCs finish
(up to ``shutdown_grace_s``), then the store closes. A port that cannot be bound raises
:class:`PortUnavailable` after everything already started has been closed again.
"""

from __future__ import annotations

import asyncio
import signal

import structlog
from aiohttp import web

from node.bootstrap import build_services, close_services
from node.deadline_timer import DeadlineTimer, run_until_stopped
from node.grpc.server import build_server, mark_serving
from node.http.app import create_app
from node.services import Services
from node.settings import Settings

log = structlog.get_logger("tongban.node")


class PortUnavailable(RuntimeError):
    """A listener could not bind its address (in use, or not an address of this host)."""

    def __init__(self, protocol: str, host: str, port: int, reason: str) -> None:
        super().__init__(
            f"cannot listen for {protocol} on {host}:{port}: {reason}; "
            f"stop whatever uses it or choose another {protocol.lower()}_port (0 lets the OS pick)"
        )
        self.protocol = protocol
        self.host = host
        self.port = port


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set or the process receives SIGINT/SIGTERM."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        services = await asyncio.to_thread(build_services, settings)
        try:
            await _serve(settings, services, stop)
        finally:
            await asyncio.to_thread(close_services, services)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    log.info("node.stopped", province=settings.province)


async def _serve(settings: Settings, services: Services, stop: asyncio.Event) -> None:
    runner = web.AppRunner(create_app(services), access_log=None, shutdown_timeout=settings.shutdown_grace_s)
    await runner.setup()
    grpc_server, health = build_server(services)
    try:
        site = web.TCPSite(runner, settings.http_host, settings.http_port)
        try:
            await site.start()
        except OSError as e:
            raise PortUnavailable("HTTP", settings.http_host, settings.http_port, _reason(e)) from e
        try:
            grpc_port = grpc_server.add_insecure_port(f"{settings.grpc_host}:{settings.grpc_port}")
        except RuntimeError as e:  # grpc raises RuntimeError("Failed to bind to address ...")
            reason = "the address is in use or not an address of this host"
            raise PortUnavailable("gRPC", settings.grpc_host, settings.grpc_port, reason) from e
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
        timer = DeadlineTimer(services.app, services.cases)
        timer_task = asyncio.create_task(run_until_stopped(timer, settings.deadline_check_interval_s, stop))
        await stop.wait()
        log.info("node.stopping", grace_s=settings.shutdown_grace_s)
        await timer_task
        await mark_serving(health, False)
    finally:
        # Also after a failed start: the HTTP listener must not outlive a node that did not come up.
        await asyncio.gather(grpc_server.stop(settings.shutdown_grace_s), runner.cleanup())


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__
