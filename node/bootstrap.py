"""The composition root: the only module that knows every part. Tests reuse it with test settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import psycopg
import structlog
from tongban.federation.v1 import federation_pb2 as federation_pb

from federation.client import ANSWER_MAX_AGE_S, PeerClients
from federation.handshake import manifest_warnings
from federation.inbox import Applied, Inbox
from federation.log_signal import LogSignal
from federation.outbox import Outbox
from federation.puller import PeerStatus, Puller
from federation.quarantine import QuarantineStore
from federation.servicer import FederationServicer
from federation.witness import Witness
from infra.view_store import PostgresViewStore, SQLiteViewStore, ViewStore
from node import crash_points
from node.auth import TokenVerifier
from node.calendar.source import CalendarBook, case_calendar
from node.federation_setup import (
    FederationFiles,
    FederationSetup,
    FederationSetupError,
    load_federation_files,
)
from node.metrics import NodeMetrics
from node.services import Services, Workers
from node.settings import Settings
from node.signing import Ed25519Signer, PublicKey, load_public_key
from node.store.application import Clock, NodeApplication, utc_now
from node.store.master_key import MasterKeyError
from node.store.store_watch import StoreWatch
from node.store.worker_lease import WorkerLease
from node.usecases.bundles import BundleService
from node.usecases.case_timers import CaseTimers
from node.usecases.cases import CaseService
from node.usecases.catalogue import CatalogueService
from node.usecases.certificates import CertificateService
from node.usecases.credentials import CredentialPolicy, CredentialService
from node.usecases.erasure import ErasureService
from node.usecases.forwarded_commands import command_handler
from node.usecases.notices import NoticeIssuer
from node.usecases.offline_checks import OfflineCheckService
from node.usecases.transparency import TransparencyService
from node.usecases.verifiers import VerifierService
from node.usecases.witnessing import AlertRecorder, WitnessingService
from node.workers.deadline_timer import DeadlineTimer
from node.workers.offline_uses import OfflineUses
from node.workers.reliance_watcher import RelianceWatcher
from node.workers.status_list_publisher import StatusListPublisher
from projections.case_board import CaseBoard
from projections.case_view import CaseView
from projections.certificate_uses import CertificateUses
from projections.credential_statuses import CredentialStatuses
from projections.follower import ProjectionFollower
from projections.log_alerts import LogAlerts
from projections.recognition_registry import RecognitionRegistry
from projections.service_statistics import ServiceStatistics
from projections.status_lists import StatusLists
from projections.together import ReadModels
from projections.transparency_log import TransparencyLog
from projections.verifier_registry import VerifierRegistry

log = structlog.get_logger("tongban.bootstrap")


class BootstrapError(RuntimeError):
    """The node cannot start; the message says what to fix."""


def build_services(settings: Settings, *, clock: Clock = utc_now) -> Services:
    """Open the store, load the keys, and build every service and background worker of the node (none runs
    yet: ``node/runner.py`` starts them). Call :func:`close_services` when done."""
    signer = _load_signer(settings.signing_key)
    retired = [_load_retired_key(path) for path in settings.retired_public_keys]
    calendars = _load_calendars(settings.calendar_files)
    tokens = _load_token_verifier(settings.token_public_key)
    if settings.postgres_url:
        ensure_postgres_schema(settings)
    else:
        settings.node_dir.mkdir(parents=True, exist_ok=True)
    metrics = NodeMetrics(settings.province)
    log_signal = LogSignal()

    def recorded(count: int) -> None:
        metrics.events_appended.inc(count)
        log_signal.notify()

    app = _open_store(settings, recorded)
    files = _load_federation_files(settings)
    clients = (
        PeerClients(
            settings.province,
            files.manifest.current,
            files.channel_credentials,
            settings.peer_endpoint_overrides,
            clock,
            ANSWER_MAX_AGE_S * settings.time_scale,  # the same real-time bound under a simulated clock
        )
        if files
        else None
    )
    certificates = CertificateService(
        app,
        signer=signer,
        public_keys=[signer.public_key(), *retired],
        province=settings.province,
        clock=clock,
        extra_issuers=settings.listed_issuers,
        origins=clients,
    )
    catalogue = CatalogueService(app, clock)
    erasure = ErasureService(app, settings.province, clock)
    verifiers = VerifierService(app, clock)
    credentials = CredentialService(
        app,
        certificates,
        signer,
        settings.province,
        CredentialPolicy(timedelta(days=settings.credential_lifetime_days), settings.status_list_entries),
        clock,
    )
    cases = CaseService(
        app,
        catalogue=catalogue,
        certificates=certificates,
        calendars=calendars,
        province=settings.province,
        clock=clock,
        rectification_days=settings.rectification_days,
        warning_days=settings.deadline_warning_days,
        peers=clients,
        log_signal=log_signal,
        notices=NoticeIssuer(signer),
    )
    bundles = BundleService(app, cases, catalogue, clock)
    timers = CaseTimers(cases)
    log.info(
        "node.store_opened", store=settings.store, province=settings.province, signing_key_id=signer.key_id
    )
    views = _view_store(settings)
    offline_checks = OfflineCheckService(app, views, settings.province, clock)
    read_models = (
        CaseBoard(),
        CaseView(),
        CertificateUses(),
        RecognitionRegistry(),
        ServiceStatistics(case_calendar),
        LogAlerts(),
        VerifierRegistry(),
        StatusLists(),
        CredentialStatuses(),
    )
    crash = partial(crash_points.reached, "projection")
    projections = {
        p.name: ProjectionFollower(app, views, p, settings.projection_batch_events, before_commit=crash)
        for p in read_models
    }
    transparency = TransparencyService(
        TransparencyLog(app, views, settings.transparency_batch_events), signer, settings.province, clock
    )
    federation = None
    if files is not None and clients is not None:
        witness = Witness(
            settings.province,
            views,
            clients,
            files.manifest.current,
            signer.sign,
            signer.key_id,
            clock,
            AlertRecorder(app, clock),
        )
        federation = _federation(
            settings,
            files,
            clients,
            app,
            certificates,
            cases,
            log_signal,
            transparency,
            witness,
            views,
            erasure,
        )
    return Services(
        settings=settings,
        federation=federation,
        app=app,
        certificates=certificates,
        catalogue=catalogue,
        cases=cases,
        bundles=bundles,
        timers=timers,
        erasure=erasure,
        verifiers=verifiers,
        credentials=credentials,
        offline_checks=offline_checks,
        tokens=tokens,
        metrics=metrics,
        views=views,
        projections=projections,
        read_models=ReadModels(
            app, views, projections, settings.projection_batch_events, before_commit=crash
        ),
        log_signal=log_signal,
        transparency=transparency,
        workers=_workers(
            settings, app, views, signer, offline_checks, timers, log_signal, federation, metrics, clock
        ),
    )


def _workers(
    settings: Settings,
    app: NodeApplication,
    views: ViewStore,
    signer: Ed25519Signer,
    offline_checks: OfflineCheckService,
    timers: CaseTimers,
    log_signal: LogSignal,
    federation: FederationSetup | None,
    metrics: NodeMetrics,
    clock: Clock,
) -> Workers:
    postgres = bool(settings.postgres_url)
    return Workers(
        timer=DeadlineTimer(app, timers, settings.timer_batch_events),
        reliance=RelianceWatcher(app, timers, settings.reliance_batch_events, clock),
        offline_uses=OfflineUses(app, offline_checks, settings.reliance_batch_events),
        status_lists=StatusListPublisher(
            app,
            views,
            signer,
            settings.province,
            settings.status_list_entries,
            settings.status_list_ttl_s,
            clock,
        ),
        pullers=_pullers(settings, federation, metrics),
        lease=(
            WorkerLease(settings.postgres_url, settings.eventsourcing_env()["POSTGRES_SCHEMA"])
            if postgres
            else None  # SQLite: one process per store, which runs the workers
        ),
        store_watch=_store_watch(settings, app, log_signal),
    )


def _store_watch(settings: Settings, app: NodeApplication, log_signal: LogSignal) -> StoreWatch | None:
    """PostgreSQL: LISTEN to the event table's channel. SQLite has no notifications: None."""
    if not settings.postgres_url:
        return None
    channel: str = app.recorder.channel_name  # type: ignore[attr-defined]  # the PostgreSQL recorder's
    return StoreWatch(settings.postgres_url, channel, log_signal)


