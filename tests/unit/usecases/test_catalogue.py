"""CatalogueService over an in-memory store: publishing and revising items, bundles, loading a catalogue
document, reading versions; each refusal names its field and records nothing."""

from __future__ import annotations

import pytest

from aggregates.catalogue import BEFORE_RULE, CatalogueIndex, ItemDefinition, ServiceItem
from aggregates.errors import InvalidField
from aggregates.responsibility import Actor
from node.services import Services
from node.settings import Settings
from node.store.application import AlreadyExists, NotFound
from simulators.sample_data import sample_catalogue
from tests.builders import FakeClock, item_fields

AH = "340000"  # no catalogue loaded for Anhui: these tests publish its items
AH_ADMIN = Actor(AH, "AH-CAT", "admin-1")


def events(node: Services) -> int:
    return node.app.recorder.max_notification_id() or 0


def test_the_store_is_in_memory(settings: Settings, node: Services) -> None:
    assert node.app.factory.datastore.pool.is_sqlite_memory_mode  # type: ignore[attr-defined]
    assert not settings.sqlite_path.exists()


def test_publish_then_revise_then_unchanged(node: Services, clock: FakeClock) -> None:
    item, outcome = node.catalogue.publish_item(AH, item_fields(), AH_ADMIN)
    assert (outcome, item.version, item.province, item.definition.handling_province) == (
        "published",
        1,
        AH,
        AH,
    )
    clock.advance(days=1)
    revised, outcome = node.catalogue.publish_item(AH, item_fields(promised_limit_days=5), AH_ADMIN)
    assert (outcome, revised.version, revised.definition.promised_limit_days) == ("revised", 2, 5)
    before = events(node)
    same, outcome = node.catalogue.publish_item(AH, item_fields(promised_limit_days=5), AH_ADMIN)
    assert (outcome, same.version) == ("unchanged", 2)
    assert events(node) == before
    assert node.catalogue.item(AH, "GA-0001", version=1).definition.promised_limit_days == 10
    assert node.catalogue.item(AH, "GA-0001").version == 2
    assert [i.definition.code for i in node.catalogue.items(AH)] == ["GA-0001"]


def test_filing_reads_a_version_published_here_at_once(node: Services) -> None:
    node.catalogue.publish_item(AH, item_fields(), AH_ADMIN)
    assert node.catalogue.current_item(AH, "GA-0001").version == 1
    node.catalogue.publish_item(AH, item_fields(fee_fen=100), AH_ADMIN)
    current = node.catalogue.current_item(AH, "GA-0001")
    assert (current.version, current.definition.fee_fen) == (2, 100)


@pytest.mark.parametrize(
    ("province", "fields", "actor", "field"),
    [
        ("34000", item_fields(), AH_ADMIN, "province"),
        ("340100", item_fields(), AH_ADMIN, "province"),  # a city, not a province
        (AH, item_fields(), Actor("320000", "JS-CAT", "admin"), "province"),  # only its own catalogue
        (AH, {**item_fields(), "promised_limit_days": 30}, AH_ADMIN, "promised_limit_days"),
    ],
)
def test_an_invalid_item_is_refused_naming_the_field(
    node: Services, province: str, fields: dict[str, object], actor: Actor, field: str
) -> None:
    before = events(node)
    with pytest.raises(InvalidField) as refused:
        node.catalogue.publish_item(province, fields, actor)
    assert refused.value.field == field
    assert events(node) == before
    assert node.catalogue.items(AH) == []


def test_item_lookups_refuse_unknown_items_versions_and_bad_numbers(node: Services) -> None:
    node.catalogue.publish_item(AH, item_fields(), AH_ADMIN)
    with pytest.raises(NotFound, match="no service item GA-9999"):
        node.catalogue.item(AH, "GA-9999")
    with pytest.raises(NotFound, match="has no version 2"):
        node.catalogue.item(AH, "GA-0001", version=2)
    for bad in (0, -1, True, 2**63):
        with pytest.raises(InvalidField) as refused:
            node.catalogue.item(AH, "GA-0001", version=bad)
        assert refused.value.field == "version"


