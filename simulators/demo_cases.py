"""Case scenarios for ONE node without federation (standalone): each 跨省通办 mode once, and a 一件事 bundle.

A standalone node holds every case alone, so the officers of every province involved act at that node; each
event still records which province, office and operator acted. A federated node writes only the cases its
province writes (``Case.writer``): see ``simulators/federated_flows.py`` for the flows across nodes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from node.auth import Role
from simulators.cluster import NodeProcess, token_for
from simulators.rest import DemoError, call
from simulators.sample_data import REVIEW_STEPS, consent_reference, extension_approval

ID_CARD_TYPE = "11100000000013338W001"


@dataclass(frozen=True)
class IdCard:
    identifier: str
    holder_name: str
    holder_id: str


@dataclass
class CaseResults:
    province: str
    concluded: dict[str, int] = field(default_factory=dict)  # mode -> cases that reached their end
    deadlines: list[str] = field(default_factory=list)  # the PROXY case's deadline line for the summary
    errors: list[str] = field(default_factory=list)


class Officers:
    """Bearer headers for the officers of any province, and the JSON calls they make at one node."""

    def __init__(self, session: aiohttp.ClientSession, node: NodeProcess, issuer_key: Path) -> None:
        self.session, self.node, self.issuer_key = session, node, issuer_key

    def headers(self, province: str, role: Role, officer: int = 1) -> dict[str, str]:
        office = f"{province[:2]}-{role.value.upper()}-01"
        operator = f"{role.value}-{officer}"
        return {"Authorization": "Bearer " + token_for(self.issuer_key, province, role, office, operator)}

    async def post(
        self, path: str, province: str, role: Role, body: Any = None, expect: int = 200, officer: int = 1
    ) -> dict[str, Any]:
        headers = self.headers(province, role, officer)
        return await call(self.session, "POST", self.node.http_url + path, headers, body or {}, expect)

    async def get(self, path: str, province: str, role: Role) -> dict[str, Any]:
        return await call(self.session, "GET", self.node.http_url + path, self.headers(province, role))


async def run_case_scenarios(
    session: aiohttp.ClientSession, node: NodeProcess, handling: str, issuer_key: Path, id_card: IdCard
) -> CaseResults:
    """PROXY handled by ``handling``, FULL_ONLINE, JOINT, the birth 一件事 bundle; returns what concluded.

    The applicant is the holder of ``id_card``, an ID card certificate issued by ``node``: a certificate
    replaces a material only for its own holder.
    """
    results = CaseResults(node.province)
    officers = Officers(session, node, issuer_key)
    applicant = {"name": id_card.holder_name, "id_type": "111", "id_number": id_card.holder_id}
    try:
        results.deadlines.append(await _proxy(officers, node.province, handling, applicant, id_card))
        results.concluded["PROXY"] = 1
        await _full_online(officers, node.province, applicant, id_card)
        results.concluded["FULL_ONLINE"] = 1
        await _joint(officers, node.province, handling, applicant, id_card)
        results.concluded["JOINT"] = 1
        results.concluded["BUNDLE"] = await _birth_bundle(officers, node.province, applicant, id_card)
    except DemoError as e:
        results.errors.append(str(e))
    return results


async def _proxy(
    officers: Officers, here: str, handling: str, applicant: dict[str, str], id_card: IdCard
) -> str:
    """异地代收代办: a window here receives 新生儿入户 for ``handling``; supplement, extension, conclusion."""
    case = await officers.post(
        "/v1/cases",
        here,
        Role.WINDOW,
        {"item_province": handling, "item_code": "GA-0003", "mode": "PROXY", "applicant": applicant},
        201,
    )
    path = f"/v1/cases/{case['case_id']}"
    await _attach_required(officers, path, here, Role.WINDOW, id_card)
    await officers.post(path + "/receive", here, Role.WINDOW)
    await officers.post(path + "/forward", here, Role.WINDOW)
    await officers.post(path + "/accept", handling, Role.HANDLER)
    await officers.post(
        path + "/supplement-request",
        handling,
        Role.HANDLER,
        {"missing": ["M04"], "reason": "户口簿复印件不清晰"},
    )
    await officers.post(
        path + "/materials", here, Role.WINDOW, {"material_code": "M04", "file_digest": _digest("M04b")}
    )
    await officers.post(path + "/supplement", here, Role.WINDOW)
    case = await officers.post(
        path + "/extend",
        handling,
        Role.HANDLER,
        {"days": 10, "reason": "需调取户籍档案", **extension_approval(handling, "延告-DEMO-0001")},
    )
    promised, statutory = case["deadlines"]["promised"], case["deadlines"]["statutory"]
    line = (
        f"PROXY {case['case_no']}: accepted {case['accepted_on']}, promised due {promised['due_on']} "
        f"({promised['status']}), statutory due {statutory['due_on']}"
    )
    await _approve(officers, path, handling)
    await officers.post(path + "/conclude", handling, Role.HANDLER, {"result": "ISSUED"})
    await officers.post(
        path + "/deliver", here, Role.WINDOW, {"method": "WINDOW", "reference": "跨省通办窗口领取"}
    )
    await officers.post(path + "/archive", handling, Role.HANDLER)
    await officers.post(path + "/rating", here, Role.PLATFORM, {"score": 5, "channel": "WINDOW"})
    timeline = await officers.get(path + "/timeline", here, Role.AUDITOR)
    if {e["province"] for e in timeline["entries"] if e["province"]} != {here, handling}:
        raise DemoError(f"{path}: the timeline does not show both provinces acting")
    return line


async def _full_online(officers: Officers, here: str, applicant: dict[str, str], id_card: IdCard) -> None:
    """全程网办: the applicant files 出入境记录查询 online; delivered electronically."""
    case = await officers.post(
        "/v1/cases",
        here,
        Role.PLATFORM,
        {"item_province": here, "item_code": "YM-0001", "mode": "FULL_ONLINE", "applicant": applicant},
        201,
    )
    path = f"/v1/cases/{case['case_id']}"
    await _attach_required(officers, path, here, Role.PLATFORM, id_card)
    await officers.post(path + "/accept", here, Role.HANDLER)
    await _approve(officers, path, here)
    await officers.post(path + "/conclude", here, Role.HANDLER, {"result": "ISSUED"})
    await officers.post(
        path + "/deliver", here, Role.HANDLER, {"method": "ELECTRONIC", "reference": "电子证明已推送"}
    )


async def _joint(
    officers: Officers, here: str, other: str, applicant: dict[str, str], id_card: IdCard
) -> None:
    """多地联办: 企业职工基本养老保险关系转移接续, the transfer-out part handled in another province."""
    case = await officers.post(
        "/v1/cases",
        here,
        Role.WINDOW,
        {
            "item_province": here,
            "item_code": "RS-0002",
            "mode": "JOINT",
            "applicant": applicant,
            "parts": {"P1": here, "P2": other, "P3": here},
        },
        201,
    )
    path = f"/v1/cases/{case['case_id']}"
    await _attach_required(officers, path, here, Role.WINDOW, id_card)
    await officers.post(path + "/receive", here, Role.WINDOW)
    await officers.post(path + "/accept", here, Role.HANDLER)
    await officers.post(path + "/parts/P2/conclude", other, Role.HANDLER, {"result": "ISSUED"})
    for part in ("P1", "P3"):
        await officers.post(path + f"/parts/{part}/conclude", here, Role.HANDLER, {"result": "ISSUED"})
    await _approve(officers, path, here)
    await officers.post(path + "/conclude", here, Role.HANDLER, {"result": "ISSUED"})


async def _birth_bundle(officers: Officers, here: str, applicant: dict[str, str], id_card: IdCard) -> int:
    """出生一件事: one application, the ID card attached once for every item, one combined delivery."""
    bundle = await officers.post(
        "/v1/bundle-cases",
        here,
        Role.PLATFORM,
        {"bundle_province": here, "bundle_code": "YJS-BIRTH", "mode": "FULL_ONLINE", "applicant": applicant},
        201,
    )
    for case in bundle["cases"]:
        path = f"/v1/cases/{case['case_id']}"
        await _attach_required(officers, path, here, Role.PLATFORM, id_card)
        await officers.post(path + "/accept", here, Role.HANDLER)
        await _approve(officers, path, here)
        await officers.post(path + "/conclude", here, Role.HANDLER, {"result": "ISSUED"})
    delivered = await officers.post(
        f"/v1/bundle-cases/{bundle['bundle_id']}/deliver",
        here,
        Role.WINDOW,
        {"method": "POST", "reference": "EMS"},
    )
    if not delivered["delivered"] or {c["state"] for c in delivered["cases"]} != {"DELIVERED"}:
        raise DemoError("the birth bundle was not delivered as one")
    return len(delivered["cases"])


async def _approve(officers: Officers, path: str, handling: str) -> None:
    """审查: 承办 → 审核 → 批准 (by another officer); a decision on the merits needs it."""
    for step, body, officer in REVIEW_STEPS:
        await officers.post(path + "/review", handling, Role.HANDLER, {"step": step, **body}, officer=officer)


async def _attach_required(officers: Officers, path: str, province: str, role: Role, id_card: IdCard) -> None:
    """Attach each missing required material: the ID card certificate where it may replace the material."""
    case = await officers.get(path, province, Role.AUDITOR)
    item = await officers.get(
        f"/v1/catalogue/{case['item']['province']}/items/{case['item']['code']}?version={case['item']['version']}",
        province,
        role,
    )
    for material in item["definition"]["materials"]:
        if material["code"] not in case["missing_materials"]:
            continue
        body: dict[str, str] = {"material_code": material["code"]}
        if ID_CARD_TYPE in material["substitutes"]:
            # 材料免提交: the certificate proves it, used (用证) with the holder's consent
            body |= {
                "certificate_identifier": id_card.identifier,
                "consent_reference": consent_reference(province, "DEMO"),
            }
        else:
            body["file_digest"] = _digest(material["code"])
        await officers.post(path + "/materials", province, role, body)


def _digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()
