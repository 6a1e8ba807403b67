"""The chaos suite's forced crash points: parsed strictly, off by default, and a reached point ends the
process at once with the code a SIGKILL leaves."""

from __future__ import annotations

import subprocess
import sys

import pytest

from node import crash_points


def test_the_setting_names_known_points_with_a_chance() -> None:
    assert crash_points.parse("") == {}
    assert crash_points.parse("reply:0.01, apply:1") == {"reply": 0.01, "apply": 1.0}
    for bad in ("reply", "reply:0", "reply:1.5", "reply:x", "commit:0.1"):
        with pytest.raises(crash_points.CrashPointsError, match="expected NAME:CHANCE"):
            crash_points.parse(bad)


def _run(spec: str, point: str) -> subprocess.CompletedProcess[str]:
    code = f"from node import crash_points; crash_points.configure({spec!r}); crash_points.reached({point!r})"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_a_point_reached_ends_the_process_and_says_where() -> None:
    died = _run("projection:1", "projection")
    assert died.returncode == crash_points.EXIT_CODE
    assert '"event": "node.crash_point", "point": "projection"' in died.stderr
    passed = _run("projection:1", "reply")  # another point is not armed
    assert (passed.returncode, passed.stderr) == (0, "")
