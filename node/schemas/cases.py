"""JSON Schemas of the case (办件) and catalogue bodies: used to validate requests AND to publish OpenAPI."""

from __future__ import annotations

from aggregates.bundle import BUNDLE_MODES
from aggregates.case import (
    AppealOutcome,
    Channel,
    Delivery,
    Limit,
    NoticeMethod,
    RatedService,
    RefusalGround,
    Result,
    ReviewStep,
    State,
)
from aggregates.catalogue import Mode, PartRole, SpecialProcedure
from aggregates.notice import NoticeKind
from node.schemas.common import (
    CONSENT_REFERENCE,
    DATE,
    HOLDER_ID,
    HOLDER_ID_TYPE,
    IDENTIFIER,
    NO_CONTROL_CHARACTERS,
    PROVINCE,
    PURPOSE,
    TYPE_CODE,
    Schema,
)

CODE: Schema = {"type": "string", "pattern": "^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$"}
DIGEST: Schema = {"type": "string", "pattern": "^(sha256|sm3):[0-9a-f]{64}$"}
UUID_STRING: Schema = {"type": "string", "format": "uuid", "maxLength": 36}
NULLABLE_STRING: Schema = {"type": ["string", "null"]}


def text(max_length: int = 1000) -> Schema:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": NO_CONTROL_CHARACTERS}


def _object(properties: dict[str, Schema], required: list[str] | None = None) -> Schema:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "required": required if required is not None else list(properties),
    }


def _enum(values: type) -> Schema:
    return {"type": "string", "enum": [v.value for v in values]}  # type: ignore[attr-defined]


