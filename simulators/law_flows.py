"""The law of a case across two provinces (异地代收代办, PROXY), driven by officers over REST on a node
clock that runs fast enough for working days to pass (``LAW_TIME_SCALE``):

- the window's one-time notice (补正告知, 行政许可法 第32条): province A's window gives it while it holds the
  case, the applicant supplies at A, and the acceptance dates from the day the materials were complete;
- a deemed acceptance (视为受理, 第32条): no notice and no decision within 5 working days of receipt, so the
  handling province's timer records that the application counts as accepted from the day of receipt;
  the handling province then decides, and A's window delivers within the delivery clock (送达, 第44条);
- a reasoned refusal (不予受理, 第32条 and 第38条): outside the handling office's competence, with the reason,
  the legal basis, the remedies and the competent agency, and its written decision (不予受理决定书) listed at
  both provinces.

The end-to-end tests and the demo run the same flows (``tests/e2e/test_law_of_a_case.py``,
``simulators/demo.py``).
"""

from __future__ import annotations

import time
from typing import Any

from node.auth import Role
from simulators.federated_flows import (
    Applicant,
    Federation,
    FlowResult,
    approve,
    attach_required,
    digest,
)
from simulators.sample_data import consent_reference, remedies

# Simulated seconds per real second: a day passes in about 4 s, so the 5 working days of the notice limit pass
# in about half a minute, while a flow's few REST calls take a fraction of a day.
LAW_TIME_SCALE = 20_000.0
# How long (real seconds) to wait for the timer to deem an application accepted: 5 working days can span a
# 7-day holiday week (about 12 calendar days, under a minute at LAW_TIME_SCALE), with room for a slow machine.
DEEMED_WAIT_S = 180.0
ITEM = "GA-0003"  # 新生儿入户: one of its required materials is left out for the window's notice
LEFT_OUT = "M04"


async def window_notice_flow(fed: Federation, a: str, b: str, applicant: Applicant) -> FlowResult:
    """A's window finds a material missing and gives the one-time notice at once; the applicant supplies it
    at A; A forwards; B accepts, and the acceptance dates from the day the materials were complete."""
    started = time.perf_counter()
    result = FlowResult("WINDOW_NOTICE", (a, b))
    case = await fed.file_case(a, Role.WINDOW, b, ITEM, "PROXY", applicant)
    case_id = str(case["case_id"])
    result.case_ids.append(case_id)
    path = f"/v1/cases/{case_id}"
    case["missing_materials"] = [m for m in case["missing_materials"] if m != LEFT_OUT]
    await attach_required(
        fed, a, Role.WINDOW, case, applicant, consent_reference(a, f"NOTICE-{applicant.id_card}")
    )
    await fed.post(a, path + "/receive", Role.WINDOW)
    notice = {"missing": [LEFT_OUT], "reason": "缺少随迁方居民户口簿"}
    noticed = await fed.post(a, path + "/supplement-request", Role.WINDOW, notice)
    result.facts["notice_by"] = noticed["supplement"] and noticed["state"]
    await fed.post(
        a, path + "/materials", Role.WINDOW, {"material_code": LEFT_OUT, "file_digest": digest(LEFT_OUT)}
    )
    supplied = await fed.post(a, path + "/supplement", Role.WINDOW)
    result.facts["materials_complete_on"] = supplied["materials_complete_on"]
    await fed.post(a, path + "/forward", Role.WINDOW)
    await fed.wait_for_state(b, case_id, "FORWARDED")
    accepted = await fed.post(b, path + "/accept", Role.HANDLER)
    result.facts["accepted_on"] = accepted["accepted_on"]
    result.facts["notices_at_receiving"] = await _notice_kinds(fed, a, case_id)
    result.elapsed_s = time.perf_counter() - started
    return result


async def deemed_acceptance_flow(fed: Federation, a: str, b: str, applicant: Applicant) -> FlowResult:
    """A's window receives a complete application and forwards it; B lets the notice limit pass, so its timer
    deems the application accepted from the day of receipt; B decides; A's window delivers in time."""
    started = time.perf_counter()
    result = FlowResult("DEEMED_ACCEPTANCE", (a, b))
    case_id = await fed.received_proxy_case(
        a, b, applicant, consent=consent_reference(a, f"DEEMED-{applicant.id_card}")
    )
    result.case_ids.append(case_id)
    path = f"/v1/cases/{case_id}"
    received = await fed.get(a, path)
    result.facts["received_on"] = received["materials_complete_on"]
    await fed.post(a, path + "/forward", Role.WINDOW)
    deemed = await fed.wait_for(
        b,
        path,
        lambda c: c["state"] == "ACCEPTED" and bool(c["acceptance_deemed"]),
        f"case {case_id} deemed accepted",
        bound_s=DEEMED_WAIT_S,
    )
    result.facts["accepted_on"] = deemed["accepted_on"]
    result.facts["notice_limit"] = deemed["deadlines"]["notice"]
    await approve(fed, b, case_id)
    await fed.post(b, path + "/conclude", Role.HANDLER, {"result": "ISSUED"})
    concluded = await fed.wait_for_state(a, case_id, "CONCLUDED")
    result.facts["delivery_due_on"] = concluded["deadlines"]["delivery"]["due_on"]
    delivered = await fed.post(
        a, path + "/deliver", Role.WINDOW, {"method": "WINDOW", "reference": "跨省通办窗口领取"}
    )
    result.facts["delivery"] = delivered["deadlines"]["delivery"]["status"]
    timeline = await fed.get(a, path + "/timeline")
    result.facts["timeline"] = [entry["event"] for entry in timeline["entries"]]
    result.elapsed_s = time.perf_counter() - started
    return result


async def refusal_flow(fed: Federation, a: str, b: str, applicant: Applicant) -> FlowResult:
    """A's window receives and forwards; B refuses: the matter is outside its competence. The decision gives
    the reason, the basis, the remedies with their limits and the competent agency, and its written
    decision is listed at A as at B."""
    started = time.perf_counter()
    result = FlowResult("REASONED_REFUSAL", (a, b))
    case_id = await fed.received_proxy_case(
        a, b, applicant, consent=consent_reference(a, f"REFUSAL-{applicant.id_card}")
    )
    result.case_ids.append(case_id)
    path = f"/v1/cases/{case_id}"
    await fed.post(a, path + "/forward", Role.WINDOW)
    await fed.wait_for_state(b, case_id, "FORWARDED")
    refusal = {
        "reason": "申请人户籍不在本省，出生登记应向户籍所在地公安机关申请",
        "ground": "OUTSIDE_COMPETENCE",
        "legal_basis": ["《中华人民共和国行政许可法》第三十二条第一款第二项"],
        "competent_agency": "申请人户籍所在地公安机关户籍管理部门",
        **remedies(b),
    }
    await fed.post(b, path + "/refuse", Role.HANDLER, refusal)
    refused = await fed.wait_for_state(a, case_id, "REFUSED")
    result.facts["decision"] = refused["decision"]
    result.facts["notices_at_receiving"] = await _notice_kinds(fed, a, case_id)
    result.facts["notices_at_handling"] = await _notice_kinds(fed, b, case_id)
    result.elapsed_s = time.perf_counter() - started
    return result


async def _notice_kinds(fed: Federation, province: str, case_id: str) -> list[str]:
    listed: dict[str, Any] = await fed.get(province, f"/v1/cases/{case_id}/notices", Role.WINDOW)
    return [str(notice["kind"]) for notice in listed["notices"]]
