"""The auditable-history benchmark runs end to end at a tiny size (its figures mean nothing here), on both
stores: it fills a node, grows its log by copying the recorded events, appends, verifies (failing loudly if
its own log does not verify, in process and as ``tongban audit verify`` of its own), replays, prints every
figure."""

from __future__ import annotations

import argparse
import re

import pytest

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
