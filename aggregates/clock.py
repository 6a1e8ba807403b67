"""China Standard Time: dates that rules count in (validity, deadlines) are dates in UTC+8, not UTC.

A certificate valid to 2026-03-01 lapses at 2026-03-02 00:00 CST, which is 2026-03-01 16:00 UTC.
"""

from datetime import date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "CST")


def china_date(at: datetime) -> date:
    """The calendar date in China at the instant ``at`` (which must carry a time zone)."""
    if at.tzinfo is None:
        raise ValueError("china_date needs an aware datetime")
    return at.astimezone(CHINA).date()
