"""The scenarios in which a registered verifier checks a credential offline (亮证场景), declared once.

From the 长三角 plan's scenes: the police's roadside check of a driving licence and a vehicle licence
(机动车路面查验), traffic violation handling (交通违法处理), the hotel check-in (宾馆旅馆住宿登记), and the
identity check at a service counter (窗口身份核验, like 随申码). Each names the certificate types it checks,
the claims it may ask of each, the oldest status list it trusts, and whether a staler list still gives
ACCEPT_STALE (a roadside check or a hotel desk may go on, showing the list's age; a fine or a counter service
may not).

Wallets and verifier kits receive them as JSON (``credentials.policy``). The claims of each type are among
those its credential discloses (``CertificateType.claims``), which a test holds them to
(tests/unit/test_credential_scenarios.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aggregates.certificate_types import DRIVING_LICENCE, ID_CARD, VEHICLE_LICENCE


@dataclass(frozen=True)
class Scenario:
    code: str
    name: str
    claims: Mapping[str, frozenset[str]]  # certificate type code -> the claims a verifier may ask
    max_status_age_s: int
    accept_stale: bool


_PERSON = frozenset({"holder_name", "holder_id"})
_DAY_S, _HOUR_S = 86_400, 3_600

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "ROAD_CHECK",
        "机动车路面查验",
        {DRIVING_LICENCE: _PERSON | {"number"}, VEHICLE_LICENCE: frozenset({"holder_name", "number"})},
        max_status_age_s=_DAY_S,
        accept_stale=True,
    ),
    Scenario(
        "TRAFFIC_VIOLATION",
        "交通违法处理",
        {DRIVING_LICENCE: _PERSON | {"number"}},
        max_status_age_s=_HOUR_S,
        accept_stale=False,
    ),
    Scenario(
        "HOTEL_CHECK_IN", "宾馆旅馆住宿登记", {ID_CARD: _PERSON}, max_status_age_s=_DAY_S, accept_stale=True
    ),
    Scenario(
        "COUNTER_IDENTITY", "窗口身份核验", {ID_CARD: _PERSON}, max_status_age_s=_HOUR_S, accept_stale=False
    ),
)
SCENARIO_CODES = frozenset(s.code for s in SCENARIOS)