def test_a_bundle_is_published_once_from_known_items(node: Services) -> None:
    node.catalogue.publish_item(AH, item_fields(), AH_ADMIN)
    node.catalogue.publish_item(AH, item_fields(code="GA-0002", name="户口登记"), AH_ADMIN)
    bundle = node.catalogue.publish_bundle(AH, "YJS-MOVE", "迁居一件事", ["GA-0001", "GA-0002"], AH_ADMIN)
    assert bundle.items == [(AH, "GA-0001"), (AH, "GA-0002")]
    assert [b.code for b in node.catalogue.bundles(AH)] == ["YJS-MOVE"]
    before = events(node)
    with pytest.raises(AlreadyExists, match="already published"):
        node.catalogue.publish_bundle(AH, "YJS-MOVE", "again", ["GA-0001", "GA-0002"], AH_ADMIN)
    with pytest.raises(NotFound, match="GA-0003"):
        node.catalogue.publish_bundle(AH, "YJS-OTHER", "其他", ["GA-0001", "GA-0003"], AH_ADMIN)
    with pytest.raises(InvalidField, match="two or more distinct"):
        node.catalogue.publish_bundle(AH, "YJS-ONE", "一项", ["GA-0001", "GA-0001"], AH_ADMIN)
    assert events(node) == before
    with pytest.raises(NotFound, match="no bundle YJS-OTHER"):
        node.catalogue.bundle(AH, "YJS-OTHER")


def test_loading_a_catalogue_is_idempotent(node: Services) -> None:
    document = sample_catalogue()
    first = node.catalogue.load(document, AH, AH_ADMIN)
    assert (first.published, first.revised, first.unchanged) == (len(document["items"]), 0, 0)
    assert first.bundles == len(document["bundles"])
    before = events(node)
    again = node.catalogue.load(document, AH, AH_ADMIN)
    assert (again.published, again.revised, again.unchanged, again.bundles) == (
        0,
        0,
        len(document["items"]),
        0,
    )
    assert events(node) == before
    assert {i.definition.code for i in node.catalogue.items(AH)} == {i["code"] for i in document["items"]}


def test_a_catalogue_document_is_refused_with_the_path_of_its_bad_field(node: Services) -> None:
    with pytest.raises(InvalidField) as wrong_format:
        node.catalogue.load({**sample_catalogue(), "format": "other"}, AH, AH_ADMIN)
    assert wrong_format.value.field == "format"
    document = sample_catalogue()
    document["items"][1]["statutory_limit_days"] = -1
    with pytest.raises(InvalidField) as refused:
        node.catalogue.load(document, AH, AH_ADMIN)
    assert refused.value.field == "items/1/statutory_limit_days"


def test_article_45_an_item_published_before_the_rule_gets_the_laws_default_when_published_again(
    node: Services, clock: FakeClock
) -> None:
    """行政许可法 第45条 cut-over: given an item version stored before items declared what stops their clock
    (no ``clock_stops`` in its event), then it reads with the effect it had; when the operator publishes it
    again saying nothing, then a new version records the law's default (第45条's eight, no stop for a
    supplement after acceptance), and the old version keeps its own."""
    fields = item_fields()
    old = {**fields, "code": "GA-0001", "handling_province": AH}
    del old["clock_stops"]
    stored = ServiceItem.publish(AH, ItemDefinition.from_event_fields(old), AH_ADMIN, clock())
    index = CatalogueIndex.open(AH, clock())
    index.add("item", "GA-0001", clock())
    node.app.save(stored, index)
    assert node.catalogue.item(AH, "GA-0001").definition.clock_stops == BEFORE_RULE
    assert "clock_stops" not in node.catalogue.item(AH, "GA-0001").definition.as_event_fields()
    clock.advance(days=1)
    silent = {key: value for key, value in fields.items() if key != "clock_stops"}
    revised, outcome = node.catalogue.publish_item(AH, silent, AH_ADMIN)
    assert (outcome, revised.version) == ("revised", 2)
    stops = revised.definition.clock_stops
    assert (stops.before_rule, stops.supplement_stops_clock, len(stops.special_procedures)) == (
        False,
        False,
        8,
    )
    assert node.catalogue.item(AH, "GA-0001", version=1).definition.clock_stops == BEFORE_RULE


def test_article_34_a_catalogue_naming_inspection_as_a_special_procedure_is_refused(node: Services) -> None:
    """行政许可法 第34条: 现场核查 is part of the review; an item listing it is refused, naming the field."""
    fields = item_fields(clock_stops={"special_procedures": [{"kind": "HEARING"}]})
    fields["clock_stops"]["special_procedures"].append({"kind": "INSPECTION"})
    before = events(node)
    with pytest.raises(InvalidField) as refused:
        node.catalogue.publish_item(AH, fields, AH_ADMIN)
    assert refused.value.field == "clock_stops/special_procedures/1/kind"
    assert events(node) == before