APPLICANT = _object(
    {
        "name": text(100),
        "id_type": HOLDER_ID_TYPE,
        "id_number": HOLDER_ID,
    }
)
# A person named by their ID alone: forgetting them, their certificate uses
PERSON_ID: dict[str, Schema] = {key: APPLICANT["properties"][key] for key in ("id_type", "id_number")}
SUBMIT = _object(
    {
        "item_province": PROVINCE,
        "item_code": CODE,
        "mode": _enum(Mode),
        "applicant": APPLICANT,
        "parts": {
            "type": "object",
            "description": "Joint cases: the province handling each part of the item, by part code",
            "propertyNames": CODE,
            "additionalProperties": PROVINCE,
            "maxProperties": 20,
        },
    },
    ["item_province", "item_code", "mode", "applicant"],
)
SUBMIT_BUNDLE = _object(
    {
        "bundle_province": PROVINCE,
        "bundle_code": CODE,
        "mode": {
            "type": "string",
            "enum": [m.value for m in BUNDLE_MODES],
            "description": "Each item is filed in this mode when it allows it, else FULL_ONLINE; an item "
            "that allows neither refuses the application (422 naming it). Joint items are filed alone.",
        },
        "applicant": APPLICANT,
    }
)
NUMBER = _object({"number": text(64)}, [])
EMPTY = _object({}, [])
ATTACH = _object(
    {
        "material_code": CODE,
        "certificate_identifier": IDENTIFIER,
        "file_digest": DIGEST,
        "purpose": {**PURPOSE, "description": "用证事由 (default: 办理 <the item's name>)"},
        "consent_reference": {
            **CONSENT_REFERENCE,
            "description": "the holder's consent (授权), needed with a certificate: "
            + CONSENT_REFERENCE["description"],
        },
    },
    ["material_code"],
)
BUNDLE_ATTACH = _object(
    {
        "material_key": {
            **text(1000),
            "description": "The `key` of one entry of the bundle's `bundle_materials`",
        },
        "certificate_identifier": IDENTIFIER,
        "file_digest": DIGEST,
        "purpose": ATTACH["properties"]["purpose"],
        "consent_reference": ATTACH["properties"]["consent_reference"],
    },
    ["material_key"],
)
REASON = _object({"reason": text()})
# 行政许可法 第38条第二款: a negative decision states its reason, the legal basis and the remedies.
# The remedies' bodies depend on the deciding office (行政复议法 第二十四条; 行政诉讼法 第十八条), so the
# officer names them; the node adds the limits the law sets (复议 60 days, 诉讼 6 months), so every
# decision states them alike.
DECISION_PROPERTIES: dict[str, Schema] = {
    "reason": {**text(), "description": "说明理由: why, as the applicant is told"},
    "legal_basis": {
        "type": "array",
        "items": text(200),
        "minItems": 1,
        "maxItems": 10,
        "description": "the articles relied on, as text, e.g. "
        "《中华人民共和国行政许可法》第三十二条第一款第二项",
    },
    "reconsideration_body": {
        **text(200),
        "description": "the 行政复议机关 the applicant may apply to (the node adds: within 60 days of "
        "knowing of the decision, 行政复议法 第二十条)",
    },
    "litigation_court": {
        **text(200),
        "description": "the people's court a 行政诉讼 is brought in (the node adds: within 6 months, "
        "行政诉讼法 第四十六条)",
    },
}
REFUSE = _object(
    {
        **DECISION_PROPERTIES,
        "ground": {
            **_enum(RefusalGround),
            "description": "行政许可法 第32条第一款: NOT_REQUIRED (一), "
            "OUTSIDE_COMPETENCE (二), NOT_ELIGIBLE",
        },
        "competent_agency": {
            **text(200),
            "description": "for OUTSIDE_COMPETENCE only, and then required: the agency the applicant is told "
            "to apply to (告知申请人向有关行政机关申请)",
        },
    },
    ["reason", "ground", "legal_basis", "reconsideration_body", "litigation_court"],
)
SUPPLEMENT_REQUEST = _object(
    {
        "missing": {"type": "array", "items": CODE, "minItems": 1, "maxItems": 50, "uniqueItems": True},
        "reason": text(),
    }
)
REVIEW = _object(
    {
        "step": _enum(ReviewStep),
        "opinion": text(),
        "title": {
            **text(64),
            "description": "the recording officer's role (职务, e.g. 科长); required for APPROVE, which must "
            "be recorded by another officer than UNDERTAKE (409 otherwise)",
        },
    },
    ["step", "opinion"],
)
SPECIAL_START = _object(
    {
        "kind": {
            "type": "string",
            "pattern": "^[A-Z][A-Z0-9_]{1,39}$",
            "description": f"行政许可法 第45条: {', '.join(SpecialProcedure)}, as the case's item "
            "allows them (its clock_stops; another kind only where the item names the law that provides "
            "it). INSPECTION (现场核查, 第34条) is part of the review: 422",
        },
        "reason": text(),
        "expected_days": {
            "type": "integer",
            "minimum": 1,
            "maximum": 3650,
            "description": "the working days it takes, as the applicant was told in writing (第45条)",
        },
        "notice_method": {
            **_enum(NoticeMethod),
            "description": "how the applicant was told: POST, WINDOW or ELECTRONIC",
        },
        "notice_reference": {**text(128), "description": "the notice's reference (文书编号)"},
        "notified_on": {
            **DATE,
            "description": "the day (China time) the applicant was told: on or after acceptance, not "
            "after today. Default: today",
        },
    },
    ["kind", "reason", "expected_days", "notice_method", "notice_reference"],
)
SPECIAL_END = _object({"outcome": text()})
EXTEND = _object(
    {
        "days": {"type": "integer", "minimum": 1, "maximum": 60},
        "reason": {**text(), "description": "why the decision needs more time: the applicant is told it"},
        "approver_id": {
            **text(64),
            "description": "the head of the administrative organ who approved the extension "
            "(本行政机关负责人, 行政许可法 第42条): staff id or name",
        },
        "approver_title": {**text(64), "description": "their title (职务), e.g. 局长"},
        "approver_office": {**CODE, "description": "their office's code"},
        "notice_method": {
            **_enum(NoticeMethod),
            "description": "how the applicant was told the reason (延期告知): POST, WINDOW or ELECTRONIC",
        },
        "notice_reference": {**text(128), "description": "the notice's reference (文书编号)"},
        "notified_on": {
            **DATE,
            "description": "the day (China time) the applicant was told: on or after acceptance, not "
            "after today. Default: today",
        },
    },
    [
        "days",
        "reason",
        "approver_id",
        "approver_title",
        "approver_office",
        "notice_method",
        "notice_reference",
    ],
)
CONCLUDE = _object({"result": _enum(Result)})  # a part's result (CONCLUDE_PART)
CONCLUDE_CASE = _object(
    {
        "result": _enum(Result),
        **{
            key: {
                **schema,
                "description": "DENIED and SUPPLEMENT_TIMEOUT only, and then required: "
                f"{schema['description']}",
            }
            for key, schema in DECISION_PROPERTIES.items()
        },
    },
    ["result"],
)
FORWARDED_CONCLUDE_PART = _object({"part_code": CODE, "result": _enum(Result)})
DELIVER = _object({"method": _enum(Delivery), "reference": text(200)})
RATE = _object(
    {
        "score": {"type": "integer", "minimum": 1, "maximum": 5},
        "channel": _enum(Channel),
        "comment": {"type": "string", "maxLength": 1000, "pattern": NO_CONTROL_CHARACTERS},
        "service": {
            **_enum(RatedService),
            "description": "whose service is rated: HANDLING (办理, the default), answered by the handling "
            "province, or WINDOW (收件), the receiving window's own service, answered by the receiving "
            "province (谁办理谁负责); a case filed online had no window",
        },
    },
    ["score", "channel"],
)
RESPONSE = _object({"response": text()})
APPEAL_DECISION = _object(
    {
        "outcome": {
            **_enum(AppealOutcome),
            "description": "UPHELD: the 差评 is set aside (no longer counted) and its rectification closed; "
            "REJECTED: the 差评 stands and its rectification stays due",
        },
        "reason": text(),
    }
)

