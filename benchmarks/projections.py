"""Benchmark of read-model catch-up: each read model emptied, then caught up from the start of a node's log,
as events applied per second, next to the raw read rate of the same events from the same event table in the
same run (the recorder's select of those notifications, without decoding or applying them).

    python -m benchmarks.projections [--cases 1000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import statistics
import time

from aggregates.responsibility import Actor
from benchmarks.bench_node import JS, SH, bench_node
from node.services import Services
from node.usecases.case_commands import ACCEPT, ATTACH_MATERIAL, CONCLUDE, FORWARD, RATE, RECEIVE
from simulators.sample_data import citizen_id, sample_certificates
from simulators.simulate import nodes_today

WINDOW, HANDLER = Actor(SH, "SH-WIN", "w-1"), Actor(JS, "JS-GA", "h-1")
DIGEST = "sha256:" + "ab" * 32
BATCH = 2000  # the followers' batch size: the raw read takes the same steps
RUNS = 5
TARGET_RATIO = 0.5  # the issue's first step: every read model at half the raw read of its events or better


def fill(node: Services, cases: int, certificate_seed: str | None = None) -> None:
    """PROXY cases received in Shanghai for Jiangsu, forwarded, accepted, half of them concluded and rated;
    a Shanghai certificate verified by Jiangsu for every fifth (fills running at once: a seed each)."""
    certificate = {
        "service_item_code": None,
        **sample_certificates(SH, 1, seed=certificate_seed, today=nodes_today(None))[0],
    }
    identifier = node.certificates.issue(WINDOW, **certificate).identifier
    for n in range(cases):
        applicant = {
            "name": "张伟",
            "id_type": "111",
            "id_number": citizen_id("310101", "19900101", n % 1000),
        }
        case = node.cases.submit(
            WINDOW, item_province=JS, item_code="GA-0003", mode="PROXY", applicant=applicant
        )
        case_id = str(case.id)
        for material in case.missing_materials():
            node.cases.run(ATTACH_MATERIAL, case_id, WINDOW, material_code=material, file_digest=DIGEST)
        node.cases.run(RECEIVE, case_id, WINDOW)
        node.cases.run(FORWARD, case_id, WINDOW)
        node.cases.run(ACCEPT, case_id, HANDLER)
        if n % 2:
            node.cases.run(CONCLUDE, case_id, HANDLER, result="RETURNED")
            node.cases.run(RATE, case_id, WINDOW, score=5 if n % 10 else 2, channel="WINDOW")
        if n % 5 == 0:  # a use for the holder's use log
            node.certificates.verify_for_peer(
                identifier, JS, f"C{n:019d}", "新生儿入户", f"310000:20200101:CONSENT-{n}"
            )
        if n % 200 == 199:
            print(f"  {n + 1} cases recorded", flush=True)


def raw_read(node: Services, topics: list[str], decode: bool = False) -> tuple[int, float]:
    """Read the events as the followers do, in their batch size; ``decode``: also turn each into its domain
    event through the application's mapper (what any read model must do before it can apply an event)."""
    started, position, rows = time.perf_counter(), 0, 0
    while True:
        batch = node.app.recorder.select_notifications(start=position + 1, limit=BATCH, topics=topics)
        if decode:
            for notification in batch:
                node.app.mapper.to_domain_event(notification)
        rows += len(batch)
        if len(batch) < BATCH:
            return rows, time.perf_counter() - started
        position = batch[-1].id


def _rate(events: int, seconds: float) -> float:
    return events / seconds


def main(args: argparse.Namespace) -> None:
    with bench_node(args.postgres) as node:
        print(
            f"store: {'PostgreSQL' if args.postgres else 'SQLite'}; recording {args.cases} cases ...",
            flush=True,
        )
        fill(node, args.cases)
        print(
            f"{'read model':<22}{'events':>8}{'raw ev/s':>12}{'catch-up ev/s':>14}{'ratio':>8}{'ceiling':>9}"
        )
        alone_total_s, ratios = 0.0, {}
        for name, follower in node.projections.items():
            topics = list(follower.projection.topics)
            if not node.app.recorder.select_notifications(start=1, limit=1, topics=topics):
                print(f"{name:<22}{0:>8}  (the benchmark's load records none of its events)")
                continue
            # the median of the runs of each, taken in turn, so a noisy moment hurts neither side alone
            raw, decoded, caught_up, applied, alone_s = [], [], [], 0, []
            for _run in range(RUNS):
                raw.append(_rate(*raw_read(node, topics)))
                decoded.append(_rate(*raw_read(node, topics, decode=True)))
                follower.reset()  # emptied before the clock starts: the catch-up alone is timed
                started = time.perf_counter()
                applied = follower.tick()
                alone_s.append(time.perf_counter() - started)
                caught_up.append(_rate(applied, alone_s[-1]))
            raw_rate, decode_rate, rate = (statistics.median(r) for r in (raw, decoded, caught_up))
            alone_total_s += statistics.median(alone_s)
            ratios[name] = rate / raw_rate
            print(
                f"{name:<22}{applied:>8}{raw_rate:>12,.0f}{rate:>14,.0f}{rate / raw_rate:>8.2f}"
                f"{decode_rate / raw_rate:>9.2f}",
                flush=True,
            )
        together(node, alone_total_s)
        print(f"ratio: catch-up rate / raw read rate of the same events (target: {TARGET_RATIO} or more)")
        print("ceiling: read and decode only, nothing applied / raw read: no read model can beat it")
        print(f"every figure is the median of {RUNS} runs")
        worst = min(ratios, key=ratios.__getitem__)
        verdict = "PASS" if ratios[worst] >= TARGET_RATIO else "FAIL"
        print(
            f"target every read model >= {TARGET_RATIO} x raw read: {verdict} "
            f"(lowest {worst} {ratios[worst]:.2f})"
        )


def together(node: Services, alone_total_s: float) -> None:
    """Every read model caught up at once, as a node's workers do (``projections.together``): one read of
    the union of their topics, each event decoded once, one transaction a batch; beside the same catch-up of
    each alone, one after another."""
    topics = sorted({t for f in node.projections.values() for t in f.projection.topics})
    raw, runs = [], []
    for _run in range(RUNS):
        raw.append(_rate(*raw_read(node, topics)))
        for follower in node.projections.values():
            follower.reset()
        started = time.perf_counter()
        read = node.read_models.tick()
        runs.append(time.perf_counter() - started)
    seconds, raw_rate = statistics.median(runs), statistics.median(raw)
    rate = read / seconds
    print(
        f"{'all together':<22}{read:>8}{raw_rate:>12,.0f}{rate:>14,.0f}{rate / raw_rate:>8.2f}"
        f"   {seconds:.2f} s, against {alone_total_s:.2f} s each alone ({alone_total_s / seconds:.1f}x)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--postgres", help="PostgreSQL URL: run on PostgreSQL instead of SQLite")
    main(parser.parse_args())
