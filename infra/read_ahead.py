"""Reading ahead: a thread of its own fetches the next pages of a reader while the caller works on the page
before. Database drivers let go of the GIL while they wait for the server (psycopg) or step through the file
(sqlite3), so on a second core the read overlaps the caller's own work instead of adding to it."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

_PUT_WAIT_S = 0.1  # how often a reader blocked on a full queue looks whether the caller has gone


@contextmanager
def read_ahead(pages: Iterator[T], depth: int = 2) -> Iterator[Iterator[T]]:
    """The pages of ``pages`` in order, at most ``depth`` of them read ahead and held. Leaving the context
    early (the caller found what it looked for, or failed) stops the reader and waits for its thread."""
    # a page comes wrapped in a 1-tuple, the reader's failure as itself, and the end as None
    ready: queue.Queue[tuple[T] | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: tuple[T] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=_PUT_WAIT_S)
            except queue.Full:
                continue
            return True
        return False

    def read() -> None:
        try:
            for page in pages:
                if not hand_over((page,)):
                    return
            hand_over(None)
        except BaseException as e:
            hand_over(e)

    reader = threading.Thread(target=read, name="read-ahead", daemon=True)
    reader.start()

    def taken() -> Iterator[T]:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item[0]

    try:
        yield taken()
    finally:
        stop.set()
        reader.join()
