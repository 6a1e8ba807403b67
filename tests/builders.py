"""Builders for valid test inputs and test nodes; each test overrides only what it is about."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aggregates.calendar import WorkingCalendar
from aggregates.catalogue import ItemDefinition
from aggregates.certificate import Certificate, CertificateContent
from aggregates.responsibility import Actor
from node.settings import Settings, load_settings
from node.usecases.catalogue import CatalogueService
from simulators.sample_data import sample_catalogue, sample_certificates
from tests.dates import TEST_DATE

ACTOR = Actor("310000", "OFFICE01", "op-001")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# A holder's consent to a use (用证), in the documented format (aggregates/consent.py), given before any clock
# of the tests
CONSENT = "310000:20200101:AUTH-0001"
# A second holder (结婚证, jointly held property): synthetic, with a GB 11643 check digit of its own
OTHER_HOLDER = {"name": "李娜", "id_type": "111", "id": "31010419920506322X"}


# One 证照编号 per type and issuer: each body built gets a number of its own, so tests may issue a sample
# again (a fixed ``number`` override tests the refusal).
_NUMBERS = itertools.count(1)


def _numbered(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "number": f"{body['number']}-{next(_NUMBERS)}"}


def issue_body(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A valid POST /v1/certificates body (holder data is synthetic)."""
    return {**_numbered(sample_certificates("310000", n + 1, seed=7, today=TEST_DATE)[n]), **overrides}


def issue_fields(
    n: int = 0,
    issued_on: date | None = None,
    province: str = "310000",
    *,
    fresh_number: bool = True,
    **overrides: Any,
) -> dict[str, Any]:
    """The keyword arguments of ``CertificateService.issue`` for the sample certificate ``n`` of ``province``.
    With ``issued_on`` its dates are fixed (issued that day, valid as long as the sample's), not relative to
    today: tests on an injected clock use it."""
    body = sample_certificates(province, n + 1, seed=7, today=TEST_DATE)[n]
    if fresh_number:
        body = _numbered(body)
    if issued_on is not None:
        lasts = (
            date.fromisoformat(body["valid_to"]) - date.fromisoformat(body["valid_from"])
            if body["valid_to"]
            else None
        )
        body |= {
            "issue_date": issued_on.isoformat(),
            "valid_from": issued_on.isoformat(),
            "valid_to": (issued_on + lasts).isoformat() if lasts is not None else None,
        }
    return {"service_item_code": None, **body, **overrides}


# A day before the ``node`` fixture's clock (2025-09-24 in China): issued then, a certificate is in force.
NODE_ISSUED_ON = date(2025, 9, 1)


