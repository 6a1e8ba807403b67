"""The outbox sends a case event's stored record as it is (federation/outbox.py); that is right only while
no case event has a personal field sealed in its stored record (node/store/personal_mapper.py)."""

from __future__ import annotations

from federation.outbox import APPLICANT_TOPIC, CASE_TOPICS
from node.store.personal_mapper import PERSONAL_FIELDS


def test_no_case_event_is_sealed_and_the_applicants_identity_is() -> None:
    assert CASE_TOPICS
    assert not CASE_TOPICS & set(PERSONAL_FIELDS)
    assert APPLICANT_TOPIC in PERSONAL_FIELDS  # it goes decoded, to the handling province only
