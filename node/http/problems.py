"""RFC 9457 problem+json responses, and strict JSON body validation that points at the offending field."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from node.errors import PROBLEM_BASE
from node.schemas.common import NO_CONTROL_CHARACTERS, Schema

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
        pointer_documented: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.pointer = pointer
        self.errors = errors
        # False when the pointer names a key the client made up: it may be logged only when documented.
        self.pointer_documented = pointer_documented
        self.headers = headers or {}

    @property
    def loggable_pointer(self) -> str | None:
        return self.pointer if self.pointer_documented else None


def _template(request: web.Request) -> str:
    canonical = getattr(request.match_info.route.resource, "canonical", None)
    return canonical if isinstance(canonical, str) else "unmatched"


def problem_response(request: web.Request, request_id: str, problem: Problem) -> web.Response:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + problem.kind,
        "title": problem.kind.replace("-", " ").capitalize(),
        "status": problem.status,
        "detail": problem.detail,
        # the route's template, never the path as sent: a path may carry anything a client typed
        "instance": _template(request),
        "request_id": request_id,
    }
    if problem.pointer is not None:
        body["pointer"] = problem.pointer
    if problem.errors:
        body["errors"] = problem.errors
    headers = dict(problem.headers)
    if problem.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="tongban"'
    return web.Response(
        status=problem.status,
        body=_encoded(body),
        content_type=PROBLEM_JSON,
        charset="utf-8",
        headers=headers,
    )


def _encoded(body: dict[str, Any]) -> bytes:
    """UTF-8 JSON that never fails: text that UTF-8 cannot hold (a lone surrogate) leaves as \\u escapes."""
    try:
        return json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(body, ensure_ascii=True).encode()


_validators: dict[int, Draft202012Validator] = {}


def _validator(schema: Schema) -> Draft202012Validator:
    key = id(schema)
    if key not in _validators:
        _validators[key] = Draft202012Validator(schema, format_checker=FormatChecker())
    return _validators[key]


def _pointer(path: list[str | int]) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path) if path else ""


class _DuplicateKey(ValueError):
    pass


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            # Parsers disagree on which duplicate wins, so a signed or validated body could mean two things.
            raise _DuplicateKey("an object repeats a key")
        found[key] = value
    return found


def _holds_lone_surrogate(value: Any) -> bool:
    """Whether any string (key or value) holds a lone surrogate ("\\ud800"), which UTF-8 cannot encode."""
    pending = [value]
    while pending:  # iterative: a deeply nested body must not exhaust the stack
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode()
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


async def read_json(request: web.Request, schema: Schema) -> dict[str, Any]:
    """The request body, parsed and checked against ``schema``; a Problem (400/415/422) otherwise.

    Problem details never repeat the client's values: they may be personal data.
    """
    if request.content_type != "application/json":
        raise Problem(415, "unsupported-media-type", "send the body as application/json")
    raw = await request.read()
    try:
        body = json.loads(raw.decode("utf-8-sig"), object_pairs_hook=_object_without_duplicates)
    except _DuplicateKey:
        raise Problem(400, "malformed-json", "the body repeats a key within one JSON object") from None
    except UnicodeDecodeError:
        raise Problem(400, "malformed-json", "the body is not UTF-8") from None
    except json.JSONDecodeError as e:
        raise Problem(
            400, "malformed-json", f"the body is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    except (ValueError, RecursionError):  # e.g. an integer of too many digits, or nesting too deep
        raise Problem(400, "malformed-json", "the body is not JSON this node can read") from None
    if _holds_lone_surrogate(body):
        raise Problem(
            400,
            "malformed-json",
            "the body holds a \\u escape that is not a Unicode character (lone surrogate)",
        )
    errors = sorted(_validator(schema).iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        listed = _unique(entry for e in errors for entry in _entries(e))
        first = listed[0]
        raise Problem(
            422,
            "invalid-body",
            f"{first['pointer'] or 'body'}: {first['detail']}",
            pointer=first["pointer"],
            errors=listed,
            pointer_documented=_documented(schema, first["pointer"]),
        )
    if not isinstance(body, dict):  # the schemas only accept objects; this narrows the type
        raise Problem(422, "invalid-body", "the body must be a JSON object", pointer="")
    return body


def _unique(entries: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for entry in entries:
        key = (entry["pointer"], entry["detail"])
        if key not in seen:
            seen.add(key)
            unique.append(entry)
    return unique


def _documented(schema: Schema, pointer: str) -> bool:
    """Whether a pointer names the body itself or one of the schema's own (top-level) fields."""
    if pointer == "":
        return True
    top = pointer.split("/")[1].replace("~1", "/").replace("~0", "~")
    return top in schema.get("properties", {})


def _entries(error: ValidationError) -> list[dict[str, str]]:
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        return [
            {"pointer": _pointer([*path, key]), "detail": "is not a known field"}
            for key in sorted(set(error.instance) - set(known))
        ]
    if error.validator == "required" and isinstance(error.instance, dict):
        # jsonschema yields one error per missing property: report only this error's own property.
        missing = [key for key in error.validator_value if key not in error.instance]  # type: ignore[union-attr]
        own = [key for key in missing if error.message == f"{key!r} is a required property"]
        return [{"pointer": _pointer([*path, key]), "detail": "is required"} for key in own or missing]
    return [{"pointer": _pointer(path), "detail": _describe(error)}]


def _describe(error: ValidationError) -> str:
    # jsonschema's messages echo the offending value, which may be personal data (an ID number): say
    # what is expected instead.
    expected = error.validator_value
    match error.validator:
        case "type":
            return f"must be of type {expected}"
        case "pattern" if expected == NO_CONTROL_CHARACTERS:
            return "must not contain control characters (U+0000 to U+001F, U+007F)"
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
        case "minimum" | "exclusiveMinimum":
            return f"must be at least {expected}" + (" (exclusive)" if error.validator != "minimum" else "")
        case "maximum" | "exclusiveMaximum":
            return f"must be at most {expected}" + (" (exclusive)" if error.validator != "maximum" else "")
        case "minItems" | "maxItems":
            return f"must have {'at least' if error.validator == 'minItems' else 'at most'} {expected} items"
        case "minProperties" | "maxProperties":
            bound = "at least" if error.validator == "minProperties" else "at most"
            return f"must have {bound} {expected} fields"
        case "uniqueItems":
            return "must not repeat an item"
        case "propertyNames":
            return "has a key that is not allowed (see /openapi.json)"
    # Anything else: jsonschema's own message would quote the value, so only name the rule.
    return f"does not satisfy '{error.validator}' (see /openapi.json)"
