"""REST endpoints for cases (办件): every workflow command, reading a case, its timeline and deadlines.

Who may call: a window officer receives, forwards and attaches; an applicant-facing platform files online
cases, supplies materials and rates; a handling officer decides; auditors read. Only officers of a province
that is a party to the case (receiving, handling, or handling a part) may touch it. Auditors of any province
may read a case and its timeline, which hold no personal data; the applicant's identity only those of a party
province. A 一件事 bundle is for its parties only: the filing province and the provinces handling its items.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from aiohttp import web

from aggregates.bundle import BundleCase, shared_materials
from aggregates.calendar import CalendarKind, DateOutsideCalendar
from aggregates.case import Case
from aggregates.deadline import DeadlineState
from aggregates.errors import InvalidField
from node import crash_points
from node.auth import Forbidden, Principal, Role
from node.calendar.statutory_holidays import PROVISIONAL_SOURCE
from node.http import case_schemas as cs
from node.http.auth import authenticate
from node.http.endpoint import Endpoint, Handler
from node.http.keys import SERVICES
from node.http.problems import read_json
from node.http.schemas import Schema
from node.rfc3339 import NotAnInstant, parse_rfc3339
from node.store.idempotency import Idempotency
from node.usecases.case_commands import DECLARED, CaseCommand
from node.usecases.cases import CaseService, TimelineEntry

PREFIX = "/v1/cases"
OFFICERS = (Role.WINDOW, Role.HANDLER, Role.PLATFORM)
READERS = (*OFFICERS, Role.AUDITOR, Role.ADMIN)
WINDOW_OR_PLATFORM = (Role.WINDOW, Role.PLATFORM)
HANDLER = (Role.HANDLER,)


def deadlines_json(case: Case, cases: CaseService, instant: datetime | None = None) -> dict[str, Any] | None:
    """Both limits as of ``instant`` (now when None), each saying whether it counts through a provisional
    year; None before acceptance."""
    as_of = instant or cases.now()
    deadlines = cases.deadlines(case, as_of)
    if deadlines is None:
        return None
    return {
        "as_of": as_of.isoformat(),
        "promised": _deadline_json(deadlines.promised),
        "statutory": _deadline_json(deadlines.statutory),
        # the years whose schedule the case's writer recorded (DeadlinesRecomputed): counted with these
        "calendar_years": [
            {"year": s.year, "kind": s.kind.value, "source": s.source, "version": s.version}
            for s in case.recorded_calendar
        ],
    }


def case_json(case: Case, cases: CaseService) -> dict[str, Any]:
    return {
        "case_id": str(case.id),
        "case_no": case.case_no,
        "state": case.state.value,
        "mode": case.mode.value,
        "item": {
            "province": case.item_province,
            "code": case.item.code,
            "name": case.item.name,
            "version": case.item_version,
            "promised_limit_days": case.item.promised_limit_days,
            "statutory_limit_days": case.item.statutory_limit_days,
        },
        "receiving_province": case.receiving_province,
        "handling_province": case.handling_province,
        "parts": [
            {"code": p.code, "name": p.name, "province": p.province, "result": p.result}
            for p in case.parts.values()
        ],
        "receipt_no": case.receipt_no,
        "acceptance_no": case.acceptance_no,
        "accepted_on": case.accepted_on,
        "materials": case.materials,
        "missing_materials": case.missing_materials(),
        "supplement": case.open_supplement,
        "supplement_rounds": case.supplement_rounds,
        "review_steps": case.review_steps,
        "extension_days": case.extension_days,
        "result": case.result,
        "concluded_on": case.concluded_on,
        "delivery": case.delivery,
        "rating": case.rating,
        "rectification_due_on": case.rectification_due_on,
        "appealed": case.appealed,
        "bundle_id": case.bundle_id,
        "writer": case.writer(),
        "recognitions": case.recognitions,
        "certificate_flags": case.certificate_flags,
        "version": case.version,
        "deadlines": deadlines_json(case, cases),
    }


def _deadline_json(state: DeadlineState | DateOutsideCalendar) -> dict[str, Any]:
    if isinstance(state, DateOutsideCalendar):
        return {"status": "UNKNOWN", "due_on": None, "days_left": None, "problem": str(state)}
    return {
        "status": state.status.value,
        "due_on": state.due_on.isoformat() if state.due_on else None,
        "days_left": state.days_left,
        "days_used": state.days_used,
        "suspended_days": state.suspended_days,
        "calendar": CalendarKind.PROVISIONAL.name if state.provisional_years else "OFFICIAL",
        "provisional_years": list(state.provisional_years),
        **({"provisional_source": PROVISIONAL_SOURCE} if state.provisional_years else {}),
    }


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


def timeline_entry_json(entry: TimelineEntry) -> dict[str, Any]:
    return {
        "version": entry.version,
        "at": entry.at.isoformat(),
        "event": entry.event,
        "province": entry.province,
        "office_code": entry.office_code,
        "operator_id": entry.operator_id,
        "detail": entry.detail,
    }


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


def case_json_as_of(case: Case, cases: CaseService, instant: datetime) -> dict[str, Any]:
    """The case's representation with its deadlines as of ``instant`` (not as of now)."""
    return case_json(case, cases) | {"deadlines": deadlines_json(case, cases, instant)}


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


