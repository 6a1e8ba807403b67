"""亮证 end to end, with real node processes, the `tongban wallet` and `tongban verifier` commands:

- a Shanghai driving licence is checked by a Jiangsu police kit while Jiangsu's node is down;
- Shanghai revokes the licence; after one sync the same presentation is refused;
- the kit's records reach Shanghai's use log through the federation;
- an Anhui ID card is shown at a Zhejiang hotel, disclosing only the name and the ID number.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from aggregates.certificate_types import DRIVING_LICENCE, ID_CARD
from credentials import sd_jwt
from credentials.clock import unix_now
from credentials.jose import unverified_payload
from credentials.status_list import CredentialStatus, StatusList
from node.auth import Role
from simulators.cluster import token_for
from simulators.federated_flows import Federation
from simulators.federation_cluster import FederatedCluster
from simulators.sample_data import sample_certificates
from tests.dates import TEST_DATE
from tests.e2e.federation_support import poll_http, running_cluster

pytestmark = pytest.mark.e2e
SH, JS, ZJ, AH = "310000", "320000", "330000", "340000"
POLICE, HOTEL = f"{JS}.police-0001", f"{ZJ}.hotel-0001"
WAIT_S = 90.0
TONGBAN = str(Path(sys.executable).parent / "tongban")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FederatedCluster]:
    # sign status lists often: a revocation reaches the peers within a second or two
    with running_cluster(
        request, tmp_path_factory, (SH, JS, ZJ, AH), {"TONGBAN_STATUS_LIST_INTERVAL_S": "0.5"}
    ) as c:
        yield c


def node_now(cluster: FederatedCluster) -> int:
    """The nodes' clock (the test date, running from the nodes' shared start), in Unix seconds: the clock
    the nodes themselves read, as wallets and kits read it (credentials/clock.py)."""
    return unix_now(cluster.extra_env)


def tongban(cluster: FederatedCluster, *args: str, expect: int = 0) -> str:
    done = subprocess.run(
        [TONGBAN, *args, "--at", str(node_now(cluster))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == expect, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def api(cluster: FederatedCluster, scenario: Any) -> Any:
    async def run() -> Any:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            return await scenario(Federation(session, cluster.nodes, cluster.issuer_key, TEST_DATE))

    return asyncio.run(run())


def certificate_body(province: str, type_code: str) -> dict[str, Any]:
    return next(
        b
        for b in sample_certificates(province, 14, today=TEST_DATE, seed="亮证")
        if b["type_code"] == type_code
    )


def credential_for(
    cluster: FederatedCluster, province: str, type_code: str, wallet: Path
) -> tuple[str, dict[str, Any]]:
    """A certificate of ``province`` and a credential of it in the wallet: (identifier, its payload)."""
    body = certificate_body(province, type_code)
    tongban(cluster, "wallet", "init", "--dir", str(wallet))
    proof = tongban(
        cluster, "wallet", "proof", "--dir", str(wallet), "--audience", f"{province}.node.tongban"
    ).strip()

    async def issue(fed: Federation) -> tuple[str, str]:
        issued = await fed.post(province, "/v1/certificates", Role.ISSUER, body, 201)
        holder = {"id_type": body["holder_id_type"], "id_number": body["holder_id"]}
        asked = {"identifier": issued["identifier"], "holder": holder, "proof": proof}
        credential = await fed.post(province, "/v1/credentials", Role.PLATFORM, asked, 201)
        return str(issued["identifier"]), str(credential["credential"])

    identifier, credential = api(cluster, issue)
    (wallet / "issued.sd-jwt").write_text(credential)
    tongban(cluster, "wallet", "add", "--dir", str(wallet), "--file", str(wallet / "issued.sd-jwt"))
    return identifier, sd_jwt.SdJwt.parse(credential).payload()


def register_kit(
    cluster: FederatedCluster, province: str, verifier_id: str, scenario: str, kit: Path
) -> None:
    printed = tongban(
        cluster, "verifier", "init", "--dir", str(kit), "--verifier-id", verifier_id,
        "--manifest-key", str(cluster.federation_dir / "manifest.pub"),
    )  # fmt: skip
    registration = {
        "verifier_id": verifier_id,
        "organisation": "测试单位",
        "scenarios": [scenario],
        "jwk": json.loads(printed)["jwk"],
    }
    api(cluster, lambda fed: fed.post(province, "/v1/verifiers", Role.ADMIN, registration, 201))


def bundle(cluster: FederatedCluster, province: str, role: Role, operator: str) -> dict[str, Any]:
    token = token_for(cluster.issuer_key, province, role, "OFFICE01", operator)
    headers = {"Authorization": f"Bearer {token}"}

    async def get() -> dict[str, Any]:
        async with aiohttp.ClientSession() as session:
            url = f"{cluster.nodes[province].http_url}/v1/verifier-kit/bundle"
            async with session.get(url, headers=headers) as answer:
                assert answer.status == 200
                found: dict[str, Any] = await answer.json()
                return found

    return asyncio.run(get())


def entry(bundled: dict[str, Any], issuer: str, index: int) -> CredentialStatus | None:
    token = bundled["status_lists"].get(issuer)
    if token is None:
        return None
    listed = unverified_payload(token)["status_list"]
    return StatusList.decode(listed["bits"], listed["lst"])[index]


def at_jiangsu(cluster: FederatedCluster, index: int) -> bool:
    """Jiangsu holds Shanghai's list with the credential's entry, and its police kit's registration."""
    synced = bundle(cluster, JS, Role.VERIFIER, POLICE)
    police = any(v["verifier_id"] == POLICE for v in synced["verifiers"])
    return police and entry(synced, SH, index) is CredentialStatus.VALID


