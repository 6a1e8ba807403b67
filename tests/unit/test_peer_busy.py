"""A peer that sheds a call (RESOURCE_EXHAUSTED) names its wait in a ``retry-after`` trailer: the federation
client and the puller honour it within a bound, and a wait it does not name, or names badly, is one second."""

from __future__ import annotations

import grpc
import pytest

from federation.client import BUSY_DEFAULT_S, RETRY_AFTER_CAP_S, retry_after_s


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
