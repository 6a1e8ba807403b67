"""README command 1's main job: a four-province federation issues and verifies certificates and runs the
cross-province flows, each officer at their own province's node."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.dates import start_option

pytestmark = pytest.mark.e2e


def test_demo_once_runs_four_nodes_and_passes_every_check(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "node", "demo", "--once", *start_option(), "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for province in ("310000 上海", "320000 江苏", "330000 浙江", "340000 安徽"):
        assert province in out
    assert "12 certificates issued and verified across 4 provinces" in out
    assert "cross-province flows over the federation: ALL CHECKS PASSED" in out
    assert "tree heads witnessed: ALL COSIGNED" in out
    for flow in ("PROXY", "FULL_ONLINE", "JOINT", "REVOCATION", "BUNDLE"):
        assert sum(line.startswith(flow) and line.endswith("ok") for line in out.splitlines()) == 4, flow
    for province in ("310000", "320000", "330000", "340000"):
        assert (tmp_path / province / "events.sqlite3").stat().st_size > 0
    # 行政许可法 on the fast clock: a deemed acceptance (第32条) and a reasoned refusal (第38条)
    assert "the law of a case: ALL CHECKS PASSED" in out
    for flow in ("WINDOW_NOTICE", "DEEMED_ACCEPTANCE", "REASONED_REFUSAL"):
        assert sum(line.strip().startswith(flow + " ") and " ok " in line for line in out.splitlines()) == 1
    # 亮证: a licence checked offline, refused after its revocation; an ID card at a hotel, two claims shown
    assert "亮证: ALL CHECKS PASSED" in out
    assert "checks the Shanghai licence: ACCEPT (OK" in out
    assert "the same presentation: REFUSE (REVOKED" in out
    assert "checks an Anhui ID card: ACCEPT (OK" in out
    assert "shown: holder_id, holder_name" in out