REMEDIES: Schema = {
    "type": ["object", "null"],
    "description": "the remedies (行政许可法 第38条第二款): 行政复议 to the body named, within the days "
    "the law sets from knowing of the decision, or 行政诉讼 in the court named, within the months it sets",
    "required": [
        "reconsideration_body",
        "reconsideration_limit_days",
        "reconsideration_basis",
        "litigation_court",
        "litigation_limit_months",
        "litigation_basis",
    ],
    "properties": {
        "reconsideration_body": {"type": "string"},
        "reconsideration_limit_days": {"type": "integer"},
        "reconsideration_basis": {"type": "string"},
        "litigation_court": {"type": "string"},
        "litigation_limit_months": {"type": "integer"},
        "litigation_basis": {"type": "string"},
    },
}
DECISION: Schema = {
    "type": ["object", "null"],
    "description": "the negative decision (REFUSED: 不予受理; DENIED: 不予许可) with its reason, ground "
    "(refusals), legal basis, remedies and, for a matter outside the office's competence, the competent "
    "agency; SUPPLEMENT_TIMEOUT: a handler's conclusion on a lapsed supplement. Null fields for a "
    "decision recorded before 行政许可法 第38条 was followed. Null: none",
    "required": ["kind", "reason", "ground", "legal_basis", "remedies", "competent_agency"],
    "properties": {
        "kind": {"type": "string", "enum": ["REFUSED", "DENIED", "SUPPLEMENT_TIMEOUT"]},
        "reason": NULLABLE_STRING,
        "ground": {"type": ["string", "null"], "enum": [*(g.value for g in RefusalGround), None]},
        "legal_basis": {"type": ["array", "null"], "items": {"type": "string"}},
        "remedies": REMEDIES,
        "competent_agency": NULLABLE_STRING,
    },
}
BREACH: Schema = {
    "type": ["object", "null"],
    "description": "the breach of this limit the deadline timer recorded (DeadlineBreached): the due date "
    "that passed and the day (China time) it was recorded. Once recorded it stays: the limit reads OVERDUE "
    "(CONCLUDED_LATE once concluded) even when an extension recorded before 行政许可法 第42条 was followed, "
    "or a newly published year schedule, moved its due date later. Null: none recorded (as of that day)",
    "required": ["due_on", "recorded_on"],
    "properties": {"due_on": {"type": "string"}, "recorded_on": {"type": "string"}},
}
DEADLINE_STATE: Schema = {
    "type": "object",
    "description": "status UNKNOWN with a `problem` only when a date falls outside every calendar "
    "(before 2004 or after 2100); `calendar` PROVISIONAL when the count runs through a year whose "
    "调休 schedule is not published yet (docs/calendar.md)",
    "required": ["status", "due_on", "days_left"],
    "properties": {
        "status": {"type": "string"},
        "problem": {"type": "string"},
        "due_on": NULLABLE_STRING,
        "days_left": {"type": ["integer", "null"]},
        "days_used": {"type": "integer"},
        "suspended_days": {"type": "integer"},
        "calendar": {"type": "string", "enum": ["OFFICIAL", "PROVISIONAL"]},
        "provisional_years": {"type": "array", "items": {"type": "integer"}},
        "provisional_source": {"type": "string", "description": "what a provisional year is computed from"},
        "breach": BREACH,
    },
}
NULLABLE_DEADLINE_STATE: Schema = {
    "anyOf": [{"type": "null"}, DEADLINE_STATE],
    "description": "null before acceptance and after a withdrawal, when only a later clock applies",
}
NOTICE_STATE: Schema = {
    **DEADLINE_STATE,
    "type": ["object", "null"],
    "description": "the notice limit (补正告知, 行政许可法 第32条): 5 working days from the receipt at the "
    "window, or from the submission of a case filed online (for a case that arrived before the rule, from "
    "the day the timer first met it); it stops at the first notice, the acceptance, a refusal or a "
    "withdrawal (CONCLUDED_ON_TIME or CONCLUDED_LATE). Once it passes with no notice and no decision the "
    "case is deemed accepted (`acceptance_deemed`). Null: its clock has not started",
}
DEADLINES: Schema = {
    "anyOf": [
        {"type": "null"},
        {
            "type": "object",
            "required": ["as_of", "promised", "statutory", "notice"],
            "properties": {
                "as_of": {"type": "string"},
                "promised": NULLABLE_DEADLINE_STATE,
                "statutory": NULLABLE_DEADLINE_STATE,
                "delivery": {
                    **DEADLINE_STATE,
                    "description": "送达 (行政许可法 第44条): 10 working days from the decision (the day "
                    "not counted), stopped by the delivery: CONCLUDED_ON_TIME or CONCLUDED_LATE once "
                    "delivered. Absent when no delivery clock applies: no decision, a refusal (不予受理), or "
                    "a decision recorded before the clock was kept",
                },
                "rectification": {
                    **DEADLINE_STATE,
                    "description": "整改 of a 差评, due on the date set at rating, stopped by the office's "
                    "answer or an upheld appeal (CONCLUDED_ON_TIME or CONCLUDED_LATE). Absent without a 差评",
                },
                "notice": NOTICE_STATE,
                "calendar_years": {
                    "type": "array",
                    "description": "years whose schedule the case's writer recorded when a due date moved "
                    "(DeadlinesRecomputed): every node counts the case with them",
                    "items": {
                        "type": "object",
                        "properties": {
                            "year": {"type": "integer"},
                            "kind": {"type": "string"},
                            "source": {"type": "string"},
                            "version": {"type": "string"},
                        },
                    },
                },
            },
        },
    ]
}
CASE: Schema = {
    "type": "object",
    "required": [
        "case_id",
        "case_no",
        "state",
        "mode",
        "item",
        "receiving_province",
        "handling_province",
        "deadlines",
    ],
    "properties": {
        "case_id": {"type": "string"},
        "case_no": {"type": "string"},
        "state": _enum(State),
        "mode": _enum(Mode),
        "item": {
            "type": "object",
            "required": ["province", "code", "name", "version"],
            "properties": {
                "province": {"type": "string"},
                "code": {"type": "string"},
                "name": {"type": "string"},
                "version": {"type": "integer"},
                "promised_limit_days": {"type": "integer"},
                "statutory_limit_days": {"type": "integer"},
                "clock_stops": {
                    "type": "object",
                    "description": "what stops the decision clock under the item version filed under: "
                    "special_procedures (kind, legal_basis) and supplement_after_acceptance (stops_clock, "
                    "legal_basis); before_rule: the version was recorded before items declared it (the old "
                    "kinds HEARING, INSPECTION, EXPERT_REVIEW, TESTING stop the clock, so does a supplement "
                    "after acceptance; legal_basis null)",
                },
            },
        },
        "receiving_province": {"type": "string"},
        "handling_province": {"type": "string"},
        "parts": {"type": "array", "items": {"type": "object"}},
        "receipt_no": NULLABLE_STRING,
        "acceptance_no": NULLABLE_STRING,
        "accepted_on": {
            "type": ["string", "null"],
            "description": "受理之日 (行政许可法 第32条): the day the complete materials arrived (receipt, "
            "submission online, or the supplement completing them), not the day of the click; for a case "
            "that arrived before the rule, the day it was accepted",
        },
        "acceptance_deemed": {
            "type": ["object", "null"],
            "description": "视为受理 (第32条): the notice limit passed with no notice and no decision; "
            "the day "
            "the case counts as accepted from and the notice due date that passed. Null: not deemed",
            "required": ["accepted_on", "notice_due_on"],
            "properties": {"accepted_on": {"type": "string"}, "notice_due_on": {"type": "string"}},
        },
        "materials_complete_on": {
            "type": ["string", "null"],
            "description": "the day the complete materials arrived; null while a notice waits, and for a "
            "case "
            "that arrived before 第32条's notice rule",
        },
        "materials": {"type": "object"},
        "missing_materials": {"type": "array", "items": {"type": "string"}},
        "supplement": {
            "type": ["object", "null"],
            "description": "the open supplement: round, missing, due_on, resume_state and, once its due date "
            "passed without it, lapsed_on (SupplementLapsed)",
        },
        "task": {
            "type": ["object", "null"],
            "description": "what waits for a person of the handling office: DECIDE_SUPPLEMENT_TIMEOUT once "
            "a supplement lapsed (decision REFUSE before acceptance, CONCLUDE with SUPPLEMENT_TIMEOUT after; "
            "行政许可法 第38条). Null: none",
            "required": ["kind", "office_province", "decision", "round", "due_on", "lapsed_on"],
            "properties": {
                "kind": {"type": "string", "enum": ["DECIDE_SUPPLEMENT_TIMEOUT"]},
                "office_province": {"type": "string"},
                "decision": {"type": "string", "enum": ["REFUSE", "CONCLUDE"]},
                "round": {"type": "integer"},
                "due_on": {"type": "string"},
                "lapsed_on": {"type": "string"},
            },
        },
        "special_procedure": {
            "type": ["object", "null"],
            "description": "the special procedure under way (特别程序, 第45条): kind, started_on, the "
            "written notice of its time (expected_days, notice_method, notice_reference, notified_on) and "
            "the legal_basis the item gives (null for one started before the rule). Null: none",
        },
        "supplement_rounds": {"type": "integer"},
        "review_steps": {"type": "array", "items": {"type": "string"}},
        "reviews": {
            "type": "array",
            "description": "each review step and the officer who recorded it: their province, office, id and "
            "role (title: null for a step recorded before roles were)",
            "items": {
                "type": "object",
                "required": ["step", "province", "office_code", "operator_id", "title"],
                "properties": {
                    "step": _enum(ReviewStep),
                    "province": {"type": "string"},
                    "office_code": {"type": "string"},
                    "operator_id": {"type": "string"},
                    "title": NULLABLE_STRING,
                },
            },
        },
        "decision": DECISION,
        "extension_days": {"type": "integer"},
        "extension": {
            "type": ["object", "null"],
            "description": "延期 (行政许可法 第42条): the days, the limits they moved (STATUTORY; "
            "both for an extension recorded before the rule), the head of the organ who approved it and "
            "the notice that told the applicant why (null for an extension recorded before the rule). "
            "Null: not extended",
            "required": ["days", "limits"],
            "properties": {
                "days": {"type": "integer"},
                "limits": {"type": "array", "items": _enum(Limit)},
                "approver_id": NULLABLE_STRING,
                "approver_title": NULLABLE_STRING,
                "approver_office": NULLABLE_STRING,
                "notice_method": {
                    "type": ["string", "null"],
                    "enum": [*(m.value for m in NoticeMethod), None],
                },
                "notice_reference": NULLABLE_STRING,
                "notified_on": NULLABLE_STRING,
            },
        },
        "result": NULLABLE_STRING,
        "concluded_on": NULLABLE_STRING,
        "delivery": NULLABLE_STRING,
        "rating": {"type": ["integer", "null"]},
        "rectification_due_on": NULLABLE_STRING,
        "appealed": {"type": "boolean"},
        "rated_service": {
            "type": ["string", "null"],
            "enum": [*(s.value for s in RatedService), None],
            "description": "whose service the rating rates (好差评): WINDOW (收件) or HANDLING (办理)",
        },
        "rating_answered_by": {
            "type": ["string", "null"],
            "description": "the province whose office answers the rating: its rectification and appeal",
        },
        "rectification_open": {"type": "boolean"},
        "appeal_outcome": {
            "type": ["string", "null"],
            "enum": [*(o.value for o in AppealOutcome), None],
            "description": "复核 of the appeal: UPHELD (the 差评 is set aside) or REJECTED; null until "
            "decided",
        },
        "rating_counts": {
            "type": "boolean",
            "description": "whether the rating counts against the office: false when unrated or set aside",
        },
        "bundle_id": NULLABLE_STRING,
        "writer": {
            **PROVINCE,
            "description": "the province that records the case's next events; other parties' commands "
            "are forwarded to it (federation)",
        },
        "recognitions": {
            "type": "array",
            "description": "证照互认: each decision on another province's certificate",
            "items": {
                "type": "object",
                "required": ["material_code", "certificate_identifier", "issuing_province", "recognised"],
                "properties": {
                    "material_code": {"type": "string"},
                    "certificate_identifier": {"type": "string"},
                    "issuing_province": {"type": "string"},
                    "recognised": {"type": "boolean"},
                    "reason": {"type": "string"},
                },
            },
        },
        "certificate_flags": {
            "type": "object",
            "description": "certificates the case relies on that left VALID since, with their status",
            "additionalProperties": {"type": "string"},
        },
        "version": {"type": "integer"},
        "deadlines": DEADLINES,
    },
}
TIMELINE: Schema = {
    "type": "object",
    "required": ["case_id", "entries"],
    "properties": {
        "case_id": {"type": "string"},
        "deadlines": {
            **DEADLINES,
            "description": "the limits now, PROVISIONAL where they count through a "
            "year without the official schedule",
        },
        "entries": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["version", "at", "event", "province", "office_code", "operator_id", "detail"],
                "properties": {
                    "version": {"type": "integer"},
                    "at": {"type": "string"},
                    "event": {"type": "string"},
                    "province": NULLABLE_STRING,
                    "office_code": NULLABLE_STRING,
                    "operator_id": NULLABLE_STRING,
                    "detail": {"type": "object"},
                },
            },
        },
    },
}
APPLICANT_RECORD: Schema = {
    "type": "object",
    "required": ["applicant_id", "name", "id_type", "id_number"],
    "properties": {k: {"type": "string"} for k in ("applicant_id", "name", "id_type", "id_number")},
}
BUNDLE_MATERIAL: Schema = {
    "type": "object",
    "description": "One material of the bundle, listed once however many items ask for it",
    "required": ["key", "name", "substitutes", "required", "items"],
    "properties": {
        "key": {"type": "string", "description": "names it in POST /v1/bundle-cases/{bundle_id}/materials"},
        "name": {"type": "string"},
        "substitutes": {"type": "array", "items": {"type": "string"}},
        "required": {"type": "boolean", "description": "true when any item requires it"},
        "items": {
            "type": "array",
            "description": "each item case that asks for it, and whether it is attached there",
            "items": {
                "type": "object",
                "required": ["case_id", "item_code", "material_code", "attached"],
                "properties": {
                    "case_id": {"type": "string"},
                    "item_code": {"type": "string"},
                    "material_code": {"type": "string"},
                    "material_name": {"type": "string"},
                    "required": {"type": "boolean"},
                    "attached": {"type": "boolean"},
                },
            },
        },
    },
}
BUNDLE_CASE: Schema = {
    "type": "object",
    "required": ["bundle_id", "bundle_code", "filing_province", "delivered", "bundle_materials", "cases"],
    "properties": {
        "bundle_id": {"type": "string"},
        "bundle_province": {"type": "string"},
        "bundle_code": {"type": "string"},
        "filing_province": {"type": "string"},
        "delivered": {"type": "boolean"},
        "delivery": NULLABLE_STRING,
        "delivery_due": {
            "type": ["object", "null"],
            "description": "when the one combined delivery is due (行政许可法 第44条): each item decided "
            "runs its own delivery clock from its own decision, so the bundle is due by the earliest due "
            "date of its items not delivered yet (`items_due` names them, by case number; `breached`: "
            "those whose delivery limit was breached). Null while no item's delivery clock runs",
            "required": ["due_on", "items_due", "breached", "calendar", "provisional_years"],
            "properties": {
                "due_on": {"type": "string"},
                "items_due": {"type": "array", "items": {"type": "string"}},
                "breached": {"type": "array", "items": {"type": "string"}},
                "calendar": {"type": "string", "enum": ["OFFICIAL", "PROVISIONAL"]},
                "provisional_years": {"type": "array", "items": {"type": "integer"}},
            },
        },
        "bundle_materials": {"type": "array", "items": BUNDLE_MATERIAL},
        "cases": {"type": "array", "items": CASE},
    },
}

