"""Master key rotation, on SQLite and PostgreSQL: after `tongban master-key rotate` every person still reads,
new people get keys, and the retired key is not needed (its file is deleted before the node opens again);
a rotation cut short is finished by running it again; a node without the key that wraps its data keys refuses
to start."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from aggregates.responsibility import Actor
from node.bootstrap import BootstrapError, build_services, close_services
from node.cli import main as cli
from node.cli.master_key import rotate_master_key
from node.settings import Settings
from node.store.master_key import MasterKey, load, next_path, write_new
from simulators.sample_data import sample_catalogue
from tests.builders import issue_body
from tests.people import people

ISSUER = Actor("310000", "SH-ISSUER", "issuer-1")
WINDOW = Actor("310000", "SH-WINDOW", "window-1")


def populate(settings: Settings, count: int, start: int = 0) -> dict[str, tuple[str, str]]:
    services = build_services(settings)
    try:
        services.catalogue.load(sample_catalogue(), "320000", Actor("320000", "CAT", "loader"))
        held = {}
        for person in people(start + count)[start:]:
            body = {**issue_body(0), **person.holder(), "service_item_code": None}
            identifier = services.certificates.issue(ISSUER, **body).identifier
            case = services.cases.submit(
                WINDOW,
                item_province="320000",
                item_code="GA-0003",
                mode="PROXY",
                applicant=person.applicant(),
            )
            held[person.name] = (identifier, str(case.id))
        return held
    finally:
        close_services(services)


def assert_all_read(settings: Settings, held: dict[str, tuple[str, str]]) -> None:
    services = build_services(settings)
    try:
        for name, (identifier, case_id) in held.items():
            assert services.certificates.certificate(identifier).content.holder_name == name
            assert services.cases.applicant(case_id).name == name
    finally:
        close_services(services)


def test_after_a_rotation_everything_reads_without_the_retired_key(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    held = populate(settings, 20)
    old = load(settings.master_key)
    assert cli.main(["master-key", "rotate", "--province", "310000", *_config(settings)]) == 0
    retired = settings.master_key.with_name(f"master.key.retired-{old.key_id}")
    assert f"the retired key is at {retired}" in capsys.readouterr().out
    assert load(retired) == old
    assert load(settings.master_key).key_id != old.key_id
    retired.unlink()  # the operator destroys it: nothing needs it any more
    assert_all_read(settings, held)
    held |= populate(settings, 5, start=20)  # new people get keys wrapped by the new master key
    assert_all_read(settings, held)


def test_a_rotation_cut_short_is_finished_by_running_it_again(settings: Settings) -> None:
    held = populate(settings, 5)
    successor = MasterKey.generate()
    write_new(next_path(settings.master_key), successor)  # the first run stopped after writing its successor
    assert_all_read(settings, held)  # meanwhile the node still reads (it loads both keys)
    services = build_services(settings)
    try:
        retired, now, rewrapped, _resealed = rotate_master_key(services.app.data_keys)
    finally:
        close_services(services)
    assert (now, rewrapped) == (successor, 6)  # 5 people and the pseudonym secret
    assert retired is not None
    retired.unlink()
    assert not next_path(settings.master_key).exists()
    assert_all_read(settings, held)


def test_a_node_without_the_key_that_wraps_its_data_keys_refuses_to_start(settings: Settings) -> None:
    populate(settings, 1)
    settings.master_key.unlink()
    write_new(settings.master_key, MasterKey.generate())  # a wrong (new) key in its place
    with pytest.raises(BootstrapError, match="master_key"):
        build_services(settings)
    other = dataclasses.replace(settings, master_key=settings.master_key.with_name("elsewhere.key"))
    with pytest.raises(BootstrapError, match="master_key"):
        build_services(other)  # a missing key is made afresh, and refused just the same


def _config(settings: Settings) -> list[str]:
    """The CLI reads the node's settings from a TOML file, as an operator's would."""
    path = Path(settings.data_dir) / "node.toml"
    lines = [f'data_dir = "{settings.data_dir}"']
    if settings.postgres_url:
        lines += [
            f'postgres_url = "{settings.postgres_url}"',
            f'postgres_schema = "{settings.postgres_schema}"',
        ]
    path.write_text("\n".join(lines) + "\n")
    return ["--config", str(path)]
