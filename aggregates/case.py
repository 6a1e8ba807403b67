"""A cross-province case (办件) through its whole lifecycle, for all three 跨省通办 modes.

The receiving province (收件地) receives and forwards; only the handling province (办理地) accepts,
decides and
archives; in a joint case (多地联办) each cooperating province concludes its own part. Every event names the
acting province, office and operator (责任追溯). The applicant appears only as ``applicant_id``: their
identity lives in the Applicant aggregate, apart from the workflow facts.

Dates that the law counts in working days (supplement due dates, rectification due dates) are computed by the
application with the working-day calendar and passed in; the aggregate checks the rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import uuid4

from eventsourcing.domain import Aggregate, event

from aggregates.calendar import YearSchedule
from aggregates.catalogue import NOT_SPECIAL, ItemDefinition, Mode
from aggregates.certificate import Status
from aggregates.clock import china_date
from aggregates.deadline import Breach, DeadlineInputs, Suspension
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.notice import SignedNotice
from aggregates.responsibility import Actor


class State(StrEnum):
    SUBMITTED = "SUBMITTED"  # 申报
    RECEIVED = "RECEIVED"  # 收件
    FORWARDED = "FORWARDED"  # 转办
    ACCEPTED = "ACCEPTED"  # 受理 (and under review)
    REFUSED = "REFUSED"  # 不予受理
    SUPPLEMENT_REQUESTED = "SUPPLEMENT_REQUESTED"  # 补正告知
    SPECIAL_PROCEDURE = "SPECIAL_PROCEDURE"  # 特别程序
    CONCLUDED = "CONCLUDED"  # 办结
    DELIVERED = "DELIVERED"  # 送达
    ARCHIVED = "ARCHIVED"  # 归档
    WITHDRAWN = "WITHDRAWN"  # 撤回申请: the applicant withdrew before the decision


class Result(StrEnum):
    ISSUED = "ISSUED"  # 出证
    RETURNED = "RETURNED"  # 退回
    VOIDED = "VOIDED"  # 作废
    TRANSFERRED_UP = "TRANSFERRED_UP"  # 转报
    SUPPLEMENT_TIMEOUT = "SUPPLEMENT_TIMEOUT"  # 补正超时驳回
    DENIED = "DENIED"  # 不予许可


class Delivery(StrEnum):
    POST = "POST"  # 邮寄
    WINDOW = "WINDOW"  # 窗口领取
    ELECTRONIC = "ELECTRONIC"  # 电子送达


class ReviewStep(StrEnum):
    UNDERTAKE = "UNDERTAKE"  # 承办
    CHECK = "CHECK"  # 审核
    APPROVE = "APPROVE"  # 批准


class Channel(StrEnum):
    ONLINE = "ONLINE"  # 一事一评
    WINDOW = "WINDOW"  # 一次一评


class RatedService(StrEnum):
    """Whose service a rating (好差评) rates: the office that answers for it (谁办理谁负责)."""

    WINDOW = "WINDOW"  # 收件: the receiving window's own service, answered by the receiving province
    HANDLING = "HANDLING"  # 办理: the handling of the case, answered by the handling province


class AppealOutcome(StrEnum):
    """The review (复核) of an appeal (申诉) against a 差评."""

    UPHELD = "UPHELD"  # 申诉成立: the 差评 is set aside and no longer counts against the office
    REJECTED = "REJECTED"  # 申诉不成立: the 差评 stands, and so does its rectification


BAD_SCORES = frozenset({1, 2})  # 差评: 1 非常不满意, 2 不满意 (国办发〔2019〕51号)


class Limit(StrEnum):
    """A case's time limits, each warned of and breached by the writing province's timer."""

    PROMISED = "PROMISED"  # 承诺时限: the office's own commitment, shorter than the law's
    STATUTORY = "STATUTORY"  # 法定时限: the law's (行政许可法 第42条: 20 working days, unless a law says)
    DELIVERY = "DELIVERY"  # 送达: the decision delivered within 10 working days of it (行政许可法 第44条)
    RECTIFICATION = "RECTIFICATION"  # 整改 of a 差评, due on the date set at rating (国办发〔2019〕51号)
    NOTICE = "NOTICE"  # 补正告知时限 (行政许可法 第32条第一款第四项): the one-time notice, before acceptance


class NoticeMethod(StrEnum):
    """How the applicant was told in writing: an extension's reason (第42条), a special procedure's time."""

    POST = "POST"  # 邮寄
    WINDOW = "WINDOW"  # 窗口送达
    ELECTRONIC = "ELECTRONIC"  # 电子送达 (the platform's message, SMS)


DECISION_LIMITS = (Limit.PROMISED, Limit.STATUTORY)  # the clocks that run from acceptance to the decision
# 行政许可法 第44条: the decision is delivered within 10 days of it, counted in working days (第82条).
# Recorded on each Concluded (version 3), so a case counts the limit of the day it was decided.
DELIVERY_LIMIT_DAYS = 10

# 行政许可法 第32条第一款第四项: materials incomplete or not in the legal form are notified to the applicant
# at once or within 5 days, all that must be supplied in ONE notice; without that notice the application
# counts as accepted from the day the materials were received. "5日" is counted in working days with the
# case's calendar, as every limit of the node is (行政许可法 第82条: 本法规定的期限以工作日计算).
NOTICE_LIMIT_DAYS = 5


def _limit(value: str) -> Limit:
    if value not in Limit.__members__:
        raise InvalidField("limit", f"must be one of {', '.join(Limit)}")
    return Limit(value)


# 行政许可法 第42条: with the approval of the head of the administrative organ the decision limit may be
# extended, and the applicant told why. The promised limit is the office's own commitment: the statutory
# extension does not move it.
EXTENSION_MOVES: tuple[Limit, ...] = (Limit.STATUTORY,)
# What an extension recorded before the rule (``Case.Extended`` version 1) moved: both limits. It keeps that
# effect (the cut-over: cases extended before the upgrade count as they did; new extensions follow 第42条).
EXTENSION_MOVED_BEFORE_V2: tuple[Limit, ...] = (Limit.PROMISED, Limit.STATUTORY)


class RefusalGround(StrEnum):
    """Why an application is not accepted (不予受理, 行政许可法 第32条第一款)."""

    NOT_REQUIRED = "NOT_REQUIRED"  # (一) 依法不需要取得行政许可: the applicant is told so at once
    OUTSIDE_COMPETENCE = "OUTSIDE_COMPETENCE"  # (二) 不属于本行政机关职权范围: names the competent agency
    NOT_ELIGIBLE = "NOT_ELIGIBLE"  # 其他不符合受理条件 (e.g. not a matter this item covers)


# The limits the law sets for the remedies a negative decision must name (行政许可法 第38条第二款).
# The node fills them, never the caller, so that every decision states the same law.
RECONSIDERATION_LIMIT_DAYS = 60  # 行政复议法 第二十条: 自知道或者应当知道该行政行为之日起六十日内
RECONSIDERATION_BASIS = "《中华人民共和国行政复议法》第二十条"
LITIGATION_LIMIT_MONTHS = 6  # 行政诉讼法 第四十六条: 自知道或者应当知道作出行政行为之日起六个月内
LITIGATION_BASIS = "《中华人民共和国行政诉讼法》第四十六条"
MAX_ARTICLES = 10


@dataclass(frozen=True)
class Remedies:
    """依法申请行政复议或者提起行政诉讼的权利 (行政许可法 第38条第二款): the body that hears a 行政复议 of the
    decision and the court that hears a 行政诉讼, named by the deciding office (they depend on that
    office: its government or superior department, 行政复议法 第二十四条; the court where it sits,
    行政诉讼法 第十八条, which the item catalogue, one per province, cannot say), with the limits the law
    sets, filled here."""

    reconsideration_body: str
    litigation_court: str

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "reconsideration_body", _text("reconsideration_body", self.reconsideration_body, 200)
        )
        object.__setattr__(self, "litigation_court", _text("litigation_court", self.litigation_court, 200))

    def event_fields(self) -> dict[str, Any]:
        return {
            "reconsideration_body": self.reconsideration_body,
            "reconsideration_limit_days": RECONSIDERATION_LIMIT_DAYS,
            "reconsideration_basis": RECONSIDERATION_BASIS,
            "litigation_court": self.litigation_court,
            "litigation_limit_months": LITIGATION_LIMIT_MONTHS,
            "litigation_basis": LITIGATION_BASIS,
        }


@dataclass(frozen=True)
class ReasonedDecision:
    """A negative decision as 行政许可法 第38条第二款 requires it: 说明理由 (``reason``), the legal basis
    it rests on (``legal_basis``: the articles relied on, as text, at least one) and the ``remedies``."""

    reason: str
    legal_basis: tuple[str, ...]
    remedies: Remedies

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", _text("reason", self.reason))
        if isinstance(self.legal_basis, str) or not 1 <= len(self.legal_basis) <= MAX_ARTICLES:
            raise InvalidField("legal_basis", f"must list 1 to {MAX_ARTICLES} articles relied on")
        object.__setattr__(
            self, "legal_basis", tuple(_text("legal_basis", article, 200) for article in self.legal_basis)
        )

    def event_fields(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "legal_basis": list(self.legal_basis),
            "remedies": self.remedies.event_fields(),
        }


REVIEW_ORDER = tuple(ReviewStep)
DECISIONS = frozenset({Result.ISSUED, Result.DENIED})  # a permission granted or denied needs 批准
BEFORE_ACCEPTANCE = frozenset({State.SUBMITTED, State.RECEIVED, State.FORWARDED})
# where a window elsewhere may hold a case: before acceptance, and during the notice it gave (补正告知)
HELD_BY_WINDOW = BEFORE_ACCEPTANCE | {State.SUPPLEMENT_REQUESTED}
OPEN_STATES = frozenset(
    {*BEFORE_ACCEPTANCE, State.ACCEPTED, State.SUPPLEMENT_REQUESTED, State.SPECIAL_PROCEDURE}
)
ENDED_STATES = frozenset({State.CONCLUDED, State.REFUSED, State.DELIVERED, State.ARCHIVED, State.WITHDRAWN})


def _same_officer(recorded: dict[str, Any], actor: Actor) -> bool:
    """Whether ``actor`` is the officer of a recorded step: the same operator of the same office."""
    return (recorded["province"], recorded["office_code"], recorded["operator_id"]) == (
        actor.province,
        actor.office_code,
        actor.operator_id,
    )


def _text(field: str, value: str, max_length: int = 1000) -> str:
    value = value.strip()
    if not value or len(value) > max_length:
        raise InvalidField(field, f"must be 1 to {max_length} characters")
    return value


_OFFICE_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.-]{0,63}")


@dataclass(frozen=True)
class ExtensionApproval:
    """本行政机关负责人批准 (行政许可法 第42条): the head of the organ who approved an extension, as
    an officer is named on an official act: their staff id or name, their title (职务, e.g. 局长) and
    their office's code. Officers act in public office: these are not a citizen's personal data, and
    nothing else is kept."""

    approver_id: str
    approver_title: str
    approver_office: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "approver_id", _text("approver_id", self.approver_id, 64))
        object.__setattr__(self, "approver_title", _text("approver_title", self.approver_title, 64))
        if not _OFFICE_CODE.fullmatch(self.approver_office):
            raise InvalidField("approver_office", "must be an office code (letters, digits, '-', '_', '.')")

    def event_fields(self) -> dict[str, str]:
        return {
            "approver_id": self.approver_id,
            "approver_title": self.approver_title,
            "approver_office": self.approver_office,
        }


@dataclass(frozen=True)
class WrittenNotice:
    """How and when the applicant was told in writing, and the notice's reference (文书编号), by which the
    notice itself is found: the reason for an extension (延期告知, 行政许可法 第42条), the time a special
    procedure takes (第45条)."""

    method: str
    reference: str
    notified_on: date

    def __post_init__(self) -> None:
        if self.method not in NoticeMethod.__members__:
            raise InvalidField("notice_method", f"must be one of {', '.join(NoticeMethod)}")
        object.__setattr__(self, "reference", _text("notice_reference", self.reference, 128))

    def event_fields(self) -> dict[str, str]:
        return {
            "notice_method": self.method,
            "notice_reference": self.reference,
            "notified_on": self.notified_on.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Part:
    code: str
    name: str
    province: str
    result: str | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> Part:
        return self  # immutable: copies of a case share it


class Case(Aggregate):
    """One application (办件) as filed under one service item."""

    class Submitted(Aggregate.Created):
        """申报. Version 2 added ``notice_clock``: True when the case was filed under 行政许可法 第32条's
        notice limit (a case filed online has its materials from submission, so its notice clock starts here).
        A version 1 event (filed before the rule) says False: the timer starts its clock when it first meets
        the case (``NoticeClockStarted``), never from the old date."""

        class_version = 2

        case_no: str
        mode: str
        item_province: str
        item_code: str
        item_version: int
        item: dict[str, Any]  # the item definition the case was filed under (limits, materials, parts)
        receiving_province: str
        handling_province: str
        parts: list[dict[str, str]]  # joint case: code, name, province of each part
        applicant_id: str  # the Applicant aggregate; never the person's name or ID number
        bundle_id: str | None
        province: str
        office_code: str
        operator_id: str
        notice_clock: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Filed before the notice limit of 第32条 was kept: its clock did not start at submission."""
            state["notice_clock"] = False

    class Received(Aggregate.Event):
        """收件. Version 2 added ``notice_clock``: True when received under 行政许可法 第32条's notice limit,
        which then runs from the receipt. A version 1 event (received before the rule) says False."""

        class_version = 2

        receipt_no: str
        province: str
        office_code: str
        operator_id: str
        notice_clock: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Received before the notice limit of 第32条 was kept: its clock did not start at the receipt."""
            state["notice_clock"] = False

    class Forwarded(Aggregate.Event):
        to_province: str
        province: str
        office_code: str
        operator_id: str

    class MaterialAttached(Aggregate.Event):
        """A material, as a certificate reference (verified when attached) or an uploaded file's digest."""

        material_code: str
        certificate_identifier: str | None
        verification: dict[str, Any] | None  # the signed verification answer kept as evidence
        file_digest: str | None
        province: str
        office_code: str
        operator_id: str

    class Accepted(Aggregate.Event):
        """受理. ``accepted_on`` is the day the complete materials arrived (行政许可法 第32条) for a case that
        arrived under the notice rule (``materials_complete_on``), else the day of the acceptance."""

        acceptance_no: str
        accepted_on: str
        province: str
        office_code: str
        operator_id: str

    class AcceptanceDeemed(Aggregate.Event):
        """视为受理 (行政许可法 第32条第一款第四项): the notice limit passed with no notice and no decision,
        so the application counts as accepted from ``accepted_on``, the day the materials arrived (for a case
        met at the cut-over, the day its notice clock started). ``notice_due_on`` is the notice limit that
        passed. Recorded once, by the timer of the province writing the case; from then the handling province
        writes it, as after a forwarding."""

        accepted_on: str
        notice_due_on: str
        province: str
        office_code: str
        operator_id: str

    class NoticeClockStarted(Aggregate.Event):
        """The cut-over of 行政许可法 第32条's notice limit: a case submitted or received before the rule, and
        still before acceptance and any notice, gets its notice clock from ``started_on``, the day the
        writing province's timer first met it, so that no case is deemed accepted by a limit it never had."""

        started_on: str
        province: str
        office_code: str
        operator_id: str

    class Refused(Aggregate.Event):
        """不予受理 (行政许可法 第32条, 第38条). Version 2 added the ``ground`` (RefusalGround), the
        ``legal_basis``, the ``remedies`` and, for a matter outside the office's competence, the
        ``competent_agency`` the applicant is told to apply to. A version 1 event (round 1 stored them) was
        recorded before the rule: a reason only, the others unknown (None), and it keeps that meaning."""

        class_version = 2

        reason: str
        province: str
        office_code: str
        operator_id: str
        ground: str | None
        legal_basis: list[str] | None
        remedies: dict[str, Any] | None
        competent_agency: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Refused before 第38条 was followed: no ground, basis, remedies or competent agency recorded."""
            for unknown in ("ground", "legal_basis", "remedies", "competent_agency"):
                state[unknown] = None

    class SupplementRequested(Aggregate.Event):
        """补正告知. Version 2 added, for 一次性告知 (行政许可法 第32条第一款第四项): ``defective``, the
        materials named that were on file (the first notice may name them with every missing one),
        ``follows_round``, the round whose supplement a later notice answers (it may name only what that round
        supplied; None for a first notice) and ``notice_due_on``, the notice limit the notice was given within
        (None when no notice clock ran: after acceptance, a later notice, a case under the old rule). A
        version 1 event was recorded before the rule: none of them known (None, no defective named)."""

        class_version = 2

        round: int
        missing: list[str]
        reason: str
        requested_on: str
        due_on: str
        resume_state: str  # the state the case returns to when supplied
        suspends_clock: bool  # after acceptance the legal clock stops until the supplement
        province: str
        office_code: str
        operator_id: str
        defective: list[str]
        follows_round: int | None
        notice_due_on: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """A notice given before 一次性告知 was checked: what it named on file, and why, unrecorded."""
            state["defective"] = []
            state["follows_round"] = None
            state["notice_due_on"] = None

    class SupplementProvided(Aggregate.Event):
        round: int
        provided_on: str
        resume_state: str
        province: str
        office_code: str
        operator_id: str

    class ReviewStepRecorded(Aggregate.Event):
        """审查. Version 2 added ``title``: the role (职务, e.g. 科长) of the officer who recorded the
        step, required for 批准; their office is ``office_code``. A version 1 event (round 1) recorded
        none (None)."""

        class_version = 2

        step: str
        opinion: str
        province: str
        office_code: str
        operator_id: str
        title: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """A step recorded before the rule: the officer's role was not recorded."""
            state["title"] = None

    class SupplementLapsed(Aggregate.Event):
        """The supplement's due date passed without it: recorded once, by the deadline timer, as a fact. It
        decides nothing: it opens the handling office's task to decide, with a reason (before acceptance a
        refusal, 不予受理; after it a SUPPLEMENT_TIMEOUT conclusion), and the case waits for that."""

        round: int
        due_on: str
        lapsed_on: str
        province: str
        office_code: str
        operator_id: str

    class SpecialProcedureStarted(Aggregate.Event):
        """特别程序 (行政许可法 第45条): its time does not count in the decision limit. Version 2 added the
        written notice that told the applicant how long it takes (所需时间书面告知申请人): ``expected_days``
        (working days), ``notice_method``, ``notice_reference``, ``notified_on``, and the ``legal_basis`` the
        case's item gives for the kind. A version 1 event (round 1 stored them) recorded none (None), and its
        kind may be one of :data:`aggregates.catalogue.KINDS_BEFORE_RULE`: it stops the clock as it did."""

        class_version = 2

        kind: str
        reason: str
        started_on: str
        province: str
        office_code: str
        operator_id: str
        expected_days: int | None
        notice_method: str | None
        notice_reference: str | None
        notified_on: str | None
        legal_basis: list[str] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Started before 第45条 was followed: no notice of its time, no basis recorded."""
            for unknown in (
                "expected_days",
                "notice_method",
                "notice_reference",
                "notified_on",
                "legal_basis",
            ):
                state[unknown] = None

    class SpecialProcedureEnded(Aggregate.Event):
        outcome: str
        ended_on: str
        province: str
        office_code: str
        operator_id: str

    class Extended(Aggregate.Event):
        """延期 (行政许可法 第42条). Version 2 added ``limits`` (which limits the days move: STATUTORY only),
        the head who approved it (``approver_id``, ``approver_title``, ``approver_office``) and the notice
        that told the applicant why (``notice_method``, ``notice_reference``, ``notified_on``). A version 1
        event (round 1 stored them) moved both limits and recorded neither: its upcaster says so."""

        class_version = 2

        days: int
        reason: str
        province: str
        office_code: str
        operator_id: str
        limits: list[str]
        approver_id: str | None
        approver_title: str | None
        approver_office: str | None
        notice_method: str | None
        notice_reference: str | None
        notified_on: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Before version 2 an extension moved both limits, and no approval or notice was recorded."""
            state["limits"] = [limit.value for limit in EXTENSION_MOVED_BEFORE_V2]
            for unknown in (
                "approver_id",
                "approver_title",
                "approver_office",
                "notice_method",
                "notice_reference",
                "notified_on",
            ):
                state[unknown] = None

    class PartConcluded(Aggregate.Event):
        part_code: str
        result: str
        province: str
        office_code: str
        operator_id: str

    class Concluded(Aggregate.Event):
        """办结. Version 2 added, for a DENIED result (不予许可, 行政许可法 第38条第二款), the ``reason``, the
        ``legal_basis`` and the ``remedies`` (None for other results); a SUPPLEMENT_TIMEOUT a handler decided
        on a lapsed supplement carries them too (one the timer recorded before that rule: None). A version 1
        event (round 1) was recorded before the rule: none of them (None), whatever its result, and it keeps
        that meaning. Version 3 added ``delivery_limit_days``: the working days the decision must be delivered
        in (行政许可法 第44条, :data:`DELIVERY_LIMIT_DAYS`). A decision recorded before version 3 has None: no
        delivery clock runs for it (the cut-over: decisions left undelivered at the upgrade are not breached
        retroactively)."""

        class_version = 3

        result: str
        concluded_on: str
        province: str
        office_code: str
        operator_id: str
        reason: str | None
        legal_basis: list[str] | None
        remedies: dict[str, Any] | None
        delivery_limit_days: int | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Concluded before 第38条 was followed: no reason, basis or remedies recorded."""
            for unknown in ("reason", "legal_basis", "remedies"):
                state[unknown] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Concluded before the delivery clock (行政许可法 第44条) was kept: none runs for it."""
            state["delivery_limit_days"] = None

    class Delivered(Aggregate.Event):
        method: str
        reference: str
        province: str
        office_code: str
        operator_id: str

    class Archived(Aggregate.Event):
        province: str
        office_code: str
        operator_id: str

    class Rated(Aggregate.Event):
        """好差评. Version 2 added ``service``: whose service was rated (WINDOW or HANDLING), hence which
        province's office answers for it. A version 1 event (round 1 stored them) rated the handling."""

        class_version = 2

        score: int
        channel: str
        comment: str
        rectification_due_on: str | None  # a score of 1-2 opens a rectification (整改)
        province: str
        office_code: str
        operator_id: str
        service: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Before version 2 every rating was the handling province's to answer: it rated the handling."""
            state["service"] = RatedService.HANDLING.value

    class RectificationResponded(Aggregate.Event):
        response: str
        province: str
        office_code: str
        operator_id: str

    class RatingAppealed(Aggregate.Event):
        """申诉: the rated office appeals a 差评. Its fields are those round 1 stored: no upcaster."""

        reason: str
        province: str
        office_code: str
        operator_id: str

    class RatingAppealDecided(Aggregate.Event):
        """复核: the supervising body upheld the appeal (the 差评 is set aside, its rectification closed) or
        rejected it (the 差评 stands, the rectification stays due), with its reason."""

        outcome: str
        reason: str
        province: str
        office_code: str
        operator_id: str

    class RecognitionDecided(Aggregate.Event):
        """证照互认: the province that writes the case recognised another province's certificate, or refused
        it with a reason, on that province's signed verification answer."""

        material_code: str
        certificate_identifier: str
        issuing_province: str
        recognised: bool
        reason: str
        verification: dict[str, Any] | None
        province: str
        office_code: str
        operator_id: str

    class ReliedCertificateChanged(Aggregate.Event):
        """A certificate this case relies on (attached as a material) left VALID: suspended, revoked,
        transferred out... The case is flagged once per certificate and status."""

        certificate_identifier: str
        status: str
        province: str
        office_code: str
        operator_id: str

    class DeadlineWarned(Aggregate.Event):
        """A limit's due date is near (yellow), recorded once per limit by the writing province's timer.
        Version 2 added ``limit`` (a :class:`Limit`): version 1 (round 1) warned of the promised limit only,
        and its upcaster says so."""

        class_version = 2

        due_on: str
        days_left: int
        province: str
        office_code: str
        operator_id: str
        limit: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Before every clock warned, only the promised limit did."""
            state["limit"] = Limit.PROMISED.value

    class DeadlineBreached(Aggregate.Event):
        """A limit's due date passed while its clock ran (red); ``limit`` says which (a :class:`Limit`)."""

        limit: str
        due_on: str
        province: str
        office_code: str
        operator_id: str

    class Withdrawn(Aggregate.Event):
        """撤回申请: the applicant withdrew the application before the decision. The case ends: every clock
        stops, no refusal is recorded."""

        withdrawn_on: str
        reason: str
        province: str
        office_code: str
        operator_id: str

    class DeadlinesRecomputed(Aggregate.Event):
        """A year the case counts through got another schedule (the official notice replacing a provisional
        year), and a due date moved. ``calendar_years`` are the schedules the case counts those years with
        from now on, on every node: year, kind, source, version, holidays and workdays (ISO dates). Each
        ``*_from``/``*_to`` pair is a limit's due date before and after (null while a suspension keeps it
        open)."""

        calendar_years: list[dict[str, Any]]
        promised_from: str | None
        promised_to: str | None
        statutory_from: str | None
        statutory_to: str | None
        province: str
        office_code: str
        operator_id: str

    # Creation

    @classmethod
    def submit(
        cls,
        *,
        case_no: str,
        mode: str,
        item_province: str,
        item: ItemDefinition,
        item_version: int,
        receiving_province: str,
        parts: list[Part],
        applicant_id: str,
        actor: Actor,
        at: datetime,
        bundle_id: str | None = None,
    ) -> Case:
        if mode not in item.modes:
            raise InvalidField("mode", f"item {item.code} may be handled in {', '.join(item.modes)} only")
        if mode == Mode.PROXY and receiving_province == item.handling_province:
            raise InvalidField("mode", "异地代收代办 (PROXY) receives in one province for another")
        if mode == Mode.JOINT:
            if {p.code for p in parts} != {p.code for p in item.joint_parts}:
                raise InvalidField("parts", "a joint case assigns a province to every part of the item")
        elif parts:
            raise InvalidField("parts", "only a joint case (JOINT) has parts")
        if actor.province != receiving_province:
            raise InvalidField("receiving_province", "the case is filed by the receiving province")
        return cls._create(
            cls.Submitted,
            id=uuid4(),
            case_no=case_no,
            mode=mode,
            item_province=item_province,
            item_code=item.code,
            item_version=item_version,
            item=item.as_event_fields(),
            receiving_province=receiving_province,
            handling_province=item.handling_province,
            parts=[{"code": p.code, "name": p.name, "province": p.province} for p in parts],
            applicant_id=applicant_id,
            bundle_id=bundle_id,
            notice_clock=True,
            **actor.event_fields(),
            timestamp=at,
        )

    @event(Submitted)
    def __init__(
        self,
        case_no: str,
        mode: str,
        item_province: str,
        item_code: str,
        item_version: int,
        item: dict[str, Any],
        receiving_province: str,
        handling_province: str,
        parts: list[dict[str, str]],
        applicant_id: str,
        bundle_id: str | None,
        province: str,
        office_code: str,
        operator_id: str,
        notice_clock: bool,
    ) -> None:
        self.case_no = case_no
        self.mode = Mode(mode)
        self.item_province = item_province
        self.item_version = item_version
        self.item = ItemDefinition.from_event_fields(item)
        self.receiving_province = receiving_province
        self.handling_province = handling_province
        self.parts = {p["code"]: Part(p["code"], p["name"], p["province"]) for p in parts}
        self.applicant_id = applicant_id
        self.bundle_id = bundle_id
        self.state = State.SUBMITTED
        self.receipt_no: str | None = None
        self.acceptance_no: str | None = None
        self.accepted_on: str | None = None
        self.forwarded = False
        self.materials: dict[str, dict[str, Any]] = {}
        self.supplement_rounds = 0
        self.open_supplement: dict[str, Any] | None = None
        self.suspensions: list[tuple[str, str | None]] = []  # (start, end) dates; end None while open
        self.review_steps: list[str] = []
        self.extension_days = 0
        self.extended_limits: list[str] = []  # the limits the extension moved (Extended.limits)
        self.extension: dict[str, Any] | None = None  # its approval and notice (延期, 第42条)
        self.result: str | None = None
        self.concluded_on: str | None = None
        self.delivery_limit_days: int | None = None  # 行政许可法 第44条; None: decided before the clock
        self.delivery: str | None = None
        self.delivered_on: str | None = None
        self.rating: int | None = None
        self.rated_service: str | None = None
        self.rating_answered_by: str | None = None  # the province whose office answers the rating
        self.rated_on: str | None = None
        self.rectification_due_on: str | None = None
        self.rectification_responded = False
        self.rectification_closed_on: str | None = None  # answered, or set aside by an upheld appeal
        self.appealed = False
        self.appeal_office: str | None = None  # the office that appealed
        self.appeal_outcome: str | None = None
        self.deadlines_warned: list[str] = []  # the limits warned of (DeadlineWarned)
        self.deadlines_breached: list[str] = []
        self.breaches: dict[str, dict[str, str]] = {}  # limit -> {"due_on", "recorded_on"} (DeadlineBreached)
        self.recognitions: list[dict[str, Any]] = []
        self.certificate_flags: dict[str, str] = {}  # certificate identifier -> status it changed to
        # the schedules its writer recorded for years it counts through (DeadlinesRecomputed), by year
        self.calendar_years: dict[int, YearSchedule] = {}
        self.withdrawn_on: str | None = None
        # the reasoned negative decision (不予受理 or 不予许可, 行政许可法 第38条): reason, ground, legal
        # basis, remedies, competent agency; None fields for one recorded before the rule
        self.decision: dict[str, Any] | None = None
        # each review step (审查) as recorded: step, who (province, office_code, operator_id) and their title
        self.reviews: list[dict[str, Any]] = []
        # the special procedure under way (特别程序, 第45条): kind, start, the notice of its time, its basis
        self.special_procedure: dict[str, Any] | None = None
        self._init_notice_clock(notice_clock)

    def _init_notice_clock(self, notice_clock: bool) -> None:
        # 行政许可法 第32条. The notice clock runs from the day the materials arrived: the submission of a
        # case filed online, else the receipt at the window (or, at the cut-over, NoticeClockStarted).
        self.notice_clock_from: str | None = None
        # the day the notice, the acceptance, a refusal or a withdrawal stopped it
        self.notice_stopped_on: str | None = None
        # the materials arrived (submitted or received) before the rule: the timer starts the clock at the
        # cut-over, and the acceptance keeps the old date (the day of acceptance)
        self.arrived_before_rule = False
        # the day the complete materials arrived (受理之日): the arrival, or the day the supplement completing
        # them was provided; None while a notice waits, and for a case that arrived before the rule
        self.materials_complete_on: str | None = None
        self.acceptance_deemed: dict[str, str] | None = None  # AcceptanceDeemed: accepted_on, notice_due_on
        self.last_supplied: list[str] = []  # what the last supplement provided supplied (一次性告知)
        if self.mode == Mode.FULL_ONLINE:
            self._arrived(china_date(self.created_on).isoformat(), notice_clock)

    def _arrived(self, on: str, notice_clock: bool) -> None:
        """The materials reached the office (submission online, receipt at a window): the notice clock of
        行政许可法 第32条 starts, unless they arrived before the rule (the cut-over starts it)."""
        if notice_clock:
            self.notice_clock_from = on
            self.materials_complete_on = on
        else:
            self.arrived_before_rule = True

    @property
    def counting_facts(self) -> dict[str, Any]:
        """The facts its deadlines are counted from, as :func:`fold_counting` keeps them for a follower,
        with the breaches recorded (:func:`deadline_inputs`)."""
        return {
            "accepted_on": self.accepted_on,
            "suspensions": self.suspensions,
            "extension_days": self.extension_days,
            "extended_limits": self.extended_limits,
            "concluded_on": self.concluded_on,
            "breaches": self.breaches,
        }

    @property
    def delivery_facts(self) -> dict[str, Any]:
        """The facts the delivery limit (行政许可法 第44条) is counted from, as :func:`fold_clock` keeps them
        for a follower (:func:`delivery_inputs`)."""
        return {
            "concluded_on": self.concluded_on,
            "delivery_limit_days": self.delivery_limit_days,
            "delivered_on": self.delivered_on,
            "breaches": self.breaches,
        }

    @property
    def notice_facts(self) -> dict[str, Any]:
        """The facts the notice limit (行政许可法 第32条) is counted from: the day it started, the day it
        stopped (None while it runs) and its recorded breach."""
        return {
            "notice_clock_from": self.notice_clock_from,
            "notice_stopped_on": self.notice_stopped_on,
            "breaches": self.breaches,
        }

    @property
    def recorded_calendar(self) -> tuple[YearSchedule, ...]:
        """The recorded schedules in year order: what this case counts with in place of the baseline."""
        return tuple(self.calendar_years[year] for year in sorted(self.calendar_years))

    # Guards

    def _require(self, allowed: frozenset[State] | set[State], operation: str) -> None:
        if self.state not in allowed:
            raise IllegalTransition(f"case {self.case_no}", operation, self.state.value)

    def _require_province(self, actor: Actor, province: str, who: str) -> None:
        if actor.province != province:
            raise IllegalTransition(
                f"case {self.case_no}",
                f"act as {who} from province {actor.province}",
                f"handled by {province}",
            )

    def is_party(self, province: str) -> bool:
        return province in {
            self.receiving_province,
            self.handling_province,
            *(p.province for p in self.parts.values()),
        }

    def writer(self) -> str:
        """The one province that records the case's next events; every other party forwards its commands.

        The receiving province until it forwards (a case filed online is the handling province's at once);
        the handling province from then on, except that a concluded or refused case goes back to the
        receiving province, which delivers the result where the applicant came (异地代收代办). One writer at
        a time means two provinces never append the same version: replicas cannot diverge.
        """
        return writer_of(
            self.state, self.forwarded, self.mode, self.receiving_province, self.handling_province
        )

    def needs_flag(self, certificate_identifier: str, status: str) -> bool:
        """Whether an open case relying on the certificate has yet to be flagged for its new status."""
        return (
            self.state in OPEN_STATES
            and self.relies_on(certificate_identifier)
            and self.certificate_flags.get(certificate_identifier) != status
            and status != Status.VALID
        )

    @property
    def stopped_on(self) -> str | None:
        """The day every clock of the case stopped without a decision (a withdrawal), or None."""
        return self.withdrawn_on

    def relies_on(self, certificate_identifier: str) -> bool:
        return any(m["certificate_identifier"] == certificate_identifier for m in self.materials.values())

    def missing_materials(self) -> list[str]:
        return [m.code for m in self.item.materials if m.required and m.code not in self.materials]

    # Receiving province (收件地)

    def receive(self, receipt_no: str, actor: Actor, at: datetime) -> None:
        self._require({State.SUBMITTED}, "receive")
        self._require_province(actor, self.receiving_province, "receiving province")
        self._received(
            receipt_no=_text("receipt_no", receipt_no, 64),
            notice_clock=True,
            **actor.event_fields(),
            timestamp=at,
        )

    @event(Received)
    def _received(
        self,
        receipt_no: str,
        province: str,
        office_code: str,
        operator_id: str,
        notice_clock: bool,
        timestamp: datetime,
    ) -> None:
        self.receipt_no = receipt_no
        self.state = State.RECEIVED
        if self.mode != Mode.FULL_ONLINE:  # a case filed online had its materials at submission
            self._arrived(china_date(timestamp).isoformat(), notice_clock)

    def forward(self, actor: Actor, at: datetime) -> None:
        self._require({State.RECEIVED}, "forward")
        self._require_province(actor, self.receiving_province, "receiving province")
        if self.receiving_province == self.handling_province:
            raise IllegalTransition(f"case {self.case_no}", "forward", "received where it is handled")
        self._forwarded(to_province=self.handling_province, **actor.event_fields(), timestamp=at)

    @event(Forwarded)
    def _forwarded(
        self, to_province: str, province: str, office_code: str, operator_id: str, timestamp: datetime
    ) -> None:
        self.forwarded = True
        self.state = State.FORWARDED

    def attach_material(
        self,
        material_code: str,
        actor: Actor,
        at: datetime,
        *,
        certificate_identifier: str | None = None,
        certificate_type_code: str | None = None,
        verification: dict[str, Any] | None = None,
        holder_is_applicant: bool = False,
        file_digest: str | None = None,
    ) -> None:
        """Attach a material as a verified certificate of a type that may replace it, or as a file digest.

        Materials are attached before acceptance, or during a supplement (only those it lists): the evidence a
        decision rests on cannot change under it.
        """
        self._require({*BEFORE_ACCEPTANCE, State.SUPPLEMENT_REQUESTED}, "attach a material to")
        if not self.is_party(actor.province):
            raise IllegalTransition(f"case {self.case_no}", f"attach from {actor.province}", "not a party")
        material = self.item.material(material_code)
        if material is None:
            raise InvalidField("material_code", f"item {self.item.code} asks for no such material")
        if self.open_supplement is not None and material_code not in self.open_supplement["missing"]:
            raise IllegalTransition(
                f"case {self.case_no}", f"attach {material_code}", "in a supplement that does not list it"
            )
        if (certificate_identifier is None) == (file_digest is None):
            raise InvalidField("certificate_identifier", "attach either a certificate or a file digest")
        if certificate_identifier is not None:
            if certificate_type_code not in material.substitutes:
                raise InvalidField(
                    "certificate_identifier", f"this certificate type does not replace {material.name}"
                )
            if (
                not verification
                or verification.get("authentic") is not True
                or verification.get("status") != Status.VALID
            ):
                raise InvalidField(
                    "certificate_identifier", "the certificate did not verify as authentic and valid"
                )
            if not holder_is_applicant:
                raise InvalidField("certificate_identifier", "the certificate's holder is not the applicant")
        self._material_attached(
            material_code=material_code,
            certificate_identifier=certificate_identifier,
            verification=verification,
            file_digest=file_digest,
            **actor.event_fields(),
            timestamp=at,
        )

    @event(MaterialAttached)
    def _material_attached(
        self,
        material_code: str,
        certificate_identifier: str | None,
        verification: dict[str, Any] | None,
        file_digest: str | None,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.materials[material_code] = {
            "certificate_identifier": certificate_identifier,
            "file_digest": file_digest,
            "verified": verification is not None,
        }

    def decide_recognition(
        self,
        material_code: str,
        certificate_identifier: str,
        issuing_province: str,
        verification: dict[str, Any] | None,
        refusal: str | None,
        actor: Actor,
        at: datetime,
    ) -> None:
        """Record whether another province's certificate is recognised for a material (``refusal`` None)
        or refused, and why. A recognised certificate is attached by :meth:`attach_material` next."""
        self._require({*BEFORE_ACCEPTANCE, State.SUPPLEMENT_REQUESTED}, "decide a recognition for")
        self._require_province(actor, self.writer(), "province writing the case")
        if issuing_province == actor.province:
            raise InvalidField("certificate_identifier", "a province's own certificate needs no recognition")
        if self.item.material(material_code) is None:
            raise InvalidField("material_code", f"item {self.item.code} asks for no such material")
        recognised = refusal is None
        if recognised and not (
            verification
            and verification.get("authentic") is True
            and verification.get("status") == Status.VALID
        ):
            raise InvalidField("certificate_identifier", "only an authentic, valid certificate is recognised")
        self._recognition_decided(
            material_code=material_code,
            certificate_identifier=certificate_identifier,
            issuing_province=issuing_province,
            recognised=recognised,
            reason=_text("reason", refusal) if refusal is not None else "",
            verification=verification,
            **actor.event_fields(),
            timestamp=at,
        )

    @event(RecognitionDecided)
    def _recognition_decided(
        self,
        material_code: str,
        certificate_identifier: str,
        issuing_province: str,
        recognised: bool,
        reason: str,
        verification: dict[str, Any] | None,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.recognitions = [
            *self.recognitions,
            {
                "material_code": material_code,
                "certificate_identifier": certificate_identifier,
                "issuing_province": issuing_province,
                "recognised": recognised,
                "reason": reason,
            },
        ]

    def flag_relied_certificate(
        self, certificate_identifier: str, status: str, actor: Actor, at: datetime
    ) -> bool:
        """Flag an open case whose attached certificate left VALID; False when moot or flagged already."""
        if not self.needs_flag(certificate_identifier, status):
            return False
        self._require_province(actor, self.writer(), "province writing the case")
        self._relied_certificate_changed(
            certificate_identifier=certificate_identifier, status=status, **actor.event_fields(), timestamp=at
        )
        return True

    @event(ReliedCertificateChanged)
    def _relied_certificate_changed(
        self,
        certificate_identifier: str,
        status: str,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.certificate_flags = {**self.certificate_flags, certificate_identifier: status}

    # Handling province (办理地): acceptance

    def _acceptable_states(self) -> frozenset[State]:
        """Where the handling province may accept, refuse or ask for a supplement before acceptance."""
        if self.mode == Mode.FULL_ONLINE:
            return BEFORE_ACCEPTANCE  # filed online straight to the handling province
        if self.receiving_province != self.handling_province and not self.forwarded:
            return frozenset()  # a window elsewhere received it: it must be forwarded first
        return frozenset({State.RECEIVED, State.FORWARDED})

    def accept(self, acceptance_no: str, actor: Actor, at: datetime) -> None:
        self._require_province(actor, self.handling_province, "handling province")
        self._require(self._acceptable_states(), "accept")
        missing = self.missing_materials()
        if missing:
            raise IllegalTransition(
                f"case {self.case_no}",
                "accept",
                f"missing materials {', '.join(missing)}: request a supplement",
            )
        # 行政许可法 第32条: accepted from the day the complete materials arrived, not the day of the click
        # (a case that arrived before the rule keeps the day of acceptance)
        self._accepted(
            acceptance_no=_text("acceptance_no", acceptance_no, 64),
            accepted_on=self.materials_complete_on or china_date(at).isoformat(),
            **actor.event_fields(),
            timestamp=at,
        )

    @event(Accepted)
    def _accepted(
        self,
        acceptance_no: str,
        accepted_on: str,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.acceptance_no = acceptance_no
        self.accepted_on = accepted_on
        self.state = State.ACCEPTED
        self._stop_notice_clock(china_date(timestamp))

    def _stop_notice_clock(self, on: date) -> None:
        """The notice, an acceptance, a refusal or a withdrawal stops the notice clock (第32条), once."""
        if self.notice_clock_from is not None and self.notice_stopped_on is None:
            self.notice_stopped_on = on.isoformat()

    # The notice limit (行政许可法 第32条第一款第四项)

    def needs_notice_clock(self) -> bool:
        """Whether the case arrived before the notice rule and waits, before acceptance and any notice, for
        the cut-over to start its notice clock (:meth:`start_notice_clock`)."""
        return (
            self.state in BEFORE_ACCEPTANCE
            and self.arrived_before_rule
            and self.notice_clock_from is None
            and self.supplement_rounds == 0
        )

    def start_notice_clock(self, actor: Actor, at: datetime) -> bool:
        """The cut-over: start the notice clock of a case that arrived before the rule, from today, once;
        False when it needs none. The writing province's timer records it, so every replica agrees."""
        if not self.needs_notice_clock():
            return False
        self._require_province(actor, self.writer(), "writer")
        self._notice_clock_started(
            started_on=china_date(at).isoformat(), **actor.event_fields(), timestamp=at
        )
        return True

    @event(NoticeClockStarted)
    def _notice_clock_started(
        self, started_on: str, province: str, office_code: str, operator_id: str, timestamp: datetime
    ) -> None:
        self.notice_clock_from = started_on

    def deem_accepted(self, notice_due_on: date, actor: Actor, at: datetime) -> None:
        """视为受理 (行政许可法 第32条第一款第四项): the notice limit ``notice_due_on`` passed with no notice
        and no decision, so the application counts as accepted from the day its materials arrived (for a case
        met at the cut-over, the day its clock started). Recorded once, by the writing province's timer.
        A window that still holds a PROXY case un-forwarded hands it over with this: the handling province
        writes it from now on, as after a forwarding."""
        if not self.clock_runs(Limit.NOTICE):
            raise IllegalTransition(f"case {self.case_no}", "deem accepted", "no notice limit runs")
        self._require_province(actor, self.writer(), "writer")
        if china_date(at) <= notice_due_on:
            raise IllegalTransition(
                f"case {self.case_no}", "deem accepted", f"notice due {notice_due_on.isoformat()}"
            )
        assert self.notice_clock_from is not None  # noqa: S101 - set whenever the notice clock runs
        self._acceptance_deemed(
            accepted_on=self.notice_clock_from,
            notice_due_on=notice_due_on.isoformat(),
            **actor.event_fields(),
            timestamp=at,
        )

    @event(AcceptanceDeemed)
    def _acceptance_deemed(
        self,
        accepted_on: str,
        notice_due_on: str,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.accepted_on = accepted_on
        self.state = State.ACCEPTED
        self.acceptance_deemed = {"accepted_on": accepted_on, "notice_due_on": notice_due_on}
        self._stop_notice_clock(china_date(timestamp))
        self._hand_over()

    def _hand_over(self) -> None:
        """A case a window still held goes to the handling province (writer_of), as a forwarding does."""
        if self.mode != Mode.FULL_ONLINE and self.receiving_province != self.handling_province:
            self.forwarded = True

    def refuse(
        self,
        ground: str,
        decision: ReasonedDecision,
        competent_agency: str | None,
        actor: Actor,
        at: datetime,
    ) -> None:
        """不予受理 (行政许可法 第32条第一款), as a reasoned decision (第38条第二款: reason, legal basis and
        the remedies). For a matter outside the office's competence (第32条第一款第二项) the decision names
        the ``competent_agency`` the applicant is told to apply to; any other ground names none."""
        self._require_province(actor, self.handling_province, "handling province")
        self._require(self._acceptable_states() | {State.SUPPLEMENT_REQUESTED}, "refuse")
        if self.accepted_on is not None:
            raise IllegalTransition(f"case {self.case_no}", "refuse", "accepted already: conclude instead")
        if ground not in RefusalGround.__members__:
            raise InvalidField("ground", f"must be one of {', '.join(RefusalGround)}")
        if ground == RefusalGround.OUTSIDE_COMPETENCE:
            if competent_agency is None:
                raise InvalidField(
                    "competent_agency", "must name the competent agency (行政许可法 第32条第一款第二项)"
                )
            competent_agency = _text("competent_agency", competent_agency, 200)
        elif competent_agency is not None:
            raise InvalidField(
                "competent_agency", "is named only for a matter outside this office's competence"
            )
        fields: dict[str, Any] = decision.event_fields() | actor.event_fields()
        self._refused(ground=ground, competent_agency=competent_agency, **fields, timestamp=at)

    @event(Refused)
    def _refused(
        self,
        reason: str,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
        ground: str | None,
        legal_basis: list[str] | None,
        remedies: dict[str, Any] | None,
        competent_agency: str | None,
    ) -> None:
        self.state = State.REFUSED
        self.open_supplement = None
        self._stop_notice_clock(china_date(timestamp))
        self.decision = {
            "kind": "REFUSED",
            "reason": reason,
            "ground": ground,
            "legal_basis": legal_basis,
            "remedies": remedies,
            "competent_agency": competent_agency,
        }

    def withdraw(self, reason: str, actor: Actor, at: datetime) -> None:
        """撤回申请, at any time before the decision, through the province that received the application."""
        self._require(OPEN_STATES, "withdraw")
        self._require_province(actor, self.receiving_province, "receiving province")
        self._withdrawn(
            withdrawn_on=china_date(at).isoformat(),
            reason=_text("reason", reason),
            **actor.event_fields(),
            timestamp=at,
        )

    @event(Withdrawn)
    def _withdrawn(
        self,
        withdrawn_on: str,
        reason: str,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.state = State.WITHDRAWN
        self.withdrawn_on = withdrawn_on
        self.open_supplement = None
        self._stop_notice_clock(china_date(timestamp))

    # Supplement (补正)

    def request_supplement(
        self,
        missing: list[str],
        reason: str,
        due_on: date,
        actor: Actor,
        at: datetime,
        notice_due_on: date | None = None,
        exempt: dict[str, str] | None = None,
    ) -> None:
        """补正告知, 一次性告知 (行政许可法 第32条第一款第四项): the first notice lists ALL missing materials
        and may name materials on file that are defective; a later one names only what the last supplement
        supplied (it got them wrong anew). While the notice limit runs the notice is given by
        ``notice_due_on`` (the use case counts it), never after. The handling province notifies; in PROXY
        the receiving window too, while it holds the case (形式审查 at the 收件地). After acceptance the clock
        stops meanwhile.

        ``exempt``: the materials a valid electronic certificate of this province held by the applicant
        satisfies, each with that certificate's identifier (the use case finds them). Such a material is not
        demanded on paper (上海市"一网通办"决定 第七条: 免于提交实体证照): naming one is refused, and the
        notice need not list it (the office takes the certificate instead)."""
        self._require_notifier(actor)
        exempt = exempt or {}
        if not missing or len(set(missing)) != len(missing):
            raise InvalidField("missing", "list each missing material once")
        unknown = [code for code in missing if self.item.material(code) is None]
        if unknown:
            raise InvalidField(
                "missing", f"item {self.item.code} asks for no such material ({len(unknown)} named)"
            )
        certificates = sorted({exempt[code] for code in missing if code in exempt})
        if certificates:
            raise InvalidField(
                "missing",
                "免于提交实体证照 (上海市“一网通办”决定 第七条): the applicant's valid electronic "
                f"certificate {', '.join(certificates)} of this province satisfies a material named; it "
                "cannot be demanded on paper: attach the certificate instead",
            )
        unlisted = [code for code in self.missing_materials() if code not in missing and code not in exempt]
        if unlisted:
            raise InvalidField(
                "missing", f"one notice must list ALL missing materials; also missing: {', '.join(unlisted)}"
            )
        follows_round = self.supplement_rounds or None
        if follows_round is not None:
            not_supplied = [code for code in missing if code not in self.last_supplied]
            if not_supplied:
                raise InvalidField(
                    "missing",
                    f"一次性告知 (行政许可法 第32条): a later notice names only what round {follows_round} "
                    f"supplied ({', '.join(self.last_supplied) or 'nothing'}); {len(not_supplied)} named "
                    "were not supplied then",
                )
        requested_on = china_date(at)
        timed = self.clock_runs(Limit.NOTICE)
        if timed:
            if notice_due_on is None:
                raise InvalidField(
                    "notice_due_on", "the notice limit (行政许可法 第32条) runs: give its due date"
                )
            if requested_on > notice_due_on:
                raise IllegalTransition(
                    f"case {self.case_no}",
                    "give the supplement notice",
                    f"the notice limit (行政许可法 第32条, {NOTICE_LIMIT_DAYS} working days) passed on "
                    f"{notice_due_on.isoformat()}: the application counts as accepted from the day its "
                    "materials arrived",
                )
        if due_on <= requested_on:
            raise InvalidField("due_on", "the supplement must be due after the day of the notice")
        self._supplement_requested(
            round=self.supplement_rounds + 1,
            missing=list(missing),
            reason=_text("reason", reason),
            requested_on=requested_on.isoformat(),
            due_on=due_on.isoformat(),
            resume_state=self.state.value,
            suspends_clock=self.accepted_on is not None and self.item.clock_stops.supplement_stops_clock,
            defective=[code for code in missing if code in self.materials],
            follows_round=follows_round,
            notice_due_on=notice_due_on.isoformat() if timed and notice_due_on is not None else None,
            **actor.event_fields(),
            timestamp=at,
        )

    def _require_notifier(self, actor: Actor) -> None:
        """Who gives a supplement notice: the handling province where it may accept (or has accepted), or,
        for a case received at a window elsewhere, that window while it holds the case un-forwarded."""
        if (
            actor.province == self.receiving_province != self.handling_province
            and self.mode != Mode.FULL_ONLINE
        ):
            self._require({State.RECEIVED}, "request a supplement at the receiving window for")
            return
        self._require_province(actor, self.handling_province, "handling province")
        self._require(self._acceptable_states() | {State.ACCEPTED}, "request a supplement for")

    @event(SupplementRequested)
    def _supplement_requested(
        self,
        round: int,
        missing: list[str],
        reason: str,
        requested_on: str,
        due_on: str,
        resume_state: str,
        suspends_clock: bool,
        province: str,
        office_code: str,
        operator_id: str,
        defective: list[str],
        follows_round: int | None,
        notice_due_on: str | None,
        timestamp: datetime,
    ) -> None:
        self.supplement_rounds = round
        self.open_supplement = {
            "round": round,
            "missing": missing,
            "due_on": due_on,
            "resume_state": resume_state,
        }
        # a material named missing is no longer on file: the supplement replaces it
        self.materials = {code: m for code, m in self.materials.items() if code not in missing}
        self.state = State.SUPPLEMENT_REQUESTED
        self.suspensions = [*self.suspensions, (requested_on, None)] if suspends_clock else self.suspensions
        if self.accepted_on is None:  # the materials are not complete: the notice stops the notice clock
            self.materials_complete_on = None
            self._stop_notice_clock(date.fromisoformat(requested_on))

    def provide_supplement(self, actor: Actor, at: datetime) -> None:
        self._require({State.SUPPLEMENT_REQUESTED}, "provide a supplement for")
        if not self.is_party(actor.province):
            raise IllegalTransition(
                f"case {self.case_no}", f"supplement from {actor.province}", "not a party"
            )
        assert self.open_supplement is not None  # noqa: S101 - set whenever the state is SUPPLEMENT_REQUESTED
        if self.open_supplement.get("lapsed_on") is not None:
            raise IllegalTransition(
                f"case {self.case_no}",
                "supply late",
                f"the supplement lapsed on {self.open_supplement['lapsed_on']}: the handling office decides",
            )
        if china_date(at) > date.fromisoformat(self.open_supplement["due_on"]):
            raise IllegalTransition(
                f"case {self.case_no}",
                "supply late",
                f"the supplement was due {self.open_supplement['due_on']}",
            )
        still = [code for code in self.open_supplement["missing"] if code not in self.materials]
        if still:
            raise IllegalTransition(
                f"case {self.case_no}", "complete the supplement", f"still missing {', '.join(still)}"
            )
        self._supplement_provided(
            round=self.open_supplement["round"],
            provided_on=china_date(at).isoformat(),
            resume_state=self.open_supplement["resume_state"],
            **actor.event_fields(),
            timestamp=at,
        )

    @event(SupplementProvided)
    def _supplement_provided(
        self,
        round: int,
        provided_on: str,
        resume_state: str,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        assert self.open_supplement is not None  # noqa: S101 - provided only while a supplement is open
        self.last_supplied = list(self.open_supplement["missing"])
        self.open_supplement = None
        self.state = State(resume_state)
        self.suspensions = _closed(self.suspensions, provided_on)
        if self.accepted_on is None and not self.arrived_before_rule:
            self.materials_complete_on = provided_on  # 第32条: complete from the day the supplement came

    def lapse_supplement(self, actor: Actor, at: datetime) -> bool:
        """The supplement's due date has passed: record it once (False when recorded already). The timer
        records the fact, in the writing province's name; it decides nothing. A lapsed notice the receiving
        window gave goes with it to the handling province. The case waits for the handling
        office's reasoned decision: :meth:`refuse` before acceptance, :meth:`conclude` with
        SUPPLEMENT_TIMEOUT after it (行政许可法 第38条)."""
        self._require({State.SUPPLEMENT_REQUESTED}, "record the lapse of the supplement of")
        self._require_province(actor, self.writer(), "writer")
        assert self.open_supplement is not None  # noqa: S101 - set whenever the state is SUPPLEMENT_REQUESTED
        if self.open_supplement.get("lapsed_on") is not None:
            return False
        due_on = self.open_supplement["due_on"]
        if china_date(at) <= date.fromisoformat(due_on):
            raise IllegalTransition(f"case {self.case_no}", "record a lapse", f"supplement due {due_on}")
        self._supplement_lapsed(
            round=self.open_supplement["round"],
            due_on=due_on,
            lapsed_on=china_date(at).isoformat(),
            **actor.event_fields(),
            timestamp=at,
        )
        return True

    @event(SupplementLapsed)
    def _supplement_lapsed(
        self,
        round: int,
        due_on: str,
        lapsed_on: str,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.open_supplement = {**(self.open_supplement or {}), "lapsed_on": lapsed_on}
        # a receiving window's notice that lapsed goes to the handling province, which decides on it (第32条)
        self._hand_over()

    @property
    def open_task(self) -> dict[str, Any] | None:
        """What waits for a person of the handling office: after a supplement lapsed, the decision on it
        (REFUSE before acceptance, CONCLUDE with SUPPLEMENT_TIMEOUT after). None: nothing."""
        supplement = self.open_supplement
        if self.state != State.SUPPLEMENT_REQUESTED or supplement is None or "lapsed_on" not in supplement:
            return None
        return {
            "kind": "DECIDE_SUPPLEMENT_TIMEOUT",
            "office_province": self.handling_province,
            "decision": "CONCLUDE" if self.accepted_on is not None else "REFUSE",
            "round": supplement["round"],
            "due_on": supplement["due_on"],
            "lapsed_on": supplement["lapsed_on"],
        }

    # Review, special procedure, extension

    def record_review(
        self, step: str, opinion: str, actor: Actor, at: datetime, title: str | None = None
    ) -> None:
        """承办 → 审核 → 批准, in that order, each by the officer recording it, with their role (``title``,
        职务). 批准 (APPROVE) names the approver's role and is recorded by another person than the one who
        recorded 承办 (UNDERTAKE): separation of duties, so that no officer decides alone."""
        self._require_province(actor, self.handling_province, "handling province")
        self._require({State.ACCEPTED}, "review")
        if step not in ReviewStep.__members__:
            raise InvalidField("step", f"must be one of {', '.join(ReviewStep)}")
        expected = (
            REVIEW_ORDER[len(self.review_steps)] if len(self.review_steps) < len(REVIEW_ORDER) else None
        )
        if step != expected:
            raise IllegalTransition(
                f"case {self.case_no}", f"record {step}", f"next review step is {expected}"
            )
        if title is not None:
            title = _text("title", title, 64)
        if step == ReviewStep.APPROVE:
            if title is None:
                raise InvalidField("title", "批准 names the approver's role (职务)")
            undertaker = next(r for r in self.reviews if r["step"] == ReviewStep.UNDERTAKE.value)
            if _same_officer(undertaker, actor):
                raise IllegalTransition(
                    f"case {self.case_no}", "record APPROVE", "批准 must be by another officer than 承办"
                )
        self._review_step_recorded(
            step=step, opinion=_text("opinion", opinion), title=title, **actor.event_fields(), timestamp=at
        )

    @event(ReviewStepRecorded)
    def _review_step_recorded(
        self,
        step: str,
        opinion: str,
        province: str,
        office_code: str,
        operator_id: str,
        title: str | None,
        timestamp: datetime,
    ) -> None:
        self.review_steps.append(step)
        self.reviews = [
            *self.reviews,
            {
                "step": step,
                "province": province,
                "office_code": office_code,
                "operator_id": operator_id,
                "title": title,
            },
        ]

    def start_special_procedure(
        self,
        kind: str,
        reason: str,
        expected_days: int,
        notice: WrittenNotice,
        actor: Actor,
        at: datetime,
    ) -> None:
        """特别程序 (行政许可法 第45条): a kind the case's item lets stop its clock (第45条's eight unless the
        item narrows them or names another law), with the written notice that told the applicant how long it
        takes (``expected_days`` working days; ``notice``, given on or after acceptance and not after today).
        现场核查 (INSPECTION) is part of the review (第34条) and stops no clock."""
        self._require_province(actor, self.handling_province, "handling province")
        self._require({State.ACCEPTED}, "start a special procedure for")
        stops = self.item.clock_stops
        if kind in NOT_SPECIAL and not stops.before_rule:
            raise InvalidField("kind", NOT_SPECIAL[kind])
        stop = stops.stop(kind)
        if stop is None:
            allowed = ", ".join(s.kind for s in stops.special_procedures) or "none"
            raise InvalidField("kind", f"item {self.item.code} lets only these stop its clock: {allowed}")
        if (
            isinstance(expected_days, bool)
            or not isinstance(expected_days, int)
            or not 1 <= expected_days <= 3650
        ):
            raise InvalidField("expected_days", "must be a whole number of working days from 1 to 3650")
        if self.accepted_on is not None and notice.notified_on < date.fromisoformat(self.accepted_on):
            raise InvalidField("notified_on", "must not be before the case was accepted")
        if notice.notified_on > china_date(at):
            raise InvalidField("notified_on", "must not be after today: record the notice once it is given")
        self._special_procedure_started(
            kind=kind,
            reason=_text("reason", reason),
            started_on=china_date(at).isoformat(),
            expected_days=expected_days,
            legal_basis=None if stop.legal_basis is None else list(stop.legal_basis),
            **notice.event_fields(),
            **actor.event_fields(),
            timestamp=at,
        )

    @event(SpecialProcedureStarted)
    def _special_procedure_started(
        self,
        kind: str,
        reason: str,
        started_on: str,
        province: str,
        office_code: str,
        operator_id: str,
        expected_days: int | None,
        notice_method: str | None,
        notice_reference: str | None,
        notified_on: str | None,
        legal_basis: list[str] | None,
        timestamp: datetime,
    ) -> None:
        self.state = State.SPECIAL_PROCEDURE
        self.suspensions = [*self.suspensions, (started_on, None)]
        self.special_procedure = {
            "kind": kind,
            "started_on": started_on,
            "expected_days": expected_days,
            "notice_method": notice_method,
            "notice_reference": notice_reference,
            "notified_on": notified_on,
            "legal_basis": legal_basis,
        }

    def end_special_procedure(self, outcome: str, actor: Actor, at: datetime) -> None:
        self._require_province(actor, self.handling_province, "handling province")
        self._require({State.SPECIAL_PROCEDURE}, "end a special procedure of")
        self._special_procedure_ended(
            outcome=_text("outcome", outcome),
            ended_on=china_date(at).isoformat(),
            **actor.event_fields(),
            timestamp=at,
        )

    @event(SpecialProcedureEnded)
    def _special_procedure_ended(
        self,
        outcome: str,
        ended_on: str,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.state = State.ACCEPTED
        self.suspensions = _closed(self.suspensions, ended_on)
        self.special_procedure = None

    def extend(
        self,
        days: int,
        reason: str,
        due_on: date | None,
        approval: ExtensionApproval,
        notice: WrittenNotice,
        actor: Actor,
        at: datetime,
    ) -> None:
        """延期 (行政许可法 第42条): at most once, with a reason, up to the item's extension limit, and before
        the statutory deadline ``due_on`` has passed (an extension cannot hide a breach). It needs the
        approval of the head of the organ (``approval``) and the notice that told the applicant the reason
        (``notice``, given on or after acceptance and not after today). It moves the statutory limit only:
        the promised limit (承诺时限) is the office's own commitment."""
        self._require_province(actor, self.handling_province, "handling province")
        self._require({State.ACCEPTED}, "extend")
        if self.extension_days:
            raise IllegalTransition(f"case {self.case_no}", "extend", "already extended once")
        if due_on is not None and china_date(at) > due_on:
            raise IllegalTransition(f"case {self.case_no}", "extend", f"overdue since {due_on.isoformat()}")
        if isinstance(days, bool) or not 1 <= days <= self.item.extension_days:
            raise InvalidField("days", f"must be 1 to {self.item.extension_days} working days for this item")
        reason = _text("reason", reason)
        fields = approval.event_fields() | notice.event_fields()
        notified_on = notice.notified_on
        if self.accepted_on is not None and notified_on < date.fromisoformat(self.accepted_on):
            raise InvalidField("notified_on", "must not be before the case was accepted")
        if notified_on > china_date(at):
            raise InvalidField("notified_on", "must not be after today: record the notice once it is given")
        self._extended(
            days=days,
            reason=reason,
            limits=[limit.value for limit in EXTENSION_MOVES],
            **fields,
            **actor.event_fields(),
            timestamp=at,
        )

    @event(Extended)
    def _extended(
        self,
        days: int,
        reason: str,
        limits: list[str],
        approver_id: str | None,
        approver_title: str | None,
        approver_office: str | None,
        notice_method: str | None,
        notice_reference: str | None,
        notified_on: str | None,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.extension_days = days
        self.extended_limits = list(limits)
        self.extension = {
            "days": days,
            "limits": list(limits),
            "approver_id": approver_id,
            "approver_title": approver_title,
            "approver_office": approver_office,
            "notice_method": notice_method,
            "notice_reference": notice_reference,
            "notified_on": notified_on,
        }

    # Conclusion, delivery, archive

    def conclude_part(self, part_code: str, result: str, actor: Actor, at: datetime) -> None:
        self._require({State.ACCEPTED}, "conclude a part of")
        part = self.parts.get(part_code)
        if part is None:
            raise InvalidField("part_code", f"case {self.case_no} has no such part")
        self._require_province(actor, part.province, f"province of part {part_code}")
        if part.result is not None:
            raise IllegalTransition(
                f"case {self.case_no}", f"conclude part {part_code}", f"concluded {part.result}"
            )
        self._check_result(result)
        self._part_concluded(part_code=part_code, result=result, **actor.event_fields(), timestamp=at)

    @event(PartConcluded)
    def _part_concluded(
        self,
        part_code: str,
        result: str,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        part = self.parts[part_code]
        self.parts[part_code] = Part(part.code, part.name, part.province, result)

    @staticmethod
    def _check_result(result: str) -> None:
        if result not in Result.__members__ or result == Result.SUPPLEMENT_TIMEOUT:
            choices = ", ".join(r for r in Result if r is not Result.SUPPLEMENT_TIMEOUT)
            raise InvalidField(
                "result", f"must be one of {choices} (SUPPLEMENT_TIMEOUT concludes a whole case)"
            )

    def conclude(
        self, result: str, actor: Actor, at: datetime, decision: ReasonedDecision | None = None
    ) -> None:
        """办结. A DENIED result (不予许可) is a reasoned decision (行政许可法 第38条第二款): ``decision``
        gives its reason, legal basis and remedies; so is SUPPLEMENT_TIMEOUT (补正超时驳回), which a handler
        decides once the supplement asked for after acceptance lapsed (:meth:`lapse_supplement`); any other
        result carries none."""
        self._require_province(actor, self.handling_province, "handling province")
        if result == Result.SUPPLEMENT_TIMEOUT:
            self._conclude_supplement_timeout(actor, at, decision)
            return
        self._require({State.ACCEPTED}, "conclude")
        self._check_result(result)
        if result == Result.DENIED and decision is None:
            raise InvalidField(
                "reason", "不予许可 states its reason, legal basis and remedies (行政许可法 第38条)"
            )
        if result != Result.DENIED and decision is not None:
            raise InvalidField(
                "reason", "only a DENIED conclusion carries a reason, legal basis and remedies"
            )
        open_parts = [code for code, part in self.parts.items() if part.result is None]
        if open_parts:
            raise IllegalTransition(
                f"case {self.case_no}", "conclude", f"parts still open: {', '.join(open_parts)}"
            )
        if result in DECISIONS and ReviewStep.APPROVE.value not in self.review_steps:
            raise IllegalTransition(
                f"case {self.case_no}", f"decide {result}", "not approved (批准) in review"
            )
        if result == Result.ISSUED and any(part.result != Result.ISSUED for part in self.parts.values()):
            raise IllegalTransition(f"case {self.case_no}", "issue", "a part did not conclude ISSUED")
        fields: dict[str, Any] = (
            decision.event_fields()
            if decision is not None
            else {"reason": None, "legal_basis": None, "remedies": None}
        )
        self._concluded(
            result=result,
            concluded_on=china_date(at).isoformat(),
            delivery_limit_days=DELIVERY_LIMIT_DAYS,
            **(fields | actor.event_fields()),
            timestamp=at,
        )

    def _conclude_supplement_timeout(
        self, actor: Actor, at: datetime, decision: ReasonedDecision | None
    ) -> None:
        """补正超时驳回 after acceptance: by a handler, with a reason, once the supplement lapsed."""
        self._require({State.SUPPLEMENT_REQUESTED}, "conclude a supplement timeout of")
        if self.open_task is None:
            raise IllegalTransition(
                f"case {self.case_no}", "conclude SUPPLEMENT_TIMEOUT", "the supplement has not lapsed"
            )
        if self.accepted_on is None:
            raise IllegalTransition(
                f"case {self.case_no}", "conclude SUPPLEMENT_TIMEOUT", "not accepted: refuse instead"
            )
        if decision is None:
            raise InvalidField(
                "reason", "补正超时驳回 states its reason, legal basis and remedies (行政许可法 第38条)"
            )
        self._concluded(
            result=Result.SUPPLEMENT_TIMEOUT.value,
            concluded_on=china_date(at).isoformat(),
            delivery_limit_days=DELIVERY_LIMIT_DAYS,
            **(decision.event_fields() | actor.event_fields()),
            timestamp=at,
        )

    @event(Concluded)
    def _concluded(
        self,
        result: str,
        concluded_on: str,
        province: str,
        office_code: str,
        operator_id: str,
        reason: str | None,
        legal_basis: list[str] | None,
        remedies: dict[str, Any] | None,
        delivery_limit_days: int | None,
        timestamp: datetime,
    ) -> None:
        if result == Result.DENIED or (result == Result.SUPPLEMENT_TIMEOUT and reason is not None):
            self.decision = {
                "kind": result,
                "reason": reason,
                "ground": None,
                "legal_basis": legal_basis,
                "remedies": remedies,
                "competent_agency": None,
            }
        self.result = result
        self.concluded_on = concluded_on
        self.delivery_limit_days = delivery_limit_days
        self.open_supplement = None
        self.state = State.CONCLUDED
        self.suspensions = _closed(self.suspensions, concluded_on)

    def deliver(self, method: str, reference: str, actor: Actor, at: datetime) -> None:
        """送达. An item of a 一件事 is delivered only with its bundle (:meth:`deliver_with_bundle`)."""
        if self.bundle_id is not None:
            raise IllegalTransition(
                f"case {self.case_no}",
                "deliver",
                f"an item of 一件事 {self.bundle_id}: delivered with its bundle",
            )
        self._deliver(method, reference, actor, at)

    def deliver_with_bundle(
        self, bundle_id: str, method: str, reference: str, actor: Actor, at: datetime
    ) -> None:
        """送达 of an item of a 一件事, in its bundle's one combined delivery."""
        if self.bundle_id != bundle_id:
            raise IllegalTransition(
                f"case {self.case_no}", f"deliver with 一件事 {bundle_id}", "no item of it"
            )
        self._deliver(method, reference, actor, at)

    def _deliver(self, method: str, reference: str, actor: Actor, at: datetime) -> None:
        self._require({State.CONCLUDED, State.REFUSED}, "deliver")
        if actor.province not in (self.receiving_province, self.handling_province):
            raise IllegalTransition(
                f"case {self.case_no}", f"deliver from {actor.province}", "not its province"
            )
        if method not in Delivery.__members__:
            raise InvalidField("method", f"must be one of {', '.join(Delivery)}")
        self._delivered(
            method=method, reference=_text("reference", reference, 200), **actor.event_fields(), timestamp=at
        )

    @event(Delivered)
    def _delivered(
        self,
        method: str,
        reference: str,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.delivery = method
        self.delivered_on = china_date(timestamp).isoformat()
        self.state = State.DELIVERED

    def archive(self, actor: Actor, at: datetime) -> None:
        """归档, at the handling province; afterwards only rating and appeal."""
        self._require_province(actor, self.handling_province, "handling province")
        self._require({State.DELIVERED}, "archive")
        self._archived(**actor.event_fields(), timestamp=at)

    @event(Archived)
    def _archived(self, province: str, office_code: str, operator_id: str, timestamp: datetime) -> None:
        self.state = State.ARCHIVED

    # Rating (好差评, 国办发〔2019〕51号)

    def rate(
        self,
        score: int,
        channel: str,
        comment: str,
        rectification_due_on: date | None,
        actor: Actor,
        at: datetime,
        service: str = RatedService.HANDLING,
    ) -> None:
        """Scores 1-5 once per case; a 差评 (1-2) opens a rectification due on ``rectification_due_on``.

        ``service`` says whose service is rated: the handling (办理, the default) or the receiving window's
        own service (收件). The office that gave it answers (谁办理谁负责, :meth:`answerable_province`); a
        case filed online had no window to rate."""
        self._require(ENDED_STATES, "rate")
        if self.rating is not None:
            raise IllegalTransition(f"case {self.case_no}", "rate", f"already rated {self.rating}")
        if isinstance(score, bool) or not 1 <= score <= 5:
            raise InvalidField("score", "must be 1 (非常不满意) to 5 (非常满意)")
        if channel not in Channel.__members__:
            raise InvalidField("channel", f"must be one of {', '.join(Channel)}")
        if service not in RatedService.__members__:
            raise InvalidField("service", f"must be one of {', '.join(RatedService)}")
        if service == RatedService.WINDOW and self.mode == Mode.FULL_ONLINE:
            raise InvalidField("service", "a case filed online (FULL_ONLINE) had no window service to rate")
        bad = score in BAD_SCORES
        if bad != (rectification_due_on is not None):
            raise InvalidField(
                "rectification_due_on", "a score of 1 or 2, and only that, opens a rectification"
            )
        self._rated(
            score=score,
            channel=channel,
            comment=comment.strip()[:1000],
            rectification_due_on=rectification_due_on.isoformat() if rectification_due_on else None,
            service=str(service),
            **actor.event_fields(),
            timestamp=at,
        )

    @event(Rated)
    def _rated(
        self,
        score: int,
        channel: str,
        comment: str,
        rectification_due_on: str | None,
        service: str,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.rating = score
        self.rated_on = china_date(timestamp).isoformat()
        self.rated_service = service
        self.rating_answered_by = self.answerable_province(service)
        self.rectification_due_on = rectification_due_on

    def answerable_province(self, service: str) -> str:
        """The province whose office answers a rating of ``service`` (:func:`answering_province`)."""
        return answering_province(service, self.receiving_province, self.handling_province)

    @property
    def rating_counts(self) -> bool:
        """Whether the rating counts against the office: not once an appeal against it was upheld."""
        return self.rating is not None and self.appeal_outcome != AppealOutcome.UPHELD

    @property
    def rectification_open(self) -> bool:
        """A 差评's rectification is open until answered, or until an appeal against the 差评 is upheld."""
        return (
            self.rectification_due_on is not None
            and not self.rectification_responded
            and self.appeal_outcome != AppealOutcome.UPHELD
        )

    def _require_rated_office(self, actor: Actor, operation: str) -> str:
        """The province whose office answers the rating; refuses a case not rated and any other province."""
        if self.rating_answered_by is None:
            raise IllegalTransition(f"case {self.case_no}", operation, "not rated")
        if actor.province != self.rating_answered_by:
            raise IllegalTransition(
                f"case {self.case_no}",
                f"{operation} from province {actor.province}",
                f"a rating of the service of province {self.rating_answered_by}",
            )
        return self.rating_answered_by

    def respond_to_rectification(self, response: str, actor: Actor, at: datetime) -> None:
        """整改: the office whose service was rated answers a 差评 (国办发〔2019〕51号, 谁办理谁负责)."""
        self._require_rated_office(actor, "respond to a rectification")
        if not self.rectification_open:
            raise IllegalTransition(f"case {self.case_no}", "respond to a rectification", "none is open")
        self._rectification_responded(
            response=_text("response", response), **actor.event_fields(), timestamp=at
        )

    @event(RectificationResponded)
    def _rectification_responded(
        self, response: str, province: str, office_code: str, operator_id: str, timestamp: datetime
    ) -> None:
        self.rectification_responded = True
        self.rectification_closed_on = self.rectification_closed_on or china_date(timestamp).isoformat()

    def appeal_rating(self, reason: str, actor: Actor, at: datetime) -> None:
        """申诉: the office whose service was rated may appeal a 差评 (1-2) it holds unfounded, once
        (国办发〔2019〕51号). A rating of 3 to 5 is not appealed. Appeals recorded before this rule stay as
        they were: the rule is checked here, on the command, never when an event is folded."""
        self._require_rated_office(actor, "appeal the rating")
        if self.rating not in BAD_SCORES:
            raise IllegalTransition(
                f"case {self.case_no}",
                "appeal the rating",
                f"rated {self.rating}: only a 差评 (1 or 2) may be appealed",
            )
        if self.appealed:
            raise IllegalTransition(f"case {self.case_no}", "appeal the rating", "already appealed once")
        self._rating_appealed(reason=_text("reason", reason), **actor.event_fields(), timestamp=at)

    @event(RatingAppealed)
    def _rating_appealed(
        self, reason: str, province: str, office_code: str, operator_id: str, timestamp: datetime
    ) -> None:
        self.appealed = True
        self.appeal_office = office_code

    def decide_rating_appeal(self, outcome: str, reason: str, actor: Actor, at: datetime) -> None:
        """复核: the supervising body of the office whose service was rated decides its appeal, once, with a
        reason: UPHELD sets the 差评 aside (it no longer counts, its rectification closes); REJECTED lets it
        stand (the rectification stays due). The office that appealed does not review its own appeal.

        An appeal against a rating of 3 to 5 (recorded before appeals were limited to 差评) may only be
        rejected: such a rating never counted against the office, so there is nothing to set aside."""
        self._require_rated_office(actor, "decide the appeal")
        if not self.appealed:
            raise IllegalTransition(f"case {self.case_no}", "decide the appeal", "no appeal was made")
        if self.appeal_outcome is not None:
            raise IllegalTransition(
                f"case {self.case_no}", "decide the appeal", f"already decided: {self.appeal_outcome}"
            )
        if outcome not in AppealOutcome.__members__:
            raise InvalidField("outcome", f"must be one of {', '.join(AppealOutcome)}")
        if actor.office_code == self.appeal_office:
            raise IllegalTransition(
                f"case {self.case_no}", "decide the appeal", "the office that appealed cannot review it"
            )
        if outcome == AppealOutcome.UPHELD and self.rating not in BAD_SCORES:
            raise IllegalTransition(
                f"case {self.case_no}", "uphold the appeal", f"rated {self.rating}: no 差评 to set aside"
            )
        self._rating_appeal_decided(
            outcome=outcome, reason=_text("reason", reason), **actor.event_fields(), timestamp=at
        )

    @event(RatingAppealDecided)
    def _rating_appeal_decided(
        self,
        outcome: str,
        reason: str,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.appeal_outcome = outcome
        if outcome == AppealOutcome.UPHELD and self.rectification_due_on is not None:
            self.rectification_closed_on = self.rectification_closed_on or china_date(timestamp).isoformat()

    # Deadline timer: each at most once per case

    def clock_runs(self, limit: Limit) -> bool:
        """Whether ``limit``'s clock is running, so the timer may warn of it or record its breach."""
        if limit in DECISION_LIMITS:
            return self.state in OPEN_STATES and self.accepted_on is not None
        if limit == Limit.DELIVERY:
            # 行政许可法 第44条: from the decision until it is delivered; not for a decision recorded before
            # the clock was kept (Concluded version 2 and older), nor for a refusal (不予受理), which is no
            # decision on the permission
            return self.state == State.CONCLUDED and self.delivery_limit_days is not None
        if limit == Limit.RECTIFICATION:
            return self.rectification_open
        if limit is Limit.NOTICE:
            return (
                self.state in BEFORE_ACCEPTANCE
                and self.notice_clock_from is not None
                and self.notice_stopped_on is None
            )
        return False

    def warn_deadline(self, limit: str, due_on: date, days_left: int, actor: Actor, at: datetime) -> bool:
        """Record the yellow warning of a limit once; False when already recorded or no longer relevant. The
        writing province's timer records it: one writer, so replicas never disagree."""
        checked = _limit(limit)
        if checked in self.deadlines_warned or not self.clock_runs(checked):
            return False
        self._require_province(actor, self.writer(), "writer")
        self._deadline_warned(
            limit=checked.value,
            due_on=due_on.isoformat(),
            days_left=days_left,
            **actor.event_fields(),
            timestamp=at,
        )
        return True

    @event(DeadlineWarned)
    def _deadline_warned(
        self,
        limit: str,
        due_on: str,
        days_left: int,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.deadlines_warned = [*self.deadlines_warned, limit]

    def breach_deadline(self, limit: str, due_on: date, actor: Actor, at: datetime) -> bool:
        """Record a breach of a limit, once each; False when recorded or moot."""
        checked = _limit(limit)
        if checked in self.deadlines_breached or not self.clock_runs(checked):
            return False
        self._require_province(actor, self.writer(), "writer")
        if china_date(at) <= due_on:
            raise IllegalTransition(f"case {self.case_no}", "record a breach", f"due {due_on.isoformat()}")
        self._deadline_breached(
            limit=checked.value, due_on=due_on.isoformat(), **actor.event_fields(), timestamp=at
        )
        return True

    @event(DeadlineBreached)
    def _deadline_breached(
        self, limit: str, due_on: str, province: str, office_code: str, operator_id: str, timestamp: datetime
    ) -> None:
        self.deadlines_breached = [*self.deadlines_breached, limit]
        self.breaches = {
            **self.breaches,
            limit: {"due_on": due_on, "recorded_on": china_date(timestamp).isoformat()},
        }

    def recompute_deadlines(
        self,
        schedules: list[YearSchedule],
        promised: tuple[date | None, date | None],
        statutory: tuple[date | None, date | None],
        actor: Actor,
        at: datetime,
    ) -> None:
        """Record that the case counts ``schedules`` from now on, and how its due dates (before, after) moved.

        Only the case's writer records it, while the case is open and accepted, and only when a due date
        moved under a schedule the case does not count with already: so each change is recorded once."""
        self._require(OPEN_STATES - BEFORE_ACCEPTANCE, "recompute its deadlines")
        self._require_province(actor, self.writer(), "writer")
        if not schedules:
            raise InvalidField("calendar_years", "name at least one year's schedule")
        if len({s.year for s in schedules}) != len(schedules):
            raise InvalidField("calendar_years", "each year once")
        for schedule in schedules:
            counted = self.calendar_years.get(schedule.year)
            if counted is not None and counted.same_days(schedule):
                raise InvalidField(
                    "calendar_years", f"the case counts {schedule.year} with that schedule already"
                )
        if promised[0] == promised[1] and statutory[0] == statutory[1]:
            raise InvalidField("due dates", "no due date moved: nothing to record")
        self._deadlines_recomputed(
            calendar_years=[s.as_fields() for s in sorted(schedules, key=lambda s: s.year)],
            promised_from=_iso(promised[0]),
            promised_to=_iso(promised[1]),
            statutory_from=_iso(statutory[0]),
            statutory_to=_iso(statutory[1]),
            **actor.event_fields(),
            timestamp=at,
        )

    @event(DeadlinesRecomputed)
    def _deadlines_recomputed(
        self,
        calendar_years: list[dict[str, Any]],
        promised_from: str | None,
        promised_to: str | None,
        statutory_from: str | None,
        statutory_to: str | None,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.calendar_years = {
            **self.calendar_years,
            **{fields["year"]: YearSchedule.from_fields(fields) for fields in calendar_years},
        }

    # Written notices (文书): rendered once, stored, signed (aggregates/notice.py)

    class NoticeIssued(Aggregate.Event):
        """A written notice (文书) the writer of the case issued for the decision it records right after,
        in the same record: ``documents_version`` and ``documents_event`` name that event. ``content`` is
        the document as rendered (``media_type``; ``template`` at ``template_version``), ``sha256`` its
        UTF-8 bytes' digest and ``signature`` (base64) the issuing node's over those bytes, under
        ``key_id``. It holds no personal data: the applicant is named by the case number."""

        kind: str
        notice_no: str
        documents_version: int
        documents_event: str
        media_type: str
        template: str
        template_version: str
        content: str
        sha256: str
        signature: str
        signature_algorithm: str
        key_id: str
        province: str
        office_code: str
        operator_id: str

    # the notices issued, in order: kind, notice_no, sha256, issued_at, version (of the NoticeIssued event)
    notices: tuple[dict[str, Any], ...] = ()

    def issue_notice(self, notice: SignedNotice, actor: Actor, at: datetime) -> None:
        """Record a notice for the decision recorded right after it: by the case's writer, once per
        number, and for an event still to come (a notice documents; it never rewrites what was recorded)."""
        self._require_province(actor, self.writer(), "writer")
        if any(n["notice_no"] == notice.notice_no for n in self.notices):
            raise IllegalTransition(f"case {self.case_no}", f"issue notice {notice.notice_no}", "issued")
        if notice.documents_version <= self.version + 1:
            raise InvalidField("documents_version", "a notice documents the event recorded after it")
        fields: dict[str, Any] = notice.event_fields() | actor.event_fields()
        self._notice_issued(**fields, timestamp=at)

    @event(NoticeIssued)
    def _notice_issued(
        self,
        kind: str,
        notice_no: str,
        documents_version: int,
        documents_event: str,
        media_type: str,
        template: str,
        template_version: str,
        content: str,
        sha256: str,
        signature: str,
        signature_algorithm: str,
        key_id: str,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.notices = (
            *self.notices,
            {
                "kind": kind,
                "notice_no": notice_no,
                "sha256": sha256,
                "issued_at": timestamp.isoformat(),
                "version": self.version + 1,  # applied before the aggregate takes the event's version
                "documents_version": documents_version,
                "documents_event": documents_event,
            },
        )


def answering_province(service: str, receiving: str, handling: str) -> str:
    """谁办理谁负责 (国办发〔2019〕51号): the receiving window answers a rating of its own service (收件), the
    handling province a rating of the handling (办理). In PROXY those are two provinces."""
    return receiving if service == RatedService.WINDOW else handling


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


# The concrete events a case records (never the generic base classes the library adds to every aggregate).
CASE_EVENTS: tuple[type[Aggregate.Event], ...] = tuple(
    cls
    for name, cls in vars(Case).items()
    if isinstance(cls, type) and issubclass(cls, Aggregate.Event) and name not in ("Event", "Created")
)


def writer_of(state: str, forwarded: bool, mode: str, receiving: str, handling: str) -> str:
    """``Case.writer`` as a function of the facts it rests on (read models compute it from their rows)."""
    if state in (State.CONCLUDED, State.REFUSED, State.WITHDRAWN):
        return receiving
    # a window's notice (补正告知 at the 收件地) keeps an un-forwarded case with the window; an accepted case
    # with a window elsewhere was forwarded, or handed over by its deemed acceptance (Case.AcceptanceDeemed)
    if state in HELD_BY_WINDOW and not forwarded and mode != Mode.FULL_ONLINE:
        return receiving
    return handling


def _closed(suspensions: list[tuple[str, str | None]], on: str) -> list[tuple[str, str | None]]:
    """The suspensions with the open one (if any) ended on ``on``."""
    return [(start, on if end is None else end) for start, end in suspensions]


# What each event means to those who follow a case without loading it (the read models, the deadline timer):
# the state it leaves the case in, and how it moves the case's legal clock. Declared here, beside the events,
# so a new event is described once; tests/unit/test_case.py holds the table to the aggregate.

STATE_AFTER: dict[type[Aggregate.Event], State] = {
    Case.Received: State.RECEIVED,
    Case.Forwarded: State.FORWARDED,
    Case.Accepted: State.ACCEPTED,
    Case.AcceptanceDeemed: State.ACCEPTED,
    Case.Refused: State.REFUSED,
    Case.SupplementRequested: State.SUPPLEMENT_REQUESTED,
    Case.SpecialProcedureStarted: State.SPECIAL_PROCEDURE,
    Case.SpecialProcedureEnded: State.ACCEPTED,
    Case.Concluded: State.CONCLUDED,
    Case.Delivered: State.DELIVERED,
    Case.Archived: State.ARCHIVED,
    Case.Withdrawn: State.WITHDRAWN,
}
ENDINGS = tuple(cls for cls, state in STATE_AFTER.items() if state in ENDED_STATES)

# The events that move a case's legal clock, besides Submitted, which starts it, and the breaches recorded on
# it (a breach does not move a due date, but a limit breached never reads on time again).
CLOCK_EVENTS: tuple[type[Aggregate.Event], ...] = (
    Case.Received,  # these three start or stop the notice limit (行政许可法 第32条) only
    Case.NoticeClockStarted,
    Case.Refused,
    Case.Accepted,
    Case.AcceptanceDeemed,
    Case.SupplementRequested,
    Case.SupplementProvided,
    Case.SpecialProcedureStarted,
    Case.SpecialProcedureEnded,
    Case.Extended,
    Case.Concluded,
    Case.DeadlinesRecomputed,
    Case.Withdrawn,
    Case.DeadlineBreached,
    Case.Delivered,
)


def fold_clock(clock: dict[str, Any], event: Any) -> None:
    """Apply one of :data:`CLOCK_EVENTS` to a clock kept as a plain dict (a read model stores it as JSON),
    in place: the counting facts (:func:`fold_counting`), the year schedules recorded, the last due-date
    move, ``stopped_on`` once every clock has stopped without a decision, ``breaches``: each limit's
    recorded breach (a clock kept before breaches were folded lacks the key until the board is rebuilt), the
    delivery clock's facts (:func:`delivery_inputs`): ``delivery_limit_days`` from the decision,
    ``delivered_on`` from the delivery, and the notice limit's start and stop (:func:`fold_notice`)."""
    fold_notice(clock, event)
    if isinstance(event, Case.Withdrawn):
        clock["stopped_on"] = event.withdrawn_on
    elif isinstance(event, Case.DeadlineBreached):
        clock["breaches"] = clock.get("breaches", {}) | {event.limit: _breach_fields(event)}
    elif isinstance(event, Case.Delivered):
        clock["delivered_on"] = china_date(event.timestamp).isoformat()
    elif isinstance(event, Case.DeadlinesRecomputed):
        clock["calendar_years"] |= {str(fields["year"]): fields for fields in event.calendar_years}
        clock["due_moved"] = {
            "at": event.timestamp.isoformat(),
            "promised": {"from": event.promised_from, "to": event.promised_to},
            "statutory": {"from": event.statutory_from, "to": event.statutory_to},
            "sources": [fields["source"] for fields in event.calendar_years],
        }
    else:
        if isinstance(event, Case.Concluded):
            clock["delivery_limit_days"] = event.delivery_limit_days
        fold_counting(clock, event)


def notice_clock_on_submission(submitted: Case.Submitted) -> str | None:
    """The day a case's notice clock (行政许可法 第32条) starts at submission: filed online under the rule."""
    if submitted.mode == Mode.FULL_ONLINE and submitted.notice_clock:
        return china_date(submitted.timestamp).isoformat()
    return None


def fold_notice(clock: dict[str, Any], event: Any) -> None:
    """The notice limit's facts (``Case.notice_facts``) as a follower keeps them, in place: its start
    (``notice_clock_from``: the receipt under the rule, or NoticeClockStarted; a case filed online has it
    from :func:`notice_clock_on_submission`) and its stop (``notice_stopped_on``: the first notice before
    acceptance, the acceptance, a refusal or a withdrawal). A clock kept before the rule lacks the keys."""
    if isinstance(event, Case.Received):
        if (
            event.notice_clock
            and clock.get("mode") != Mode.FULL_ONLINE
            and not clock.get("notice_clock_from")
        ):
            clock["notice_clock_from"] = china_date(event.timestamp).isoformat()
    elif isinstance(event, Case.NoticeClockStarted):
        clock["notice_clock_from"] = event.started_on
    elif clock.get("notice_clock_from") and not clock.get("notice_stopped_on"):
        stops = isinstance(event, Case.Accepted | Case.AcceptanceDeemed | Case.Refused | Case.Withdrawn)
        noticed = isinstance(event, Case.SupplementRequested) and clock.get("accepted_on") is None
        if stops or noticed:
            clock["notice_stopped_on"] = china_date(event.timestamp).isoformat()


def fold_counting(facts: dict[str, Any], event: Any) -> None:
    """The facts the count of working days rests on, kept in any dict with their keys: ``accepted_on``,
    ``suspensions``, ``extension_days``, ``extended_limits`` and ``concluded_on`` (the service statistics keep
    them in their rows). Other events leave them as they are. ``extended_limits`` (the limits the extension
    moved, ``Case.Extended.limits``) is set by an extension only: facts without it were folded before
    extensions said which limits they move, so from version 1 events, which moved both
    (:func:`extension_days_of`)."""
    if isinstance(event, Case.Accepted | Case.AcceptanceDeemed):
        facts["accepted_on"] = event.accepted_on
    elif isinstance(event, Case.SupplementRequested):
        if event.suspends_clock:
            facts["suspensions"].append([event.requested_on, None])
    elif isinstance(event, Case.SpecialProcedureStarted):
        facts["suspensions"].append([event.started_on, None])
    elif isinstance(event, Case.SupplementProvided | Case.SpecialProcedureEnded):
        ended = event.provided_on if isinstance(event, Case.SupplementProvided) else event.ended_on
        facts["suspensions"] = _closed(facts["suspensions"], ended)
    elif isinstance(event, Case.Extended):
        facts["extension_days"] = event.days
        facts["extended_limits"] = list(event.limits)
    elif isinstance(event, Case.Concluded):
        facts["concluded_on"] = event.concluded_on
        facts["suspensions"] = _closed(facts["suspensions"], event.concluded_on)


def _breach_fields(event: Case.DeadlineBreached) -> dict[str, str]:
    return {"due_on": event.due_on, "recorded_on": china_date(event.timestamp).isoformat()}


def extension_days_of(facts: dict[str, Any], limit: str) -> int:
    """The working days the case's extension adds to ``limit``: its days when it moved that limit (version 2:
    the statutory limit only, 行政许可法 第42条; version 1, and facts folded before ``extended_limits``
    existed: both), else 0."""
    moved = facts.get("extended_limits")
    if moved is None:
        moved = [limit.value for limit in EXTENSION_MOVED_BEFORE_V2]
    return int(facts["extension_days"]) if limit in moved else 0


def deadline_inputs(facts: dict[str, Any], limit: str, limit_days: int) -> DeadlineInputs:
    """What ``aggregates.deadline`` counts ``limit`` (PROMISED or STATUTORY) from, given the counting facts
    (:func:`fold_counting`; ``Case.counting_facts``) and, when kept, the recorded ``breaches``. The one place
    that says how an extension and a breach bear on a limit: the case, the board and the statistics alike.
    The facts must hold an acceptance."""
    return DeadlineInputs(
        accepted_on=date.fromisoformat(facts["accepted_on"]),
        limit_days=limit_days,
        suspensions=tuple(
            Suspension(date.fromisoformat(start), date.fromisoformat(end) if end else None)
            for start, end in facts["suspensions"]
        ),
        extension_days=extension_days_of(facts, limit),
        concluded_on=date.fromisoformat(facts["concluded_on"]) if facts["concluded_on"] else None,
        breach=breach_of(facts.get("breaches"), limit),
    )


def delivery_inputs(facts: dict[str, Any]) -> DeadlineInputs | None:
    """What the delivery limit (行政许可法 第44条) is counted from, given the facts
    (``Case.delivery_facts``; a follower's clock, :func:`fold_clock`): the working days from the decision
    (``concluded_on``, the day not counted) until the delivery stops the clock, with the breach recorded.
    None when no delivery clock applies: not decided, or decided before the clock was kept (the cut-over)."""
    days = facts.get("delivery_limit_days")
    if days is None or facts.get("concluded_on") is None:
        return None
    delivered_on = facts.get("delivered_on")
    return DeadlineInputs(
        accepted_on=date.fromisoformat(facts["concluded_on"]),
        limit_days=int(days),
        concluded_on=date.fromisoformat(delivered_on) if delivered_on else None,
        breach=breach_of(facts.get("breaches"), Limit.DELIVERY),
    )


def breach_of(breaches: dict[str, dict[str, str]] | None, limit: str) -> Breach | None:
    """The breach of ``limit`` among the recorded ``breaches`` (``Case.breaches``; a clock's), if any."""
    breach = (breaches or {}).get(limit)
    if not breach:
        return None
    return Breach(date.fromisoformat(breach["due_on"]), date.fromisoformat(breach["recorded_on"]))


def notice_limit_inputs(facts: dict[str, Any]) -> DeadlineInputs | None:
    """What the notice limit (行政许可法 第32条: 5 working days) counts from (``Case.notice_facts``): from
    the day its clock started, the start day not counted, to the day it stopped (the notice, acceptance,
    refusal or withdrawal), with its recorded breach; None while it has not started."""
    started = facts.get("notice_clock_from")
    if started is None:
        return None
    stopped = facts.get("notice_stopped_on")
    return DeadlineInputs(
        accepted_on=date.fromisoformat(started),
        limit_days=NOTICE_LIMIT_DAYS,
        concluded_on=date.fromisoformat(stopped) if stopped else None,
        breach=breach_of(facts.get("breaches"), Limit.NOTICE),
    )
