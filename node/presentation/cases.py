"""The JSON shapes of a case (办件), its deadlines and timeline, and a 一件事 bundle: what REST answers and
the audit tools print."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aggregates.bundle import BundleCase, shared_materials
from aggregates.calendar import CalendarKind, DateOutsideCalendar
from aggregates.case import Case
from aggregates.deadline import DeadlineState
from node.calendar.statutory_holidays import PROVISIONAL_SOURCE
from node.usecases.cases import CaseService, TimelineEntry


def deadlines_json(case: Case, cases: CaseService, instant: datetime | None = None) -> dict[str, Any] | None:
    """Each limit as of ``instant`` (now when None), saying whether it counts through a provisional year:
    the promised and statutory limits (null before acceptance) and the notice limit of 行政许可法 第32条
    (null while its clock has not started); None when no clock has started."""
    as_of = instant or cases.now()
    deadlines = cases.deadlines(case, as_of)
    if deadlines is None:
        return None
    return {
        "as_of": as_of.isoformat(),
        "promised": _deadline_json(deadlines.promised),
        "statutory": _deadline_json(deadlines.statutory),
        "notice": _deadline_json(deadlines.notice),
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
        # 视为受理 (行政许可法 第32条): the notice limit passed without a notice; null when accepted otherwise
        "acceptance_deemed": case.acceptance_deemed,
        "materials_complete_on": case.materials_complete_on,
        "materials": case.materials,
        "missing_materials": case.missing_materials(),
        "supplement": case.open_supplement,
        "supplement_rounds": case.supplement_rounds,
        "review_steps": case.review_steps,
        "reviews": case.reviews,
        "decision": case.decision,
        "extension_days": case.extension_days,
        "extension": case.extension,
        "result": case.result,
        "concluded_on": case.concluded_on,
        "delivery": case.delivery,
        "rating": case.rating,
        "rectification_due_on": case.rectification_due_on,
        "appealed": case.appealed,
        "rated_service": case.rated_service,
        "rating_answered_by": case.rating_answered_by,
        "rectification_open": case.rectification_open,
        "appeal_outcome": case.appeal_outcome,
        "rating_counts": case.rating_counts,
        "bundle_id": case.bundle_id,
        "writer": case.writer(),
        "recognitions": case.recognitions,
        "certificate_flags": case.certificate_flags,
        "version": case.version,
        "deadlines": deadlines_json(case, cases),
    }


def _deadline_json(state: DeadlineState | DateOutsideCalendar | None) -> dict[str, Any] | None:
    if state is None:
        return None
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
        "breach": (
            None
            if state.breach is None
            else {
                "due_on": state.breach.due_on.isoformat(),
                "recorded_on": state.breach.recorded_on.isoformat(),
            }
        ),
    }


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


def case_json_as_of(case: Case, cases: CaseService, instant: datetime) -> dict[str, Any]:
    """The case's representation with its deadlines as of ``instant`` (not as of now)."""
    return case_json(case, cases) | {"deadlines": deadlines_json(case, cases, instant)}


def bundle_json(bundle: BundleCase, filed: list[Case], cases: CaseService) -> dict[str, Any]:
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
