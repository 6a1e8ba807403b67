"""End to end: cases in all three modes and a 一件事 bundle through a running node's REST API.

The node's catalogue is loaded with the `tongban catalogue load` command before it starts; the scenarios are
the demo's, so what the README's command 1 shows is what this test checks.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from node.auth import Role
from simulators.cluster import NodeProcess, prepare_keys, token_for
from simulators.demo_cases import CaseResults, IdCard, run_case_scenarios
from simulators.sample_data import SAMPLE_CATALOGUE, sample_certificates
from tests.dates import TEST_DATE

pytestmark = pytest.mark.e2e
HERE, HANDLING = "310000", "320000"


def load_catalogue(data_dir: Path, province: str) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "node",
            "catalogue",
            "load",
            str(SAMPLE_CATALOGUE),
            "--province",
            province,
            "--node",
            HERE,
        ],
        env={"TONGBAN_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_mode_and_a_bundle_over_rest(tmp_path: Path) -> None:
    issuer_key = prepare_keys(tmp_path, (HERE,))
    first = load_catalogue(tmp_path, HERE)
    assert "41 items published" in first
    assert "2 bundles published" in first
    assert "0 items published, 0 revised, 41 unchanged" in load_catalogue(tmp_path, HERE)  # idempotent
    load_catalogue(tmp_path, HANDLING)
    node = NodeProcess(HERE, tmp_path)
    node.start()
    try:

        async def scenario() -> tuple[CaseResults, dict[str, Any]]:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
                body = sample_certificates(HERE, 1, seed=3, today=TEST_DATE)[0]
                headers = {"Authorization": "Bearer " + token_for(issuer_key, HERE, Role.ISSUER)}
                async with session.post(
                    f"{node.http_url}/v1/certificates", json=body, headers=headers
                ) as response:
                    assert response.status == 201
                    created = await response.json()
                id_card = IdCard(created["identifier"], created["holder"]["name"], created["holder"]["id"])
                results = await run_case_scenarios(session, node, HANDLING, issuer_key, id_card)
                return results, body

        results, holder = asyncio.run(scenario())
        assert results.errors == []
        assert results.concluded == {"PROXY": 1, "FULL_ONLINE": 1, "JOINT": 1, "BUNDLE": 9}
    finally:
        assert node.stop() == 0
    log = "\n".join(node.lines)
    for personal in (holder["holder_name"], holder["holder_id"]):  # the applicant's name and ID number
        assert personal not in log
