"""One composition root: node/bootstrap.py builds every service and background worker from the settings; the
runner (node/runner.py) only starts and stops what it built."""

from __future__ import annotations

import re
from pathlib import Path

from node.bootstrap import build_services, close_services
from tests.builders import in_memory, load_sample_catalogues, node_settings
from tests.conftest import PROVINCE, Keys

ROOT = Path(__file__).resolve().parents[2]
BUILT_BY_THE_ROOT = (
    "CaseTimers",
    "DeadlineTimer",
    "RelianceWatcher",
    "Puller",
    "WorkerLease",
    "StoreWatch",
    "ProjectionFollower",
    "TransparencyLog",
)


def test_only_the_composition_root_builds_the_workers() -> None:
    building = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for package in ("node", "simulators")
        for path in (ROOT / package).rglob("*.py")
        if path.name != "bootstrap.py"
        for name in BUILT_BY_THE_ROOT
        if re.search(rf"\b{name}\(", path.read_text())
    )
    assert not building, building


def test_the_followers_reach_the_head_of_the_log_in_batches_of_any_size(keys: Keys) -> None:
    one_at_a_time = {
        f"TONGBAN_{name.upper()}": "1"
        for name in (
            "projection_batch_events",
            "transparency_batch_events",
            "timer_batch_events",
            "reliance_batch_events",
        )
    }
    services = build_services(in_memory(node_settings(keys.data_dir, PROVINCE, **one_at_a_time)))
    try:
        workers = services.workers
        # SQLite, no federation: this one process runs every worker, and there is no peer to pull
        assert (workers.lease, workers.store_watch, workers.pullers) == (None, None, {})
        load_sample_catalogues(services.catalogue)
        for follower in services.projections.values():
            follower.tick()
        assert {name: f.lag().events for name, f in services.projections.items()} == dict.fromkeys(
            services.projections, 0
        )
        head = services.transparency.publish_head()
        assert head is not None
        assert head["tree_size"] == len(services.app.recorder.select_notifications(start=1, limit=100_000))
        assert not workers.timer.tick()  # no case is open
        assert workers.reliance.tick() == 0
    finally:
        close_services(services)
