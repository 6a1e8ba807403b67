"""Evidence bundles on both stores: a case's bundle, exported with a witnessed head, checks offline with only
the federation manifest; a bundle changed in any part (an event's bytes, a missing step, a proof node, the
head, a cosignature) or checked against another federation's manifest is rejected."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from federation.pki import create_dev_federation, load_manifest
from federation.tree_heads import Cosignature, cosignature_payload
from node.audit.evidence import BundleError, check_bundle, export_case
from node.cli import main as cli
from node.services import Services
from node.signing import Ed25519Signer
from node.usecases.case_commands import ACCEPT
from node.usecases.transparency import tree_head
from tests.builders import FakeClock
from tests.integration.test_case_service import JS_HANDLER, proxy_case

JS = "320000"


def federation(directory: Path, node: Services, jiangsu: Ed25519Signer) -> Path:
    keys = {node.province: node.certificates.public_keys()[0].pem, JS: jiangsu.public_key_pem()}
    endpoints = {node.province: "127.0.0.1:1", JS: "127.0.0.1:2"}
    return create_dev_federation(directory, endpoints, {node.province: "上海", JS: "江苏"}, keys)


def witnessed_case(node: Services, clock: FakeClock, jiangsu: Ed25519Signer) -> str:
    """A case, a signed head over it, and Jiangsu's cosignature of that head."""
    case_id = proxy_case(node, clock)
    node.cases.run(ACCEPT, case_id, JS_HANDLER)
    assert node.transparency.publish_head() is not None
    latest = node.transparency.log.latest_head()
    assert latest is not None
    head = tree_head(latest, node.province)
    at = clock().isoformat()
    cosignature = Cosignature(JS, jiangsu.key_id, at, jiangsu.sign(cosignature_payload(head, JS, at)))
    node.transparency.accept_cosignature(head, cosignature, jiangsu.public_key().verify)
    return case_id


def test_an_exported_bundle_checks_offline(node: Services, clock: FakeClock, tmp_path: Path) -> None:
    jiangsu = Ed25519Signer.generate()
    case_id = witnessed_case(node, clock, jiangsu)
    manifest = load_manifest(federation(tmp_path / "fed", node, jiangsu), tmp_path / "fed" / "manifest.pub")
    bundle = json.loads(json.dumps(export_case(node, case_id)))  # as written to a file and read back
    report = check_bundle(bundle, manifest)
    timeline = node.cases.timeline(case_id)
    assert (report.case_id, report.witnesses) == (case_id, [JS])
    assert [(e["version"], e["event"], e["province"]) for e in report.events] == [
        (t.version, t.event, t.province) for t in timeline
    ]


def _flip_state(bundle: dict[str, Any]) -> None:
    bundle["events"][2]["state"] = bundle["events"][3]["state"]


def _drop_step(bundle: dict[str, Any]) -> None:
    del bundle["events"][1]


def _flip_path(bundle: dict[str, Any]) -> None:
    path = bundle["events"][0]["inclusion_path"]
    path[0] = "00" * 32


def _flip_root(bundle: dict[str, Any]) -> None:
    bundle["head"]["root_hash"] = "11" * 32


def _forge_cosignature(bundle: dict[str, Any]) -> None:
    bundle["head"]["cosignatures"][0]["cosigned_at"] = "2030-01-01T00:00:00+00:00"


TAMPERING: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "state": (_flip_state, "is not in the signed tree"),
    "missing step": (_drop_step, "a step is missing"),
    "proof": (_flip_path, "is not in the signed tree"),
    "head": (_flip_root, "is not signed by province"),
    "cosignature": (_forge_cosignature, "cosignature of province 320000 does not verify"),
}


@pytest.mark.parametrize("change", list(TAMPERING))
def test_a_changed_bundle_is_rejected(node: Services, clock: FakeClock, tmp_path: Path, change: str) -> None:
    jiangsu = Ed25519Signer.generate()
    case_id = witnessed_case(node, clock, jiangsu)
    manifest = load_manifest(federation(tmp_path / "fed", node, jiangsu), tmp_path / "fed" / "manifest.pub")
    bundle = export_case(node, case_id)
    tamper, message = TAMPERING[change]
    changed = copy.deepcopy(bundle)
    tamper(changed)
    with pytest.raises(BundleError, match=message):
        check_bundle(changed, manifest)
    other = load_manifest(
        federation(tmp_path / "other", node, Ed25519Signer.generate()), tmp_path / "other" / "manifest.pub"
    )
    with pytest.raises(BundleError, match="cosignature of province 320000"):
        check_bundle(bundle, other)  # Jiangsu's key there is not the one that cosigned


@pytest.mark.usefixtures("restored_logging")
def test_the_cli_exports_and_checks_a_bundle(
    node: Services,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    jiangsu = Ed25519Signer.generate()
    case_id = witnessed_case(node, clock, jiangsu)
    fed = federation(tmp_path / "fed", node, jiangsu).parent
    settings = node.settings
    monkeypatch.setenv("TONGBAN_DATA_DIR", str(settings.data_dir))
    if settings.postgres_url:
        monkeypatch.setenv("TONGBAN_POSTGRES_URL", settings.postgres_url)
        monkeypatch.setenv("TONGBAN_POSTGRES_SCHEMA", settings.postgres_schema)
    out = tmp_path / "bundle.json"
    export = ["audit", "export", "--province", node.province, "--case", case_id, "--out", str(out)]
    assert cli.main(export) == 0
    assert "cosigned by: 320000" in capsys.readouterr().out
    check = ["audit", "check-bundle", str(out), "--manifest", str(fed / "manifest.json")]
    assert cli.main([*check, "--manifest-key", str(fed / "manifest.pub")]) == 0
    assert f"OK: {len(node.cases.timeline(case_id))} events of case {case_id}" in capsys.readouterr().out
    bundle = json.loads(out.read_text())
    _flip_state(bundle)
    out.write_text(json.dumps(bundle))
    assert cli.main([*check, "--manifest-key", str(fed / "manifest.pub")]) == 1
    assert "REJECTED" in capsys.readouterr().out
    unknown = ["audit", "export", "--province", node.province, "--case", "not-a-case", "--out", str(out)]
    assert cli.main(unknown) == 2
