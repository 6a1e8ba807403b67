"""Shared fixtures: keys, tokens, and node settings on both stores (SQLite and PostgreSQL).

PostgreSQL tests run against TONGBAN_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
When it is unreachable they are skipped, and the run says so; with TONGBAN_REQUIRE_POSTGRES=1 they fail.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
import structlog

from node.auth import Role, load_private_key, mint_token
from node.bootstrap import build_services, close_services
from node.services import Services
from node.settings import Settings
from node.signing import Ed25519Signer
from tests.builders import FakeClock, load_sample_catalogues, node_settings

POSTGRES_URL = os.environ.get("TONGBAN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_POSTGRES = os.environ.get("TONGBAN_REQUIRE_POSTGRES") == "1"
PROVINCE = "310000"

_postgres_problem: list[str] = []


def _postgres_unreachable() -> str | None:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as e:
        return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    problem = _postgres_unreachable()
    if problem is None:
        return POSTGRES_URL
    message = f"PostgreSQL not reachable at {POSTGRES_URL} ({problem})"
    if REQUIRE_POSTGRES:
        pytest.fail(f"{message}, and TONGBAN_REQUIRE_POSTGRES=1")
    _postgres_problem.append(message)
    pytest.skip(f"{message}: PostgreSQL tests skipped")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _postgres_problem:
        terminalreporter.write_line(
            f"NOTE: {_postgres_problem[0]}; the PostgreSQL tests were SKIPPED. "
            "Set TONGBAN_TEST_POSTGRES_URL, or TONGBAN_REQUIRE_POSTGRES=1 to fail instead.",
            yellow=True,
            bold=True,
        )


@dataclass(frozen=True)
class Keys:
    data_dir: Path
    token_issuer: Ed25519Signer
    node_signer: Ed25519Signer

    def token(
        self, role: Role, province: str = PROVINCE, office: str = "OFFICE01", operator: str = "op-001"
    ) -> str:
        issuer_key = load_private_key(self.data_dir / "token-issuer.key")
        return mint_token(issuer_key, province=province, office_code=office, operator_id=operator, role=role)

    def bearer(self, role: Role, province: str = PROVINCE, operator: str = "op-001") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, province, operator=operator)}"}


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    token_issuer, node_signer = Ed25519Signer.generate(), Ed25519Signer.generate()
    token_issuer.write_key_pair(tmp_path / "token-issuer.key", tmp_path / "token-issuer.pub")
    node_signer.write_key_pair(tmp_path / PROVINCE / "signing.key", tmp_path / PROVINCE / "signing.pub")
    return Keys(tmp_path, token_issuer, node_signer)


def drop_schema(schema: str) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, keys: Keys) -> Iterator[Settings]:
    """Settings of a fresh node store, once per store kind."""
    ports = {"TONGBAN_HTTP_PORT": "0", "TONGBAN_GRPC_PORT": "0"}
    if request.param == "sqlite":
        yield node_settings(keys.data_dir, PROVINCE, **ports)
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    yield node_settings(
        keys.data_dir, PROVINCE, **ports, TONGBAN_POSTGRES_URL=url, TONGBAN_POSTGRES_SCHEMA=schema
    )
    drop_schema(schema)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """A node's services built by the composition root, on a fresh store."""
    built = build_services(settings)
    yield built
    close_services(built)


@pytest.fixture
def clock() -> FakeClock:
    """Wednesday 2025-09-24 09:00 in China: cases in these tests cross National Day 2025."""
    return FakeClock(datetime.fromisoformat("2025-09-24T09:00:00+08:00"))


@pytest.fixture
def node(settings: Settings, clock: FakeClock) -> Iterator[Services]:
    """A Shanghai node on the injectable clock, with the sample catalogue of Shanghai, Jiangsu, Zhejiang."""
    services = build_services(settings, clock=clock)
    load_sample_catalogues(services.catalogue)
    yield services
    close_services(services)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """For tests that run a CLI command which configures logging: the previous set-up comes back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
