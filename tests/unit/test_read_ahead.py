"""Reading ahead (``infra.read_ahead``): the pages come in order and all of them; a caller that leaves early
stops the reader, which has read at most the pages it may hold ahead; a reader's failure reaches the caller
after the pages read before it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from infra.read_ahead import read_ahead


class Source:
    """Numbered pages, counting how many were read; fails at page ``fail_at`` if given."""

    def __init__(self, pages: int, fail_at: int | None = None) -> None:
        self.pages, self.fail_at, self.read = pages, fail_at, 0

    def __iter__(self) -> Iterator[int]:
        for page in range(self.pages):
            if page == self.fail_at:
                raise RuntimeError(f"page {page} is unreadable")
            self.read += 1
            yield page


def test_every_page_comes_in_order() -> None:
    with read_ahead(iter(Source(50)), depth=2) as pages:
        assert list(pages) == list(range(50))


def test_a_caller_that_leaves_early_stops_the_reader() -> None:
    source = Source(1000)
    threads_before = threading.active_count()
    with read_ahead(iter(source), depth=2) as pages:
        assert [next(pages) for _ in range(5)] == [0, 1, 2, 3, 4]
    # the reader's thread is gone, and it read no more than it could hold, plus the one it was handing over
    assert threading.active_count() == threads_before
    assert source.read <= 5 + 2 + 1


def test_a_failed_read_reaches_the_caller_after_the_pages_before_it() -> None:
    taken: list[int] = []
    with pytest.raises(RuntimeError, match="page 3 is unreadable"), read_ahead(iter(Source(9, 3))) as pages:
        taken.extend(pages)
    assert taken == [0, 1, 2]
