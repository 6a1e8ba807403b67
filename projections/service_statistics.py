"""Service statistics (办件统计): the figures a platform publishes, computed from the cases' events.

One row per case this node holds, with the facts the figures need: item, mode, provinces, the month it was
filed (China time), acceptance and conclusion, the working days the law counted (suspensions excluded, as
the case's own deadline counts them) against the promised (承诺) and statutory (法定) limits, the materials on
file and which of them a certificate replaced (免提交), supplement rounds, and the rating (好差评) with its
rectification. :func:`statistics` groups those rows as asked, when asked; whether an open rectification is
overdue depends on the day of asking, so it is computed then, never stored.

Handling time needs the working-day calendar: the one the case counts with, the same on every node (the
baseline with any year schedules its writer recorded, ``Case.DeadlinesRecomputed``). A conclusion in a year
no calendar covers leaves the case's handling time unknown (counted in ``handling.unmeasured``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from eventsourcing.utils import get_topic

from aggregates.calendar import DateOutsideCalendar, WorkingCalendar, YearSchedule
from aggregates.case import (
    DECISION_LIMITS,
    AppealOutcome,
    Case,
    RatedService,
    State,
    answering_province,
    deadline_inputs,
    fold_counting,
)
from aggregates.clock import china_date
from aggregates.deadline import DeadlineStatus, deadline_state
from infra.view_store import Transaction
from projections.row_batch import RowBatch

COLUMNS = (
    "case_id",
    "item_province",
    "item_code",
    "item_name",
    "mode",
    "receiving_province",
    "handling_province",
    "filed_month",
    "accepted_on",
    "promised_limit_days",
    "statutory_limit_days",
    "extension_days",
    "suspensions",  # JSON [[start, end or null], ...], as the case keeps them
    "concluded_on",
    "result",
    "refused",
    "handling_days",
    "within_promised",
    "within_statutory",
    "materials",  # JSON {material code: true when a certificate replaced it (免提交)}
    "supplement_rounds",
    "rating",
    "rectification_due_on",
    "rectification_responded",
    "appealed",
)
DDL = (
    """CREATE TABLE IF NOT EXISTS view_case_statistics (
        case_id TEXT PRIMARY KEY, item_province TEXT NOT NULL, item_code TEXT NOT NULL,
        item_name TEXT NOT NULL,
        mode TEXT NOT NULL, receiving_province TEXT NOT NULL, handling_province TEXT NOT NULL,
        filed_month TEXT NOT NULL, accepted_on TEXT, promised_limit_days INTEGER NOT NULL,
        statutory_limit_days INTEGER NOT NULL, extension_days INTEGER NOT NULL, suspensions TEXT NOT NULL,
        concluded_on TEXT, result TEXT, refused INTEGER NOT NULL, handling_days INTEGER,
        within_promised INTEGER, within_statutory INTEGER, materials TEXT NOT NULL,
        supplement_rounds INTEGER NOT NULL, rating INTEGER, rectification_due_on TEXT,
        rectification_responded INTEGER NOT NULL, appealed INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS view_case_statistics_month ON view_case_statistics (filed_month)",
    # a rating's facts added after round 1 (a table of its own, so a store from before opens unchanged): whose
    # service was rated, the province whose office answers it, and its appeal's outcome. A rating without a
    # row here is one recorded before: of the handling, answered by the handling province, no outcome.
    """CREATE TABLE IF NOT EXISTS view_case_ratings (
        case_id TEXT PRIMARY KEY, rated_service TEXT NOT NULL, answered_by TEXT NOT NULL,
        appeal_outcome TEXT)""",
    # the limits an extension moved (Case.Extended.limits, 行政许可法 第42条: the statutory one only), a table
    # of its own for the same reason. An extension without a row here was recorded before: it moved both.
    """CREATE TABLE IF NOT EXISTS view_case_extensions (case_id TEXT PRIMARY KEY, limits TEXT NOT NULL)""",
    # the year schedules a case's writer recorded: what its handling time is counted with
    """CREATE TABLE IF NOT EXISTS view_case_calendar_years (
        case_id TEXT NOT NULL, year INTEGER NOT NULL, schedule TEXT NOT NULL, PRIMARY KEY (case_id, year))""",
)
GOOD_SCORES = range(3, 6)  # 非常满意, 满意, 基本满意; 1-2 (不满意, 非常不满意) is a bad rating
RATING_COLUMNS = ("case_id", "rated_service", "answered_by", "appeal_outcome")
EXTENSION_COLUMNS = ("case_id", "limits")


