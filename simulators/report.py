"""The simulator's final report: one JSON document, a readable summary, and a self-contained HTML page with
its charts drawn as inline SVG (no script, no network)."""

from __future__ import annotations

import html
import json
import statistics
from pathlib import Path
from typing import Any


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (0 < share <= 1) of ``values``."""
    ordered = sorted(values)
    rank = max(int(-(-share * len(ordered) // 1)), 1)  # ceil, at least the first
    return ordered[min(rank, len(ordered)) - 1]


def latency_table(link_latencies: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {
        link: {
            "count": len(values),
            "p50_ms": round(percentile(values, 0.50) * 1000, 1),
            "p95_ms": round(percentile(values, 0.95) * 1000, 1),
            "p99_ms": round(percentile(values, 0.99) * 1000, 1),
            "mean_ms": round(statistics.fmean(values) * 1000, 1),
        }
        for link, values in sorted(link_latencies.items())
        if values
    }


def summary(report: dict[str, Any]) -> str:
    verdict = report["verdict"]
    lines = [
        f"scenario: {len(report['provinces'])} provinces, {report['store']}, seed {report['seed']}, "
        f"{report['cases']} cases, {report['profile']} at {report['rate']}/s",
        f"faults: {', '.join(report['faults']) or 'none'}",
        "mix: "
        + ", ".join(f"{mode} {n}" for mode, n in report["mix"]["modes"].items())
        + "; "
        + ", ".join(f"{what} {n}" for what, n in report["mix"].items() if what != "modes"),
        f"operations: {report['operations']} sent, {report['acked']} acknowledged, {report['errors']} failed "
        f"in {report['load_s']} s ({report['throughput_ops_s']} acknowledged ops/s); "
        f"{report['cases_filed']} cases filed, {report['cases_concluded']} concluded, "
        f"{report['cases_stalled']} left open",
        _shed_line(report),
        f"deadline timers: {report['verdict']['deadline_events'] or 'none fired'}"
        + (f" (time ran {report['time_scale']:g}x)" if report["time_scale"] else " (wall-clock time)"),
        "commit-to-visible latency per link A→B (A acknowledged a step -> B's replica shows it):",
    ]
    for link, row in report["latency"].items():
        lines.append(
            f"  {link}: n={row['count']} p50={row['p50_ms']} ms p95={row['p95_ms']} ms p99={row['p99_ms']} ms"
        )
    if report.get("apply_latency"):
        lines.append("commit-to-apply latency per link, as the applying node measured it (bucket bounds):")
        for link, row in report["apply_latency"].items():
            lines.append(
                f"  {link}: n={row['count']} p50<={row['p50_le_ms']} ms p95<={row['p95_le_ms']} ms "
                f"p99<={row['p99_le_ms']} ms"
            )
    if report.get("cpu"):
        cpu = report["cpu"]
        lines.append(
            f"node CPU: {cpu['cpu_ms_per_acked_op']} ms per acknowledged operation "
            f"({', '.join(f'{p} {s} s' for p, s in cpu['node_cpu_s'].items())}; the load client and any "
            f"database server not counted); RSS after the load: "
            + ", ".join(f"{p} {mb} MB" for p, mb in cpu["node_rss_mb"].items())
            + (f"; not measured: {', '.join(cpu['nodes_not_measured'])}" if cpu["nodes_not_measured"] else "")
        )
    anomalies = " ".join(f"{k}={verdict[k]}" for k in ("lost", "duplicated", "reordered", "diverged"))
    lines.append(
        f"verdict: ops={report['operations']} acked={report['acked']} events={report.get('events', '?')} "
        f"kills={report['kills']} crashes={report.get('crashes', 0)} partitions={report['partitions']} "
        f"pg_restarts={report['pg_restarts']} "
        f"pg_pauses={report.get('pg_pauses', 0)} {anomalies} "
        f"converge_s={verdict['converge_s']}"
        + ("" if "rebuilt_differ" not in verdict else f" rebuilt_differ={len(verdict['rebuilt_differ'])}")
        + f" -> {'CORRECT' if verdict['correct'] else 'INCORRECT'}"
    )
    return "\n".join(lines)


def _shed_line(report: dict[str, Any]) -> str:
    """The load shed beside what was acknowledged: 429 answers the load client met (each sent again after its
    Retry-After), and what the nodes counted, their peers' gRPC calls (RESOURCE_EXHAUSTED) included."""
    nodes = report.get("shed_by_nodes") or {}
    counted = ", ".join(f"{surface} {n}" for surface, n in nodes.items()) or "not read"
    return (
        f"shed load: {report.get('shed', 0)} answers 429 to the load client, beside {report['acked']} "
        f"acknowledged operations; shed by the nodes: {counted}"
    )


def _bars(rows: dict[str, dict[str, float]]) -> str:
    """Horizontal bars of p50, p95 and p99 per link."""
    if not rows:
        return "<p>No link carried a replicated step.</p>"
    scale = max(r["p99_ms"] for r in rows.values()) or 1.0
    height, parts, y = 22 * 3 * len(rows) + 20, [], 10
    for link, row in rows.items():
        for key, colour in (("p50_ms", "#4c78a8"), ("p95_ms", "#f58518"), ("p99_ms", "#e45756")):
            width = 500 * row[key] / scale
            parts.append(
                f'<text x="0" y="{y + 14}" font-size="12">{html.escape(link)} {key[:3]}</text>'
                f'<rect x="150" y="{y}" width="{width:.1f}" height="18" fill="{colour}"/>'
                f'<text x="{155 + width:.1f}" y="{y + 14}" font-size="12">{row[key]} ms</text>'
            )
            y += 22
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="760" height="{height}">{"".join(parts)}</svg>'


def _timeline(ops_per_second: list[int]) -> str:
    """Acknowledged operations per second of the load, as a line."""
    if not ops_per_second:
        return "<p>No operation was acknowledged.</p>"
    top = max(ops_per_second) or 1
    step = 700 / max(len(ops_per_second) - 1, 1)
    points = " ".join(f"{20 + i * step:.1f},{190 - 170 * n / top:.1f}" for i, n in enumerate(ops_per_second))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="760" height="210">'
        f'<polyline points="{points}" fill="none" stroke="#4c78a8" stroke-width="2"/>'
        f'<text x="20" y="205" font-size="12">0 s</text>'
        f'<text x="680" y="205" font-size="12">{len(ops_per_second)} s</text>'
        f'<text x="20" y="14" font-size="12">{top} ops/s</text></svg>'
    )


def write(report: dict[str, Any], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path, text_path, html_path = (directory / f"report.{ext}" for ext in ("json", "txt", "html"))
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    text = summary(report)
    text_path.write_text(text + "\n")
    html_path.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>tongban simulation</title></head><body>"
        f"<h1>tongban simulation</h1><pre>{html.escape(text)}</pre>"
        f"<h2>Commit-to-visible latency per link</h2>{_bars(report['latency'])}"
        f"<h2>Acknowledged operations per second</h2>{_timeline(report['ops_per_second'])}"
        "</body></html>"
    )
    return [json_path, text_path, html_path]
