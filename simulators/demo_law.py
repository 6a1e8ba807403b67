"""The demo's last part: the law of a case (行政许可法) on two more nodes whose clock runs fast, so that the
5 working days of the notice limit pass in about half a minute: the window's one-time notice, one deemed
acceptance (视为受理) then delivery within the delivery clock, and one reasoned refusal (不予受理 with the
reason, basis, remedies and competent agency). The flows are ``simulators.law_flows``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from pathlib import Path

import aiohttp

from node.settings import PROVINCES
from simulators.federated_flows import Federation, FlowResult
from simulators.federation_cluster import FederatedCluster
from simulators.law_flows import (
    LAW_TIME_SCALE,
    deemed_acceptance_flow,
    refusal_flow,
    window_notice_flow,
)
from simulators.rest import DemoError
from simulators.simulate import nodes_today, simulated_time

RECEIVING, HANDLING = "310000", "320000"


async def law_of_a_case(data_dir: Path, start: date | None) -> bool:
    """Run the flows on a Shanghai and a Jiangsu node of their own under ``data_dir``; print what the law
    made of each case; True when every check holds."""
    print(
        f"\nthe law of a case: {PROVINCES[RECEIVING]}'s window receives for {PROVINCES[HANDLING]} on two "
        f"more nodes whose clock runs {LAW_TIME_SCALE:g}x (a day in {86400 / LAW_TIME_SCALE:.0f} s) ...",
        flush=True,
    )
    cluster = FederatedCluster(
        data_dir, (RECEIVING, HANDLING), extra_env=simulated_time(LAW_TIME_SCALE, start)
    )
    await asyncio.to_thread(cluster.prepare)
    nodes = list(cluster.nodes.values())
    try:
        await asyncio.gather(*(asyncio.to_thread(n.start) for n in nodes))
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            fed = Federation(session, cluster.nodes, cluster.issuer_key, nodes_today(start))
            applicant = await fed.issue_id_card(RECEIVING, seed="demo-law")
            notice = await window_notice_flow(fed, RECEIVING, HANDLING, applicant)
            refusal = await refusal_flow(fed, RECEIVING, HANDLING, applicant)
            print("  waiting for 5 working days to pass with no notice and no decision ...", flush=True)
            deemed = await deemed_acceptance_flow(fed, RECEIVING, HANDLING, applicant)
    except DemoError as e:
        print(f"  ERROR {e}")
        return False
    finally:
        await asyncio.gather(*(asyncio.to_thread(n.stop) for n in nodes))
    checks = [
        _report(notice, notice.facts["accepted_on"] == notice.facts["materials_complete_on"], _notice_line),
        _report(deemed, _deemed_ok(deemed), _deemed_line),
        _report(refusal, _refusal_ok(refusal), _refusal_line),
    ]
    ok = all(checks)
    print(f"the law of a case: {'ALL CHECKS PASSED' if ok else 'FAILURES ABOVE'}", flush=True)
    return ok


def _report(result: FlowResult, passed: bool, line: Callable[[FlowResult], str]) -> bool:
    print(f"  {result.name:<17} {'ok' if passed else 'FAILED'}  {line(result) if passed else ''}")
    if not passed:
        print(f"    facts: {result.facts}")
    return passed


def _notice_line(result: FlowResult) -> str:
    return (
        f"the window's one-time notice (补正告知); accepted on {result.facts['accepted_on']}, the day the "
        "materials were complete (第32条)"
    )


def _deemed_ok(result: FlowResult) -> bool:
    facts = result.facts
    deemed_once: bool = facts["timeline"].count("AcceptanceDeemed") == 1
    return (
        deemed_once
        and facts["accepted_on"] == facts["received_on"]
        and facts["delivery"] == "CONCLUDED_ON_TIME"
    )


def _deemed_line(result: FlowResult) -> str:
    return (
        f"no notice by {result.facts['notice_limit']['due_on']}: deemed accepted (视为受理) from receipt on "
        f"{result.facts['accepted_on']} (第32条); delivered at the window by "
        f"{result.facts['delivery_due_on']} (第44条)"
    )


def _refusal_ok(result: FlowResult) -> bool:
    decision = result.facts["decision"]
    return (
        decision["ground"] == "OUTSIDE_COMPETENCE"
        and bool(decision["competent_agency"])
        and decision["remedies"]["reconsideration_limit_days"] == 60
        and "REFUSAL" in result.facts["notices_at_receiving"]
    )


def _refusal_line(result: FlowResult) -> str:
    remedies = result.facts["decision"]["remedies"]
    return (
        f"不予受理: outside its competence, apply to {result.facts['decision']['competent_agency']}; "
        f"复议 to {remedies['reconsideration_body']} within {remedies['reconsideration_limit_days']} days, "
        f"诉讼 at {remedies['litigation_court']} within {remedies['litigation_limit_months']} months; "
        f"不予受理决定书 listed at both provinces"
    )
