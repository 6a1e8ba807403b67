"""CPU seconds spent by processes of this machine, from /proc (Linux): what a benchmark's load used, split by
who used it, so a figure that stops scaling says which part lacked CPU."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    """User plus system CPU seconds of each process so far; a process that has ended is left out."""
    seconds: dict[int, float] = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may hold spaces: the fields counted from its closing parenthesis on.
        fields = stat.rpartition(")")[2].split()
        seconds[pid] = (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime, stime
    return seconds


def pids_named(name: str) -> list[int]:
    """The processes whose command name is ``name`` (e.g. every PostgreSQL server process)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def used_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the processes used between two readings; one started in between counts from zero."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of every core since boot, from /proc/stat's first line."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    total = sum(ticks)
    return (total - idle) / TICKS_PER_S, total / TICKS_PER_S
