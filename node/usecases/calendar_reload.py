"""A running node reads its calendar files again: at ``tongban calendar reload`` (REST, admin) or SIGHUP.

A file that fails its checks is refused with a message naming the file, the line and the rule, and the node
keeps the calendar it had. A good one replaces the node's own calendar at once, and the deadline timer looks
at every open case again: for each case this node writes whose due date the new schedule moves, it records
one ``DeadlinesRecomputed`` (``CaseService.check_timers``). Each process of a node holds its own calendar:
reload them all (SIGHUP to each); only the one that runs the workers records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import structlog

from aggregates.errors import InvalidField
from node.usecases.cases import CaseService

log = structlog.get_logger("tongban.calendar")


def reload_calendar(
    cases: CaseService, recheck: Callable[[], Mapping[str, int]] | None = None
) -> dict[str, object]:
    """Load the same files again, then ``recheck`` the open cases (the deadline timer's pass, when this
    process runs the workers); InvalidField, and the old calendar kept, when a file is malformed."""
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
    recorded = dict(recheck()) if recheck is not None else {}
    summary = {**after.summary(), "changed_years": changed, "recorded": recorded}
    log.info("calendar.reloaded", **summary)
    return summary
