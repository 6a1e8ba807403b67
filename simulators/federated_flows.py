"""The four cross-province flows of the federation, each officer calling the node of their OWN province.

Used by the demo (README command 1) and by the end-to-end tests. A province sees another province's step
only once its node has pulled it, so each flow waits, with a bound, for the replica to show the step.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from node.auth import Role
from simulators.cluster import token_for
from simulators.rest import DemoError, call
from simulators.sample_data import REVIEW_STEPS, consent_reference, sample_certificates

ID_CARD_TYPE = "11100000000013338W001"
REPLICA_WAIT_S = 30.0
TOKEN_REUSE_S = 3600.0  # tokens live 8 hours (node.auth.mint_token)
# A request a node sheds (429) is sent again after its Retry-After, never waiting longer than this each time,
# for at most SHED_RETRY_S in all.
SHED_WAIT_CAP_S = 5.0
SHED_RETRY_S = 20.0


class ReachableNode(Protocol):
    """A node process the simulators started, or a running node they were pointed at."""

    @property
    def http_url(self) -> str: ...


@dataclass(frozen=True)
class Applicant:
    name: str
    id_number: str
    id_card: str  # the identifier of their ID card (居民身份证) certificate, issued by their province; or ""
    id_type: str = "111"  # 111: a citizen's ID number; 001: a company's unified social credit code

    def body(self) -> dict[str, str]:
        return {"name": self.name, "id_type": self.id_type, "id_number": self.id_number}


@dataclass
class FlowResult:
    name: str
    provinces: tuple[str, ...]
    case_ids: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0


class Federation:
    """Officers of every province, each calling their own province's node."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        nodes: Mapping[str, ReachableNode],
        issuer_key: Path,
        today: date,  # the day of the nodes' clock: the certificates issued are valid then
    ) -> None:
        self.session, self.nodes, self.issuer_key, self.today = session, nodes, issuer_key, today
        self._tokens: dict[tuple[str, Role, int], tuple[str, float]] = {}
        self.shed = 0  # 429 answers: a node over its limit of requests in flight, each request sent again

    def headers(self, province: str, role: Role, officer: int = 1) -> dict[str, str]:
        """The token of ``officer`` (1, 2, ...) of that province's office for the role, minted once an hour:
        minting reads and parses the issuer's key and signs, which would cost the load client more than the
        request."""
        key = (province, role, officer)
        minted = self._tokens.get(key)
        if minted is None or time.monotonic() - minted[1] > TOKEN_REUSE_S:
            office = f"{province[:2]}-{role.value.upper()}-01"
            token = token_for(self.issuer_key, province, role, office, f"{role.value}-{officer}")
            minted = self._tokens[key] = (token, time.monotonic())
        return {"Authorization": "Bearer " + minted[0]}

    async def post(
        self,
        province: str,
        path: str,
        role: Role,
        body: Any = None,
        expect: int = 200,
        idempotency_key: str = "",
        officer: int = 1,
    ) -> dict[str, Any]:
        url = self.nodes[province].http_url + path
        headers = self.headers(province, role, officer)
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return await self._call("POST", url, headers, body or {}, expect)

    async def get(self, province: str, path: str, role: Role = Role.AUDITOR) -> dict[str, Any]:
        return await self._call("GET", self.nodes[province].http_url + path, self.headers(province, role))

    async def _call(
        self, method: str, url: str, headers: dict[str, str], body: Any = None, expect: int = 200
    ) -> dict[str, Any]:
        """One request, sent again when the node sheds it (429 and Retry-After: it was over its limit and did
        nothing), after the wait it asks (at most ``SHED_WAIT_CAP_S``), for at most ``SHED_RETRY_S``: like a
        well-behaved platform. Each request is retried on its own, so a flow of several steps never repeats
        a step that was taken."""
        deadline = time.monotonic() + SHED_RETRY_S
        while True:
            try:
                return await call(self.session, method, url, headers, body, expect)
            except DemoError as e:
                if e.status != 429 or time.monotonic() >= deadline:
                    raise
                self.shed += 1
                wait = 1.0 if e.retry_after_s is None else e.retry_after_s
                await asyncio.sleep(min(wait, SHED_WAIT_CAP_S))

    async def wait_for(
        self,
        province: str,
        path: str,
        ready: Callable[[dict[str, Any]], bool],
        what: str,
        bound_s: float = REPLICA_WAIT_S,
    ) -> dict[str, Any]:
        """Poll ``province``'s node until its replica of ``path`` satisfies ``ready`` (bounded)."""
        deadline = time.monotonic() + bound_s
        url = self.nodes[province].http_url + path
        while True:
            async with self.session.get(url, headers=self.headers(province, Role.AUDITOR)) as response:
                body: dict[str, Any] = await response.json(content_type=None)
                if response.status == 200 and ready(body):
                    return body
            if time.monotonic() > deadline:
                raise DemoError(f"province {province} did not show {what} within {bound_s:g}s")
            await asyncio.sleep(0.05)

    async def wait_for_state(self, province: str, case_id: str, state: str) -> dict[str, Any]:
        return await self.wait_for(
            province, f"/v1/cases/{case_id}", lambda c: c["state"] == state, f"case {case_id} {state}"
        )

    async def file_case(
        self,
        province: str,
        role: Role,
        item_province: str,
        item_code: str,
        mode: str,
        applicant: Applicant,
        parts: dict[str, str] | None = None,
        idempotency_key: str = "",
    ) -> dict[str, Any]:
        """File a case at ``province``'s node (its receiving province); with ``idempotency_key``, the same
        filing sent again gets the same case, not a second one."""
        body: dict[str, Any] = {
            "item_province": item_province,
            "item_code": item_code,
            "mode": mode,
            "applicant": applicant.body(),
        }
        if parts:
            body["parts"] = parts
        return await self.post(province, "/v1/cases", role, body, 201, idempotency_key)

    async def received_proxy_case(self, a: str, b: str, applicant: Applicant, consent: str) -> str:
        """A PROXY case A's window filed for B, with its materials, received (ready to forward)."""
        case = await self.file_case(a, Role.WINDOW, b, "GA-0003", "PROXY", applicant)
        await attach_required(self, a, Role.WINDOW, case, applicant, consent)
        await self.post(a, f"/v1/cases/{case['case_id']}/receive", Role.WINDOW)
        return str(case["case_id"])

    async def issue_id_card(self, province: str, seed: str) -> Applicant:
        """An ID card certificate issued by ``province``; its holder becomes an applicant.

        The same seed gives the same card, under one Idempotency-Key: a retry (the node was down) gets the
        card the first try issued, never a second issue of its number (which the node refuses)."""
        body = next(
            b
            for b in sample_certificates(province, 14, today=self.today, seed=seed)
            if b["type_code"] == ID_CARD_TYPE
        )
        key = "issue-" + hashlib.sha256(seed.encode()).hexdigest()[:32]
        created = await self.post(province, "/v1/certificates", Role.ISSUER, body, 201, idempotency_key=key)
        return Applicant(body["holder_name"], body["holder_id"], created["identifier"])


