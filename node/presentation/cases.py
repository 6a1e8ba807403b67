"""The JSON shapes of a case (办件), its deadlines and timeline, and a 一件事 bundle: what REST answers and
the audit tools print."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aggregates.bundle import BundleCase, shared_materials
from aggregates.calendar import CalendarKind, DateOutsideCalendar
from aggregates.case import Case, Limit
from aggregates.deadline import DeadlineState
from node.calendar.statutory_holidays import PROVISIONAL_SOURCE
from node.usecases.cases import CaseService, TimelineEntry


def deadlines_json(case: Case, cases: CaseService, instant: datetime | None = None) -> dict[str, Any] | None:
    """The limits as of ``instant`` (now when None), each saying whether it counts through a provisional
    year: the promised and statutory ones once accepted (null before acceptance and after a withdrawal), the
    notice limit of 行政许可法 第32条 (null while its clock has not started or once accepted), the delivery
    (第44条) and the rectification (整改) ones when they apply; None when none does."""
    as_of = instant or cases.now()
    deadlines = cases.deadlines(case, as_of)
    later = {
        "delivery": cases.delivery_deadline(case, as_of),
        "rectification": cases.rectification_deadline(case, as_of),
    }
    if deadlines is None and all(state is None for state in later.values()):
        return None
    return {
        "as_of": as_of.isoformat(),
        "promised": _deadline_json(deadlines.promised) if deadlines else None,
        "statutory": _deadline_json(deadlines.statutory) if deadlines else None,
        "notice": _deadline_json(deadlines.notice) if deadlines else None,
        **{limit: _deadline_json(state) for limit, state in later.items() if state is not None},
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
            # what stops its decision clock, as the version filed under says (before_rule: an item version
            # recorded before items declared it, with the effect it had then)
            "clock_stops": {
                **case.item.clock_stops.event_fields(),
                "before_rule": case.item.clock_stops.before_rule,
            },
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
        "task": case.open_task,
        "special_procedure": case.special_procedure,
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
        "delivery_due": bundle_delivery_due(filed, cases),
        "bundle_materials": shared_materials(filed),
        "cases": [case_json(case, cases) for case in filed],
    }


def bundle_delivery_due(filed: list[Case], cases: CaseService) -> dict[str, Any] | None:
    """When the bundle's one delivery is due: each item decided runs its own delivery clock from its own
    decision (行政许可法 第44条), so the combined delivery is due by the earliest due date of the items not
    delivered yet, and names them; None while no item's delivery clock runs."""
    running = [
        (state, case)
        for case in filed
        if case.clock_runs(Limit.DELIVERY)
        and isinstance(state := cases.delivery_deadline(case), DeadlineState)
        and state.due_on is not None
    ]
    if not running:
        return None
    due_on = min(state.due_on for state, _case in running if state.due_on is not None)
    provisional = sorted({year for state, _case in running for year in state.provisional_years})
    return {
        "due_on": due_on.isoformat(),
        "items_due": [case.case_no for state, case in running if state.due_on == due_on],
        "breached": [case.case_no for state, case in running if state.breach is not None],
        "calendar": CalendarKind.PROVISIONAL.name if provisional else "OFFICIAL",
        "provisional_years": provisional,
    }
