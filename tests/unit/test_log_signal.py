"""The log signal wakes waiters in worker threads and on the event loop when the log grows."""

from __future__ import annotations

import asyncio
import threading

from federation.log_signal import LogSignal


def test_a_blocking_waiter_wakes_when_another_thread_records() -> None:
    signal = LogSignal()
    seen = signal.generation
    woke = threading.Event()

    def waiter() -> None:
        signal.wait_blocking(seen, timeout_s=30)
        woke.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    signal.notify()
    assert woke.wait(30)  # well before the waiter's own 30 s bound
    thread.join(30)
    assert signal.generation == seen + 1


def test_a_waiter_that_missed_nothing_returns_at_once_and_one_that_waits_in_vain_times_out() -> None:
    signal = LogSignal()
    seen = signal.generation
    signal.notify()
    signal.wait_blocking(seen, timeout_s=30)  # the log grew already: no wait
    signal.wait_blocking(signal.generation, timeout_s=0.01)  # nothing happens: back after the bound


def test_an_event_loop_waiter_wakes_when_a_worker_thread_records() -> None:
    async def scenario() -> int:
        signal = LogSignal()
        seen = signal.generation
        waiting = asyncio.create_task(signal.wait(seen, timeout_s=30))
        await asyncio.to_thread(signal.notify)
        await asyncio.wait_for(waiting, 30)
        return signal.generation - seen

    assert asyncio.run(scenario()) == 1