def _pullers(
    settings: Settings, federation: FederationSetup | None, metrics: NodeMetrics
) -> dict[str, Puller]:
    """One puller per peer province: each streams that peer's outbox into this node's inbox."""
    if federation is None:
        return {}

    def applied(peer: str, batch: Applied) -> None:
        """After each peer batch committed here: the chaos suite's forced crash point, and the metrics."""
        crash_points.reached("apply")
        metrics.replication_applied(peer, batch)

    return {
        peer: Puller(
            settings.province,
            peer,
            federation.clients,
            federation.inbox,
            status,
            on_applied=applied,
            batch_events=settings.federation_batch_events,
        )
        for peer, status in federation.statuses.items()
    }


def _open_store(settings: Settings, recorded: Callable[[int], None]) -> NodeApplication:
    """The node's application; refused when a data key is wrapped by a master key the node does not have."""
    try:
        app = NodeApplication(
            env=settings.eventsourcing_env(), on_recorded=recorded, group_commit=settings.group_commit
        )
        keys = app.data_keys
        held = QuarantineStore(keys.datastore, keys.keyring)  # its held events are sealed by the master key
        for master_key_id in keys.master_key_ids() | held.master_key_ids():
            keys.keyring.find(master_key_id)
    except MasterKeyError as e:
        raise BootstrapError(f"master_key: {e}") from None
    if app.data_keys.keyring.rotation_unfinished():
        log.warning("node.master_key_rotation_unfinished", hint="run `tongban master-key rotate` again")
    return app


