"""A bound on the requests a listener works on at once: past it, a request is shed before it does anything.

Without a bound, every queue behind the handlers grows with the offered load: the worker threads' queue, group
commit's waiting saves, forwarded commands waiting for their replication, and with them the latency of every
request. A shed request is refused at once (REST 429, gRPC RESOURCE_EXHAUSTED, each with a Retry-After) and
changed nothing, so any client may send it again, whatever the call. What is admitted then keeps a latency
bounded by the limit, not by the backlog.

Counted on the event loop of the listener (its handlers enter and leave there): no lock is needed.
"""

from __future__ import annotations

import structlog

from node.metrics import NodeMetrics

log = structlog.get_logger("tongban.overload")


class Admission:
    def __init__(
        self, metrics: NodeMetrics, surface: str, listener: str, limit: int, retry_after_s: int
    ) -> None:
        """``surface`` labels shed requests (rest, grpc); ``listener`` the gauge of those in flight."""
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.in_flight = 0
        self._surface = surface
        self._shed = metrics.shed_requests.labels(surface)
        self._gauge = metrics.in_flight.labels(listener)

    def enter(self, route: str) -> bool:
        """Count one more request in flight, or shed it (False) when the limit is reached; ``route`` is the
        route template or gRPC method, for the log line (never a raw path: it may carry personal data)."""
        if self.in_flight >= self.limit:
            self._shed.inc()
            log.warning("overload.shed", surface=self._surface, route=route, limit=self.limit)
            return False
        self.in_flight += 1
        self._gauge.inc()
        return True

    def leave(self) -> None:
        self.in_flight -= 1
        self._gauge.dec()

    def detail(self) -> str:
        """What a shed request is told (problem detail, gRPC status details)."""
        return (
            f"the node is working on {self.limit} requests, its limit: nothing was done; "
            f"retry after {self.retry_after_s} s"
        )
