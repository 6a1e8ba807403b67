"""The use-case services built by the composition root over an in-memory event store
(``tests.builders.InMemorySettings``): the ``services`` and ``node`` fixtures of ``tests/conftest.py`` build
on this ``settings``, and ``node`` runs on the injected clock, never the wall clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from node.bootstrap import build_services, close_services
from node.services import Services
from node.settings import Settings
from node.signing import Ed25519Signer
from tests.builders import FakeClock, in_memory, load_sample_catalogues, node_settings
from tests.conftest import PROVINCE, Keys


@pytest.fixture
def settings(keys: Keys) -> Settings:
    return in_memory(node_settings(keys.data_dir, PROVINCE))


@pytest.fixture
def jiangsu(keys: Keys, clock: FakeClock) -> Iterator[Services]:
    """A second node, Jiangsu's (320000), in memory on the same clock, with the sample catalogues."""
    Ed25519Signer.generate().write_key_pair(
        keys.data_dir / "320000" / "signing.key", keys.data_dir / "320000" / "signing.pub"
    )
    services = build_services(in_memory(node_settings(keys.data_dir, "320000")), clock=clock)
    load_sample_catalogues(services.catalogue)
    yield services
    close_services(services)
