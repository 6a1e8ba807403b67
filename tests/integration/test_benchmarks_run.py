"""The auditable-history benchmark runs end to end at a tiny size (its figures mean nothing here), on both
stores: it fills a node, grows its log by copying the recorded events, appends, verifies (failing loudly if
its own log does not verify, in process and as ``tongban audit verify`` of its own), replays, prints every
figure."""

from __future__ import annotations

import argparse
import asyncio
import re

import pytest

from benchmarks import growth as bench_growth
from benchmarks import projections as bench_projections
from benchmarks import sync as bench_sync
from benchmarks import transparency as bench_transparency


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_benchmark_prints_every_figure(
    store: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    postgres = request.getfixturevalue("postgres_url") if store == "postgres" else None
    bench_transparency.main(argparse.Namespace(cases=3, leaves=200, runs=1, postgres=postgres))
    out = capsys.readouterr().out
    assert "raw read: 200 events" in out  # the log grown from what 3 cases record to 200 events
    for figure in (
        "leaves appended to the tree",
        "leaves verified (audit verify)",
        "events replayed (whole log)",
    ):
        assert re.search(rf"^{re.escape(figure)} +200 ", out, re.MULTILINE), figure
    assert "tongban audit verify as its own process: 200 leaves" in out
    assert "verify target: 100,000 leaves/s: " in out
    assert "verify target: 0.9 of the raw read: " in out
    assert "audit verify peak RSS at 200 leaves: " in out


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_sync_benchmark_prints_every_figure(
    store: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two real nodes at a tiny size: a change of the API the benchmark drives (a new required field, say)
    fails here rather than in the next benchmark run."""
    postgres = request.getfixturevalue("postgres_url") if store == "postgres" else None
    asyncio.run(bench_sync.main(argparse.Namespace(cases=3, backlog=4, postgres=postgres)))
    out = capsys.readouterr().out
    assert re.search(r"^sync latency, commit in 310000 → visible over REST in 320000 \(3 cases\)", out, re.M)
    assert re.search(r"^catch-up after a stop: \d+ events applied in ", out, re.MULTILINE)
    assert re.search(
        r"^target catch-up >= 10,000 events/s and >= 0.5 of raw batched inserts: (PASS|FAIL)$", out, re.M
    )


def test_the_read_model_benchmark_prints_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    bench_projections.main(argparse.Namespace(cases=3, postgres=None))
    out = capsys.readouterr().out
    for name in ("case_board", "case_view", "recognition_registry", "service_statistics"):
        assert re.search(rf"^{name} +\d+ +[\d,]+ +[\d,]+ +\d+\.\d\d +\d+\.\d\d$", out, re.MULTILINE), name
    assert re.search(r"^all together +\d+ .* each alone \(\d+\.\dx\)$", out, re.MULTILINE)
    assert re.search(r"^target every read model >= 0.5 x raw read: (PASS|FAIL) ", out, re.MULTILINE)


def test_the_growth_benchmark_prints_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    bench_growth.main(argparse.Namespace(sizes="300,600", postgres=None))
    out = capsys.readouterr().out
    assert len(re.findall(r"^ +\d+ +[\d,]+ +[\d,]+ +[\d,]+ +[\d,]+ +[\d,]+ +\d+$", out, re.MULTILINE)) == 2
    for name in ("append", "catch-up", "verify", "replay"):
        assert re.search(rf"^target {name} cost per event flat within 1.25x across the sizes: ", out, re.M), (
            name
        )
