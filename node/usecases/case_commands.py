"""Every command on a filed case, declared once: its name, REST path, arguments' schema, who may call it,
whether a party province may forward it to the case's writer, and what it records. The REST routes and their
OpenAPI entries (``node/http/cases.py``), the forwarded federation commands
(``node/usecases/forwarded_commands.py``) and the roles checked derive from these declarations; the proto's
``CaseCommand`` enum names each forwardable one (a test holds them together).

Adding a forwardable case command: the aggregate's method and event (``aggregates/case.py``), a declaration
here, and a value of ``CaseCommand`` in ``protos/tongban/federation/v1/federation.proto``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from aggregates.case import (
    Case,
    ExtensionApproval,
    RatedService,
    ReasonedDecision,
    Remedies,
    Result,
    WrittenNotice,
)
from aggregates.clock import china_date
from aggregates.errors import InvalidField
from aggregates.responsibility import Actor
from node.auth import Role
from node.calendar.source import case_calendar
from node.schemas import cases as cs
from node.schemas.common import Schema
from node.store.idempotency import Idempotency

Arguments = dict[str, Any]
Step = Callable[[Case, datetime], None]  # one rule-checked change of a loaded case, at an instant


class CaseWorkflow(Protocol):
    """What a command asks of the case service (``node/usecases/cases.py``)."""

    @property
    def rectification_days(self) -> int:
        """The working days a bad rating gives the handling province to answer."""

    def change(
        self,
        command: CaseCommand,
        case_id: str,
        actor: Actor,
        arguments: Arguments,
        step: Step,
        request: Idempotency | None,
    ) -> Case:
        """Record ``step`` where this node writes the case; elsewhere forward the command to the writer."""

    def statutory_due_on(self, case: Case, at: datetime) -> date | None: ...

    def notice_due_on(self, case: Case) -> date | None:
        """The notice limit's due date (行政许可法 第32条) while its clock runs."""

    def paper_exemptions(self, case: Case, province: str, at: datetime) -> dict[str, str]:
        """The case's materials a valid electronic certificate of ``province`` (the notifying office's) held
        by its applicant satisfies at ``at``, each with that certificate's identifier (决定 第七条)."""

    def attach_material(
        self,
        command: CaseCommand,
        case_id: str,
        actor: Actor,
        arguments: Arguments,
        request: Idempotency | None,
    ) -> Case: ...


Perform = Callable[["CaseWorkflow", "CaseCommand", str, Actor, Arguments, "Idempotency | None"], Case]

# Role names as the API document writes them
_ROLE_NAMES = {
    Role.WINDOW: "window officer",
    Role.HANDLER: "handling officer",
    Role.PLATFORM: "platform",
    Role.ISSUER: "issuer",
    Role.AUDITOR: "auditor",
    Role.ADMIN: "admin",
}


@dataclass(frozen=True)
class CaseCommand:
    name: str  # CASE_COMMAND_<name> in the proto; the command a forwarded request names
    path: str  # REST: POST /v1/cases/{case_id}<path>
    summary: str
    arguments: Schema  # the REST body; with the path's arguments, a forwarded command's arguments
    roles: tuple[Role, ...]
    scope: str  # which province's callers, after the roles, for the API document
    forwardable: bool  # a party province other than the writer may send it on to the writer
    perform: Perform
    path_arguments: dict[str, Schema] = field(default_factory=dict)  # taken from the REST path

    @property
    def who(self) -> str:
        """Who may call it, for the API document: the roles checked, then the scope."""
        names = [_ROLE_NAMES[role] for role in self.roles]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        return f"{listed} {self.scope}".strip()

    @property
    def forwarded_arguments(self) -> Schema:
        """A forwarded command's arguments: the body's, and those the REST path carries."""
        if not self.path_arguments:
            return self.arguments
        return {
            **self.arguments,
            "properties": {**self.path_arguments, **self.arguments["properties"]},
            "required": [*self.path_arguments, *self.arguments["required"]],
        }


def recorded(record: Callable[[CaseWorkflow, Case, Actor, datetime, Arguments], None]) -> Perform:
    """The usual command: one change of the case, recorded by the writer (or forwarded to it)."""

    def perform(
        flow: CaseWorkflow,
        command: CaseCommand,
        case_id: str,
        actor: Actor,
        arguments: Arguments,
        request: Idempotency | None,
    ) -> Case:
        def step(case: Case, at: datetime) -> None:
            record(flow, case, actor, at, arguments)

        return flow.change(command, case_id, actor, arguments, step, request)

    return perform


def _number(arguments: Arguments, prefix: str) -> str:
    """The number the caller gave, else a fresh one (收件号 SJ…, 受理号 SL…)."""
    return str(arguments.get("number") or f"{prefix}{secrets.randbelow(10**12):012d}")


