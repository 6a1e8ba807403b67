"""Signed tree heads and proofs of a node's transparency log over REST, on SQLite and PostgreSQL: each head
verifies with the node's public key, and each proof with the independent RFC 9162 verifier."""

from __future__ import annotations

import base64

from aiohttp import web

from federation.transparency_verify import verify_consistency, verify_inclusion
from federation.tree_heads import TreeHead
from node.auth import Role
from node.services import Services
from node.usecases.case_commands import ACCEPT
from tests.builders import FakeClock
from tests.conftest import Keys
from tests.integration.rest_client import Api, run
from tests.integration.test_case_service import JS_HANDLER, proxy_case


def test_signed_heads_and_proofs_verify_without_trusting_the_node(
    node: Services, clock: FakeClock, keys: Keys
) -> None:
    assert node.transparency.latest_head() is None
    proxy_case(node, clock)
    first = node.transparency.publish_head()
    assert first is not None
    assert node.transparency.publish_head() is None  # nothing new: no new head
    case_id = proxy_case(node, clock)
    node.cases.run(ACCEPT, case_id, JS_HANDLER)
    second = node.transparency.publish_head()
    assert second is not None
    assert second["tree_size"] > first["tree_size"]
    [public_key] = node.certificates.public_keys()

    async def scenario(api: Api, _app: web.Application) -> None:
        status, head, _headers = await api.call("GET", "/v1/transparency/head", role=Role.AUDITOR)
        assert status == 200, head
        assert head == {"province": node.province, **second, "cosignatures": []}
        assert public_key.verify(TreeHead.from_json(head).payload(), base64.b64decode(head["signature"]))
        forged = {**head, "root_hash": first["root_hash"]}
        assert not public_key.verify(
            TreeHead.from_json(forged).payload(), base64.b64decode(head["signature"])
        )

        size, root = head["tree_size"], bytes.fromhex(head["root_hash"])
        for index in (0, size // 2, size - 1):
            _status, proof, _headers = await api.call(
                "GET", f"/v1/transparency/inclusion?leaf_index={index}&tree_size={size}", role=Role.PLATFORM
            )
            path = [bytes.fromhex(h) for h in proof["path"]]
            assert verify_inclusion(index, size, bytes.fromhex(proof["leaf_hash"]), path, root)
        old = first["tree_size"]
        _status, proof, _headers = await api.call(
            "GET",
            f"/v1/transparency/consistency?first={old}&second={size}",
            role=Role.AUDITOR,
            province="320000",
        )
        path = [bytes.fromhex(h) for h in proof["path"]]
        assert verify_consistency(old, size, bytes.fromhex(first["root_hash"]), root, path)

        for query in (
            f"inclusion?leaf_index=0&tree_size={size + 1}",  # a size this node never signed
            f"inclusion?leaf_index=0&tree_size={size - 1}",  # below the latest head, but never signed
            f"consistency?first=1&second={size - 1}",
            f"inclusion?leaf_index={size}&tree_size={size}",
            "inclusion?leaf_index=0",
            f"consistency?first=0&second={size}",
            f"consistency?first={size}&second=1",
            "consistency?first=1&second=x",
        ):
            status, problem, _headers = await api.call("GET", f"/v1/transparency/{query}", role=Role.AUDITOR)
            assert (status, problem["type"].rsplit("/", 1)[1]) == (422, "invalid-field"), query
        status, _problem, _headers = await api.call("GET", "/v1/transparency/head", role=None)
        assert status == 401
        # a node in no federation witnesses no one: a clear 404, not an empty answer
        for witness_path in ("/v1/transparency/witnessed/320000", "/v1/transparency/alerts"):
            status, problem, _headers = await api.call("GET", witness_path, role=Role.AUDITOR)
            assert (status, problem["detail"]) == (
                404,
                "this node is in no federation: it witnesses no other province",
            )

    run(node, keys, scenario)