MATERIAL: Schema = _object(
    {
        "code": CODE,
        "name": text(200),
        "substitutes": {"type": "array", "items": TYPE_CODE, "maxItems": 50, "uniqueItems": True},
        "required": {"type": "boolean"},
        "paper_required_by": {
            "type": ["array", "null"],
            "items": text(200),
            "minItems": 1,
            "maxItems": 10,
            "description": "the law or administrative regulation that requires the paper original even "
            "where a valid electronic certificate of a substitute type is held (一网通办决定 第七条: "
            "另有规定的除外)",
        },
    },
    ["code", "name", "substitutes", "required"],
)
ARTICLES: Schema = {"type": "array", "items": text(200), "minItems": 1, "maxItems": 10}
CLOCK_STOPS = {
    **_object(
        {
            "special_procedures": {
                "type": "array",
                "maxItems": 20,
                "description": "特别程序 that may stop the decision clock (行政许可法 第四十五条). Default "
                "(omitted): all eight of 第45条. A kind of 第45条 takes 第四十五条 as its basis unless "
                "given; another kind is allowed only with the law that provides it. INSPECTION "
                "(现场核查, 第三十四条: part of the review) and TESTING (now INSPECTION_TESTING or "
                "DETECTION) are refused",
                "items": _object(
                    {
                        "kind": {
                            "type": "string",
                            "pattern": "^[A-Z][A-Z0-9_]{1,39}$",
                            "description": f"one of {', '.join(SpecialProcedure)}, or another kind a law "
                            "provides",
                        },
                        "legal_basis": {
                            **ARTICLES,
                            "type": ["array", "null"],
                            "description": "the articles, as text (null or omitted: 第四十五条)",
                        },
                    },
                    ["kind"],
                ),
            },
            "supplement_after_acceptance": _object(
                {
                    "stops_clock": {
                        "type": "boolean",
                        "description": "whether a supplement (补正) asked for after acceptance stops the "
                        "decision clock. Default false: 行政许可法 provides no such stop",
                    },
                    "legal_basis": {
                        **ARTICLES,
                        "type": ["array", "null"],
                        "description": "required when stops_clock is true, and only then (else null or "
                        "omitted): the law that provides the stop",
                    },
                },
                ["stops_clock"],
            ),
        },
        [],
    ),
    "description": "what stops the item's decision clock, with its legal basis (docs/catalogue.md)",
}
ISSUED_CERTIFICATE: Schema = {
    **_object(
        {
            "type_code": TYPE_CODE,
            "type_name": text(200),
            "definer": text(200),
            "issuer_name": text(200),
            "issuer_code": {
                "type": "string",
                "pattern": "^[0-9A-Z]{18}$",
                "description": "发证机构统一社会信用代码",
            },
            "validity_years": {"type": ["integer", "null"], "minimum": 1, "maximum": 100},
            "paper_counterpart": {"type": "boolean"},
        },
        ["type_code", "type_name", "definer", "issuer_name", "issuer_code"],
    ),
    "description": "the electronic certificate a case concluded ISSUED issues (一网通办决定 第七条); "
    "paper_counterpart: a paper one is issued together with the same information (docs/catalogue.md)",
}
ITEM_DEFINITION = _object(
    {
        "name": text(200),
        "department": text(200),
        "modes": {"type": "array", "items": _enum(Mode), "minItems": 1, "maxItems": 3, "uniqueItems": True},
        "materials": {"type": "array", "items": MATERIAL, "maxItems": 100},
        "statutory_limit_days": {"type": "integer", "minimum": 1, "maximum": 3650},
        "promised_limit_days": {"type": "integer", "minimum": 1, "maximum": 3650},
        "supplement_days": {"type": "integer", "minimum": 1, "maximum": 3650},
        "extension_days": {"type": "integer", "minimum": 0, "maximum": 3650},
        "fee_fen": {"type": "integer", "minimum": 0, "maximum": 10**12},
        "joint_parts": {
            "type": "array",
            "items": _object({"code": CODE, "name": text(200), "role": _enum(PartRole)}),
            "maxItems": 20,
        },
        "clock_stops": CLOCK_STOPS,
        "certificate": ISSUED_CERTIFICATE,
    },
    [
        "name",
        "department",
        "modes",
        "materials",
        "statutory_limit_days",
        "promised_limit_days",
        "supplement_days",
        "extension_days",
        "fee_fen",
        "joint_parts",
    ],
)
ITEM: Schema = {
    "type": "object",
    "required": ["province", "code", "version", "definition"],
    "properties": {
        "province": {"type": "string"},
        "code": {"type": "string"},
        "version": {"type": "integer"},
        "published_at": {"type": "string"},
        "revised_at": {"type": "string"},
        "definition": {"type": "object"},
    },
}
ITEM_LIST: Schema = {
    "type": "object",
    "required": ["items"],
    "properties": {"items": {"type": "array", "items": ITEM}},
}
BUNDLE: Schema = {
    "type": "object",
    "required": ["province", "code", "name", "items"],
    "properties": {
        "province": {"type": "string"},
        "code": {"type": "string"},
        "name": {"type": "string"},
        "items": {"type": "array", "items": {"type": "object"}},
    },
}
BUNDLE_LIST: Schema = {
    "type": "object",
    "required": ["bundles"],
    "properties": {"bundles": {"type": "array", "items": BUNDLE}},
}


NOTICES: Schema = {
    "type": "object",
    "required": ["case_id", "notices"],
    "properties": {
        "case_id": {"type": "string"},
        "notices": {
            "type": "array",
            "description": "the written notices (文书) issued on the case, in order",
            "items": {
                "type": "object",
                "required": ["kind", "notice_no", "sha256", "issued_at", "documents_event", "version"],
                "properties": {
                    "kind": {"type": "string", "enum": [k.value for k in NoticeKind]},
                    "notice_no": {"type": "string"},
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "issued_at": {"type": "string"},
                    "documents_event": {"type": "string"},
                    "documents_version": {"type": "integer"},
                    "version": {"type": "integer"},
                },
            },
        },
    },
}
