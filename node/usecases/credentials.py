"""Holder credentials (亮证): the issuing node gives the holder's device an SD-JWT of a valid certificate, and
revokes one on its own when the device is lost.

Who asks is the holder's platform (role ``platform``, like 随申办), on the holder's behalf: it names the
certificate and the holder, and passes on the device's proof that it holds the key the credential will be
bound to (``credentials/proof.py``). The node checks that the holder is the certificate's holder and the
proof, draws a random free entry of its status list, signs the credential with its own key (the signer
interface) and records the issue on the certificate (``CredentialIssued``: who, when, the device key's
thumbprint; never the credential or the personal data), with the entry's claim, in one transaction.

A credential is short-lived: the platform refreshes it by asking again with a fresh proof of the same device.
A device that holds a live credential of the certificate gets that credential again with a later expiry
(``CredentialRefreshed``): the same id, status list entry and device key, so a refresh spends no entry of the
list and the use records the verifiers uploaded still name it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from eventsourcing.persistence import IntegrityError

from aggregates.certificate import Certificate, validate_holder_id
from aggregates.certificate_types import certificate_type
from aggregates.errors import InvalidField
from aggregates.responsibility import Actor
from aggregates.status_list import StatusIndexClaim
from credentials import sd_jwt
from credentials.jose import Invalid, JwsSigner, thumbprint
from credentials.proof import check_proof
from federation.pki import node_name
from node.store.application import AlreadyExists, Clock, NodeApplication, NotFound
from node.usecases.certificates import CertificateService

_ATTEMPTS = 8  # draws of a free status list entry; a list kept well under capacity needs one or two


@dataclass(frozen=True)
class CredentialPolicy:
    """The node's settings for credentials."""

    lifetime: timedelta  # a credential is short-lived and refreshed, never past the certificate's validity
    status_list_entries: int  # the list's size: at least 131,072 (herd privacy), a multiple of 4


def status_list_uri(province: str) -> str:
    """The status list a credential of ``province`` points to; verifiers sync it from their own node."""
    return f"urn:tongban:status-list:{province}"


@dataclass(frozen=True)
class IssuedCredential:
    credential: str  # the SD-JWT, with every disclosure: for the holder's device only
    credential_id: str
    expires_at: datetime
    refreshed: bool  # the device's live credential issued again, not a new one


class CredentialService:
    def __init__(
        self,
        app: NodeApplication,
        certificates: CertificateService,
        signer: JwsSigner,
        province: str,
        policy: CredentialPolicy,
        clock: Clock,
    ) -> None:
        self._app = app
        self._certificates = certificates
        self._signer = signer
        self._province = province
        self._policy = policy
        self._clock = clock

    def issue(
        self, actor: Actor, identifier: str, holder_id_type: str, holder_id: str, proof: str
    ) -> IssuedCredential:
        """A credential of a certificate this node issued, for one of its holders' devices."""
        now = self._clock()
        holder_id = validate_holder_id(holder_id_type, holder_id)  # its one written form (an x is an X)
        try:
            jwk, _ = check_proof(proof, node_name(self._province), int(now.timestamp()))
        except Invalid as refused:
            raise InvalidField("proof", f"does not check ({refused.code})") from None
        for _ in range(_ATTEMPTS):
            certificate = self._own(identifier)
            if (holder_id_type, holder_id) not in certificate.content.holders():
                raise InvalidField("holder", "is not a holder of this certificate")
            expires_at = min(now + self._policy.lifetime, certificate.credential_limit(now))
            device = thumbprint(jwk)
            live = certificate.live_credential(device)
            claim: StatusIndexClaim | None = None
            if live is not None:
                credential_id, index = live, certificate.credentials[live]
                certificate.refresh_credential(credential_id, expires_at, actor=actor, at=now)
            else:
                credential_id = secrets.token_urlsafe(16)
                index = secrets.randbelow(self._policy.status_list_entries)
                certificate.issue_credential(credential_id, index, device, expires_at, actor=actor, at=now)
                claim = StatusIndexClaim.claim(self._province, index, str(certificate.id), now)
            text = self._signed(certificate, credential_id, index, jwk, now, expires_at)  # before it counts
            try:
                self._app.save(certificate, claim)
            except IntegrityError:
                continue  # the entry was taken (or the certificate changed): draw again
            return IssuedCredential(text, credential_id, expires_at, refreshed=live is not None)
        raise AlreadyExists("no free status list entry after several draws: the list is too full")

    def revoke(self, actor: Actor, identifier: str, credential_id: str, reason: str) -> Certificate:
        """A lost or stolen device: its credential is revoked alone; the certificate is untouched."""
        certificate = self._own(identifier)
        certificate.revoke_credential(credential_id, reason, actor=actor, at=self._clock())
        try:
            self._app.save(certificate)
        except IntegrityError:
            raise AlreadyExists("the certificate changed meanwhile; try again") from None
        return certificate

    def _own(self, identifier: str) -> Certificate:
        if not self._certificates.issued_here(identifier):
            raise NotFound("no certificate with that identifier was issued by this node")
        return self._certificates.certificate(identifier)

    def _signed(
        self,
        certificate: Certificate,
        credential_id: str,
        index: int,
        jwk: dict[str, str],
        now: datetime,
        expires_at: datetime,
    ) -> str:
        content = certificate.content
        declared = certificate_type(content.type_code)
        assert declared is not None  # noqa: S101 - issuing refuses a type not declared
        claims = {name: getattr(content, name) for name in declared.claims}  # the type's catalogue entry
        clear = {
            "iss": node_name(self._province),
            "jti": credential_id,
            "vct": content.type_code,
            "cnf": {"jwk": jwk},
            "status": {"status_list": {"idx": index, "uri": status_list_uri(self._province)}},
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "valid_from": content.valid_from,
            "valid_to": content.valid_to,
        }
        return sd_jwt.issue(claims, clear, self._signer).serialise()
