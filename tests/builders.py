"""Builders for valid test inputs; each test overrides only what it is about."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from aggregates.calendar import WorkingCalendar
from aggregates.catalogue import ItemDefinition
from aggregates.certificate import Certificate, CertificateContent
from aggregates.responsibility import Actor
from simulators.sample_data import sample_certificates

ACTOR = Actor("310000", "OFFICE01", "op-001")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def issue_body(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A valid POST /v1/certificates body (holder data is synthetic)."""
    return {**sample_certificates("310000", n + 1, seed=7)[n], **overrides}


def content(serial: str = "2430599", **overrides: Any) -> CertificateContent:
    fields = {"service_item_code": None, **issue_body(), **overrides}
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
