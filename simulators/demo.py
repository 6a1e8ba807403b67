"""The main job for newcomers: four Yangtze River Delta nodes on SQLite, exercised through the real REST API.

- Each node gets the sample service catalogue of all four provinces (until federation carries catalogues).
- Each node issues a handful of certificates; each is verified at its issuing node by a platform of EVERY
  province, and each signed answer is checked against the issuing node's published key. One certificate per
  province is suspended and re-verified.
- Each node then runs a case in each 跨省通办 mode (PROXY handled by the next province, FULL_ONLINE, JOINT)
  and the birth 一件事 bundle, attaching its ID card certificate in place of the ID card material.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from aggregates.responsibility import Actor
from node.auth import Role
from node.bootstrap import build_services, close_services
from node.settings import PROVINCES, load_settings
from node.signing import ED25519, PublicKey
from simulators.cluster import YANGTZE_RIVER_DELTA, NodeProcess, prepare_keys, token_for
from simulators.demo_cases import CaseResults, IdCard, run_case_scenarios
from simulators.rest import DemoError, call
from simulators.sample_data import PROVISIONAL_CALENDAR, sample_catalogue, sample_certificates

CERTIFICATES_PER_PROVINCE = 3


@dataclass
class ProvinceResult:
    province: str
    issued: int = 0
    verified: int = 0
    signatures_ok: int = 0
    suspended_seen: int = 0
    id_card: IdCard | None = None  # an issued 居民身份证: its holder files the demo's cases
    errors: list[str] = field(default_factory=list)


async def run_demo(data_dir: Path, *, once: bool) -> int:
    issuer_key = prepare_keys(data_dir, YANGTZE_RIVER_DELTA)
    # chinesecalendar covers years to 2026; deadlines that cross New Year need some next year: a
    # PROVISIONAL one, labelled as such, for the demo only (README "Working-day calendar").
    calendar = {"TONGBAN_CALENDAR_FILES": str(PROVISIONAL_CALENDAR)}
    nodes = [NodeProcess(p, data_dir, calendar) for p in YANGTZE_RIVER_DELTA]
    print(
        f"loading the sample catalogue of {len(nodes)} provinces into each node under {data_dir} ...",
        flush=True,
    )
    await asyncio.gather(*(asyncio.to_thread(_load_catalogues, data_dir, n.province) for n in nodes))
    print(f"starting {len(nodes)} province nodes on SQLite ...", flush=True)
    try:
        await asyncio.gather(*(asyncio.to_thread(n.start) for n in nodes))
        for n in nodes:
            name = PROVINCES[n.province]
            print(f"  {n.province} {name}: REST {n.http_url}  gRPC {n.grpc_target}  log {n.log_path}")
        started = time.perf_counter()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            results = await asyncio.gather(*(_exercise(session, n, nodes, issuer_key) for n in nodes))
            case_results = await asyncio.gather(
                *(
                    _cases(session, n, nodes[(i + 1) % len(nodes)].province, issuer_key, r.id_card)
                    for i, (n, r) in enumerate(zip(nodes, results, strict=True))
                )
            )
        ok = _print_summary(results, time.perf_counter() - started)
        ok = _print_case_summary(case_results) and ok
        if once or not ok:
            return 0 if ok else 1
        print("serving; press Ctrl-C to stop", flush=True)
        await _wait_for_interrupt()
        return 0
    finally:
        await asyncio.gather(*(asyncio.to_thread(n.stop) for n in nodes))
        print("nodes stopped", flush=True)


async def _cases(
    session: aiohttp.ClientSession, node: NodeProcess, handling: str, issuer_key: Path, id_card: IdCard | None
) -> CaseResults:
    if id_card is None:
        return CaseResults(node.province, errors=["no ID card certificate was issued, so no applicant"])
    return await run_case_scenarios(session, node, handling, issuer_key, id_card)


def _load_catalogues(data_dir: Path, node: str) -> None:
    """Publish the sample catalogue of every province into one node's store, before the node starts."""
    services = build_services(load_settings(province=node, environ={"TONGBAN_DATA_DIR": str(data_dir)}))
    try:
        for province in YANGTZE_RIVER_DELTA:
            services.catalogue.load(sample_catalogue(), province, Actor(province, "CATALOGUE", "demo-loader"))
    finally:
        close_services(services)