def registered(cluster: FederatedCluster, province: str, verifier_id: str) -> bool:
    """The kit's registration reached ``province``, whose platform passes it on to wallets."""
    verifiers = bundle(cluster, province, Role.PLATFORM, "platform-1")["verifiers"]
    return any(v["verifier_id"] == verifier_id for v in verifiers)


def sync(cluster: FederatedCluster, province: str, operator: str, kit: Path) -> None:
    token = token_for(cluster.issuer_key, province, Role.VERIFIER, "OFFICE01", operator)
    tongban(
        cluster,
        "verifier",
        "sync",
        "--dir",
        str(kit),
        "--node",
        cluster.nodes[province].http_url,
        "--token",
        token,
    )


def trust(cluster: FederatedCluster, province: str, wallet: Path) -> None:
    """The holder's platform passes the registered verifiers and the policies on to the wallet."""
    bundled = bundle(cluster, province, Role.PLATFORM, "platform-1")
    (wallet / "trust.json").write_text(json.dumps({k: bundled[k] for k in ("verifiers", "policies")}))
    tongban(cluster, "wallet", "trust", "--dir", str(wallet), "--file", str(wallet / "trust.json"))


def check(cluster: FederatedCluster, kit: Path, request: Path, shown: Path, expect: int) -> dict[str, Any]:
    printed = tongban(
        cluster, "verifier", "check", "--dir", str(kit), "--request", str(request),
        "--presentation", str(shown), expect=expect,
    )  # fmt: skip
    answer: dict[str, Any] = json.loads(printed)
    return answer


