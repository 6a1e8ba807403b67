"""The ``tongban`` command: node, keys, token, check-id, pki, calendar, catalogue, projections, audit,
master-key and federation; other packages add theirs (simulate, demo) through the ``tongban.commands`` entry
points."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path

import uvloop

from aggregates.errors import InvalidField
from aggregates.identifiers import classify
from aggregates.responsibility import Actor
from federation.pki import create_dev_federation
from node.auth import Role, load_private_key, mint_token
from node.bootstrap import BootstrapError, build_services, close_services
from node.cli.audit import add_audit_parser
from node.cli.calendar import add_calendar_parser
from node.cli.federation import add_federation_parser
from node.cli.master_key import add_master_key_parser
from node.log_config import configure_logging
from node.runner import PortUnavailable, serve
from node.services import Services
from node.settings import PROVINCES, SettingsError, load_settings
from node.signing import Ed25519Signer
from node.usecases.catalogue import read_catalogue_file


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tongban", description="跨省通办 interoperability node")
    commands = parser.add_subparsers(dest="command", required=True)

    node = commands.add_parser("node", help="run one province node (REST + gRPC)")
    node.add_argument("--province", help="six-digit province code, e.g. 310000 (or TONGBAN_PROVINCE)")
    node.add_argument("--config", type=Path, help="TOML settings file (keys as in docs/configuration.md)")
    node.set_defaults(run=_node)

    keys = commands.add_parser(
        "keys", help="create an Ed25519 key pair (node signing key or token issuer key)"
    )
    keys.add_argument(
        "--out", type=Path, required=True, help="private key path; the public key goes to .pub beside it"
    )
    keys.set_defaults(run=_keys)

    token = commands.add_parser("token", help="mint a development bearer token")
    token.add_argument(
        "--key", type=Path, required=True, help="token issuer private key (from `tongban keys`)"
    )
    token.add_argument("--province", required=True)
    token.add_argument("--office", required=True, help="office code (机构代码)")
    token.add_argument("--operator", required=True, help="operator id")
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--ttl-hours", type=float, default=8.0)
    token.set_defaults(run=_token)

    check = commands.add_parser(
        "check-id", help="check a certificate identifier, citizen ID or credit code offline"
    )
    check.add_argument("value")
    check.set_defaults(run=_check_id)

    pki = commands.add_parser(
        "pki", help="create a development federation: root CA, node certificates, manifest"
    )
    pki.add_argument("--out", type=Path, required=True, help="directory (use the nodes' data_dir)")
    pki.add_argument(
        "--endpoint",
        action="append",
        metavar="PROVINCE=HOST:PORT",
        help="a member and its federation endpoint (repeatable); default: the four on 127.0.0.1:7101-7104",
    )
    pki.add_argument("--manifest-days", type=int, default=30, help="how long the manifest is valid")
    pki.set_defaults(run=_pki)

    add_calendar_parser(commands)

    catalogue = commands.add_parser("catalogue", help="load a service catalogue into a node's store")
    catalogue_commands = catalogue.add_subparsers(dest="catalogue_command", required=True)
    load = catalogue_commands.add_parser(
        "load", help="publish a catalogue file's items and bundles (idempotent)"
    )
    load.add_argument(
        "file", type=Path, help="the catalogue file, e.g. simulators/data/sample_catalogue.json"
    )
    load.add_argument("--province", required=True, help="the province whose catalogue this is")
    load.add_argument("--node", required=True, help="the province of the node whose store receives it")
    load.add_argument("--config", type=Path, help="the node's TOML settings file")
    load.set_defaults(run=_load_catalogue)

    _add_projections_parser(commands)

    add_audit_parser(commands, _open_node)
    add_master_key_parser(commands, _open_node)
    add_federation_parser(commands, _open_node)
    for command in entry_points(group="tongban.commands"):  # the simulator's, when it is installed
        command.load()(commands)

    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


def _node(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(province=args.province, config_file=args.config)
    except SettingsError as e:
        print(f"tongban node: {e}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    try:
        # uvloop's event loop (libuv) costs a node about half of asyncio's own loop per request and RPC
        uvloop.run(serve(settings))
    except (BootstrapError, PortUnavailable) as e:
        print(f"tongban node: {e}", file=sys.stderr)
        return 1
    return 0


def _keys(args: argparse.Namespace) -> int:
    private, public = args.out, args.out.with_suffix(".pub")
    if private.exists() or public.exists():
        print(f"tongban keys: {private} or {public} exists; refusing to overwrite a key", file=sys.stderr)
        return 1
    signer = Ed25519Signer.generate()
    signer.write_key_pair(private, public)
    print(f"wrote {private} (private, mode 600) and {public}; key id {signer.key_id}")
    return 0


def _token(args: argparse.Namespace) -> int:
    print(
        mint_token(
            load_private_key(args.key),
            province=args.province,
            office_code=args.office,
            operator_id=args.operator,
            role=Role(args.role),
            ttl=timedelta(hours=args.ttl_hours),
        )
    )
    return 0


def _check_id(args: argparse.Namespace) -> int:
    report = classify(args.value)
    print(f"kind: {report.kind}")
    for key, value in report.details.items():
        print(f"{key}: {value}")
    if report.valid:
        print("valid")
        return 0
    if report.problem is not None:
        print(f"INVALID {report.problem.part}: {report.problem.message}")
    return 1


def _pki(args: argparse.Namespace) -> int:
    raw = args.endpoint or [f"{p}=127.0.0.1:{7101 + i}" for i, p in enumerate(PROVINCES)]
    endpoints = dict(item.split("=", 1) for item in raw if "=" in item)
    unknown = sorted(set(endpoints) - set(PROVINCES))
    if len(endpoints) != len(raw) or unknown:
        print(f"tongban pki: --endpoint takes PROVINCE=HOST:PORT for {', '.join(PROVINCES)}", file=sys.stderr)
        return 2
    signing_keys = {}
    for province in endpoints:
        private = args.out / province / "signing.key"
        if not private.exists():  # the node's certificate-signing key, published in the manifest
            Ed25519Signer.generate().write_key_pair(private, private.with_suffix(".pub"))
        signing_keys[province] = private.with_suffix(".pub").read_text()
    try:
        manifest = create_dev_federation(
            args.out,
            endpoints,
            {p: PROVINCES[p] for p in endpoints},
            signing_keys,
            manifest_days=args.manifest_days,
        )
    except FileExistsError as e:
        print(f"tongban pki: {e.filename} exists; refusing to overwrite a key", file=sys.stderr)
        return 1
    print(f"wrote {args.out}/ca.pem, {len(endpoints)} node certificates and {manifest} (+ manifest.pub)")
    return 0


def _load_catalogue(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(province=args.node, config_file=args.config)
        services = build_services(settings)
    except (SettingsError, BootstrapError) as e:
        print(f"tongban catalogue: {e}", file=sys.stderr)
        return 2
    try:
        actor = Actor(args.province, "CATALOGUE", "catalogue-loader")
        report = services.catalogue.load(read_catalogue_file(args.file), args.province, actor)
    except InvalidField as e:
        print(f"tongban catalogue: {args.file}: {e}", file=sys.stderr)
        return 1
    finally:
        close_services(services)
    print(
        f"catalogue of {args.province} in node {args.node}: {report.published} items published, "
        f"{report.revised} revised, {report.unchanged} unchanged; {report.bundles} bundles published"
    )
    return 0


def _open_node(args: argparse.Namespace, command: str) -> Services | None:
    """The services of the node that `--province` and `--config` name; None, said why, if they cannot be."""
    try:
        return build_services(load_settings(province=args.province, config_file=args.config))
    except (SettingsError, BootstrapError) as e:
        print(f"tongban {command}: {e}", file=sys.stderr)
        return None


def _add_projections_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    projections = commands.add_parser("projections", help="read models: rebuild them from the log")
    projection_commands = projections.add_subparsers(dest="projections_command", required=True)
    rebuild = projection_commands.add_parser(
        "rebuild", help="forget a read model's rows and apply the whole log again (the node may be running)"
    )
    rebuild.add_argument("--province", required=True, help="the province of the node")
    rebuild.add_argument("--config", type=Path, help="the node's TOML settings file")
    rebuild.add_argument("--name", action="append", help="a read model (repeatable); default: all")
    rebuild.add_argument(
        "--check",
        action="store_true",
        help="catch up first and compare the rebuilt rows with the live ones; exit 1 if any differ "
        "(run it with the node stopped, so that nothing moves meanwhile)",
    )
    rebuild.set_defaults(run=_rebuild_projections)


def _rebuild_projections(args: argparse.Namespace) -> int:
    services = _open_node(args, "projections")
    if services is None:
        return 2
    try:
        names = args.name or sorted(services.projections)
        unknown = sorted(set(names) - set(services.projections))
        if unknown:
            print(f"tongban projections: no read model {', '.join(unknown)}; "
                  f"there are {', '.join(sorted(services.projections))}", file=sys.stderr)  # fmt: skip
            return 2
        differ = []
        for name in names:
            started = time.perf_counter()
            follower = services.projections[name]
            if args.check:
                same = follower.rebuild_matches()
                differ += [] if same else [name]
                verdict = "equal to the live rows" if same else "DIFFERENT from the live rows"
                print(f"{name}: rebuilt in {time.perf_counter() - started:.2f}s, {verdict}", flush=True)
                continue
            applied = follower.rebuild()
            print(
                f"{name}: rebuilt from {applied} events in {time.perf_counter() - started:.2f}s", flush=True
            )
    finally:
        close_services(services)
    return 1 if differ else 0
