"""The simulator's pure parts: fault specs, arrival profiles, percentiles and the report's summary line."""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from node.auth import Role
from simulators.apply_latency import apply_latency
from simulators.chaos import chaos_schedule
from simulators.cli import _node_settings
from simulators.faults import Fault, FaultSpecError, parse_fault
from simulators.federated_flows import Federation
from simulators.report import latency_table, percentile, summary
from simulators.rest import DemoError
from simulators.shed_load import shed_by_nodes
from simulators.workload import Workload, arrival_times

YRD = ("310000", "320000", "330000", "340000")


def test_faults_parse_and_describe_themselves() -> None:
    assert parse_fault("kill:320000@5+3", YRD) == Fault("kill", "320000", None, 5.0, 3.0)
    slow = parse_fault("slow:310000>320000@4+5:0.3", YRD)
    assert (slow.source, slow.target, slow.end_s, slow.parameter) == ("310000", "320000", 9.0, 0.3)
    assert parse_fault("pgrestart@6+2", YRD) == Fault("pgrestart", "", None, 6.0, 2.0)
    assert parse_fault("isolate:330000@4+5", YRD) == Fault("isolate", "330000", None, 4.0, 5.0)
    texts = ("kill:320000@5+3", "cut:310000>320000@4+5", "flap:330000>340000@1+6:1", "pgrestart@6+2")
    for text in (*texts, "isolate:330000@4+5", "pgpause@7+1.5"):
        assert parse_fault(text, YRD).describe() == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("boom:320000@1+1", "expected kill"),
        ("kill:310000>320000@1+1", "kill and isolate name one node"),
        ("cut:310000@1+1", "name a link"),
        ("cut:310000>310000@1+1", "name a link"),
        ("cut:310000>110000@1+1", "not in this federation"),
        ("slow:310000>320000@1+1", "positive :DELAY"),
        ("flap:310000>320000@1+1:0", "positive :PERIOD"),
        ("pgrestart:310000@1+1", "pgrestart names no province"),
        ("pgpause:310000>320000@1+1", "pgpause names no province"),
        ("isolate:310000>320000@1+1", "kill and isolate name one node"),
        ("kill@1+1", "names a node"),
    ],
)
def test_bad_faults_are_refused_with_the_expected_form(text: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        parse_fault(text, YRD)


def test_arrivals_follow_their_profile_and_the_plan_its_seed() -> None:
    steady = arrival_times(10, 5.0, "steady", random.Random(1))
    assert steady == [i / 5 for i in range(10)]
    ramp = arrival_times(10, 5.0, "ramp", random.Random(1))
    gaps = [b - a for a, b in itertools.pairwise(ramp)]
    assert gaps == sorted(gaps, reverse=True)  # faster and faster
    burst = arrival_times(30, 5.0, "burst", random.Random(1))
    assert len({int(t // 4) for t in burst}) == 3  # three groups of ten, four seconds apart
    plan = Workload.plan(YRD, 20, random.Random(7))
    assert plan == Workload.plan(YRD, 20, random.Random(7))


def test_the_plan_mixes_modes_items_applicants_and_behaviours() -> None:
    plan = Workload.plan(YRD, 300, random.Random(11), stall_share=0.1, citizens=4, companies=1)
    assert {run.mode for run in plan} == {"PROXY", "FULL_ONLINE", "JOINT"}
    assert len({run.item_code for run in plan}) >= 15
    for run in plan:
        home, index = run.applicant
        if run.mode == "PROXY":  # filed at the applicant's home window for another province
            assert (home, run.holders()) == (run.receiving, (run.receiving,))
            assert run.handling != run.receiving
        if run.mode == "FULL_ONLINE":  # a citizen of another province applies online to the handling one
            assert run.receiving == run.handling != home
            assert index < 4
        if run.mode == "JOINT":  # three provinces, each concluding a part
            assert run.handling == run.receiving == home == run.parts["P1"]
            assert len(set(run.parts.values())) == 3
            run.shared = True
            assert set(run.holders()) == set(run.parts.values())
    assert sum(run.applicant[1] >= 4 for run in plan) > 0  # companies too
    assert all(
        sum(getattr(run, flag) for run in plan) > 0 for flag in ("supplement", "extension_days", "rating")
    )
    assert 0 < sum(run.stall for run in plan) < 60
    assert all(not run.supplement for run in plan if run.mode != "PROXY")


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99)) == (50.0, 95.0, 99.0)
    assert percentile([3.0], 0.99) == 3.0
    assert latency_table({"a→b": [0.01, 0.02, 0.03], "c→d": []}) == {
        "a→b": {"count": 3, "p50_ms": 20.0, "p95_ms": 30.0, "p99_ms": 30.0, "mean_ms": 20.0}
    }


def test_apply_latency_reads_the_nodes_histograms_per_link_and_pooled() -> None:
    metrics = {
        "320000": "\n".join(
            [
                "# HELP tongban_replication_latency_seconds From the commit at the peer to the apply here",
                'tongban_replication_latency_seconds_bucket{le="0.05",peer="310000"} 90.0',
                'tongban_replication_latency_seconds_bucket{le="0.25",peer="310000"} 99.0',
                'tongban_replication_latency_seconds_bucket{le="+Inf",peer="310000"} 100.0',
                'tongban_replication_latency_seconds_bucket{le="0.05",peer="340000"} 0.0',
                'tongban_replication_latency_seconds_bucket{le="0.25",peer="340000"} 0.0',
                'tongban_replication_latency_seconds_bucket{le="+Inf",peer="340000"} 0.0',
            ]
        ),
        "310000": 'tongban_replication_latency_seconds_bucket{peer="320000",le="0.05"} 0.0\n'
        'tongban_replication_latency_seconds_bucket{peer="320000",le="0.25"} 0.0\n'
        'tongban_replication_latency_seconds_bucket{peer="320000",le="+Inf"} 100.0',
    }
    rows = apply_latency(metrics)
    assert list(rows) == ["320000→310000", "310000→320000", "all"]  # a link with nothing applied is left out
    assert rows["310000→320000"] == {"count": 100, "p50_le_ms": 50.0, "p95_le_ms": 250.0, "p99_le_ms": 250.0}
    assert rows["320000→310000"]["p50_le_ms"] == "inf"
    assert rows["all"] == {
        "count": 200,
        "p50_le_ms": "inf",
        "p95_le_ms": "inf",
        "p99_le_ms": "inf",
    }  # 99 of 200 <= 0.25


def test_apply_latency_counts_what_was_applied_between_two_readings() -> None:
    def node(fast: float, slow: float, started: float = 1.0) -> dict[str, str]:
        """One node's histogram: ``fast`` applies within 50 ms, ``slow`` beyond 250 ms."""
        bucket = 'tongban_replication_latency_seconds_bucket{le="%s",peer="310000"} '
        lines = [bucket % "0.05" + str(fast), bucket % "0.25" + str(fast), bucket % "+Inf" + str(fast + slow)]
        return {"320000": "\n".join([f"process_start_time_seconds {started}", *lines])}

    before = node(0.0, 5.0)  # the start's slow applies (the population, before the streams connected)
    after = node(100.0, 5.0)  # the load added 100 fast ones
    assert apply_latency(after)["all"]["p99_le_ms"] == "inf"  # all counted: the start's tail shows
    assert apply_latency(after, before)["all"] == {
        "count": 100,
        "p50_le_ms": 50.0,
        "p95_le_ms": 50.0,
        "p99_le_ms": 50.0,
    }
    restarted = node(10.0, 0.0, started=2.0)  # a node restarted during the load counts since its restart
    assert apply_latency(restarted, before)["all"]["count"] == 10


def test_a_chaos_schedule_spreads_each_kind_without_overlap_and_follows_its_seed() -> None:
    schedule = chaos_schedule(
        YRD, 200.0, random.Random(3), kills=20, partitions=6, pg_restarts=2, pg_pauses=2
    )
    assert schedule == chaos_schedule(
        YRD, 200.0, random.Random(3), kills=20, partitions=6, pg_restarts=2, pg_pauses=2
    )
    kinds = [f.kind for f in schedule]
    assert (kinds.count("kill"), kinds.count("pgrestart"), kinds.count("pgpause")) == (20, 2, 2)
    assert (
        sorted(k for k in kinds if k in ("isolate", "cut", "flap"))
        == ["cut"] * 2 + ["flap"] * 2 + ["isolate"] * 2
    )
    for group in (("kill",), ("isolate", "cut", "flap"), ("pgrestart", "pgpause")):
        faults = [f for f in schedule if f.kind in group]
        assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(faults))  # one at a time per kind
    assert all(f.start_s >= 20.0 and f.end_s <= 180.0 for f in schedule)  # calm first and last tenth
    for fault in schedule:  # each one written as --fault would take it
        assert parse_fault(fault.describe(), YRD).kind == fault.kind


def test_the_nodes_shed_load_is_summed_per_surface_from_their_metrics() -> None:
    metrics = {
        "310000": 'tongban_shed_requests_total{surface="rest"} 3.0\n'
        'tongban_shed_requests_total{surface="grpc"} 1.0\n'
        'tongban_shed_requests_created{surface="rest"} 1.7e9',
        "320000": 'tongban_shed_requests_total{surface="rest"} 2.0',
        "330000": "# a node whose metrics hold no shed requests yet",
    }
    assert shed_by_nodes(metrics) == {"grpc": 1, "rest": 5}
    assert shed_by_nodes({}) == {"grpc": 0, "rest": 0}


@dataclass(frozen=True)
class _Node:
    http_url: str


def test_the_load_client_sends_a_shed_request_again_after_its_retry_after() -> None:
    """A node over its limit answers 429 with Retry-After: the client waits and sends that request again (not
    the whole flow it is part of), and counts the shed answers; another refusal ends the request."""
    answers = [429, 429, 200, 409]
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.method)
        status = answers.pop(0)
        headers = {"Retry-After": "0"} if status == 429 else {}
        return web.json_response({"version": 4, "detail": "x"}, status=status, headers=headers)

    async def scenario() -> tuple[dict[str, object], int, int]:
        app = web.Application()
        app.router.add_route("*", "/v1/cases", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with aiohttp.ClientSession() as session:
                fed = Federation(
                    session, {"310000": _Node(f"http://127.0.0.1:{port}")}, Path("unused"), date(2027, 2, 3)
                )
                fed.headers = lambda *args, **kwargs: {}  # type: ignore[method-assign]  # no token needed here
                answer = await fed.post("310000", "/v1/cases", Role.PLATFORM, {"x": 1})
                with pytest.raises(DemoError) as refused:
                    await fed.get("310000", "/v1/cases")
                return answer, fed.shed, refused.value.status
        finally:
            await runner.cleanup()

    answer, shed, refused = asyncio.run(scenario())
    assert (answer["version"], shed, refused, seen) == (4, 2, 409, ["POST", "POST", "POST", "GET"])


def test_the_report_shows_the_shed_load_beside_the_acknowledged_operations() -> None:
    report = {
        "provinces": ["310000"],
        "store": "sqlite",
        "seed": 1,
        "cases": 1,
        "profile": "steady",
        "rate": 1.0,
        "faults": [],
        "mix": {"modes": {}},
        "operations": 1,
        "acked": 1,
        "errors": 0,
        "shed": 2,
        "shed_by_nodes": {"grpc": 0, "rest": 2},
        "load_s": 1.0,
        "throughput_ops_s": 1.0,
        "cases_filed": 1,
        "cases_concluded": 0,
        "cases_stalled": 0,
        "verdict": {
            "deadline_events": {},
            "lost": 0,
            "duplicated": 0,
            "reordered": 0,
            "diverged": 0,
            "converge_s": 0,
            "correct": True,
        },
        "time_scale": 0,
        "latency": {},
        "kills": 0,
        "partitions": 0,
        "pg_restarts": 0,
    }
    assert (
        "shed load: 2 answers 429 to the load client, beside 1 acknowledged operations; "
        "shed by the nodes: grpc 0, rest 2"
    ) in summary(report)


def test_node_settings_of_a_simulation_are_checked_as_the_node_checks_them() -> None:
    assert _node_settings(["http_max_in_flight=32", "GRPC_MAX_IN_FLIGHT=8"], "310000") == {
        "TONGBAN_HTTP_MAX_IN_FLIGHT": "32",
        "TONGBAN_GRPC_MAX_IN_FLIGHT": "8",
    }
    with pytest.raises(ValueError, match="http_max_in_flight must be 1"):
        _node_settings(["http_max_in_flight=0"], "310000")
    with pytest.raises(ValueError, match="not KEY=VALUE"):
        _node_settings(["no_such_setting=1"], "310000")
    with pytest.raises(ValueError, match="the simulator sets it itself"):
        _node_settings(["http_port=8080"], "310000")
