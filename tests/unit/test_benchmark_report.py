"""The benchmark report's page: the verdicts as a table, the latency rows and the CPU split as plotly charts
with their values, the flame graphs by their paths from the page; a section with no input says so."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from benchmarks.__main__ import RESULTS, suite
from benchmarks.report import (
    TOP_COMPONENTS,
    Profile,
    cpu_split,
    load_latency,
    load_profile,
    render,
    verdicts_of,
)

LATENCY = {
    "store": "PostgreSQL",
    "target": {"rate": 25.0, "apply_p99_ms": 250.0},
    "raw_grpc_p50_ms": 0.4321,
    "raw_grpc_p99_ms": 1.9876,
    "rows": [
        {"offered": 5.0, "achieved": 4.875, "ops_s": 61.25, "errors": 0, "apply_p50_ms": 25.0,
         "apply_p99_ms": 111.5, "p50_ms": 31.625, "p99_ms": 88.375, "correct": True},
        {"offered": 20.0, "achieved": 12.125, "ops_s": 150.75, "errors": 3, "apply_p50_ms": None,
         "apply_p99_ms": 2500.0, "p50_ms": 410.5, "p99_ms": 2300.25, "correct": False},
    ],
}  # fmt: skip
VERDICTS = [
    "benchmarks.latency: target apply p99 <= 250 ms at 25 cases/s: FAIL (highest rate sustained here 12.1)",
    "benchmarks.transparency: peak RSS of audit verify 177 MB <= 300 MB: PASS",
]


def profile(store: str, per_op: float, components: dict[str, int]) -> dict[str, Any]:
    return {
        "store": store,
        "rate": 10.0,
        "seconds": 20.0,
        "acked": 1000,
        "correct": True,
        "cpu_ms_per_acked_op": per_op,
        "node_cpu_s": {"310000": 5.0},
        "node_rss_mb": {"310000": 117.5},
        "samples": sum(components.values()),
        "components": components,
        "libraries": {"grpc": 10},
    }


def profile_dir(directory: Path, figures: dict[str, Any] | None, svgs: int = 2) -> Path:
    directory.mkdir(parents=True)
    if figures is not None:
        (directory / "profile.json").write_text(json.dumps(figures), encoding="utf-8")
    for n in range(svgs):
        (directory / f"flame-3{n}0000.svg").write_text("<svg/>", encoding="utf-8")
    return directory


def plotted(page: str, div_id: str) -> list[dict[str, Any]]:
    """The traces plotly draws in the div ``div_id``."""
    found = re.search(rf'Plotly\.newPlot\(\s*"{div_id}",\s*(\[.*?\]),\s*\{{"template"', page)
    assert found, f"no figure {div_id}"
    traces: list[dict[str, Any]] = json.loads(found[1])
    return traces


def test_the_page_draws_the_latency_rows_the_cpu_split_and_the_verdicts(tmp_path: Path) -> None:
    results = tmp_path / "results"
    before = profile_dir(
        results / "old-cpu-profile-sqlite", profile("SQLite", 20.0, {"a.run": 500, "b.tick": 500})
    )
    after = profile_dir(
        results / "new-cpu-profile-sqlite", profile("SQLite", 10.0, {"a.run": 800, "b.tick": 200})
    )
    latency_path = results / "latency.json"
    latency_path.write_text(json.dumps(LATENCY), encoding="utf-8")

    page = render(
        "a run",
        VERDICTS,
        [load_latency(latency_path)],
        [load_profile(before)],
        [load_profile(after)],
        results,
    )

    assert page.count('class="plotly-graph-div"') == 3
    assert page.count('<script type="text/javascript">/**\n* plotly.js') == 1, "plotly.js inline, once"
    throughput = {t["name"]: t for t in plotted(page, "latency-throughput-postgresql")}
    assert throughput["operations/s"]["x"] == [5.0, 20.0]
    assert throughput["operations/s"]["y"] == [61.25, 150.75]
    assert throughput["cases filed/s (achieved)"]["y"] == [4.875, 12.125]
    delays = {t["name"]: t for t in plotted(page, "latency-delays-postgresql")}
    assert delays["apply p50 (bucket bound)"]["y"] == [25.0, None]
    assert delays["apply p99 (bucket bound)"]["y"] == [111.5, 2500.0]
    assert delays["visible over REST p99"]["y"] == [88.375, 2300.25]
    assert delays["raw gRPC mTLS round trip p99"]["y"] == [1.9876, 1.9876]
    assert delays["target apply p99"]["y"] == [250.0, 250.0]
    cpu = {t["name"]: t for t in plotted(page, "cpu-sqlite")}
    assert cpu["a.run"]["x"] == ["before: 20 ms/op", "after: 10 ms/op"]
    assert cpu["a.run"]["y"] == [10.0, 8.0]
    assert cpu["b.tick"]["y"] == [10.0, 2.0]
    assert cpu["other"]["y"] == [0.0, 0.0]
    rows = re.findall(r'<tr><td>([^<]*)</td><td class="(\w+)">', page)
    assert rows == [("benchmarks.latency", "FAIL"), ("benchmarks.transparency", "PASS")]
    assert "peak RSS of audit verify 177 MB &lt;= 300 MB: PASS" in page
    for svg in ("old-cpu-profile-sqlite/flame-300000.svg", "new-cpu-profile-sqlite/flame-310000.svg"):
        assert f'<object data="{svg}" type="image/svg+xml"' in page
        assert f'<a href="{svg}">' in page
    assert "No data" not in page


def test_each_section_without_its_inputs_says_so(tmp_path: Path) -> None:
    missing = profile_dir(tmp_path / "cpu-profile-postgres", None, svgs=0)
    page = render(
        "a partial run", [], [load_latency(tmp_path / "absent.json")], [load_profile(missing)], [], tmp_path
    )
    assert 'class="plotly-graph-div"' not in page
    assert "No data: this run printed no PASS/FAIL line." in page
    assert "No data: benchmarks.latency did not run" in page
    assert f"No data: {missing} has no profile.json." in page
    assert "No data: no CPU profile, before or after." in page
    assert f"No data: no flame graph in {missing}." in page


def test_the_split_keeps_the_largest_components_and_the_rest_is_other() -> None:
    components = {f"c{n:02}": 100 - n for n in range(TOP_COMPONENTS + 3)}
    before = profile("PostgreSQL", 30.0, components)
    after = profile("PostgreSQL", 15.0, {"c12": 900, "c00": 100})
    traces = {
        trace.name: trace for trace in cpu_split("PostgreSQL", [("before", before), ("after", after)]).data
    }
    assert len(traces) == TOP_COMPONENTS + 1
    assert "c12" in traces, "large after, though small before"
    assert "c10" not in traces
    assert traces["c12"].y == (round(30.0 * 88 / before["samples"], 3), 13.5)
    assert sum(trace.y[0] for trace in traces.values()) == pytest.approx(30.0, abs=0.01)
    assert sum(trace.y[1] for trace in traces.values()) == pytest.approx(15.0, abs=0.01)


def test_the_verdicts_come_back_from_the_results_markdown() -> None:
    markdown = "\n".join(
        ["# Benchmark results", "", "- CPU: x", "", "## Against the targets", "",
         *[f"- {v}" for v in VERDICTS], "", "## Figures", "", "- not a verdict"]
    )  # fmt: skip
    assert verdicts_of(markdown) == VERDICTS
    assert verdicts_of("# Benchmark results\n") == []


def test_a_profile_directory_is_read_with_its_flame_graphs(tmp_path: Path) -> None:
    figures = profile("SQLite", 12.0, {"a": 1})
    loaded = load_profile(profile_dir(tmp_path / "p", figures, svgs=3))
    assert loaded == Profile(
        tmp_path / "p", figures, tuple(tmp_path / "p" / f"flame-3{n}0000.svg" for n in range(3))
    )


def test_the_suite_profiles_both_stores_and_gives_the_report_its_files() -> None:
    runs = dict[str, list[list[str]]]()
    for module, arguments in suite("postgresql://db", quick=False, base="day-host"):
        runs.setdefault(module, []).append(arguments)
    on_sqlite, on_postgres = runs["benchmarks.latency"]
    assert "--postgres" not in on_sqlite
    assert on_sqlite[-2:] == ["--json", str(RESULTS / "day-host-latency-sqlite.json")]
    assert on_postgres[:2] == ["--postgres", "postgresql://db"]
    assert on_postgres[-2:] == ["--json", str(RESULTS / "day-host-latency-postgres.json")]
    sqlite, postgres = runs["benchmarks.cpu_profile"]
    assert "--postgres" not in sqlite
    assert sqlite[-2:] == ["--out", str(RESULTS / "day-host-cpu-profile-sqlite")]
    assert postgres[:2] == ["--postgres", "postgresql://db"]
    assert postgres[-2:] == ["--out", str(RESULTS / "day-host-cpu-profile-postgres")]
    assert sqlite[:4] == ["--rate", "10", "--seconds", "20"]
