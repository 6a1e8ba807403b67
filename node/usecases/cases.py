"""Cross-province cases (办件): the use cases of the workflow, the deadline clock, 一件事 bundles.

Case numbers and receipt numbers are drawn here; dates counted in working days (supplement due, rectification
due, the legal deadline) come from the working-day calendar; certificates attached as materials are verified
through the certificate service and the signed answer is kept on the case.
"""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, cast
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import register_topic

from aggregates.applicant import Applicant
from aggregates.bundle import BundleCase
from aggregates.calendar import DateOutsideCalendar, WorkingCalendar
from aggregates.case import (
    Case,
    Limit,
    Part,
    breach_of,
    deadline_inputs,
    delivery_inputs,
    notice_limit_inputs,
)
from aggregates.certificate import Status, holder_digest
from aggregates.clock import china_date
from aggregates.consent import UseChannel, validate_consent_reference
from aggregates.deadline import (
    DeadlineInputs,
    DeadlineState,
    deadline_state,
    due_date,
    fixed_deadline_state,
)
from aggregates.erasure import ERASED
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.identifiers import CertificateIdentifier, InvalidIdentifier
from aggregates.responsibility import Actor
from federation.errors import RemoteConflict, RemoteNotFound
from federation.log_signal import LogSignal
from node.calendar.source import CalendarBook, case_calendar
from node.store.application import AlreadyExists, Clock, NodeApplication, NotFound, utc_now
from node.store.idempotency import Idempotency
from node.usecases.case_certificates import certificate_on_conclusion, concluded_issued, paper_exemptions
from node.usecases.case_commands import CaseCommand, Step
from node.usecases.catalogue import CatalogueService
from node.usecases.certificates import CertificateService, Use
from node.usecases.notices import NoticeIssuer

log = structlog.get_logger("tongban.cases")
SAVE_ATTEMPTS = 5
TIMER_OFFICE = "SYSTEM"
TIMER_OPERATOR = "deadline-timer"


class RemoteAnswer(Protocol):
    """Another province's signed answer to 核验, its signature already checked."""

    @property
    def assertion(self) -> dict[str, Any]: ...

    @property
    def signature(self) -> bytes: ...

    @property
    def key_id(self) -> str: ...

    @property
    def holder_matches(self) -> bool: ...


class CasePeers(Protocol):
    """The other provinces' nodes, as the workflow needs them (``federation.client.PeerClients``)."""

    def forward(
        self, writer: str, case_id: str, command: str, arguments: dict[str, Any], office: str, operator: str
    ) -> tuple[int, str]: ...

    def verify(
        self,
        issuer: str,
        identifier: str,
        case_reference: str,
        purpose: str,
        consent_reference: str,
        holder_digest: str,
    ) -> RemoteAnswer: ...


LimitState = DeadlineState | DateOutsideCalendar


@dataclass(frozen=True, slots=True)
class CaseDeadlines:
    """Each limit's state, or the reason it cannot be computed (a year missing from the calendar); None for
    a limit whose clock has not started (the decision limits before acceptance; the notice limit of 第32条
    for a case whose materials have not arrived, or arrived before the rule and not yet met by the timer)."""

    promised: LimitState | None
    statutory: LimitState | None
    notice: LimitState | None = None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    version: int
    at: datetime
    event: str
    province: str | None
    office_code: str | None
    operator_id: str | None
    detail: dict[str, Any]


# BundleCase moved from this module to aggregates/bundle.py: events stored before name it here.
register_topic("node.cases:BundleCase", BundleCase)


