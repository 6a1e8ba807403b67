"""JSON Schemas (draft 2020-12) of every REST body: used to validate requests AND to publish OpenAPI 3.1."""

from __future__ import annotations

from typing import Any

from aggregates.certificate import (
    ANSWER_DETAILS,
    HOLDER_ID_TYPES,
    HOLDER_KEYS,
    MAX_OTHER_HOLDERS,
    TRANSITIONS,
    Status,
)
from aggregates.consent import CONSENT_REFERENCE_EXAMPLE, CONSENT_REFERENCE_PATTERN

Schema = dict[str, Any]

IDENTIFIER: Schema = {
    "type": "string",
    "maxLength": 128,
    "description": "GB/T 36904 certificate identifier, e.g. "
    "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
}
DATE: Schema = {"type": "string", "format": "date", "maxLength": 10}
HOLDER_ID_TYPE: Schema = {
    "type": "string",
    "enum": list(HOLDER_ID_TYPES),
    "description": "持证主体代码类型: "
    + "; ".join(f"{kind.code} {kind.name}" for kind in HOLDER_ID_TYPES.values()),
}
# Each type's own rule is checked by the node (aggregates.identifiers.HOLDER_ID_KINDS); the schema bounds it.
HOLDER_ID: Schema = {"type": "string", "minLength": 5, "maxLength": 32, "description": "持证主体代码"}
PROVINCE: Schema = {"type": "string", "pattern": "^[1-8][0-9]0000$"}
TYPE_CODE: Schema = {"type": "string", "pattern": "^[0-9A-Z]{18}[0-9]{3}$", "description": "证照类型代码"}
DIGEST: Schema = {
    "type": "string",
    "pattern": "^(sha256|sm3):[0-9a-f]{64}$",
    "description": "Digest of the certificate file (OFD/PDF)",
}


# Free text must not carry C0 control characters or DEL (they break logs, files and displays). A lookahead
# rather than "^[^...]*$": Python's "$" (which jsonschema uses) also matches before a trailing newline.
NO_CONTROL_CHARACTERS = "^(?![\\s\\S]*[\\u0000-\\u001f\\u007f])"


def _text(max_length: int) -> Schema:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": NO_CONTROL_CHARACTERS}


CONTENT_PROPERTIES: dict[str, Schema] = {
    "type_code": TYPE_CODE,
    "type_name": _text(200),
    "name": _text(200),
    "number": _text(64),
    "issuer_name": _text(200),
    "issuer_code": {"type": "string", "pattern": "^[0-9A-Z]{18}$", "description": "Issuer's credit code"},
    "definer": _text(200),
    "issue_date": DATE,
    "valid_from": DATE,
    "valid_to": {"anyOf": [DATE, {"type": "null"}], "description": "null for no expiry"},
    "jurisdiction_code": {"type": "string", "pattern": "^[0-9]{6}$"},
    "holder_name": _text(100),
    "holder_id_type": HOLDER_ID_TYPE,
    "holder_id": HOLDER_ID,
    "service_item_code": {"anyOf": [_text(64), {"type": "null"}]},
    "file_digest": DIGEST,
    "other_holders": {
        "type": "array",
        "maxItems": MAX_OTHER_HOLDERS,
        "description": "the certificate's other holders (结婚证, jointly held property); none by default",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": list(HOLDER_KEYS),
            "properties": {"name": _text(100), "id_type": HOLDER_ID_TYPE, "id": HOLDER_ID},
        },
    },
    "serial": {
        "type": "string",
        "pattern": "^[0-9A-Z]{1,32}$",
        "description": "Omit to let the node draw one",
    },
}
_REQUIRED_CONTENT = [
    "type_code",
    "type_name",
    "name",
    "number",
    "issuer_name",
    "issuer_code",
    "definer",
    "issue_date",
    "valid_from",
    "jurisdiction_code",
    "holder_name",
    "holder_id_type",
    "holder_id",
    "file_digest",
]


