"""How the costs change as a node's log grows: at each size (10k, 100k, 1M events by default), the rate of
appending the last stretch of events, a read model catching up with that stretch, a full `audit verify` and
a full replay, each next to a plain SELECT of the whole event table at that size. Flat rates mean a flat cost
per event. Also the process's peak resident memory.

    python -m benchmarks.growth [--sizes 10000,100000,1000000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from benchmarks.bench_node import SH, bench_node
from benchmarks.projections import fill
from node.audit.replay import replay_log
from node.audit.verify import verify
from node.services import Services
from node.store.stored_records import stored_records
from projections.case_board import CaseBoard

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
FLAT = 1.25  # the first step: the cost per event at the largest size within this factor of the smallest
FILLERS = 8  # threads filing at once; each uses a certificate of its own, so they never race on one


def _events(node: Services) -> int:
    return sum(len(batch) for batch in stored_records(node.app.recorder))


def _timed(work: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    done = work()
    return done, time.perf_counter() - started


def _verified(node: Services) -> int:
    keys = node.certificates.public_keys()
    return verify(node.app.recorder, node.transparency.log, SH, keys, {}).leaves_checked


def main(args: argparse.Namespace) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    with bench_node(args.postgres) as node:
        board = node.projections[CaseBoard.name]
        board.tick()
        node.transparency.publish_head()
        print(f"store: {'PostgreSQL' if args.postgres else 'SQLite'}")
        print(
            f"{'events':>9}{'append ev/s':>13}{'catch-up ev/s':>15}{'verify lv/s':>13}{'replay ev/s':>13}"
            f"{'raw ev/s':>11}{'peak RSS MB':>13}"
        )
        held = _events(node)
        rates: dict[str, list[float]] = {"append": [], "catch-up": [], "verify": [], "replay": []}
        for size in sizes:
            cases = max((size - held) // 9, 1)  # the fill records about 9.3 events a case
            started = time.perf_counter()
            with ThreadPoolExecutor(FILLERS) as fillers:  # concurrent filings, as a busy node takes them
                fills = [
                    fillers.submit(fill, node, cases // FILLERS, f"growth-{size}-{n}") for n in range(FILLERS)
                ]
                for done in fills:
                    done.result()
            append_s = time.perf_counter() - started
            total = _events(node)
            appended, held = total - held, total
            caught_up, catch_s = _timed(board.tick)
            node.transparency.publish_head()
            verified, verify_s = _timed(lambda: _verified(node))
            replayed, replay_s = _timed(
                lambda: replay_log(node.app.recorder, node.app.mapper, FAR_FUTURE).events_replayed
            )
            raw, raw_s = _timed(lambda: _events(node))
            rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            measured = (appended / append_s, caught_up / catch_s, verified / verify_s, replayed / replay_s)
            for values, rate in zip(rates.values(), measured, strict=True):
                values.append(rate)
            print(
                f"{total:>9}{appended / append_s:>13,.0f}{caught_up / catch_s:>15,.0f}"
                f"{verified / verify_s:>13,.0f}{replayed / replay_s:>13,.0f}{raw / raw_s:>11,.0f}"
                f"{rss_mb:>13,.0f}",
                flush=True,
            )
        print(
            f"append: filing cases in process from {FILLERS} threads (group commit); "
            "catch-up: the case board over the newly appended events"
        )
        for name, values in rates.items():
            spread = max(values) / min(values)
            verdict = "PASS" if spread <= FLAT else "FAIL"
            print(
                f"target {name} cost per event flat within {FLAT}x across the sizes: {spread:.2f}x {verdict}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="log sizes in events, ascending")
    parser.add_argument("--postgres", help="PostgreSQL URL: run on PostgreSQL instead of SQLite")
    main(parser.parse_args())
