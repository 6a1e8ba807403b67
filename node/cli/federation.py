"""`tongban federation quarantine` and `tongban federation retry`: the streams of a peer the inbox holds back
(``federation/quarantine.py``), and an operator's retry of one after a fix (a peer's corrected event, or this
node's upgrade). The retry runs the held events through the inbox's usual checks, in the peer's log order;
those that apply leave the quarantine, the others stay with the new reason. It may run beside the node: the
store keeps each stream's versions unique, so an event is never applied twice.
"""

from __future__ import annotations

import argparse
import json

from federation.inbox import Inbox
from node.cli.node_commands import NodeOpener, add_node_arguments, on_node
from node.services import Services


def add_federation_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], open_node: NodeOpener
) -> None:
    federation = commands.add_parser(
        "federation", help="replication from peers: the quarantine and its retry"
    )
    federation_commands = federation.add_subparsers(dest="federation_command", required=True)
    listing = federation_commands.add_parser("quarantine", help="list the streams held back, by peer (JSON)")
    retry = federation_commands.add_parser(
        "retry", help="apply a quarantined stream's held events again, after a fix"
    )
    retry.add_argument("--peer", required=True, help="the province code of the peer that sent the stream")
    retry.add_argument("--stream", help="the stream id (as `federation quarantine` lists it); default: all")
    for parser, run in ((listing, _list), (retry, _retry)):
        add_node_arguments(parser)
        parser.set_defaults(run=on_node(open_node, "federation", run))


def _inbox(services: Services) -> Inbox:
    return Inbox(
        services.app,
        services.province,
        services.cases.now,
        on_recorded=services.app.notify_recorded,
        personal_data=services.erasure,
    )


def _list(services: Services, args: argparse.Namespace) -> int:
    streams = _inbox(services).quarantine.streams()
    print(json.dumps([{"peer": s.peer, **s.describe()} for s in streams], ensure_ascii=False, indent=2))
    return 0


def _retry(services: Services, args: argparse.Namespace) -> int:
    inbox = _inbox(services)
    known = inbox.quarantine.stream_ids(args.peer)
    if args.stream is not None and args.stream not in known:
        print(f"no quarantined stream {args.stream} from {args.peer}")
        return 1
    retried = inbox.retry(args.peer, None if args.stream is None else [args.stream])
    print(
        json.dumps(
            {"released": retried.released, "still_held": retried.still_held, "reasons": retried.reasons}
        )
    )
    return 0 if retried.still_held == 0 else 1