def _object(properties: dict[str, Schema], required: list[str]) -> Schema:
    return {"type": "object", "additionalProperties": False, "properties": properties, "required": required}


ISSUE_REQUEST = _object(CONTENT_PROPERTIES, _REQUIRED_CONTENT)
TRANSFER_IN_REQUEST = _object(
    {**CONTENT_PROPERTIES, "previous_identifier": IDENTIFIER}, [*_REQUIRED_CONTENT, "previous_identifier"]
)
RENEW_REQUEST = _object(
    {k: CONTENT_PROPERTIES[k] for k in ("issue_date", "valid_from", "valid_to", "file_digest", "number")},
    ["issue_date", "valid_from", "valid_to", "file_digest"],
)
CHANGE_REQUEST = _object(
    {
        k: CONTENT_PROPERTIES[k]
        for k in (
            "name",
            "number",
            "type_name",
            "issuer_name",
            "holder_name",
            "jurisdiction_code",
            "file_digest",
            "other_holders",
        )
    },
    ["file_digest"],
)
STATUS_REQUEST = _object({"reason": _text(500)}, ["reason"])
TRANSFER_OUT_REQUEST = _object(
    {"reason": _text(500), "destination_province": PROVINCE}, ["reason", "destination_province"]
)
PURPOSE: Schema = {**_text(200), "description": "用证事由: what the certificate is used for"}
CONSENT_REFERENCE: Schema = {
    "type": "string",
    "maxLength": 128,
    "pattern": CONSENT_REFERENCE_PATTERN,
    "description": "The holder's consent (授权): <division or credit code of who took it>:<YYYYMMDD, "
    f"not after the use>:<id, 1-64 of A-Z a-z 0-9 ->, e.g. {CONSENT_REFERENCE_EXAMPLE}",
}
VERIFY_REQUEST = _object(
    {
        "identifier": IDENTIFIER,
        "file_digest": DIGEST,
        "as_of": {"type": "string", "format": "date-time", "maxLength": 40, "description": "Default: now"},
        "purpose": PURPOSE,
        "consent_reference": CONSENT_REFERENCE,
        "case_reference": {**_text(64), "description": "the case the use is for, if any"},
    },
    ["identifier", "purpose", "consent_reference"],
)
HOLDER_QUERY = _object(
    {"holder_id_type": CONTENT_PROPERTIES["holder_id_type"], "holder_id": CONTENT_PROPERTIES["holder_id"]},
    ["holder_id_type", "holder_id"],
)

