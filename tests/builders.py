"""Builders for valid test inputs; each test overrides only what it is about."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aggregates.certificate import Certificate, CertificateContent
from aggregates.responsibility import Actor
from simulators.sample_data import sample_certificates

ACTOR = Actor("310000", "OFFICE01", "op-001")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def issue_body(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A valid POST /v1/certificates body (holder data is synthetic)."""
    return {**sample_certificates("310000", n + 1, seed=7)[n], **overrides}


def content(serial: str = "2430599", **overrides: Any) -> CertificateContent:
    fields = {"service_item_code": None, **issue_body(), **overrides}
    return CertificateContent.create(serial=serial, **fields)


def issued(at: datetime = T0, **overrides: Any) -> Certificate:
    return Certificate.issue(
        content(**overrides),
        signature="c2lnbmF0dXJl",
        signature_algorithm="Ed25519",
        signing_key_id="0011223344556677",
        actor=ACTOR,
        at=at,
    )
