"""Written notices (文书): which decision takes which notice, rendering it once, signing it.

The node that records a decision renders its notice from the case's facts and the decision event, in
Chinese, with the remedies the law requires, and records it in the same record, just before the decision
(``Case.NoticeIssued``): the stored text, its SHA-256 and the node's signature then replicate with the case.
Rendering happens here only, when the decision is recorded; replaying the case never renders. Templates are
Jinja2 files shipped with the package (``notice_templates/``); a template's version is the digest of its
source, so a changed template shows in the notices it renders next, and never touches those issued.

No personal data goes into a notice: the applicant's name and identity live only in the Applicant aggregate,
which crypto-shredding can erase; a notice addresses the applicant by the case number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from jinja2 import BaseLoader, Environment, PackageLoader, StrictUndefined

from aggregates.case import Case, RefusalGround, Result
from aggregates.clock import china_date
from aggregates.notice import TITLES, NoticeKind, SignedNotice, notice_number, sha256_hex
from aggregates.responsibility import Actor
from node.settings import PROVINCES
from node.signing import Signer, b64

MEDIA_TYPE = "text/html; charset=utf-8"
# the layout and the macros every notice renders with: part of each template's version
SHARED_TEMPLATES = ("_base.html.j2", "_remedies.html.j2")


def _conclusion(event: Any) -> NoticeKind | None:
    """准予 or 不予许可 (行政许可法 第38条), or a handler's reasoned 补正超时驳回; other results (退回, 作废,
    转报...) decide no permission, and a supplement timeout the timer recorded before handlers decided them
    carries no reason to state."""
    if event.result == Result.SUPPLEMENT_TIMEOUT:
        return NoticeKind.SUPPLEMENT_TIMEOUT if event.reason is not None else None
    return {Result.ISSUED: NoticeKind.PERMISSION, Result.DENIED: NoticeKind.DENIAL}.get(event.result)


# The decision events a notice documents, and the kind of notice each one takes (None: none for it). One
# table: the case service consults it for every step it records, whatever command recorded the step.
NOTICE_FOR: dict[type[Any], Callable[[Any], NoticeKind | None]] = {
    Case.Accepted: lambda event: NoticeKind.ACCEPTANCE,
    Case.AcceptanceDeemed: lambda event: NoticeKind.ACCEPTANCE,  # 视为受理 (第32条), recorded by the timer
    Case.Refused: lambda event: NoticeKind.REFUSAL,
    Case.SupplementRequested: lambda event: NoticeKind.SUPPLEMENT,
    Case.Extended: lambda event: NoticeKind.EXTENSION,
    Case.Concluded: _conclusion,
}

GROUNDS = {
    RefusalGround.NOT_REQUIRED: "申请事项依法不需要取得行政许可",
    RefusalGround.OUTSIDE_COMPETENCE: "申请事项依法不属于本行政机关职权范围",
    RefusalGround.NOT_ELIGIBLE: "申请不符合受理条件",
}


def kind_of(event: Any) -> NoticeKind | None:
    """The notice ``event`` takes, or None."""
    decide = NOTICE_FOR.get(type(event))
    return decide(event) if decide else None


def chinese_date(day: date | str) -> str:
    """A date as a Chinese document writes it: 2026年3月2日."""
    value = date.fromisoformat(day) if isinstance(day, str) else day
    return f"{value.year}年{value.month}月{value.day}日"


class NoticeTemplates:
    """The templates, one per kind, HTML with autoescape on: whatever an officer typed (a reason, a legal
    basis) is text in the document, never markup."""

    def __init__(self, loader: BaseLoader | None = None) -> None:
        self._env = Environment(
            loader=loader or PackageLoader("node.usecases", "notice_templates"),
            autoescape=True,
            undefined=StrictUndefined,  # a fact missing from the context fails the decision, never blanks
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, kind: NoticeKind, context: dict[str, Any]) -> tuple[str, str, str]:
        """(template name, template version, rendered text) for a notice of ``kind``."""
        name = f"{kind.value.lower()}.html.j2"
        return name, self.version(name), self._env.get_template(name).render(**context)

    def version(self, name: str) -> str:
        """The digest of the sources the template renders from (the shared layout and macros, itself)."""
        digest = hashlib.sha256()
        for source_name in (*SHARED_TEMPLATES, name):
            source, _filename, _uptodate = self._env.loader.get_source(self._env, source_name)  # type: ignore[union-attr]
            digest.update(source.encode("utf-8"))
        return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class PlannedNotice:
    """A notice to record before the step's events, and who issues it (the decision's officer)."""

    notice: SignedNotice
    issuer: Actor


class NoticeIssuer:
    """Renders and signs the notices of one recorded step, with the node's signing key."""

    def __init__(self, signer: Signer, templates: NoticeTemplates | None = None) -> None:
        self._signer = signer
        self._templates = templates or NoticeTemplates()

    def for_step(self, before: Case, recorded: Sequence[Any]) -> list[PlannedNotice]:
        """The notices for the events a step ``recorded`` on the case as it stood ``before``. They are
        recorded first, then the step again, so each documented event's version is known now: after the
        notices, in the order the step records them."""
        kinds = [kind_of(event) for event in recorded]
        count = sum(kind is not None for kind in kinds)
        issued = [n["kind"] for n in before.notices]
        planned = []
        for index, (event, kind) in enumerate(zip(recorded, kinds, strict=True)):
            if kind is None:
                continue
            issued.append(kind.value)
            notice_no = notice_number(before.case_no, kind.value, issued.count(kind.value))
            version = before.version + count + index + 1
            planned.append(self._planned(before, event, kind, notice_no, version))
        return planned

    def _planned(
        self, case: Case, event: Any, kind: NoticeKind, notice_no: str, version: int
    ) -> PlannedNotice:
        template, template_version, content = self._templates.render(
            kind, notice_context(case, event, kind, notice_no)
        )
        notice = SignedNotice(
            kind=kind.value,
            notice_no=notice_no,
            documents_version=version,
            documents_event=type(event).__name__,
            media_type=MEDIA_TYPE,
            template=template,
            template_version=template_version,
            content=content,
            sha256=sha256_hex(content),
            signature=b64(self._signer.sign(content.encode("utf-8"))),
            signature_algorithm=self._signer.algorithm,
            key_id=self._signer.key_id,
        )
        return PlannedNotice(notice, Actor(event.province, event.office_code, event.operator_id))


