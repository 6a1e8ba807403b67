"""The node's clock: the wall clock, or a simulated one that runs faster from a chosen origin.

Every node of a simulation shares the origin, the anchor (the real instant the origin stands for) and the
scale, so their clocks agree with each other while weeks of working days pass in minutes. Only the domain's
time runs simulated: TLS, tokens and the federation manifest keep to the wall clock.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from node.settings import Settings
from node.store.application import Clock, utc_now


def node_clock(settings: Settings) -> Clock:
    if not settings.time_origin:
        return utc_now
    origin = datetime.fromisoformat(settings.time_origin)
    anchor = settings.time_anchor or time.time()
    scale = settings.time_scale

    def simulated() -> datetime:
        return origin + timedelta(seconds=(time.time() - anchor) * scale)

    return simulated
