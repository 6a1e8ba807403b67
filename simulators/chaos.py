"""A chaos schedule: many faults drawn from the seed and spread over the load, for the Jepsen-style runs.

Each kind of fault gets evenly spaced slots over the load, one fault per slot at a drawn moment, so faults
of one kind never overlap (a node is never killed while down) while faults of different kinds do: a node
killed while a link is cut and the server restarts is exactly what must not lose anything.
- kills: a drawn node, down for 1 to 3 s;
- partitions: in turn a node isolated, one direction of a link cut, a link flapping; 2 to 5 s;
- PostgreSQL restarts (a crash, down 2 s) and pauses (frozen 1 to 2 s), sharing one series of slots.
"""

from __future__ import annotations

import random
from itertools import permutations

from simulators.faults import Fault

PARTITION_KINDS = ("isolate", "cut", "flap")


def _slots(count: int, start_s: float, end_s: float) -> list[tuple[float, float]]:
    width = (end_s - start_s) / count if count else 0.0
    return [(start_s + i * width, start_s + (i + 1) * width) for i in range(count)]


def chaos_schedule(
    provinces: tuple[str, ...],
    load_s: float,
    rng: random.Random,
    *,
    kills: int = 0,
    partitions: int = 0,
    pg_restarts: int = 0,
    pg_pauses: int = 0,
) -> list[Fault]:
    """Faults over the load's ``load_s`` seconds (the first and last tenth left calm), in start order."""
    start, end = load_s * 0.1, load_s * 0.9
    faults: list[Fault] = []
    for low, high in _slots(kills, start, end):
        down = min(rng.uniform(1.0, 3.0), (high - low) * 0.6)
        faults.append(
            Fault("kill", rng.choice(provinces), None, round(rng.uniform(low, high - down), 2), down)
        )
    links = list(permutations(provinces, 2))
    for n, (low, high) in enumerate(_slots(partitions, start, end)):
        kind = PARTITION_KINDS[n % len(PARTITION_KINDS)]
        length = min(rng.uniform(2.0, 5.0), (high - low) * 0.7)
        at = round(rng.uniform(low, high - length), 2)
        if kind == "isolate":
            faults.append(Fault(kind, rng.choice(provinces), None, at, length))
        else:
            source, target = rng.choice(links)
            faults.append(Fault(kind, source, target, at, length, 1.0 if kind == "flap" else 0.0))
    server = ["pgrestart"] * pg_restarts + ["pgpause"] * pg_pauses
    rng.shuffle(server)
    for kind, (low, high) in zip(server, _slots(len(server), start, end), strict=True):
        length = min(2.0 if kind == "pgrestart" else rng.uniform(1.0, 2.0), (high - low) * 0.5)
        faults.append(Fault(kind, "", None, round(rng.uniform(low, high - length), 2), length))
    return sorted(faults, key=lambda f: f.start_s)
