"""structlog for the whole process: JSON lines when stdout is not a terminal, readable console otherwise.

Log lines carry ids (request id, certificate identifier, province, office, operator, role), never personal
data (names, ID numbers) and never request body values: callers must not pass them, and tests grep the logs
to make sure. Unexpected errors are logged by type and code location (:func:`error_location`), not by
message, because messages often quote the input that caused them.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import TextIO, cast

import structlog

LEVELS = ("debug", "info", "warning", "error")
_ROOT = Path(__file__).resolve().parents[1]


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at each write: a tool's logs, kept off the stdout that is its answer."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def current_stderr() -> TextIO:
    return cast(TextIO, _CurrentStderr())  # duck-typed: write, flush and isatty are all logging uses


def configure_logging(level: str = "info", log_format: str = "auto", stream: TextIO | None = None) -> None:
    """Structured logs to ``stream`` (stdout for a node; stderr for a tool whose stdout is its answer)."""
    stream = stream or sys.stdout
    if level.lower() not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}")
    as_json = log_format == "json" or (log_format == "auto" and not stream.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if as_json else structlog.dev.ConsoleRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    # Libraries (aiohttp, grpc, eventsourcing) log through the standard library: route them the same way,
    # with their tracebacks rendered into the line (format_exc_info) rather than lost.
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[
                *shared,
                structlog.stdlib.add_logger_name,
                structlog.processors.format_exc_info,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's own access log would print raw paths; the node writes its own access line instead.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def error_location(error: BaseException, depth: int = 8) -> list[str]:
    """Where an exception was raised, innermost last, as ``path:line in function``: no message, no values."""
    frames = traceback.extract_tb(error.__traceback__)[-depth:]
    return [f"{_relative(frame.filename)}:{frame.lineno} in {frame.name}" for frame in frames]


def _relative(filename: str) -> str:
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(_ROOT))
    except ValueError:
        return path.name
