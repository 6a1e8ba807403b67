"""A fresh SQLite store and a fresh PostgreSQL schema side by side, for tests that compare the two stores."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest

from node.bootstrap import ensure_postgres_schema
from node.settings import load_settings
from node.store.application import NodeApplication
from tests.conftest import POSTGRES_URL, REQUIRE_POSTGRES, _postgres_unreachable, drop_schema

POSTGRES_PROBLEM = _postgres_unreachable()


def require_both_stores() -> None:
    """Skip (or fail, with TONGBAN_REQUIRE_POSTGRES=1) when PostgreSQL cannot be reached."""
    if POSTGRES_PROBLEM is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL unreachable at {POSTGRES_URL}: {POSTGRES_PROBLEM}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}: comparing stores needs both")


class BothStores:
    """``apps["sqlite"]`` and ``apps["postgres"]``: one NodeApplication on each, both empty."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory()
        self._schema = f"compare_{uuid.uuid4().hex[:12]}"
        sqlite = load_settings(province="310000", environ={"TONGBAN_DATA_DIR": self._directory.name})
        Path(sqlite.sqlite_path).parent.mkdir(parents=True)
        postgres = load_settings(
            province="310000",
            environ={"TONGBAN_POSTGRES_URL": POSTGRES_URL, "TONGBAN_POSTGRES_SCHEMA": self._schema},
        )
        ensure_postgres_schema(postgres)
        self.apps = {
            "sqlite": NodeApplication(env=sqlite.eventsourcing_env()),
            "postgres": NodeApplication(env=postgres.eventsourcing_env()),
        }

    def close(self) -> None:
        for app in self.apps.values():
            app.close()
        drop_schema(self._schema)
        self._directory.cleanup()

    def assert_same_event_count(self) -> None:
        counts = {name: app.recorder.max_notification_id() or 0 for name, app in self.apps.items()}
        assert len(set(counts.values())) == 1, counts