class ServiceStatistics:
    name = "service_statistics"
    tables = ("view_case_statistics", "view_case_calendar_years", "view_case_ratings", "view_case_extensions")

    def __init__(self, calendar_of: Callable[[tuple[YearSchedule, ...]], WorkingCalendar]) -> None:
        """``calendar_of`` gives the calendar a case counts with, from the schedules it recorded."""
        self._calendar_of = calendar_of
        read: list[type[Any]] = [
            Case.Submitted,
            Case.MaterialAttached,
            Case.Accepted,
            Case.AcceptanceDeemed,
            Case.Refused,
            Case.SupplementRequested,
            Case.SupplementProvided,
            Case.SpecialProcedureStarted,
            Case.SpecialProcedureEnded,
            Case.Extended,
            Case.Concluded,
            Case.Rated,
            Case.RectificationResponded,
            Case.RatingAppealed,
            Case.RatingAppealDecided,
            Case.DeadlinesRecomputed,
            Case.Withdrawn,
        ]
        self.topics: Sequence[str] = sorted(get_topic(cls) for cls in read)
        self._rows = RowBatch("view_case_statistics", COLUMNS, json_columns=("suspensions", "materials"))
        self._ratings = RowBatch("view_case_ratings", RATING_COLUMNS)
        self._extensions = RowBatch("view_case_extensions", EXTENSION_COLUMNS, json_columns=("limits",))

    def create(self, tx: Transaction) -> None:
        for statement in DDL:
            tx.execute(statement)

    def apply(self, tx: Transaction, event: Any) -> None:
        case_id = str(event.originator_id)
        if isinstance(event, Case.Submitted):
            item = event.item
            self._rows.add(tx, (
                case_id, event.item_province, event.item_code, item["name"], event.mode,
                event.receiving_province, event.handling_province,
                china_date(event.timestamp).strftime("%Y-%m"), None, item["promised_limit_days"],
                item["statutory_limit_days"], 0, [], None, None, 0, None, None, None, {}, 0, None, None,
                0, 0,
            ))  # fmt: skip
            return
        row = self._rows.get(tx, case_id)
        fold_counting(row, event)  # acceptance, suspensions, extension, conclusion: as the case counts them
        if isinstance(event, Case.Extended):  # the limits it moved are kept beside the row, not in it
            self._extensions.add(tx, (case_id, row.pop("extended_limits")))
        if isinstance(event, Case.MaterialAttached):
            row["materials"][event.material_code] = event.certificate_identifier is not None
        elif isinstance(event, Case.Refused):
            row["refused"] = 1
        elif isinstance(event, Case.Withdrawn):
            row["result"] = State.WITHDRAWN.value  # the case ended by withdrawal: no decision, no refusal
        elif isinstance(event, Case.SupplementRequested):
            row["supplement_rounds"] = event.round
            # a material named missing is no longer on file: the supplement replaces it
            row["materials"] = {k: v for k, v in row["materials"].items() if k not in event.missing}
        elif isinstance(event, Case.DeadlinesRecomputed):
            for fields in event.calendar_years:
                tx.execute(
                    "DELETE FROM view_case_calendar_years WHERE case_id = ? AND year = ?",
                    (case_id, fields["year"]),
                )
                tx.execute(
                    "INSERT INTO view_case_calendar_years (case_id, year, schedule) VALUES (?, ?, ?)",
                    (case_id, fields["year"], json.dumps(fields, sort_keys=True)),
                )
        elif isinstance(event, Case.Concluded):
            row["result"] = event.result
            extension = self._extensions.find(tx, case_id)
            facts = row | ({"extended_limits": extension["limits"]} if extension else {})
            row |= self._handling(facts, self._calendar_of(_recorded(tx, case_id)))
        elif isinstance(event, Case.Rated):
            row |= {"rating": event.score, "rectification_due_on": event.rectification_due_on}
            answered_by = answering_province(
                event.service, row["receiving_province"], row["handling_province"]
            )
            self._ratings.add(tx, (case_id, event.service, answered_by, None))
        elif isinstance(event, Case.RatingAppealDecided):
            rating = self._ratings.find(tx, case_id)
            if rating is None:  # rated before this table was filled (a store from round 1): of the handling
                rating = self._ratings.add(
                    tx, (case_id, RatedService.HANDLING.value, row["handling_province"], None)
                )
            rating["appeal_outcome"] = event.outcome
        elif isinstance(event, Case.RectificationResponded):
            row["rectification_responded"] = 1
        elif isinstance(event, Case.RatingAppealed):
            row["appealed"] = 1

    def flush(self, tx: Transaction) -> None:
        self._rows.flush(tx)
        self._ratings.flush(tx)
        self._extensions.flush(tx)

    @staticmethod
    def _handling(facts: dict[str, Any], calendar: WorkingCalendar) -> dict[str, Any]:
        """Working days counted from acceptance to conclusion, and whether each limit was kept, counted as the
        case counts them (``deadline_inputs``: an extension adds its days to the limits it moved)."""
        unknown = {"handling_days": None, "within_promised": None, "within_statutory": None}
        if facts["accepted_on"] is None:
            return unknown
        concluded_on = date.fromisoformat(facts["concluded_on"])
        figures: dict[str, Any] = {}
        try:
            for limit in DECISION_LIMITS:  # the limits of the decision: its handling days
                name = limit.value.lower()
                inputs = deadline_inputs(facts, limit, facts[f"{name}_limit_days"])
                state = deadline_state(calendar, inputs, concluded_on)
                figures["handling_days"] = state.days_used
                figures[f"within_{name}"] = int(state.status == DeadlineStatus.CONCLUDED_ON_TIME)
        except DateOutsideCalendar:
            return unknown
        return figures


