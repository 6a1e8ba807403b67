"""The main job for newcomers: four Yangtze River Delta nodes on SQLite, exercised through the real REST API.

Each node issues a handful of certificates; each certificate is verified at its issuing node by a platform of
EVERY province (mutual recognition over REST until federation lands), and each signed answer is checked
against the issuing node's published key. One certificate per province is suspended and re-verified.
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

from node.auth import Role
from node.settings import PROVINCES
from node.signing import ED25519, PublicKey
from simulators.cluster import YANGTZE_RIVER_DELTA, NodeProcess, prepare_keys, token_for
from simulators.sample_data import sample_certificates

CERTIFICATES_PER_PROVINCE = 3


@dataclass
class ProvinceResult:
    province: str
    issued: int = 0
    verified: int = 0
    signatures_ok: int = 0
    suspended_seen: int = 0
    errors: list[str] = field(default_factory=list)


async def run_demo(data_dir: Path, *, once: bool) -> int:
    issuer_key = prepare_keys(data_dir, YANGTZE_RIVER_DELTA)
    nodes = [NodeProcess(p, data_dir) for p in YANGTZE_RIVER_DELTA]
    print(f"starting {len(nodes)} province nodes on SQLite under {data_dir} ...", flush=True)
    try:
        await asyncio.gather(*(asyncio.to_thread(n.start) for n in nodes))
        for n in nodes:
            name = PROVINCES[n.province]
            print(f"  {n.province} {name}: REST {n.http_url}  gRPC {n.grpc_target}  log {n.log_path}")
        started = time.perf_counter()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            results = await asyncio.gather(*(_exercise(session, n, nodes, issuer_key) for n in nodes))
        ok = _print_summary(results, time.perf_counter() - started)
        if once or not ok:
            return 0 if ok else 1
        print("serving; press Ctrl-C to stop", flush=True)
        await _wait_for_interrupt()
        return 0
    finally:
        await asyncio.gather(*(asyncio.to_thread(n.stop) for n in nodes))
        print("nodes stopped", flush=True)


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
            created = await _call(session, "POST", f"{node.http_url}/v1/certificates", issuer, body, 201)
            identifiers.append(created["identifier"])
            result.issued += 1
        for identifier in identifiers:
            for verifier in nodes:  # a platform of every province verifies at the issuing node
                headers = {
                    "Authorization": "Bearer " + token_for(issuer_key, verifier.province, Role.HANDLER)
                }
                answer = await _call(
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
        await _call(
            session,
            "POST",
            f"{node.http_url}/v1/certificates/{identifiers[0]}/suspend",
            issuer,
            {"reason": "演示：暂扣"},
            200,
        )
        answer = await _call(
            session, "POST", f"{node.http_url}/v1/verifications", issuer, {"identifier": identifiers[0]}, 200
        )
        result.suspended_seen += answer["assertion"]["status"] == "SUSPENDED" and _signature_ok(answer, key)
    except DemoError as e:
        result.errors.append(str(e))
    return result


class DemoError(Exception):
    pass


async def _call(
    session: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str], body: Any, expect: int
) -> dict[str, Any]:
    async with session.request(method, url, headers=headers, json=body) as response:
        payload: dict[str, Any] = await response.json(content_type=None)
        if response.status != expect:
            raise DemoError(f"{method} {url} answered {response.status}: {payload.get('detail', payload)}")
        return payload


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
