"""Benchmark of the auditable history: leaves appended to the transparency tree per second, full verification
(``audit verify``) leaves per second, and whole-log replay (``audit replay``) events per second, each next to
the raw read rate of the same events from the same event table in the same run (a plain SELECT of its rows).
Then ``tongban audit verify`` runs as a process of its own, and its peak resident memory is measured.

    python -m benchmarks.transparency [--cases 1000] [--leaves N] [--runs 3] [--postgres URL]

``--leaves N`` grows the log to N events after the cases are recorded, by copying the recorded rows with
fresh aggregate ids (raw INSERT ... SELECT, in log order): a million leaves in minutes rather than the hour
that recording them through the node takes. Every copy is a well-formed stored record that replays.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg import sql

from benchmarks.bench_node import SH, bench_node
from benchmarks.projections import fill
from node.audit.replay import replay_log
from node.audit.verify import verify
from node.services import Services
from node.store.stored_records import stored_records

VERIFY_TARGET = 100_000  # leaves/s
VERIFY_RATIO_TARGET = 0.9  # of the raw read
RSS_LIMIT_MB = 300  # peak resident memory of `tongban audit verify`
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


def _grow(node: Services, leaves: int) -> int:
    """Copy the recorded rows, in log order, until the log holds ``leaves`` events. Copy number r keeps each
    aggregate's id but for its last 8 hex digits, which become r: each copy is an aggregate of its own."""
    recorder = node.app.recorder
    recorded, last = _raw_select(node), recorder.max_notification_id() or 0
    held, copy = recorded, 0
    while held < leaves:
        copy += 1
        take = min(recorded, leaves - held)
        if isinstance(recorder, SQLiteApplicationRecorder):  # ids as 32 hex digits, the log order is rowid
            statement = (
                f"INSERT INTO {recorder.events_table_name} (originator_id, originator_version, topic, state) "  # noqa: S608
                "SELECT substr(originator_id, 1, 24) || printf('%08x', ?), originator_version, topic, state "
                f"FROM {recorder.events_table_name} WHERE rowid <= ? ORDER BY rowid LIMIT ?"
            )
            with recorder.datastore.transaction(commit=True) as cursor:
                cursor.execute(statement, (copy, last, take))
        elif isinstance(recorder, PostgresApplicationRecorder):
            table = sql.SQL("{schema}.{table}").format(
                schema=sql.Identifier(recorder.datastore.schema),
                table=sql.Identifier(recorder.events_table_name),
            )
            query = sql.SQL(
                "INSERT INTO {table} (originator_id, originator_version, topic, state) "
                "SELECT overlay(originator_id::text placing lpad(to_hex(%s::integer), 8, '0') from 29 for 8)"
                "::uuid, originator_version, topic, state FROM {table} "
                "WHERE notification_id <= %s ORDER BY notification_id LIMIT %s"
            ).format(table=table)
            with recorder.datastore.get_connection() as connection, connection.cursor() as cursor:
                cursor.execute(query, (copy, last, take))
        else:
            raise TypeError(f"cannot grow a {type(recorder).__name__}")
        held += take
        print(f"  {held} events", flush=True)
    return held


def _append_from_scratch(node: Services) -> Callable[[], int]:
    log = node.transparency.log

    def run() -> int:
        with node.views.transaction() as tx:  # emptied inside the timing, as a rebuild would
            tx.execute("DELETE FROM tlog_leaves")
            tx.execute("DELETE FROM tlog_heads")
            tx.execute("DELETE FROM view_tracking WHERE name = ?", ("transparency_log",))
        return log.tick()

    return run


