"""CPU per acknowledged operation from the nodes' process counters: a restarted node counts from its restart,
a node that did not answer is named, never guessed."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest

from simulators.node_cpu import ProcessReading, cpu_report, reading


def test_a_nodes_metrics_text_gives_its_process_reading() -> None:
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    found = reading(generate_latest(registry).decode())
    assert found is not None
    assert found.cpu_s > 0
    assert found.rss_bytes > 0
    assert found.started_at > 0
    assert reading("tongban_events_appended_total 3.0\n") is None


def test_cpu_is_summed_over_the_load_and_a_restart_counts_from_the_restart() -> None:
    before = {"310000": ProcessReading(100.0, 2.0, 0), "320000": ProcessReading(100.0, 5.0, 0)}
    after = {
        "310000": ProcessReading(100.0, 3.5, 50 * 2**20),  # the same process: 1.5 s during the load
        "320000": ProcessReading(160.0, 0.5, 40 * 2**20),  # restarted: its 0.5 s since
    }
    report = cpu_report(before, after, acked=400, provinces=["310000", "320000", "330000"])
    assert report == {
        "node_cpu_s": {"310000": 1.5, "320000": 0.5},
        "cpu_ms_per_acked_op": 5.0,
        "node_rss_mb": {"310000": 50.0, "320000": 40.0},
        "nodes_not_measured": ["330000"],
    }
    assert cpu_report(before, after, acked=0, provinces=["310000"])["cpu_ms_per_acked_op"] is None
