"""Forced crash points, for the chaos suite: the node dies at the worst moments on purpose.

With the setting ``crash_points``, e.g. ``reply:0.01,projection:0.02,apply:0.05``, a node passing a named
point exits at once with that probability, as a SIGKILL would leave it: no cleanup, no flush, no reply.
- ``reply``: a workflow command has committed and its answer is not sent yet (the caller never learns);
- ``projection``: a read model's batch is written and its transaction not yet committed;
- ``apply``: a peer's batch is committed here and the stream has not moved on.
Empty (the default) in production: then every point costs one dictionary lookup.

The points are process-wide, like the logging set-up: the runner configures them once at start.
"""

from __future__ import annotations

import os
import random
import sys

POINTS = ("reply", "projection", "apply")
EXIT_CODE = 137  # what a shell reports for a SIGKILL, so a supervisor treats both alike

_chances: dict[str, float] = {}
_draw = random.Random()  # noqa: S311 - a crash schedule, not a secret


class CrashPointsError(ValueError):
    """The ``crash_points`` setting is malformed; the message shows the expected form."""


def parse(spec: str) -> dict[str, float]:
    chances: dict[str, float] = {}
    for entry in filter(None, (e.strip() for e in spec.split(","))):
        name, _, chance = entry.partition(":")
        try:
            value = float(chance)
        except ValueError:
            value = -1.0
        if name not in POINTS or not 0 < value <= 1:
            raise CrashPointsError(
                f"crash_points {entry!r}: expected NAME:CHANCE with NAME one of {', '.join(POINTS)} "
                "and 0 < CHANCE <= 1"
            )
        chances[name] = value
    return chances


def configure(spec: str) -> None:
    _chances.clear()
    _chances.update(parse(spec))


def reached(name: str) -> None:
    """Exit the process now, with the configured chance for ``name``."""
    chance = _chances.get(name)
    if chance is None or _draw.random() >= chance:
        return
    # One line straight to stderr (the log pipeline may buffer), so the simulator can count forced crashes.
    sys.stderr.write(f'{{"event": "node.crash_point", "point": "{name}", "level": "critical"}}\n')
    sys.stderr.flush()
    os._exit(EXIT_CODE)