async def attach_required(
    fed: Federation, province: str, role: Role, case: dict[str, Any], applicant: Applicant, consent: str
) -> dict[str, Any]:
    """Attach each missing required material: the ID card certificate where it may replace it (免提交)."""
    item = await fed.get(
        province,
        f"/v1/catalogue/{case['item']['province']}/items/{case['item']['code']}?version={case['item']['version']}",
        role,
    )
    path = f"/v1/cases/{case['case_id']}/materials"
    for material in item["definition"]["materials"]:
        if material["code"] not in case["missing_materials"]:
            continue
        body: dict[str, str] = {"material_code": material["code"]}
        if ID_CARD_TYPE in material["substitutes"] and applicant.id_card:
            body |= {"certificate_identifier": applicant.id_card, "consent_reference": consent}
        else:
            body["file_digest"] = digest(material["code"])
        case = await fed.post(province, path, role, body)
    return case


async def approve(fed: Federation, province: str, case_id: str) -> None:
    """审查: 承办 and 审核 by one handling officer, 批准 by another, who gives their title."""
    for step, body, officer in REVIEW_STEPS:
        await fed.post(
            province, f"/v1/cases/{case_id}/review", Role.HANDLER, {"step": step, **body}, officer=officer
        )


async def proxy_flow(fed: Federation, a: str, b: str, applicant: Applicant) -> FlowResult:
    """异地代收代办: A's window receives and checks, forwards to B; B accepts and asks for a supplement,
    supplied through A; B concludes; A delivers; B archives. Both nodes end with the same timeline."""
    started = time.perf_counter()
    result = FlowResult("PROXY", (a, b))
    case_id = await fed.received_proxy_case(
        a, b, applicant, consent=consent_reference(a, f"PROXY-{applicant.id_card}")
    )
    result.case_ids.append(case_id)
    path = f"/v1/cases/{case_id}"
    await fed.post(a, path + "/forward", Role.WINDOW)
    await fed.wait_for_state(b, case_id, "FORWARDED")
    accepted = await fed.post(b, path + "/accept", Role.HANDLER)
    promised, statutory = accepted["deadlines"]["promised"], accepted["deadlines"]["statutory"]
    result.facts["deadlines"] = (
        f"accepted {accepted['accepted_on']}, promised due {promised['due_on']} ({promised['status']}), "
        f"statutory due {statutory['due_on']}"
        + "".join(
            f" (PROVISIONAL: {', '.join(map(str, state['provisional_years']))} not official yet)"
            for state in (statutory,)
            if state.get("calendar") == "PROVISIONAL"
        )
    )
    notice = {"missing": ["M02", "M04"], "reason": "身份证明与户口簿复印件不清晰"}
    await fed.post(b, path + "/supplement-request", Role.HANDLER, notice)
    await fed.wait_for_state(a, case_id, "SUPPLEMENT_REQUESTED")
    await fed.post(
        a, path + "/materials", Role.WINDOW, {"material_code": "M04", "file_digest": digest("M04b")}
    )
    # the ID card again, through A's window: B writes the case, verifies the card at A and recognises it
    again = {
        "material_code": "M02",
        "certificate_identifier": applicant.id_card,
        "consent_reference": consent_reference(a, "CONSENT-2"),
    }
    recognised = await fed.post(a, path + "/materials", Role.WINDOW, again)
    result.facts["recognised_through_receiving"] = [
        (r["issuing_province"], r["recognised"]) for r in recognised["recognitions"]
    ]
    supplied = await fed.post(a, path + "/supplement", Role.WINDOW)  # forwarded to B, B's answer seen at A
    result.facts["supplement_seen_at_receiving"] = supplied["state"]
    await fed.wait_for_state(b, case_id, "ACCEPTED")
    await approve(fed, b, case_id)
    await fed.post(b, path + "/conclude", Role.HANDLER, {"result": "ISSUED"})
    await fed.wait_for_state(a, case_id, "CONCLUDED")
    await fed.post(a, path + "/deliver", Role.WINDOW, {"method": "WINDOW", "reference": "跨省通办窗口领取"})
    await fed.wait_for_state(b, case_id, "DELIVERED")
    await fed.post(b, path + "/archive", Role.HANDLER)
    await fed.wait_for_state(a, case_id, "ARCHIVED")
    timelines = [_steps(await fed.get(p, path + "/timeline")) for p in (a, b)]
    result.facts["same_timeline"] = timelines[0] == timelines[1]
    result.facts["timeline_provinces"] = sorted({step[2] for step in timelines[0] if step[2]})
    result.facts["events"] = len(timelines[0])
    # the written notices B issued (文书: 受理, 补正, 准予许可) read alike at A, as B signed them
    notices = [(await fed.get(p, path + "/notices"))["notices"] for p in (a, b)]
    result.facts["notices"] = [n["kind"] for n in notices[0]] if notices[0] == notices[1] else None
    result.elapsed_s = time.perf_counter() - started
    return result


