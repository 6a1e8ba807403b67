"""The main job for newcomers: a four-province federation on SQLite, exercised through the real REST API.

- A development PKI (root CA, one TLS certificate per node, a signed manifest) and four node processes that
  pull each other's cases over mutual TLS.
- Each node issues a handful of certificates; each is verified at its issuing node by a platform of EVERY
  province, and each signed answer is checked against the issuing node's published key. One certificate per
  province is suspended and re-verified.
- The cross-province flows, with each officer calling their OWN province's node: 异地代收代办 (PROXY),
  全程网办 with certificate recognition (FULL_ONLINE), 多地联办 (JOINT), revocation push, and a 一件事
  bundle, for every province in turn.
- Each node's signed tree head, cosigned by the other provinces' witnesses.
- 亮证 (``simulators.demo_credentials``): a Shanghai driving licence checked offline by a Jiangsu police kit
  while Jiangsu's node is down, refused after Shanghai revokes it and the kit syncs once; an Anhui ID card at
  a Zhejiang hotel, showing only the name and the ID number.
- The law of a case on two more nodes whose clock runs fast (``simulators.demo_law``): a deemed acceptance
  and a reasoned refusal.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import shutil
import signal
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp

from aggregates.certificate import Status
from node.auth import Role
from node.settings import PROVINCES
from node.signing import ED25519, PublicKey
from simulators.cluster import NodeProcess, token_for
from simulators.demo_credentials import credentials_scene, nodes_clock
from simulators.demo_law import law_of_a_case
from simulators.federated_flows import (
    Federation,
    FlowResult,
    bundle_flow,
    full_online_flow,
    joint_flow,
    proxy_flow,
    revocation_flow,
)
from simulators.federation_cluster import FederatedCluster
from simulators.rest import DemoError, call
from simulators.sample_data import consent_reference, sample_certificates
from simulators.simulate import nodes_today, simulated_time

CERTIFICATES_PER_PROVINCE = 3
DEMO_MARKER = ".tongban-demo"
WITNESS_WAIT_S = 30.0
# Every verification is a use of the certificate (用证): it names a purpose and the holder's consent
DEMO_USE = {"purpose": "演示：核验", "consent_reference": consent_reference("310000", "DEMO")}


@dataclass
class ProvinceResult:
    province: str
    issued: int = 0
    verified: int = 0
    signatures_ok: int = 0
    suspended_seen: int = 0
    errors: list[str] = field(default_factory=list)


async def run_demo(data_dir: Path, *, once: bool, start: date | None = None) -> int:
    _fresh(data_dir)
    # Witnesses check each other's tree heads every 2 s, so the summary can show them cosigned. A deadline
    # counting into a year without the official schedule is PROVISIONAL (docs/calendar.md).
    extra = {"TONGBAN_WITNESS_INTERVAL_S": "2", **simulated_time(0, start)}
    cluster = FederatedCluster(data_dir, extra_env=extra)
    print(
        f"creating a development PKI and loading the sample catalogue into {len(cluster.provinces)} stores "
        f"under {data_dir} ...",
        flush=True,
    )
    await asyncio.to_thread(cluster.prepare)
    nodes = list(cluster.nodes.values())
    print(f"starting {len(nodes)} province nodes on SQLite, federated over mutual TLS ...", flush=True)
    try:
        await asyncio.gather(*(asyncio.to_thread(n.start) for n in nodes))
        for n in nodes:
            name = PROVINCES[n.province]
            print(
                f"  {n.province} {name}: REST {n.http_url}  gRPC {n.grpc_target}  "
                f"federation 127.0.0.1:{n.federation_port}  log {n.log_path}"
            )
        _write_tour_env(data_dir, cluster)
        started = time.perf_counter()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            results = await asyncio.gather(
                *(_exercise(session, n, nodes, cluster.issuer_key, nodes_today(start)) for n in nodes)
            )
            ok = _print_summary(results, time.perf_counter() - started)
            fed = Federation(session, cluster.nodes, cluster.issuer_key, nodes_today(start))
            ok = await _flows(fed, cluster.provinces) and ok
            ok = await _witnessed(fed, cluster) and ok
            ok = await credentials_scene(fed, cluster, nodes_clock(cluster)) and ok
            _write_tour_env(data_dir, cluster)  # the scene restarted Jiangsu's node: its REST port is new
        ok = await law_of_a_case(data_dir / "law", start) and ok
        if once or not ok:
            return 0 if ok else 1
        print("serving; press Ctrl-C to stop", flush=True)
        await _wait_for_interrupt()
        return 0
    finally:
        await asyncio.gather(*(asyncio.to_thread(n.stop) for n in nodes))
        print("nodes stopped", flush=True)


def _write_tour_env(data_dir: Path, cluster: FederatedCluster) -> None:
    """``demo.env``: each node's REST address, the token issuer key and the nodes' clock, for the README's
    tour and the 亮证 walk-through (docs/credentials.md) to source."""
    lines = [f"API_{p}={node.http_url}" for p, node in cluster.nodes.items()]
    lines += [
        f"ISSUER_KEY={cluster.issuer_key.resolve()}",
        f"TONGBAN_DATA_DIR={data_dir.resolve()}",  # for `tongban audit ...` on a node's store
        f"TONGBAN_FEDERATION_DIR={cluster.federation_dir.resolve()}",
    ]
    # the nodes' simulated clock, when they run on one: wallets and verifier kits read it too
    lines += [f"{key}={value}" for key, value in cluster.extra_env.items() if key.startswith("TONGBAN_TIME_")]
    (data_dir / "demo.env").write_text("".join(f"export {line}\n" for line in lines), encoding="utf-8")
    print(f"  addresses for the README's tour: source {data_dir / 'demo.env'}", flush=True)


def _fresh(data_dir: Path) -> None:
    """Each run starts from empty stores and a new PKI; only a directory the demo made is ever removed."""
    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / DEMO_MARKER).exists():
            raise DemoError(
                f"{data_dir} is not empty and was not made by the demo: choose another --data-dir"
            )
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / DEMO_MARKER).write_text("made by `tongban demo`; removed by its next run\n")


async def _flows(fed: Federation, provinces: tuple[str, ...]) -> bool:
    """Every flow once per province, with the next provinces as the other parties."""
    print("\nflow          provinces                    seconds  checks")
    ok = True
    deadline_lines: list[str] = []
    for i, here in enumerate(provinces):
        nxt, third, fourth = (provinces[(i + k) % len(provinces)] for k in (1, 2, 3))
        try:
            applicant = await fed.issue_id_card(here, seed=f"demo-{here}")
            runs = [
                (await proxy_flow(fed, here, nxt, applicant), _proxy_ok),
                (await full_online_flow(fed, here, nxt, applicant), _online_ok),
                (await joint_flow(fed, here, third, fourth, applicant), _joint_ok),
                (await revocation_flow(fed, here, (nxt, third), applicant), _revocation_ok),
                (await bundle_flow(fed, here, applicant), lambda r: bool(r.facts["delivered_together"])),
            ]
        except DemoError as e:
            print(f"  {here}: ERROR {e}")
            ok = False
            continue
        for result, check in runs:
            passed = check(result)
            ok = ok and passed
            print(
                f"{result.name:<13} {' → '.join(result.provinces):<28} {result.elapsed_s:>7.2f}  "
                f"{'ok' if passed else 'FAILED ' + str(result.facts)}"
            )
        deadline_lines.append(runs[0][0].facts["deadlines"])
        print(f"  PROXY deadlines: {deadline_lines[-1]}")
    if any("PROVISIONAL" in line for line in deadline_lines):
        print(
            "  (a PROVISIONAL date counts through a year whose official schedule is not out yet: "
            "the statutory holidays only, docs/calendar.md)"
        )
    verdict = "ALL CHECKS PASSED" if ok else "FAILURES ABOVE"
    print(f"cross-province flows over the federation: {verdict}", flush=True)
    return ok


async def _witnessed(fed: Federation, cluster: FederatedCluster) -> bool:
    """Each province's latest signed tree head, once every other province's witness has cosigned it (the
    node logs each cosignature it keeps; a newer head signed meanwhile is waited for in turn)."""
    print("\nauditable history: each node's signed tree head, cosigned by the other provinces' witnesses")
    ok = True
    for province in cluster.provinces:
        others = set(cluster.provinces) - {province}
        for _newer_head in range(5):
            head = await fed.get(province, "/v1/transparency/head")
            await asyncio.to_thread(
                cluster.wait_for_cosignatures, province, head["tree_size"], WITNESS_WAIT_S
            )
            head = await fed.get(province, "/v1/transparency/head")
            cosigners = {c["witness"] for c in head["cosignatures"]}
            if others <= cosigners:
                break
        ok = ok and others <= cosigners
        print(
            f"  {province}: {head['tree_size']:>5} events, root {head['root_hash'][:16]}…, cosigned by "
            f"{', '.join(sorted(cosigners)) or 'no one within ' + str(WITNESS_WAIT_S) + ' s'}"
        )
    print(f"tree heads witnessed: {'ALL COSIGNED' if ok else 'MISSING COSIGNATURES ABOVE'}", flush=True)
    return ok


def _proxy_ok(result: FlowResult) -> bool:
    return result.facts["same_timeline"] is True and len(result.facts["timeline_provinces"]) == 2


def _online_ok(result: FlowResult) -> bool:
    recognitions = result.facts["recognitions"]
    return (
        recognitions == [(False, "status SUSPENDED"), (True, "")]
        and len(result.facts["uses_recorded_by_issuer"]) == 1
    )


def _joint_ok(result: FlowResult) -> bool:
    return all(
        parts == {"P1": "ISSUED", "P2": "ISSUED", "P3": "ISSUED"}
        for key, parts in result.facts.items()
        if key.startswith("parts_seen_at_")
    )


def _revocation_ok(result: FlowResult) -> bool:
    identifier = result.facts["certificate"]
    return all(flags == {identifier: "REVOKED"} for flags in result.facts["flags"].values())


async def _wait_for_interrupt() -> None:
    """Until Ctrl-C, or SIGTERM (a service manager, `kill`): either way the nodes are stopped afterwards."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        with contextlib.suppress(asyncio.CancelledError):  # asyncio.run cancels the main task on Ctrl-C
            await stop.wait()
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


async def _exercise(
    session: aiohttp.ClientSession, node: NodeProcess, nodes: list[NodeProcess], issuer_key: Path, today: date
) -> ProvinceResult:
    result = ProvinceResult(node.province)
    issuer = {"Authorization": "Bearer " + token_for(issuer_key, node.province, Role.ISSUER)}
    try:
        key = await _node_key(session, node)
        identifiers = []
        for body in sample_certificates(node.province, CERTIFICATES_PER_PROVINCE, today=today):
            created = await call(session, "POST", f"{node.http_url}/v1/certificates", issuer, body, 201)
            identifiers.append(created["identifier"])
            result.issued += 1
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
                    {"identifier": identifier, **DEMO_USE},
                    200,
                )
                result.verified += (
                    answer["assertion"]["authentic"] and answer["assertion"]["status"] == Status.VALID
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
            session,
            "POST",
            f"{node.http_url}/v1/verifications",
            issuer,
            {"identifier": identifiers[-1], **DEMO_USE},
            200,
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
