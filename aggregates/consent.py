"""A use of a certificate (用证) and the holder's consent (授权) it rests on.

Every verification (核验) of a certificate, over any channel, is a use: it names a purpose (用证事由) and a
reference to the holder's consent, and the issuing node records it (``Certificate.Used``). A consent reference
has one documented format (docs/domain.md, "Holders and uses"):

    <who took the consent>:<YYYYMMDD>:<consent id>      e.g.  310000:20250924:AUTH-0001

- who took it: the six-digit division code of the platform (e.g. 310000 for 随申办), or the 18-character
  unified social credit code of the agency, that recorded the holder's authorisation;
- the day (in China) the holder gave it: a real date, not after the day of the use;
- the platform's own id of that consent record: 1 to 64 ASCII letters, digits and hyphens.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum

from aggregates.errors import InvalidField
from aggregates.identifiers import CREDIT_CODE_ALPHABET

# ASCII only, spelled out: \d and \w would let other scripts' digits and letters in. No Python-only syntax:
# the REST schema publishes the same pattern (ECMA-262).
CONSENT_REFERENCE_PATTERN = (
    rf"^(?:[0-9]{{6}}|[{CREDIT_CODE_ALPHABET}]{{18}}):[0-9]{{8}}:[0-9A-Za-z-]{{1,64}}$"
)
CONSENT_REFERENCE_EXAMPLE = "310000:20250924:AUTH-0001"
_CONSENT = re.compile(CONSENT_REFERENCE_PATTERN)


class UseChannel(StrEnum):
    """How a certificate was verified for the use."""

    FEDERATION = "FEDERATION"  # another province's node asked (gRPC federation, 证照互认 for its case)
    REST = "REST"  # a platform asked this node's REST API (POST /v1/verifications)
    GRPC = "GRPC"  # a platform asked this node's public gRPC API (VerifyCertificate)
    CASE = "CASE"  # a case of this node took it as a material (in the issuing province)
    OFFLINE = "OFFLINE"  # 亮证: a registered verifier's kit checked the holder's credential offline


def validate_consent_reference(value: str, used_on: date) -> str:
    """The reference as given, or :class:`InvalidField`; the message never repeats the value."""
    if _CONSENT.fullmatch(value) is None:  # fullmatch: "$" alone lets a trailing newline through
        raise InvalidField(
            "consent_reference",
            f"must be <division code or credit code>:<YYYYMMDD>:<id>, e.g. {CONSENT_REFERENCE_EXAMPLE}",
        )
    day = value.split(":")[1]
    try:
        given_on = date(int(day[:4]), int(day[4:6]), int(day[6:]))
    except ValueError:
        raise InvalidField("consent_reference", "its date must be a real day (YYYYMMDD)") from None
    if given_on > used_on:
        raise InvalidField("consent_reference", "its date must not be after the day of the use")
    return value
