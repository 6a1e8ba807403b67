"""The service catalogue (事项清单): publish and read service items and 一件事 bundles.

A node holds its own province's catalogue and, until federation carries catalogues between nodes, copies of
the other provinces' catalogues loaded by an operator, so that it can receive cases handled elsewhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event

from aggregates.catalogue import ItemDefinition, ServiceBundle, ServiceItem
from aggregates.errors import InvalidField
from aggregates.identifiers import InvalidIdentifier, validate_division_code
from aggregates.responsibility import Actor
from node.application import Clock, NodeApplication, NotFound, utc_now

CATALOGUE_FORMAT = "tongban.catalogue.v1"
_DEFINITION_KEYS = {
    "code",
    "name",
    "department",
    "modes",
    "materials",
    "statutory_limit_days",
    "promised_limit_days",
    "supplement_days",
    "extension_days",
    "fee_fen",
    "joint_parts",
}


class CatalogueIndex(Aggregate):
    """The item and bundle codes published for one province, so listing needs no table scan."""

    class Opened(Aggregate.Created):
        province: str

    class EntryAdded(Aggregate.Event):
        kind: str
        code: str

    @staticmethod
    def id_for(province: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"urn:tongban:catalogue-index:{province}")

    @classmethod
    def open(cls, province: str) -> CatalogueIndex:
        return cls._create(cls.Opened, id=cls.id_for(province), province=province)

    @event(Opened)
    def __init__(self, province: str) -> None:
        self.province = province
        self.items: list[str] = []
        self.bundles: list[str] = []

    def add(self, kind: str, code: str) -> None:
        if code not in (self.items if kind == "item" else self.bundles):
            self._entry_added(kind=kind, code=code)

    @event(EntryAdded)
    def _entry_added(self, kind: str, code: str) -> None:
        (self.items if kind == "item" else self.bundles).append(code)


@dataclass(frozen=True, slots=True)
class LoadReport:
    published: int
    revised: int
    unchanged: int
    bundles: int


class CatalogueService:
    def __init__(self, app: NodeApplication, clock: Clock = utc_now) -> None:
        self._app = app
        self._clock = clock

    def publish_item(self, province: str, fields: dict[str, Any], actor: Actor) -> tuple[ServiceItem, str]:
        """Publish an item, or revise it when its definition changed. Returns the item and what happened."""
        definition = ItemDefinition.create(handling_province=_province(province), **fields)
        try:
            item: ServiceItem = self._app.repository.get(ServiceItem.id_for(province, definition.code))
        except AggregateNotFoundError:
            item = ServiceItem.publish(province, definition, actor, self._clock())
            self._app.save(item, self._indexed(province, "item", definition.code))
            return item, "published"
        if not item.revise(definition, actor, self._clock()):
            return item, "unchanged"
        self._app.save(item)
        return item, "revised"

    def publish_bundle(
        self, province: str, code: str, name: str, item_codes: list[str], actor: Actor
    ) -> ServiceBundle:
        for item_code in item_codes:
            self.item(province, item_code)
        bundle = ServiceBundle.publish(
            province, code, name, [(province, c) for c in item_codes], actor, self._clock()
        )
        self._app.save(bundle, self._indexed(province, "bundle", code))
        return bundle

    def item(self, province: str, code: str, version: int | None = None) -> ServiceItem:
        try:
            item: ServiceItem = self._app.repository.get(ServiceItem.id_for(province, code), version=version)
        except AggregateNotFoundError:
            raise NotFound(
                f"no service item {code} of province {province} in this node's catalogue"
            ) from None
        return item

    def bundle(self, province: str, code: str) -> ServiceBundle:
        try:
            bundle: ServiceBundle = self._app.repository.get(ServiceBundle.id_for(province, code))
        except AggregateNotFoundError:
            raise NotFound(f"no bundle {code} of province {province} in this node's catalogue") from None
        return bundle

    def items(self, province: str) -> list[ServiceItem]:
        return [self.item(province, code) for code in self._index(province).items]

    def bundles(self, province: str) -> list[ServiceBundle]:
        return [self.bundle(province, code) for code in self._index(province).bundles]

    def load(self, document: dict[str, Any], province: str, actor: Actor) -> LoadReport:
        """Publish every item and bundle of a catalogue document as ``province``'s; idempotent."""
        if document.get("format") != CATALOGUE_FORMAT:
            raise InvalidField("format", f"must be {CATALOGUE_FORMAT}")
        counts = {"published": 0, "revised": 0, "unchanged": 0}
        for index, raw in enumerate(document.get("items", [])):
            fields = {key: value for key, value in raw.items() if key in _DEFINITION_KEYS}
            try:
                _, outcome = self.publish_item(province, fields, actor)
            except InvalidField as e:
                raise InvalidField(f"items/{index}/{e.field}", e.message) from None
            counts[outcome] += 1
        bundles = 0
        for raw in document.get("bundles", []):
            if raw["code"] not in self._index(province).bundles:
                self.publish_bundle(province, raw["code"], raw["name"], list(raw["items"]), actor)
                bundles += 1
        return LoadReport(counts["published"], counts["revised"], counts["unchanged"], bundles)

    def _index(self, province: str) -> CatalogueIndex:
        try:
            index: CatalogueIndex = self._app.repository.get(CatalogueIndex.id_for(province))
        except AggregateNotFoundError:
            return CatalogueIndex.open(province)
        return index

    def _indexed(self, province: str, kind: str, code: str) -> CatalogueIndex:
        index = self._index(province)
        index.add(kind, code)
        return index


def read_catalogue_file(path: Path) -> dict[str, Any]:
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InvalidField("file", f"cannot read catalogue {path}: {e}") from None
    return document


def _province(code: str) -> str:
    try:
        validate_division_code(code)
    except InvalidIdentifier as e:
        raise InvalidField("province", e.message) from None
    if not code.endswith("0000"):
        raise InvalidField("province", "must be a province-level code such as 310000")
    return code
