"""What the composition root builds: the services the entrypoints (REST, gRPC) are given, and the background
workers the runner runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from federation.log_signal import LogSignal
from federation.puller import Puller
from infra.view_store import ViewStore
from node.auth import TokenVerifier
from node.federation_setup import FederationSetup
from node.metrics import NodeMetrics
from node.settings import Settings
from node.store.application import NodeApplication
from node.store.store_watch import StoreWatch
from node.store.worker_lease import WorkerLease
from node.usecases.bundles import BundleService
from node.usecases.case_timers import CaseTimers
from node.usecases.cases import CaseService
from node.usecases.catalogue import CatalogueService
from node.usecases.certificates import CertificateService
from node.usecases.credentials import CredentialService
from node.usecases.erasure import ErasureService
from node.usecases.offline_checks import OfflineCheckService
from node.usecases.transparency import TransparencyService
from node.usecases.verifiers import VerifierService
from node.workers.deadline_timer import DeadlineTimer
from node.workers.offline_uses import OfflineUses
from node.workers.reliance_watcher import RelianceWatcher
from node.workers.status_list_publisher import StatusListPublisher
from projections.follower import ProjectionFollower
from projections.together import ReadModels


@dataclass(frozen=True)
class Workers:
    """The background workers, built by the composition root and run by ``node/runner.py``. On PostgreSQL
    several processes may serve one node: only the holder of ``lease`` runs the timer, the watcher, the read
    models, the tree, the pullers and the witness; every process runs ``store_watch``."""

    timer: DeadlineTimer  # records supplement timeouts, warnings, breaches and recomputed deadlines
    reliance: RelianceWatcher  # flags the open cases that rely on a certificate that left VALID
    status_lists: StatusListPublisher  # signs this province's credential status list when it is due
    offline_uses: OfflineUses  # adds the offline checks of this node's credentials to their use logs
    pullers: dict[str, Puller]  # by peer province: each streams that peer's outbox into this node's inbox
    lease: WorkerLease | None  # PostgreSQL: one worker set per node schema
    store_watch: StoreWatch | None  # PostgreSQL: wakes the followers when any process records events


@dataclass(frozen=True)
class Services:
    settings: Settings
    app: NodeApplication
    certificates: CertificateService
    catalogue: CatalogueService
    cases: CaseService
    bundles: BundleService
    timers: CaseTimers  # what time and revoked certificates record on the open cases written here
    erasure: ErasureService  # forgetting a person: crypto-shredding of their data keys
    verifiers: VerifierService  # the verifiers this province registers (亮证)
    credentials: CredentialService  # holder credentials of this node's certificates (亮证)
    offline_checks: OfflineCheckService  # what verifier kits checked, on its way to the issuer's use log
    tokens: TokenVerifier
    metrics: NodeMetrics
    views: ViewStore
    projections: dict[str, ProjectionFollower]  # the read models, by name
    read_models: ReadModels  # the same read models, caught up together (the workers tick this)
    log_signal: LogSignal  # set whenever the node's log grows
    transparency: TransparencyService  # the node's transparency log: signed tree heads and proofs
    workers: Workers
    federation: FederationSetup | None = None  # None: no federation_dir configured
    # "leader": this process runs the background workers; "standby": another does (PostgreSQL only)
    lease_state: dict[str, str] = field(default_factory=lambda: {"role": "leader"})

    @property
    def province(self) -> str:
        return self.settings.province

    @property
    def timer(self) -> DeadlineTimer:
        return self.workers.timer

    def calendar_recheck(self) -> Callable[[], Mapping[str, int]] | None:
        """What a calendar reload runs next: the deadline timer's pass, on the process that runs the workers
        (the others record nothing)."""
        return self.timer.tick if self.lease_state["role"] == "leader" else None
