"""The service catalogue (事项清单): publish and read service items and 一件事 bundles.

A node holds its own province's catalogue and, until federation carries catalogues between nodes, copies of
the other provinces' catalogues loaded by an operator, so that it can receive cases handled elsewhere.

Every write reads, changes and saves the item (or bundle) with the province's index in one transaction.
Writers in this process take turns per province; a write that meets a concurrent one from another process
(optimistic concurrency: an IntegrityError) is read and applied again, a few times, and then refused as a
conflict (409), never a server error.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import register_topic

from aggregates.catalogue import CatalogueIndex, ItemDefinition, ServiceBundle, ServiceItem
from aggregates.errors import InvalidField
from aggregates.identifiers import InvalidIdentifier, validate_division_code
from aggregates.responsibility import Actor
from node.store.application import AlreadyExists, Clock, NodeApplication, NotFound, utc_now

# CatalogueIndex moved from this module to aggregates/catalogue.py: events stored before name it here.
register_topic("node.catalogue:CatalogueIndex", CatalogueIndex)

CATALOGUE_FORMAT = "tongban.catalogue.v1"
MAX_VERSION = 2**63 - 1  # the stores' largest aggregate version
_SAVE_ATTEMPTS = 5
# The keys a catalogue document gives an item: the definition's fields, but the handling province, which is
# the province the document is loaded for
_DEFINITION_KEYS = {field.name for field in dataclasses.fields(ItemDefinition)} - {"handling_province"}


@dataclass(frozen=True, slots=True)
class LoadReport:
    published: int
    revised: int
    unchanged: int
    bundles: int


class CatalogueService:
    def __init__(self, app: NodeApplication, clock: Clock = utc_now, current_for_s: float = 2.0) -> None:
        self._app = app
        self._clock = clock
        self._province_locks = tuple(threading.Lock() for _ in range(16))
        # Filing a case reads its item's current version; read from the store at most every current_for_s
        # (a version published by another process applies to cases filed from then on).
        self._current_for_s = current_for_s
        self._current: dict[tuple[str, str], tuple[float, ServiceItem]] = {}

    def publish_item(self, province: str, fields: dict[str, Any], actor: Actor) -> tuple[ServiceItem, str]:
        """Publish an item, or revise it when its definition changed. Returns the item and what happened."""
        definition = ItemDefinition.create(handling_province=_province(province), **fields)
        with self._writer(province):
            for _ in range(_SAVE_ATTEMPTS):
                item_id = ServiceItem.id_for(province, definition.code)
                try:
                    item: ServiceItem = self._app.repository.get(item_id)
                except AggregateNotFoundError:
                    item = ServiceItem.publish(province, definition, actor, self._clock())
                    if self._saved(item, self._indexed(province, "item", definition.code)):
                        return item, "published"
                    continue
                if not item.revise(definition, actor, self._clock()):
                    return item, "unchanged"
                if self._saved(item):
                    return item, "revised"
        raise AlreadyExists(
            f"service item {definition.code} of province {province} changed concurrently; retry"
        )

    def publish_bundle(
        self, province: str, code: str, name: str, item_codes: list[str], actor: Actor
    ) -> ServiceBundle:
        for item_code in item_codes:
            self.item(province, item_code)
        with self._writer(province):
            for _ in range(_SAVE_ATTEMPTS):
                if self._exists(ServiceBundle.id_for(province, code)):
                    raise AlreadyExists(f"bundle {code} of province {province} was already published")
                bundle = ServiceBundle.publish(
                    province, code, name, [(province, c) for c in item_codes], actor, self._clock()
                )
                if self._saved(bundle, self._indexed(province, "bundle", code)):
                    return bundle
        raise AlreadyExists(f"the catalogue of province {province} changed concurrently; retry")

    def item(self, province: str, code: str, version: int | None = None) -> ServiceItem:
        """The item as published now, or as its ``version`` was published (NotFound when it has none)."""
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION
        ):
            raise InvalidField("version", "must be a whole number from 1")
        try:
            item: ServiceItem = self._app.repository.get(ServiceItem.id_for(province, code), version=version)
        except AggregateNotFoundError:
            raise NotFound(
                f"no service item {code} of province {province} in this node's catalogue"
            ) from None
        if version is not None and item.version != version:
            raise NotFound(
                f"service item {code} of province {province} has no version {version} (latest {item.version})"
            )
        return item

    def current_item(self, province: str, code: str) -> ServiceItem:
        """The item's current version, for filing a case (read only: never change what this returns)."""
        key, now = (province, code), time.monotonic()
        held = self._current.get(key)
        if held is not None and now - held[0] < self._current_for_s:
            return held[1]
        item = self.item(province, code)
        self._current[key] = (now, item)
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

    def _writer(self, province: str) -> threading.Lock:
        """Writers of one province's catalogue in this process take turns (they share its index)."""
        return self._province_locks[hash(province) % len(self._province_locks)]

    def _saved(self, *aggregates: Any) -> bool:
        """Save in one transaction; False when another writer got there first (read and apply again)."""
        try:
            self._app.save(*aggregates)
        except IntegrityError:
            return False
        for aggregate in aggregates:
            if isinstance(aggregate, ServiceItem):  # this process's own filings see a new version at once
                self._current.pop((aggregate.province, aggregate.definition.code), None)
        return True

    def _exists(self, aggregate_id: UUID) -> bool:
        return bool(self._app.recorder.select_events(aggregate_id, limit=1))

    def _index(self, province: str) -> CatalogueIndex:
        try:
            index: CatalogueIndex = self._app.repository.get(CatalogueIndex.id_for(province))
        except AggregateNotFoundError:
            return CatalogueIndex.open(province, self._clock())
        return index

    def _indexed(self, province: str, kind: str, code: str) -> CatalogueIndex:
        index = self._index(province)
        index.add(kind, code, self._clock())
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
