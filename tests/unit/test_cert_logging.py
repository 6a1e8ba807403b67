"""Logging: library tracebacks render, unexpected errors are logged by type and place, not by message."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
import structlog

from node.log_config import configure_logging, error_location


@pytest.fixture
def json_output(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """JSON logging into a buffer standing in for stdout; the previous set-up is restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    output = io.StringIO()
    monkeypatch.setattr(sys, "stdout", output)
    configure_logging("info", "json")
    yield output
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def test_a_library_traceback_is_rendered_into_its_json_line(json_output: io.StringIO) -> None:
    def fail_deep_inside() -> None:
        raise RuntimeError("library failure")

    try:
        fail_deep_inside()
    except RuntimeError:
        logging.getLogger("aiohttp.server").exception("Error handling request")
    [line] = [json.loads(text) for text in json_output.getvalue().splitlines()]
    assert (line["event"], line["logger"], line["level"]) == (
        "Error handling request",
        "aiohttp.server",
        "error",
    )
    assert "Traceback (most recent call last)" in line["exception"]
    assert "fail_deep_inside" in line["exception"]


def test_an_error_location_names_files_and_lines_but_not_the_message() -> None:
    def parse(value: str) -> None:
        raise ValueError(f"invalid value {value!r}")

    try:
        parse("11010519491231002X")
    except ValueError as e:
        where = error_location(e)
    assert where[-1].startswith("tests/unit/test_cert_logging.py:")
    assert where[-1].endswith(" in parse")
    assert "11010519491231002X" not in repr(where)


def test_an_unknown_log_level_is_refused() -> None:
    with pytest.raises(ValueError, match="debug, info, warning, error"):
        configure_logging("verbose", "json")