def _verify_command(node: Services) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of ``tongban audit verify`` run as a process of its own on the node's store,
    as an auditor runs it; the seconds include the interpreter's start and the node's opening."""
    settings = node.settings
    environ = {**os.environ, "TONGBAN_DATA_DIR": str(settings.data_dir)}
    if settings.postgres_url:
        environ |= {
            "TONGBAN_POSTGRES_URL": settings.postgres_url,
            "TONGBAN_POSTGRES_SCHEMA": settings.eventsourcing_env()["POSTGRES_SCHEMA"],
        }
    started = time.perf_counter()
    command = "import sys; from node.cli.main import main; sys.exit(main())"
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
        [sys.executable, "-c", command, "audit", "verify", "--province", SH],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # the progress bar and the logs
        text=True,
    )
    answer = child.stdout.read() if child.stdout else ""
    _pid, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not every child's
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if child.returncode != 0 or "no tampering found" not in answer:
        raise SystemExit(f"tongban audit verify failed on the benchmark's log (exit {child.returncode})")
    return seconds, usage.ru_maxrss / 1024  # kilobytes on Linux


def main(args: argparse.Namespace) -> None:
    runs = args.runs
    with bench_node(args.postgres) as node:
        print(f"store: {'PostgreSQL' if args.postgres else 'SQLite'}; recording {args.cases} cases ...")
        fill(node, args.cases)
        if args.leaves:
            print(f"copying the recorded events to {args.leaves} ...", flush=True)
            _grow(node, args.leaves)
        leaves, append_rate = _median_rate(runs, _append_from_scratch(node))
        if node.transparency.publish_head() is None:
            raise SystemExit("no tree head was signed over the benchmark's log")
        keys = node.certificates.public_keys()

        def verify_all() -> int:
            report = verify(node.app.recorder, node.transparency.log, SH, keys, {})
            if not report.clean:
                raise SystemExit(f"the benchmark's own log does not verify: {report}")
            return report.leaves_checked

        # the raw read and the verification take turns, so that both see the machine as it was at the time
        raw_rates, verify_rates = [], []
        for _run in range(runs):
            raw_events, raw_rate = _median_rate(1, lambda: _raw_select(node))
            verified, verify_rate = _median_rate(1, verify_all)
            raw_rates.append(raw_rate)
            verify_rates.append(verify_rate)
        raw_rate, verify_rate = statistics.median(raw_rates), statistics.median(verify_rates)
        ratio = statistics.median(v / r for v, r in zip(verify_rates, raw_rates, strict=True))
        print(f"raw read: {raw_events} events at {raw_rate:,.0f}/s (median of {runs})")
        replayed, replay_rate = _median_rate(
            runs, lambda: replay_log(node.app.recorder, node.app.mapper, FAR_FUTURE).events_replayed
        )
        print(f"{'figure':<30}{'items':>9}{'per second':>13}{'/ raw read':>12}")
        for name, items, rate in (
            ("leaves appended to the tree", leaves, append_rate),
            ("leaves verified (audit verify)", verified, verify_rate),
            ("events replayed (whole log)", replayed, replay_rate),
        ):
            print(f"{name:<30}{items:>9}{rate:>13,.0f}{rate / raw_rate:>12.2f}")
        seconds, rss_mb = _verify_command(node)
        print(
            f"tongban audit verify as its own process: {verified} leaves in {seconds:.1f} s "
            f"(start and opening included), peak RSS {rss_mb:,.0f} MB"
        )
        verdict = "PASS" if verify_rate >= VERIFY_TARGET else "FAIL"
        print(f"verify target: {VERIFY_TARGET:,} leaves/s: {verdict}")
        verdict = "PASS" if ratio >= VERIFY_RATIO_TARGET else "FAIL"
        print(
            f"verify target: {VERIFY_RATIO_TARGET} of the raw read: {ratio:.3f} "
            f"(median of {runs} runs, each beside a raw read just before it): {verdict}"
        )
        verdict = "PASS" if rss_mb <= RSS_LIMIT_MB else "FAIL"
        print(
            f"audit verify peak RSS at {verified} leaves: {rss_mb:,.0f} MB (limit {RSS_LIMIT_MB}): {verdict}"
        )
        print(f"every rate is the median of {runs} runs; raw read: a plain SELECT of the event table")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--leaves", type=int, help="grow the log to this many events by copying the recorded")
    parser.add_argument("--runs", type=int, default=3, help="runs of each rate; the median is reported")
    parser.add_argument("--postgres", help="PostgreSQL URL: run on PostgreSQL instead of SQLite")
    main(parser.parse_args())
