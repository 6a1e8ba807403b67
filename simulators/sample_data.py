"""Synthetic, ILLUSTRATIVE sample data: certificate types from the seeds, holders with valid check characters.

Names and ID numbers are generated, not real people. Credit codes of definers and issuers are made up but
carry valid GB 32100 check characters.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from aggregates.certificate_types import CERTIFICATE_TYPES
from aggregates.identifiers import citizen_id_check_char, credit_code_check_char


def credit_code(division: str, serial: int, authority: str = "1", kind: str = "1") -> str:
    body = f"{authority}{kind}{division}{serial:09d}"
    return body + credit_code_check_char(body)


def citizen_id(division: str, birth: str, sequence: int) -> str:
    body = f"{division}{birth}{sequence:03d}"
    return body + citizen_id_check_char(body)


# The day the sample holders gave their consents (用证授权): before any clock the simulators or tests run on.
CONSENT_GIVEN_ON = "20200101"


def consent_reference(platform: str, key: str) -> str:
    """A consent reference in the documented format (aggregates/consent.py) that the platform of division
    ``platform`` took, its id made from ``key`` (any text: ASCII letters, digits and hyphens are kept)."""
    consent_id = "".join(c if c.isascii() and (c.isalnum() or c == "-") else "-" for c in key)[-64:]
    return f"{platform}:{CONSENT_GIVEN_ON}:{consent_id or 'CONSENT'}"


SAMPLE_CATALOGUE = Path(__file__).resolve().parent / "data" / "sample_catalogue.json"
# Certificate types the sample certificates are drawn from (declared in aggregates/certificate_types.py),
# with their validity in years (None: no expiry).
_VALIDITY_YEARS = {"机动车驾驶证": 6, "居住证": 1, "结婚证": None, "居民身份证": 20}


def certificate_types() -> list[tuple[str, str, str, int | None]]:
    """(type name, definer, type code, validity years) of the declared types used here."""
    return [
        (t.name, t.definer, t.code, _VALIDITY_YEARS[t.name])
        for t in CERTIFICATE_TYPES
        if t.name in _VALIDITY_YEARS
    ]


def sample_catalogue() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SAMPLE_CATALOGUE.read_text(encoding="utf-8"))
    return document


SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军")


def sample_certificates(
    province: str, count: int, *, today: date, seed: int | str | None = None
) -> list[dict[str, Any]]:
    """``count`` issue-request bodies for certificates issued in ``province`` (POST /v1/certificates), valid
    on ``today``: the day of the nodes' clock, never the machine's."""
    rng = random.Random(seed if seed is not None else f"{province}-{count}")
    types = certificate_types()
    issuer = credit_code(province, 1000 + rng.randrange(1000))
    bodies = []
    for n in range(count):
        type_name, definer, type_code, years = types[n % len(types)]
        issued = today - timedelta(days=30 + rng.randrange(300))  # recent, so still valid that day
        issue_date = issued.isoformat()
        holder_id = citizen_id(
            province[:2] + "0101", f"{1960 + rng.randrange(40)}0{1 + rng.randrange(9)}15", rng.randrange(1000)
        )
        bodies.append(
            {
                "type_code": type_code,
                "type_name": type_name,
                "name": f"中华人民共和国{type_name}",
                "number": f"{province[:2]}{rng.randrange(10**10):010d}",
                "issuer_name": f"{province} 示例发证机关",
                "issuer_code": issuer,
                "definer": definer,
                "issue_date": issue_date,
                "valid_from": issue_date,
                "valid_to": (issued + timedelta(days=365 * years)).isoformat() if years else None,
                "jurisdiction_code": province,
                "holder_name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                "holder_id_type": "111",
                "holder_id": holder_id,
                "file_digest": "sha256:"
                + hashlib.sha256(f"{province}-{n}-{rng.random()}".encode()).hexdigest(),
            }
        )
    return bodies


# 审查 as the sample officers record it: 承办 and 审核 by one handling officer, 批准 by another (officer 2),
# who gives their title; the same person may not undertake and approve.
REVIEW_STEPS: tuple[tuple[str, dict[str, str], int], ...] = (
    ("UNDERTAKE", {"opinion": "同意"}, 1),
    ("CHECK", {"opinion": "同意"}, 1),
    ("APPROVE", {"opinion": "同意", "title": "科长"}, 2),
)


# Who hears a 行政复议 of a provincial department's decision (本级人民政府) and a court that may hear
# the 行政诉讼, for the remedies a negative decision names (行政许可法 第38条). Illustrative: a real
# office names its own.
_REMEDIES = {
    "310000": ("上海市人民政府", "上海市第三中级人民法院"),
    "320000": ("江苏省人民政府", "南京市中级人民法院"),
    "330000": ("浙江省人民政府", "杭州市中级人民法院"),
    "340000": ("安徽省人民政府", "合肥市中级人民法院"),
}


def remedies(province: str) -> dict[str, str]:
    """The remedies a negative decision of ``province`` names: its 复议 body and a 诉讼 court."""
    body, court = _REMEDIES[province]
    return {"reconsideration_body": body, "litigation_court": court}


def extension_approval(province: str, reference: str) -> dict[str, str]:
    """The approval and notice an extension (延期) carries (行政许可法 第42条): the head of the organ who
    approved it, synthetic and illustrative, and the notice that told the applicant why, given today."""
    return {
        "approver_id": f"{province[:2]}-HEAD-01",
        "approver_title": "局长",
        "approver_office": f"{province[:2]}-HEAD",
        "notice_method": "ELECTRONIC",
        "notice_reference": reference,
    }
