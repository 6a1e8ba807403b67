"""The auditable-history benchmark runs end to end at a tiny size (its figures mean nothing here): it fills
a node, appends, verifies (failing loudly if its own log does not verify), replays, prints every figure."""

from __future__ import annotations

import argparse

import pytest

from benchmarks import transparency as bench_transparency


def test_the_benchmark_prints_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    bench_transparency.main(argparse.Namespace(cases=3, postgres=None))
    out = capsys.readouterr().out
    for figure in (
        "raw read:",
        "leaves appended to the tree",
        "leaves verified (audit verify)",
        "events replayed",
    ):
        assert figure in out
    assert "verify target: 100,000 leaves/s: " in out