def _print_case_summary(results: list[CaseResults]) -> bool:
    modes = ("PROXY", "FULL_ONLINE", "JOINT", "BUNDLE")
    print("\nprovince        " + "  ".join(f"{m:>11}" for m in modes) + "   (cases concluded through REST)")
    for r in results:
        print(
            f"{r.province} {PROVINCES[r.province]:<6} "
            + "  ".join(f"{r.concluded.get(m, 0):>11}" for m in modes)
        )
        for line in r.deadlines:
            print(f"  {line}")
        for error in r.errors:
            print(f"  ERROR {error}")
    if any("2027-" in line for r in results for line in r.deadlines):
        print(
            "  (2027 dates come from the PROVISIONAL demo calendar: weekends only, not the official schedule)"
        )
    ok = all(not r.errors and all(r.concluded.get(m) for m in modes) for r in results)
    print(
        "cases in all three modes and the birth 一件事 bundle: "
        + ("ALL CHECKS PASSED" if ok else "FAILURES ABOVE")
    )
    return ok


async def _wait_for_interrupt() -> None:
    with contextlib.suppress(asyncio.CancelledError):  # asyncio.run cancels the main task on Ctrl-C
        await asyncio.Event().wait()


async def _exercise(
    session: aiohttp.ClientSession, node: NodeProcess, nodes: list[NodeProcess], issuer_key: Path
) -> ProvinceResult:
    result = ProvinceResult(node.province)
    issuer = {"Authorization": "Bearer " + token_for(issuer_key, node.province, Role.ISSUER)}
    try:
        key = await _node_key(session, node)
        identifiers = []
        for body in sample_certificates(node.province, CERTIFICATES_PER_PROVINCE):
            created = await call(session, "POST", f"{node.http_url}/v1/certificates", issuer, body, 201)
            identifiers.append(created["identifier"])
            result.issued += 1
            if created["type_name"] == "居民身份证":
                result.id_card = IdCard(
                    created["identifier"], created["holder"]["name"], created["holder"]["id"]
                )
        for identifier in identifiers:
            for verifier in nodes:  # a platform of every province verifies at the issuing node
                headers = {
                    "Authorization": "Bearer " + token_for(issuer_key, verifier.province, Role.HANDLER)
                }
                answer = await call(
                    session,
                    "POST",
                    f"{node.http_url}/v1/verifications",
                    headers,
                    {"identifier": identifier},
                    200,
                )
                result.verified += (
                    answer["assertion"]["authentic"] and answer["assertion"]["status"] == "VALID"
                )
                result.signatures_ok += _signature_ok(answer, key)
        await call(
            session,
            "POST",
            f"{node.http_url}/v1/certificates/{identifiers[-1]}/suspend",
            issuer,
            {"reason": "演示：暂扣"},
            200,
        )
        answer = await call(
            session, "POST", f"{node.http_url}/v1/verifications", issuer, {"identifier": identifiers[-1]}, 200
        )
        result.suspended_seen += answer["assertion"]["status"] == "SUSPENDED" and _signature_ok(answer, key)
    except DemoError as e:
        result.errors.append(str(e))
    return result


async def _node_key(session: aiohttp.ClientSession, node: NodeProcess) -> PublicKey:
    async with session.get(f"{node.http_url}/v1/keys") as response:
        keys = (await response.json())["keys"]
    return PublicKey(ED25519, keys[0]["key_id"], keys[0]["public_key_pem"])


def _signature_ok(answer: dict[str, Any], key: PublicKey) -> bool:
    signature = answer["signature"]
    payload = base64.b64decode(signature["payload"])
    return signature["key_id"] == key.key_id and key.verify(payload, base64.b64decode(signature["value"]))


def _print_summary(results: list[ProvinceResult], elapsed_s: float) -> bool:
    provinces = len(results)
    print()
    print("province        issued  verified(by 4 provinces)  signatures ok  suspension seen")
    for r in results:
        checks = r.issued * provinces
        print(
            f"{r.province} {PROVINCES[r.province]:<6} {r.issued:>6}  {r.verified:>12}/{checks:<12} "
            f"{r.signatures_ok:>6}/{checks:<6}  {r.suspended_seen:>8}/1"
        )
        for error in r.errors:
            print(f"  ERROR {error}")
    total = sum(r.issued for r in results)
    ok = all(
        not r.errors and r.verified == r.signatures_ok == r.issued * provinces and r.suspended_seen == 1
        for r in results
    )
    print(
        f"\n{total} certificates issued and verified across {provinces} provinces in {elapsed_s:.1f}s: "
        f"{'ALL CHECKS PASSED' if ok else 'FAILURES ABOVE'}",
        flush=True,
    )
    return ok
