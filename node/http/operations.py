"""Operational endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from aggregates.clock import china_date
from federation.quarantine import QuarantinedStream
from node.auth import Role
from node.http.auth import authenticate
from node.http.endpoint import Endpoint
from node.http.keys import SERVICES
from node.http.problems import read_json
from node.schemas import common as schemas
from node.schemas.common import Schema
from node.services import Services
from node.usecases.calendar_reload import reload_calendar
from projections.follower import Lag

log = structlog.get_logger("tongban.http")
NO_FIELDS: Schema = {"type": "object", "additionalProperties": False, "properties": {}}
CALENDAR_RELOADED: Schema = {
    "type": "object",
    "required": [
        "official_through",
        "operator_file_years",
        "provisional_through",
        "changed_years",
        "recorded",
    ],
    "properties": {
        "official_through": {"type": "integer", "description": "the last year with the official schedule"},
        "operator_file_years": {"type": "array", "items": {"type": "integer"}},
        "provisional_through": {"type": "integer"},
        "changed_years": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "years whose schedule the reload changed",
        },
        "recorded": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "what the deadline timer recorded in the pass after the reload, e.g. "
            "DeadlinesRecomputed: 3 (empty on a process that does not run the workers)",
        },
    },
}


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
        # A refused event holds back its own stream only: the node stays ready (its users and the other
        # streams are served) but says it is degraded, naming each held stream, until an operator retries it.
        checks["federation_quarantine"] = quarantine_check(
            await asyncio.to_thread(services.federation.inbox.quarantine.streams)
        )
        # A peer's rewritten history is an alert for auditors and operators; this node still serves.
        checks["witness"] = await asyncio.to_thread(services.federation.witnessing.status)
    checks["calendar"] = _calendar_check(services)
    return web.json_response({"status": "ready", "checks": checks})


def quarantine_check(streams: list[QuarantinedStream]) -> dict[str, object]:
    by_peer: dict[str, list[dict[str, object]]] = {}
    for stream in streams:
        by_peer.setdefault(stream.peer, []).append(stream.describe())
    return {"status": "degraded" if by_peer else "ok", "streams": by_peer}


def _calendar_check(services: Services) -> dict[str, object]:
    """Degrade, never stop: a provisional year is a warning for operators (load the year's notice)."""
    calendars, today = services.cases.calendars, china_date(services.cases.now())
    warning = calendars.warning(today)
    return {
        **calendars.summary(),
        "provisional_in_use": calendars.provisional_in_use(today),
        "warnings": [warning] if warning else [],
    }


async def reload_calendar_files(request: web.Request) -> web.Response:
    principal = authenticate(request)
    services = request.app[SERVICES]
    principal.require(Role.ADMIN, province=services.province)
    await read_json(request, NO_FIELDS)
    return web.json_response(
        await asyncio.to_thread(reload_calendar, services.cases, services.calendar_recheck())
    )


def _projection_lags(services: Services) -> dict[str, Lag]:
    return {name: follower.lag() for name, follower in services.projections.items()}


async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    services.metrics.projection_status(await asyncio.to_thread(_projection_lags, services))
    today = china_date(services.cases.now())
    services.metrics.calendar_provisional_years.set(len(services.cases.calendars.provisional_in_use(today)))
    if services.federation is not None:
        services.metrics.replication_status(services.federation.statuses.values())
        services.metrics.manifest_status(services.federation.manifest)
        streams = await asyncio.to_thread(services.federation.inbox.quarantine.streams)
        services.metrics.quarantine_status(services.federation.statuses, streams)
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
    Endpoint(
        "POST",
        "/v1/admin/calendar/reload",
        reload_calendar_files,
        "Read the working-day calendar files again (tongban calendar reload; SIGHUP does the same). A "
        "malformed file is refused, naming the file, line and rule, and the node keeps its calendar",
        CALENDAR_RELOADED,
        request=NO_FIELDS,
        roles="admin of this province",
        errors=(401, 403, 422),
        tag="operations",
    ),
]
