"""REST endpoints for cases (办件): every workflow command, reading a case, its timeline and deadlines.

Who may call: a window officer receives, forwards and attaches; an applicant-facing platform files online
cases, supplies materials and rates; a handling officer decides; auditors read. Only officers of a province
that is a party to the case (receiving, handling, or handling a part) may touch it. Auditors of any province
may read a case and its timeline, which hold no personal data; the applicant's identity only those of a party
province. A 一件事 bundle is for its parties only: the filing province and the provinces handling its items.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from aggregates.errors import InvalidField
from node import crash_points
from node.auth import Forbidden, Principal, Role
from node.http.auth import authenticate
from node.http.endpoint import Endpoint, Handler
from node.http.keys import SERVICES
from node.http.problems import read_json
from node.presentation.cases import (
    case_json,
    case_json_as_of,
    deadlines_json,
    timeline_entry_json,
)
from node.rfc3339 import NotAnInstant, parse_rfc3339
from node.schemas import cases as cs
from node.schemas.common import Schema
from node.signing import b64
from node.store.idempotency import Idempotency
from node.usecases.case_commands import DECLARED, CaseCommand

PREFIX = "/v1/cases"
OFFICERS = (Role.WINDOW, Role.HANDLER, Role.PLATFORM)
READERS = (*OFFICERS, Role.AUDITOR, Role.ADMIN)
WINDOW_OR_PLATFORM = (Role.WINDOW, Role.PLATFORM)


async def _party(request: web.Request, *roles: Role, personal: bool = False) -> tuple[Principal, str]:
    """The caller, after checking their role and that their province is a party to the case.

    Auditors of any province may read what holds no personal data; ``personal`` reads (the applicant's
    identity) are for a party province only, auditors included.
    """
    principal = authenticate(request)
    principal.require(*roles)
    case_id = request.match_info["case_id"]
    case = await asyncio.to_thread(request.app[SERVICES].cases.case, case_id)
    auditing = principal.role is Role.AUDITOR and not personal
    if not case.is_party(principal.province) and not auditing:
        raise Forbidden(f"province {principal.province} is not a party to case {case.case_no}")
    return principal, case_id


async def submit(request: web.Request) -> web.Response:
    principal = authenticate(request)
    principal.require(Role.WINDOW, Role.PLATFORM, province=request.app[SERVICES].province)
    body = await read_json(request, cs.SUBMIT)
    cases = request.app[SERVICES].cases
    idempotency = Idempotency.for_request(
        "file-case", principal.actor, request.headers.get("Idempotency-Key"), body
    )
    case = await asyncio.to_thread(cases.submit, principal.actor, idempotency=idempotency, **body)
    return web.json_response(case_json(case, cases), status=201, headers={"Location": f"{PREFIX}/{case.id}"})


async def read(request: web.Request) -> web.Response:
    await _party(request, *READERS)
    cases = request.app[SERVICES].cases
    case = await asyncio.to_thread(cases.case, request.match_info["case_id"])
    return web.json_response(case_json(case, cases))


async def timeline(request: web.Request) -> web.Response:
    _, case_id = await _party(request, *READERS)
    cases = request.app[SERVICES].cases
    entries = await asyncio.to_thread(cases.timeline, case_id)
    deadlines = await asyncio.to_thread(lambda: deadlines_json(cases.case(case_id), cases))
    return web.json_response(
        {"case_id": case_id, "entries": [timeline_entry_json(e) for e in entries], "deadlines": deadlines}
    )


async def as_of(request: web.Request) -> web.Response:
    """The case as it stood at an instant (``?at=`` RFC 3339), with its deadlines as of then."""
    _, case_id = await _party(request, *READERS)
    raw = request.query.get("at", "")
    try:
        instant = parse_rfc3339(raw)
    except NotAnInstant as e:
        raise InvalidField("at", str(e)) from None
    cases = request.app[SERVICES].cases
    case = await asyncio.to_thread(cases.case_as_of, case_id, instant)
    if case is None:
        raise InvalidField("at", "the case was not filed yet at that time")
    return web.json_response(case_json_as_of(case, cases, instant))


async def applicant(request: web.Request) -> web.Response:
    """The applicant's identity (personal data): for the officers who need it, and auditors of a party
    province; never for a province that is no party to the case."""
    await _party(request, Role.WINDOW, Role.HANDLER, Role.AUDITOR, personal=True)
    person = await asyncio.to_thread(request.app[SERVICES].cases.applicant, request.match_info["case_id"])
    return web.json_response(
        {
            "applicant_id": str(person.id),
            "name": person.name,
            "id_type": person.id_type,
            "id_number": person.id_number,
        }
    )


# what a notice's answer carries besides its bytes: enough to verify it against the issuer's public key
NOTICE_HEADERS = (
    "Notice-SHA256",
    "Notice-Signature",
    "Notice-Signature-Algorithm",
    "Notice-Key-Id",
)


async def notices(request: web.Request) -> web.Response:
    """The written notices (文书) issued on the case: for its parties only (auditors of a party province
    included), as the documents are addressed to the applicant."""
    _, case_id = await _party(request, *READERS, personal=True)
    issued = await asyncio.to_thread(request.app[SERVICES].cases.notices, case_id)
    return web.json_response({"case_id": case_id, "notices": list(issued)})


async def notice(request: web.Request) -> web.Response:
    """One notice as issued: its stored bytes, their SHA-256 and the issuing node's signature over them."""
    _, case_id = await _party(request, *READERS, personal=True)
    issued = await asyncio.to_thread(
        request.app[SERVICES].cases.notice, case_id, request.match_info["notice_no"]
    )
    body = issued.content.encode("utf-8")
    return web.Response(
        body=body,
        headers={
            "Content-Type": issued.media_type,
            "Repr-Digest": f"sha-256=:{b64(bytes.fromhex(issued.sha256))}:",  # RFC 9530
            NOTICE_HEADERS[0]: issued.sha256,
            NOTICE_HEADERS[1]: issued.signature,
            NOTICE_HEADERS[2]: issued.signature_algorithm,
            NOTICE_HEADERS[3]: issued.key_id,
        },
    )


