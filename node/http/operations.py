"""Operational endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from node.http import schemas
from node.http.endpoint import Endpoint
from node.http.keys import SERVICES
from node.services import Services
from projections.follower import Lag

log = structlog.get_logger("tongban.http")


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        await asyncio.wait_for(asyncio.to_thread(services.app.store_reachable), timeout=5)
    except Exception as e:
        log.warning("readyz.store_unreachable", error_type=type(e).__name__)
        return web.json_response({"status": "unavailable", "checks": {"store": "unreachable"}}, status=503)
    checks: dict[str, object] = {
        "store": "ok",
        "store_kind": services.settings.store,
        "workers": services.lease_state["role"],
    }
    lags = await asyncio.to_thread(_projection_lags, services)
    checks["projections"] = {
        name: {"lag_events": lag.events, "lag_seconds": round(lag.seconds, 3)} for name, lag in lags.items()
    }
    if services.federation is not None:
        source = services.federation.manifest
        manifest = source.current()
        # Degrade, never stop: an old manifest is a warning for operators, not a reason to refuse traffic.
        checks["federation_manifest"] = {
            "serial": manifest.serial,
            "valid_until": manifest.valid_until.isoformat(),
            "warnings": source.warnings(datetime.now(UTC)),
        }
        # A peer that is down or behind degrades federation; this node still serves its own users.
        checks["replication"] = {
            peer: status.describe() for peer, status in sorted(services.federation.statuses.items())
        }
        # A peer's rewritten history is an alert for auditors and operators; this node still serves.
        checks["witness"] = await asyncio.to_thread(services.federation.witnessing.status)
    return web.json_response({"status": "ready", "checks": checks})


def _projection_lags(services: Services) -> dict[str, Lag]:
    return {name: follower.lag() for name, follower in services.projections.items()}


async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    services.metrics.projection_status(await asyncio.to_thread(_projection_lags, services))
    if services.federation is not None:
        services.metrics.replication_status(services.federation.statuses.values())
        services.metrics.manifest_status(services.federation.manifest)
        witnessing = services.federation.witnessing
        status, alerts = await asyncio.to_thread(lambda: (witnessing.status(), witnessing.alerts()))
        services.metrics.witness_status(status, alerts)
    body = services.metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


ENDPOINTS = [
    Endpoint(
        "GET", "/healthz", healthz, "Liveness: the process serves HTTP", schemas.HEALTH, tag="operations"
    ),
    Endpoint(
        "GET",
        "/readyz",
        readyz,
        "Readiness: the event store answers",
        schemas.HEALTH,
        errors=(503,),
        tag="operations",
    ),
    Endpoint("GET", "/metrics", metrics, "Prometheus metrics", None, tag="operations"),
]
