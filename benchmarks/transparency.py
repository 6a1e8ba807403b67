"""Benchmark of the auditable history: leaves appended to the transparency tree per second, full verification
(``audit verify``) leaves per second, and whole-log replay (``audit replay``) events per second, each next to
the raw read rate of the same events from the same event table in the same run (a plain SELECT of its rows).

    python -m benchmarks.transparency [--cases 1000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from benchmarks.bench_node import SH, bench_node
from benchmarks.projections import fill
from node.audit.replay import replay_log
from node.audit.verify import verify
from node.services import Services
from node.store.stored_records import stored_records

RUNS = 3
VERIFY_TARGET = 100_000  # leaves/s
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def _median_rate(runs: int, timed: Callable[[], int]) -> tuple[int, float]:
    """(items, median items/s) over ``runs`` runs of ``timed``, which returns how many items it handled."""
    rates, items = [], 0
    for _run in range(runs):
        started = time.perf_counter()
        items = timed()
        rates.append(items / (time.perf_counter() - started))
    return items, statistics.median(rates)


def _raw_select(node: Services) -> int:
    """The raw read: a plain SELECT of the event table's rows, in batches, nothing built from them."""
    return sum(len(batch) for batch in stored_records(node.app.recorder))


def _append_from_scratch(node: Services) -> Callable[[], int]:
    log = node.transparency.log

    def run() -> int:
        with node.views.transaction() as tx:  # emptied inside the timing, as a rebuild would
            tx.execute("DELETE FROM tlog_leaves")
            tx.execute("DELETE FROM tlog_heads")
            tx.execute("DELETE FROM view_tracking WHERE name = ?", ("transparency_log",))
        return log.tick()

    return run


def main(args: argparse.Namespace) -> None:
    with bench_node(args.postgres) as node:
        print(f"store: {'PostgreSQL' if args.postgres else 'SQLite'}; recording {args.cases} cases ...")
        fill(node, args.cases)
        raw_events, raw_rate = _median_rate(RUNS, lambda: _raw_select(node))
        print(f"raw read: {raw_events} events at {raw_rate:,.0f}/s (median of {RUNS})")

        leaves, append_rate = _median_rate(RUNS, _append_from_scratch(node))
        if node.transparency.publish_head() is None:
            raise SystemExit("no tree head was signed over the benchmark's log")
        keys = node.certificates.public_keys()

        def verify_all() -> int:
            report = verify(node.app.recorder, node.transparency.log, SH, keys, {})
            if not report.clean:
                raise SystemExit(f"the benchmark's own log does not verify: {report}")
            return report.leaves_checked

        verified, verify_rate = _median_rate(RUNS, verify_all)
        replayed, replay_rate = _median_rate(
            RUNS, lambda: replay_log(node.app.recorder, node.app.mapper, FAR_FUTURE).events_replayed
        )
        print(f"{'figure':<30}{'items':>9}{'per second':>13}{'/ raw read':>12}")
        for name, items, rate in (
            ("leaves appended to the tree", leaves, append_rate),
            ("leaves verified (audit verify)", verified, verify_rate),
            ("events replayed (whole log)", replayed, replay_rate),
        ):
            print(f"{name:<30}{items:>9}{rate:>13,.0f}{rate / raw_rate:>12.2f}")
        verdict = "PASS" if verify_rate >= VERIFY_TARGET else "FAIL"
        print(f"verify target: {VERIFY_TARGET:,} leaves/s: {verdict}")
        print(f"every figure is the median of {RUNS} runs; raw read: a plain SELECT of the event table")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--postgres", help="PostgreSQL URL: run on PostgreSQL instead of SQLite")
    main(parser.parse_args())
