"""What every command that works on a node's own store shares: the node's arguments, and opening the node
for the command and closing it after, whatever the command's answer."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from node.bootstrap import close_services
from node.log_config import configure_logging, current_stderr
from node.services import Services

NodeOpener = Callable[[argparse.Namespace, str], Services | None]
NodeRun = Callable[[Services, argparse.Namespace], int]


def add_node_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--province", required=True, help="the province of the node")
    parser.add_argument("--config", type=Path, help="the node's TOML settings file")


def on_node(open_node: NodeOpener, purpose: str, run: NodeRun) -> Callable[[argparse.Namespace], int]:
    """The command's entry: logs go to stderr (stdout carries the answer), the node opens for ``purpose``
    (2 when it cannot), ``run`` answers, and the node closes."""

    def opened(args: argparse.Namespace) -> int:
        configure_logging(stream=current_stderr())
        services = open_node(args, purpose)
        if services is None:
            return 2
        try:
            return run(services, args)
        finally:
            close_services(services)

    return opened
