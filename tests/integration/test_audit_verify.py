"""`audit verify` against tampering directly in the database, on SQLite and PostgreSQL: an UPDATE of a
payload, a DELETE, an INSERT of a forged row, a swap of two rows, and a truncated tail regrown are each found
at the first bad leaf; an untouched store raises no alarm. Verification streams the store, the logged leaves
and the heads a page at a time; each test runs with pages of the production size (the whole test log in one)
and with pages of a few rows, of different sizes for the store and the log, so that every page boundary and
every head falls between pages somewhere."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from typing import Any

import psycopg
import pytest

from aggregates.errors import InvalidField
from federation.tree_heads import Cosignature, cosignature_payload
from node.audit.verify import verify
from node.cli import main as cli
from node.services import Services
from node.signing import Ed25519Signer
from node.store import stored_records as store_pages
from node.usecases.case_commands import ACCEPT
from node.usecases.transparency import tree_head
from projections import transparency_log as log_pages
from projections.transparency_log import TransparencyLog, leaf_hashes
from tests.builders import FakeClock
from tests.integration.test_case_service import JS_HANDLER, proxy_case

SHIFT = 1_000_000  # renumbering goes through a range no row uses, so no two rows ever share an id


def execute(node: Services, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
    """Run SQL on the node's event table directly, as an intruder with database access would."""
    settings, table = node.settings, node.app.recorder.events_table_name  # type: ignore[attr-defined]
    if settings.postgres_url:
        schema = settings.eventsourcing_env()["POSTGRES_SCHEMA"]
        with psycopg.connect(settings.postgres_url, autocommit=True) as pg:
            for sql, params in statements:
                named = sql.replace("EVENTS", f'"{schema}".{table}').replace("ID", "notification_id")
                pg.execute(named.replace("?", "%s").encode(), params)
        return
    with closing(sqlite3.connect(settings.sqlite_path)) as lite, lite:
        for sql, params in statements:
            lite.execute(sql.replace("EVENTS", table).replace("ID", "rowid"), params)


def update(node: Services, target: int) -> None:
    execute(node, [("UPDATE EVENTS SET state = ? WHERE ID = ?", (b'{"forged":true}', target))])


def delete(node: Services, target: int) -> None:
    execute(node, [("DELETE FROM EVENTS WHERE ID = ?", (target,))])


def insert(node: Services, target: int) -> None:
    """Make room at ``target`` by renumbering the rows from there on, and put a forged event there."""
    execute(node, [
        ("UPDATE EVENTS SET ID = ID + ? WHERE ID >= ?", (SHIFT, target)),
        ("UPDATE EVENTS SET ID = ID - ? + 1 WHERE ID >= ?", (SHIFT, SHIFT)),
        (
            "INSERT INTO EVENTS (originator_id, originator_version, topic, state, ID) VALUES (?, ?, ?, ?, ?)",
            ("00000000-0000-0000-0000-000000000001", 1, "forged:Forged", b"{}", target),
        ),
    ])  # fmt: skip


def swap(node: Services, target: int) -> None:
    execute(node, [
        ("UPDATE EVENTS SET ID = ? WHERE ID = ?", (SHIFT, target)),
        ("UPDATE EVENTS SET ID = ? WHERE ID = ?", (target, target + 1)),
        ("UPDATE EVENTS SET ID = ? WHERE ID = ?", (target + 1, SHIFT)),
    ])  # fmt: skip


def truncate_and_regrow(node: Services, target: int, clock: FakeClock) -> None:
    execute(node, [("DELETE FROM EVENTS WHERE ID >= ?", (target,))])
    proxy_case(node, clock)  # the node records on as if nothing happened


