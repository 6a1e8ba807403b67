"""`tongban audit ...`: the auditors' tools. ``verify``, ``replay`` and ``export`` open a node's store (the
node may be running); ``check-bundle`` needs nothing but a bundle and the federation manifest."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from aggregates.errors import InvalidField
from federation.pki import ManifestError, load_manifest, signed_by_member
from federation.tree_heads import SignatureCheck
from node.audit.evidence import check_bundle, export_case
from node.audit.replay import replay_case, replay_certificate, replay_log
from node.audit.verify import verify as verify_history
from node.cli.node_commands import NodeOpener, add_node_arguments, on_node
from node.progress import ProgressBar
from node.rfc3339 import NotAnInstant, parse_rfc3339
from node.services import Services
from node.store.application import NotFound


def add_audit_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], open_node: NodeOpener
) -> None:
    audit = commands.add_parser("audit", help="auditors' tools: prove what a node's history holds")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)

    def node_command(name: str, help_text: str, run: Callable[[Services, argparse.Namespace], int]) -> Any:
        parser = audit_commands.add_parser(name, help=help_text)
        add_node_arguments(parser)
        parser.set_defaults(run=on_node(open_node, "audit", run))
        return parser

    node_command(
        "verify",
        "recompute the transparency tree from the node's store; check it against the logged leaves, every "
        "signed tree head and every cosignature (exit 1 at the first bad leaf)",
        _verify,
    )
    replay = node_command(
        "replay",
        "the state as of an instant from the events alone: one case or certificate with the chain of who "
        "did what, or (neither given) a summary of the whole log",
        _replay,
    )
    replay.add_argument(
        "--as-of", required=True, type=_instant, help="RFC 3339, e.g. 2026-11-23T10:00:00+08:00"
    )
    subject = replay.add_mutually_exclusive_group()
    subject.add_argument("--case", help="a case id")
    subject.add_argument("--certificate", help="a certificate identifier (GB/T 36904)")
    export = node_command(
        "export",
        "write a case's evidence bundle: its events, inclusion proofs and the witnessed head",
        _export,
    )
    export.add_argument("--case", required=True, help="a case id")
    export.add_argument("--out", type=Path, required=True, help="the bundle file to write (JSON)")

    check = audit_commands.add_parser(
        "check-bundle", help="verify an evidence bundle offline, with only the federation manifest"
    )
    check.add_argument("bundle", type=Path)
    check.add_argument("--manifest", type=Path, required=True, help="the federation's manifest.json")
    check.add_argument("--manifest-key", type=Path, required=True, help="the federation's manifest.pub")
    check.set_defaults(run=_check_bundle)


def _instant(text: str) -> datetime:
    try:
        return parse_rfc3339(text)
    except NotAnInstant as e:
        raise argparse.ArgumentTypeError(f"--as-of {e}") from None


def _verify(services: Services, _args: argparse.Namespace) -> int:
    if services.federation is None and services.transparency.log.holds_cosignatures():
        # without the manifest no cosignature can be checked: say so, rather than call them forged
        print(
            "tongban audit verify: the log holds other provinces' cosignatures, and checking them needs the "
            "federation manifest: set federation_dir (TONGBAN_FEDERATION_DIR) as the node has it",
            file=sys.stderr,
        )
        return 2
    bar = ProgressBar("audit verify", services.app.recorder.max_notification_id() or 0)
    report = verify_history(
        services.app.recorder,
        services.transparency.log,
        services.province,
        services.certificates.public_keys(),
        _witness_keys(services),
        bar.update,
    )
    bar.finish()
    if report.clean:
        print(
            f"audit verify: the store gives all {report.leaves_checked} logged leaves, "
            f"{report.heads_checked} signed tree heads and their cosignatures: no tampering found"
        )
        return 0
    where = f" at leaf {report.first_bad_index}" if report.first_bad_index is not None else ""
    print(
        f"audit verify: TAMPERING{where}: {report.problem}" + (f" ({report.event})" if report.event else "")
    )
    return 1


def _witness_keys(services: Services) -> dict[str, SignatureCheck]:
    """The other provinces' manifest keys, which check the cosignatures their witnesses returned."""
    if services.federation is None:
        return {}
    members = services.federation.manifest.current().members
    return {m.province: signed_by_member(m) for m in members if m.province != services.province}


def _replay(services: Services, args: argparse.Namespace) -> int:
    try:
        if args.case:
            result = replay_case(services, args.case, args.as_of)
        elif args.certificate:
            result = replay_certificate(services, args.certificate, args.as_of)
        else:
            bar = ProgressBar("audit replay", services.app.recorder.max_notification_id() or 0)
            result = replay_log(services.app.recorder, services.app.mapper, args.as_of, bar.update).as_json()
            bar.finish()
    except (InvalidField, NotFound) as e:
        print(f"tongban audit replay: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _export(services: Services, args: argparse.Namespace) -> int:
    bar = ProgressBar("audit export", services.app.recorder.max_notification_id() or 0)
    try:
        bundle = export_case(services, args.case, bar.update)
    except (InvalidField, NotFound) as e:
        print(f"\ntongban audit export: {e}", file=sys.stderr)
        return 2
    bar.finish()
    args.out.write_text(json.dumps(bundle, ensure_ascii=False, indent=1))
    witnesses = ", ".join(c["witness"] for c in bundle["head"]["cosignatures"]) or "none yet"
    print(
        f"audit export: {len(bundle['events'])} events of case {args.case} with inclusion proofs in the head "
        f"of size {bundle['head']['tree_size']} (cosigned by: {witnesses}) -> {args.out}"
    )
    return 0


def _check_bundle(args: argparse.Namespace) -> int:
    try:
        manifest = load_manifest(args.manifest, args.manifest_key)
        bundle = json.loads(args.bundle.read_text())
        report = check_bundle(bundle, manifest)
    except (OSError, ValueError, ManifestError) as e:  # BundleError is a ValueError
        print(f"check-bundle: REJECTED: {e}")
        return 1
    print(
        f"check-bundle: OK: {len(report.events)} events of case {report.case_id} are in province "
        f"{report.province}'s signed tree of size {report.tree_size}; cosigned by "
        f"{', '.join(report.witnesses) or 'no witness'}"
    )
    for step in report.events:
        print(
            f"  v{step['version']} {step['at']} {step['event']} by {step['province']}/{step['office_code']}/"
            f"{step['operator_id']}"
        )
    return 0
