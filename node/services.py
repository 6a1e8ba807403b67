"""What the entrypoints (REST, gRPC) are given by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from node.application import CertificateRegistry
from node.auth import TokenVerifier
from node.metrics import NodeMetrics
from node.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    certificates: CertificateRegistry
    tokens: TokenVerifier
    metrics: NodeMetrics

    @property
    def province(self) -> str:
        return self.settings.province