async def full_online_flow(fed: Federation, a: str, b: str, applicant: Applicant) -> FlowResult:
    """全程网办: an applicant of A applies online to B. B verifies A's certificates at A (核验), records its
    recognition decision (one recognised, one refused with a reason), and A records the use (用证记录)."""
    started = time.perf_counter()
    result = FlowResult("FULL_ONLINE", (a, b))
    case = await fed.file_case(b, Role.PLATFORM, b, "YM-0001", "FULL_ONLINE", applicant)
    case_id = case["case_id"]
    result.case_ids.append(case_id)
    path = f"/v1/cases/{case_id}"
    # a certificate of A that A suspended: B refuses to recognise it, and records why
    stranger = await fed.issue_id_card(a, seed=f"suspended-{case['case_no']}")
    await fed.post(a, f"/v1/certificates/{stranger.id_card}/suspend", Role.ISSUER, {"reason": "演示：暂扣"})
    refused_body = {
        "material_code": "M01",
        "certificate_identifier": stranger.id_card,
        "consent_reference": consent_reference(b, f"{case['case_no']}-0"),
    }
    refused = await fed.post(b, path + "/materials", Role.PLATFORM, refused_body, 422)
    result.facts["refusal_detail"] = refused.get("detail", "")
    case = await attach_required(
        fed, b, Role.PLATFORM, case, applicant, consent=consent_reference(b, case["case_no"])
    )
    result.facts["recognitions"] = [(r["recognised"], r.get("reason", "")) for r in case["recognitions"]]
    await fed.post(b, path + "/accept", Role.HANDLER)
    await approve(fed, b, case_id)
    await fed.post(b, path + "/conclude", Role.HANDLER, {"result": "ISSUED"})
    await fed.post(
        b, path + "/deliver", Role.HANDLER, {"method": "ELECTRONIC", "reference": "电子证明已推送"}
    )
    history = await fed.get(a, f"/v1/certificates/{applicant.id_card}/history")
    result.facts["uses_recorded_by_issuer"] = [
        e
        for e in history["entries"]
        if e["event"] == "Used" and e["detail"].get("case_reference") == case["case_no"]
    ]
    result.elapsed_s = time.perf_counter() - started
    return result


