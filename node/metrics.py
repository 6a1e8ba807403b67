"""Prometheus metrics of one node, in a registry of its own (tests run several nodes in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class NodeMetrics:
    def __init__(self, province: str) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "tongban_http_requests",
            "REST requests by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "tongban_http_request_duration_seconds",
            "REST request latency by route template and method",
            ["route", "method"],
            registry=self.registry,
        )
        self.grpc_requests = Counter(
            "tongban_grpc_requests",
            "gRPC calls by method and status code",
            ["method", "code"],
            registry=self.registry,
        )
        self.grpc_latency = Histogram(
            "tongban_grpc_request_duration_seconds",
            "gRPC call latency by method",
            ["method"],
            registry=self.registry,
        )
        self.events_appended = Counter(
            "tongban_events_appended",
            "Domain events appended to this node's event store",
            registry=self.registry,
        )
        info = Gauge(
            "tongban_node_info", "Static facts about this node", ["province"], registry=self.registry
        )
        info.labels(province=province).set(1)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
