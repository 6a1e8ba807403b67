"""Request ids: one rule for REST (``X-Request-Id``) and gRPC (``x-request-id`` metadata)."""

from __future__ import annotations

import re
import uuid

# Conservative on purpose: the id is echoed in headers and written to every log line of the request.
_ACCEPTED = re.compile(r"[0-9A-Za-z._-]{8,64}")


def accept_request_id(supplied: str | None) -> str:
    """The caller's id when it is safe to echo and log, otherwise a fresh random one."""
    if supplied is not None and _ACCEPTED.fullmatch(supplied):
        return supplied
    return uuid.uuid4().hex
