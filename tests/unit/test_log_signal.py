"""The log signal wakes waiters in worker threads and on the event loop when the log grows. Each wait says
whether the log grew or its own bound ran out, so a test can tell a wake-up from a timeout without timing."""

from __future__ import annotations

import asyncio
import threading

from federation.log_signal import LogSignal


def test_a_blocking_waiter_wakes_when_another_thread_records() -> None:
    signal = LogSignal()
    seen = signal.generation
    outcome: list[bool] = []
    waiting = threading.Event()

    def waiter() -> None:
        waiting.set()
        outcome.append(signal.wait_blocking(seen, timeout_s=30))

    thread = threading.Thread(target=waiter)
    thread.start()
    assert waiting.wait(30)
    signal.notify()
    thread.join(60)
    assert outcome == [True]  # woken by the notification, not by its own bound
    assert signal.generation == seen + 1


def test_a_waiter_that_missed_nothing_returns_at_once_and_one_that_waits_in_vain_times_out() -> None:
    signal = LogSignal()
    seen = signal.generation
    signal.notify()
    assert signal.wait_blocking(seen, timeout_s=30)  # the log grew already: no wait
    assert not signal.wait_blocking(signal.generation, timeout_s=0.01)  # nothing happens: the bound runs out


def test_an_event_loop_waiter_wakes_when_a_worker_thread_records() -> None:
    async def scenario() -> tuple[bool, int]:
        signal = LogSignal()
        seen = signal.generation
        waiting = asyncio.create_task(signal.wait(seen, timeout_s=30))
        await asyncio.to_thread(signal.notify)
        return await asyncio.wait_for(waiting, 60), signal.generation - seen

    assert asyncio.run(scenario()) == (True, 1)


def test_an_event_loop_waiter_with_nothing_to_wait_for_times_out() -> None:
    async def scenario() -> bool:
        signal = LogSignal()
        return await signal.wait(signal.generation, timeout_s=0.01)

    assert asyncio.run(scenario()) is False
