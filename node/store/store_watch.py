"""On PostgreSQL, the node LISTENs on its event table's channel, which eventsourcing's recorder NOTIFYs in
every transaction that records events, and wakes the node's followers (read models, the outbox's streams,
the forwarded-command waits) as soon as ANY process records events there, a catalogue loaded from the command
line for instance, not only this process. SQLite has no notifications: there the followers poll every
``follow_interval_s``, besides being woken by this process's own writes.

A wake needs no rows: eventsourcing's subscription would read every new event, state and all, only to say
that there is one (about four statements an operation under load); each follower reads what it wants."""

from __future__ import annotations

import threading

import psycopg
import structlog
from psycopg import sql

from federation.log_signal import LogSignal

log = structlog.get_logger("tongban.store_watch")
CONNECT_TIMEOUT_S = 5
STOP_CHECK_S = 1.0  # how long one wait for a notification lasts before the thread looks at ``stop``


class StoreWatch:
    def __init__(self, conninfo: str, channel: str, signal: LogSignal, retry_s: float = 1.0) -> None:
        self._conninfo, self._channel, self._signal, self._retry_s = conninfo, channel, signal, retry_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5 + STOP_CHECK_S)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                with psycopg.connect(
                    self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                ) as connection:
                    connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    # anything recorded while not listening (at start, after a reconnect) is read by the
                    # followers' next pass: wake them once
                    self._signal.notify()
                    while not self._stopped.is_set():
                        if any(True for _ in connection.notifies(timeout=STOP_CHECK_S)):
                            self._signal.notify()  # one wake for however many arrived together
            except psycopg.Error as e:  # the store may be briefly unreachable: listen again
                log.warning("store_watch.failed", error_type=type(e).__name__)
            self._stopped.wait(self._retry_s)
