"""`audit replay` against what the live API showed: a scenario records snapshots of a case and a certificate
through REST after every step, time moving between steps; the replay as of each snapshot's instant, from the
events alone, must give exactly that snapshot, on both stores. The whole-log replay counts what the API showed
at each instant, and the CLI prints the same replay."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from node.audit.replay import replay_case, replay_certificate, replay_log
from node.auth import Role
from node.cli import main as cli
from node.services import Services
from tests.builders import REST_REVIEW_CALLS, FakeClock, node_issue_body
from tests.conftest import Keys
from tests.integration.rest_client import Api, run

JS = "320000"
APPLICANT = {"name": "赵敏", "id_type": "111", "id_number": "11010519491231002X"}
DIGEST = "sha256:" + "0" * 64


def scenario(
    node: Services, keys: Keys, clock: FakeClock
) -> tuple[str, str, list[tuple[datetime, dict[str, Any], dict[str, Any]]]]:
    """(case id, certificate identifier, [(instant, case as shown, certificate as shown)])."""
    snapshots: list[tuple[datetime, dict[str, Any], dict[str, Any]]] = []
    subjects: list[str] = []

    async def steps(api: Api, _app: web.Application) -> None:
        status, certificate, _ = await api.call("POST", "/v1/certificates", body=node_issue_body(0))
        assert status == 201, certificate
        identifier = certificate["identifier"]
        status, case, _ = await api.call(
            "POST",
            "/v1/cases",
            role=Role.WINDOW,
            body={"item_province": JS, "item_code": "GA-0003", "mode": "PROXY", "applicant": APPLICANT},
        )
        assert status == 201, case
        path = f"/v1/cases/{case['case_id']}"
        sh = "310000"
        commands: list[tuple[Any, ...]] = [  # (method, target, role, province, body[, operator])
            ("POST", path + "/materials", Role.WINDOW, sh, {"material_code": "M01", "file_digest": DIGEST}),
            ("POST", path + "/materials", Role.WINDOW, sh, {"material_code": "M02", "file_digest": DIGEST}),
            ("POST", f"/v1/certificates/{identifier}/suspend", Role.ISSUER, "310000", {"reason": "暂扣"}),
            ("POST", path + "/materials", Role.WINDOW, sh, {"material_code": "M04", "file_digest": DIGEST}),
            ("POST", path + "/receive", Role.WINDOW, "310000", {"number": "SJ-001"}),
            ("POST", f"/v1/certificates/{identifier}/release", Role.ISSUER, "310000", {"reason": "解除"}),
            ("POST", path + "/forward", Role.WINDOW, "310000", {}),
            ("POST", path + "/accept", Role.HANDLER, JS, {}),
            *[
                ("POST", path + "/review", Role.HANDLER, JS, {"step": step, "opinion": "同意", **more}, who)
                for step, who, more in REST_REVIEW_CALLS
            ],
            ("POST", path + "/conclude", Role.HANDLER, JS, {"result": "ISSUED"}),
        ]  # fmt: skip
        for command in commands:
            method, target, role, province, body = command[:5]
            clock.advance(hours=5)  # the deadlines move on between steps, over working and rest days
            operator = command[5] if len(command) > 5 else "op-001"  # 批准 by another officer than 承办
            status, answer, _ = await api.call(
                method, target, role=role, province=province, body=body, operator=operator
            )
            assert status in (200, 201), (target, answer)
            clock.advance(minutes=7)
            _, shown_case, _ = await api.call("GET", path, role=Role.AUDITOR)
            _, shown_certificate, _ = await api.call("GET", f"/v1/certificates/{identifier}")
            snapshots.append((clock(), shown_case, shown_certificate))
        subjects.extend((case["case_id"], identifier))

    run(node, keys, steps)
    case_id, identifier = subjects
    return case_id, identifier, snapshots


def test_replay_as_of_each_instant_equals_what_the_api_showed_then(
    node: Services, keys: Keys, clock: FakeClock
) -> None:
    case_id, identifier, snapshots = scenario(node, keys, clock)
    assert len({shown["version"] for _at, shown, _c in snapshots}) == 10  # the case changed at 10 steps
    assert {c["status"] for _at, _s, c in snapshots} == {"VALID", "SUSPENDED"}
    for at, shown_case, shown_certificate in snapshots:
        clock.advance(days=3)  # replayed later: "now" must play no part
        replayed = replay_case(node, case_id, at)
        assert replayed["case"] == shown_case
        assert [step["version"] for step in replayed["chain"]] == list(range(1, shown_case["version"] + 1))
        assert replay_certificate(node, identifier, at)["certificate"] == shown_certificate
    chain = replay_case(node, case_id, snapshots[-1][0])["chain"]
    assert [(s["event"], s["province"]) for s in chain[-8:]] == [
        ("Forwarded", "310000"),
        ("NoticeIssued", JS),  # each decision's written notice, recorded with it (文书)
        ("Accepted", JS),
        *[("ReviewStepRecorded", JS)] * 3,
        ("NoticeIssued", JS),
        ("Concluded", JS),
    ]


def test_the_whole_log_replayed_counts_what_was_shown(node: Services, keys: Keys, clock: FakeClock) -> None:
    _case_id, _identifier, snapshots = scenario(node, keys, clock)
    for at, shown_case, shown_certificate in snapshots:
        summary = replay_log(node.app.recorder, node.app.mapper, at)
        assert summary.states["Case"] == {shown_case["state"]: 1}
        assert summary.states["Certificate"] == {shown_certificate["status"]: 1}
    # before the case and the certificate were recorded, none of their many events counts
    filed = snapshots[0][0] - timedelta(hours=5, minutes=7)
    before = replay_log(node.app.recorder, node.app.mapper, filed - timedelta(microseconds=1))
    assert "Case" not in before.aggregates
    assert "Certificate" not in before.aggregates
    assert replay_log(node.app.recorder, node.app.mapper, filed).aggregates["Case"] == 1
    # the catalogue was loaded on the wall clock, the scenario ran on the test's: a far instant covers both
    everything = replay_log(node.app.recorder, node.app.mapper, datetime(2100, 1, 1, tzinfo=UTC))
    assert everything.events_replayed == everything.events_read == node.app.recorder.max_notification_id()


@pytest.mark.usefixtures("restored_logging")
def test_the_cli_prints_the_replay(
    node: Services,
    keys: Keys,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case_id, _identifier, snapshots = scenario(node, keys, clock)
    settings = node.settings
    monkeypatch.setenv("TONGBAN_DATA_DIR", str(settings.data_dir))
    if settings.postgres_url:
        monkeypatch.setenv("TONGBAN_POSTGRES_URL", settings.postgres_url)
        monkeypatch.setenv("TONGBAN_POSTGRES_SCHEMA", settings.postgres_schema)
    at, shown_case, _certificate = snapshots[4]
    capsys.readouterr()  # the scenario's own log lines
    command = ["audit", "replay", "--province", node.province, "--as-of", at.isoformat(), "--case", case_id]
    assert cli.main(command) == 0
    assert json.loads(capsys.readouterr().out)["case"] == shown_case
    before = snapshots[0][0].replace(year=2020).isoformat()
    assert cli.main([*command[:5], before, "--case", case_id]) == 2
    assert "was not filed yet" in capsys.readouterr().err