def notice_context(case: Case, event: Any, kind: NoticeKind, notice_no: str) -> dict[str, Any]:
    """What a notice states: the case's facts and the decision's, never the applicant's identity."""
    fields = vars(event)
    materials = {m.code: m.name for m in case.item.materials}
    remedies = fields.get("remedies")
    return {
        "title": TITLES[kind],
        "notice_no": notice_no,
        "case_no": case.case_no,
        "item_name": case.item.name,
        "item_code": case.item.code,
        "department": case.item.department,
        "handling_province": PROVINCES.get(case.handling_province, case.handling_province),
        "office_code": event.office_code,
        "filed_on": chinese_date(china_date(case.created_on)),
        "issued_on": chinese_date(china_date(event.timestamp)),
        "statutory_limit_days": case.item.statutory_limit_days,
        "promised_limit_days": case.item.promised_limit_days,
        "acceptance_no": fields.get("acceptance_no"),
        # 受理之日: the day the complete materials arrived (第32条), not the day the notice is issued
        "accepted_on": chinese_date(fields["accepted_on"]) if "accepted_on" in fields else None,
        "deemed": isinstance(event, Case.AcceptanceDeemed),
        "notice_due_on": chinese_date(fields["notice_due_on"]) if fields.get("notice_due_on") else None,
        "reason": fields.get("reason"),
        "ground": GROUNDS.get(fields["ground"]) if fields.get("ground") else None,
        "legal_basis": fields.get("legal_basis") or [],
        "competent_agency": fields.get("competent_agency"),
        "remedies": remedies,
        "missing": [materials.get(code, code) for code in fields.get("missing", [])],
        "due_on": chinese_date(fields["due_on"]) if "due_on" in fields else None,
        "days": fields.get("days"),
        "approver_title": fields.get("approver_title"),
        "notice_reference": fields.get("notice_reference"),
    }