@pytest.fixture(params=["whole pages", "small pages"], autouse=True)
def pages(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "small pages":
        monkeypatch.setattr(store_pages, "BATCH", 4)
        monkeypatch.setattr(log_pages, "PAGE", 3)


def history(node: Services, clock: FakeClock) -> TransparencyLog:
    """Two heads signed over the node's log, the second after more events."""
    proxy_case(node, clock)
    assert node.transparency.publish_head() is not None
    case_id = proxy_case(node, clock)
    node.cases.run(ACCEPT, case_id, JS_HANDLER)
    assert node.transparency.publish_head() is not None
    return TransparencyLog(node.app, node.views, node.settings.transparency_batch_events)


def audit(node: Services, log: TransparencyLog) -> Any:
    return verify(node.app.recorder, log, node.province, node.certificates.public_keys(), {})


def test_an_untouched_store_verifies_clean(node: Services, clock: FakeClock) -> None:
    log = history(node, clock)
    report = audit(node, log)
    assert report.clean, report
    assert (report.leaves_checked, report.heads_checked) == (log.size(), 2)


def test_every_head_is_checked_and_a_rewrite_of_store_and_log_alike_fails_its_root(
    node: Services, clock: FakeClock
) -> None:
    log = history(node, clock)
    for _ in range(3):
        proxy_case(node, clock)
        assert node.transparency.publish_head() is not None
    sizes = [head["tree_size"] for head, _cosignatures in log.signed_heads()]
    assert len(sizes) == 5
    report = audit(node, log)
    assert report.clean, report
    assert (report.leaves_checked, report.heads_checked) == (log.size(), 5)
    # an intruder changes a stored event and the logged leaf alike: only the head over it can tell
    bad_index = sizes[2] - 2
    update(node, log.leaf(bad_index)[0])
    [rewritten] = [
        hashed
        for batch in store_pages.stored_records(node.app.recorder)
        for record, hashed in zip(batch, leaf_hashes(batch), strict=True)
        if record[0] == log.leaf(bad_index)[0]
    ]
    with node.views.transaction() as tx:
        tx.execute("UPDATE tlog_leaves SET leaf_hash = ? WHERE leaf_index = ?", (rewritten.hex(), bad_index))
    report = audit(node, log)
    assert (report.first_bad_index, report.heads_checked) == (None, 3), report
    assert f"root signed for size {sizes[2]}: a leaf from {sizes[1]} to {sizes[2] - 1}" in report.problem


ATTACKS: dict[str, Callable[[Services, int, FakeClock], None]] = {
    "update": lambda node, target, _clock: update(node, target),
    "delete": lambda node, target, _clock: delete(node, target),
    "insert": lambda node, target, _clock: insert(node, target),
    "swap": lambda node, target, _clock: swap(node, target),
    "truncate_and_regrow": truncate_and_regrow,
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_tampering_is_found_at_the_first_bad_leaf(node: Services, clock: FakeClock, attack: str) -> None:
    log = history(node, clock)
    bad_index = log.size() - 9  # in the second case's events, after the catalogue the node loaded first
    ATTACKS[attack](node, log.leaf(bad_index)[0], clock)
    report = audit(node, log)
    assert report.first_bad_index == bad_index, report
    assert not report.clean


@pytest.mark.usefixtures("restored_logging")
def test_the_cli_reports_the_first_bad_leaf_and_fails(
    node: Services, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = history(node, clock)
    settings = node.settings
    monkeypatch.setenv("TONGBAN_DATA_DIR", str(settings.data_dir))
    if settings.postgres_url:
        monkeypatch.setenv("TONGBAN_POSTGRES_URL", settings.postgres_url)
        monkeypatch.setenv("TONGBAN_POSTGRES_SCHEMA", settings.postgres_schema)
    assert cli.main(["audit", "verify", "--province", node.province]) == 0
    assert "no tampering found" in capsys.readouterr().out
    bad_index = log.size() - 3
    update(node, log.leaf(bad_index)[0])
    assert cli.main(["audit", "verify", "--province", node.province]) == 1
    assert f"TAMPERING at leaf {bad_index}: the stored event differs" in capsys.readouterr().out


def test_cosignatures_are_checked_with_the_witnesses_keys(node: Services, clock: FakeClock) -> None:
    log = history(node, clock)
    latest = log.latest_head()
    assert latest is not None
    head = tree_head(latest, node.province)
    jiangsu, anhui, intruder = (Ed25519Signer.generate() for _ in range(3))
    keys = {"320000": jiangsu.public_key().verify, "340000": anhui.public_key().verify}

    def cosign(witness: str, signer: Ed25519Signer) -> Cosignature:
        at = clock().isoformat()
        return Cosignature(witness, signer.key_id, at, signer.sign(cosignature_payload(head, witness, at)))

    node.transparency.accept_cosignature(head, cosign("320000", jiangsu), keys["320000"])
    with pytest.raises(InvalidField):  # the node itself keeps only cosignatures that verify
        node.transparency.accept_cosignature(head, cosign("340000", intruder), keys["340000"])
    report = verify(node.app.recorder, log, node.province, node.certificates.public_keys(), keys)
    assert report.clean, report
    # an intruder writes a cosignature of Anhui's into the table directly
    log.record_cosignature(head.tree_size, cosign("340000", intruder).as_json())
    report = verify(node.app.recorder, log, node.province, node.certificates.public_keys(), keys)
    assert not report.clean
    assert "cosignature of province 340000" in report.problem
