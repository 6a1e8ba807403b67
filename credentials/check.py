"""The offline verdict on a presentation (亮证核验): no network, only what the verifier kit keeps.

Checks, in this order, each with its own reason for a refusal:
1. the issuer's signature, with the key the federation's manifest lists for the issuing province (a retired
   key still checks while the manifest lists it as retired);
2. every disclosure against the digests the issuer signed, and the key binding against ``cnf``
   (``sd_jwt.verify_presentation``);
3. the certificate type and the claims shown against the verifier's own request: nothing more, nothing less;
4. nonce, audience and freshness of the key binding;
5. the credential's own validity and the certificate's validity window;
6. the status bit in the issuing province's last status list, whose age is always shown: older than the
   scenario allows gives ACCEPT_STALE where the policy accepts it, a refusal otherwise;
7. last, a nonce never seen before at this verifier: a presentation shown again is a replay, but one refused
   for what it is (a revoked certificate) says so whenever it is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from credentials.jose import Invalid, unverified_header, unverified_payload
from credentials.policy import ScenarioPolicy
from credentials.requests import VerifierRequest
from credentials.sd_jwt import Presentation, split, verify_presentation
from credentials.status_list import CredentialStatus, StatusListToken

CHINA = timezone(timedelta(hours=8))  # a certificate's dates are days in China
MAX_CLOCK_SKEW_S = 60
MAX_PRESENTATION_CHARS = 16 * 1024  # a QR code holds under 3 KB: anything much larger is not a presentation


class Verdict(StrEnum):
    ACCEPT = "ACCEPT"
    ACCEPT_STALE = "ACCEPT_STALE"
    REFUSE = "REFUSE"


@dataclass(frozen=True)
class Result:
    verdict: Verdict
    reason: str  # "OK", or why it was refused or stale
    status_list_age_s: int | None = None
    issuer: str = ""  # the issuing province's node (``iss``)
    credential_id: str = ""  # ``jti``: how the issuer finds the certificate; never a disclosed value
    disclosed: dict[str, Any] = field(default_factory=dict)  # for the officer's screen only, never stored


# iss -> the keys (by key id) the federation's manifest lists for that province, current and retired; None for
# an issuer the manifest does not name
IssuerKeys = Callable[[str], Mapping[str, Ed25519PublicKey] | None]


def check(
    text: str,
    request: VerifierRequest,
    *,
    issuer_keys: IssuerKeys,
    status_lists: dict[str, StatusListToken],
    policy: ScenarioPolicy,
    seen_nonce: Callable[[str], bool],
    now: int,
) -> Result:
    """The verdict on ``text`` shown for ``request``. ``status_lists`` by list URI; ``seen_nonce(nonce)`` says
    whether this verifier has already checked a presentation with that nonce (a replay)."""
    if len(text) > MAX_PRESENTATION_CHARS:
        return Result(Verdict.REFUSE, "PRESENTATION_TOO_LARGE")
    try:
        issuer_jwt, _, _ = split(text)
        header, claimed = unverified_header(issuer_jwt), unverified_payload(issuer_jwt)
        issuer, credential_id = str(claimed.get("iss", "")), str(claimed.get("jti", ""))
    except Invalid as refused:
        return Result(Verdict.REFUSE, refused.code)
    refuse = _refusal(issuer, credential_id)
    keys = issuer_keys(issuer)
    if keys is None:
        return refuse("UNKNOWN_ISSUER")
    key = keys.get(str(header.get("kid", "")))
    if key is None:
        return refuse("UNKNOWN_ISSUER_KEY")
    try:
        shown = verify_presentation(text, key)
    except Invalid as refused:
        return refuse(refused.code)
    if reason := _against_request(shown, request, policy):
        return refuse(reason)
    if reason := _binding(shown, request, now):
        return refuse(reason)
    if reason := _validity(shown, now):
        return refuse(reason)
    result = _status(shown, status_lists, policy, now, issuer, credential_id)
    if result.verdict is not Verdict.REFUSE and seen_nonce(request.nonce):
        return Result(Verdict.REFUSE, "REPLAYED", result.status_list_age_s, issuer, credential_id)
    return result


def _refusal(issuer: str, credential_id: str) -> Callable[[str], Result]:
    return lambda reason: Result(Verdict.REFUSE, reason, issuer=issuer, credential_id=credential_id)


def _against_request(shown: Presentation, request: VerifierRequest, policy: ScenarioPolicy) -> str:
    if shown.payload.get("vct") != request.type_code or request.scenario != policy.code:
        return "WRONG_CERTIFICATE_TYPE"
    if not policy.allows(request.type_code, request.claims):
        return "CLAIMS_NOT_ALLOWED"
    if set(shown.disclosed) - set(request.claims):
        return "DISCLOSURE_NOT_REQUESTED"
    if set(request.claims) - set(shown.disclosed):
        return "CLAIM_MISSING"
    return ""


def _binding(shown: Presentation, request: VerifierRequest, now: int) -> str:
    binding = shown.binding
    if binding.get("nonce") != request.nonce:
        return "WRONG_NONCE"
    if binding.get("aud") != request.verifier:
        return "WRONG_AUDIENCE"
    at = binding.get("iat")
    if not isinstance(at, int) or isinstance(at, bool):
        return "KEY_BINDING_MALFORMED"
    if at < request.issued_at - MAX_CLOCK_SKEW_S or at > now + MAX_CLOCK_SKEW_S or now > request.expires_at:
        return "PRESENTATION_NOT_FRESH"
    return ""


def _validity(shown: Presentation, now: int) -> str:
    payload = shown.payload
    expires, starts = payload.get("exp"), payload.get("nbf", payload.get("iat"))
    if not isinstance(expires, int) or not isinstance(starts, int):
        return "MALFORMED_CREDENTIAL"
    if now > expires + MAX_CLOCK_SKEW_S:
        return "CREDENTIAL_EXPIRED"
    if now + MAX_CLOCK_SKEW_S < starts:
        return "CREDENTIAL_NOT_YET_VALID"
    today = datetime.fromtimestamp(now, CHINA).date()
    try:
        valid_from = date.fromisoformat(str(payload["valid_from"]))
        valid_to = None if payload.get("valid_to") is None else date.fromisoformat(str(payload["valid_to"]))
    except (KeyError, ValueError):
        return "MALFORMED_CREDENTIAL"
    if today < valid_from:
        return "CERTIFICATE_NOT_YET_VALID"
    if valid_to is not None and today > valid_to:
        return "CERTIFICATE_EXPIRED"
    return ""


def _status(
    shown: Presentation,
    status_lists: dict[str, StatusListToken],
    policy: ScenarioPolicy,
    now: int,
    issuer: str,
    credential_id: str,
) -> Result:
    refuse = _refusal(issuer, credential_id)
    reference = shown.payload.get("status")
    try:
        entry = reference["status_list"]  # type: ignore[index]
        uri, index = entry["uri"], entry["idx"]
    except (KeyError, TypeError):
        return refuse("MALFORMED_CREDENTIAL")
    listed = status_lists.get(uri) if isinstance(uri, str) else None
    if listed is None:
        return refuse("NO_STATUS_LIST")
    age = max(0, now - listed.issued_at)
    if not isinstance(index, int) or isinstance(index, bool):
        return Result(Verdict.REFUSE, "MALFORMED_CREDENTIAL", age, issuer, credential_id)
    if not 0 <= index < listed.entries.size:
        return Result(Verdict.REFUSE, "STATUS_INDEX_OUT_OF_RANGE", age, issuer, credential_id)
    status = listed.entries[index]
    if status is not CredentialStatus.VALID:
        reason = "SUSPENDED" if status is CredentialStatus.SUSPENDED else "REVOKED"
        return Result(Verdict.REFUSE, reason, age, issuer, credential_id)
    if age > policy.max_status_age_s:
        if not policy.accept_stale:
            return Result(Verdict.REFUSE, "STATUS_LIST_TOO_OLD", age, issuer, credential_id)
        return Result(Verdict.ACCEPT_STALE, "STATUS_LIST_STALE", age, issuer, credential_id, shown.disclosed)
    return Result(Verdict.ACCEPT, "OK", age, issuer, credential_id, shown.disclosed)
