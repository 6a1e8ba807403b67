"""`tongban master-key rotate`: a new master key wraps every data key again, and seals again every event the
federation quarantine holds (``federation/quarantine.py``); the old one is retired.

Run it with the node stopped (every process of it): a running node would wrap a person's new data key with the
master key it loaded. Each step can be cut short and the command run again (``node/store/master_key.py``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from federation.quarantine import QuarantineStore
from node.bootstrap import close_services
from node.cli.node_commands import NodeOpener
from node.services import Services
from node.store.data_keys import DataKeyStore
from node.store.master_key import MasterKey, load, next_path, retired_path, write_new


def add_master_key_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], open_node: NodeOpener
) -> None:
    master_key = commands.add_parser("master-key", help="the node's master key, which wraps the data keys")
    master_key_commands = master_key.add_subparsers(dest="master_key_command", required=True)
    rotate = master_key_commands.add_parser(
        "rotate", help="wrap every data key with a new master key and retire the old one (node stopped)"
    )
    rotate.add_argument("--province", required=True, help="the province of the node")
    rotate.add_argument("--config", type=Path, help="the node's TOML settings file")

    def run(args: argparse.Namespace) -> int:
        services = open_node(args, "master-key")
        if services is None:
            return 2
        try:
            return _rotate(services)
        finally:
            close_services(services)

    rotate.set_defaults(run=run)


def _rotate(services: Services) -> int:
    retired, successor, rewrapped, resealed = rotate_master_key(services.app.data_keys)
    print(
        f"master key {successor.key_id} in use; {rewrapped} data keys wrapped with it, "
        f"{resealed} quarantined events sealed with it"
    )
    if retired is not None:
        print(f"the retired key is at {retired}: nothing needs it any more; destroy it and any copy of it")
    return 0


def rotate_master_key(keys: DataKeyStore) -> tuple[Path | None, MasterKey, int, int]:
    """Make (or resume with) the successor key, re-wrap every data key and re-seal every quarantined event
    with it, then swap the key files (each re-wrap skips rows the successor wraps already: a rerun resumes).

    Returns where the retired key now is (None when a cut-short rotation had moved it already), the new key,
    how many keys were wrapped again and how many quarantined events were sealed again.
    """
    path = keys.keyring.path
    successor_path = next_path(path)
    if successor_path.exists():  # an earlier rotation was cut short: finish it with the same successor
        successor = load(successor_path)
    else:
        successor = MasterKey.generate()
        write_new(successor_path, successor)  # durable before any data key depends on it
    keys.keyring.find(successor.key_id)
    rewrapped = keys.rewrap(successor)
    resealed = QuarantineStore(keys.datastore, keys.keyring).rewrap(successor)
    retired = None
    if path.exists():
        current = load(path)
        retired = retired_path(path, current)
        os.replace(path, retired)
    os.replace(successor_path, path)
    _sync_directory(path.parent)
    return retired, successor, rewrapped, resealed


def _sync_directory(directory: Path) -> None:
    """The renames survive a crash once the directory itself is on disk."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
