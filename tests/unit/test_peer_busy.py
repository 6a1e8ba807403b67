"""A peer that sheds a call (RESOURCE_EXHAUSTED) names its wait in a ``retry-after`` trailer: the federation
client and the puller honour it within a bound, and a wait it does not name, or names badly, is one second."""

from __future__ import annotations

import grpc
import pytest

from federation.client import BUSY_DEFAULT_S, RETRY_AFTER_CAP_S, retry_after_s, translate
from federation.errors import PeerBusy, PeerUnavailable
from node.errors import mapping_for


def _shed(*trailers: tuple[str, str]) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.aio.Metadata(), grpc.aio.Metadata(*trailers), "busy"
    )


@pytest.mark.parametrize(
    ("trailers", "seconds"),
    [
        ((("retry-after", "2"),), 2.0),
        ((("retry-after", "0.5"), ("grpc-retry-pushback-ms", "500")), 0.5),
        ((("retry-after", "3600"),), RETRY_AFTER_CAP_S),  # bounded: this node's own caller is waiting
        ((("retry-after", "inf"),), RETRY_AFTER_CAP_S),
        ((("retry-after", "-3"),), 0.0),
        ((("retry-after", "nan"),), BUSY_DEFAULT_S),
        ((("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"),), BUSY_DEFAULT_S),
        ((), BUSY_DEFAULT_S),  # a per-province refusal names no wait
    ],
)
def test_the_wait_a_shedding_peer_asks_for_is_honoured_within_a_bound(
    trailers: tuple[tuple[str, str], ...], seconds: float
) -> None:
    assert retry_after_s(_shed(*trailers)) == seconds


def test_a_shed_call_is_a_busy_peer_which_rest_answers_503_peer_overloaded() -> None:
    busy = translate("320000", _shed(("retry-after", "2")))
    assert isinstance(busy, PeerBusy)
    assert busy.retry_after_s == 2.0
    mapping = mapping_for(busy)
    assert mapping is not None
    assert (mapping.http_status, mapping.problem, mapping.grpc_code) == (
        503,
        "peer-overloaded",
        grpc.StatusCode.UNAVAILABLE,
    )
    down = translate(
        "320000",
        grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "down"),
    )
    assert type(down) is PeerUnavailable
