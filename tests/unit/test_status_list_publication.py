"""A province's status list publications: one stream per province, never a malformed or an older list."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregates.errors import InvalidField
from aggregates.status_list import StatusListPublication

AT = datetime(2026, 12, 1, tzinfo=UTC)
TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


def test_each_publication_replaces_the_current_list() -> None:
    publication = StatusListPublication.start("340000", AT)
    assert publication.id == StatusListPublication.id_for("340000")
    publication.publish(TOKEN, 100, 0, AT)
    publication.publish(TOKEN.replace("eHIn0", "eTIn0"), 200, 3, AT)
    assert (publication.issued_at, publication.version) == (200, 3)


@pytest.mark.parametrize(
    ("token", "issued_at", "changed", "field"),
    [
        ("not a token", 300, 0, "token"),
        (TOKEN + "\n", 300, 0, "token"),
        (TOKEN, 50, 0, "issued_at"),  # older than the current one
        (TOKEN, 300, -1, "entries_changed"),
    ],
)
def test_a_bad_publication_is_refused(token: str, issued_at: int, changed: int, field: str) -> None:
    publication = StatusListPublication.start("340000", AT)
    publication.publish(TOKEN, 100, 0, AT)
    with pytest.raises(InvalidField) as refused:
        publication.publish(token, issued_at, changed, AT)
    assert refused.value.field == field


def test_a_publication_belongs_to_a_province() -> None:
    with pytest.raises(InvalidField):
        StatusListPublication.start("310001", AT)
