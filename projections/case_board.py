"""电子监察: the case supervision board of one province — open cases by mode, state and role, the ones near
their deadline (yellow) or past it (red), and the ones waiting on another province.

One row per case this node holds (its own and replicated ones). Yellow and red come from the deadline timer's
recorded events (``DeadlineWarned``, ``DeadlineBreached``), so the board shows what was recorded, in whose
name, rather than recomputing the law. Who must act next is ``writer_of`` on the row, the rule the case uses.

Beside each row, the case's legal clock (``projections/deadline_clock.py``): a page of the board shows each
accepted case's due dates as of the day asked, PROVISIONAL where they count through a year without the
official schedule, and the last time a new schedule moved them, and why.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from eventsourcing.utils import get_topic

from aggregates.case import CLOCK_EVENTS, OPEN_STATES, STATE_AFTER, Case, State, fold_clock, writer_of
from aggregates.catalogue import Mode
from aggregates.deadline import DeadlineState
from infra.view_store import Transaction
from projections.deadline_clock import CalendarOf, deadline_states, delivery_state, new_clock, notice_state
from projections.row_batch import RowBatch

COLUMNS = (
    "case_id",
    "case_no",
    "mode",
    "state",
    "item_province",
    "item_code",
    "receiving_province",
    "handling_province",
    "part_provinces",
    "forwarded",
    "filed_at",
    "accepted_on",
    "concluded_on",
    "result",
    "warned",
    "breached",
    "writer",
    "updated_at",
)
DDL = """CREATE TABLE IF NOT EXISTS view_case_board (
    case_id TEXT PRIMARY KEY,
    case_no TEXT NOT NULL,
    mode TEXT NOT NULL,
    state TEXT NOT NULL,
    item_province TEXT NOT NULL,
    item_code TEXT NOT NULL,
    receiving_province TEXT NOT NULL,
    handling_province TEXT NOT NULL,
    part_provinces TEXT NOT NULL,
    forwarded INTEGER NOT NULL,
    filed_at TEXT NOT NULL,
    accepted_on TEXT,
    concluded_on TEXT,
    result TEXT,
    warned INTEGER NOT NULL,
    breached INTEGER NOT NULL,
    writer TEXT NOT NULL,
    updated_at TEXT NOT NULL
)"""
CLOCK_DDL = "CREATE TABLE IF NOT EXISTS view_case_board_clock (case_id TEXT PRIMARY KEY, clock TEXT NOT NULL)"
# The task a case waits on a person of its handling office for (``Case.open_task``): a table of its own, so a
# board kept before tasks were gains it without a rebuild (no event before it opened one). ``task`` is null
# once decided.
TASK_DDL = """CREATE TABLE IF NOT EXISTS view_case_board_task (
    case_id TEXT PRIMARY KEY,
    task TEXT,
    since TEXT NOT NULL
)"""
TASKS = ("DECIDE_SUPPLEMENT_TIMEOUT",)


class CaseBoard:
    name = "case_board"
    tables = ("view_case_board", "view_case_board_clock", "view_case_board_task")

    def __init__(self) -> None:
        read: set[type[Any]] = {
            Case.Submitted,
            *STATE_AFTER,
            Case.SupplementProvided,
            Case.DeadlineWarned,
            Case.DeadlineBreached,
            Case.SupplementLapsed,
            *CLOCK_EVENTS,
        }
        self.topics: Sequence[str] = sorted(get_topic(cls) for cls in read)
        self._rows = RowBatch("view_case_board", COLUMNS)
        self._clocks = RowBatch("view_case_board_clock", ("case_id", "clock"), json_columns=("clock",))
        self._tasks = RowBatch("view_case_board_task", ("case_id", "task", "since"))

    def create(self, tx: Transaction) -> None:
        tx.execute(DDL)
        tx.execute(CLOCK_DDL)
        tx.execute(TASK_DDL)

    def apply(self, tx: Transaction, event: Any) -> None:
        """Change the batch's copy of the case's row; :meth:`flush` writes the batch's rows at once."""
        case_id, at = str(event.originator_id), event.timestamp.isoformat()
        if isinstance(event, Case.Submitted):
            parts = "".join(f",{p['province']}" for p in event.parts) + ("," if event.parts else "")
            receiving, handling = event.receiving_province, event.handling_province
            writer = writer_of(State.SUBMITTED, False, event.mode, receiving, handling)
            self._rows.add(tx, (
                case_id, event.case_no, event.mode, State.SUBMITTED.value, event.item_province,
                event.item_code, receiving, handling, parts, 0, at, None, None, None, 0, 0, writer, at,
            ))  # fmt: skip
            self._clocks.add(tx, (case_id, new_clock(event)))
            return
        clock = self._clocks.find(tx, case_id) if isinstance(event, CLOCK_EVENTS) else None
        if clock is not None:  # none for a case filed before the board kept clocks, until a rebuild
            fold_clock(clock["clock"], event)
        row = self._rows.get(tx, case_id)
        row["updated_at"] = at
        if isinstance(event, Case.SupplementLapsed):
            self._tasks.add(tx, (case_id, TASKS[0], event.lapsed_on))
        elif type(event) in STATE_AFTER and row["state"] == State.SUPPLEMENT_REQUESTED:
            # the case leaves the supplement: a lapsed one's task is decided (or moot, when withdrawn)
            task = self._tasks.find(tx, case_id)
            if task is not None:
                task["task"] = None
        if type(event) in STATE_AFTER:
            row["state"] = STATE_AFTER[type(event)].value
        if isinstance(event, Case.Forwarded):
            row["forwarded"] = 1
        elif isinstance(event, Case.Accepted):
            row["accepted_on"] = event.accepted_on
        elif isinstance(event, Case.AcceptanceDeemed):  # 行政许可法 第32条: handed to the handling province
            row["accepted_on"] = event.accepted_on
            row["forwarded"] = int(row["mode"] != Mode.FULL_ONLINE)
        elif isinstance(event, Case.SupplementLapsed):  # the handling province decides on it
            row["forwarded"] = int(row["mode"] != Mode.FULL_ONLINE)
        elif isinstance(event, Case.SupplementProvided):
            row["state"] = event.resume_state
        elif isinstance(event, Case.Concluded):
            row |= {"concluded_on": event.concluded_on, "result": event.result}
        elif isinstance(event, Case.DeadlineWarned):
            row["warned"] = 1
        elif isinstance(event, Case.DeadlineBreached):
            row["breached"] = 1
        row["writer"] = writer_of(
            row["state"],
            bool(row["forwarded"]),
            row["mode"],
            row["receiving_province"],
            row["handling_province"],
        )

    def flush(self, tx: Transaction) -> None:
        self._rows.flush(tx)
        self._clocks.flush(tx)
        self._tasks.flush(tx)