async def joint_flow(fed: Federation, a: str, c: str, d: str, applicant: Applicant) -> FlowResult:
    """多地联办: A accepts; C and D each conclude a part at their own node (forwarded to A, which writes
    the case); the case concludes once every part has. C and D see the outcome, never the applicant."""
    started = time.perf_counter()
    result = FlowResult("JOINT", (a, c, d))
    parts = {"P1": a, "P2": c, "P3": d}
    case = await fed.file_case(a, Role.WINDOW, a, "RS-0002", "JOINT", applicant, parts)
    case_id = case["case_id"]
    result.case_ids.append(case_id)
    path = f"/v1/cases/{case_id}"
    await attach_required(fed, a, Role.WINDOW, case, applicant, consent=consent_reference(a, case["case_no"]))
    await fed.post(a, path + "/receive", Role.WINDOW)
    await fed.post(a, path + "/accept", Role.HANDLER)
    for province, part in ((c, "P2"), (d, "P3")):
        await fed.wait_for_state(province, case_id, "ACCEPTED")
        await fed.post(province, path + f"/parts/{part}/conclude", Role.HANDLER, {"result": "ISSUED"})
    await fed.post(a, path + "/parts/P1/conclude", Role.HANDLER, {"result": "ISSUED"})
    await approve(fed, a, case_id)
    await fed.post(a, path + "/conclude", Role.HANDLER, {"result": "ISSUED"})
    for province in (c, d):
        seen = await fed.wait_for_state(province, case_id, "CONCLUDED")
        result.facts[f"parts_seen_at_{province}"] = {p["code"]: p["result"] for p in seen["parts"]}
    result.elapsed_s = time.perf_counter() - started
    return result


async def revocation_flow(
    fed: Federation, a: str, relying: tuple[str, ...], applicant: Applicant
) -> FlowResult:
    """Revocation push: open cases in several provinces rely on A's certificate; A revokes it; each case is
    flagged once, by the province that writes it."""
    started = time.perf_counter()
    result = FlowResult("REVOCATION", (a, *relying))
    holder = await fed.issue_id_card(a, seed=f"revoked-{applicant.id_number}")
    for province in relying:
        case = await fed.file_case(province, Role.PLATFORM, province, "YM-0001", "FULL_ONLINE", holder)
        await attach_required(
            fed, province, Role.PLATFORM, case, holder, consent=consent_reference(province, case["case_no"])
        )
        result.case_ids.append(case["case_id"])
    await fed.post(a, f"/v1/certificates/{holder.id_card}/revoke", Role.ISSUER, {"reason": "演示：吊销"})
    flags = {}
    for province, case_id in zip(relying, result.case_ids, strict=True):
        flagged = await fed.wait_for(
            province,
            f"/v1/cases/{case_id}",
            lambda c: bool(c["certificate_flags"]),
            f"case {case_id} flagged",
        )
        flags[province] = flagged["certificate_flags"]
    result.facts["flags"] = flags
    result.facts["certificate"] = holder.id_card
    result.elapsed_s = time.perf_counter() - started
    return result


async def bundle_flow(fed: Federation, a: str, applicant: Applicant) -> FlowResult:
    """出生一件事 at one province: one application, the ID card attached once per item, one delivery."""
    started = time.perf_counter()
    result = FlowResult("BUNDLE", (a,))
    bundle = await fed.post(
        a,
        "/v1/bundle-cases",
        Role.PLATFORM,
        {
            "bundle_province": a,
            "bundle_code": "YJS-BIRTH",
            "mode": "FULL_ONLINE",
            "applicant": applicant.body(),
        },
        201,
    )
    for case in bundle["cases"]:
        result.case_ids.append(case["case_id"])
        full = await fed.get(a, f"/v1/cases/{case['case_id']}")
        consent = consent_reference(a, case["case_no"])
        await attach_required(fed, a, Role.PLATFORM, full, applicant, consent=consent)
        await fed.post(a, f"/v1/cases/{case['case_id']}/accept", Role.HANDLER)
        await approve(fed, a, case["case_id"])
        await fed.post(a, f"/v1/cases/{case['case_id']}/conclude", Role.HANDLER, {"result": "ISSUED"})
    delivered = await fed.post(
        a,
        f"/v1/bundle-cases/{bundle['bundle_id']}/deliver",
        Role.WINDOW,
        {"method": "POST", "reference": "EMS"},
    )
    result.facts["delivered_together"] = delivered["delivered"] and {
        c["state"] for c in delivered["cases"]
    } == {"DELIVERED"}
    result.elapsed_s = time.perf_counter() - started
    return result


def _steps(timeline: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (e["version"], e["event"], e["province"], e["office_code"], e["operator_id"])
        for e in timeline["entries"]
    ]


def digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()
