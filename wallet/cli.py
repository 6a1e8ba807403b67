"""``tongban wallet``: the reference wallet on the command line.

The wallet talks to no node: the holder's platform (role ``platform``, like 随申办) asks the issuing node for
a credential with the wallet's proof and hands it over, and passes on the registered verifiers and scenario
policies. Added to ``tongban`` through the ``tongban.commands`` entry point (pyproject.toml): the node never
imports it. Times default to the machine's clock, or to the nodes' simulated one the environment names
(``credentials/clock.py``); ``--at`` (Unix seconds) fixes them, for tests and drills.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from credentials import qr
from credentials.clock import unix_now
from credentials.jose import Invalid
from wallet.wallet import Wallet


def add_wallet_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "wallet", help="the reference holder wallet (亮证): credentials and QR codes"
    )
    wallet_commands = parser.add_subparsers(dest="wallet_command", required=True)

    init = wallet_commands.add_parser("init", help="make the device key")
    init.set_defaults(run=_init)

    proof = wallet_commands.add_parser("proof", help="the device's proof for a credential request")
    proof.add_argument("--audience", required=True, help="the issuing node's name, e.g. 310000.node.tongban")
    proof.set_defaults(run=_proof)

    add = wallet_commands.add_parser("add", help="keep a credential the platform obtained for this device")
    add.add_argument("--file", type=Path, required=True)
    add.set_defaults(run=_add)

    due = wallet_commands.add_parser("due", help="the credentials to refresh: those expiring soon")
    due.add_argument("--within-days", type=int, default=2, help="expiring within this many days (default 2)")
    due.set_defaults(run=_due)

    trust = wallet_commands.add_parser("trust", help="keep the registered verifiers and scenario policies")
    trust.add_argument("--file", type=Path, required=True, help="JSON with verifiers and policies")
    trust.set_defaults(run=_trust)

    present = wallet_commands.add_parser("present", help="answer a verifier's request: a file and a QR code")
    present.add_argument("--request", type=Path, required=True, help="the verifier's request")
    present.add_argument("--out", type=Path, required=True, help="where to write it (a QR PNG beside)")
    present.add_argument("--compact", action="store_true", help="the compact form (a smaller QR code)")
    present.set_defaults(run=_present)

    for command in (init, proof, add, due, trust, present):
        command.add_argument("--dir", type=Path, required=True, help="the wallet's directory")
        command.add_argument("--at", type=int, help="the time, in Unix seconds (default: now)")


def _now(args: argparse.Namespace) -> int:
    return unix_now(os.environ) if args.at is None else int(args.at)


def _init(args: argparse.Namespace) -> int:
    try:
        Wallet.create(args.dir)
    except FileExistsError as e:
        print(f"tongban wallet: {e}", file=sys.stderr)
        return 2
    return 0


def _proof(args: argparse.Namespace) -> int:
    print(Wallet(args.dir).proof(args.audience, _now(args)))
    return 0


def _add(args: argparse.Namespace) -> int:
    try:
        print(Wallet(args.dir).add(args.file.read_text(encoding="ascii").strip()))
    except (Invalid, UnicodeDecodeError) as refused:
        print(
            f"tongban wallet add: refused ({getattr(refused, 'code', 'NOT_A_CREDENTIAL')})", file=sys.stderr
        )
        return 1
    return 0


def _due(args: argparse.Namespace) -> int:
    """One JSON line per credential to refresh: what the platform needs to ask for it again."""
    for credential in Wallet(args.dir).due(args.within_days * 86_400, _now(args)):
        payload = credential.payload()
        print(
            json.dumps(
                {
                    "credential_id": payload["jti"],
                    "issuer": payload["iss"],
                    "type": payload["vct"],
                    "exp": payload["exp"],
                }
            )
        )
    return 0


def _trust(args: argparse.Namespace) -> int:
    document = json.loads(args.file.read_text(encoding="utf-8"))
    try:
        Wallet(args.dir).keep_trust(document["verifiers"], document["policies"])
    except (KeyError, TypeError, Invalid):
        print("tongban wallet trust: the file holds no valid verifiers and policies", file=sys.stderr)
        return 1
    return 0


def _present(args: argparse.Namespace) -> int:
    try:
        shown = Wallet(args.dir).present(args.request.read_text(encoding="ascii").strip(), _now(args))
    except Invalid as refused:
        print(f"tongban wallet present: refused ({refused.code})", file=sys.stderr)
        return 1
    content: str | bytes = qr.compact(shown.presentation) if args.compact else shown.presentation
    args.out.write_bytes(content if isinstance(content, bytes) else content.encode("ascii"))
    code = qr.qr_code(content)
    qr.save_png(code, args.out.with_suffix(".png"))
    print(qr.terminal_text(code))
    print(
        json.dumps(
            {
                "verifier": shown.request.verifier,
                "scenario": shown.request.scenario,
                "shown": sorted(shown.disclosed),
                "qr_version": f"{code.version}-{code.error}",
            }
        )
    )
    return 0
