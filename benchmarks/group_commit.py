"""Benchmark of group commit: cases filed per second by many threads at once through the case service, with
group commit and with one transaction per save, next to raw psycopg inserts of rows of the same size in the
same run (one row per transaction, and batches of rows per transaction).

    python -m benchmarks.group_commit --postgres URL [--threads 32] [--seconds 10]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg

from aggregates.responsibility import Actor
from node.bootstrap import build_services, close_services
from node.settings import load_settings
from node.signing import Ed25519Signer
from simulators.sample_data import citizen_id, sample_catalogue

SH, JS = "310000", "320000"
WINDOW = Actor(SH, "SH-WIN", "w-1")
ROW = b'{"x":"' + b"y" * 600 + b'"}'  # about the size of a stored Submitted event
TARGET = 4.0


def filings_per_second(url: str, threads: int, seconds: float, group_commit: bool) -> tuple[float, float]:
    directory = Path(tempfile.mkdtemp(prefix="tongban-bench-gc-"))
    Ed25519Signer.generate().write_key_pair(directory / "token-issuer.key", directory / "token-issuer.pub")
    Ed25519Signer.generate().write_key_pair(directory / SH / "signing.key", directory / SH / "signing.pub")
    schema = f"bench_gc_{uuid.uuid4().hex[:8]}"
    environ = {
        "TONGBAN_DATA_DIR": str(directory),
        "TONGBAN_POSTGRES_URL": url,
        "TONGBAN_POSTGRES_SCHEMA": schema,
        "TONGBAN_GROUP_COMMIT": "1" if group_commit else "0",
    }
    node = build_services(load_settings(province=SH, environ=environ))
    try:
        node.catalogue.load(sample_catalogue(), JS, Actor(JS, "CAT", "bench"))
        stop, counts = time.monotonic() + seconds, [0] * threads
        batches_before = node.app.committer.batches if node.app.committer else 0

        def file(worker: int) -> None:
            n = 0
            while time.monotonic() < stop:
                applicant = {
                    "name": "张伟",
                    "id_type": "111",
                    "id_number": citizen_id("310101", "19900101", n % 1000),
                }
                node.cases.submit(
                    WINDOW, item_province=JS, item_code="GA-0003", mode="PROXY", applicant=applicant
                )
                n += 1
            counts[worker] = n

        started = time.monotonic()
        workers = [threading.Thread(target=file, args=(w,)) for w in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.monotonic() - started
        transactions = node.app.committer.batches - batches_before if node.app.committer else sum(counts)
        return sum(counts) / elapsed, sum(counts) / max(transactions, 1)
    finally:
        close_services(node)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def raw_inserts_per_second(url: str, batch: int, seconds: float) -> float:
    table = f"bench_raw_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE TABLE {table} (id BIGSERIAL PRIMARY KEY, state BYTEA NOT NULL)")
        conn.commit()
        rows, stop = 0, time.monotonic() + seconds
        started = time.monotonic()
        while time.monotonic() < stop:
            with conn.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {table} (state) VALUES (%s)", [(ROW,)] * batch)  # noqa: S608
            conn.commit()
            rows += batch
        elapsed = time.monotonic() - started
        conn.execute(f"DROP TABLE {table}")
        conn.commit()
    return rows / elapsed


def main(args: argparse.Namespace) -> None:
    single = raw_inserts_per_second(args.postgres, 1, args.seconds / 2)
    batched = raw_inserts_per_second(args.postgres, 100, args.seconds / 2)
    print(f"raw psycopg: {single:,.0f} rows/s one per transaction; {batched:,.0f} rows/s 100 per transaction")
    off, _one = filings_per_second(args.postgres, args.threads, args.seconds, group_commit=False)
    on, per_transaction = filings_per_second(args.postgres, args.threads, args.seconds, group_commit=True)
    print(f"{'mode':<34}{'cases/s':>10}{'/ raw 1-row tx':>16}{'cases per tx':>14}")
    print(f"{'one transaction per save':<34}{off:>10,.0f}{off / single:>16.2f}{1:>14.1f}")
    print(f"{'group commit':<34}{on:>10,.0f}{on / single:>16.2f}{per_transaction:>14.1f}")
    gain = on / off
    print(
        f"group commit / one per save: {gain:.2f} (target {TARGET:g}): {'PASS' if gain >= TARGET else 'FAIL'}"
    )
    print(f"{args.threads} threads filing cases for {args.seconds:g} s each way; each case is 2 events")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, help="PostgreSQL URL")
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    main(parser.parse_args())
