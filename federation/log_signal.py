"""Wakes the open ``PullEvents`` streams as soon as the log grows, instead of polling the store."""

from __future__ import annotations

import asyncio
import contextlib
import threading


class LogSignal:
    """``notify()`` may be called from any thread (eventsourcing saves in worker threads); event-loop code
    awaits :meth:`wait`, worker threads call :meth:`wait_blocking`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grown = threading.Condition(self._lock)
        self._generation = 0
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    @property
    def generation(self) -> int:
        return self._generation

    def notify(self) -> None:
        with self._lock:
            self._generation += 1
            waiters = list(self._waiters)
            self._grown.notify_all()
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits there any more
                loop.call_soon_threadsafe(event.set)

    def wait_blocking(self, seen: int, timeout_s: float) -> bool:
        """In a worker thread: once the log grew past generation ``seen`` (True), or after ``timeout_s``
        (False)."""
        with self._grown:
            return self._grown.wait_for(lambda: self._generation != seen, timeout_s)

    async def wait(self, seen: int, timeout_s: float) -> bool:
        """Once the log grew past generation ``seen`` (True), or after ``timeout_s`` (False)."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            if self._generation != seen:
                return True
            self._waiters.add(entry)
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that lands as
            # the inner wait completes, and a stream loop would then outlive the node's shutdown
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await entry[1].wait()
            return entry[1].is_set()
        finally:
            with self._lock:
                self._waiters.discard(entry)
