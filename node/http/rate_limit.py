"""Per-principal rate limits on REST: a token bucket per province, office, operator and role.

The key is the authenticated principal, never a raw header: an unauthenticated caller cannot make buckets.
Buckets live in memory on the event loop (no lock needed); the least recently used ones are forgotten past
``MAX_PRINCIPALS``, which only ever gives a forgotten caller a full bucket again.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from node.auth import Principal

MAX_PRINCIPALS = 100_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, per_second: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = per_second
        self._burst = float(burst)
        self._clock = clock
        self._buckets: OrderedDict[Principal, _Bucket] = OrderedDict()

    def take(self, principal: Principal) -> int | None:
        """Spend one request of ``principal``'s bucket: None, or the whole seconds to wait when it is empty.
        A rate of 0: no limit."""
        if self._rate <= 0:
            return None
        now = self._clock()
        bucket = self._buckets.pop(principal, None) or _Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self._rate)
        bucket.at = now
        self._buckets[principal] = bucket
        if len(self._buckets) > MAX_PRINCIPALS:
            self._buckets.popitem(last=False)
        if bucket.tokens < 1:
            return max(1, math.ceil((1 - bucket.tokens) / self._rate))
        bucket.tokens -= 1
        return None