def _request_supplement(flow: CaseWorkflow, case: Case, actor: Actor, at: datetime, a: Arguments) -> None:
    due = case_calendar(case.recorded_calendar).add_working_days(china_date(at), case.item.supplement_days)
    exempt = flow.paper_exemptions(case, actor.province, at)
    case.request_supplement(a["missing"], a["reason"], due, actor, at, flow.notice_due_on(case), exempt)


def _rate(flow: CaseWorkflow, case: Case, actor: Actor, at: datetime, a: Arguments) -> None:
    score = a["score"]
    bad = isinstance(score, int) and 1 <= score <= 2  # a bad rating opens a rectification
    calendar = case_calendar(case.recorded_calendar)
    due = calendar.add_working_days(china_date(at), flow.rectification_days) if bad else None
    service = a.get("service", RatedService.HANDLING)
    case.rate(score, a["channel"], a.get("comment", ""), due, actor, at, service=service)


def _extend(flow: CaseWorkflow, case: Case, actor: Actor, at: datetime, a: Arguments) -> None:
    """延期 (行政许可法 第42条); the notice was given the day it is recorded unless ``notified_on`` says."""
    notified_on = _notified_on(a, at)
    approval = ExtensionApproval(a["approver_id"], a["approver_title"], a["approver_office"])
    notice = WrittenNotice(a["notice_method"], a["notice_reference"], notified_on)
    case.extend(a["days"], a["reason"], flow.statutory_due_on(case, at), approval, notice, actor, at)


def _notified_on(a: Arguments, at: datetime) -> date:
    """The day the applicant was told: ``notified_on`` when given, else the day it is recorded."""
    try:
        return date.fromisoformat(a["notified_on"]) if "notified_on" in a else china_date(at)
    except (TypeError, ValueError):
        raise InvalidField("notified_on", "must be a date, YYYY-MM-DD") from None


def _start_special_procedure(
    flow: CaseWorkflow, case: Case, actor: Actor, at: datetime, a: Arguments
) -> None:
    """特别程序 (行政许可法 第45条), with the written notice of the time it takes."""
    notice = WrittenNotice(a["notice_method"], a["notice_reference"], _notified_on(a, at))
    case.start_special_procedure(a["kind"], a["reason"], a["expected_days"], notice, actor, at)


def _decision(a: Arguments) -> ReasonedDecision:
    """The reasoned decision (行政许可法 第38条第二款) the arguments carry; the remedies' limits come
    from the law (:class:`aggregates.case.Remedies`), never from the caller."""
    for key in ("reason", "legal_basis", "reconsideration_body", "litigation_court"):
        if key not in a:
            raise InvalidField(
                key, "a negative decision states its reason, legal basis and remedies (第38条)"
            )
    remedies = Remedies(a["reconsideration_body"], a["litigation_court"])
    return ReasonedDecision(a["reason"], tuple(a["legal_basis"]), remedies)


def _refuse(flow: CaseWorkflow, case: Case, actor: Actor, at: datetime, a: Arguments) -> None:
    """不予受理 (行政许可法 第32条, 第38条)."""
    case.refuse(a["ground"], _decision(a), a.get("competent_agency"), actor, at)


def _conclude(flow: CaseWorkflow, case: Case, actor: Actor, at: datetime, a: Arguments) -> None:
    """办结; DENIED (不予许可) with its reason, legal basis and remedies (行政许可法 第38条)."""
    reasoned = a["result"] in (Result.DENIED, Result.SUPPLEMENT_TIMEOUT)
    decided = reasoned or any(key in a for key in cs.DECISION_PROPERTIES)
    case.conclude(a["result"], actor, at, _decision(a) if decided else None)


def _attach(
    flow: CaseWorkflow,
    command: CaseCommand,
    case_id: str,
    actor: Actor,
    arguments: Arguments,
    request: Idempotency | None,
) -> Case:
    return flow.attach_material(command, case_id, actor, arguments, request)


WINDOW_OR_PLATFORM = (Role.WINDOW, Role.PLATFORM)
HANDLER = (Role.HANDLER,)

