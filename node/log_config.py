"""structlog for the whole process: JSON lines when stdout is not a terminal, readable console otherwise.

Log lines carry ids (request id, certificate identifier, office, operator), never personal data
(names, ID numbers): callers must not pass them, and tests grep the logs to make sure.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: str = "info", log_format: str = "auto") -> None:
    as_json = log_format == "json" or (log_format == "auto" and not sys.stdout.isatty())
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
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=False,
    )
    # Libraries (aiohttp, grpc, eventsourcing) log through the standard library: route them the same way.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's own access log would print raw paths; the node writes its own access line instead.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
