"""End to end, personal data across real node processes (Shanghai and Jiangsu, mutual TLS, SQLite): several
people get an ID card in Shanghai and file proxy cases there that Jiangsu handles (核验 included); one is
forgotten at Shanghai through the REST API, and Jiangsu's copy reads as erased once the notice arrives.
Then every log line of both nodes, their metrics and the error answers are searched for every name and ID
number: none may appear (and the search finds one that is planted)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from functools import partial
from typing import Any

import aiohttp
import pytest

from aggregates.erasure import ERASED
from node.auth import Role
from simulators.cluster import token_for
from simulators.federated_flows import ID_CARD_TYPE, Applicant, Federation, proxy_flow
from simulators.federation_cluster import FederatedCluster
from simulators.sample_data import sample_certificates
from tests.dates import TEST_DATE
from tests.e2e import http_client as http
from tests.e2e.federation_support import poll_http, running_cluster
from tests.people import Person, people

pytestmark = pytest.mark.e2e
SH, JS = "310000", "320000"


@pytest.fixture(params=["sqlite"])
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FederatedCluster]:
    with running_cluster(request, tmp_path_factory, (SH, JS)) as federated:
        for province, peer in ((SH, JS), (JS, SH)):  # both pull from each other: forwarded commands pass
            poll_http(f"{province} pulling from {peer}", partial(connected, federated, province, peer))
        yield federated


def connected(cluster: FederatedCluster, province: str, peer: str) -> bool:
    status, ready = http.get_json(f"{cluster.nodes[province].http_url}/readyz")
    return bool(status == 200 and ready["checks"]["replication"][peer]["connected"])


def leaks(text: str, persons: list[Person]) -> list[str]:
    """Every person whose name or ID number occurs in the text."""
    return [p.name for p in persons if p.name in text or p.id_number in text]


def test_no_personal_data_in_logs_metrics_or_errors_and_a_peer_erases_on_notice(
    cluster: FederatedCluster,
) -> None:
    persons = people(4)
    forgotten = persons[0]

    async def scenario(fed: Federation) -> dict[str, Any]:
        cases = {}
        for person in persons:
            body = next(
                b
                for b in sample_certificates(SH, 14, seed=person.name, today=TEST_DATE)
                if b["type_code"] == ID_CARD_TYPE
            )
            card = await fed.post(SH, "/v1/certificates", Role.ISSUER, {**body, **person.holder()}, 201)
            result = await proxy_flow(
                fed, SH, JS, Applicant(person.name, person.id_number, card["identifier"])
            )
            cases[person.id_number] = result.case_ids[0]
        body = {"id_type": forgotten.id_type, "id_number": forgotten.id_number}
        erased = await fed.post(SH, "/v1/erasures", Role.ADMIN, body, 201)
        stranger = people(5)[4]  # nobody here: the 404 must not name them either
        problem = await fed.post(
            SH, "/v1/erasures", Role.ADMIN, {**body, "id_number": stranger.id_number}, 404
        )
        return {"cases": cases, "answers": [erased, problem], "stranger": stranger}

    async def run() -> dict[str, Any]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            result: dict[str, Any] = await scenario(
                Federation(session, cluster.nodes, cluster.issuer_key, TEST_DATE)
            )
            return result

    outcome: dict[str, Any] = asyncio.run(run())
    headers = {"Authorization": "Bearer " + token_for(cluster.issuer_key, JS, Role.HANDLER)}

    def applicant_at_js(person: Person) -> dict[str, Any]:
        url = f"{cluster.nodes[JS].http_url}/v1/cases/{outcome['cases'][person.id_number]}/applicant"
        status, shown = http.get_json(url, headers)
        assert status == 200
        return dict(shown)

    poll_http("the erasure at Jiangsu", lambda: applicant_at_js(forgotten)["name"] == ERASED)
    assert applicant_at_js(forgotten)["id_number"] == ERASED
    assert [applicant_at_js(p)["name"] for p in persons[1:]] == [p.name for p in persons[1:]]

    everyone = [*persons, outcome["stranger"]]
    answers = str(outcome["answers"])
    metrics = "".join(http.get_text(f"{node.http_url}/metrics") for node in cluster.nodes.values())
    cluster.stop()
    logs = "".join(node.log_path.read_text() for node in cluster.nodes.values())
    assert logs.count("\n") > 100  # a full scenario's lines
    assert '"federation.copy_erased"' in logs
    assert leaks(logs + "\n" + metrics + "\n" + answers, everyone) == []
    planted = f'{{"event": "oops", "holder": "{forgotten.name}"}}'
    assert leaks(logs + planted, everyone) == [forgotten.name]  # the search would find a leak
