"""The node's transparency log over REST: its latest signed tree head, and inclusion and consistency proofs
(RFC 6962) that anyone can check with an independent verifier and the node's public key. Any authenticated
caller of any province may ask: the log holds hashes only, never an event's content."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from node.http.auth import authenticate
from node.http.endpoint import Endpoint
from node.http.keys import SERVICES
from node.schemas.common import Schema
from node.store.application import NotFound
from node.usecases.witnessing import WitnessingService

HASH: Schema = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
SIGNATURE: Schema = {"type": "string", "description": "base64 Ed25519 signature"}
COSIGNATURE: Schema = {
    "type": "object",
    "required": ["witness", "key_id", "cosigned_at", "signature"],
    "properties": {
        "witness": {"type": "string", "description": "the witnessing province"},
        "key_id": {"type": "string"},
        "cosigned_at": {"type": "string"},
        "signature": {
            **SIGNATURE,
            "description": "base64 Ed25519 signature of the witness over the canonical JSON of province, "
            "tree_size, root_hash, signed_at, witness and cosigned_at",
        },
    },
}
SIGNED_HEAD: Schema = {
    "type": "object",
    "required": ["province", "tree_size", "root_hash", "signed_at", "key_id", "signature"],
    "properties": {
        "province": {"type": "string"},
        "tree_size": {"type": "integer", "minimum": 1},
        "root_hash": HASH,
        "signed_at": {"type": "string"},
        "key_id": {"type": "string"},
        "signature": {
            "type": "string",
            "description": "base64 Ed25519 signature over the canonical JSON of province, tree_size, "
            "root_hash and signed_at (sorted keys, no spaces, UTF-8)",
        },
    },
}
HEAD: Schema = {
    **SIGNED_HEAD,
    "required": [*SIGNED_HEAD["required"], "cosignatures"],
    "properties": {
        **SIGNED_HEAD["properties"],
        "cosignatures": {
            "type": "array",
            "items": COSIGNATURE,
            "description": "what the other provinces' witnesses cosigned of this head",
        },
    },
}
WITNESSED: Schema = {
    "type": "object",
    "required": ["head", "cosignature"],
    "properties": {"head": SIGNED_HEAD, "cosignature": COSIGNATURE},
}
ALERTS: Schema = {
    "type": "object",
    "required": ["alerts"],
    "properties": {
        "alerts": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["province", "kind", "detail", "tree_size", "observed_at"],
                "properties": {
                    "alert_id": {"type": "string"},
                    "province": {"type": "string"},
                    "kind": {"type": "string", "enum": ["BAD_SIGNATURE", "ROLLBACK", "FORK"]},
                    "detail": {"type": "string"},
                    "tree_size": {"type": "integer"},
                    "root_hash": {"type": "string"},
                    "accepted_tree_size": {"type": "integer"},
                    "accepted_root_hash": {"type": "string"},
                    "observed_at": {"type": "string"},
                },
            },
        }
    },
}
INCLUSION: Schema = {
    "type": "object",
    "required": ["leaf_index", "tree_size", "leaf_hash", "path"],
    "properties": {
        "leaf_index": {"type": "integer"},
        "tree_size": {"type": "integer"},
        "leaf_hash": HASH,
        "path": {"type": "array", "items": HASH},
    },
}
CONSISTENCY: Schema = {
    "type": "object",
    "required": ["first", "second", "path"],
    "properties": {
        "first": {"type": "integer"},
        "second": {"type": "integer"},
        "path": {"type": "array", "items": HASH},
    },
}


def _number(request: web.Request, name: str) -> int:
    """A required parameter of ASCII digits, as ``checked_parameters`` ensured before the handler ran."""
    return int(request.query[name])


async def head(request: web.Request) -> web.Response:
    authenticate(request)
    latest = await asyncio.to_thread(request.app[SERVICES].transparency.latest_head)
    if latest is None:
        raise NotFound("this node has signed no tree head yet")
    return web.json_response(latest)


async def inclusion(request: web.Request) -> web.Response:
    authenticate(request)
    leaf_index, tree_size = _number(request, "leaf_index"), _number(request, "tree_size")
    service = request.app[SERVICES].transparency
    proof: dict[str, Any] = await asyncio.to_thread(service.inclusion, leaf_index, tree_size)
    return web.json_response(proof)


async def consistency(request: web.Request) -> web.Response:
    authenticate(request)
    first, second = _number(request, "first"), _number(request, "second")
    service = request.app[SERVICES].transparency
    return web.json_response(await asyncio.to_thread(service.consistency, first, second))


async def witnessed(request: web.Request) -> web.Response:
    authenticate(request)
    province = request.match_info["province"]
    witnessing = _witnessing(request)
    return web.json_response(await asyncio.to_thread(witnessing.witnessed_head, province))


async def alerts(request: web.Request) -> web.Response:
    authenticate(request)
    witnessing = _witnessing(request)
    return web.json_response({"alerts": await asyncio.to_thread(witnessing.alerts)})


def _witnessing(request: web.Request) -> WitnessingService:
    federation = request.app[SERVICES].federation
    if federation is None:
        raise NotFound("this node is in no federation: it witnesses no other province")
    return federation.witnessing


WHOLE_NUMBER: Schema = {"type": "string", "pattern": "^[0-9]{1,18}$"}


def _parameters(**described: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "query",
            "required": True,
            "description": description,
            "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
        }
        for name, description in described.items()
    ]


SIGNED_SIZE = "a tree size this node signed a head for; any other size is refused with 422"
INCLUSION_QUERY = _parameters(leaf_index="the leaf's position, below tree_size", tree_size=SIGNED_SIZE)
CONSISTENCY_QUERY = _parameters(first="the older tree's size, 1 to second", second=SIGNED_SIZE)
ROLES = "any authenticated caller, of any province"
ENDPOINTS = [
    Endpoint(
        "GET",
        "/v1/transparency/head",
        head,
        "The latest signed tree head of this node's transparency log (RFC 6962)",
        HEAD,
        roles=ROLES,
        errors=(401, 404, 422),
        tag="transparency",
    ),
    Endpoint(
        "GET",
        "/v1/transparency/inclusion",
        inclusion,
        "Inclusion proof: the leaf at leaf_index is in the tree of tree_size (a size this node signed)",
        INCLUSION,
        roles=ROLES,
        errors=(401, 422),
        tag="transparency",
    ),
    Endpoint(
        "GET",
        "/v1/transparency/consistency",
        consistency,
        "Consistency proof: the tree of size first is a prefix of the tree of size second",
        CONSISTENCY,
        roles=ROLES,
        errors=(401, 422),
        tag="transparency",
    ),
    Endpoint(
        "GET",
        "/v1/transparency/witnessed/{province}",
        witnessed,
        "Another province's latest tree head as this node checked (consistent with every head of that "
        "province it accepted before) and cosigned it",
        WITNESSED,
        roles=ROLES,
        errors=(401, 404, 422),
        tag="transparency",
    ),
    Endpoint(
        "GET",
        "/v1/transparency/alerts",
        alerts,
        "The alerts this node's witness raised against other provinces' logs: forks, rollbacks and heads "
        "their keys did not sign",
        ALERTS,
        roles=ROLES,
        errors=(401, 404),
        tag="transparency",
    ),
]
