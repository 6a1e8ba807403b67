"""The one RFC 3339 date-time parser of the node, strict: what REST bodies, query parameters and the audit
commands accept as an instant.

RFC 3339 section 5.6: date, ``T`` (or ``t``), time with seconds, an optional fraction, then ``Z`` (or ``z``)
or a numeric offset; ASCII digits only. Python's ``datetime.fromisoformat`` is looser (no offset, a space,
other scripts' digits), so it only ever reads what this pattern accepted.
"""

from __future__ import annotations

import re
from datetime import datetime

_RFC3339 = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]{1,9}))?(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


class NotAnInstant(ValueError):
    """The text is no RFC 3339 date-time with an offset; the message says why, never repeating the text."""


def parse_rfc3339(text: str) -> datetime:
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise NotAnInstant(
            "must be an RFC 3339 date-time with a time zone offset, e.g. 2026-12-05T09:00:00+08:00"
        )
    offset = match["offset"].upper().replace("Z", "+00:00")
    fraction = f".{match['fraction'][:6]:0<6}" if match["fraction"] else ""  # microseconds at most
    try:
        return datetime.fromisoformat(f"{match['date']}T{match['time']}{fraction}{offset}")
    except ValueError:  # e.g. 2026-02-30, a leap second (:60) or an offset of 24 hours
        raise NotAnInstant("is not a real date-time") from None
