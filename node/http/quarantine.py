"""The federation quarantine over REST, for an admin of this province: the streams a peer's feed holds back
(an event the inbox refused and the later ones of its stream), and a retry of them after a fix.

The same as ``tongban federation quarantine`` and ``tongban federation retry``, served by the running node,
whose inbox then takes the peer's batches and the retry one at a time. Nothing here shows an event's content:
a stream is named by its id, and a refusal by the inbox's own words.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from federation.inbox import Inbox
from node.auth import Role
from node.http.auth import authenticate
from node.http.endpoint import Endpoint
from node.http.keys import SERVICES
from node.http.operations import quarantine_check
from node.http.problems import read_json
from node.schemas.common import PROVINCE, Schema
from node.store.application import NotFound

STREAM_ID: Schema = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[0-9a-z-]+$"}
HELD_STREAM: Schema = {
    "type": "object",
    "required": ["stream_id", "from_version", "events", "reason", "first_seen", "last_seen"],
    "properties": {
        "stream_id": {"type": "string", "description": "a case's, applicant's or certificate's id"},
        "from_version": {"type": "integer", "description": "the first version held back"},
        "events": {"type": "integer", "description": "events held, the refused one and those behind it"},
        "reason": {"type": "string", "description": "why the first held event was refused"},
        "first_seen": {"type": "string", "format": "date-time"},
        "last_seen": {"type": "string", "format": "date-time"},
    },
}
QUARANTINE: Schema = {
    "type": "object",
    "required": ["status", "streams"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded"]},
        "streams": {
            "type": "object",
            "description": "by peer province: the streams held back",
            "additionalProperties": {"type": "array", "items": HELD_STREAM},
        },
    },
}
RETRY: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["peer"],
    "properties": {
        "peer": {**PROVINCE, "description": "the peer province whose held streams to retry"},
        "stream_id": {**STREAM_ID, "description": "only this stream (as the quarantine lists it)"},
    },
}
RETRIED: Schema = {
    "type": "object",
    "required": ["released", "still_held", "reasons"],
    "properties": {
        "released": {"type": "integer", "description": "held events applied, or held here already"},
        "still_held": {"type": "integer", "description": "held events refused again"},
        "reasons": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "stream still held -> why",
        },
    },
}


def _inbox(request: web.Request) -> Inbox:
    authenticate(request).require(Role.ADMIN, province=request.app[SERVICES].province)
    federation = request.app[SERVICES].federation
    if federation is None:
        raise NotFound("this node is in no federation: it holds nothing from peers")
    return federation.inbox


async def held(request: web.Request) -> web.Response:
    inbox = _inbox(request)
    return web.json_response(quarantine_check(await asyncio.to_thread(inbox.quarantine.streams)))


async def retry(request: web.Request) -> web.Response:
    inbox = _inbox(request)
    body = await read_json(request, RETRY)
    peer, stream_id = body["peer"], body.get("stream_id")

    def run() -> dict[str, object]:
        if stream_id is not None and stream_id not in inbox.quarantine.stream_ids(peer):
            raise NotFound("no such stream held from that peer")
        retried = inbox.retry(peer, None if stream_id is None else [stream_id])
        return {"released": retried.released, "still_held": retried.still_held, "reasons": retried.reasons}

    return web.json_response(await asyncio.to_thread(run))


ENDPOINTS = [
    Endpoint(
        "GET",
        "/v1/admin/federation/quarantine",
        held,
        "The streams of each peer held back in the quarantine, and why (no event content)",
        QUARANTINE,
        roles="admin of this province",
        errors=(401, 403, 404),
        tag="operations",
    ),
    Endpoint(
        "POST",
        "/v1/admin/federation/quarantine/retry",
        retry,
        "Apply a peer's held streams (or one of them) again after a fix, in the peer's log order; those "
        "that apply leave the quarantine, the others stay with the new reason",
        RETRIED,
        request=RETRY,
        roles="admin of this province",
        errors=(401, 403, 404, 422),
        tag="operations",
    ),
]
