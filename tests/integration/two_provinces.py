"""Two provinces' nodes in one process, each on its own store of the same kind: the destination's
transfer-in (迁入) reaches the origin's certificate service as the federation's AcceptTransfer does
(federation/servicer.py), its refusals translated as the federation client translates the gRPC statuses
(federation/client.py). The gRPC path itself runs in tests/e2e/test_certificate_transfer.py."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from aggregates.errors import IllegalTransition, InvalidField
from federation.errors import RemoteConflict, RemoteInvalid, RemoteNotFound
from node.bootstrap import build_services, close_services
from node.services import Services
from node.signing import Ed25519Signer
from node.usecases.certificates import CertificateService
from tests.builders import FakeClock, node_settings
from tests.conftest import drop_schema


class InProcessOrigins:
    """``TransferOrigins`` for ``destination``: the origin nodes called directly instead of over gRPC."""

    def __init__(self, destination: str, origins: dict[str, Services]) -> None:
        self._destination = destination
        self._origins = origins
        self.calls = 0

    def accept_transfer(
        self, origin: str, previous_identifier: str, destination_identifier: str, holder_digest: str
    ) -> None:
        self.calls += 1
        service = self._origins[origin].certificates
        try:
            answer = service.accept_transfer(
                previous_identifier, self._destination, destination_identifier, holder_digest
            )
        except IllegalTransition as e:
            raise RemoteConflict(f"province {origin}: {e}") from None
        except InvalidField as e:
            raise RemoteInvalid(f"province {origin}: {e}") from None
        if answer is None:
            raise RemoteNotFound(f"province {origin}: no such certificate was issued here")
        assert answer.assertion["destination_identifier"] == destination_identifier


def with_origins(services: Services, origins: InProcessOrigins) -> Services:
    """The same node, its certificate service reaching the origins of its transfers-in."""
    signer = Ed25519Signer.from_pem_file(services.settings.signing_key)
    certificates = CertificateService(
        services.app,
        signer=signer,
        public_keys=[signer.public_key()],
        province=services.province,
        clock=services.cases.now,
        origins=origins,
    )
    return dataclasses.replace(services, certificates=certificates)


@contextmanager
def another_province(services: Services, province: str, clock: FakeClock) -> Iterator[Services]:
    """A node of ``province`` on a fresh store of the same kind as ``services``'s, on ``clock``."""
    settings = services.settings
    directory = settings.data_dir
    Ed25519Signer.generate().write_key_pair(
        directory / province / "signing.key", directory / province / "signing.pub"
    )
    schema = f"test_{uuid.uuid4().hex[:12]}" if settings.postgres_url else ""
    environ = (
        {"TONGBAN_POSTGRES_URL": settings.postgres_url, "TONGBAN_POSTGRES_SCHEMA": schema} if schema else {}
    )
    other = build_services(
        node_settings(directory, province, TONGBAN_HTTP_PORT="0", TONGBAN_GRPC_PORT="0", **environ),
        clock=clock,
    )
    try:
        yield other
    finally:
        close_services(other)
        if schema:
            drop_schema(schema)
