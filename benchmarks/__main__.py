"""Run every benchmark, then write the results with a description of the machine to benchmarks/results/.

    python -m benchmarks --postgres URL [--quick] [--only benchmarks.transparency,...]

Each benchmark runs as a process of its own and prints its figures beside a raw baseline measured in the
same run. The results file keeps every figure and every PASS/FAIL line against the targets, so a later run on
the same machine shows a regression. Beside it, an HTML page of the same name draws the latency benchmark's
JSON, the CPU profiles' split against the committed ones, and their flame graphs (``benchmarks/report.py``).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

import psycopg

from benchmarks import report

RESULTS = report.RESULTS
STORES = ("sqlite", "postgres")


def latency_json(base: str, store: str) -> Path:
    return RESULTS / f"{base}-latency-{store}.json"


def profile_dir(base: str, store: str) -> Path:
    return RESULTS / f"{base}-cpu-profile-{store}"


def suite(url: str, quick: bool, base: str) -> list[tuple[str, list[str]]]:
    """(module, arguments) of each benchmark, smaller with ``quick``; ``base`` names the files the report
    draws from."""
    scale = 5 if quick else 1
    sync = ["--cases", str(200 // scale), "--backlog", str(1000 // scale)]
    profile = ["--rate", "10", "--seconds", str(20 // scale)]
    latency = ["--rates", "5" if quick else "5,10,25", "--seconds", "10"]
    return [
        ("benchmarks.rest", ["--postgres", url, "--seconds", str(10 // scale or 2)]),
        ("benchmarks.group_commit", ["--postgres", url, "--seconds", str(8 // scale or 2)]),
        ("benchmarks.sync", ["--postgres", url, *sync]),
        ("benchmarks.latency", [*latency, "--json", str(latency_json(base, "sqlite"))]),
        (
            "benchmarks.latency",
            ["--postgres", url, *latency, "--json", str(latency_json(base, "postgres"))],
        ),
        ("benchmarks.cpu_profile", [*profile, "--out", str(profile_dir(base, "sqlite"))]),
        (
            "benchmarks.cpu_profile",
            ["--postgres", url, *profile, "--out", str(profile_dir(base, "postgres"))],
        ),
        ("benchmarks.projections", ["--postgres", url, "--cases", str(1000 // scale)]),
        ("benchmarks.transparency", ["--postgres", url, "--cases", str(3000 // scale)]),
        ("benchmarks.offline_check", ["--checks", str(3000 // scale)]),
    ]


def machine(url: str) -> list[str]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor() or "unknown",
    )
    memory = next(
        (line.split(":", 1)[1].strip() for line in _read("/proc/meminfo") if "MemTotal" in line), "?"
    )
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT version(), current_setting('fsync')").fetchone()
    server, fsync = (str(row[0]), str(row[1])) if row else ("unknown", "unknown")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH, for the record only
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores; memory {memory}",
        f"- kernel {platform.release()}; Python {platform.python_version()}",
        f"- PostgreSQL: {server.split(',')[0]}, fsync {fsync}",
        f"- commit {commit or 'unknown'}",
    ]


def _read(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def main(args: argparse.Namespace) -> int:
    started = datetime.datetime.now(datetime.UTC)
    sections, verdicts, failed = [], [], []
    chosen = args.only.split(",") if args.only else []
    # the files of a run are named by date and machine; a partial run's results say which it holds
    base = f"{started:%Y-%m-%d}-{platform.node() or 'machine'}{'-quick' if args.quick else ''}"
    stem = base + "".join(f"-{m.removeprefix('benchmarks.')}" for m in chosen)
    everything = suite(args.postgres, args.quick, base)
    if not set(chosen) <= {m for m, _ in everything}:
        print(f"--only names a module that is not in the suite: {args.only}", file=sys.stderr)
        return 2
    runs = [(m, a) for m, a in everything if not chosen or m in chosen]
    ran = {m for m, _ in runs}
    # the report must not draw an earlier run's figures for a benchmark that fails in this one
    if "benchmarks.latency" in ran:
        for store in STORES:
            latency_json(base, store).unlink(missing_ok=True)
    if "benchmarks.cpu_profile" in ran:
        for store in STORES:
            (profile_dir(base, store) / "profile.json").unlink(missing_ok=True)
    for module, arguments in runs:
        print(f"== {module} {' '.join(a for a in arguments if not a.startswith('postgres'))}", flush=True)
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", module, *arguments], capture_output=True, text=True, check=False
        )
        figures = [line for line in done.stdout.splitlines() if line and not line.startswith(("{", "20"))]
        print("\n".join(figures), flush=True)
        if done.returncode != 0:
            failed.append(module)
            figures.append(f"(exit {done.returncode}) {done.stderr.strip().splitlines()[-1:] or ''}")
        verdicts += [f"{module}: {line}" for line in figures if "PASS" in line or "FAIL" in line]
        sections += [f"### {module}", "", "```", *figures, "```", ""]
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{stem}.md"
    path.write_text(
        "\n".join(
            [
                f"# Benchmark results, {started:%Y-%m-%d %H:%M} UTC{' (quick)' if args.quick else ''}"
                + (f" (only {', '.join(chosen)})" if chosen else ""),
                "",
                *machine(args.postgres),
                "",
                report.VERDICTS_HEADING,
                "",
                *[f"- {v}" for v in verdicts],
                "",
                "## Figures",
                "",
                *sections,
            ]
        )
    )
    print(f"results: {path}")
    page = report.render(
        f"Benchmark results, {started:%Y-%m-%d %H:%M} UTC, {stem}",
        verdicts,
        [report.load_latency(latency_json(base, store)) for store in STORES if "benchmarks.latency" in ran],
        [report.load_profile(d) for d in report.BEFORE],
        [
            report.load_profile(profile_dir(base, store))
            for store in STORES
            if "benchmarks.cpu_profile" in ran
        ],
        RESULTS,
    )
    path.with_suffix(".html").write_text(page, encoding="utf-8")
    print(f"report: {path.with_suffix('.html')}")
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres", required=True, help="PostgreSQL URL (the server fsyncs, as in production)"
    )
    parser.add_argument("--quick", action="store_true", help="a fifth of the sizes and durations")
    parser.add_argument("--only", help="run only these benchmarks of the suite (modules, comma-separated)")
    sys.exit(main(parser.parse_args()))
