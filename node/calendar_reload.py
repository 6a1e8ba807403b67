"""A running node reads its calendar files again: at ``tongban calendar reload`` (REST, admin) or SIGHUP.

A file that fails its checks is refused with a message naming the file, the line and the rule, and the node
keeps the calendar it had. A good one replaces the node's own calendar at once; the deadline timer then
records, for each open case it writes whose due date the new schedule moves, one ``DeadlinesRecomputed``
(``CaseService.check_timers``), so nothing is recorded here.
"""

from __future__ import annotations

import structlog

from aggregates.errors import InvalidField
from node.cases import CaseService

log = structlog.get_logger("tongban.calendar")


def reload_calendar(cases: CaseService) -> dict[str, object]:
    """Load the same files again; InvalidField (and the old calendar kept) when one is malformed."""
    before = cases.calendars
    try:
        after = before.reloaded()
    except ValueError as e:
        log.warning("calendar.reload_refused", problem=str(e))
        raise InvalidField("calendar_files", f"{e}; the node keeps its previous calendar") from None
    changed = sorted(
        s.year
        for s in after.current.schedules
        if s.year not in before.current.covered_years
        or not s.same_days(before.current.schedule(s.year))
        or s.kind != before.current.schedule(s.year).kind
    )
    cases.calendars = after
    summary = {**after.summary(), "changed_years": changed}
    log.info("calendar.reloaded", **summary)
    return summary
