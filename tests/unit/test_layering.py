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


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        (
            "aggregates",
            {"aiohttp", "grpc", "psycopg", "node", "federation", "projections", "tongban", "socket"},
        ),
        ("projections", {"node", "aiohttp"}),
        ("federation", {"node", "aiohttp"}),
    ],
)
def test_layers_point_one_way(package: str, forbidden: set[str]) -> None:
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
