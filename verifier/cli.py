"""``tongban verifier``: set up a kit, sync it with its node, make a request, check a presentation offline.

Added to ``tongban`` through the ``tongban.commands`` entry point (pyproject.toml): the node never imports it.
Times default to the machine's clock, or to the nodes' simulated one the environment names
(``credentials/clock.py``); ``--at`` (Unix seconds) fixes them, for tests and drills.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from credentials import qr
from credentials.check import Verdict
from credentials.clock import unix_now
from credentials.jose import Invalid
from credentials.requests import VerifierRequest, read_request
from verifier.kit import SyncRefused, VerifierKit
from verifier.store import KitStore
from verifier.sync import SyncFailed, sync_with_node

CONFIG_FILE = "kit.json"


def add_verifier_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "verifier", help="the offline verifier kit (亮证核验) of a police unit or desk"
    )
    kit_commands = parser.add_subparsers(dest="verifier_command", required=True)

    init = kit_commands.add_parser("init", help="make the kit's key; prints its public JWK to register")
    init.add_argument("--verifier-id", required=True, help="the id its node registers it under")
    init.add_argument("--manifest-key", type=Path, required=True, help="the federation's manifest key (PEM)")
    init.set_defaults(run=_init)

    sync = kit_commands.add_parser("sync", help="fetch the manifest, status lists, policies; upload records")
    sync.add_argument("--node", required=True, help="the node's HTTP base URL")
    sync.add_argument("--token", required=True, help="a bearer token of role verifier")
    sync.set_defaults(run=_sync)

    request = kit_commands.add_parser("request", help="a signed request for the holder (file and QR code)")
    request.add_argument("--scenario", required=True)
    request.add_argument("--type-code", required=True, help="the certificate type asked for")
    request.add_argument("--claims", required=True, help="claims asked for, comma separated")
    request.add_argument(
        "--out", type=Path, required=True, help="where to write the request (a QR PNG beside)"
    )
    request.set_defaults(run=_request)

    check = kit_commands.add_parser(
        "check", help="check a presentation offline: ACCEPT, ACCEPT_STALE or REFUSE"
    )
    check.add_argument("--request", type=Path, required=True, help="the request this kit made")
    check.add_argument("--presentation", type=Path, required=True, help="the text, or the compact form")
    check.set_defaults(run=_check)

    for command in (init, sync, request, check):
        command.add_argument("--dir", type=Path, required=True, help="the kit's directory")
        command.add_argument("--at", type=int, help="the time, in Unix seconds (default: now)")


def _now(args: argparse.Namespace) -> int:
    return unix_now(os.environ) if args.at is None else int(args.at)


def _kit(directory: Path) -> VerifierKit:
    config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    key = serialization.load_pem_public_key(config["manifest_key_pem"].encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the manifest key is not an Ed25519 key")
    return VerifierKit(KitStore(directory), config["verifier_id"], key)


def _init(args: argparse.Namespace) -> int:
    pem = args.manifest_key.read_text(encoding="utf-8")
    if not isinstance(serialization.load_pem_public_key(pem.encode()), Ed25519PublicKey):
        print("tongban verifier: the manifest key is not an Ed25519 public key", file=sys.stderr)
        return 2
    try:
        key = KitStore.create_key(args.dir)
    except FileExistsError as e:
        print(f"tongban verifier: {e}", file=sys.stderr)
        return 2
    config = {"verifier_id": args.verifier_id, "manifest_key_pem": pem}
    (args.dir / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")
    print(json.dumps({"verifier_id": args.verifier_id, "jwk": key.jwk}))
    return 0


def _sync(args: argparse.Namespace) -> int:
    try:
        outcome = sync_with_node(_kit(args.dir), args.node, args.token, _now(args))
    except (SyncFailed, SyncRefused) as e:
        print(f"tongban verifier sync: {e}", file=sys.stderr)
        return 1
    print(json.dumps(outcome))
    return 0


def _request(args: argparse.Namespace) -> int:
    kit = _kit(args.dir)
    claims = tuple(c for c in args.claims.split(",") if c)
    try:
        request = kit.request(args.scenario, args.type_code, claims, _now(args))
    except Invalid as refused:
        print(f"tongban verifier request: refused ({refused.code})", file=sys.stderr)
        return 1
    token = kit.sign(request)
    args.out.write_text(token, encoding="ascii")
    qr.save_png(qr.qr_code(token), args.out.with_suffix(".png"))
    print(qr.terminal_text(qr.qr_code(token)))
    return 0


def _own_request(kit: VerifierKit, directory: Path, token: str, now: int) -> VerifierRequest:
    """The kit's own request, read back with its own key: only a request it made can be checked against."""
    own_key = KitStore(directory).key().private_key.public_key()
    return read_request(token, lambda verifier, kid: own_key, kit.policies(), now)


def _check(args: argparse.Namespace) -> int:
    kit = _kit(args.dir)
    now = _now(args)
    try:
        request = _own_request(kit, args.dir, args.request.read_text(encoding="ascii").strip(), now)
    except Invalid as refused:
        print(f"tongban verifier check: the request does not check ({refused.code})", file=sys.stderr)
        return 2
    data = args.presentation.read_bytes()
    shown: str | bytes = (
        data if data.startswith(qr.COMPACT_MAGIC) else data.decode("ascii", "replace").strip()
    )
    result = kit.check(shown, request, now)
    answer: dict[str, Any] = {
        "verdict": result.verdict.value,
        "reason": result.reason,
        "status_list_age_s": result.status_list_age_s,
        "disclosed": result.disclosed,  # on the officer's screen; the kit's record keeps none of it
    }
    print(json.dumps(answer, ensure_ascii=False))
    return 0 if result.verdict is not Verdict.REFUSE else 1
