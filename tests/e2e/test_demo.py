"""README command 1's main job: four province nodes issue and verify certificates over real REST."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_demo_once_runs_four_nodes_and_passes_every_check(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "node", "demo", "--once", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for province in ("310000 上海", "320000 江苏", "330000 浙江", "340000 安徽"):
        assert province in out
    assert "12 certificates issued and verified across 4 provinces" in out
    assert "ALL CHECKS PASSED" in out
    for province in ("310000", "320000", "330000", "340000"):
        assert (tmp_path / province / "events.sqlite3").stat().st_size > 0
