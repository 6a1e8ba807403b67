"""Group commit on the real stores: many threads filing cases at once, and several commands racing on one
case, lose nothing and duplicate nothing; every event is in the log once, in version order."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from node.services import Services
from node.usecases.case_commands import ATTACH_MATERIAL
from tests.builders import FakeClock
from tests.integration.test_case_service import APPLICANT, SH_WINDOW, proxy_case

THREADS = 12


def test_concurrent_filings_are_all_recorded_once(node: Services) -> None:
    before = node.app.recorder.max_notification_id() or 0
    committer = node.app.committer
    assert committer is not None
    transactions_before = committer.batches
    start = threading.Barrier(THREADS)

    def file(_n: int) -> str:
        start.wait(10)
        case = node.cases.submit(
            SH_WINDOW, item_province="320000", item_code="GA-0003", mode="PROXY", applicant=APPLICANT
        )
        return str(case.id)

    with ThreadPoolExecutor(THREADS) as pool:
        case_ids = list(pool.map(file, range(THREADS)))
    assert len(set(case_ids)) == THREADS
    assert all(node.cases.case(case_id).version == 1 for case_id in case_ids)
    recorded = node.app.recorder.select_notifications(start=before + 1, limit=1000)
    per_case = [n for n in recorded if str(n.originator_id) in case_ids]
    assert len(per_case) == THREADS  # one Submitted each, none twice (the applicants are the others)
    assert committer.batches - transactions_before <= THREADS  # never more transactions than saves


def test_commands_racing_on_one_case_keep_its_versions_dense(node: Services, clock: FakeClock) -> None:
    case_id = proxy_case(node, clock)
    version = node.cases.case(case_id).version
    start = threading.Barrier(4)

    def attach(n: int) -> int:
        start.wait(10)
        case = node.cases.run(
            ATTACH_MATERIAL, case_id, SH_WINDOW, material_code="M01", file_digest=f"sha256:{n:064d}"
        )
        return case.version

    with ThreadPoolExecutor(4) as pool:
        versions = list(pool.map(attach, range(4)))
    assert sorted(versions) == list(range(version + 1, version + 5))  # each its own version, none lost
    timeline = node.cases.timeline(case_id)
    assert [e.version for e in timeline] == list(range(1, version + 5))
