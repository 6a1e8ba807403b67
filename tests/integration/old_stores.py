"""Stores written by older code (``tests/fixtures/stores/round*/``), copied for one test.

Each fixture folder keeps, per kind of store, the node's files (keys, ``expected.json``) and either the SQLite
files gzipped (``sqlite/310000/*.sqlite3.gz``) or a plain-SQL dump of the node's PostgreSQL schema
(``postgres/<schema>.sql.gz``, from ``pg_dump --no-owner --no-privileges -n <schema>``). A test gets its own
copy: the files under its tmp_path, the dump loaded into a database of its own that is dropped after it.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from glob import glob
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

SH = "310000"


def psql() -> str:
    installed = sorted(glob("/usr/lib/postgresql/*/bin/psql"), reverse=True)
    found = shutil.which("psql") or next(iter(installed), "")
    if not found:
        pytest.fail("psql is needed to load a PostgreSQL store fixture (tests/fixtures/stores/*/README.md)")
    return found


def copy_fixture(source: Path, target: Path) -> dict[str, Any]:
    """The node's files of ``source`` (a fixture's ``sqlite/`` or ``postgres/``) in ``target``, uncompressed,
    with the key files private again (git keeps no 0600); returns its ``expected.json``."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.gz"))
    for packed in (source / SH).glob("*.sqlite3.gz"):
        (target / SH / packed.stem).write_bytes(gzip.decompress(packed.read_bytes()))
    for key in target.rglob("*.key"):
        key.chmod(0o600)
    expected: dict[str, Any] = json.loads((target / "expected.json").read_text())
    return expected


@contextmanager
def restored_database(server: str, dump: Path) -> Iterator[str]:
    """The URL of a new database on ``server`` with the gzipped SQL ``dump`` loaded (its schema as dumped),
    dropped on exit."""
    database = f"old_store_{uuid.uuid4().hex[:12]}"
    url = urlsplit(server)._replace(path=f"/{database}").geturl()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        subprocess.run(
            [psql(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url],
            input=gzip.decompress(dump.read_bytes()),
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