def _command(
    method: Callable[..., Case], schema: Schema, roles: tuple[Role, ...], path_args: tuple[str, ...] = ()
) -> Handler:
    """A handler that checks the caller, validates the body and runs one workflow command."""

    async def handler(request: web.Request) -> web.Response:
        principal, case_id = await _party(request, *roles)
        body = await read_json(request, schema)
        cases = request.app[SERVICES].cases
        extra = {name: request.match_info[name] for name in path_args}
        case = await asyncio.to_thread(method, cases, case_id, principal.actor, **extra, **body)
        crash_points.reached("reply")
        return web.json_response(case_json(case, cases))

    return handler


def _declared(command: CaseCommand, cases: CaseService, case_id: str, actor: Any, **arguments: Any) -> Case:
    return cases.run(command, case_id, actor, **arguments)


def _receive(cases: CaseService, case_id: str, actor: Any, number: str | None = None) -> Case:
    return cases.receive(case_id, actor, number)


def _accept(cases: CaseService, case_id: str, actor: Any, number: str | None = None) -> Case:
    return cases.accept(case_id, actor, number)


async def submit_bundle(request: web.Request) -> web.Response:
    principal = authenticate(request)
    principal.require(Role.WINDOW, Role.PLATFORM, province=request.app[SERVICES].province)
    body = await read_json(request, cs.SUBMIT_BUNDLE)
    cases = request.app[SERVICES].cases
    bundle, filed = await asyncio.to_thread(cases.submit_bundle, principal.actor, **body)
    return web.json_response(
        _bundle_json(bundle, filed, cases), status=201, headers={"Location": f"/v1/bundle-cases/{bundle.id}"}
    )


async def _bundle_party(request: web.Request, *roles: Role) -> tuple[Principal, BundleCase, list[Case]]:
    """The caller, after checking their role and that their province is a party to the bundle: the filing
    province or a province handling one of its item cases. Auditors too: a bundle is read by its parties."""
    principal = authenticate(request)
    principal.require(*roles)
    bundle, filed = await asyncio.to_thread(
        request.app[SERVICES].cases.bundle_with_cases, request.match_info["bundle_id"]
    )
    if not bundle.is_party(principal.province, filed):
        raise Forbidden(f"province {principal.province} is not a party to 一件事 {bundle.bundle_code}")
    return principal, bundle, filed


async def read_bundle(request: web.Request) -> web.Response:
    _, bundle, filed = await _bundle_party(request, *READERS)
    return web.json_response(_bundle_json(bundle, filed, request.app[SERVICES].cases))


async def attach_bundle_material(request: web.Request) -> web.Response:
    """Attach one material once, for every item case of the bundle that asks for it and lacks it."""
    principal, _, _ = await _bundle_party(request, *WINDOW_OR_PLATFORM, Role.HANDLER)
    body = await read_json(request, cs.BUNDLE_ATTACH)
    cases = request.app[SERVICES].cases
    bundle_id = request.match_info["bundle_id"]
    await asyncio.to_thread(cases.attach_to_bundle, bundle_id, principal.actor, **body)
    bundle, filed = await asyncio.to_thread(cases.bundle_with_cases, bundle_id)
    return web.json_response(_bundle_json(bundle, filed, cases))


