"""Faults on a schedule: what to break, when, and for how long.

A fault is written ``kind:target@start+duration[:parameter]``, times in seconds from the start of the load:

- ``kill:320000@5+3``: SIGKILL Jiangsu's node at 5 s and start it again 3 s later;
- ``cut:310000>320000@4+5``: cut the link from Shanghai's node to Jiangsu's (Shanghai's calls to Jiangsu,
  its pulls of Jiangsu's log included) from 4 s to 9 s;
- ``slow:310000>320000@4+5:0.3``: hold every chunk on that link 0.3 s each way, from 4 s to 9 s;
- ``flap:310000>320000@4+6:1``: cut and heal that link every 1 s, from 4 s to 10 s;
- ``isolate:330000@4+5``: cut every link into and out of Zhejiang's node, from 4 s to 9 s;
- ``pgrestart@6+2``: crash the simulator's own PostgreSQL server at 6 s and start it 2 s later
  (``--private-postgres``);
- ``pgpause@6+2``: freeze that server (SIGSTOP to every process of it) at 6 s and let it go 2 s later: the
  nodes' connections stay open but nothing answers, like a stalled disk or a long GC pause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("kill", "isolate", "cut", "slow", "flap", "pgrestart", "pgpause")
NODE_KINDS = ("kill", "isolate")  # name one node; cut, slow and flap name a link P>Q
SERVER_KINDS = ("pgrestart", "pgpause")  # name nothing: the simulator's own PostgreSQL server
_SPEC = re.compile(
    r"(?P<kind>[a-z]+)(?::(?P<source>[1-8][0-9]0000)(?:>(?P<target>[1-8][0-9]0000))?)?"
    r"@(?P<start>[0-9.]+)\+(?P<duration>[0-9.]+)(?::(?P<parameter>[0-9.]+))?"
)


class FaultSpecError(ValueError):
    """A fault that cannot be parsed; the message shows the expected form."""


@dataclass(frozen=True)
class Fault:
    kind: str
    source: str  # the node killed or isolated, or the calling end of the link ("" for the server)
    target: str | None  # the called end of the link (None for a node or the server)
    start_s: float
    duration_s: float
    parameter: float = 0.0  # slow: the delay; flap: the period

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def describe(self) -> str:
        if self.kind in SERVER_KINDS:
            return f"{self.kind}@{self.start_s:g}+{self.duration_s:g}"
        where = self.source if self.target is None else f"{self.source}>{self.target}"
        extra = f":{self.parameter:g}" if self.parameter else ""
        return f"{self.kind}:{where}@{self.start_s:g}+{self.duration_s:g}{extra}"


def parse_fault(text: str, provinces: tuple[str, ...]) -> Fault:
    match = _SPEC.fullmatch(text.strip())
    if match is None or match["kind"] not in KINDS:
        raise FaultSpecError(
            f"{text!r}: expected kill:P@START+SECONDS, isolate:P@START+SECONDS, cut:P>Q@START+SECONDS, "
            "slow:P>Q@START+SECONDS:DELAY, flap:P>Q@START+SECONDS:PERIOD, pgrestart@START+SECONDS or "
            "pgpause@START+SECONDS"
        )
    kind, source, target = match["kind"], match["source"], match["target"]
    if kind in SERVER_KINDS:
        if source is not None:
            raise FaultSpecError(f"{text!r}: {kind} names no province: {kind}@START+SECONDS")
        return Fault(kind, "", None, float(match["start"]), float(match["duration"]))
    if source is None:
        raise FaultSpecError(f"{text!r}: {kind} names a node (kill:P) or a link (P>Q)")
    for province in (source, target):
        if province is not None and province not in provinces:
            raise FaultSpecError(f"{text!r}: province {province} is not in this federation")
    if (kind in NODE_KINDS) != (target is None) or source == target:
        raise FaultSpecError(f"{text!r}: kill and isolate name one node; cut, slow and flap name a link P>Q")
    parameter = float(match["parameter"] or 0)
    if kind in ("slow", "flap") and parameter <= 0:
        raise FaultSpecError(f"{text!r}: {kind} needs a positive :{'DELAY' if kind == 'slow' else 'PERIOD'}")
    return Fault(kind, source, target, float(match["start"]), float(match["duration"]), parameter)
