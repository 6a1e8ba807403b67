"""The CPU profile's split of py-spy's collapsed stacks: a sample goes to the first frame of ours that does
the work (past entry points and the layers every call passes through), idle threads count for nothing, and
a library counts wherever it is on the stack."""

from __future__ import annotations

from benchmarks.cpu_profile import component, split

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
