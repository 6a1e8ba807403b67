"""CPU per acknowledged operation, as the nodes themselves count it: each node's /metrics has its process's
CPU seconds (user and system) and start time (``process_cpu_seconds_total``, ``process_start_time_seconds``).
Read before and after the load, the difference summed over the nodes and divided by the acknowledged
operations is a figure that does not depend on how busy the machine was, unlike operations per second.

A node restarted during the load counts from its restart; a node that did not answer either time counts
nothing, and the report names it. The load client's own CPU is not counted (``tongban simulate`` may run
elsewhere); neither is a database server's.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

_STARTED, _CPU, _RSS = "process_start_time_seconds", "process_cpu_seconds", "process_resident_memory_bytes"


@dataclass(frozen=True)
class ProcessReading:
    started_at: float  # Unix seconds: another value means another process
    cpu_s: float
    rss_bytes: float


def reading(metrics_text: str) -> ProcessReading | None:
    """The node process's reading from its /metrics text, or None when it does not export one."""
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics_text):
        if family.name in (
            "process_cpu_seconds",
            "process_start_time_seconds",
            "process_resident_memory_bytes",
        ):
            values[family.name] = family.samples[0].value
    if len(values) < 3:
        return None
    return ProcessReading(
        values["process_start_time_seconds"],
        values["process_cpu_seconds"],
        values["process_resident_memory_bytes"],
    )


def readings(metrics_texts: dict[str, str]) -> dict[str, ProcessReading]:
    found = {province: reading(text) for province, text in metrics_texts.items()}
    return {province: r for province, r in found.items() if r is not None}


def cpu_used(before: dict[str, ProcessReading], after: dict[str, ProcessReading]) -> dict[str, float]:
    """CPU seconds each node answering after the load used during it (since its restart, if it restarted)."""
    used = {}
    for province, last in after.items():
        first = before.get(province)
        same_process = first is not None and first.started_at == last.started_at
        used[province] = last.cpu_s - first.cpu_s if same_process and first is not None else last.cpu_s
    return used


def cpu_report(
    before: dict[str, ProcessReading], after: dict[str, ProcessReading], acked: int, provinces: list[str]
) -> dict[str, object]:
    used = cpu_used(before, after)
    total = sum(used.values())
    return {
        "node_cpu_s": {p: round(s, 2) for p, s in sorted(used.items())},
        "cpu_ms_per_acked_op": round(total * 1000 / acked, 2) if acked else None,
        "node_rss_mb": {p: round(r.rss_bytes / 2**20, 1) for p, r in sorted(after.items())},
        "nodes_not_measured": sorted(set(provinces) - set(used)),
    }
