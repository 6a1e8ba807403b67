"""The time a wallet or a verifier kit reads: the machine's, or the simulated one of the nodes it works with.

A node started on a simulated date (``tongban demo --start``, ``tongban simulate``) reads
``TONGBAN_TIME_ORIGIN + (now - TONGBAN_TIME_ANCHOR) * TONGBAN_TIME_SCALE`` (docs/configuration.md). A wallet
or a kit in the same environment reads the same clock, so that its proofs, requests and checks agree with the
credentials and status lists those nodes sign; the demo writes these variables to its ``demo.env``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime

ORIGIN, ANCHOR, SCALE = "TONGBAN_TIME_ORIGIN", "TONGBAN_TIME_ANCHOR", "TONGBAN_TIME_SCALE"


def unix_now(environment: Mapping[str, str]) -> int:
    """Now, in Unix seconds, on the clock the environment names (the machine's when it names none)."""
    real = time.time()
    if not environment.get(ORIGIN):
        return int(real)
    origin = datetime.fromisoformat(environment[ORIGIN]).timestamp()
    anchor, scale = float(environment.get(ANCHOR) or 0), float(environment.get(SCALE) or 1)
    return int(origin + (real - anchor) * scale)
