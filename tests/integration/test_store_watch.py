"""On PostgreSQL, events that ANOTHER process records in the node's store wake the node's followers at once,
through a LISTEN/NOTIFY subscription, rather than at the next poll."""

from __future__ import annotations

import pytest

from node.bootstrap import build_services, close_services
from node.settings import Settings
from node.store.store_watch import StoreWatch
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

        watch = StoreWatch(node.app, node.log_signal)
        watch.start()
        try:
            for n in range(20):  # the subscription may still be starting: record again until woken
                other.certificates.issue(SH_WINDOW, **{"service_item_code": None, **issue_body(n % 2)})
                node.log_signal.wait_blocking(seen, 0.5)
                if node.log_signal.generation != seen:
                    break
            assert node.log_signal.generation != seen
        finally:
            watch.stop()
        assert not watch.is_alive()  # a node's shutdown waits for it: it must end
    finally:
        close_services(other)
        close_services(node)
