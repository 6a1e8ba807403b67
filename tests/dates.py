"""The day the tests run on, whatever the day the suite runs: never the wall clock's date.

``TONGBAN_TEST_DATE`` (YYYY-MM-DD) chooses it; CI runs the tests marked ``dated`` (deadlines, statistics,
the simulator's timers) again at the dates that matter for the calendar (``.ci/run``): late December of the
last official year, early February of the first provisional year, mid-year of an official year (the default).
Node processes a test starts run on a clock that begins at 09:00 China time on that day (the settings
``time_origin`` and ``time_anchor``: ``simulators.simulate.simulated_time``).
"""

from __future__ import annotations

import os
import re
from datetime import date

from simulators.simulate import simulated_time

_RAW = os.environ.get("TONGBAN_TEST_DATE", "2026-06-17")
if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", _RAW):
    raise ValueError(f"TONGBAN_TEST_DATE must be YYYY-MM-DD, got {_RAW!r}")
TEST_DATE = date.fromisoformat(_RAW)


def node_clock_env() -> dict[str, str]:
    """The settings of a clock shared by the nodes started with it: from 09:00 on TEST_DATE, at 1x."""
    return simulated_time(0, TEST_DATE)


def start_option() -> list[str]:
    """``tongban simulate`` and ``tongban demo`` on the test date."""
    return ["--start", TEST_DATE.isoformat()]
