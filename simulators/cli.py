"""The simulator's commands of ``tongban``: ``simulate`` (load-test a local federation under faults, or a
running federation given by its manifest: simulators/simulate.py) and ``demo`` (command 1 of the README).

The node's CLI knows nothing of them: it adds every parser registered under the entry point group
``tongban.commands`` (pyproject.toml), so node/ never imports simulators/.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from dataclasses import fields
from datetime import date
from pathlib import Path

from federation.pki import ManifestError
from node import crash_points
from node.log_config import configure_logging, current_stderr
from node.settings import Settings, SettingsError, load_settings
from simulators.chaos import chaos_schedule
from simulators.cluster import YANGTZE_RIVER_DELTA
from simulators.demo import run_demo
from simulators.faults import SERVER_KINDS, FaultSpecError, parse_fault
from simulators.running_nodes import TargetError, running_nodes
from simulators.simulate import Scenario, simulate
from simulators.workload import PROFILES


def add_simulate_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "simulate",
        help="start a local federation, load it with seeded cross-province cases under scheduled faults, "
        "and check that nothing acknowledged was lost, duplicated, reordered or diverged (exit 1 if so)",
    )
    parser.add_argument(
        "--provinces", default=",".join(YANGTZE_RIVER_DELTA), help="province codes, comma separated"
    )
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--rate", type=float, default=4.0, help="cases arriving per second")
    parser.add_argument("--profile", choices=PROFILES, default="steady")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        help="kill:P@START+SECONDS, isolate:P@START+SECONDS, cut:P>Q@START+SECONDS, "
        "slow:P>Q@START+SECONDS:DELAY, flap:P>Q@START+SECONDS:PERIOD, pgrestart@START+SECONDS or "
        "pgpause@START+SECONDS (repeatable)",
    )
    chaos = parser.add_argument_group(
        "chaos", "faults drawn from the seed and spread over the load (simulators/chaos.py), besides --fault"
    )
    chaos.add_argument("--kills", type=int, default=0, help="SIGKILLs of drawn nodes, each restarted")
    chaos.add_argument(
        "--partitions", type=int, default=0, help="a node isolated, a link cut one way, flapping"
    )
    chaos.add_argument(
        "--pg-restarts", type=int, default=0, help="crashes of the server (--private-postgres)"
    )
    chaos.add_argument("--pg-pauses", type=int, default=0, help="freezes of the server (--private-postgres)")
    chaos.add_argument(
        "--crash-points",
        default="",
        help="the nodes die on purpose at these points, e.g. reply:0.01,projection:0.02,apply:0.05 "
        "(node/crash_points.py); the simulator restarts them",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=0.0,
        help="simulated seconds per real second (86400: a day a second); default: the wall clock",
    )
    _add_start(parser, "with --time-scale, or at 1x")
    parser.add_argument(
        "--stall-share", type=float, default=0.0, help="share of cases left open once accepted (0..1)"
    )
    parser.add_argument(
        "--hold", type=float, default=0.0, help="seconds to keep the federation running after the load"
    )
    parser.add_argument(
        "--private-postgres",
        action="store_true",
        help="run the nodes on a PostgreSQL server of the simulator's own, which pgrestart faults crash",
    )
    parser.add_argument("--postgres", default="", help="PostgreSQL URL: the nodes use it instead of SQLite")
    parser.add_argument(
        "--node-setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting of every node (docs/configuration.md), e.g. http_max_in_flight=32 (repeatable); "
        "not those the simulator sets itself (ports, directories, store, time, crash points)",
    )
    parser.add_argument(
        "--data-dir", type=Path, help="where the nodes keep their data (default: a new temp dir)"
    )
    parser.add_argument("--report-dir", type=Path, default=Path("var/simulation"))
    running = parser.add_argument_group(
        "a federation already running",
        "load running nodes instead of starting a federation (no faults then); their catalogues must hold "
        "the sample catalogue of every province (tongban catalogue load)",
    )
    running.add_argument("--manifest", type=Path, help="the federation's signed manifest.json: the provinces")
    running.add_argument("--manifest-key", type=Path, help="manifest.pub, which checks the manifest")
    running.add_argument("--api", default="", help="REST addresses: 310000=http://HOST:PORT,320000=...")
    running.add_argument("--issuer-key", type=Path, help="the token issuer's private key, to act as officers")
    parser.set_defaults(run=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    running = None
    if args.manifest:
        if (
            not (args.manifest_key and args.issuer_key)
            or args.fault
            or args.private_postgres
            or args.postgres
        ):
            print("tongban simulate: --manifest needs --manifest-key, --api and --issuer-key, and takes no "
                  "--fault, --postgres or --private-postgres", file=sys.stderr)  # fmt: skip
            return 2
        try:
            running = running_nodes(args.manifest, args.manifest_key, args.api)
        except (TargetError, ManifestError) as e:
            print(f"tongban simulate: {e}", file=sys.stderr)
            return 2
        args.provinces = ",".join(running)
    provinces = tuple(p.strip() for p in args.provinces.split(",") if p.strip())
    if len(provinces) < 2 or len(set(provinces)) != len(provinces):
        print("tongban simulate: --provinces needs two or more distinct province codes", file=sys.stderr)
        return 2
    if args.cases < 1 or args.rate <= 0 or args.time_scale < 0 or args.hold < 0:
        print("tongban simulate: --cases and --rate must be positive, --time-scale and --hold not negative",
              file=sys.stderr)  # fmt: skip
        return 2
    if not 0 <= args.stall_share <= 1:
        print("tongban simulate: --stall-share must be 0 to 1", file=sys.stderr)
        return 2
    try:
        faults = [parse_fault(text, provinces) for text in args.fault]
    except FaultSpecError as e:
        print(f"tongban simulate: {e}", file=sys.stderr)
        return 2
    try:
        crash_points.parse(args.crash_points)
    except crash_points.CrashPointsError as e:
        print(f"tongban simulate: {e}", file=sys.stderr)
        return 2
    counts = (args.kills, args.partitions, args.pg_restarts, args.pg_pauses)
    if min(counts) < 0:
        print("tongban simulate: --kills, --partitions, --pg-restarts and --pg-pauses must not be negative",
              file=sys.stderr)  # fmt: skip
        return 2
    if (any(counts) or args.crash_points) and running is not None:
        print("tongban simulate: a running federation takes no faults", file=sys.stderr)
        return 2
    faults += chaos_schedule(
        provinces,
        args.cases / args.rate,
        random.Random(f"chaos-{args.seed}"),
        kills=args.kills,
        partitions=args.partitions,
        pg_restarts=args.pg_restarts,
        pg_pauses=args.pg_pauses,
    )
    try:
        node_settings = _node_settings(args.node_setting, provinces[0])
    except ValueError as e:
        print(f"tongban simulate: --node-setting {e}", file=sys.stderr)
        return 2
    if node_settings and running is not None:
        print("tongban simulate: a running federation keeps its own settings (--node-setting)",
              file=sys.stderr)  # fmt: skip
        return 2
    if any(f.kind in SERVER_KINDS for f in faults) and not args.private_postgres:
        print("tongban simulate: pgrestart and pgpause faults need --private-postgres", file=sys.stderr)
        return 2
    scenario = Scenario(
        provinces=provinces,
        data_dir=args.data_dir or Path(tempfile.mkdtemp(prefix="tongban-sim-")),
        report_dir=args.report_dir,
        cases=args.cases,
        rate=args.rate,
        profile=args.profile,
        seed=args.seed,
        faults=faults,
        postgres_url=args.postgres,
        private_postgres=args.private_postgres,
        time_scale=args.time_scale,
        start_date=args.start,
        stall_share=args.stall_share,
        hold_s=args.hold,
        crash_points=args.crash_points,
        node_settings=node_settings,
        running=running,
        issuer_key=args.issuer_key,
    )
    configure_logging(stream=current_stderr())  # stdout carries the summary
    report = simulate(scenario)
    print(f"report: {args.report_dir}/report.json, report.txt, report.html")
    return 0 if report["verdict"]["correct"] else 1


# What the simulator sets on every node itself: a --node-setting may not change it.
SIMULATOR_SETTINGS = frozenset(
    {
        "province", "data_dir", "http_host", "http_port", "grpc_host", "grpc_port", "federation_dir",
        "federation_host", "federation_port", "postgres_url", "postgres_schema", "peer_endpoints",
        "log_format", "time_origin", "time_anchor", "time_scale", "crash_points", "signing_key",
        "master_key", "token_public_key",
    }
)  # fmt: skip


def _node_settings(pairs: list[str], province: str) -> dict[str, str]:
    """``KEY=VALUE`` pairs as the nodes' environment (``TONGBAN_KEY``), each checked as the node checks it."""
    known = {f.name for f in fields(Settings)}
    environ = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        key = key.strip().lower()
        if not equals or key not in known:
            raise ValueError(f"{pair!r}: not KEY=VALUE with a setting of docs/configuration.md")
        if key in SIMULATOR_SETTINGS:
            raise ValueError(f"{key}: the simulator sets it itself")
        environ[f"TONGBAN_{key.upper()}"] = value
    try:
        load_settings(province=province, environ=environ)
    except SettingsError as e:
        raise ValueError(str(e)) from None
    return environ


def add_demo_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo", help="start the four Yangtze River Delta nodes locally and exercise them"
    )
    demo.add_argument("--once", action="store_true", help="exit after the summary instead of serving")
    demo.add_argument("--data-dir", type=Path, default=Path("var/demo"))
    _add_start(demo, "at 1x")
    demo.set_defaults(run=_demo)


def _add_start(parser: argparse.ArgumentParser, pace: str) -> None:
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help=f"the nodes' clock starts at 09:00 China time on this day ({pace}); default: the wall clock",
    )


def _demo(args: argparse.Namespace) -> int:
    return asyncio.run(run_demo(args.data_dir, once=args.once, start=args.start))
