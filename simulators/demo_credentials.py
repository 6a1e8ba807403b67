"""The demo's 亮证 scene, on the four running nodes (docs/credentials.md):

1. Shanghai issues a driving licence and a credential of it to the holder's wallet; Jiangsu registers a police
   kit, which syncs Shanghai's status list from Jiangsu's node;
2. Jiangsu's node is cut off (stopped): the kit checks the licence offline, ACCEPT;
3. Shanghai revokes the licence; Jiangsu's node comes back, the kit syncs once: the same presentation is
   refused, REVOKED;
4. an Anhui ID card at a Zhejiang hotel: only the name and the ID number are shown.

The wallet and the kit are the libraries behind `tongban wallet` and `tongban verifier`; the platforms and the
admins speak REST.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from aggregates.certificate_types import DRIVING_LICENCE, ID_CARD
from credentials import qr
from credentials.check import Result, Verdict
from credentials.clock import unix_now
from credentials.jose import unverified_payload
from credentials.status_list import CredentialStatus, StatusList
from node.auth import Role
from simulators.cluster import token_for
from simulators.federated_flows import Federation
from simulators.federation_cluster import FederatedCluster
from simulators.rest import DemoError, call
from simulators.sample_data import sample_certificates
from verifier.kit import VerifierKit
from verifier.store import KitStore
from verifier.sync import sync_with_node
from wallet.wallet import Wallet

SH, JS, ZJ, AH = "310000", "320000", "330000", "340000"
POLICE, HOTEL = f"{JS}.police-0001", f"{ZJ}.hotel-0001"
WAIT_S = 90.0


class Scene:
    """What the scene needs of the running federation: REST, tokens, the nodes' clock, a place for files."""

    def __init__(
        self, fed: Federation, cluster: FederatedCluster, now: Callable[[], int], folder: Path
    ) -> None:
        self.fed, self.cluster, self.now, self.folder = fed, cluster, now, folder

    async def bundle(self, province: str, role: Role, operator: str) -> dict[str, Any]:
        token = token_for(self.cluster.issuer_key, province, role, "OFFICE01", operator)
        url = f"{self.cluster.nodes[province].http_url}/v1/verifier-kit/bundle"
        return await call(self.fed.session, "GET", url, {"Authorization": f"Bearer {token}"})

    async def until(self, what: str, probe: Callable[[], Awaitable[bool]]) -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if await probe():
                return
            await asyncio.sleep(0.2)
        raise DemoError(f"no {what} within {WAIT_S:.0f}s")

    async def credential(self, province: str, type_code: str, name: str) -> tuple[Wallet, str, int]:
        """A certificate of ``province``, a credential of it in a new wallet: (wallet, identifier, entry)."""
        body = next(
            b
            for b in sample_certificates(province, 14, today=self.fed.today, seed="亮证")
            if b["type_code"] == type_code
        )
        wallet = Wallet.create(self.folder / name)
        issued = await self.fed.post(province, "/v1/certificates", Role.ISSUER, body, 201)
        asked = {
            "identifier": issued["identifier"],
            "holder": {"id_type": body["holder_id_type"], "id_number": body["holder_id"]},
            "proof": wallet.proof(f"{province}.node.tongban", self.now()),
        }
        credential = await self.fed.post(province, "/v1/credentials", Role.PLATFORM, asked, 201)
        wallet.add(credential["credential"])
        index = unverified_payload(credential["credential"].split("~")[0])["status"]["status_list"]["idx"]
        return wallet, str(issued["identifier"]), int(index)

    async def kit(self, province: str, verifier_id: str, scenario: str) -> VerifierKit:
        """A kit set up and registered by its province's admin."""
        folder = self.folder / verifier_id
        key = KitStore.create_key(folder)
        pem = (self.cluster.federation_dir / "manifest.pub").read_bytes()
        manifest_key = serialization.load_pem_public_key(pem)
        assert isinstance(manifest_key, Ed25519PublicKey)  # noqa: S101 - the demo's own federation
        registration = {
            "verifier_id": verifier_id,
            "organisation": "演示单位",
            "scenarios": [scenario],
            "jwk": key.jwk,
        }
        await self.fed.post(province, "/v1/verifiers", Role.ADMIN, registration, 201)
        return VerifierKit(KitStore(folder), verifier_id, manifest_key)

    async def sync(self, kit: VerifierKit, province: str) -> None:
        token = token_for(self.cluster.issuer_key, province, Role.VERIFIER, "OFFICE01", kit.verifier_id)
        url = self.cluster.nodes[province].http_url
        await asyncio.to_thread(sync_with_node, kit, url, token, self.now())

    async def trust(self, wallet: Wallet, province: str) -> None:
        bundled = await self.bundle(province, Role.PLATFORM, "platform-1")
        wallet.keep_trust(bundled["verifiers"], bundled["policies"])

    async def entry(self, province: str, operator: str, issuer: str, index: int) -> CredentialStatus | None:
        token = (await self.bundle(province, Role.VERIFIER, operator))["status_lists"].get(issuer)
        if token is None:
            return None
        listed = unverified_payload(token)["status_list"]
        return StatusList.decode(listed["bits"], listed["lst"])[index]

    async def registered(self, province: str, verifier_id: str) -> bool:
        verifiers = (await self.bundle(province, Role.PLATFORM, "platform-1"))["verifiers"]
        return any(v["verifier_id"] == verifier_id for v in verifiers)


