"""On PostgreSQL, events that ANOTHER process records in the node's store wake the node's followers at once,
through LISTEN/NOTIFY, rather than at the next poll."""

from __future__ import annotations

import pytest

from node.bootstrap import build_services, close_services
from node.settings import Settings
from tests.builders import issue_body
from tests.integration.test_case_service import SH_WINDOW


@pytest.mark.parametrize("settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_events_recorded_by_another_process_wake_the_node(settings: Settings) -> None:
    node = build_services(settings)
    other = build_services(settings)  # another process on the same store, like `tongban catalogue load`
    try:
        seen = node.log_signal.generation
        other.certificates.issue(SH_WINDOW, **{"service_item_code": None, **issue_body(0)})
        assert node.log_signal.generation == seen  # without the watch, nothing tells this node

        watch = node.workers.store_watch
        assert watch is not None
        watch.start()
        try:
            # the watch wakes the node once when it starts listening (for whatever came before): after that
            # wake, only a notification can wake it again
            assert node.log_signal.wait_blocking(seen, 30)
            listening = node.log_signal.generation
            other.certificates.issue(SH_WINDOW, **{"service_item_code": None, **issue_body(1)})
            assert node.log_signal.wait_blocking(listening, 30)
        finally:
            watch.stop()
        assert not watch.is_alive()  # a node's shutdown waits for it: it must end
    finally:
        close_services(other)
        close_services(node)
