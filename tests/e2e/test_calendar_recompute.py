"""The official year arrives while a case counts through a provisional one, end to end: two node processes
hold the case; its writer (the handling province) restarts with the notice as an operator file and records
one DeadlinesRecomputed; both nodes then show the same, later, OFFICIAL due date; a reload records nothing
more. The nodes' clock starts on 24 December of the last official year, whatever the date today."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from node.auth import Role
from node.calendar.source import package_schedules
from node.calendar.statutory_holidays import statutory_days
from simulators.federated_flows import Federation
from simulators.federation_cluster import FederatedCluster
from simulators.sample_data import consent_reference
from simulators.simulate import simulated_time
from tests.dates import TEST_DATE

pytestmark = pytest.mark.e2e
SH, JS = "310000", "320000"
LAST_OFFICIAL = package_schedules()[-1].year
NEXT = LAST_OFFICIAL + 1


def notice(path: Path) -> date:
    """The next year's schedule as an operator types in the notice: the statutory days and a bridge day
    (the first Monday after New Year), which moves a due date counted across it one working day later."""
    bridge = next(date(NEXT, 1, d) for d in range(2, 9) if date(NEXT, 1, d).weekday() == 0)
    days = sorted({*(d.isoformat() for d in statutory_days(NEXT)), bridge.isoformat()})
    listed = ", ".join(f'"{d}"' for d in days)
    path.write_text(f'[[year]]\nyear = {NEXT}\nsource = "TEST notice"\nholidays = [{listed}]\n', "utf-8")
    return bridge


def test_the_official_year_moves_the_due_date_once_on_both_nodes(tmp_path: Path) -> None:
    clock = simulated_time(0, date(LAST_OFFICIAL, 12, 24))
    cluster = FederatedCluster(
        tmp_path / "nodes", (SH, JS), None, {**clock, "TONGBAN_DEADLINE_CHECK_INTERVAL_S": "0.5"}
    )
    cluster.prepare()
    cluster.start()
    try:
        asyncio.run(_scenario(cluster, tmp_path / f"calendar-{NEXT}.toml"))
    finally:
        cluster.stop()


async def _scenario(cluster: FederatedCluster, calendar_file: Path) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        fed = Federation(session, cluster.nodes, cluster.issuer_key, TEST_DATE)
        applicant = await fed.issue_id_card(SH, seed="calendar")
        case_id = await fed.received_proxy_case(SH, JS, applicant, consent=consent_reference(SH, "CALENDAR"))
        path = f"/v1/cases/{case_id}"
        await fed.post(SH, path + "/forward", Role.WINDOW)
        await fed.wait_for_state(JS, case_id, "FORWARDED")
        accepted = await fed.post(JS, path + "/accept", Role.HANDLER)
        before = accepted["deadlines"]["statutory"]
        assert (before["calendar"], before["provisional_years"]) == ("PROVISIONAL", [NEXT])
        replica = await fed.wait_for(SH, path, lambda c: c["state"] == "ACCEPTED", "the accepted replica")
        assert replica["deadlines"]["statutory"]["due_on"] == before["due_on"]  # both count alike
        row = await board_row(fed, case_id, lambda r: r["due"] is not None)
        assert (row["due"]["statutory"], row["due"]["calendar"]) == (before["due_on"], "PROVISIONAL")

        # The writer restarts with the notice: provisional -> official across a restart.
        bridge = notice(calendar_file)
        writer = cluster.nodes[JS]
        writer.stop()
        writer.extra_env["TONGBAN_CALENDAR_FILES"] = str(calendar_file)
        await asyncio.to_thread(writer.start)

        def moved(case: dict[str, Any]) -> bool:
            return bool(case["deadlines"]["calendar_years"])

        shown = [await fed.wait_for(p, path, moved, f"the recomputed deadline on {p}") for p in (JS, SH)]
        after = shown[0]["deadlines"]["statutory"]
        assert after["calendar"] == "OFFICIAL"
        assert after["due_on"] > before["due_on"]
        assert [s["deadlines"] for s in shown[1:]] == [
            {**shown[0]["deadlines"], "as_of": s["deadlines"]["as_of"]} for s in shown[1:]
        ]
        timeline = (await fed.get(SH, path + "/timeline"))["entries"]
        [recomputed] = [e["detail"] for e in timeline if e["event"] == "DeadlinesRecomputed"]
        assert (recomputed["statutory_from"], recomputed["statutory_to"]) == (
            before["due_on"],
            after["due_on"],
        )
        assert recomputed["calendar_years"][0]["kind"] == "operator file"
        assert bridge.isoformat() in recomputed["calendar_years"][0]["holidays"]

        row = await board_row(fed, case_id, lambda r: r["due_moved"] is not None)  # Shanghai's board
        assert (row["due"]["statutory"], row["due"]["calendar"]) == (after["due_on"], "OFFICIAL")
        assert row["due_moved"]["statutory"] == {"from": before["due_on"], "to": after["due_on"]}

        # A second reload records nothing: the timer's pass after it is in the answer.
        reloaded = await fed.post(JS, "/v1/admin/calendar/reload", Role.ADMIN, {})
        assert reloaded["changed_years"] == []
        assert "DeadlinesRecomputed" not in reloaded["recorded"]
        timeline = (await fed.get(JS, path + "/timeline"))["entries"]
        assert sum(e["event"] == "DeadlinesRecomputed" for e in timeline) == 1

        # SIGHUP reads the file again: a malformed one is refused, naming the file and line, and kept out.
        calendar_file.write_text(f'[[year]]\nyear = {NEXT}\nsource = "x"\nholidays = []\n', "utf-8")
        since = len(writer.lines)
        writer.send_signal(signal.SIGHUP)
        refused = await asyncio.to_thread(
            writer.wait_for_line, "calendar.reload_refused", f"{calendar_file}, line 4", since=since
        )
        assert refused, "no refusal of the malformed calendar file logged after SIGHUP"
        kept = await fed.get(JS, path)
        assert kept["deadlines"]["statutory"] == after  # the calendar it had, the same day


async def board_row(fed: Federation, case_id: str, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The case's row on Shanghai's supervision board (the receiving province), once ``ready``."""

    def shown(board: dict[str, Any]) -> bool:
        return any(r["case_id"] == case_id and ready(r) for r in board["cases"])

    board = await fed.wait_for(SH, "/v1/board?open=false", shown, "the case on Shanghai's board")
    return next(r for r in board["cases"] if r["case_id"] == case_id)
