"""The cross-province case view: one case's merged timeline across every province involved, each step with the
province, office and operator responsible (责任追溯). A case's events from all its provinces reach this node
through replication in one stream, so the view is that stream, step by step."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from eventsourcing.utils import get_topic

from aggregates.case import CASE_EVENTS
from infra.view_store import Transaction

DDL = """CREATE TABLE IF NOT EXISTS view_case_steps (
    case_id TEXT NOT NULL, version INTEGER NOT NULL, at TEXT NOT NULL, event TEXT NOT NULL,
    province TEXT, office_code TEXT, operator_id TEXT, detail TEXT NOT NULL,
    PRIMARY KEY (case_id, version))"""
STEP_COLUMNS = ("version", "at", "event", "province", "office_code", "operator_id", "detail")
# Fields every step shows in its own columns, or that are the item's definition rather than the case's facts.
ACTOR = ("province", "office_code", "operator_id")
# A written notice's text (``content``) is the document, served from the case (GET .../notices/{notice_no}),
# not a step's detail: its number and digest are.
NOT_DETAIL = frozenset(
    ("originator_id", "originator_version", "timestamp", "originator_topic", "item", "content", *ACTOR)
)


DETAIL_JSON = json.JSONEncoder(ensure_ascii=False, default=str)  # built once: json.dumps builds one per call


class CaseView:
    name = "case_view"
    tables = ("view_case_steps",)

    def __init__(self) -> None:
        self.topics: Sequence[str] = sorted(get_topic(cls) for cls in CASE_EVENTS)
        self._steps: list[tuple[Any, ...]] = []
        self._case_ids: dict[Any, str] = {}
        self._batch_of: Transaction | None = None

    def create(self, tx: Transaction) -> None:
        tx.execute(DDL)

    def apply(self, tx: Transaction, event: Any) -> None:
        if tx is not self._batch_of:
            self._steps, self._case_ids, self._batch_of = [], {}, tx
        fields = vars(event)
        case_id = self._case_ids.get(event.originator_id)
        if case_id is None:  # a case's steps mostly come together: its id is written out once a batch
            case_id = self._case_ids[event.originator_id] = str(event.originator_id)
        detail = {key: value for key, value in fields.items() if key not in NOT_DETAIL}
        self._steps.append((
            case_id, event.originator_version, event.timestamp.isoformat(), type(event).__name__,
            fields.get("province"), fields.get("office_code"), fields.get("operator_id"),
            DETAIL_JSON.encode(detail),
        ))  # fmt: skip

    def flush(self, tx: Transaction) -> None:
        tx.insert_many("view_case_steps", ("case_id", *STEP_COLUMNS), self._steps)
        self._steps, self._batch_of = [], None


def case_steps(tx: Transaction, case_id: str) -> list[dict[str, Any]]:
    """Every step of one case, in order; empty when this node holds no such case."""
    rows = tx.fetchall(
        f"SELECT {', '.join(STEP_COLUMNS)} FROM view_case_steps WHERE case_id = ? ORDER BY version",  # noqa: S608
        (case_id,),
    )
    steps = [dict(zip(STEP_COLUMNS, row, strict=True)) for row in rows]
    for step in steps:
        step["detail"] = json.loads(step["detail"])
    return steps


def parties(steps: list[dict[str, Any]]) -> set[str]:
    """The provinces party to the case, from the step that filed it."""
    filed = steps[0]["detail"]
    return {filed["receiving_province"], filed["handling_province"], *(p["province"] for p in filed["parts"])}