async def deliver_bundle(request: web.Request) -> web.Response:
    principal, _, _ = await _bundle_party(request, Role.WINDOW, Role.HANDLER)
    body = await read_json(request, cs.DELIVER)
    cases = request.app[SERVICES].cases
    bundle_id = request.match_info["bundle_id"]
    await asyncio.to_thread(
        cases.deliver_bundle, bundle_id, principal.actor, body["method"], body["reference"]
    )
    bundle, filed = await asyncio.to_thread(cases.bundle_with_cases, bundle_id)
    return web.json_response(_bundle_json(bundle, filed, cases))


def _bundle_json(bundle: BundleCase, filed: list[Case], cases: CaseService) -> dict[str, Any]:
    return {
        "bundle_id": str(bundle.id),
        "bundle_province": bundle.bundle_province,
        "bundle_code": bundle.bundle_code,
        "filing_province": bundle.filing_province,
        "delivered": bundle.delivered,
        "delivery": bundle.delivery,
        "bundle_materials": shared_materials(filed),
        "cases": [case_json(case, cases) for case in filed],
    }


# 503: peer-unavailable, when the province that writes the case now cannot be reached (federation)
_ERRORS = (401, 403, 404, 409, 422, 503)
C = f"{PREFIX}/{{case_id}}"
B = "/v1/bundle-cases/{bundle_id}"


