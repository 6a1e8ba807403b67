"""RFC 9457 problem+json responses, and strict JSON body validation that points at the offending field."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from node.errors import PROBLEM_BASE
from node.http.schemas import Schema

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error that is already an HTTP problem (bad JSON, schema violation, ...)."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        *,
        pointer: str | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.pointer = pointer
        self.errors = errors


def problem_response(request: web.Request, request_id: str, problem: Problem) -> web.Response:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + problem.kind,
        "title": problem.kind.replace("-", " ").capitalize(),
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.path,
        "request_id": request_id,
    }
    if problem.pointer is not None:
        body["pointer"] = problem.pointer
    if problem.errors:
        body["errors"] = problem.errors
    headers = {"WWW-Authenticate": 'Bearer realm="tongban"'} if problem.status == 401 else None
    return web.Response(
        status=problem.status,
        text=json.dumps(body, ensure_ascii=False),
        content_type=PROBLEM_JSON,
        headers=headers,
    )


_validators: dict[int, Draft202012Validator] = {}


def _validator(schema: Schema) -> Draft202012Validator:
    key = id(schema)
    if key not in _validators:
        _validators[key] = Draft202012Validator(schema, format_checker=FormatChecker())
    return _validators[key]


def _pointer(path: list[str | int]) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path) if path else ""


async def read_json(request: web.Request, schema: Schema) -> dict[str, Any]:
    """The request body, parsed and checked against ``schema``; a Problem (400/415/422) otherwise."""
    if request.content_type != "application/json":
        raise Problem(415, "unsupported-media-type", "send the body as application/json")
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError) as e:
        raise Problem(400, "malformed-json", f"the body is not valid JSON: {e}") from None
    errors = sorted(_validator(schema).iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        listed = [entry for e in errors for entry in _entries(e)]
        first = listed[0]
        raise Problem(
            422,
            "invalid-body",
            f"{first['pointer'] or 'body'}: {first['detail']}",
            pointer=first["pointer"],
            errors=listed,
        )
    if not isinstance(body, dict):  # the schemas only accept objects; this narrows the type
        raise Problem(422, "invalid-body", "the body must be a JSON object", pointer="")
    return body


def _entries(error: ValidationError) -> list[dict[str, str]]:
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        return [
            {"pointer": _pointer([*path, key]), "detail": "is not a known field"}
            for key in sorted(set(error.instance) - set(known))
        ]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [key for key in error.validator_value if key not in error.instance]  # type: ignore[union-attr]
        return [{"pointer": _pointer([*path, key]), "detail": "is required"} for key in missing]
    return [{"pointer": _pointer(path), "detail": _describe(error)}]


def _describe(error: ValidationError) -> str:
    # jsonschema's messages echo the offending value, which may be personal data (an ID number): say
    # what is expected instead.
    expected = error.validator_value
    match error.validator:
        case "type":
            return f"must be of type {expected}"
        case "pattern":
            return f"must match the pattern {expected}"
        case "format":
            return f"must be a valid {expected}"
        case "minLength":
            return f"must be at least {expected} characters long"
        case "maxLength":
            return f"must be at most {expected} characters long"
        case "enum":
            return "must be one of " + ", ".join(str(v) for v in expected)  # type: ignore[union-attr]
        case "anyOf":
            return "has the wrong type or format (see /openapi.json)"
    return error.message
