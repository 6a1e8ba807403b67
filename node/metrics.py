"""Prometheus metrics of one node, in a registry of its own (tests run several nodes in one process)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest

from federation.inbox import Applied
from federation.manifest_source import ManifestSource
from federation.puller import PeerStatus
from federation.quarantine import QuarantinedStream
from federation.tree_heads import ALERT_KINDS
from projections.follower import Lag


class NodeMetrics:
    def __init__(self, province: str) -> None:
        self.registry = CollectorRegistry()
        # the process's CPU seconds, memory and start time: what `tongban simulate` divides by the operations
        # it got acknowledged (simulators/node_cpu.py)
        ProcessCollector(registry=self.registry)
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
        self.shed_requests = Counter(
            "tongban_shed_requests",
            "Requests refused because the node was over its limit of work in flight (REST 429, gRPC "
            "RESOURCE_EXHAUSTED), by surface: rest or grpc (both gRPC ports); nothing was done for them",
            ["surface"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "tongban_requests_in_flight",
            "Requests a listener (rest, grpc, federation) is working on now, against its limit in flight",
            ["listener"],
            registry=self.registry,
        )
        self.events_appended = Counter(
            "tongban_events_appended",
            "Domain events appended to this node's event store",
            registry=self.registry,
        )
        self.replicated = Counter(
            "tongban_replication_events_applied",
            "Events of a peer's cases applied here, by peer province",
            ["peer"],
            registry=self.registry,
        )
        self.replication_latency = Histogram(
            "tongban_replication_latency_seconds",
            "From an event's commit at the peer to its apply here",
            ["peer"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=self.registry,
        )
        self.replication_lag_events = Gauge(
            "tongban_replication_lag_events",
            "Positions of a peer's log not yet considered here, as of its last batch",
            ["peer"],
            registry=self.registry,
        )
        self.replication_lag_seconds = Gauge(
            "tongban_replication_lag_seconds",
            "Seconds since this node was last in step with the peer's log (0: in step; -1: never yet)",
            ["peer"],
            registry=self.registry,
        )
        self.quarantined_streams = Gauge(
            "tongban_federation_quarantined_streams",
            "Streams of a peer held in the quarantine: an event the inbox refused and the later ones of its "
            "stream wait there for an operator's retry (the rest of the feed flows)",
            ["peer"],
            registry=self.registry,
        )
        self.quarantined_events = Counter(
            "tongban_federation_quarantined_events",
            "Events of a peer newly held in the quarantine (refused, or behind a refused one of its stream)",
            ["peer"],
            registry=self.registry,
        )
        self.calendar_provisional_years = Gauge(
            "tongban_calendar_provisional_years",
            "This year and next: how many have only a provisional working-day schedule (load the notice)",
            registry=self.registry,
        )
        self.manifest_valid_seconds = Gauge(
            "tongban_federation_manifest_valid_seconds",
            "Seconds until the federation manifest in use expires (negative: expired; traffic goes on)",
            registry=self.registry,
        )
        self.manifest_serial = Gauge(
            "tongban_federation_manifest_serial",
            "Serial of the federation manifest in use",
            registry=self.registry,
        )
        self.manifest_refresh_failures = Gauge(
            "tongban_federation_manifest_refresh_failures",
            "Refreshes that found no adoptable manifest on disk since the node started",
            registry=self.registry,
        )
        self.worker_passes = Counter(
            "tongban_worker_passes",
            "Passes a background worker completed (the deadline timer, the reliance watcher): progress an "
            "operator or a test can wait on",
            ["worker"],
            registry=self.registry,
        )
        self.projection_lag_events = Gauge(
            "tongban_projection_lag_events",
            "Positions of this node's log a read model has not considered yet",
            ["projection"],
            registry=self.registry,
        )
        self.projection_lag_seconds = Gauge(
            "tongban_projection_lag_seconds",
            "Age of the oldest event a read model has not applied yet (0: in step)",
            ["projection"],
            registry=self.registry,
        )
        self.witness_alerts = Gauge(
            "tongban_witness_alerts",
            "Alerts this node raised against a peer's transparency log (fork, rollback, bad signature)",
            ["province", "kind"],
            registry=self.registry,
        )
        self.witness_accepted_tree_size = Gauge(
            "tongban_witness_accepted_tree_size",
            "Size of the latest tree head of a peer that this node checked and cosigned",
            ["province"],
            registry=self.registry,
        )
        info = Gauge(
            "tongban_node_info", "Static facts about this node", ["province"], registry=self.registry
        )
        info.labels(province=province).set(1)

    def replication_applied(self, peer: str, applied: Applied) -> None:
        self.replicated.labels(peer=peer).inc(applied.stored)
        self.quarantined_events.labels(peer=peer).inc(applied.quarantined)
        for latency in applied.latencies_s:
            self.replication_latency.labels(peer=peer).observe(latency)

    def replication_status(self, statuses: Iterable[PeerStatus]) -> None:
        for status in statuses:
            lag = status.lag_seconds()
            self.replication_lag_events.labels(peer=status.peer).set(status.lag_events)
            self.replication_lag_seconds.labels(peer=status.peer).set(-1 if lag is None else lag)

    def quarantine_status(self, peers: Iterable[str], streams: Iterable[QuarantinedStream]) -> None:
        counts = dict.fromkeys(peers, 0)
        for stream in streams:
            counts[stream.peer] = counts.get(stream.peer, 0) + 1
        for peer, count in counts.items():
            self.quarantined_streams.labels(peer=peer).set(count)

    def manifest_status(self, source: ManifestSource) -> None:
        manifest = source.current()
        self.manifest_serial.set(manifest.serial)
        self.manifest_valid_seconds.set((manifest.valid_until - datetime.now(UTC)).total_seconds())
        self.manifest_refresh_failures.set(source.refresh_failures)

    def projection_status(self, lags: dict[str, Lag]) -> None:
        for name, lag in lags.items():
            self.projection_lag_events.labels(projection=name).set(lag.events)
            self.projection_lag_seconds.labels(projection=name).set(lag.seconds)

    def witness_status(self, status: dict[str, Any], alerts: list[dict[str, Any]]) -> None:
        for peer, report in status.items():
            self.witness_accepted_tree_size.labels(province=peer).set(report["accepted_tree_size"])
            for kind in ALERT_KINDS:
                raised = sum(1 for a in alerts if a["province"] == peer and a["kind"] == kind)
                self.witness_alerts.labels(province=peer, kind=kind).set(raised)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