def close_services(services: Services) -> None:
    if services.federation is not None:
        services.federation.clients.close()
    services.views.close()
    services.app.close()


def _view_store(settings: Settings) -> ViewStore:
    """The read models' tables: a file beside the SQLite store, or the node's own PostgreSQL schema."""
    if settings.postgres_url:
        return PostgresViewStore(settings.postgres_url, settings.eventsourcing_env()["POSTGRES_SCHEMA"])
    return SQLiteViewStore(settings.node_dir / "views.sqlite3")


def ensure_postgres_schema(settings: Settings) -> None:
    """eventsourcing creates tables but not the schema that keeps each node's tables apart."""
    env = settings.eventsourcing_env()
    try:
        with psycopg.connect(settings.postgres_url, connect_timeout=5, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{env["POSTGRES_SCHEMA"]}"')
    except psycopg.OperationalError as e:
        raise BootstrapError(f"cannot reach PostgreSQL at postgres_url: {e}") from None


def _load_federation_files(settings: Settings) -> FederationFiles | None:
    if not settings.federation_dir:
        return None
    try:
        files = load_federation_files(Path(settings.federation_dir), settings.province)
    except FederationSetupError as e:
        raise BootstrapError(str(e)) from None
    manifest = files.manifest.current()
    log.info("node.federation_manifest", serial=manifest.serial, valid_until=manifest.valid_until.isoformat())
    for warning in manifest_warnings(manifest, datetime.now(UTC)):
        log.warning("node.federation_manifest_attention", warning=warning)
    return files


def _federation(
    settings: Settings,
    files: FederationFiles,
    clients: PeerClients,
    app: NodeApplication,
    certificates: CertificateService,
    cases: CaseService,
    log_signal: LogSignal,
    transparency: TransparencyService,
    witness: Witness,
    views: ViewStore,
    erasure: ErasureService,
) -> FederationSetup:
    manifest = files.manifest.current()
    capabilities = frozenset(
        {
            federation_pb.CAPABILITY_CERTIFICATE_VERIFICATION,
            federation_pb.CAPABILITY_CASE_REPLICATION,
            federation_pb.CAPABILITY_CASE_COMMANDS,
            federation_pb.CAPABILITY_TRANSPARENCY,
        }
    )
    servicer = FederationServicer(
        settings.province,
        files.manifest.current,
        capabilities,
        verifier=certificates.verify_for_peer,
        outbox=Outbox(app, settings.province),
        log_signal=log_signal,
        commands=command_handler(cases),
        tree_heads=transparency,
        transfers=certificates.accept_transfer,
    )
    peers = [m.province for m in manifest.members if m.province != settings.province]
    return FederationSetup(
        manifest=files.manifest,
        servicer=servicer,
        credentials=files.server_credentials,
        clients=clients,
        inbox=Inbox(
            app, settings.province, cases.now, on_recorded=app.notify_recorded, personal_data=erasure
        ),
        statuses={peer: PeerStatus(peer) for peer in peers},
        witnessing=WitnessingService(witness, peers, views),
    )


def _load_retired_key(path: Path) -> PublicKey:
    try:
        return load_public_key(path)
    except (OSError, ValueError) as e:
        raise BootstrapError(f"retired_public_keys: cannot load {path}: {e}") from None


def _load_calendars(files: tuple[Path, ...]) -> CalendarBook:
    try:
        calendars = CalendarBook.load(files)
    except ValueError as e:
        raise BootstrapError(f"calendar_files: {e}") from None
    log.info("node.calendar", **calendars.summary(), operator_files=[str(f) for f in files])
    return calendars


def _load_signer(path: Path) -> Ed25519Signer:
    if not path.exists():
        raise BootstrapError(f"no signing key at {path}: create one with `tongban keys --out {path}`")
    try:
        return Ed25519Signer.from_pem_file(path)
    except ValueError as e:
        raise BootstrapError(str(e)) from None


def _load_token_verifier(path: Path) -> TokenVerifier:
    if not path.exists():
        raise BootstrapError(
            f"no token issuer public key at {path}: "
            "create a pair with `tongban keys --out <data_dir>/token-issuer.key`"
        )
    try:
        return TokenVerifier.from_pem_file(path)
    except ValueError as e:
        raise BootstrapError(str(e)) from None