def node_issue_body(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A valid POST /v1/certificates body (and ``CertificateService.issue`` keywords) issued before the
    ``node`` fixture's clock: on it, the certificate is in force."""
    return issue_fields(n, NODE_ISSUED_ON, **overrides)


def content(serial: str = "2430599", **overrides: Any) -> CertificateContent:
    """The sample certificate 0, issued on T0's day (so ``issued()`` at T0 issues it that day)."""
    fields = issue_fields(0, issued_on=T0.date(), fresh_number=False, **overrides)
    return CertificateContent.create(serial=serial, **fields)


def issued(at: datetime = T0, **overrides: Any) -> Certificate:
    return Certificate.issue(
        content(**overrides),
        signature="c2lnbmF0dXJl",
        signature_algorithm="Ed25519",
        signing_key_id="0011223344556677",
        actor=ACTOR,
        at=at,
    )


def item(**overrides: Any) -> ItemDefinition:
    """A service item handled in 320000 that may be filed in any mode (joint parts in 320000/330000)."""
    fields: dict[str, Any] = {
        "code": "GA-0001",
        "name": "户口迁移",
        "department": "公安机关",
        "handling_province": "320000",
        "modes": ["FULL_ONLINE", "PROXY", "JOINT"],
        "materials": [
            {"code": "M01", "name": "居民身份证", "substitutes": ["11100000000013338W001"], "required": True},
            {"code": "M02", "name": "户口簿", "substitutes": [], "required": True},
            {"code": "M03", "name": "结婚证", "substitutes": [], "required": False},
        ],
        "statutory_limit_days": 20,
        "promised_limit_days": 10,
        "supplement_days": 5,
        "extension_days": 10,
        "fee_fen": 0,
        "joint_parts": [
            {"code": "P1", "name": "迁出地开具迁移证明", "role": "MOVE_OUT"},
            {"code": "P2", "name": "迁入地办理落户", "role": "MOVE_IN"},
        ],
        **overrides,
    }
    return ItemDefinition.create(**fields)


def item_fields(**overrides: Any) -> dict[str, Any]:
    """The fields ``CatalogueService.publish_item`` takes for :func:`item` (the province is its argument)."""
    fields = item(**overrides).as_event_fields()
    fields.pop("handling_province")
    return fields


class FakeClock:
    """An injectable clock that tests move by hand: time never passes by itself."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set_china_time(self, day: str, hour: int = 10) -> datetime:
        """Jump to ``hour`` o'clock China time on ``day`` (YYYY-MM-DD)."""
        self.now = datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00")
        return self.now


def day_by_day(calendar: WorkingCalendar, start: date, n: int) -> date:
    """The n-th working day after ``start``, counted one day at a time: the slow, obvious reference."""
    day = start
    while n:
        day += timedelta(days=1)
        n -= calendar.is_working_day(day)
    return day


def node_settings(data_dir: Path, province: str = "310000", **environ: str) -> Settings:
    """A node's settings as ``tongban node`` would load them, with its data under ``data_dir``."""
    return load_settings(province=province, environ={"TONGBAN_DATA_DIR": str(data_dir), **environ})


class InMemorySettings(Settings):
    """Settings whose event store is an in-memory SQLite database, for fast tests of the use cases through the
    composition root (``node.bootstrap.build_services``). Settings themselves cannot select an in-memory
    store, and eventsourcing's POPO store cannot hold the data keys (``node/store/data_keys.py`` needs an SQL
    datastore), so this is the one place that swaps the store: everything else is built as the node builds it.
    The read models' view store stays a file under ``data_dir``."""

    def eventsourcing_env(self) -> dict[str, str]:
        env = super().eventsourcing_env()
        name = hashlib.sha256(str(self.sqlite_path).encode()).hexdigest()[:16]
        return {**env, "SQLITE_DBNAME": f"file:tongban-{name}?mode=memory&cache=shared"}


def in_memory(settings: Settings) -> InMemorySettings:
    """The same settings, with the event store in memory (SQLite settings only)."""
    assert not settings.postgres_url, "an in-memory store replaces SQLite only"
    return InMemorySettings(**{f.name: getattr(settings, f.name) for f in fields(settings)})


CATALOGUE_PROVINCES = ("310000", "320000", "330000")


def load_sample_catalogues(
    catalogue: CatalogueService, provinces: tuple[str, ...] = CATALOGUE_PROVINCES
) -> None:
    """The sample catalogue, published as each province's (``CatalogueService.load``)."""
    for province in provinces:
        catalogue.load(sample_catalogue(), province, Actor(province, "CAT", "loader"))


# 行政许可法 第42条: what an extension (延期) carries besides its days and reason: the head of the organ who
# approved it and the notice that told the applicant why (given the day it is recorded, by default)
EXTENSION_APPROVAL: dict[str, Any] = {
    "approver_id": "JS-HEAD-01",
    "approver_title": "局长",
    "approver_office": "JS-GA-01",
    "notice_method": "ELECTRONIC",
    "notice_reference": "苏公延告〔2025〕1号",
}


# 行政许可法 第38条第二款: a negative decision (不予受理, 不予许可) states its reason, the legal basis and
# the remedies
# (the node adds the limits the law sets)
REMEDIES: dict[str, Any] = {
    "reconsideration_body": "江苏省人民政府",
    "litigation_court": "南京市中级人民法院",
}
REFUSAL: dict[str, Any] = {
    "reason": "申请事项不符合受理条件",
    "ground": "NOT_ELIGIBLE",
    "legal_basis": ["《中华人民共和国行政许可法》第三十二条第一款"],
    **REMEDIES,
}
DENIAL: dict[str, Any] = {
    "reason": "申请人不符合法定条件",
    "legal_basis": ["《中华人民共和国行政许可法》第三十八条第二款"],
    **REMEDIES,
}
# 特别程序 (行政许可法 第45条): the written notice that told the applicant how long it takes
SPECIAL_PROCEDURE_NOTICE: dict[str, Any] = {
    "expected_days": 10,
    "notice_method": "ELECTRONIC",
    "notice_reference": "苏公特告〔2025〕1号",
}
# 补正超时驳回 after acceptance: a handler's reasoned conclusion once the supplement lapsed
SUPPLEMENT_TIMEOUT_DECISION: dict[str, Any] = {
    "result": "SUPPLEMENT_TIMEOUT",
    "reason": "申请人逾期未补正材料",
    "legal_basis": ["《中华人民共和国行政许可法》第三十八条第二款"],
    **REMEDIES,
}
APPROVER_TITLE = "科长"  # 批准 names the approver's role


# the same over REST: (step, the token's operator id, extra body); 承办 by the default operator
REST_REVIEW_CALLS: list[tuple[str, str, dict[str, str]]] = [
    ("UNDERTAKE", "op-001", {}),
    ("CHECK", "op-001", {}),
    ("APPROVE", "op-002", {"title": APPROVER_TITLE}),
]


def approver_of(undertaker: Actor) -> Actor:
    """Another officer of the same office: 批准 is recorded by another person than 承办."""
    return Actor(undertaker.province, undertaker.office_code, f"{undertaker.operator_id}-approver")


def review_calls(handler: Actor) -> list[tuple[str, Actor, dict[str, Any]]]:
    """承办 → 审核 → 批准 as the service records them: (step, who, extra arguments)."""
    return [
        ("UNDERTAKE", handler, {}),
        ("CHECK", handler, {}),
        ("APPROVE", approver_of(handler), {"title": APPROVER_TITLE}),
    ]