def nodes_clock(cluster: FederatedCluster) -> Callable[[], int]:
    """The nodes' clock in Unix seconds: the simulated one they were started with, or the machine's."""
    return lambda: unix_now(cluster.extra_env)


def _said(what: str, result: Result) -> None:
    age = f", status list {result.status_list_age_s} s old" if result.status_list_age_s is not None else ""
    shown = f", shown: {', '.join(sorted(result.disclosed))}" if result.disclosed else ""
    print(f"  {what}: {result.verdict.value} ({result.reason}{age}){shown}", flush=True)


async def credentials_scene(fed: Federation, cluster: FederatedCluster, now: Callable[[], int]) -> bool:
    """Run the scene; True when every check came out as it should."""
    print("\n亮证: credentials shown offline across provinces ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="tongban-credentials-") as folder:
        scene = Scene(fed, cluster, now, Path(folder))
        driver, licence, index = await scene.credential(SH, DRIVING_LICENCE, "driver")
        police = await scene.kit(JS, POLICE, "ROAD_CHECK")

        async def ready_at_jiangsu() -> bool:
            return await scene.entry(
                JS, POLICE, SH, index
            ) is CredentialStatus.VALID and await scene.registered(SH, POLICE)

        await scene.until("Shanghai's status list at Jiangsu", ready_at_jiangsu)
        await scene.sync(police, JS)
        await scene.trust(driver, SH)

        await asyncio.to_thread(cluster.nodes[JS].stop)  # Jiangsu's node is cut off
        request = police.request("ROAD_CHECK", DRIVING_LICENCE, ("holder_name", "holder_id", "number"), now())
        shown = driver.present(police.sign(request), now())
        compact = qr.compact(shown.presentation)
        code = qr.qr_code(compact)
        print(
            f"  the driver shows a QR code (version {code.version}-{code.error}, {len(compact)} bytes)",
            flush=True,
        )
        accepted = police.check(compact, request, now())
        _said("Jiangsu police, its node down, checks the Shanghai licence", accepted)

        await fed.post(SH, f"/v1/certificates/{licence}/revoke", Role.ISSUER, {"reason": "演示：吊销"})
        await asyncio.to_thread(cluster.nodes[JS].start)

        async def revoked_at_jiangsu() -> bool:
            return await scene.entry(JS, POLICE, SH, index) is CredentialStatus.INVALID

        await scene.until("the revocation at Jiangsu", revoked_at_jiangsu)
        await scene.sync(police, JS)
        refused = police.check(compact, request, now())
        _said("after one sync, the same presentation", refused)

        guest, _, _ = await scene.credential(AH, ID_CARD, "guest")
        hotel = await scene.kit(ZJ, HOTEL, "HOTEL_CHECK_IN")

        async def ready_at_zhejiang() -> bool:
            return AH in (await scene.bundle(ZJ, Role.VERIFIER, HOTEL))[
                "status_lists"
            ] and await scene.registered(AH, HOTEL)

        await scene.until("Anhui's status list at Zhejiang", ready_at_zhejiang)
        await scene.sync(hotel, ZJ)
        await scene.trust(guest, AH)
        desk = hotel.request("HOTEL_CHECK_IN", ID_CARD, ("holder_name", "holder_id"), now())
        welcomed = hotel.check(guest.present(hotel.sign(desk), now()).presentation, desk, now())
        _said("a Zhejiang hotel checks an Anhui ID card", welcomed)
    ok = (
        accepted.verdict is Verdict.ACCEPT
        and (refused.verdict, refused.reason) == (Verdict.REFUSE, "REVOKED")
        and welcomed.verdict is Verdict.ACCEPT
        and set(welcomed.disclosed) == {"holder_name", "holder_id"}
    )
    print(f"亮证: {'ALL CHECKS PASSED' if ok else 'A CHECK FAILED'}", flush=True)
    return ok