class CaseService:
    def __init__(
        self,
        app: NodeApplication,
        *,
        catalogue: CatalogueService,
        certificates: CertificateService,
        calendars: CalendarBook,
        province: str,
        clock: Clock = utc_now,
        rectification_days: int = 15,
        warning_days: int = 3,
        peers: CasePeers | None = None,
        log_signal: LogSignal | None = None,
        replica_wait_s: float = 5.0,
        notices: NoticeIssuer | None = None,
    ) -> None:
        self._app = app
        self._notices = notices  # None: decisions are recorded without written notices (some tests)
        self._peers = peers
        self._log_signal = log_signal or LogSignal()
        self._replica_wait_s = replica_wait_s
        self._catalogue = catalogue
        self._certificates = certificates
        self.calendars = calendars  # the node's own calendar; a reload replaces it
        self.province = province
        self._clock = clock
        self._rectification_days = rectification_days
        self._warning_days = warning_days

    # Filing

    def submit(
        self,
        actor: Actor,
        *,
        item_province: str,
        item_code: str,
        mode: str,
        applicant: dict[str, str],
        parts: dict[str, str] | None = None,
        idempotency: Idempotency | None = None,
    ) -> Case:
        """File a case at the receiving province (this node's), registering the applicant's identity apart.

        A retry with the same Idempotency-Key gets the case the first try filed, never a second one.
        """
        for _ in range(SAVE_ATTEMPTS):
            earlier = idempotency.replayed(self._app) if idempotency else None
            if earlier is not None:
                return self.case(earlier)
            now = self._clock()
            person = Applicant.register(applicant["name"], applicant["id_type"], applicant["id_number"], now)
            case = self.new_case(actor, item_province, item_code, mode, parts or {}, str(person.id), now)
            recorded = [idempotency.record(str(case.id), now)] if idempotency else []
            try:
                self._app.save(case, person, *recorded)
            except IntegrityError:
                continue  # a concurrent try with the same key won: answer with its case
            return case
        raise AlreadyExists("could not file the case: concurrent writes; retry")

    def new_case(
        self,
        actor: Actor,
        item_province: str,
        item_code: str,
        mode: str,
        parts: dict[str, str],
        applicant_id: str,
        now: datetime,
        bundle_id: str | None = None,
    ) -> Case:
        item = self._catalogue.current_item(item_province, item_code)
        definition = item.definition
        unknown = sorted(set(parts) - {p.code for p in definition.joint_parts})
        if unknown:
            raise InvalidField("parts", f"item {item_code} has no part {', '.join(unknown)}")
        return Case.submit(
            case_no=f"{actor.province}{china_date(now):%Y%m%d}{secrets.randbelow(10**8):08d}",
            mode=mode,
            item_province=item_province,
            item=definition,
            item_version=item.version,
            receiving_province=actor.province,
            parts=[Part(p.code, p.name, parts[p.code]) for p in definition.joint_parts if p.code in parts],
            applicant_id=applicant_id,
            actor=actor,
            at=now,
            bundle_id=bundle_id,
        )

    # The workflow: each command loads the case, applies one rule-checked change and saves it

    def run(
        self,
        command: CaseCommand,
        case_id: str,
        actor: Actor,
        request: Idempotency | None = None,
        **arguments: Any,
    ) -> Case:
        """A declared case command (``node/usecases/case_commands.py``): recorded here where this node writes
        the case, else forwarded to the writer when the declaration allows it.

        ``request`` names a command a peer forwarded: recorded with the change, so the peer's retry of it
        (its answer was lost) changes nothing more and gets the case as it is."""
        return command.perform(self, command, case_id, actor, arguments, request)

    def change(
        self,
        command: CaseCommand,
        case_id: str,
        actor: Actor,
        arguments: dict[str, Any],
        step: Step,
        request: Idempotency | None,
    ) -> Case:
        """Record one step where this node writes the case; elsewhere forward the command to the writer
        (when it may be forwarded) and answer with this node's replica once it shows the result."""
        forward = (command.name, arguments) if command.forwardable else None
        return self._change(case_id, step, actor, forward, request)

    @property
    def rectification_days(self) -> int:
        return self._rectification_days

    def statutory_due_on(self, case: Case, at: datetime) -> date | None:
        """The statutory limit's due date as of ``at`` (None before acceptance or outside the calendar)."""
        deadlines = self.deadlines(case, at)
        statutory = deadlines.statutory if deadlines else None
        return statutory.due_on if isinstance(statutory, DeadlineState) else None

    # The workflow: each command loads the case, applies one rule-checked change and saves it

    def record(self, case_id: str, step: Step) -> Case:
        """Record a step of the node's own (a timer, a flag) on a case this node writes."""
        return self._change(case_id, step)

    def _change(
        self,
        case_id: str,
        command: Step,
        actor: Actor | None = None,
        forward: tuple[str, dict[str, Any]] | None = None,
        request: Idempotency | None = None,
    ) -> Case:
        """Apply one change where this node writes the case; elsewhere forward it to the writer (when it
        may be forwarded) and wait for this node's replica."""
        for _ in range(SAVE_ATTEMPTS):
            if request is not None and request.replayed(self._app) is not None:
                return self.case(case_id)
            case = self.case(case_id)
            if not self.writes(case):
                return self._forward(case, actor, forward)
            now = self._clock()
            case = self._step_with_notices(case, command, now)
            recorded = [request.record(case_id, now)] if request else []
            try:
                self._app.save(case, *self._issued_with(case, now), *recorded)
            except IntegrityError:
                continue
            return case
        raise AlreadyExists(f"case {case_id} changed concurrently; retry")

    def _step_with_notices(self, case: Case, step: Step, now: datetime) -> Case:
        """Apply ``step``; when it records a decision that takes a written notice (``NOTICE_FOR``), the
        notices are rendered and signed from the decision's facts and recorded before the step's events,
        all in one record. Before, not after: a refusal or a conclusion hands the case to the receiving
        province (``Case.writer``), and a notice after it would be an event of a case its writer had left.
        The step's events follow as they were recorded, not by running the step again, so what a notice
        states (a number the step drew, say) is what the case records."""
        if self._notices is None:
            step(case, now)
            return case
        before = copy.deepcopy(case)
        step(case, now)
        planned = self._notices.for_step(before, case.pending_events)
        if not planned:
            return case
        for notice in planned:
            before.issue_notice(notice.notice, notice.issuer, now)
        for recorded in case.pending_events:
            fields = {
                key: value
                for key, value in vars(recorded).items()
                if key not in ("originator_id", "originator_version")
            }
            before.trigger_event(type(recorded), **fields)
        return before

    def _issued_with(self, case: Case, now: datetime) -> list[Aggregate]:
        """The certificate a conclusion ISSUED the step recorded issues, saved in the same record
        (``node/usecases/case_certificates.py`` says why). Only the handling province concludes, on its own
        node: the certificate is that province's."""
        actor = concluded_issued(case)
        if actor is None or case.item.certificate is None or case.handling_province != self.province:
            return []
        return certificate_on_conclusion(case, self.applicant(str(case.id)), self._certificates, actor, now)

    def paper_exemptions(self, case: Case, province: str, at: datetime) -> dict[str, str]:
        """The case's materials a valid electronic certificate of ``province`` held by its applicant
        satisfies (一网通办决定 第七条), each with the certificate's identifier. The certificates of this
        node's province only: this node holds no other province's (their holder lists are theirs)."""
        if province != self.province:
            return {}
        try:
            applicant = self.applicant(str(case.id))
        except NotFound:  # a province handling only a part of a joint case: it holds no applicant
            applicant = None
        return paper_exemptions(case, applicant, self._certificates, at)

    def writes(self, case: Case) -> bool:
        """Whether this node records the case's next events. A node without federation holds every case
        alone (one store, one writer); in a federation only the province of ``Case.writer`` does."""
        return self._peers is None or case.writer() == self.province

    def _forward(self, case: Case, actor: Actor | None, forward: tuple[str, dict[str, Any]] | None) -> Case:
        writer = case.writer()
        if forward is None or actor is None or self._peers is None:
            raise IllegalTransition(
                f"case {case.case_no}", f"record that at province {self.province}", f"written by {writer} now"
            )
        command, arguments = forward
        version, _state = self._peers.forward(
            writer, str(case.id), command, arguments, actor.office_code, actor.operator_id
        )
        log.info("case.forwarded_command", case_no=case.case_no, command=command, writer=writer)
        # the writer's event comes back by replication: wait for the log to grow, up to replica_wait_s
        deadline = time.monotonic() + self._replica_wait_s
        while True:
            seen = self._log_signal.generation
            replica = self.case(str(case.id))
            remaining = deadline - time.monotonic()
            if replica.version >= version or remaining <= 0:
                return replica
            self._log_signal.wait_blocking(seen, remaining)

    def attach_material(
        self,
        command: CaseCommand,
        case_id: str,
        actor: Actor,
        arguments: dict[str, Any],
        request: Idempotency | None,
    ) -> Case:
        """Attach a material; a certificate is verified now and the signed answer is kept as evidence.

        A certificate must be the applicant's own: its holder is compared with the applicant's identity. A
        certificate another province issued is verified there (核验, with ``consent_reference`` and
        ``purpose``), and this province records whether it recognises it (证照互认) before attaching it.
        """
        case = self.case(case_id)
        forward = (command.name, arguments)
        if not self.writes(case):
            return self._forward(case, actor, forward)
        material_code = arguments["material_code"]
        certificate_identifier = arguments.get("certificate_identifier")
        if certificate_identifier is not None and not self._certificates.issued_here(certificate_identifier):
            foreign = (material_code, certificate_identifier, arguments.get("purpose"))
            return self._attach_foreign(case, actor, *foreign, arguments.get("consent_reference"), request)
        use = None
        if certificate_identifier is not None:
            use = self.material_use(actor, case, arguments.get("purpose"), arguments.get("consent_reference"))
        attach = self.attachment(
            actor, material_code, case, certificate_identifier, arguments.get("file_digest")
        )
        attached = self._change(case_id, attach, actor, forward, request)
        if use is not None and certificate_identifier is not None:
            self.record_material_use(certificate_identifier, use)
        return attached

    def material_use(
        self, actor: Actor, case: Case, purpose: str | None, consent_reference: str | None
    ) -> Use:
        """A certificate of this province taken as a material is a use of it (用证) in the issuing province:
        it needs the holder's consent, and is checked before anything is written and recorded once the
        material is attached (a certificate the case refuses was not used for it)."""
        if not consent_reference:
            raise InvalidField("consent_reference", "a certificate is used only with the holder's consent")
        use = Use(
            actor, UseChannel.CASE, purpose or f"办理 {case.item.name}", consent_reference, case.case_no
        )
        use.checked(self._clock())
        return use

    def record_material_use(self, certificate_identifier: str, use: Use) -> None:
        self._certificates.record_use(certificate_identifier, use)

    def _attach_foreign(
        self,
        case: Case,
        actor: Actor,
        material_code: str,
        certificate_identifier: str,
        purpose: str | None,
        consent_reference: str | None,
        request: Idempotency | None = None,
    ) -> Case:
        """证照互认: verify at the issuing province, record the decision, attach what is recognised."""
        try:
            parsed = CertificateIdentifier.parse(certificate_identifier)
        except InvalidIdentifier as e:
            raise InvalidField("certificate_identifier", f"{e.part}: {e.message}") from None
        if self._peers is None:
            raise InvalidField("certificate_identifier", "not issued here, and this node has no federation")
        issuing_province = parsed.issuing_province
        if issuing_province is None:
            raise InvalidField(
                "certificate_identifier",
                "not issued here, and a central body's identifier names no province to verify it at",
            )
        if not consent_reference:
            raise InvalidField(
                "consent_reference", "another province's certificate is verified only with consent"
            )
        validate_consent_reference(consent_reference, china_date(self._clock()))
        person = self.applicant(str(case.id))
        answer = None
        try:
            answer = self._peers.verify(
                issuing_province,
                str(parsed),
                case.case_no,
                purpose or f"办理 {case.item.name}",
                consent_reference,
                holder_digest(person.id_type, person.id_number),
            )
            refusal = _recognition_refusal(answer.assertion, answer.holder_matches)
        except (
            RemoteNotFound,
            RemoteConflict,
        ) as e:  # a definite answer: the certificate cannot be relied on
            refusal = str(e)
        verification = (
            {**answer.assertion, "signature": answer.signature.hex(), "key_id": answer.key_id}
            if answer
            else None
        )

        # the decision is this province's, also when another party asked for the attachment
        recogniser = (
            actor if actor.province == self.province else Actor(self.province, "FEDERATION", actor.province)
        )

        def decide(target: Case, at: datetime) -> None:
            target.decide_recognition(
                material_code, str(parsed), issuing_province, verification, refusal, recogniser, at
            )
            if refusal is None:
                target.attach_material(
                    material_code,
                    actor,
                    at,
                    certificate_identifier=str(parsed),
                    certificate_type_code=parsed.type_code,
                    verification=verification,
                    holder_is_applicant=True,
                )

        decided = self._change(str(case.id), decide, request=request)
        if refusal is not None:
            raise InvalidField("certificate_identifier", f"not recognised (decision recorded): {refusal}")
        return decided

    def attachment(
        self,
        actor: Actor,
        material_code: str,
        case: Case,
        certificate_identifier: str | None,
        file_digest: str | None,
    ) -> Callable[[Case, datetime], None]:
        """The attach step for ``case``, with the certificate (if any) verified once, up front."""
        verification = None
        type_code = None
        holder_is_applicant = False
        if certificate_identifier is not None:
            try:
                parsed = CertificateIdentifier.parse(certificate_identifier)
            except InvalidIdentifier as e:
                raise InvalidField("certificate_identifier", f"{e.part}: {e.message}") from None
            certificate_identifier, type_code = str(parsed), parsed.type_code
            signed = self._certificates.verify(certificate_identifier)
            verification = {
                **signed.assertion,
                "signature": signed.signature.hex(),
                "signature_algorithm": signed.algorithm,
                "key_id": signed.key_id,
            }
            holder_is_applicant = signed.assertion["authentic"] and self._holds(
                certificate_identifier, str(case.id)
            )

        def attach(target: Case, at: datetime) -> None:
            target.attach_material(
                material_code,
                actor,
                at,
                certificate_identifier=certificate_identifier,
                certificate_type_code=type_code,
                verification=verification,
                holder_is_applicant=holder_is_applicant,
                file_digest=file_digest,
            )

        return attach

    def _holds(self, certificate_identifier: str, case_id: str) -> bool:
        """Whether the case's applicant holds the certificate (compared here, never copied onto the case)."""
        content = self._certificates.certificate(certificate_identifier).content
        person = self.applicant(case_id)
        if person.id_number == ERASED:  # a forgotten person matches no one
            return False
        return (person.id_type, person.id_number) in content.holders()  # one of several holders, too

    # Reads

    def now(self) -> datetime:
        return self._clock()

    def case(self, case_id: str) -> Case:
        case: Case = load(self._app, case_id, Case, "case")
        return case

    def case_as_of(self, case_id: str, as_of: datetime) -> Case | None:
        version = None
        for stored in self._events(case_id):
            if stored.timestamp > as_of:
                break
            version = stored.originator_version
        if version is None:
            return None
        case: Case = self._app.repository.get(_uuid(case_id), version=version)
        return case

    def applicant(self, case_id: str) -> Applicant:
        case = self.case(case_id)
        if not case.applicant_id:  # a province handling only a part of a joint case never receives it
            raise NotFound(f"the applicant of case {case.case_no} is not held on this node")
        applicant: Applicant = load(self._app, case.applicant_id, Applicant, "applicant")
        return applicant

    def timeline(self, case_id: str) -> list[TimelineEntry]:
        """Every step of the case: when, what, and which province, office and operator did it (责任追溯)."""
        entries = []
        for stored in self._events(case_id):
            detail = {
                key: value
                for key, value in stored.__dict__.items()
                if key not in ("originator_id", "originator_version", "timestamp", "originator_topic", "item")
                and key not in ("province", "office_code", "operator_id")
                and key != "content"  # a notice's text: served as the document (``notice``), not here
            }
            entries.append(
                TimelineEntry(
                    version=stored.originator_version,
                    at=stored.timestamp,
                    event=type(stored).__name__,
                    province=getattr(stored, "province", None),
                    office_code=getattr(stored, "office_code", TIMER_OFFICE),
                    operator_id=getattr(stored, "operator_id", TIMER_OPERATOR),
                    detail=detail,
                )
            )
        return entries

    def notices(self, case_id: str) -> tuple[dict[str, Any], ...]:
        """The written notices issued on the case, in order: kind, number, digest, when, which event."""
        return self.case(case_id).notices

    def notice(self, case_id: str, notice_no: str) -> Case.NoticeIssued:
        """A notice as it was issued: its stored text, digest and signature."""
        case = self.case(case_id)
        for issued in case.notices:
            if issued["notice_no"] == notice_no:
                version = issued["version"]
                [stored] = self._app.events.get(case.id, gt=version - 1, lte=version)
                return cast(Case.NoticeIssued, stored)
        raise NotFound(f"no notice of that number on case {case.case_no}")

    @staticmethod
    def calendar_of(case: Case) -> WorkingCalendar:
        """What the case counts working days with, alike on every node that holds it (``calendar_source``)."""
        return case_calendar(case.recorded_calendar)

    def deadlines(
        self, case: Case, as_of: datetime | None = None, calendar: WorkingCalendar | None = None
    ) -> CaseDeadlines | None:
        """Promised (承诺), statutory (法定) and notice (补正告知, 行政许可法 第32条) deadline states as of an
        instant; None when no clock has started, and once every clock has stopped without a decision (a
        withdrawal)."""
        notice_inputs = notice_limit_inputs(case.notice_facts)
        if (case.accepted_on is None and notice_inputs is None) or case.stopped_on is not None:
            return None
        counted = calendar or self.calendar_of(case)
        today = china_date(as_of or self._clock())
        facts = case.counting_facts

        def state(inputs: DeadlineInputs) -> LimitState:
            try:
                return deadline_state(counted, inputs, today, self._warning_days)
            except DateOutsideCalendar as e:  # never guess: say which year the operator must add
                return e

        def decision(limit: Limit, limit_days: int) -> LimitState | None:
            return None if case.accepted_on is None else state(deadline_inputs(facts, limit, limit_days))

        return CaseDeadlines(
            promised=decision(Limit.PROMISED, case.item.promised_limit_days),
            statutory=decision(Limit.STATUTORY, case.item.statutory_limit_days),
            notice=None if notice_inputs is None else state(notice_inputs),
        )

    def delivery_deadline(
        self, case: Case, as_of: datetime | None = None
    ) -> DeadlineState | DateOutsideCalendar | None:
        """The delivery limit (送达, 行政许可法 第44条: 10 working days from the decision, stopped by the
        delivery) as of an instant, counted with the case's calendar; None when no delivery clock applies
        (no decision, a refusal, or a decision recorded before the clock was kept)."""
        inputs = delivery_inputs(case.delivery_facts)
        if inputs is None:
            return None
        try:
            return deadline_state(
                self.calendar_of(case), inputs, china_date(as_of or self._clock()), self._warning_days
            )
        except DateOutsideCalendar as e:
            return e

    def rectification_deadline(
        self, case: Case, as_of: datetime | None = None
    ) -> DeadlineState | DateOutsideCalendar | None:
        """The rectification of a 差评 (整改), due on the date set at rating, stopped by the office's answer
        or by an upheld appeal (申诉成立); None when the case has no rectification."""
        if case.rectification_due_on is None or case.rated_on is None:
            return None
        closed = case.rectification_closed_on
        try:
            return fixed_deadline_state(
                self.calendar_of(case),
                date.fromisoformat(case.rated_on),
                date.fromisoformat(case.rectification_due_on),
                date.fromisoformat(closed) if closed else None,
                china_date(as_of or self._clock()),
                self._warning_days,
                breach_of(case.breaches, Limit.RECTIFICATION),
            )
        except DateOutsideCalendar as e:
            return e

    def notice_due_on(self, case: Case) -> date | None:
        """The day the notice limit (行政许可法 第32条) falls due while its clock runs, else None."""
        inputs = notice_limit_inputs(case.notice_facts) if case.clock_runs(Limit.NOTICE) else None
        return None if inputs is None else due_date(self.calendar_of(case), inputs)

    # Internals

    def _events(self, case_id: str) -> Iterator[Any]:
        self.case(case_id)
        yield from self._app.events.get(_uuid(case_id))


def _recognition_refusal(assertion: dict[str, Any], holder_matches: bool) -> str | None:
    """Why another province's answer does not let this province rely on the certificate; None: it does."""
    if assertion.get("authentic") is not True:
        return f"not authentic ({assertion.get('problem') or 'unknown problem'})"
    if assertion.get("status") != Status.VALID:
        return f"status {assertion.get('status')}"
    if not holder_matches:
        return "the certificate's holder is not the applicant"
    return None


def _uuid(raw: str, field: str = "case_id") -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise InvalidField(field, "must be a UUID") from None


def load(app: NodeApplication, raw_id: str, kind: type[Aggregate], name: str, field: str = "case_id") -> Any:
    """The aggregate of that id and kind, or NotFound naming what was asked for (never the id's text when
    it is no UUID: InvalidField then)."""
    try:
        found: Aggregate = app.repository.get(_uuid(raw_id, field))
    except AggregateNotFoundError:
        raise NotFound(f"no {name} {raw_id} on this node") from None
    if not isinstance(found, kind):
        raise NotFound(f"no {name} {raw_id} on this node")
    return found
