"""A running federated cluster for the end-to-end tests, on SQLite or on PostgreSQL (one schema per node)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from simulators.federation_cluster import FederatedCluster
from tests.dates import node_clock_env


@contextmanager
def running_cluster(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    provinces: tuple[str, ...],
    extra_env: dict[str, str] | None = None,
    before_start: Callable[[FederatedCluster], None] | None = None,
) -> Iterator[FederatedCluster]:
    """``request.param`` names the store; the nodes stop, and their schemas go, afterwards. ``before_start``
    writes into the prepared nodes' stores before they start (e.g. data an older version wrote)."""
    store_env: dict[str, dict[str, str]] = {}
    url = ""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        run = uuid.uuid4().hex[:8]
        store_env = {
            p: {"TONGBAN_POSTGRES_URL": url, "TONGBAN_POSTGRES_SCHEMA": f"fed_{run}_{p}"} for p in provinces
        }
    clock = node_clock_env()  # every node on the test date, never the wall clock's
    cluster = FederatedCluster(
        tmp_path_factory.mktemp(f"federation-{request.param}"),
        provinces,
        store_env,
        {**clock, **(extra_env or {})},
    )
    cluster.prepare()
    try:
        if before_start is not None:
            before_start(cluster)
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        if url:
            with psycopg.connect(url, autocommit=True) as conn:
                for env in store_env.values():
                    conn.execute(f'DROP SCHEMA IF EXISTS "{env["TONGBAN_POSTGRES_SCHEMA"]}" CASCADE')


def poll_http(what: str, probe: Callable[[], Any], bound_s: float = 30.0) -> Any:
    """``probe()`` (a GET) until it returns something truthy, for at most ``bound_s``. For state that a node
    shows only over HTTP, such as a read model's progress; a state that a node logs is waited for on its log
    lines instead (``NodeProcess.wait_for_line``), which needs no polling."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no {what} within {bound_s}s")
