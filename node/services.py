"""What the entrypoints (REST, gRPC) are given by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from federation.log_signal import LogSignal
from infra.view_store import ViewStore
from node.auth import TokenVerifier
from node.federation_setup import FederationSetup
from node.metrics import NodeMetrics
from node.settings import Settings
from node.store.application import NodeApplication
from node.usecases.cases import CaseService
from node.usecases.catalogue import CatalogueService
from node.usecases.certificates import CertificateService
from node.usecases.erasure import ErasureService
from node.usecases.transparency import TransparencyService
from node.workers.deadline_timer import DeadlineTimer
from projections.follower import ProjectionFollower


@dataclass(frozen=True)
class Services:
    settings: Settings
    app: NodeApplication
    certificates: CertificateService
    catalogue: CatalogueService
    cases: CaseService
    erasure: ErasureService  # forgetting a person: crypto-shredding of their data keys
    tokens: TokenVerifier
    metrics: NodeMetrics
    views: ViewStore
    projections: dict[str, ProjectionFollower]  # the read models, by name
    log_signal: LogSignal  # set whenever the node's log grows
    transparency: TransparencyService  # the node's transparency log: signed tree heads and proofs
    timer: DeadlineTimer  # records supplement timeouts, warnings, breaches and recomputed deadlines
    federation: FederationSetup | None = None  # None: no federation_dir configured
    # "leader": this process runs the background workers; "standby": another does (PostgreSQL only)
    lease_state: dict[str, str] = field(default_factory=lambda: {"role": "leader"})

    @property
    def province(self) -> str:
        return self.settings.province
