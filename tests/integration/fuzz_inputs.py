"""Hypothesis strategies for the fuzzers: structurally random JSON and bytes, and near-valid bodies (a valid
body with one field mutated). Every run draws the same inputs (``FUZZ``: derandomized, no database), so a CI
failure reproduces with the same command."""

from __future__ import annotations

import json
import os
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

T = TypeVar("T")

# CI sends 5,000 inputs per body or message type; set TONGBAN_FUZZ_EXAMPLES to send more (or fewer) by hand.
# Each Hypothesis example is a batch of BATCH inputs: the engine costs more per example than a request.
EXAMPLES = int(os.environ.get("TONGBAN_FUZZ_EXAMPLES", "5000"))
BATCH = 50
FUZZ = settings(
    max_examples=max(1, EXAMPLES // BATCH),
    deadline=None,
    database=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=list(HealthCheck),
)


def batches(inputs: st.SearchStrategy[T]) -> st.SearchStrategy[list[T]]:
    return st.lists(inputs, min_size=BATCH, max_size=BATCH)


# Stands for personal data in a mutated value: no refusal may repeat it. (An unknown key is named in the
# problem's pointer, which is how the client learns which key to drop; values are never repeated.)
MARKER = "赵敏11010519491231002X"

_AWKWARD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\n",
        "x\n",
        "\x00",
        "\x7f",
        "\ud800",  # a lone surrogate
        "\u202e",  # right-to-left override
        "０",  # full-width digit
        "𝟘",
        "null",
        "../../etc/passwd",
        "'; DROP TABLE events; --",
        "%s%s%n",
        MARKER,
        "x" * 10_000,
        "证" * 5_000,
    ]
)
TEXT = st.one_of(st.text(max_size=80), _AWKWARD_TEXT)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    TEXT,
)
_KEYS = st.one_of(st.text(max_size=8), st.sampled_from(["reason", "identifier", "__proto__", ""]))
_SHALLOW = st.one_of(st.lists(_SCALARS, max_size=4), st.dictionaries(_KEYS, _SCALARS, max_size=4))
# Two levels deep at most: generating deeper JSON costs more than sending it; absurd depth is one of the
# fixed bodies in ``bodies``.
JSON_VALUES = st.one_of(
    _SCALARS,
    _SHALLOW,
    st.lists(_SHALLOW, max_size=3),
    st.dictionaries(_KEYS, st.one_of(_SCALARS, _SHALLOW), max_size=4),
)


def _mutated_text(value: str) -> st.SearchStrategy[str]:
    return st.one_of(
        TEXT,
        st.builds(lambda extra: value + extra, TEXT),
        st.integers(0, max(0, len(value) - 1)).map(lambda cut: value[:cut]),
        st.just(value.upper()),
        st.just(value * 50),
        st.just(f" {value} "),
    )


def _replaced(body: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    return {**body, key: value}


@st.composite
def near_valid(draw: st.DrawFn, body: dict[str, Any]) -> Any:
    """``body`` with exactly one thing changed: a field dropped, added, retyped or its text mutated."""
    keys = sorted(body)
    kinds = ["add", "wrap", "retype"] + (["drop", "mutate", "nest"] if keys else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "add":
        return {**body, draw(st.text(min_size=1, max_size=20)): draw(JSON_VALUES)}
    if kind == "wrap":
        return [body]
    if kind == "retype" and not keys:
        return draw(JSON_VALUES)
    key = draw(st.sampled_from(keys))
    if kind == "drop":
        return {k: v for k, v in body.items() if k != key}
    if kind == "nest" and isinstance(body[key], dict) and body[key]:
        return _replaced(body, key, draw(near_valid(body[key])))
    if kind == "mutate" and isinstance(body[key], str):
        return _replaced(body, key, draw(_mutated_text(body[key])))
    if kind == "mutate" and isinstance(body[key], list) and body[key]:
        return _replaced(body, key, draw(st.sampled_from([[], body[key] * 60, [*body[key], MARKER]])))
    return _replaced(body, key, draw(JSON_VALUES))


def bodies(valid: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """What a client may send as a JSON body: near-valid, any JSON, or bytes that are not JSON at all."""

    def encoded(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")

    valid_bytes = encoded(valid)
    return st.one_of(
        near_valid(valid).map(encoded),
        near_valid(valid).map(encoded),
        near_valid(valid).map(encoded),
        JSON_VALUES.map(encoded),
        st.integers(0, max(0, len(valid_bytes) - 1)).map(lambda cut: valid_bytes[:cut]),
        st.binary(max_size=200),
        st.sampled_from([b'{"a":1,"a":2}', b"[" * 100_000, b"1" * 5_000, b"\xef\xbb\xbf{}", b'"\\ud800"']),
    )