def _recorded(tx: Transaction, case_id: str) -> tuple[YearSchedule, ...]:
    rows = tx.fetchall(
        "SELECT schedule FROM view_case_calendar_years WHERE case_id = ? ORDER BY year", (case_id,)
    )
    return tuple(YearSchedule.from_fields(json.loads(schedule)) for (schedule,) in rows)


# Statistics: grouping and figures

DIMENSIONS: dict[str, tuple[str, ...]] = {
    "item": ("item_province", "item_code", "item_name"),
    "mode": ("mode",),
    "receiving_province": ("receiving_province",),
    "handling_province": ("handling_province",),
    "month": ("filed_month",),
}
FIGURE_COLUMNS = (
    "accepted_on",
    "concluded_on",
    "result",
    "refused",
    "handling_days",
    "promised_limit_days",
    "within_promised",
    "within_statutory",
    "extension_days",
    "materials",
    "supplement_rounds",
    "rating",
    "rectification_due_on",
    "rectification_responded",
    "appealed",
)
# from view_case_ratings; a rating without a row there was recorded before it: of the handling, no outcome
RATING_FIGURE_COLUMNS = {
    "rated_service": f"COALESCE(rated_service, '{RatedService.HANDLING.value}')",
    "appeal_outcome": "appeal_outcome",
}


@dataclass(frozen=True)
class StatisticsQuery:
    group_by: tuple[str, ...] = ("month",)
    from_month: str | None = None  # YYYY-MM, inclusive, of filing
    to_month: str | None = None
    mode: str | None = None
    item_code: str | None = None
    province: str | None = None  # only cases this province received or handled
    limit: int = 100
    after: tuple[str, ...] | None = None  # the group key of the last group of the previous page