RECEIVE = CaseCommand(
    "RECEIVE",
    "/receive",
    "收件: receive, with a receipt number",
    cs.NUMBER,
    (Role.WINDOW,),
    "of the receiving province",
    forwardable=False,
    perform=recorded(lambda flow, case, actor, at, a: case.receive(_number(a, "SJ"), actor, at)),
)
FORWARD = CaseCommand(
    "FORWARD",
    "/forward",
    "转办: forward to the handling province",
    cs.EMPTY,
    (Role.WINDOW,),
    "of the receiving province",
    forwardable=False,
    perform=recorded(lambda flow, case, actor, at, a: case.forward(actor, at)),
)
ATTACH_MATERIAL = CaseCommand(
    "ATTACH_MATERIAL",
    "/materials",
    "Attach a material: a certificate (verified now, result kept) or a file digest",
    cs.ATTACH,
    (*WINDOW_OR_PLATFORM, Role.HANDLER),
    "of a party province",
    forwardable=True,
    perform=_attach,
)
ACCEPT = CaseCommand(
    "ACCEPT",
    "/accept",
    "受理: accept, with an acceptance number",
    cs.NUMBER,
    HANDLER,
    "of the handling province",
    forwardable=False,
    perform=recorded(lambda flow, case, actor, at, a: case.accept(_number(a, "SL"), actor, at)),
)
REFUSE = CaseCommand(
    "REFUSE",
    "/refuse",
    "不予受理 (行政许可法 第32条): a reasoned decision (第38条): reason, ground, legal basis and "
    "the remedies (复议 body, 诉讼 court; the node adds the limits); outside the office's competence "
    "it names the competent agency",
    cs.REFUSE,
    HANDLER,
    "of the handling province",
    forwardable=False,
    perform=recorded(_refuse),
)
REQUEST_SUPPLEMENT = CaseCommand(
    "REQUEST_SUPPLEMENT",
    "/supplement-request",
    "补正告知 (行政许可法 第32条, 一次性告知): the first notice lists ALL missing materials (and may name "
    "defective ones on file), within 5 working days of receipt; a later one names only what the last "
    "supplement supplied; due in the item's supplement_days working days. In PROXY the receiving window "
    "gives it while it holds the case",
    cs.SUPPLEMENT_REQUEST,
    (Role.WINDOW, Role.HANDLER),
    "of the handling province, or of the receiving province while it holds the case",
    forwardable=False,
    perform=recorded(_request_supplement),
)
PROVIDE_SUPPLEMENT = CaseCommand(
    "PROVIDE_SUPPLEMENT",
    "/supplement",
    "补正: the listed materials are now attached",
    cs.EMPTY,
    WINDOW_OR_PLATFORM,
    "of a party province",
    forwardable=True,
    perform=recorded(lambda flow, case, actor, at, a: case.provide_supplement(actor, at)),
)
RECORD_REVIEW = CaseCommand(
    "RECORD_REVIEW",
    "/review",
    "审查: 承办 → 审核 → 批准, each with the officer's role (title); 批准 names it and is "
    "recorded by another officer than 承办",
    cs.REVIEW,
    HANDLER,
    "",
    forwardable=False,
    perform=recorded(
        lambda flow, case, actor, at, a: case.record_review(
            a["step"], a["opinion"], actor, at, a.get("title")
        )
    ),
)
START_SPECIAL_PROCEDURE = CaseCommand(
    "START_SPECIAL_PROCEDURE",
    "/special-procedure/start",
    "特别程序 (行政许可法 第45条) starts and the clock stops: a kind the case's item allows, with the "
    "written notice that told the applicant how many working days it takes",
    cs.SPECIAL_START,
    HANDLER,
    "",
    forwardable=False,
    perform=recorded(_start_special_procedure),
)
END_SPECIAL_PROCEDURE = CaseCommand(
    "END_SPECIAL_PROCEDURE",
    "/special-procedure/end",
    "特别程序 ends (the clock resumes)",
    cs.SPECIAL_END,
    HANDLER,
    "",
    forwardable=False,
    perform=recorded(lambda flow, case, actor, at, a: case.end_special_procedure(a["outcome"], actor, at)),
)
EXTEND = CaseCommand(
    "EXTEND",
    "/extend",
    "延期 (行政许可法 第42条): once, with a reason, the approval of the head of the organ and the "
    "notice that told the applicant why; it moves the statutory limit only, never the promised one",
    cs.EXTEND,
    HANDLER,
    "",
    forwardable=False,
    perform=recorded(_extend),
)
CONCLUDE_PART = CaseCommand(
    "CONCLUDE_PART",
    "/parts/{part_code}/conclude",
    "多地联办: conclude one part",
    cs.CONCLUDE,
    HANDLER,
    "of the part's province",
    forwardable=True,
    perform=recorded(
        lambda flow, case, actor, at, a: case.conclude_part(a["part_code"], a["result"], actor, at)
    ),
    path_arguments={"part_code": cs.CODE},
)
CONCLUDE = CaseCommand(
    "CONCLUDE",
    "/conclude",
    "办结: conclude with a result; DENIED (不予许可) with its reason, legal basis and remedies "
    "(行政许可法 第38条); SUPPLEMENT_TIMEOUT (补正超时驳回) likewise, once a supplement asked for after "
    "acceptance lapsed",
    cs.CONCLUDE_CASE,
    HANDLER,
    "",
    forwardable=False,
    perform=recorded(_conclude),
)
DELIVER = CaseCommand(
    "DELIVER",
    "/deliver",
    "送达: post, window pick-up or electronic (an item of a 一件事 is delivered with its bundle: 409)",
    cs.DELIVER,
    (Role.WINDOW, Role.HANDLER),
    "",
    forwardable=True,
    perform=recorded(lambda flow, case, actor, at, a: case.deliver(a["method"], a["reference"], actor, at)),
)
ARCHIVE = CaseCommand(
    "ARCHIVE",
    "/archive",
    "归档, at the handling province",
    cs.EMPTY,
    HANDLER,
    "",
    forwardable=True,
    perform=recorded(lambda flow, case, actor, at, a: case.archive(actor, at)),
)
RATE = CaseCommand(
    "RATE",
    "/rating",
    "好差评: 1-5 of the handling (办理) or of the receiving window's service (收件); a 差评 (1-2) opens a "
    "rectification due in rectification_days working days, for the office whose service was rated",
    cs.RATE,
    (Role.PLATFORM,),
    "of a party province",
    forwardable=True,
    perform=recorded(_rate),
)
# The rating is answered (整改), appealed (申诉) and the appeal decided (复核) in the province whose
# service was rated (谁办理谁负责, 国办发〔2019〕51号): in PROXY the receiving province for its window's
# service, the handling province for the handling. Either may find the other writing the case (the
# receiving province from conclusion to delivery, the handling province after), so each is forwarded.
RATED_OFFICE = "of the province whose service was rated"
RESPOND_TO_RECTIFICATION = CaseCommand(
    "RESPOND_TO_RECTIFICATION",
    "/rating/rectification",
    "整改: answer the rectification a 差评 opened",
    cs.RESPONSE,
    (Role.WINDOW, Role.HANDLER),
    RATED_OFFICE,
    forwardable=True,
    perform=recorded(
        lambda flow, case, actor, at, a: case.respond_to_rectification(a["response"], actor, at)
    ),
)
APPEAL_RATING = CaseCommand(
    "APPEAL_RATING",
    "/rating/appeal",
    "申诉: appeal a 差评 (1-2) held unfounded, once",
    cs.REASON,
    (Role.WINDOW, Role.HANDLER),
    RATED_OFFICE,
    forwardable=True,
    perform=recorded(lambda flow, case, actor, at, a: case.appeal_rating(a["reason"], actor, at)),
)
# 复核 is the supervising body's: the province's 政务服务管理机构, which runs the 好差评 system and
# publishes the service catalogue. Of the node's roles that is ADMIN (it operates the node and publishes
# the catalogue): the officers who appeal (WINDOW, HANDLER) must not review their own appeal, and an
# AUDITOR reads everything but changes nothing. No new role is needed.
DECIDE_RATING_APPEAL = CaseCommand(
    "DECIDE_RATING_APPEAL",
    "/rating/appeal/decision",
    "复核: uphold (the 差评 is set aside, its rectification closed) or reject an appeal, with a reason",
    cs.APPEAL_DECISION,
    (Role.ADMIN,),
    RATED_OFFICE,
    forwardable=True,
    perform=recorded(
        lambda flow, case, actor, at, a: case.decide_rating_appeal(a["outcome"], a["reason"], actor, at)
    ),
)
WITHDRAW = CaseCommand(
    "WITHDRAW",
    "/withdraw",
    "撤回申请: the applicant withdraws the application before the decision; every clock stops",
    cs.REASON,
    WINDOW_OR_PLATFORM,
    "of the receiving province",
    forwardable=True,
    perform=recorded(lambda flow, case, actor, at, a: case.withdraw(a["reason"], actor, at)),
)

DECLARED: tuple[CaseCommand, ...] = (
    RECEIVE,
    FORWARD,
    ATTACH_MATERIAL,
    ACCEPT,
    REFUSE,
    REQUEST_SUPPLEMENT,
    PROVIDE_SUPPLEMENT,
    RECORD_REVIEW,
    START_SPECIAL_PROCEDURE,
    END_SPECIAL_PROCEDURE,
    EXTEND,
    CONCLUDE_PART,
    CONCLUDE,
    DELIVER,
    ARCHIVE,
    RATE,
    RESPOND_TO_RECTIFICATION,
    APPEAL_RATING,
    DECIDE_RATING_APPEAL,
    WITHDRAW,
)
BY_NAME = {command.name: command for command in DECLARED}