def test_a_licence_checked_offline_then_revoked_and_an_id_card_at_a_hotel(
    cluster: FederatedCluster, tmp_path: Path
) -> None:
    # Shanghai's driving licence in the holder's wallet; Jiangsu's police kit registered and synced
    identifier, credential = credential_for(cluster, SH, DRIVING_LICENCE, tmp_path / "driver")
    index = credential["status"]["status_list"]["idx"]
    register_kit(cluster, JS, POLICE, "ROAD_CHECK", tmp_path / "police")
    poll_http("Shanghai's list and the police kit at Jiangsu", lambda: at_jiangsu(cluster, index), WAIT_S)
    sync(cluster, JS, POLICE, tmp_path / "police")
    poll_http("the police kit at Shanghai", lambda: registered(cluster, SH, POLICE), WAIT_S)
    trust(cluster, SH, tmp_path / "driver")

    # Jiangsu's node goes down: the kit checks offline
    assert cluster.nodes[JS].stop() == 0
    request, shown = tmp_path / "request.jwt", tmp_path / "shown"
    tongban(
        cluster, "verifier", "request", "--dir", str(tmp_path / "police"), "--scenario", "ROAD_CHECK",
        "--type-code", DRIVING_LICENCE, "--claims", "holder_name,holder_id,number", "--out", str(request),
    )  # fmt: skip
    tongban(
        cluster, "wallet", "present", "--dir", str(tmp_path / "driver"), "--request", str(request),
        "--out", str(shown), "--compact",
    )  # fmt: skip
    accepted = check(cluster, tmp_path / "police", request, shown, expect=0)
    assert (accepted["verdict"], accepted["reason"]) == ("ACCEPT", "OK")
    assert set(accepted["disclosed"]) == {"holder_name", "holder_id", "number"}
    assert shown.with_suffix(".png").stat().st_size > 0  # the QR code the holder shows

    # Shanghai revokes the licence; Jiangsu returns, the kit syncs once, the same presentation is refused
    api(
        cluster,
        lambda fed: fed.post(SH, f"/v1/certificates/{identifier}/revoke", Role.ISSUER, {"reason": "吊销"}),
    )
    cluster.nodes[JS].start()
    poll_http(
        "the revocation at Jiangsu",
        lambda: entry(bundle(cluster, JS, Role.VERIFIER, POLICE), SH, index) is CredentialStatus.INVALID,
        WAIT_S,
    )
    sync(cluster, JS, POLICE, tmp_path / "police")
    refused = check(cluster, tmp_path / "police", request, shown, expect=1)
    assert (refused["verdict"], refused["reason"]) == ("REFUSE", "REVOKED")

    # the first check's record reached Shanghai's use log, through Jiangsu's node and the federation
    def offline_uses() -> list[dict[str, Any]]:
        history = api(
            cluster, lambda fed: fed.get(SH, f"/v1/certificates/{identifier}/history", Role.AUDITOR)
        )
        return [e for e in history["entries"] if e["detail"].get("channel") == "OFFLINE"]

    [use] = poll_http("the offline use at Shanghai", offline_uses, WAIT_S)
    assert (use["detail"]["requester_province"], use["detail"]["purpose"]) == (JS, "ROAD_CHECK")
    assert use["operator_id"] == POLICE

    # an Anhui ID card at a Zhejiang hotel: only the name and the ID number are shown
    credential_for(cluster, AH, ID_CARD, tmp_path / "guest")
    register_kit(cluster, ZJ, HOTEL, "HOTEL_CHECK_IN", tmp_path / "hotel")
    poll_http(
        "Anhui's list at Zhejiang",
        lambda: AH in bundle(cluster, ZJ, Role.VERIFIER, HOTEL)["status_lists"],
        WAIT_S,
    )
    poll_http("the hotel kit at Anhui", lambda: registered(cluster, AH, HOTEL), WAIT_S)
    sync(cluster, ZJ, HOTEL, tmp_path / "hotel")
    trust(cluster, AH, tmp_path / "guest")
    desk = tmp_path / "desk.jwt"
    tongban(
        cluster, "verifier", "request", "--dir", str(tmp_path / "hotel"), "--scenario", "HOTEL_CHECK_IN",
        "--type-code", ID_CARD, "--claims", "holder_name,holder_id", "--out", str(desk),
    )  # fmt: skip
    tongban(
        cluster, "wallet", "present", "--dir", str(tmp_path / "guest"), "--request", str(desk),
        "--out", str(tmp_path / "guest-shown"),
    )  # fmt: skip
    welcomed = check(cluster, tmp_path / "hotel", desk, tmp_path / "guest-shown", expect=0)
    assert welcomed["verdict"] == "ACCEPT"
    assert sorted(welcomed["disclosed"]) == ["holder_id", "holder_name"]
