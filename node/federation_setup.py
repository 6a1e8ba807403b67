"""The federation port's parts, from the directory `tongban pki` wrote: TLS identity, CA, signed manifest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc
from tongban.federation.v1 import federation_pb2 as pb

from federation.handshake import FederationServicer, PeerVerifier, server_credentials
from federation.pki import Manifest, ManifestError, load_manifest


class FederationSetupError(RuntimeError):
    """The federation directory is incomplete or its manifest is not valid; the message says what."""


@dataclass(frozen=True)
class FederationSetup:
    manifest: Manifest
    servicer: FederationServicer
    credentials: grpc.ServerCredentials


def load_federation(directory: Path, province: str, verifier: PeerVerifier) -> FederationSetup:
    files = {
        "ca": directory / "ca.pem",
        "key": directory / province / "node.key",
        "certificate": directory / province / "node.pem",
        "manifest": directory / "manifest.json",
        "manifest key": directory / "manifest.pub",
    }
    missing = [f"{name} ({path})" for name, path in files.items() if not path.is_file()]
    if missing:
        raise FederationSetupError(f"federation_dir lacks {', '.join(missing)}: create it with `tongban pki`")
    try:
        manifest = load_manifest(files["manifest"], files["manifest key"])
    except ManifestError as e:
        raise FederationSetupError(str(e)) from None
    if manifest.member(province) is None:
        raise FederationSetupError(f"the federation manifest does not list this node's province {province}")
    credentials = server_credentials(
        files["key"].read_bytes(), files["certificate"].read_bytes(), files["ca"].read_bytes()
    )
    # Capabilities are advertised only once implemented.
    capabilities = frozenset({pb.CAPABILITY_CERTIFICATE_VERIFICATION})
    servicer = FederationServicer(province, lambda: manifest, capabilities, verifier=verifier)
    return FederationSetup(manifest, servicer, credentials)
