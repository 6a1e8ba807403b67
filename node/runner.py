"""Runs one node: the aiohttp REST server and the grpc.aio server in one process and one event loop, and the
background workers that the composition root (``node/bootstrap.py``) built; it builds nothing itself.

SIGINT/SIGTERM stop it gracefully: health turns NOT_SERVING, in-flight requests and RPCs finish
(up to ``shutdown_grace_s``), then the store closes. SIGHUP reads the calendar files again
(``node/usecases/calendar_reload.py``). A port that cannot be bound raises
:class:`PortUnavailable` after everything already started has been closed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import grpc
import structlog
from aiohttp import web
from grpc_health.v1.health import aio as health_aio

from aggregates.errors import InvalidField
from federation.puller import PeerStatus
from node import crash_points
from node.bootstrap import build_services, close_services
from node.clock import node_clock
from node.grpc.server import (
    FEDERATION_SERVICE,
    build_federation_server,
    build_server,
    mark_serving,
    report_peers,
)
from node.http.app import create_app
from node.services import Services
from node.settings import Settings
from node.usecases.calendar_reload import reload_calendar

log = structlog.get_logger("tongban.node")
FOLLOW_GATHER_S = 0.05  # after a wake, how long the read models and the tree let more events come


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


async def serve(
    settings: Settings, stop: asyncio.Event | None = None, started: asyncio.Event | None = None
) -> None:
    """Serve until ``stop`` is set or the process receives SIGINT/SIGTERM."""
    stop = stop or asyncio.Event()
    crash_points.configure(settings.crash_points)
    loop = asyncio.get_running_loop()
    loop.set_default_executor(
        ThreadPoolExecutor(settings.worker_threads, thread_name_prefix="tongban-worker")
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        services = await asyncio.to_thread(build_services, settings, clock=node_clock(settings))
        reloads: set[asyncio.Task[None]] = set()  # held until done: the loop keeps only weak references
        loop.add_signal_handler(signal.SIGHUP, lambda: _reload_in_background(services, reloads))
        try:
            await _serve(settings, services, stop, started or asyncio.Event())
        finally:
            loop.remove_signal_handler(signal.SIGHUP)
            await asyncio.to_thread(close_services, services)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    log.info("node.stopped", province=settings.province)


def _reload_in_background(services: Services, tasks: set[asyncio.Task[None]]) -> None:
    async def reload() -> None:
        with contextlib.suppress(InvalidField):  # refused: logged, and the node keeps its calendar
            await asyncio.to_thread(reload_calendar, services.cases, services.calendar_recheck())

    task = asyncio.ensure_future(reload())
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _serve(settings: Settings, services: Services, stop: asyncio.Event, started: asyncio.Event) -> None:
    runner = web.AppRunner(create_app(services), access_log=None, shutdown_timeout=settings.shutdown_grace_s)
    await runner.setup()
    grpc_server, health = build_server(services)
    federation_server, federation_health = build_federation_server(services)
    try:
        site = web.TCPSite(runner, settings.http_host, settings.http_port, reuse_port=settings.share_ports)
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
        federation_port = await _start_federation(services, federation_server, settings)
        await mark_serving(health, True)
        await mark_serving(federation_health, True, (FEDERATION_SERVICE,))
        http_port = runner.addresses[0][1]
        log.info(
            "node.started",
            province=settings.province,
            http_port=http_port,
            grpc_port=grpc_port,
            federation_port=federation_port,
            store=settings.store,
            settings=settings.describe(),
        )
        watch = services.workers.store_watch
        if watch is not None:
            watch.start()
        tasks = [asyncio.create_task(_run_workers(services, settings, stop))]
        if services.federation is not None:
            statuses = services.federation.statuses.values()
            for peers_health in (health, federation_health):  # the same per-peer entries on both ports
                tasks.append(asyncio.create_task(_report_peer_health(peers_health, statuses, stop)))
            refresh = services.federation.manifest.refresh
            tasks.append(
                asyncio.create_task(run_until_stopped("manifest", refresh, settings.manifest_refresh_s, stop))
            )
        started.set()
        await stop.wait()
        log.info("node.stopping", grace_s=settings.shutdown_grace_s)
        if services.federation is not None:
            services.federation.servicer.close()
        if watch is not None:
            await asyncio.to_thread(watch.stop)
        await asyncio.gather(*tasks, return_exceptions=True)
        await mark_serving(health, False)
        await mark_serving(federation_health, False, (FEDERATION_SERVICE,))
    finally:
        # Also after a failed start: the HTTP listener must not outlive a node that did not come up.
        await asyncio.gather(
            grpc_server.stop(settings.shutdown_grace_s),
            federation_server.stop(settings.shutdown_grace_s),
            runner.cleanup(),
        )


async def _start_federation(services: Services, server: grpc.aio.Server, settings: Settings) -> int | None:
    """The mutual-TLS federation port, when federation_dir is configured; there is no plaintext one."""
    if services.federation is None:
        return None
    address = f"{settings.federation_host}:{settings.federation_port}"
    try:
        port = server.add_secure_port(address, services.federation.credentials)
    except RuntimeError as e:
        reason = "the address is in use or not an address of this host"
        raise PortUnavailable("federation", settings.federation_host, settings.federation_port, reason) from e
    await server.start()
    return port


async def _run_workers(services: Services, settings: Settings, stop: asyncio.Event) -> None:
    """The background workers. On SQLite (one process per store) they simply run. On PostgreSQL several
    processes may share the store: only the one holding the worker lease runs them, and a standby takes the
    lease, and the workers, when the holder dies."""
    lease = services.workers.lease
    if lease is None:
        await _workers(services, settings, stop)
        return
    services.lease_state["role"] = "standby"
    try:
        while not stop.is_set():
            if await asyncio.to_thread(lease.try_acquire):
                log.info("workers.lease_acquired", key=lease.key)
                services.lease_state["role"] = "leader"
                workers_stop = asyncio.Event()  # set on the node's stop, or when the lease is lost
                workers = asyncio.create_task(_workers(services, settings, workers_stop))
                while not stop.is_set() and await asyncio.to_thread(lease.held):
                    await _wait(stop, settings.lease_retry_s)
                workers_stop.set()
                await workers
                services.lease_state["role"] = "standby"
                if not stop.is_set():
                    log.warning("workers.lease_lost", key=lease.key)
            else:
                await _wait(stop, settings.lease_retry_s)
    finally:
        await asyncio.to_thread(lease.release)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()


async def _workers(services: Services, settings: Settings, stop: asyncio.Event) -> None:
    """The deadline timer, the reliance watcher, the read models and tree-head signer, the federation
    pullers and the witness, until ``stop``."""
    workers = services.workers
    passes = services.metrics.worker_passes

    def counted(name: str, tick: Callable[[], object]) -> Callable[[], None]:
        def counted_tick() -> None:
            tick()
            passes.labels(name).inc()

        return counted_tick

    tasks = [
        asyncio.create_task(
            run_until_stopped(
                "deadline_timer",
                counted("deadline_timer", workers.timer.tick),
                settings.deadline_check_interval_s,
                stop,
            )
        ),
        asyncio.create_task(
            run_until_stopped(
                "reliance_watcher",
                counted("reliance_watcher", workers.reliance.tick),
                settings.follow_interval_s,
                stop,
            )
        ),
        asyncio.create_task(
            run_until_stopped(
                "offline_uses",
                counted("offline_uses", workers.offline_uses.tick),
                settings.follow_interval_s,
                stop,
            )
        ),
        asyncio.create_task(
            run_until_stopped(
                "status_list_publisher",
                counted("status_list_publisher", workers.status_lists.tick),
                settings.status_list_interval_s,
                stop,
            )
        ),
        asyncio.create_task(_follow_projections(services, settings.follow_interval_s, stop)),
    ]
    pullers = [asyncio.create_task(p.run(), name=f"pull-{peer}") for peer, p in workers.pullers.items()]
    if services.federation is not None:
        witnessing = services.federation.witnessing
        tasks.append(
            asyncio.create_task(
                run_until_stopped("witness", witnessing.tick, settings.witness_interval_s, stop)
            )
        )
    try:
        await stop.wait()
    finally:
        for puller in pullers:
            puller.cancel()
        await asyncio.gather(*tasks, *pullers, return_exceptions=True)


async def run_until_stopped(
    name: str, tick: Callable[[], object], interval_s: float, stop: asyncio.Event
) -> None:
    """Call ``tick`` now, then every ``interval_s`` until ``stop``; a failed tick is logged and retried."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(tick)
        except Exception as e:  # the store may be briefly unreachable: keep the node up, try again later
            log.warning("follower.tick_failed", follower=name, error_type=type(e).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)


