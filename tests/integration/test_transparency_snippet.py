"""The reference script of docs/transparency.md, run as written on a copy of a node's SQLite store: the root
it prints is the root of every head the node signed."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from node.services import Services
from node.usecases.case_commands import ACCEPT
from tests.builders import FakeClock
from tests.integration.test_case_service import JS_HANDLER, proxy_case

DOC = Path(__file__).resolve().parents[2] / "docs" / "transparency.md"


def snippet() -> str:
    match = re.search(r"<!-- snippet: recompute_root.py -->\n```python\n(.*?)```", DOC.read_text(), re.S)
    assert match is not None, "docs/transparency.md lost its reference snippet"
    return match.group(1)


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_the_documented_script_recomputes_every_signed_root(
    node: Services, clock: FakeClock, tmp_path: Path
) -> None:
    heads = []
    for _ in range(3):
        case_id = proxy_case(node, clock)
        node.cases.run(ACCEPT, case_id, JS_HANDLER)
        heads.append(node.transparency.publish_head())
    script = tmp_path / "recompute_root.py"
    script.write_text(snippet(), encoding="utf-8")
    store = tmp_path / "copy.sqlite3"
    # the node's store as an auditor receives it: SQLite's backup, which includes the write-ahead log
    with sqlite3.connect(node.settings.sqlite_path) as source, sqlite3.connect(store) as copy:
        source.backup(copy)
    assert len(script.read_text().splitlines()) <= 30
    for head in heads:
        assert head is not None
        done = subprocess.run(
            [sys.executable, str(script), str(store), str(head["tree_size"])],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        assert done.stdout.strip() == head["root_hash"]
    too_many = subprocess.run(
        [sys.executable, str(script), str(store), "100000"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert too_many.returncode != 0
    assert "fewer than 100000" in too_many.stderr
