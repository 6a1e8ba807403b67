"""Where a node's CPU goes under the simulator's workload: CPU per acknowledged operation, a flame graph of
each node, and the samples split by component.

The simulator's seeded workload (no faults) runs across four nodes at one offered rate. While it loads them,
py-spy samples each node process twice, without stopping it: once to draw its flame graph (SVG), once as
collapsed stacks, which are split here:
- by component, the first of the project's frames on the stack (from the thread's root): a REST handler, a
  use case, a read model's follower, the inbox, the outbox serving a peer's pull, the puller, a worker; the
  event loop's own frames (aiohttp, grpc, asyncio) when no project frame is on the stack;
- by library, the share of samples that pass through it anywhere on the stack (the eventsourcing JSON
  transcoder, its SQLite or PostgreSQL recorder, structlog, PyJWT, jsonschema, aiohttp, grpc, prometheus).
A sample is a stack of a thread py-spy saw running, so the shares are shares of the nodes' CPU; idle threads
(an executor waiting for work, the loop waiting in epoll) are left out.

CPU per acknowledged operation comes from the simulator's report (``simulators/node_cpu.py``): the nodes'
own process counters, which do not depend on how busy the machine is.

The figures go to ``profile.txt`` for a person and ``profile.json`` for ``benchmarks.report``'s charts, beside
the SVGs in ``--out``.

    python -m benchmarks.cpu_profile [--rate 10] [--seconds 20] [--postgres URL] [--out DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks.latency import steady_load

PROJECT = ("node/", "federation/", "projections/", "aggregates/", "infra/", "credentials/")
ENTRY = ("node/__main__.py", "node/cli/", "node/runner.py")
PASS_THROUGH = (
    "node/http/middlewares.py",
    "node/http/parameters.py",
    "node/grpc/interceptors.py",
    "node/grpc/decoding.py",
    "federation/peer_limits.py",
)
# a leaf frame that means the thread was waiting, not working
IDLE = ("_worker (concurrent/futures/thread.py", "EpollSelector.select", "Condition.wait", "Event.wait")
LIBRARIES = {
    "eventsourcing transcoder (JSON)": "eventsourcing/persistence.py",
    "eventsourcing recorders (SQL)": ("eventsourcing/sqlite.py", "eventsourcing/postgres.py"),
    "structlog (logging)": "structlog/",
    "PyJWT (tokens)": "jwt/",
    "jsonschema (validation)": "jsonschema/",
    "aiohttp (HTTP)": "aiohttp/",
    "grpc": "grpc/",
    "prometheus_client (metrics)": "prometheus_client/",
}
TARGET_MS_PER_OP = {"SQLite": 4.0, "PostgreSQL": 6.0}  # the first step: a tenth of 2026-12-04
RSS_LIMIT_MB = 300.0
SAMPLE_RATE_HZ = 49  # beside 100 Hz ticks, so that sampling does not beat with the system clock
# the text's headings, which its reader finds again
COMPONENTS_HEADING = "by component (the first project frame from the thread's root):"
LIBRARIES_HEADING = "through a library, anywhere on the stack (shares overlap):"
HEAD = re.compile(
    r"store: (?P<store>\S+); (?P<rate>\S+) cases/s offered for (?P<seconds>\S+) s; (?P<acked>\d+) operations "
    r"acknowledged, verdict (?P<verdict>CORRECT|NOT correct)\n"
    r"node CPU: (?P<cpu>\S+) ms per acknowledged operation; seconds by node (?P<cpu_s>\{.*\}); "
    r"RSS MB (?P<rss>\{.*\})\n"
    r"samples of working threads, four nodes pooled: (?P<samples>\d+)\n"
)
SHARE = re.compile(r" *(?P<share>\d+\.\d)%  (?P<name>.+)")


def _path(frame: str) -> str:
    """``function (path:line)`` -> path."""
    return frame.rpartition(" (")[2].rpartition(":")[0]


def component(frames: list[str]) -> str:
    """The first project frame from the root that does the work, named module and function: past the entry
    points and the layers every call passes through (REST middlewares, gRPC interceptors, the peer limits),
    which are named only when the sample is in them and nothing deeper of ours."""
    ours = [f for f in frames if _path(f).startswith(PROJECT) and not _path(f).startswith(ENTRY)]
    working = next((f for f in ours if not _path(f).startswith(PASS_THROUGH)), None)
    frame = working or (ours[-1] if ours else None)
    if frame is None:
        return "event loop and libraries (no project frame)"
    return f"{_path(frame).removesuffix('.py')} {frame.rpartition(' (')[0]}"


def split(collapsed: Iterable[str]) -> tuple[int, Counter[str], Counter[str]]:
    """(working samples, samples by component, samples by library) of py-spy's collapsed stacks."""
    total, components, libraries = 0, Counter[str](), Counter[str]()
    for line in collapsed:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isascii() or not count.isdigit():
            continue
        frames = stack.split(";")
        if frames[-1].startswith(IDLE):
            continue
        samples = int(count)
        total += samples
        components[component(frames)] += samples
        for library, needles in LIBRARIES.items():
            if any(needle in stack for needle in ((needles,) if isinstance(needles, str) else needles)):
                libraries[library] += samples
    return total, components, libraries


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy is missing: pip install -e '.[dev]' installs it")
    return found