@dataclass(frozen=True)
class BoardQuery:
    """Filters of the board of ``province``; every one optional. ``after`` is the keyset cursor."""

    province: str
    role: str | None = None  # RECEIVING, HANDLING or PART
    mode: str | None = None
    state: str | None = None
    deadline: str | None = None  # YELLOW or RED
    waiting_on_peer: bool | None = None
    task: str | None = None  # DECIDE_SUPPLEMENT_TIMEOUT: the cases waiting for that decision
    open_only: bool = True
    sort: str = "filed_at"  # filed_at, updated_at or case_no
    descending: bool = False
    limit: int = 50
    after: tuple[str, str] | None = None  # (sort value, case_id) of the last row of the previous page


SORTS = ("filed_at", "updated_at", "case_no")


def query_board(tx: Transaction, query: BoardQuery) -> list[dict[str, Any]]:
    """One page, in a stable order (the sort column, then the case id): rows never repeat or go missing
    between pages, whatever changes meanwhile to rows of other pages."""
    where, params = _where(query)
    if query.after is not None:
        where.append(f"({query.sort}, case_id) {'<' if query.descending else '>'} (?, ?)")
        params.extend(query.after)
    direction = "DESC" if query.descending else "ASC"
    sql = (
        f"SELECT {', '.join(COLUMNS)} FROM view_case_board WHERE {' AND '.join(where)} "  # noqa: S608 - our own columns
        f"ORDER BY {query.sort} {direction}, case_id {direction} LIMIT ?"
    )
    rows = [board_row(row, query.province) for row in tx.fetchall(sql, (*params, query.limit))]
    return _with_tasks(tx, rows)


