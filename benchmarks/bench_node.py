"""A Shanghai node for an in-process benchmark: its own keys in a temp dir, the sample catalogue of Jiangsu
loaded, on SQLite or in a PostgreSQL schema of its own that is dropped afterwards."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from aggregates.responsibility import Actor
from node.bootstrap import build_services, close_services
from node.services import Services
from node.settings import load_settings
from simulators.cluster import prepare_keys
from simulators.sample_data import sample_catalogue

SH, JS = "310000", "320000"


@contextmanager
def bench_node(postgres_url: str | None, extra: dict[str, str] | None = None) -> Iterator[Services]:
    directory = Path(tempfile.mkdtemp(prefix="tongban-bench-"))
    prepare_keys(directory, (SH,))
    environ = {"TONGBAN_DATA_DIR": str(directory), **(extra or {})}
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    if postgres_url:
        environ |= {"TONGBAN_POSTGRES_URL": postgres_url, "TONGBAN_POSTGRES_SCHEMA": schema}
    node = build_services(load_settings(province=SH, environ=environ))
    try:
        node.catalogue.load(sample_catalogue(), JS, Actor(JS, "CAT", "bench"))
        yield node
    finally:
        close_services(node)
        if postgres_url:
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