def _ep(
    path: str, handler: Handler, summary: str, request: Schema, roles: str, errors: tuple[int, ...] = _ERRORS
) -> Endpoint:
    return Endpoint("POST", path, handler, summary, cs.CASE, 200, request, roles, errors, tag="cases")


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
        _ERRORS,
        tag="cases",
        idempotent=True,
    ),
    Endpoint(
        "GET",
        C,
        read,
        "Read a case with its deadlines",
        cs.CASE,
        roles="officers of a party province, auditors",
        errors=(401, 403, 404, 422),
        tag="cases",
    ),
    Endpoint(
        "GET",
        C + "/timeline",
        timeline,
        "The case's full timeline: who did what, when (责任追溯)",
        cs.TIMELINE,
        roles="officers of a party province, auditors",
        errors=(401, 403, 404, 422),
        tag="cases",
    ),
    Endpoint(
        "GET",
        C + "/as-of",
        as_of,
        "The case as it stood at ?at=<RFC 3339>, with its deadlines then",
        cs.CASE,
        roles="officers of a party province, auditors",
        errors=(401, 403, 404, 422),
        tag="cases",
    ),
    Endpoint(
        "GET",
        C + "/applicant",
        applicant,
        "The applicant's identity (personal data)",
        cs.APPLICANT_RECORD,
        roles="window or handling officers and auditors of a party province",
        errors=(401, 403, 404, 422),
        tag="cases",
    ),
    _ep(
        C + "/receive",
        _command(_receive, cs.NUMBER, (Role.WINDOW,)),
        "收件: receive, with a receipt number",
        cs.NUMBER,
        "window officer of the receiving province",
    ),
    _ep(
        C + "/forward",
        _command(CaseService.forward, cs.EMPTY, (Role.WINDOW,)),
        "转办: forward to the handling province",
        cs.EMPTY,
        "window officer of the receiving province",
    ),
    _ep(
        C + "/materials",
        _command(CaseService.attach_material, cs.ATTACH, (*WINDOW_OR_PLATFORM, Role.HANDLER)),
        "Attach a material: a certificate (verified now, result kept) or a file digest",
        cs.ATTACH,
        "window officer, platform or handling officer of a party province",
    ),
    _ep(
        C + "/accept",
        _command(_accept, cs.NUMBER, HANDLER),
        "受理: accept, with an acceptance number",
        cs.NUMBER,
        "handling officer of the handling province",
    ),
    _ep(
        C + "/refuse",
        _command(CaseService.refuse, cs.REASON, HANDLER),
        "不予受理: refuse with a reason",
        cs.REASON,
        "handling officer of the handling province",
    ),
    _ep(
        C + "/supplement-request",
        _command(CaseService.request_supplement, cs.SUPPLEMENT_REQUEST, HANDLER),
        "补正告知: one notice listing ALL missing materials; due in the item's supplement_days working days",
        cs.SUPPLEMENT_REQUEST,
        "handling officer",
    ),
    _ep(
        C + "/supplement",
        _command(CaseService.provide_supplement, cs.EMPTY, WINDOW_OR_PLATFORM),
        "补正: the listed materials are now attached",
        cs.EMPTY,
        "window officer or platform of a party province",
    ),
    _ep(
        C + "/review",
        _command(CaseService.record_review, cs.REVIEW, HANDLER),
        "审查: 承办 → 审核 → 批准",
        cs.REVIEW,
        "handling officer",
    ),
    _ep(
        C + "/special-procedure/start",
        _command(CaseService.start_special_procedure, cs.SPECIAL_START, HANDLER),
        "特别程序 starts (the clock stops)",
        cs.SPECIAL_START,
        "handling officer",
    ),
    _ep(
        C + "/special-procedure/end",
        _command(CaseService.end_special_procedure, cs.SPECIAL_END, HANDLER),
        "特别程序 ends (the clock resumes)",
        cs.SPECIAL_END,
        "handling officer",
    ),
    _ep(
        C + "/extend",
        _command(CaseService.extend, cs.EXTEND, HANDLER),
        "延期: once, with a reason",
        cs.EXTEND,
        "handling officer",
    ),
    _ep(
        C + "/parts/{part_code}/conclude",
        _command(CaseService.conclude_part, cs.CONCLUDE, HANDLER, ("part_code",)),
        "多地联办: conclude one part",
        cs.CONCLUDE,
        "handling officer of the part's province",
    ),
    _ep(
        C + "/conclude",
        _command(CaseService.conclude, cs.CONCLUDE, HANDLER),
        "办结: conclude with a result",
        cs.CONCLUDE,
        "handling officer",
    ),
    _ep(
        C + "/deliver",
        _command(CaseService.deliver, cs.DELIVER, (Role.WINDOW, Role.HANDLER)),
        "送达: post, window pick-up or electronic (an item of a 一件事 is delivered with its bundle: 409)",
        cs.DELIVER,
        "window or handling officer",
    ),
    _ep(
        C + "/archive",
        _command(CaseService.archive, cs.EMPTY, HANDLER),
        "归档, at the handling province",
        cs.EMPTY,
        "handling officer",
    ),
    _ep(
        C + "/rating",
        _command(CaseService.rate, cs.RATE, (Role.PLATFORM,)),
        "好差评: 1-5; 1-2 opens a rectification due in rectification_days working days",
        cs.RATE,
        "applicant-facing platform of a party province",
    ),
    _ep(
        C + "/rating/rectification",
        _command(CaseService.respond_to_rectification, cs.RESPONSE, HANDLER),
        "Answer the rectification a bad rating opened",
        cs.RESPONSE,
        "handling officer",
    ),
    _ep(
        C + "/rating/appeal",
        _command(CaseService.appeal_rating, cs.REASON, HANDLER),
        "Appeal a rating, once",
        cs.REASON,
        "handling officer",
    ),
    Endpoint(
        "POST",
        "/v1/bundle-cases",
        submit_bundle,
        "File a 一件事 bundle: one application, one case per item (each in the requested mode when the item "
        "allows it, else FULL_ONLINE; 422 naming an item that allows neither)",
        cs.BUNDLE_CASE,
        201,
        cs.SUBMIT_BUNDLE,
        "window officer or platform of this province",
        _ERRORS,
        tag="cases",
    ),
    Endpoint(
        "GET",
        B,
        read_bundle,
        "Read a bundle: its one list of materials (bundle_materials) and its item cases",
        cs.BUNDLE_CASE,
        roles="officers and auditors of a party province (filing, or handling one of its items)",
        errors=(401, 403, 404, 422),
        tag="cases",
    ),
    Endpoint(
        "POST",
        B + "/materials",
        attach_bundle_material,
        "Attach one material of bundle_materials once, for every item case that asks for it and lacks it",
        cs.BUNDLE_CASE,
        200,
        cs.BUNDLE_ATTACH,
        "window officer, platform or handling officer of a party province (a party to each of those cases)",
        _ERRORS,
        tag="cases",
    ),
    Endpoint(
        "POST",
        B + "/deliver",
        deliver_bundle,
        "One combined delivery, once, when every item case has concluded",
        cs.BUNDLE_CASE,
        200,
        cs.DELIVER,
        "window or handling officer of a party province",
        _ERRORS,
        tag="cases",
    ),
    *(
        _ep(
            C + command.path,
            _command(partial(_declared, command), command.arguments, command.roles),
            command.summary,
            command.arguments,
            command.who,
        )
        for command in DECLARED
    ),
]
