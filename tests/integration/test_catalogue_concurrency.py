"""The catalogue under concurrent writers, on both stores; CatalogueIndex in the domain; ?version= checked.

Concurrent PUTs contend on the province's CatalogueIndex (new items) or on one ServiceItem (revisions). They
must all be recorded, or be refused as a conflict (409), never fail with a server error.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from aiohttp import web
from eventsourcing.utils import get_topic, resolve_topic

from aggregates.catalogue import CatalogueIndex
from aggregates.responsibility import Actor
from node.auth import Role
from node.bootstrap import build_services, close_services
from node.schemas.cases import ITEM_DEFINITION
from node.services import Services
from node.settings import Settings
from node.store.application import AlreadyExists
from simulators.sample_data import sample_catalogue
from tests.conftest import Keys
from tests.integration.rest_client import Api, run

SH = "310000"
ADMIN = Actor(SH, "SH-ADMIN", "admin-1")


def definition(code: str = "RS-0001") -> dict[str, Any]:
    """A sample item's definition, as a PUT body (the code travels in the path)."""
    raw = next(i for i in sample_catalogue()["items"] if i["code"] == code)
    return {key: value for key, value in raw.items() if key in ITEM_DEFINITION["properties"]}


def test_concurrent_puts_are_all_recorded(node: Services, keys: Keys) -> None:
    body = definition()
    new_codes = [f"NEW-{n:02d}" for n in range(12)]

    async def scenario(api: Api, _app: web.Application) -> None:
        # New items at once: every one adds its code to the province's CatalogueIndex
        answers = await asyncio.gather(
            *(
                api.call("PUT", f"/v1/catalogue/{SH}/items/{code}", role=Role.ADMIN, body=body)
                for code in new_codes
            )
        )
        assert [(status, answer["outcome"]) for status, answer, _ in answers] == [(200, "published")] * 12
        # Revisions of one item at once: every one is a new version of the same ServiceItem
        answers = await asyncio.gather(
            *(
                api.call(
                    "PUT",
                    f"/v1/catalogue/{SH}/items/RS-0001",
                    role=Role.ADMIN,
                    body={**body, "promised_limit_days": days},
                )
                for days in range(4, 12)
            )
        )
        assert {status for status, _, _ in answers} == {200}
        assert sorted(answer["version"] for _, answer, _ in answers) == list(range(2, 10))
        status, listed, _ = await api.call("GET", f"/v1/catalogue/{SH}/items", role=Role.WINDOW)
        codes = [item["code"] for item in listed["items"]]
        assert status == 200
        assert len(codes) == len(set(codes)) == 41 + 12
        assert set(new_codes) <= set(codes)

    run(node, keys, scenario)


def test_writers_in_two_processes_retry_or_answer_a_conflict(settings: Settings) -> None:
    """Two nodes' services on ONE store (as two processes would be): per-process turns do not help, so a
    write that meets another's is read and applied again; a final failure is AlreadyExists (409)."""
    first, second = build_services(settings), build_services(settings)
    body = definition()
    outcomes: dict[str, str] = {}
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def publish(services: Services, codes: list[str]) -> None:
        start.wait()
        for code in codes:
            try:
                _, outcome = services.catalogue.publish_item(SH, {"code": code, **body}, ADMIN)
                outcomes[code] = outcome
            except AlreadyExists:
                outcomes[code] = "conflict"
            except BaseException as e:  # an IntegrityError here is the bug
                failures.append(e)

    try:
        threads = [
            threading.Thread(
                target=publish,
                args=(first if n % 2 else second, [f"P{n}-{k}" for k in range(4)] + ["SHARED-1"]),
            )
            for n in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert failures == []
        assert "published" in outcomes.values()
        recorded = {item.definition.code for item in first.catalogue.items(SH)}
        published = {code for code, outcome in outcomes.items() if outcome in ("published", "unchanged")}
        assert published <= recorded  # every write that answered success is listed
        assert recorded <= set(outcomes)
        assert first.catalogue.item(SH, "SHARED-1").version == 1  # created once, the others unchanged
    finally:
        close_services(first)
        close_services(second)


@pytest.mark.parametrize(
    ("query", "status", "pointer"),
    [
        ("?version=1", 200, None),
        ("?version=2", 200, None),
        ("?version=3", 404, None),  # no such version: not silently the latest
        ("?version=99", 404, None),
        ("?version=abc", 422, "/version"),
        ("?version=", 422, "/version"),
        ("?version=0", 422, "/version"),
        ("?version=-1", 422, "/version"),
        ("?version=1.0", 422, "/version"),
        ("?version=%EF%BC%91", 422, "/version"),  # a full-width digit one
        ("?version=" + "9" * 20, 422, "/version"),
    ],
)
def test_an_item_version_is_checked(
    node: Services, keys: Keys, query: str, status: int, pointer: str | None
) -> None:
    node.catalogue.publish_item(SH, {"code": "RS-0001", **definition(), "promised_limit_days": 2}, ADMIN)

    async def scenario(api: Api, _app: web.Application) -> None:
        answered, body, _ = await api.call(
            "GET", f"/v1/catalogue/{SH}/items/RS-0001{query}", role=Role.WINDOW
        )
        assert answered == status, body
        if status == 200:
            assert body["version"] == int(query.rsplit("=", 1)[1])
            assert body["definition"]["promised_limit_days"] == (3 if body["version"] == 1 else 2)
        else:
            assert body.get("pointer") == pointer

    run(node, keys, scenario)


def test_the_catalogue_index_is_a_domain_aggregate_and_old_topics_still_resolve(node: Services) -> None:
    index_id = CatalogueIndex.id_for(SH)
    stored = node.app.recorder.select_events(index_id, limit=1)
    assert stored[0].topic == get_topic(CatalogueIndex.Opened)
    assert stored[0].topic.startswith("aggregates.catalogue:CatalogueIndex")
    # events a store recorded before the move name node.catalogue: they still read
    assert resolve_topic("node.catalogue:CatalogueIndex.Opened") is CatalogueIndex.Opened
    assert resolve_topic("node.catalogue:CatalogueIndex.EntryAdded") is CatalogueIndex.EntryAdded
    index: CatalogueIndex = node.app.repository.get(index_id)
    assert len(index.items) == 41
