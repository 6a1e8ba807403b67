"""The CPU profile's split of py-spy's collapsed stacks: a sample goes to the first frame of ours that does
the work (past entry points and the layers every call passes through), idle threads count for nothing, and
a library counts wherever it is on the stack."""

from __future__ import annotations

from typing import Any

from benchmarks.cpu_profile import component, split, verdicts

LOOP = "_run_module_as_main (<frozen runpy>:198);<module> (node/__main__.py:4);run_forever (asyncio/e.py:1)"
REST = (
    f"{LOOP};request_context (node/http/middlewares.py:41);handler (node/http/cases.py:159);"
    "CaseService.run (node/usecases/cases.py:300);encode (eventsourcing/persistence.py:90)"
)
MIDDLEWARE_ONLY = f"{LOOP};request_context (node/http/middlewares.py:41);decode (jwt/api_jws.py:222)"
POOL = "Thread._bootstrap (threading.py:1002);_worker (concurrent/futures/thread.py:83)"
INBOX = f"{POOL};Inbox.apply (federation/inbox.py:214);insert_events (eventsourcing/sqlite.py:314)"


def test_a_sample_goes_to_the_first_frame_of_ours_that_works() -> None:
    assert component(REST.split(";")) == "node/http/cases handler"
    assert component(MIDDLEWARE_ONLY.split(";")) == "node/http/middlewares request_context"
    assert component(INBOX.split(";")) == "federation/inbox Inbox.apply"
    assert component(LOOP.split(";")) == "event loop and libraries (no project frame)"


def test_the_split_leaves_idle_threads_out_and_counts_libraries_anywhere() -> None:
    lines = [
        f"{REST} 6",
        f"{MIDDLEWARE_ONLY} 2",
        f"{INBOX} 3",
        f"{POOL} 40",
        f"{LOOP};EpollSelector.select (x.py:1) 9",
    ]
    total, components, libraries = split(lines)
    assert total == 11
    assert components == {
        "node/http/cases handler": 6,
        "node/http/middlewares request_context": 2,
        "federation/inbox Inbox.apply": 3,
    }
    assert libraries == {
        "eventsourcing transcoder (JSON)": 6,
        "PyJWT (tokens)": 2,
        "eventsourcing recorders (SQL)": 3,
    }


def test_the_verdicts_hold_each_store_to_its_first_step() -> None:
    def figures(store: str, ms: float | None, rss: float) -> dict[str, Any]:
        return {"store": store, "cpu_ms_per_acked_op": ms, "node_rss_mb": {"310000": 100.0, "320000": rss}}

    assert verdicts(figures("SQLite", 3.9, 120.0)).splitlines() == [
        "target CPU per acknowledged operation <= 4 ms on SQLite: 3.9 ms PASS",
        "target every node process <= 300 MB under load: largest 120.0 MB PASS",
    ]
    assert "<= 6 ms on PostgreSQL: 6.5 ms FAIL" in verdicts(figures("PostgreSQL", 6.5, 120.0))
    assert "largest 301.0 MB FAIL" in verdicts(figures("PostgreSQL", 5.0, 301.0))
    assert "None ms FAIL" in verdicts(figures("SQLite", None, 1.0))  # nothing acknowledged
