"""The per-principal token bucket behind REST's 429 answers, on a clock moved by hand."""

from __future__ import annotations

from node.auth import Principal, Role
from node.http.rate_limit import RateLimiter

ALICE = Principal("310000", "OFFICE01", "alice", Role.WINDOW)
BOB = Principal("310000", "OFFICE01", "bob", Role.WINDOW)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate_with_the_wait_in_whole_seconds() -> None:
    clock = Clock()
    limiter = RateLimiter(per_second=0.5, burst=3, clock=clock)
    assert [limiter.take(ALICE) for _ in range(3)] == [None, None, None]
    assert limiter.take(ALICE) == 2  # one request every 2 s
    assert limiter.take(BOB) is None  # each principal has its own bucket
    clock.now += 1.0
    assert limiter.take(ALICE) == 1  # half a request refilled: one more second
    clock.now += 1.0
    assert limiter.take(ALICE) is None
    clock.now += 1000.0  # refilled, but never above the burst
    assert [limiter.take(ALICE) for _ in range(4)] == [None, None, None, 2]


def test_a_rate_of_zero_is_no_limit() -> None:
    limiter = RateLimiter(per_second=0, burst=1, clock=Clock())
    assert all(limiter.take(ALICE) is None for _ in range(1000))
