"""The grpc.aio server: public servicers, health checking and reflection."""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from tongban.certificates.v1 import certificates_pb2, certificates_pb2_grpc
from tongban.federation.v1 import federation_pb2, federation_pb2_grpc

from federation.client import SERVER_OPTIONS
from federation.peer_limits import PeerConcurrencyLimit
from federation.puller import PeerStatus
from node.grpc.certificates import CertificateServicer
from node.grpc.decoding import RefuseUndecodableRequests
from node.grpc.interceptors import ObservingInterceptor
from node.grpc.overload import ShedOverload
from node.overload import Admission
from node.services import Services

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
SERVICE_NAMES = (certificates_pb2.DESCRIPTOR.services_by_name["CertificateService"].full_name,)


def build_server(services: Services) -> tuple[grpc.aio.Server, health.aio.HealthServicer]:
    """A server with every servicer added but no port bound yet."""
    server = grpc.aio.server(
        interceptors=[
            ObservingInterceptor(services.metrics),
            ShedOverload(_admission(services, "grpc")),
            RefuseUndecodableRequests(),
        ],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
            _reuse_port(services),
        ],
    )
    certificates_pb2_grpc.add_CertificateServiceServicer_to_server(CertificateServicer(services), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    return server, health_servicer


def build_federation_server(services: Services) -> tuple[grpc.aio.Server, health.aio.HealthServicer]:
    """The federation server (mutual TLS port bound by the caller), when federation is configured, with the
    standard health service that peers and load balancers ask, behind the same mutual TLS."""
    server = grpc.aio.server(
        interceptors=[
            ObservingInterceptor(services.metrics),
            ShedOverload(_admission(services, "federation")),
            PeerConcurrencyLimit(services.settings.federation_peer_concurrency),
            RefuseUndecodableRequests(),
        ],
        options=[*SERVER_OPTIONS, _reuse_port(services)],
    )
    if services.federation is not None:
        federation_pb2_grpc.add_FederationServiceServicer_to_server(services.federation.servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    return server, health_servicer


def _reuse_port(services: Services) -> tuple[str, int]:
    """grpc sets SO_REUSEPORT unless told not to: then a second node on the same port would bind too and
    silently share the traffic. Only processes of one node that mean to share their ports (share_ports) do."""
    return ("grpc.so_reuseport", int(services.settings.share_ports))


def _admission(services: Services, listener: str) -> Admission:
    """Each gRPC port has its own bound: a public port at its limit does not shed the peers, nor they it."""
    settings = services.settings
    return Admission(
        services.metrics, "grpc", listener, settings.grpc_max_in_flight, settings.overload_retry_after_s
    )


FEDERATION_SERVICE = federation_pb2.DESCRIPTOR.services_by_name["FederationService"].full_name
PEER_HEALTH_PREFIX = f"{FEDERATION_SERVICE}/peer/"


async def report_peers(health_servicer: health.aio.HealthServicer, statuses: Iterable[PeerStatus]) -> None:
    """One health entry per peer province: SERVING while replication from it is in step."""
    for status in statuses:
        serving = (
            health_pb2.HealthCheckResponse.SERVING
            if status.in_step()
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        await health_servicer.set(PEER_HEALTH_PREFIX + status.peer, serving)


async def mark_serving(
    health_servicer: health.aio.HealthServicer, serving: bool, names: Iterable[str] = SERVICE_NAMES
) -> None:
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in ("", *names):
        await health_servicer.set(name, status)