async def _follow_projections(services: Services, interval_s: float, stop: asyncio.Event) -> None:
    """Keep the read models and the transparency log in step (a new signed tree head whenever the log grew):
    woken when the log grows, at least every ``interval_s``."""
    while not stop.is_set():
        seen = services.log_signal.generation
        try:
            await asyncio.to_thread(services.read_models.tick)
        except Exception:  # one read model failing, or the store briefly away: each alone names which
            failed = await asyncio.to_thread(services.read_models.tick_each)
            for name, e in failed.items():  # the next round retries
                log.warning("projection.tick_failed", projection=name, error_type=type(e).__name__)
        try:
            head = await asyncio.to_thread(services.transparency.publish_head)
        except Exception as e:
            log.warning("transparency.head_failed", error_type=type(e).__name__)
        else:
            if head is not None:
                log.info("transparency.head_signed", tree_size=head["tree_size"], root_hash=head["root_hash"])
        woken = asyncio.ensure_future(services.log_signal.wait(seen, interval_s))
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait({woken, stopped}, return_when=asyncio.FIRST_COMPLETED)
        for task in (woken, stopped):
            task.cancel()
        # A round per write cost every read model and the tree a read of the log, a transaction and a signed
        # head per event under load: gather the writes that come together, for a delay a reader never sees.
        await _wait(stop, FOLLOW_GATHER_S)


async def _report_peer_health(
    health: health_aio.HealthServicer, statuses: Iterable[PeerStatus], stop: asyncio.Event
) -> None:
    while not stop.is_set():
        await report_peers(health, statuses)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__