STATUS = {"type": "string", "enum": [s.value for s in Status]}
NULLABLE_TEXT: Schema = {"type": ["string", "null"]}
HOLDER_JSON: Schema = {
    "type": "object",
    "required": list(HOLDER_KEYS),
    "properties": {key: {"type": "string"} for key in HOLDER_KEYS},
}
CERTIFICATE: Schema = {
    "type": "object",
    "required": ["identifier", "status", "holder", "signature", "version", "issued_at"],
    "properties": {
        **{k: {"type": "string"} for k in _REQUIRED_CONTENT if not k.startswith("holder")},
        "identifier": {"type": "string"},
        "status": STATUS,
        "recorded_status": STATUS,
        "valid_to": NULLABLE_TEXT,
        "service_item_code": NULLABLE_TEXT,
        "holder": HOLDER_JSON,
        "other_holders": {"type": "array", "items": HOLDER_JSON},
        "previous_identifier": NULLABLE_TEXT,
        "link": NULLABLE_TEXT,
        "successor_identifier": NULLABLE_TEXT,
        "destination_province": NULLABLE_TEXT,
        "destination_identifier": NULLABLE_TEXT,
        "province": {"type": "string"},
        "case_reference": {
            **NULLABLE_TEXT,
            "description": "关联事项: the number of the case it was issued for",
        },
        "paper_counterpart": {
            "type": ["object", "null"],
            "description": "同步发放: a paper certificate issued together with it, bearing the same content "
            "(content_digest: SHA-256 of the signed content); null: none",
            "required": ["issued", "content_digest"],
            "properties": {"issued": {"type": "boolean"}, "content_digest": {"type": "string"}},
        },
        "signature": {
            "type": "object",
            "required": ["algorithm", "key_id", "value"],
            "properties": {
                "algorithm": {"type": "string"},
                "key_id": {"type": "string"},
                "value": {"type": "string", "contentEncoding": "base64"},
            },
        },
        "version": {"type": "integer"},
        "issued_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
CERTIFICATE_LIST: Schema = {
    "type": "object",
    "required": ["items"],
    "properties": {"items": {"type": "array", "items": CERTIFICATE}},
}
VERIFICATION: Schema = {
    "type": "object",
    "required": ["assertion", "signature"],
    "properties": {
        "assertion": {
            "type": "object",
            "required": [
                "identifier",
                "authentic",
                "problem",
                "status",
                "as_of",
                "verified_at",
                "verifier_province",
            ],
            "properties": {
                "identifier": {"type": "string"},
                "authentic": {"type": "boolean"},
                "problem": {
                    "anyOf": [
                        {
                            "type": "string",
                            "enum": [
                                "NOT_FOUND",
                                "NOT_YET_ISSUED",
                                "SIGNATURE_INVALID",
                                "DIGEST_MISMATCH",
                                "HOLDER_ERASED",
                            ],
                        },
                        {"type": "null"},
                    ]
                },
                "status": {"anyOf": [STATUS, {"type": "null"}]},
                "as_of": {"type": "string"},
                "valid_until": NULLABLE_TEXT,
                "issuer_code": NULLABLE_TEXT,
                "type_code": NULLABLE_TEXT,
                "digest_checked": {"type": "boolean"},
                "verified_at": {"type": "string"},
                "verifier_province": {"type": "string"},
                **dict.fromkeys(ANSWER_DETAILS, NULLABLE_TEXT),
            },
        },
        "signature": {
            "type": "object",
            "required": ["algorithm", "key_id", "payload", "value"],
            "description": "The node's signature over `payload`: the canonical JSON bytes of `assertion`",
            "properties": {
                "algorithm": {"type": "string"},
                "key_id": {"type": "string"},
                "payload": {"type": "string", "contentEncoding": "base64"},
                "value": {"type": "string", "contentEncoding": "base64"},
            },
        },
    },
}
HISTORY: Schema = {
    "type": "object",
    "required": ["identifier", "entries"],
    "properties": {
        "identifier": {"type": "string"},
        "entries": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["version", "at", "event", "status", "office_code", "operator_id", "detail"],
                "properties": {
                    "version": {"type": "integer"},
                    "at": {"type": "string", "format": "date-time"},
                    "event": {"type": "string"},
                    "status": STATUS,
                    "office_code": {"type": "string"},
                    "operator_id": {"type": "string"},
                    "detail": {"type": "object", "additionalProperties": NULLABLE_TEXT},
                },
            },
        },
    },
}
KEYS: Schema = {
    "type": "object",
    "required": ["province", "keys"],
    "properties": {
        "province": {"type": "string"},
        "keys": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["algorithm", "key_id", "public_key_pem"],
                "properties": {
                    "algorithm": {"type": "string"},
                    "key_id": {"type": "string"},
                    "public_key_pem": {"type": "string"},
                },
            },
        },
    },
}
PROBLEM: Schema = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "pointer": {"type": "string", "description": "JSON Pointer (RFC 6901) to the offending field"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["pointer", "detail"],
                "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}},
            },
        },
    },
}
HEALTH: Schema = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string"}, "checks": {"type": "object"}},
}

# Status operations exposed as POST /v1/certificates/{identifier}/<path segment>.
STATUS_OPERATIONS = {op: op.replace("_", "-") for op in TRANSITIONS}
