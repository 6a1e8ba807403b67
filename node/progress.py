"""A progress bar on stderr for the auditors' long runs: done of total, the rate, throttled to a few redraws a
second so that printing never slows the work it reports."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30
REDRAW_S = 0.2


class ProgressBar:
    def __init__(self, label: str, total: int, unit: str = "events", stream: TextIO | None = None) -> None:
        self._label, self._total, self._unit = label, max(total, 1), unit
        self._stream = stream or sys.stderr
        self._started = self._drawn = time.monotonic()
        self._done = 0

    def update(self, done: int) -> None:
        self._done = done
        now = time.monotonic()
        if now - self._drawn >= REDRAW_S:
            self._drawn = now
            self._draw(now)

    def finish(self) -> None:
        self._draw(time.monotonic())
        print(file=self._stream, flush=True)

    def _draw(self, now: float) -> None:
        share = min(self._done / self._total, 1.0)
        filled = round(share * WIDTH)
        rate = self._done / max(now - self._started, 1e-9)
        print(
            f"\r{self._label} [{'#' * filled}{'.' * (WIDTH - filled)}] {share:4.0%} "
            f"{self._done}/{self._total} {self._unit} {rate:,.0f}/s",
            end="",
            file=self._stream,
            flush=True,
        )
