"""Benchmark of case submissions through REST: a real node process on PostgreSQL (fsync on, group commit on)
takes POST /v1/cases from an aiohttp load client, next to two baselines measured in the same run: a trivial
aiohttp JSON handler in a process of its own, driven by the same client, and raw psycopg inserts of rows of
the same size, 100 per transaction. Also reports the node's peak resident memory.

    python -m benchmarks.rest --postgres URL [--seconds 10] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import select
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import psycopg

from aggregates.responsibility import Actor
from benchmarks.group_commit import raw_inserts_per_second
from node.auth import Role
from node.bootstrap import build_services, close_services
from node.settings import load_settings
from simulators.cluster import NodeProcess, prepare_keys, token_for
from simulators.sample_data import citizen_id, sample_catalogue

SH, JS = "310000", "320000"
TARGET_PER_S = 2000.0
TARGET_SHARE = 0.1
RSS_LIMIT_MB = 300.0


async def drive(url: str, headers: dict[str, str], seconds: float, connections: int) -> tuple[float, int]:
    """(answered 201 per second, failures) for ``connections`` clients posting cases for ``seconds``."""
    done, failures, stop = 0, 0, time.monotonic() + seconds

    async def client(session: aiohttp.ClientSession, worker: int) -> None:
        nonlocal done, failures
        n = 0
        while time.monotonic() < stop:
            applicant = {
                "name": "张伟",
                "id_type": "111",
                "id_number": citizen_id("310101", "19900101", (worker * 997 + n) % 1000),
            }
            body = {"item_province": JS, "item_code": "GA-0003", "mode": "PROXY", "applicant": applicant}
            async with session.post(url, json=body, headers=headers) as response:
                await response.read()
                if response.status == 201:
                    done += 1
                else:
                    failures += 1
            n += 1

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        started = time.monotonic()
        await asyncio.gather(*(client(session, w) for w in range(connections)))
        return done / (time.monotonic() - started), failures


def trivial_rate(seconds: float, connections: int) -> float:
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.trivial_server"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None  # noqa: S101 - piped above
        ready, _w, _x = select.select([server.stdout], [], [], 30)
        if not ready:
            raise RuntimeError("the trivial server did not start within 30 s")
        port = int(server.stdout.readline())
        rate, _failures = asyncio.run(drive(f"http://127.0.0.1:{port}/v1/cases", {}, seconds, connections))
        return rate
    finally:
        server.terminate()
        server.wait(10)


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def main(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="tongban-bench-rest-"))
    schema = f"bench_rest_{uuid.uuid4().hex[:8]}"
    store = {"TONGBAN_POSTGRES_URL": args.postgres, "TONGBAN_POSTGRES_SCHEMA": schema}
    prepare_keys(data_dir, (SH,))
    services = build_services(
        load_settings(province=SH, environ={"TONGBAN_DATA_DIR": str(data_dir), **store})
    )
    try:
        services.catalogue.load(sample_catalogue(), JS, Actor(JS, "CAT", "bench"))
    finally:
        close_services(services)
    node = NodeProcess(SH, data_dir, store)
    try:
        trivial = trivial_rate(args.seconds, args.connections)
        raw = raw_inserts_per_second(args.postgres, 100, args.seconds / 2)
        node.start()
        headers = {"Authorization": "Bearer " + token_for(data_dir / "token-issuer.key", SH, Role.WINDOW)}
        rate, failures = asyncio.run(
            drive(f"{node.http_url}/v1/cases", headers, args.seconds, args.connections)
        )
        rss = node.peak_rss_mb()
    finally:
        node.stop()
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    print(f"trivial aiohttp JSON handler: {trivial:,.0f} requests/s; raw psycopg: {raw:,.0f} rows/s")
    print(
        f"case submissions: {rate:,.0f}/s ({failures} not 201); {rate / trivial:.3f} of the trivial "
        f"handler, {rate / raw:.3f} of raw inserts (100 rows per transaction)"
    )
    print(f"target {TARGET_PER_S:,.0f}/s: {_verdict(rate >= TARGET_PER_S)}")
    print(f"target {TARGET_SHARE} of the trivial handler: {_verdict(rate / trivial >= TARGET_SHARE)}")
    if rss is not None:
        print(f"node peak RSS: {rss:.0f} MB (limit {RSS_LIMIT_MB:.0f}): {_verdict(rss <= RSS_LIMIT_MB)}")
    print(f"{args.connections} connections, {args.seconds:g} s each; the client runs on the same 2 cores")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, help="PostgreSQL URL")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    main(parser.parse_args())