def record(pid: int, seconds: float, out: Path, kind: str) -> subprocess.Popen[bytes]:
    """py-spy sampling one node without pausing it: ``kind`` is "flamegraph" (SVG) or "raw" (collapsed)."""
    return subprocess.Popen(  # noqa: S603 - py-spy of our own venv, on our own child process
        [
            py_spy(), "record", "--pid", str(pid), "--rate", str(SAMPLE_RATE_HZ),
            "--duration", str(int(seconds)), "--nonblocking", "--format", kind, "--output", str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def profile(rate: float, seconds: float, postgres_url: str, out: Path) -> dict[str, Any]:
    simulation = steady_load(rate, seconds, postgres_url, "tongban-cpu-profile-")
    running = asyncio.create_task(simulation.run())
    # the load starts once every node serves and the population is issued: wait for its first operation
    for _ in range(1200):
        if simulation.history.operations or running.done():
            break
        await asyncio.sleep(0.1)
    pids = {p: node.pid for p, node in simulation.cluster.nodes.items() if node.pid is not None}
    recorders = [
        record(pid, seconds * 0.8, out / f"flame-{province}.{suffix}", kind)
        for province, pid in pids.items()
        for kind, suffix in (("flamegraph", "svg"), ("raw", "txt"))
    ]
    report = await running
    for recorder in recorders:
        await asyncio.to_thread(recorder.wait, 60)
    return report


def figures(store: str, rate: float, seconds: float, report: dict[str, Any], out: Path) -> dict[str, Any]:
    """What ``profile.json`` holds: the run, the nodes' CPU and memory, and the samples split, pooled over
    the four nodes' collapsed stacks in ``out`` (removed once split: the SVGs keep the stacks)."""
    total, components, libraries = 0, Counter[str](), Counter[str]()
    for collapsed in sorted(out.glob("flame-*.txt")):
        n, by_component, by_library = split(collapsed.read_text(encoding="utf-8").splitlines())
        total, components, libraries = total + n, components + by_component, libraries + by_library
        collapsed.unlink()
    cpu = report["cpu"]
    return {
        "store": store,
        "rate": rate,
        "seconds": seconds,
        "acked": report["acked"],
        "correct": bool(report["verdict"]["correct"]),
        "cpu_ms_per_acked_op": cpu["cpu_ms_per_acked_op"],
        "node_cpu_s": cpu["node_cpu_s"],
        "node_rss_mb": cpu["node_rss_mb"],
        "samples": total,
        "components": dict(components.most_common()),
        "libraries": dict(libraries.most_common()),
    }


def profile_text(profile: dict[str, Any]) -> str:
    """``profile.txt``: the figures as read by a person, the 25 largest components."""
    total = profile["samples"]
    lines = [
        f"store: {profile['store']}; {profile['rate']:g} cases/s offered for {profile['seconds']:g} s; "
        f"{profile['acked']} operations acknowledged, "
        f"verdict {'CORRECT' if profile['correct'] else 'NOT correct'}",
        f"node CPU: {profile['cpu_ms_per_acked_op']} ms per acknowledged operation; seconds by node "
        f"{json.dumps(profile['node_cpu_s'])}; RSS MB {json.dumps(profile['node_rss_mb'])}",
        f"samples of working threads, four nodes pooled: {total}",
        COMPONENTS_HEADING,
        *(_shares(profile["components"], total)[:25]),
        LIBRARIES_HEADING,
        *_shares(profile["libraries"], total),
    ]
    return "\n".join(lines) + "\n"


def _shares(counts: dict[str, int], total: int) -> list[str]:
    ordered = sorted(counts.items(), key=lambda item: -item[1])
    return [f"  {count / total:6.1%}  {name}" for name, count in ordered] if total else []


def read_profile_text(text: str) -> dict[str, Any]:
    """The figures of a ``profile.txt`` written before ``profile.json`` was: the samples of each component
    and library are its printed share times the total, rounded, so the shares are those of the text to its
    0.1 % (a count may differ from py-spy's by one past 1000 samples); the components below the 25 largest
    are not in the text, and count as nothing here."""
    head = HEAD.match(text)
    if head is None:
        raise ValueError("not a profile.txt of benchmarks.cpu_profile")
    total = int(head["samples"])
    body = text[head.end() :].splitlines()
    if COMPONENTS_HEADING not in body or LIBRARIES_HEADING not in body:
        raise ValueError("profile.txt lacks its component or library split")
    middle = body.index(LIBRARIES_HEADING)

    def counts(lines: list[str]) -> dict[str, int]:
        found = [SHARE.fullmatch(line) for line in lines]
        return {m["name"]: round(total * float(m["share"]) / 100) for m in found if m}

    return {
        "store": head["store"],
        "rate": float(head["rate"]),
        "seconds": float(head["seconds"]),
        "acked": int(head["acked"]),
        "correct": head["verdict"] == "CORRECT",
        "cpu_ms_per_acked_op": float(head["cpu"]),
        "node_cpu_s": json.loads(head["cpu_s"]),
        "node_rss_mb": json.loads(head["rss"]),
        "samples": total,
        "components": counts(body[body.index(COMPONENTS_HEADING) + 1 : middle]),
        "libraries": counts(body[middle + 1 :]),
    }


def main(args: argparse.Namespace) -> None:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    report = asyncio.run(profile(args.rate, args.seconds, args.postgres, out))
    store = "PostgreSQL" if args.postgres else "SQLite"
    profile_figures = figures(store, args.rate, args.seconds, report, out)
    text = profile_text(profile_figures)
    (out / "profile.txt").write_text(text, encoding="utf-8")
    (out / "profile.json").write_text(json.dumps(profile_figures, indent=1) + "\n", encoding="utf-8")
    print(text, end="")
    print(f"flame graphs: {', '.join(str(p) for p in sorted(out.glob('flame-*.svg')))}")
    print(verdicts(profile_figures))


def verdicts(profile: dict[str, Any]) -> str:
    """The first step's targets: CPU per acknowledged operation, and every node's memory under load."""
    limit = TARGET_MS_PER_OP[profile["store"]]
    ms, rss = profile["cpu_ms_per_acked_op"], max(profile["node_rss_mb"].values(), default=0.0)
    cpu = "PASS" if ms is not None and ms <= limit else "FAIL"
    memory = "PASS" if rss <= RSS_LIMIT_MB else "FAIL"
    return (
        f"target CPU per acknowledged operation <= {limit:g} ms on {profile['store']}: {ms} ms {cpu}\n"
        f"target every node process <= {RSS_LIMIT_MB:g} MB under load: largest {rss} MB {memory}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10.0, help="offered cases/s")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of load")
    parser.add_argument("--postgres", default="", help="PostgreSQL URL: the nodes use it instead of SQLite")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("var/cpu-profile"),
        help="where the SVGs, profile.txt and profile.json go",
    )
    main(parser.parse_args())