def _with_tasks(tx: Transaction, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with the task its case waits on a person for (``task``: {kind, since}, or null)."""
    tasks: dict[str, dict[str, str]] = {}
    if rows:
        marks = ", ".join("?" for _ in rows)
        found = tx.fetchall(
            f"SELECT case_id, task, since FROM view_case_board_task WHERE task IS NOT NULL "  # noqa: S608
            f"AND case_id IN ({marks})",
            [row["case_id"] for row in rows],
        )
        tasks = {case_id: {"kind": task, "since": since} for case_id, task, since in found}
    for row in rows:
        row["task"] = tasks.get(row["case_id"])
    return rows


def with_deadlines(
    tx: Transaction, rows: list[dict[str, Any]], today: date, calendar_of: CalendarOf
) -> list[dict[str, Any]]:
    """The rows with each case's due dates as of ``today`` (``due``, with each limit's recorded breach, the
    delivery limit's once decided, 行政许可法 第44条) and its last recomputation (``due_moved``): null before
    acceptance, and null when no new schedule ever moved them."""
    if not rows:
        return rows
    marks = ", ".join("?" for _ in rows)
    found = tx.fetchall(
        f"SELECT case_id, clock FROM view_case_board_clock WHERE case_id IN ({marks})",  # noqa: S608
        [row["case_id"] for row in rows],
    )
    clocks = {case_id: json.loads(clock) for case_id, clock in found}
    for row in rows:
        clock = clocks.get(row["case_id"])
        states = deadline_states(clock, calendar_of, today) if clock else None
        row["due"] = None
        if states is not None:
            promised, statutory = states
            delivery = delivery_state(clock, calendar_of, today) if clock else None
            counted = (promised, statutory) if delivery is None else (promised, statutory, delivery)
            provisional = sorted({year for state in counted for year in state.provisional_years})
            row["due"] = {
                "promised": promised.due_on.isoformat() if promised.due_on else None,
                "statutory": statutory.due_on.isoformat() if statutory.due_on else None,
                "calendar": "PROVISIONAL" if provisional else "OFFICIAL",
                "provisional_years": provisional,
                # a breach the timer recorded stays shown, even when a change since moved the date later
                "promised_breach": _breach_json(promised),
                "statutory_breach": _breach_json(statutory),
                # 行政许可法 第44条: null while no delivery clock runs (before the decision, or decided
                # before the clock was kept)
                "delivery": delivery.due_on.isoformat() if delivery and delivery.due_on else None,
                "delivery_breach": _breach_json(delivery) if delivery else None,
            }
        row["due_moved"] = clock["due_moved"] if clock else None
        notice = notice_state(clock, calendar_of, today) if clock else None
        row["notice_due"] = None
        if notice is not None:  # 行政许可法 第32条: the notice limit, before acceptance
            row["notice_due"] = {
                "due_on": notice.due_on.isoformat() if notice.due_on else None,
                "status": notice.status.value,
                "calendar": "PROVISIONAL" if notice.provisional_years else "OFFICIAL",
                "provisional_years": list(notice.provisional_years),
                "breach": _breach_json(notice),
            }
    return rows


def _breach_json(state: DeadlineState) -> dict[str, str] | None:
    breach = state.breach
    if breach is None:
        return None
    return {"due_on": breach.due_on.isoformat(), "recorded_on": breach.recorded_on.isoformat()}


def board_counts(tx: Transaction, province: str) -> dict[str, Any]:
    """The open cases of ``province`` by mode, state and role, and how many are yellow, red or waiting."""
    where, params = _where(BoardQuery(province))
    columns = "mode, state, receiving_province, handling_province, part_provinces, warned, breached, writer"
    rows = tx.fetchall(f"SELECT {columns} FROM view_case_board WHERE {' AND '.join(where)}", params)  # noqa: S608
    counts: dict[str, Any] = {
        "by_mode": {},
        "by_state": {},
        "by_role": {},
        "yellow": 0,
        "red": 0,
        "waiting_on_peer": 0,
        "awaiting_decision": 0,
    }
    for mode, state, receiving, handling, parts, warned, breached, writer in rows:
        counts["by_mode"][mode] = counts["by_mode"].get(mode, 0) + 1
        counts["by_state"][state] = counts["by_state"].get(state, 0) + 1
        for role in _roles(province, receiving, handling, parts):
            counts["by_role"][role] = counts["by_role"].get(role, 0) + 1
        counts["red"] += bool(breached)
        counts["yellow"] += bool(warned) and not breached
        counts["waiting_on_peer"] += writer != province
    where, params = _where(BoardQuery(province, role="HANDLING", task=TASKS[0]))
    [(awaiting,)] = tx.fetchall(f"SELECT COUNT(*) FROM view_case_board WHERE {' AND '.join(where)}", params)  # noqa: S608
    counts["awaiting_decision"] = awaiting
    return counts


def _where(query: BoardQuery) -> tuple[list[str], list[Any]]:
    p = query.province
    where = ["(receiving_province = ? OR handling_province = ? OR part_provinces LIKE ?)"]
    params: list[Any] = [p, p, f"%,{p},%"]
    roles = {
        "RECEIVING": ("receiving_province = ?", p),
        "HANDLING": ("handling_province = ?", p),
        "PART": ("part_provinces LIKE ?", f"%,{p},%"),
    }
    if query.role is not None:
        clause, value = roles[query.role]
        where.append(clause)
        params.append(value)
    if query.open_only or query.waiting_on_peer:
        where.append(f"state IN ({', '.join('?' for _ in OPEN_STATES)})")
        params.extend(sorted(s.value for s in OPEN_STATES))
    for column, wanted in (("mode", query.mode), ("state", query.state)):
        if wanted is not None:
            where.append(f"{column} = ?")
            params.append(wanted)
    if query.deadline == "RED":
        where.append("breached = 1")
    elif query.deadline == "YELLOW":
        where.append("warned = 1 AND breached = 0")
    if query.task is not None:
        where.append("case_id IN (SELECT case_id FROM view_case_board_task WHERE task = ?)")
        params.append(query.task)
    if query.waiting_on_peer is not None:
        where.append("writer <> ?" if query.waiting_on_peer else "writer = ?")
        params.append(p)
    return where, params


def _roles(province: str, receiving: str, handling: str, parts: str) -> list[str]:
    held = (
        ("RECEIVING", receiving == province),
        ("HANDLING", handling == province),
        ("PART", f",{province}," in parts),
    )
    return [role for role, holds in held if holds]


def board_row(row: Sequence[Any], province: str) -> dict[str, Any]:
    """A row as the API shows it to ``province``: its roles in the case, and whether it waits on a peer."""
    item = dict(zip(COLUMNS, row, strict=True))
    raw_parts = item.pop("part_provinces")
    roles = _roles(province, item["receiving_province"], item["handling_province"], raw_parts)
    item.pop("forwarded")
    writer = item["writer"]
    parts = [p for p in raw_parts.split(",") if p]
    open_case = item["state"] in {s.value for s in OPEN_STATES}
    breached, warned = item.pop("breached"), item.pop("warned")
    return {
        **item,
        "part_provinces": parts,
        "roles": roles,
        "open": open_case,
        "deadline": "RED" if breached else "YELLOW" if warned else "NONE",
        "writer": writer,
        "waiting_on_peer": open_case and writer != province,
    }
