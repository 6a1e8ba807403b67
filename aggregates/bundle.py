"""一件事 filed as one application: the bundle case (BundleCase), its item cases, the one list of materials
they share, and one combined delivery.

Each item case keeps its own workflow and clock (``aggregates/case.py``). What belongs to the bundle as a
whole is decided here, from the item definitions and the item cases: which mode each item is filed in, which
materials are the same one, which provinces are a party, and when the bundle may be delivered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from aggregates.case import Case, Delivery, State
from aggregates.catalogue import ItemDefinition, Material, Mode
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.responsibility import Actor

# A joint item (多地联办) needs a province for each part: it is filed on its own, not in a bundle.
BUNDLE_MODES = (Mode.FULL_ONLINE, Mode.PROXY)
DELIVERABLE = frozenset({State.CONCLUDED, State.REFUSED})


def item_mode(item: ItemDefinition, requested: str, receiving_province: str) -> Mode:
    """The mode one item of a bundle is filed in, never chosen silently:

    - the requested mode, when the item allows it (PROXY: only for an item handled in another province);
    - otherwise 全程网办 (FULL_ONLINE), when the item allows that;
    - otherwise the item cannot be part of this application: refused, naming the item.
    """
    if requested not in BUNDLE_MODES:
        raise InvalidField(
            "mode", "a 一件事 files its items FULL_ONLINE or PROXY; a joint (JOINT) item is filed on its own"
        )

    def allows(mode: Mode) -> bool:
        elsewhere = item.handling_province != receiving_province
        return mode in item.modes and (mode is not Mode.PROXY or elsewhere)

    for mode in (Mode(requested), Mode.FULL_ONLINE):
        if allows(mode):
            return mode
    raise InvalidField(
        "mode",
        f"item {item.code} ({item.name}) of the bundle can be filed neither {requested} nor FULL_ONLINE "
        f"(it allows {', '.join(item.modes)}): file it on its own",
    )


def material_key(material: Material) -> str:
    """What makes two items' materials the same one: the certificate types that prove it when a certificate
    can (an ID card proves every item's ID card material), otherwise its name."""
    if material.substitutes:
        return "types:" + ",".join(sorted(material.substitutes))
    return "name:" + material.name


def shared_materials(cases: Iterable[Case]) -> list[dict[str, Any]]:
    """The bundle's one list of materials: each listed once, with every item case that asks for it.

    ``required`` is true when any item requires it; ``attached`` says, per item, whether it is on file.
    """
    listed: dict[str, dict[str, Any]] = {}
    for case in cases:
        for material in case.item.materials:
            key = material_key(material)
            entry = listed.setdefault(
                key,
                {
                    "key": key,
                    "name": material.name,
                    "substitutes": list(material.substitutes),
                    "required": False,
                    "items": [],
                },
            )
            entry["required"] = entry["required"] or material.required
            entry["items"].append(
                {
                    "case_id": str(case.id),
                    "item_code": case.item.code,
                    "material_code": material.code,
                    "material_name": material.name,
                    "required": material.required,
                    "attached": material.code in case.materials,
                }
            )
    return list(listed.values())


class BundleCase(Aggregate):
    """一件事 filed as one application: its item cases, the shared materials, one combined delivery."""

    class Filed(Aggregate.Created):
        bundle_province: str
        bundle_code: str
        case_ids: list[str]
        applicant_id: str  # the Applicant aggregate; never the person's name or ID number
        province: str  # the filing (receiving) province
        office_code: str
        operator_id: str

    class Delivered(Aggregate.Event):
        method: str
        reference: str
        province: str
        office_code: str
        operator_id: str

    @classmethod
    def file(
        cls,
        *,
        id: UUID,  # drawn first, so that each item case can name its bundle
        bundle_province: str,
        bundle_code: str,
        case_ids: list[str],
        applicant_id: str,
        actor: Actor,
        at: datetime,
    ) -> BundleCase:
        if len(case_ids) < 2 or len(set(case_ids)) != len(case_ids):
            raise InvalidField("bundle_code", "a 一件事 combines two or more distinct item cases")
        return cls._create(
            cls.Filed,
            id=id,
            bundle_province=bundle_province,
            bundle_code=bundle_code,
            case_ids=list(case_ids),
            applicant_id=applicant_id,
            **actor.event_fields(),
            timestamp=at,
        )

    @event(Filed)
    def __init__(
        self,
        bundle_province: str,
        bundle_code: str,
        case_ids: list[str],
        applicant_id: str,
        province: str,
        office_code: str,
        operator_id: str,
    ) -> None:
        self.bundle_province = bundle_province
        self.bundle_code = bundle_code
        self.case_ids = case_ids
        self.applicant_id = applicant_id
        self.filing_province = province
        self.delivered = False
        self.delivery: str | None = None

    def is_party(self, province: str, cases: Iterable[Case]) -> bool:
        """The filing province, or a province handling one of the bundle's item cases."""
        return province == self.filing_province or any(
            case.handling_province == province for case in cases if str(case.id) in self.case_ids
        )

    def deliver(self, method: str, reference: str, actor: Actor, cases: Sequence[Case], at: datetime) -> None:
        """One combined delivery, once, when every item case has concluded (or was refused).

        The item cases are delivered with it by the caller, in the same transaction."""
        if self.delivered:
            raise IllegalTransition(f"一件事 {self.bundle_code}", "deliver", "delivered already")
        if sorted(str(case.id) for case in cases) != sorted(self.case_ids):
            raise InvalidField("cases", "deliver the bundle with exactly its own item cases")
        open_items = [case.item.code for case in cases if case.state not in DELIVERABLE]
        if open_items:
            raise InvalidField("bundle", f"items not concluded yet: {', '.join(open_items)}")
        if method not in Delivery.__members__:
            raise InvalidField("method", f"must be one of {', '.join(Delivery)}")
        self._delivered(
            method=method,
            reference=reference,
            **actor.event_fields(),
            timestamp=at,
        )

    @event(Delivered)
    def _delivered(
        self,
        method: str,
        reference: str,
        province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.delivered = True
        self.delivery = method
