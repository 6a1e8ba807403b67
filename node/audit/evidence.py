"""Evidence bundles: a case's stored events with inclusion proofs in a signed, witnessed tree head, checkable
offline with nothing but the federation manifest.

``export_case`` writes, for every event of the case in the exporting node's log: the exact stored record
(originator, version, topic, stored state bytes), its leaf index and its audit path to the latest signed head;
and the head with the cosignatures the other provinces' witnesses returned for it. ``check_bundle`` recomputes
each leaf from the record, checks each path against the head's root (``federation.transparency_verify``,
written apart from the prover), the head's signature with the province's manifest key and each cosignature
with its witness's manifest key. Nothing in the bundle is taken on trust.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from aggregates.errors import InvalidField
from federation.pki import Manifest, signed_by_member
from federation.transparency_verify import verify_inclusion
from federation.tree_heads import Cosignature, TreeHead, cosignature_payload
from infra.transparency_tree import leaf_hash
from node.services import Services
from node.store.application import NotFound
from node.store.stored_records import Record, stored_records
from projections.transparency_log import leaf_record

FORMAT = "tongban.evidence.v1"


class BundleError(ValueError):
    """The bundle is malformed or does not prove what it claims; the message says where."""


def export_case(
    services: Services, case_id: str, progress: Callable[[int], None] = lambda _done: None
) -> dict[str, Any]:
    """The evidence bundle of one case as this node's log holds it."""
    try:
        case_id = str(UUID(case_id))
    except ValueError:
        raise InvalidField("case", "must be a case id (UUID)") from None
    services.cases.case(case_id)  # NotFound when this node does not hold the case
    log = services.transparency.log
    log.tick()
    head = services.transparency.latest_head()
    records = _records_of(services, case_id, progress)
    leaf_of = log.leaf_indexes([record[0] for record in records])
    last_leaf = leaf_of.get(records[-1][0]) if records else None
    if head is None or last_leaf is None or last_leaf >= head["tree_size"]:
        raise NotFound(
            "the latest signed tree head does not cover this case's last event yet: the node signs a new "
            "head within follow_interval_s of each write; export again then"
        )
    paths = log.inclusions([leaf_of[record[0]] for record in records], head["tree_size"])
    return {
        "format": FORMAT,
        "province": services.province,
        "case_id": case_id,
        "head": head,
        "events": [
            {
                "leaf_index": leaf_of[notification_id],
                "originator_id": originator,
                "originator_version": version,
                "topic": topic,
                "state": base64.b64encode(state).decode(),
                "inclusion_path": [h.hex() for h in paths[leaf_of[notification_id]]],
            }
            for notification_id, originator, version, topic, state in records
        ],
    }


def _records_of(services: Services, case_id: str, progress: Callable[[int], None]) -> list[Record]:
    """The case's stored records, in log order, read in one pass over the event table."""
    found: list[Record] = []
    read = 0
    for batch in stored_records(services.app.recorder):
        found += [record for record in batch if record[1] == case_id]
        read += len(batch)
        progress(read)
    return found


@dataclass
class BundleReport:
    province: str
    case_id: str
    tree_size: int
    events: list[dict[str, Any]] = field(default_factory=list)  # what the proven records say, step by step
    witnesses: list[str] = field(default_factory=list)  # provinces whose cosignature verified


def check_bundle(bundle: dict[str, Any], manifest: Manifest) -> BundleReport:
    """Raises BundleError at the first thing that does not verify."""
    try:
        return _check(bundle, manifest)
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, BundleError):
            raise
        raise BundleError(f"malformed bundle: {type(e).__name__}: {e}") from None


def _check(bundle: dict[str, Any], manifest: Manifest) -> BundleReport:
    if bundle.get("format") != FORMAT:
        raise BundleError(f"not a {FORMAT} bundle")
    province = str(bundle["province"])
    member = manifest.member(province)
    if member is None:
        raise BundleError(f"province {province} is not in the federation manifest")
    head = TreeHead.from_json({**bundle["head"], "province": province})
    if not signed_by_member(member)(head.payload(), head.signature):
        raise BundleError(f"the tree head of size {head.tree_size} is not signed by province {province}")
    report = BundleReport(province, str(bundle["case_id"]), head.tree_size)
    for document in bundle["head"].get("cosignatures", []):
        cosignature = Cosignature.from_json(document)
        witness = manifest.member(cosignature.witness)
        payload = cosignature_payload(head, cosignature.witness, cosignature.cosigned_at)
        if witness is None or not signed_by_member(witness)(payload, cosignature.signature):
            raise BundleError(f"the cosignature of province {cosignature.witness} does not verify")
        report.witnesses.append(cosignature.witness)
    root = bytes.fromhex(head.root_hash)
    for number, event in enumerate(bundle["events"], 1):
        if str(event["originator_id"]) != report.case_id:
            raise BundleError(f"event {number} belongs to {event['originator_id']}, not the case")
        if event["originator_version"] != number:
            raise BundleError(f"event {number} has version {event['originator_version']}: a step is missing")
        record = Notification(
            id=0,
            originator_id=UUID(event["originator_id"]),
            originator_version=int(event["originator_version"]),
            topic=str(event["topic"]),
            state=base64.b64decode(event["state"], validate=True),
        )
        path = [bytes.fromhex(h) for h in event["inclusion_path"]]
        leaf = leaf_hash(leaf_record(record))
        if not verify_inclusion(int(event["leaf_index"]), head.tree_size, leaf, path, root):
            raise BundleError(f"event {number} (leaf {event['leaf_index']}) is not in the signed tree")
        report.events.append(_describe(record))
    if not report.events:
        raise BundleError("the bundle holds no event")
    return report


def _describe(record: Notification) -> dict[str, Any]:
    """Who did what, from the proven stored state (the store's JSON)."""
    try:
        state = json.loads(record.state)
    except ValueError:
        state = {}
    stamp = state.get("timestamp")
    return {
        "version": record.originator_version,
        "event": record.topic.rsplit(".", 1)[-1],
        "at": stamp.get("_data_") if isinstance(stamp, dict) else stamp,
        "province": state.get("province"),
        "office_code": state.get("office_code"),
        "operator_id": state.get("operator_id"),
    }
