"""REST endpoints for electronic certificates (电子证照).

Issue, read, status operations, verify, and list by holder.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from aiohttp import web

from aggregates.certificate import Link
from aggregates.consent import UseChannel
from node.auth import CERTIFICATE_READERS, Principal, Role
from node.http.auth import authenticate
from node.http.endpoint import Endpoint, Handler
from node.http.keys import SERVICES
from node.http.problems import Problem, read_json
from node.presentation.certificates import assertion_json, certificate_json, history_entry_json
from node.rfc3339 import NotAnInstant, parse_rfc3339
from node.schemas import common as schemas
from node.store.idempotency import Idempotency
from node.usecases.certificates import Use, canonical_identifier

PREFIX = "/v1/certificates"
HOLDER_LIST_READERS = (Role.ISSUER, Role.WINDOW, Role.AUDITOR, Role.ADMIN)


def parse_as_of(text: str) -> datetime:
    """An RFC 3339 timestamp with its offset; a 422 problem pointing at ``/as_of`` otherwise."""
    try:
        return parse_rfc3339(text)
    except NotAnInstant as e:
        raise Problem(422, "invalid-body", f"/as_of: {e}", pointer="/as_of") from None


def _issuer(request: web.Request) -> Principal:
    principal = authenticate(request)
    principal.require(Role.ISSUER, province=request.app[SERVICES].province)
    return principal


def _content_fields(body: dict[str, Any]) -> dict[str, Any]:
    return {"valid_to": None, "service_item_code": None, **body}


async def issue(request: web.Request) -> web.Response:
    principal = _issuer(request)
    body = await read_json(request, schemas.ISSUE_REQUEST)
    registry = request.app[SERVICES].certificates
    idempotency = Idempotency.for_request(
        "issue-certificate", principal.actor, request.headers.get("Idempotency-Key"), body
    )
    certificate = await asyncio.to_thread(
        registry.issue, principal.actor, idempotency=idempotency, **_content_fields(body)
    )
    return web.json_response(
        certificate_json(certificate, registry.today()),
        status=201,
        headers={"Location": f"{PREFIX}/{certificate.identifier}"},
    )


async def transfer_in(request: web.Request) -> web.Response:
    principal = _issuer(request)
    body = await read_json(request, schemas.TRANSFER_IN_REQUEST)
    registry = request.app[SERVICES].certificates
    certificate = await asyncio.to_thread(registry.transfer_in, principal.actor, **_content_fields(body))
    return web.json_response(
        certificate_json(certificate, registry.today()),
        status=201,
        headers={"Location": f"{PREFIX}/{certificate.identifier}"},
    )


async def read(request: web.Request) -> web.Response:
    authenticate(request).require(*CERTIFICATE_READERS, province=request.app[SERVICES].province)
    registry = request.app[SERVICES].certificates
    certificate = await asyncio.to_thread(registry.certificate, request.match_info["identifier"])
    return web.json_response(certificate_json(certificate, registry.today()))


async def history(request: web.Request) -> web.Response:
    authenticate(request).require(
        Role.ISSUER, Role.AUDITOR, Role.ADMIN, province=request.app[SERVICES].province
    )
    identifier = canonical_identifier(request.match_info["identifier"])
    entries = await asyncio.to_thread(request.app[SERVICES].certificates.history, identifier)
    return web.json_response({"identifier": identifier, "entries": [history_entry_json(e) for e in entries]})


def _reissue(link: Link, schema: schemas.Schema) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        principal = _issuer(request)
        body = await read_json(request, schema)
        registry = request.app[SERVICES].certificates
        successor = await asyncio.to_thread(
            registry.reissue, request.match_info["identifier"], link, principal.actor, **body
        )
        return web.json_response(
            certificate_json(successor, registry.today()),
            status=201,
            headers={"Location": f"{PREFIX}/{successor.identifier}"},
        )

    return handler


def _status_operation(operation: str) -> Handler:
    schema = schemas.TRANSFER_OUT_REQUEST if operation == "transfer_out" else schemas.STATUS_REQUEST

    async def handler(request: web.Request) -> web.Response:
        principal = _issuer(request)
        body = await read_json(request, schema)
        registry = request.app[SERVICES].certificates
        certificate = await asyncio.to_thread(
            registry.change_status, request.match_info["identifier"], operation, principal.actor, **body
        )
        return web.json_response(certificate_json(certificate, registry.today()))

    return handler


async def verify(request: web.Request) -> web.Response:
    # Any authenticated platform of any province may verify: that is what mutual recognition needs. Each
    # verification is a use of the certificate (用证), recorded with its purpose and the holder's consent.
    principal = authenticate(request)
    body = await read_json(request, schemas.VERIFY_REQUEST)
    as_of = parse_as_of(body["as_of"]) if "as_of" in body else None
    use = Use(
        principal.actor,
        UseChannel.REST,
        body["purpose"],
        body["consent_reference"],
        body.get("case_reference"),
    )
    signed = await asyncio.to_thread(
        request.app[SERVICES].certificates.verify_for_use,
        body["identifier"],
        use,
        file_digest=body.get("file_digest"),
        as_of=as_of,
    )
    return web.json_response(assertion_json(signed))


async def holder_certificates(request: web.Request) -> web.Response:
    # The holder's id travels in the body, never in a URL that proxies and access logs keep. A window
    # officer lists the applicant's certificates so that none of them is asked for on paper (一网通办决定
    # 第七条); a platform may not: it would read anyone's by their number.
    authenticate(request).require(*HOLDER_LIST_READERS, province=request.app[SERVICES].province)
    body = await read_json(request, schemas.HOLDER_QUERY)
    registry = request.app[SERVICES].certificates
    certificates = await asyncio.to_thread(
        registry.holder_certificates, body["holder_id_type"], body["holder_id"]
    )
    today = registry.today()
    return web.json_response({"items": [certificate_json(c, today) for c in certificates]})


async def keys(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    return web.json_response(
        {
            "province": services.province,
            "keys": [
                {"algorithm": k.algorithm, "key_id": k.key_id, "public_key_pem": k.pem}
                for k in services.certificates.public_keys()
            ],
        }
    )


_ISSUER_ERRORS = (401, 403, 409, 415, 422)
ENDPOINTS = [
    Endpoint(
        "POST",
        PREFIX,
        issue,
        "Issue a certificate",
        schemas.CERTIFICATE,
        201,
        schemas.ISSUE_REQUEST,
        "issuer of this province",
        _ISSUER_ERRORS,
        idempotent=True,
    ),
    Endpoint(
        "POST",
        f"{PREFIX}/transfer-in",
        transfer_in,
        "Issue this province's certificate for one transferred in (迁入)",
        schemas.CERTIFICATE,
        201,
        schemas.TRANSFER_IN_REQUEST,
        "issuer of this province",
        _ISSUER_ERRORS,
    ),
    Endpoint(
        "GET",
        PREFIX + "/{identifier}",
        read,
        "Read a certificate",
        schemas.CERTIFICATE,
        roles="issuer, window, handler, auditor or admin of this province",
        errors=(401, 403, 404, 422),
    ),
    Endpoint(
        "GET",
        PREFIX + "/{identifier}/history",
        history,
        "Who did what to a certificate (责任追溯)",
        schemas.HISTORY,
        roles="issuer, auditor or admin of this province",
        errors=(401, 403, 404, 422),
    ),
    Endpoint(
        "POST",
        PREFIX + "/{identifier}/renew",
        _reissue(Link.RENEWED, schemas.RENEW_REQUEST),
        "Renew (换证): the next version with a new validity",
        schemas.CERTIFICATE,
        201,
        schemas.RENEW_REQUEST,
        "issuer of this province",
        (*_ISSUER_ERRORS, 404),
    ),
    Endpoint(
        "POST",
        PREFIX + "/{identifier}/change",
        _reissue(Link.CHANGED, schemas.CHANGE_REQUEST),
        "Change (变更): the next version with changed metadata",
        schemas.CERTIFICATE,
        201,
        schemas.CHANGE_REQUEST,
        "issuer of this province",
        (*_ISSUER_ERRORS, 404),
    ),
    *[
        Endpoint(
            "POST",
            PREFIX + "/{identifier}/" + segment,
            _status_operation(operation),
            f"Status operation: {segment}",
            schemas.CERTIFICATE,
            200,
            schemas.TRANSFER_OUT_REQUEST if operation == "transfer_out" else schemas.STATUS_REQUEST,
            "issuer of this province",
            (*_ISSUER_ERRORS, 404),
        )
        for operation, segment in schemas.STATUS_OPERATIONS.items()
    ],
    Endpoint(
        "POST",
        "/v1/verifications",
        verify,
        "Verify a certificate (核验) for a use, with the holder's consent (recorded: 用证记录): a signed "
        "answer, now or as of a time",
        schemas.VERIFICATION,
        200,
        schemas.VERIFY_REQUEST,
        "any authenticated caller",
        (401, 415, 422),
    ),
    Endpoint(
        "POST",
        "/v1/holder-certificates",
        holder_certificates,
        "List a holder's certificates (an applicant's, at a window)",
        schemas.CERTIFICATE_LIST,
        200,
        schemas.HOLDER_QUERY,
        "issuer, window, auditor or admin of this province",
        (401, 403, 415, 422),
    ),
    Endpoint("GET", "/v1/keys", keys, "The node's public signing keys", schemas.KEYS),
]
