"""The federation's parts, from the directory `tongban pki` wrote: TLS identity, CA, signed manifest; and
the replication parts built on them (outbox, inbox, peer clients, one status per peer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import grpc

from federation.client import PeerClients
from federation.handshake import channel_credentials, server_credentials
from federation.inbox import Inbox
from federation.manifest_source import ManifestSource
from federation.pki import ManifestError, load_manifest
from federation.puller import PeerStatus
from federation.servicer import FederationServicer
from node.usecases.witnessing import WitnessingService


class FederationSetupError(RuntimeError):
    """The federation directory is incomplete or its manifest is not valid; the message says what."""


@dataclass(frozen=True)
class FederationFiles:
    manifest: ManifestSource
    server_credentials: grpc.ServerCredentials
    channel_credentials: grpc.ChannelCredentials


@dataclass(frozen=True)
class FederationSetup:
    manifest: ManifestSource
    servicer: FederationServicer
    credentials: grpc.ServerCredentials
    clients: PeerClients
    inbox: Inbox
    witnessing: WitnessingService  # this node as a witness of the peers' transparency logs
    statuses: dict[str, PeerStatus] = field(default_factory=dict)  # one per peer province


def load_federation_files(directory: Path, province: str) -> FederationFiles:
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
    identity = (files["key"].read_bytes(), files["certificate"].read_bytes(), files["ca"].read_bytes())
    source = ManifestSource(files["manifest"], files["manifest key"], manifest)
    return FederationFiles(source, server_credentials(*identity), channel_credentials(*identity))
