"""A local federation of real node processes: a dev PKI, one signed manifest, one node per province, each
serving REST, public gRPC and its mutual-TLS federation port on loopback.

The manifest must name each node's federation endpoint before the nodes start, so the ports are chosen first:
the OS picks each (bind to port 0), the socket is released, and the node binds it a moment later.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from pathlib import Path

from aggregates.responsibility import Actor
from federation.pki import create_dev_federation
from node.bootstrap import build_services, close_services
from node.settings import PROVINCES, load_settings
from simulators.cluster import YANGTZE_RIVER_DELTA, NodeProcess, prepare_keys
from simulators.sample_data import sample_catalogue


def free_ports(count: int) -> list[int]:
    """Ports the OS picks on 127.0.0.1, released for the nodes to bind."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class FederatedCluster:
    """``prepare()`` once (PKI, keys, catalogues), then ``start()``; ``stop()`` stops every node."""

    def __init__(
        self,
        data_dir: Path,
        provinces: Iterable[str] = YANGTZE_RIVER_DELTA,
        store_env: dict[str, dict[str, str]] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.provinces = tuple(provinces)
        self.federation_dir = data_dir / "federation"
        self.store_env = store_env or {}
        self.extra_env = extra_env or {}
        self.issuer_key = data_dir / "token-issuer.key"
        self.ports: dict[str, int] = {}
        self.nodes: dict[str, NodeProcess] = {}

    def prepare(self) -> None:
        prepare_keys(self.data_dir, self.provinces)
        self.ports = dict(zip(self.provinces, free_ports(len(self.provinces)), strict=True))
        signing_keys = {p: (self.data_dir / p / "signing.pub").read_text() for p in self.provinces}
        create_dev_federation(
            self.federation_dir,
            {p: f"127.0.0.1:{port}" for p, port in self.ports.items()},
            {p: PROVINCES[p] for p in self.provinces},
            signing_keys,
            manifest_days=30,
        )
        for province in self.provinces:
            self._load_catalogues(province)
            self.nodes[province] = NodeProcess(province, self.data_dir, self._env(province))

    def _env(self, province: str) -> dict[str, str]:
        return {
            "TONGBAN_FEDERATION_DIR": str(self.federation_dir),
            "TONGBAN_FEDERATION_PORT": str(self.ports[province]),
            **self.store_env.get(province, {}),
            **self.extra_env,
        }

    def _load_catalogues(self, node: str) -> None:
        """Publish the sample catalogue of every province into one node's store, before the node starts."""
        environ = {"TONGBAN_DATA_DIR": str(self.data_dir), **self.store_env.get(node, {})}
        services = build_services(load_settings(province=node, environ=environ))
        try:
            for province in self.provinces:
                actor = Actor(province, "CATALOGUE", "cluster-loader")
                services.catalogue.load(sample_catalogue(), province, actor)
        finally:
            close_services(services)

    def rebuilds_differ(self, province: str) -> list[str]:
        """The read models of a stopped node whose rows, rebuilt from the whole log, differ from the live
        ones (``tongban projections rebuild --check``)."""
        environ = {"TONGBAN_DATA_DIR": str(self.data_dir), **self.store_env.get(province, {})}
        services = build_services(load_settings(province=province, environ=environ))
        try:
            return [
                name
                for name, follower in sorted(services.projections.items())
                if not follower.rebuild_matches()
            ]
        finally:
            close_services(services)

    def start(self, provinces: Iterable[str] | None = None) -> None:
        for province in provinces or self.provinces:
            self.nodes[province].start()

    def wait_for_cosignatures(self, province: str, tree_size: int, timeout_s: float = 30.0) -> bool:
        """Block until ``province``'s node logs that it kept a cosignature of its head of ``tree_size`` from
        every other province's witness (True), or the timeout passes (False)."""
        node = self.nodes[province]
        return all(
            node.wait_for_line(
                '"transparency.cosignature_kept"',
                f'"witness": "{witness}"',
                f'"tree_size": {tree_size},',
                timeout_s=timeout_s,
            )
            for witness in self.provinces
            if witness != province
        )

    def stop(self) -> dict[str, int | None]:
        return {province: node.stop() for province, node in self.nodes.items()}