def _command(command: CaseCommand) -> Handler:
    """The REST handler of a declared case command: checks the caller, validates the body and runs it."""

    async def handler(request: web.Request) -> web.Response:
        principal, case_id = await _party(request, *command.roles)
        body = await read_json(request, command.arguments)
        cases = request.app[SERVICES].cases
        arguments: dict[str, Any] = {name: request.match_info[name] for name in command.path_arguments} | body
        case = await asyncio.to_thread(cases.run, command, case_id, principal.actor, **arguments)
        crash_points.reached("reply")
        return web.json_response(case_json(case, cases))

    return handler


# 503: peer-unavailable, when the province that writes the case now cannot be reached (federation)
ERRORS = (401, 403, 404, 409, 422, 503)
C = f"{PREFIX}/{{case_id}}"


def _read(
    path: str,
    handler: Handler,
    summary: str,
    response: Schema,
    roles: str = "officers of a party province, auditors",
) -> Endpoint:
    return Endpoint(
        "GET", path, handler, summary, response, roles=roles, errors=(401, 403, 404, 422), tag="cases"
    )


ENDPOINTS = [
    Endpoint(
        "POST",
        PREFIX,
        submit,
        "File a case (申报) at this province as the receiving province",
        cs.CASE,
        201,
        cs.SUBMIT,
        "window officer or platform of this province",
        ERRORS,
        tag="cases",
        idempotent=True,
    ),
    _read(C, read, "Read a case with its deadlines", cs.CASE),
    _read(C + "/timeline", timeline, "The case's full timeline: who did what, when (责任追溯)", cs.TIMELINE),
    _read(C + "/as-of", as_of, "The case as it stood at ?at=<RFC 3339>, with its deadlines then", cs.CASE),
    _read(
        C + "/applicant",
        applicant,
        "The applicant's identity (personal data)",
        cs.APPLICANT_RECORD,
        "window or handling officers and auditors of a party province",
    ),
    _read(
        C + "/notices",
        notices,
        "The written notices (文书) issued on the case: kind, number, SHA-256, when",
        cs.NOTICES,
        "officers and auditors of a party province",
    ),
    Endpoint(
        "GET",
        C + "/notices/{notice_no}",
        notice,
        "One written notice as issued (HTML), with its SHA-256 and the issuing node's signature",
        None,
        roles="officers and auditors of a party province",
        errors=(401, 403, 404, 422),
        tag="cases",
        media_type="text/html",
        response_headers=("Repr-Digest", *NOTICE_HEADERS),
    ),
    *(
        Endpoint(
            "POST",
            C + command.path,
            _command(command),
            command.summary,
            cs.CASE,
            200,
            command.arguments,
            command.who,
            ERRORS,
            tag="cases",
        )
        for command in DECLARED
    ),
]
