"""On PostgreSQL, a subscription to the node's event table (LISTEN/NOTIFY) wakes the node's followers (read
models, and the forwarded-command waits) as soon as ANY process records events there, a catalogue loaded from
the command line for instance, not only this process. SQLite has no subscriptions: there the followers poll
every ``follow_interval_s``, besides being woken by this process's own writes."""

from __future__ import annotations

import threading
from uuid import UUID

import structlog
from eventsourcing.application import Application
from eventsourcing.persistence import ApplicationRecorder, Subscription

from federation.log_signal import LogSignal

log = structlog.get_logger("tongban.store_watch")


class StoreWatch:
    def __init__(self, app: Application[UUID], signal: LogSignal, retry_s: float = 1.0) -> None:
        self._app, self._signal, self._retry_s = app, signal, retry_s
        self._stopped = threading.Event()
        self._subscription: Subscription[ApplicationRecorder] | None = None
        self._thread = threading.Thread(target=self._run, name="store-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        subscription = self._subscription
        if subscription is not None:
            subscription.stop()
        self._thread.join(timeout=5)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                head = self._app.recorder.max_notification_id()
                with self._app.recorder.subscribe(gt=head) as subscription:
                    self._subscription = subscription
                    if self._stopped.is_set():
                        return
                    for _notification in subscription:
                        self._signal.notify()
            except Exception as e:  # the store may be briefly unreachable: subscribe again
                log.warning("store_watch.failed", error_type=type(e).__name__)
            self._stopped.wait(self._retry_s)
