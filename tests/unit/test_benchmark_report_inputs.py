"""What the benchmark report reads: a CPU profile's figures come back from its ``profile.txt`` exactly as
``benchmarks.cpu_profile`` wrote them (so the profiles committed before ``profile.json`` existed can be
charted), and the latency benchmark's ``--json`` keeps every row, a percentile with no sample as null."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks.cpu_profile import figures, profile_text, read_profile_text
from benchmarks.latency import write_json
from benchmarks.report import BEFORE

LOOP = "_run_module_as_main (<frozen runpy>:198);<module> (node/__main__.py:4);run_forever (asyncio/e.py:1)"
REST = f"{LOOP};handler (node/http/cases.py:159);encode (eventsourcing/persistence.py:90)"
INBOX = (
    "Thread._bootstrap (threading.py:1);Inbox.apply (federation/inbox.py:214);x (eventsourcing/sqlite.py:3)"
)
REPORT = {
    "acked": 217,
    "verdict": {"correct": True},
    "cpu": {
        "cpu_ms_per_acked_op": 23.17,
        "node_cpu_s": {"310000": 1.25, "320000": 1.5},
        "node_rss_mb": {"310000": 117.5, "320000": 120.25},
    },
}


def written_profile(directory: Path) -> dict[str, object]:
    """The figures of a run whose py-spy collapsed stacks are in ``directory``, as cpu_profile makes them."""
    (directory / "flame-310000.txt").write_text(f"{REST} 613\n{INBOX} 254\n{LOOP} 9\n", encoding="utf-8")
    (directory / "flame-320000.txt").write_text(f"{REST} 100\n{INBOX} 1\n", encoding="utf-8")
    return figures("SQLite", 7.5, 12.0, REPORT, directory)


def test_a_profile_reads_back_from_the_text_cpu_profile_wrote(tmp_path: Path) -> None:
    written = written_profile(tmp_path)
    assert written["samples"] == 977
    assert written["components"] == {
        "node/http/cases handler": 713,
        "federation/inbox Inbox.apply": 255,
        "event loop and libraries (no project frame)": 9,
    }
    assert not list(tmp_path.glob("flame-*.txt")), "the collapsed stacks are removed once split"
    text = profile_text(written)
    # below 1000 samples, a share to 0.1 % pins its count: the figures come back exactly
    assert read_profile_text(text) == written
    assert profile_text(read_profile_text(text)) == text


def test_a_text_that_is_not_a_profile_is_refused() -> None:
    with pytest.raises(ValueError, match=r"not a profile\.txt"):
        read_profile_text("store: SQLite\n")


COMMITTED = [d for d in BEFORE if (d / "profile.txt").is_file()]


@pytest.mark.parametrize("directory", COMMITTED, ids=lambda d: d.name)
def test_the_committed_profile_json_holds_the_figures_of_its_profile_txt(directory: Path) -> None:
    text = (directory / "profile.txt").read_text(encoding="utf-8")
    committed = json.loads((directory / "profile.json").read_text(encoding="utf-8"))
    assert committed == read_profile_text(text)
    assert profile_text(committed) == text


def test_the_latency_json_keeps_every_row_and_the_raw_round_trip(tmp_path: Path) -> None:
    rows = [
        {"offered": 5.0, "achieved": 4.9, "ops_s": 61.0, "errors": 0.0, "apply_p50_ms": 25.0,
         "apply_p99_ms": 100.0, "p50_ms": 31.5, "p99_ms": 88.25, "correct": 1.0},
        {"offered": 20.0, "achieved": 12.5, "ops_s": 150.0, "errors": 3.0, "apply_p50_ms": math.nan,
         "apply_p99_ms": math.inf, "p50_ms": 410.0, "p99_ms": 2300.5, "correct": 0.0},
    ]  # fmt: skip
    path = tmp_path / "latency.json"
    write_json(path, "PostgreSQL", rows, 0.75, 1.5)
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["store"] == "PostgreSQL"
    assert (written["raw_grpc_p50_ms"], written["raw_grpc_p99_ms"]) == (0.75, 1.5)
    assert written["target"] == {"rate": 25.0, "apply_p99_ms": 250.0}
    assert written["rows"][0] == rows[0] | {"correct": True}
    assert written["rows"][1] == rows[1] | {"apply_p50_ms": None, "apply_p99_ms": None, "correct": False}
