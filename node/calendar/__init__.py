"""The working-day calendar: where it comes from (the package, operator files, provisional years from the
holiday law) and reloading it in a running node. The arithmetic itself is pure: aggregates/calendar.py."""
