"""The dependency rule, checked on the source: the domain is pure, and only the composition root knows all."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(package: str) -> dict[str, set[str]]:
    """Every module imported by each file of ``package`` (absolute names, top-level and nested imports)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def test_aggregates_import_only_the_standard_library_eventsourcing_domain_and_themselves() -> None:
    offenders = {
        f"{path}: {name}"
        for path, names in imported_modules("aggregates").items()
        for name in names
        if not (
            name.split(".")[0] in sys.stdlib_module_names
            or name == "eventsourcing.domain"
            or name.split(".")[0] == "aggregates"
        )
    }
    assert not offenders, f"aggregates/ must stay pure: {sorted(offenders)}"


# Each top-level package and the packages of ours it may import: data flows one way, from the domain up to the
# node, and the tools (simulators, benchmarks, tests) sit above it. No two packages import each other.
OURS = (
    "aggregates",
    "infra",
    "credentials",
    "wallet",
    "verifier",
    "projections",
    "federation",
    "node",
    "simulators",
    "benchmarks",
    "tests",
)
MAY_IMPORT: dict[str, set[str]] = {
    "aggregates": set(),  # the pure domain (checked more strictly above)
    "infra": set(),  # the Merkle tree and the view store, below both federation and projections
    "credentials": set(),  # SD-JWT, status lists, offline checks: for the node, wallets and verifiers alike
    "projections": {"aggregates", "infra", "credentials"},
    "federation": {"aggregates", "infra"},
    "wallet": {"credentials"},  # the holder's device: formats only
    "verifier": {"credentials", "federation"},  # the offline kit: formats and the manifest, never the node
    "node": {"aggregates", "infra", "credentials", "projections", "federation"},
    "simulators": {
        "aggregates",
        "infra",
        "credentials",
        "wallet",
        "verifier",
        "projections",
        "federation",
        "node",
    },
    "benchmarks": {
        "aggregates",
        "infra",
        "credentials",
        "wallet",
        "verifier",
        "projections",
        "federation",
        "node",
        "simulators",
    },
    "tests": set(OURS) - {"tests"},
}


@pytest.mark.parametrize("package", OURS)
def test_each_package_imports_only_the_layers_below_it(package: str) -> None:
    offenders = {
        f"{path}: {name}"
        for path, names in imported_modules(package).items()
        for name in names
        if name.split(".")[0] in OURS
        and name.split(".")[0] != package
        and name.split(".")[0] not in MAY_IMPORT[package]
    }
    assert not offenders, sorted(offenders)


def test_no_two_packages_import_each_other() -> None:
    pairs = {(a, b) for a, allowed in MAY_IMPORT.items() for b in allowed}
    assert not {(a, b) for a, b in pairs if (b, a) in pairs}


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("aggregates", {"aiohttp", "grpc", "psycopg", "tongban", "socket"}),
        ("infra", {"aiohttp", "grpc", "tongban"}),
        ("projections", {"aiohttp", "grpc"}),
        ("federation", {"aiohttp"}),
        ("credentials", {"aiohttp", "grpc", "psycopg", "eventsourcing", "tongban"}),
    ],
)
def test_lower_layers_use_no_transport_they_do_not_serve(package: str, forbidden: set[str]) -> None:
    offenders = {
        f"{path}: {name}"
        for path, names in imported_modules(package).items()
        for name in names
        if name.split(".")[0] in forbidden
    }
    assert not offenders, sorted(offenders)


def test_only_the_composition_root_constructs_the_application() -> None:
    constructing = [
        str(p.relative_to(ROOT))
        for package in ("node", "projections", "federation", "simulators")
        for p in (ROOT / package).rglob("*.py")
        if "NodeApplication(" in p.read_text() and p.name not in ("bootstrap.py", "application.py")
    ]
    assert not constructing, f"only node/bootstrap.py may construct the application: {constructing}"


# Inside node/: each part and the parts of node/ it may import. The shared modules at the top of node/ (auth,
# clock, errors, settings, signing, metrics, logging, progress...) sit just above the store; the use cases
# above the schemas and the calendar; the presentation above the use cases; the entrypoints (http, grpc, the
# audit tools) above those; the container and the composition root above them; the runner and the CLI last.
SHARED = {"node.shared"}
NODE_MAY_IMPORT: dict[str, set[str]] = {
    "node.store": set(),
    "node.shared": {"node.store"},
    "node.schemas": set(),
    "node.calendar": {"node.shared"},
    "node.usecases": {"node.store", "node.shared", "node.schemas", "node.calendar"},
    "node.presentation": {"node.store", "node.shared", "node.schemas", "node.calendar", "node.usecases"},
    "node.workers": {"node.store", "node.shared", "node.usecases"},
    "node.services": {"node.store", "node.shared", "node.usecases", "node.workers", "node.calendar"},
    "node.http": {
        "node.store", "node.shared", "node.schemas", "node.calendar", "node.usecases", "node.presentation",
        "node.services",
    },
    "node.grpc": {
        "node.store", "node.shared", "node.schemas", "node.usecases", "node.presentation", "node.services",
    },
    "node.audit": {"node.store", "node.shared", "node.usecases", "node.presentation", "node.services"},
    "node.bootstrap": {
        "node.store", "node.shared", "node.calendar", "node.usecases", "node.workers", "node.services",
    },
    "node.runner": {
        "node.store", "node.shared", "node.calendar", "node.usecases", "node.services", "node.bootstrap",
        "node.http", "node.grpc",
    },
    "node.cli": {
        "node.store", "node.shared", "node.calendar", "node.usecases", "node.presentation", "node.services",
        "node.audit", "node.bootstrap", "node.runner",
    },
}  # fmt: skip
WIRING = {"bootstrap": "node.bootstrap", "federation_setup": "node.services", "services": "node.services"}


def node_part(module: str) -> str:
    """The part of node/ a module belongs to: its sub-package, the root's modules, or the shared modules."""
    parts = module.split(".")
    if len(parts) == 1:
        return "node.cli"  # node/__main__.py and the package itself: the command
    if (ROOT / "node" / parts[1]).is_dir():
        return f"node.{parts[1]}"
    if parts[1] in ("runner", "__main__"):
        return "node.runner" if parts[1] == "runner" else "node.cli"
    return WIRING.get(parts[1], "node.shared")


def test_each_part_of_node_imports_only_the_parts_below_it() -> None:
    offenders = set()
    for path, names in imported_modules("node").items():
        module = path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        me = node_part(module)
        for name in names:
            if name.split(".")[0] != "node" or name == "node":
                continue
            other = node_part(name)
            if other != me and other not in NODE_MAY_IMPORT[me]:
                offenders.add(f"{path}: {name} ({me} may not import {other})")
    assert not offenders, sorted(offenders)


def test_no_two_parts_of_node_import_each_other() -> None:
    pairs = {(a, b) for a, allowed in NODE_MAY_IMPORT.items() for b in allowed}
    assert not {(a, b) for a, b in pairs if (b, a) in pairs}
