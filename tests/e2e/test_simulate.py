"""`tongban simulate` as an operator runs it: four provinces, a seeded load with a node killed, links cut,
slowed and flapping, on SQLite and on PostgreSQL, to a green verdict and a report in three forms."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from simulators.federation_cluster import FederatedCluster
from tests.dates import node_clock_env, start_option

pytestmark = pytest.mark.e2e
ENV = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}


def simulated(
    command: list[str], report_dir: Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run `tongban simulate` as an operator would; it must exit 0. Its output and its JSON report."""
    done = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done, json.loads((report_dir / "report.json").read_text())


FAULTS = (
    "kill:320000@2+2",
    "cut:310000>330000@1+3",
    "slow:340000>310000@1+3:0.1",
    "flap:330000>340000@1+4:1",
)


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_four_province_scenario_with_faults_ends_correct(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    command = [
        sys.executable,
        "-m",
        "node",
        "simulate",
        *start_option(),
        "--cases",
        "16",
        "--rate",
        "4",
        "--seed",
        "7",
    ]
    command += [f"--fault={fault}" for fault in FAULTS]
    command += ["--data-dir", str(tmp_path / "data"), "--report-dir", str(tmp_path / "report")]
    if store == "postgres":
        command += ["--postgres", request.getfixturevalue("postgres_url")]
    done, report = simulated(command, tmp_path / "report")
    verdict = report["verdict"]
    assert verdict["correct"], verdict
    assert (verdict["lost"], verdict["duplicated"], verdict["reordered"], verdict["diverged"]) == (0, 0, 0, 0)
    # a case whose filing met the killed node was never filed; every filed one is checked on every holder
    assert verdict["cases_checked"] == report["cases_filed"] >= 8
    assert (report["kills"], report["partitions"]) == (1, 2)
    assert report["errors"] + report["acked"] == report["operations"]
    assert set(report["latency"]) <= {f"{a}→{b}" for a in report["provinces"] for b in report["provinces"]}
    assert "fault: kill:320000@2+2" in done.stderr  # live progress on stderr
    assert "t=" in done.stderr
    assert "-> CORRECT" in done.stdout
    assert "<svg" in (tmp_path / "report" / "report.html").read_text()
    assert "verdict: ops=" in (tmp_path / "report" / "report.txt").read_text()
    assert "ms per acknowledged operation" in (tmp_path / "report" / "report.txt").read_text()


@pytest.mark.dated
def test_simulated_time_makes_the_deadline_timers_fire(tmp_path: Path) -> None:
    """Two days a second: every case left open once accepted is warned, then breaches its promised limit
    (twenty working days at most in the sample catalogue) within the forty simulated days the federation is
    held."""
    command = [
        sys.executable,
        "-m",
        "node",
        "simulate",
        *start_option(),
        "--provinces",
        "310000,320000,340000",
    ]
    command += [
        "--cases",
        "6",
        "--rate",
        "4",
        "--seed",
        "3",
        "--time-scale",
        "172800",
        "--stall-share",
        "0.5",
    ]
    command += [
        "--hold",
        "20",
        "--data-dir",
        str(tmp_path / "data"),
        "--report-dir",
        str(tmp_path / "report"),
    ]
    _, report = simulated(command, tmp_path / "report")
    stalled = report["cases_stalled"]
    assert stalled >= 1
    verdict = report["verdict"]
    assert verdict["stalled_warned"] == verdict["stalled_breached"] == stalled
    assert verdict["deadline_events"]["DeadlineBreached"] >= stalled
    assert report["cases_concluded"] == report["cases_filed"] - stalled


def test_a_postgresql_crash_restart_under_load_loses_nothing(tmp_path: Path) -> None:
    """The nodes on the simulator's own PostgreSQL server, crashed (immediate stop, WAL replay at start)
    while a node is down too: the node comes back once the server does, and the verdict is green."""
    command = [
        sys.executable,
        "-m",
        "node",
        "simulate",
        *start_option(),
        "--provinces",
        "310000,320000,340000",
    ]
    command += ["--cases", "16", "--rate", "4", "--seed", "5", "--private-postgres"]
    command += ["--fault=pgrestart@2+2", "--fault=kill:320000@1+2"]
    command += ["--data-dir", str(tmp_path / "data"), "--report-dir", str(tmp_path / "report")]
    _, report = simulated(command, tmp_path / "report")
    assert (report["store"], report["pg_restarts"], report["kills"]) == ("postgres", 1, 1)
    assert report["verdict"]["correct"], report["verdict"]
    assert report["verdict"]["cases_checked"] == report["cases_filed"] >= 8


def test_a_running_federation_given_by_its_manifest_is_loaded_to_a_verdict(tmp_path: Path) -> None:
    """The operator's federation is up already: the simulator reads the provinces from the signed manifest,
    loads the nodes at the REST addresses it is given, and checks them; it starts and stops nothing."""
    cluster = FederatedCluster(tmp_path / "running", ("310000", "320000", "340000"), None, node_clock_env())
    cluster.prepare()
    cluster.start()
    try:
        api = ",".join(f"{p}={node.http_url}" for p, node in cluster.nodes.items())
        federation = cluster.federation_dir
        command = [
            sys.executable,
            "-m",
            "node",
            "simulate",
            *start_option(),
            "--cases",
            "12",
            "--rate",
            "4",
            "--seed",
            "9",
        ]
        command += [
            "--manifest",
            str(federation / "manifest.json"),
            "--manifest-key",
            str(federation / "manifest.pub"),
        ]
        command += [
            "--api",
            api,
            "--issuer-key",
            str(cluster.issuer_key),
            "--report-dir",
            str(tmp_path / "report"),
        ]
        _, report = simulated(command, tmp_path / "report")
        assert (report["store"], report["provinces"]) == ("running nodes", ["310000", "320000", "340000"])
        assert report["verdict"]["correct"], report["verdict"]
        assert report["verdict"]["cases_checked"] == report["cases_filed"] == 12
        # CPU per acknowledged operation, from each node's own process counters
        cpu = report["cpu"]
        assert (cpu["nodes_not_measured"], sorted(cpu["node_cpu_s"])) == ([], ["310000", "320000", "340000"])
        assert all(seconds > 0 for seconds in cpu["node_cpu_s"].values())
        acked, total_ms = report["acked"], sum(cpu["node_cpu_s"].values()) * 1000  # each rounded, by 5 ms
        assert cpu["cpu_ms_per_acked_op"] == pytest.approx(total_ms / acked, abs=20 / acked)
        assert all(node.running for node in cluster.nodes.values())  # the simulator stopped none of them
        wrong = [*command[:-2], "--api", api.rsplit(",", 1)[0], "--report-dir", str(tmp_path / "r2")]
        refused = subprocess.run(wrong, env=ENV, capture_output=True, text=True, timeout=60, check=False)
        assert refused.returncode == 2
        assert "exactly the manifest's provinces" in refused.stderr
    finally:
        cluster.stop()