def statistics(tx: Transaction, query: StatisticsQuery, today: date) -> list[dict[str, Any]]:
    """One page of groups, in the order of their keys; each with its volumes and figures."""
    keys = [column for dimension in query.group_by for column in DIMENSIONS[dimension]]
    where, params = ["1 = 1"], []
    for clause, value in (
        ("filed_month >= ?", query.from_month),
        ("filed_month <= ?", query.to_month),
        ("mode = ?", query.mode),
        ("item_code = ?", query.item_code),
    ):
        if value is not None:
            where.append(clause)
            params.append(value)
    if query.province is not None:
        where.append("(receiving_province = ? OR handling_province = ?)")
        params += [query.province, query.province]
    columns = (*keys, *FIGURE_COLUMNS, *RATING_FIGURE_COLUMNS)
    selected = ", ".join((*keys, *FIGURE_COLUMNS, *RATING_FIGURE_COLUMNS.values()))
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    sql = (
        f"SELECT {selected} FROM view_case_statistics s LEFT JOIN view_case_ratings r"  # noqa: S608 - our columns
        f" ON r.case_id = s.case_id WHERE {' AND '.join(where)}"
    )
    for found in tx.fetchall(sql, params):
        row = dict(zip(columns, found, strict=True))
        groups.setdefault(tuple(str(row[k]) for k in keys), []).append(row)
    ordered = sorted(key for key in groups if query.after is None or key > query.after)
    return [
        {"group": dict(zip(keys, key, strict=True)), **figures(groups[key], today)}
        for key in ordered[: query.limit]
    ]


def figures(rows: list[dict[str, Any]], today: date) -> dict[str, dict[str, Any]]:
    """The published figures of a group of cases, as of ``today`` (for overdue rectifications)."""
    concluded = [r for r in rows if r["concluded_on"] is not None]
    measured = [r for r in concluded if r["handling_days"] is not None]
    days = sorted(r["handling_days"] for r in measured)
    materials = [spared for r in rows for spared in json.loads(r["materials"]).values()]
    rated = [r for r in rows if r["rating"] is not None]
    # 复核: a 差评 whose appeal was upheld is set aside: it no longer counts, and its rectification is closed
    counted = [r for r in rated if r["appeal_outcome"] != AppealOutcome.UPHELD]
    rectifying = [r for r in counted if r["rectification_due_on"] and not r["rectification_responded"]]
    good = sum(r["rating"] in GOOD_SCORES for r in counted)
    refused = sum(bool(r["refused"]) for r in rows)
    withdrawn = sum(r["result"] == State.WITHDRAWN for r in rows)
    return {
        "volume": {
            "filed": len(rows),
            "accepted": sum(r["accepted_on"] is not None for r in rows),
            "refused": refused,
            "withdrawn": withdrawn,
            "concluded": len(concluded),
            "open": len(rows) - len(concluded) - refused - withdrawn,
        },
        "handling": {
            "measured": len(measured),
            "unmeasured": len(concluded) - len(measured),
            "average_days": _mean(days),
            "p90_days": days[math.ceil(0.9 * len(days)) - 1] if days else None,
            "average_promised_days": _mean([r["promised_limit_days"] for r in measured]),
            "within_promised": sum(r["within_promised"] for r in measured),
            "within_promised_rate": _rate(sum(r["within_promised"] for r in measured), len(measured)),
            "within_statutory_rate": _rate(sum(r["within_statutory"] for r in measured), len(measured)),
            "extended": sum(bool(r["extension_days"]) for r in rows),
        },
        "materials": {
            "on_file": len(materials),
            "spared": sum(materials),
            "spared_rate": _rate(sum(materials), len(materials)),
        },
        "supplements": {
            "rounds": sum(r["supplement_rounds"] for r in rows),
            "cases_with_supplement": sum(r["supplement_rounds"] > 0 for r in rows),
            "rounds_per_case": _mean([r["supplement_rounds"] for r in rows]),
        },
        "ratings": {
            "rated": len(rated),
            "counted": len(counted),
            "good": good,
            "good_rate": _rate(good, len(counted)),
            "of_window_service": sum(r["rated_service"] == RatedService.WINDOW for r in rated),
            "rectifications_open": len(rectifying),
            "rectifications_overdue": sum(
                date.fromisoformat(r["rectification_due_on"]) < today for r in rectifying
            ),
            "appealed": sum(bool(r["appealed"]) for r in rated),
            "appeals_upheld": len(rated) - len(counted),
            "appeals_rejected": sum(r["appeal_outcome"] == AppealOutcome.REJECTED for r in rated),
        },
    }


def _mean(values: Sequence[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def flatten(group: dict[str, Any]) -> dict[str, Any]:
    """A group as one CSV record: its key columns, then ``section.figure`` for every figure."""
    record = dict(group["group"])
    for section, values in group.items():
        if section != "group":
            record |= {f"{section}.{name}": value for name, value in values.items()}
    return record
