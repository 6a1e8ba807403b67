"""A running federated cluster for the end-to-end tests, on SQLite or on PostgreSQL (one schema per node)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from simulators.federation_cluster import FederatedCluster


@contextmanager
def running_cluster(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    provinces: tuple[str, ...],
    extra_env: dict[str, str] | None = None,
) -> Iterator[FederatedCluster]:
    """``request.param`` names the store; the nodes stop, and their schemas go, afterwards."""
    store_env: dict[str, dict[str, str]] = {}
    url = ""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        run = uuid.uuid4().hex[:8]
        store_env = {
            p: {"TONGBAN_POSTGRES_URL": url, "TONGBAN_POSTGRES_SCHEMA": f"fed_{run}_{p}"} for p in provinces
        }
    cluster = FederatedCluster(
        tmp_path_factory.mktemp(f"federation-{request.param}"), provinces, store_env, extra_env
    )
    cluster.prepare()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        if url:
            with psycopg.connect(url, autocommit=True) as conn:
                for env in store_env.values():
                    conn.execute(f'DROP SCHEMA IF EXISTS "{env["TONGBAN_POSTGRES_SCHEMA"]}" CASCADE')
