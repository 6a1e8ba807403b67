"""The benchmark run as one HTML page with charts, which opens offline (plotly.js is inside it, once):
- every PASS/FAIL line against the targets;
- operations/s, cases filed/s and the latencies against the offered load (``benchmarks.latency --json``);
- CPU per acknowledged operation split by component, before and after, one chart per store
  (``profile.json`` of ``benchmarks.cpu_profile``: the ten largest components, the rest as "other");
- the flame graphs of those profiles, by their paths from the page.

``python -m benchmarks`` writes it beside its Markdown results. To draw it again from committed results:

    python -m benchmarks.report [--latency X.json ...] [--before DIR ...] [--after DIR ...] [--results X.md]
        --out F.html

A section whose inputs are missing (a run of part of the suite) says so instead.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

RESULTS = Path(__file__).parent / "results"
# the profiles the component split is compared with, until a later one replaces them here
BEFORE = (RESULTS / "2026-12-06-cpu-profile-sqlite", RESULTS / "2026-12-06-cpu-profile-postgres")
TOP_COMPONENTS = 10
VERDICT = re.compile(r"\b(PASS|FAIL)\b")
VERDICTS_HEADING = "## Against the targets"


@dataclass(frozen=True)
class Profile:
    """A directory written by ``benchmarks.cpu_profile``: its ``profile.json`` (None when it has none, as
    after a partial run) and its flame graphs."""

    directory: Path
    figures: dict[str, Any] | None
    flame_graphs: tuple[Path, ...]


def load_profile(directory: Path) -> Profile:
    path = directory / "profile.json"
    figures = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    return Profile(directory, figures, tuple(sorted(directory.glob("flame-*.svg"))))


def load_latency(path: Path | None) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path is not None and path.is_file() else None


def verdicts_of(markdown: str) -> list[str]:
    """The PASS/FAIL lines of a results file that ``python -m benchmarks`` wrote."""
    lines = markdown.splitlines()
    if VERDICTS_HEADING not in lines:
        return []
    section = lines[lines.index(VERDICTS_HEADING) + 1 :]
    ending = next((n for n, line in enumerate(section) if line.startswith("## ")), len(section))
    return [line.removeprefix("- ") for line in section[:ending] if line.startswith("- ")]


def render(
    title: str,
    verdicts: list[str],
    latencies: Iterable[dict[str, Any] | None],
    before: Iterable[Profile],
    after: Iterable[Profile],
    page_dir: Path,
) -> str:
    """The page; ``page_dir`` is where it will be written, for the flame graphs' relative paths."""
    before, after = list(before), list(after)
    body = [
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Against the targets</h2>",
        _verdicts(verdicts),
        "<h2>Throughput and latency against the offered load</h2>",
        "".join(_latency(latency) for latency in latencies if latency is not None)
        or _none("benchmarks.latency did not run, or wrote no --json"),
        "<h2>CPU per acknowledged operation, by component</h2>",
        _cpu(before, after),
        "<h2>Flame graphs</h2>",
        _flame_graphs(before, after, page_dir),
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>",
            "<style>body{font-family:sans-serif;max-width:70em;margin:auto}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}"
            ".PASS{color:#060}.FAIL{color:#a00}.none{color:#666;font-style:italic}"
            "object{width:100%;border:1px solid #ccc}</style>",
            f'<script type="text/javascript">{get_plotlyjs()}</script>',
            "</head><body>",
            *body,
            "</body></html>",
        ]
    )


def _none(what: str) -> str:
    return f'<p class="none">No data: {html.escape(what)}.</p>'


def _figure(figure: go.Figure, div_id: str) -> str:
    figure.update_layout(template="plotly_white")
    return str(figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id))


def _verdicts(verdicts: list[str]) -> str:
    if not verdicts:
        return _none("this run printed no PASS/FAIL line")
    rows = []
    for verdict in verdicts:
        module, _, line = verdict.partition(": ")
        found = VERDICT.search(line)
        word = found[1] if found else "?"
        cells = f'<td>{html.escape(module)}</td><td class="{word}">{word}</td><td>{html.escape(line)}</td>'
        rows.append(f"<tr>{cells}</tr>")
    return "<table><tr><th>benchmark</th><th>verdict</th><th>line</th></tr>" + "".join(rows) + "</table>"


def _latency(latency: dict[str, Any]) -> str:
    """Two charts of one store's run: throughput, and the delays."""
    rows, store = latency["rows"], latency["store"]
    if not rows:
        return _none(f"benchmarks.latency on {store} wrote no row")
    offered = [row["offered"] for row in rows]

    def line(name: str, key: str, dash: str | None = None) -> go.Scatter:
        ys = [row[key] for row in rows]
        return go.Scatter(x=offered, y=ys, name=name, mode="lines+markers", line={"dash": dash})

    def flat(name: str, value: float) -> go.Scatter:
        return go.Scatter(x=offered, y=[value] * len(offered), name=name, mode="lines", line={"dash": "dot"})

    throughput = go.Figure(
        [
            line("operations/s", "ops_s"),
            line("cases filed/s (achieved)", "achieved"),
            go.Scatter(x=offered, y=offered, name="offered", mode="lines", line={"dash": "dot"}),
        ]
    )
    throughput.update_layout(
        title=f"Throughput, four nodes on {store}",
        xaxis_title="offered cases/s",
        yaxis_title="per second",
    )
    delays = go.Figure(
        [
            line("apply p50 (bucket bound)", "apply_p50_ms"),
            line("apply p99 (bucket bound)", "apply_p99_ms"),
            line("visible over REST p50", "p50_ms", "dash"),
            line("visible over REST p99", "p99_ms", "dash"),
            flat("target apply p99", latency["target"]["apply_p99_ms"]),
            flat("raw gRPC mTLS round trip p99", latency["raw_grpc_p99_ms"]),
        ]
    )
    delays.update_layout(
        title=f"Commit-to-apply latency, four nodes on {store}",
        xaxis_title="offered cases/s",
        yaxis_title="ms (log)",
        yaxis_type="log",
    )
    key = store.lower()
    return _figure(throughput, f"latency-throughput-{key}") + _figure(delays, f"latency-delays-{key}")


def _cpu(before: list[Profile], after: list[Profile]) -> str:
    parts = [
        _none(f"{profile.directory} has no profile.json")
        for profile in before + after
        if profile.figures is None
    ]
    stores = list(dict.fromkeys(p.figures["store"] for p in before + after if p.figures is not None))
    if not stores:
        return "".join(parts) + _none("no CPU profile, before or after")
    for store in stores:
        runs = [
            (when, profile.figures)
            for when, profiles in (("before", before), ("after", after))
            for profile in profiles
            if profile.figures is not None and profile.figures["store"] == store
        ]
        parts.append(_figure(cpu_split(store, runs), f"cpu-{store.lower()}"))
    return "".join(parts)


def component_ms(figures: dict[str, Any]) -> dict[str, float]:
    """CPU ms per acknowledged operation of each component: the run's CPU per operation times the
    component's share of the samples."""
    samples, per_op = figures["samples"], figures["cpu_ms_per_acked_op"]
    return (
        {name: per_op * count / samples for name, count in figures["components"].items()} if samples else {}
    )


def cpu_split(store: str, runs: list[tuple[str, dict[str, Any]]]) -> go.Figure:
    """Stacked bars, one per run: the largest components over the runs, and the rest as "other"."""
    split = [component_ms(figures) for _, figures in runs]
    totals: dict[str, float] = {}
    for ms in split:
        for name, value in ms.items():
            totals[name] = totals.get(name, 0.0) + value
    top = sorted(totals, key=lambda name: -totals[name])[:TOP_COMPONENTS]
    labels = [f"{when}: {figures['cpu_ms_per_acked_op']:g} ms/op" for when, figures in runs]
    bars = [go.Bar(x=labels, y=[round(ms.get(name, 0.0), 3) for ms in split], name=name) for name in top]
    other = [
        round(figures["cpu_ms_per_acked_op"] - sum(ms.get(name, 0.0) for name in top), 3)
        for (_, figures), ms in zip(runs, split, strict=True)
    ]
    figure = go.Figure([*bars, go.Bar(x=labels, y=other, name="other")])
    figure.update_layout(
        barmode="stack",
        title=f"CPU ms per acknowledged operation by component, {store}",
        yaxis_title="CPU ms per acknowledged operation",
        height=520,
    )
    return figure


def _flame_graphs(before: list[Profile], after: list[Profile], page_dir: Path) -> str:
    parts = []
    for when, profiles in (("before", before), ("after", after)):
        for profile in profiles:
            store = profile.figures["store"] if profile.figures else profile.directory.name
            parts.append(f"<h3>{when}: {html.escape(store)}</h3>")
            if not profile.flame_graphs:
                parts.append(_none(f"no flame graph in {profile.directory}"))
            for svg in profile.flame_graphs:
                path = html.escape(Path(os.path.relpath(svg, page_dir)).as_posix())
                parts.append(
                    f'<p><a href="{path}">{path}</a></p>'
                    f'<object data="{path}" type="image/svg+xml" height="400"></object>'
                )
    return "".join(parts) or _none("no CPU profile, before or after")


def main(args: argparse.Namespace) -> None:
    out: Path = args.out
    verdicts = verdicts_of(args.results.read_text(encoding="utf-8")) if args.results else []
    page = render(
        args.title or out.stem,
        verdicts,
        [load_latency(path) for path in args.latency],
        [load_profile(d) for d in args.before],
        [load_profile(d) for d in args.after],
        out.resolve().parent,
    )
    out.write_text(page, encoding="utf-8")
    print(f"report: {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--latency",
        type=Path,
        action="append",
        default=[],
        help="the JSON of benchmarks.latency --json (repeatable: one per store)",
    )
    parser.add_argument(
        "--before",
        type=Path,
        action="append",
        help="a CPU profile directory to compare with (repeatable; the committed 2026-12-06 ones if none)",
    )
    parser.add_argument("--after", type=Path, action="append", default=[], help="a CPU profile directory")
    parser.add_argument("--results", type=Path, help="the results .md, for its PASS/FAIL lines")
    parser.add_argument("--title", help="the page's title (the output's name if none)")
    parser.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    arguments = parser.parse_args()
    arguments.before = arguments.before or list(BEFORE)
    main(arguments)
