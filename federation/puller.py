"""The puller: one per peer, it streams the peer's outbox from this node's position and hands each batch to
the inbox. It reconnects with exponential backoff and full jitter, handshakes first (a peer without case
replication is not pulled), and treats a silent stream (no batch, not even a heartbeat) as a dead one.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import structlog
from tongban.federation.v1 import federation_pb2 as pb
from tongban.federation.v1 import federation_pb2_grpc as pb_grpc

from federation.client import UNARY_TIMEOUT_S, PeerClients, retry_after_s
from federation.errors import BatchRejected
from federation.handshake import PROTOCOL_VERSION
from federation.inbox import Applied, Inbox
from federation.servicer import HEARTBEAT_S

T = TypeVar("T")
log = structlog.get_logger("tongban.federation")
BATCH_EVENTS = 500


@dataclass
class PeerStatus:
    """What this node knows of its replication from one peer (read by /metrics, /readyz and gRPC health)."""

    peer: str
    connected: bool = False
    position: int = 0
    head: int = 0  # the peer's log head when its last batch was cut
    caught_up_at: float | None = None  # time.time() when a batch last reached the peer's head
    last_batch_at: float | None = None
    last_error: str | None = None
    applied_total: int = 0
    rejected_total: int = 0

    @property
    def lag_events(self) -> int:
        return max(self.head - self.position, 0)

    def lag_seconds(self, now: float | None = None) -> float | None:
        """0 while in step with the peer; else the time since it last was (None: never reached it)."""
        now = time.time() if now is None else now
        if self.caught_up_at is None:
            return None
        if (
            self.connected
            and self.lag_events == 0
            and self.last_batch_at
            and now - self.last_batch_at < 3 * HEARTBEAT_S
        ):
            return 0.0
        return now - self.caught_up_at

    def in_step(self, tolerance_s: float = 30.0) -> bool:
        """Whether replication from this peer works: connected and not behind for long."""
        lag = self.lag_seconds()
        return self.connected and lag is not None and lag <= tolerance_s

    def describe(self) -> dict[str, object]:
        lag = self.lag_seconds()
        return {
            "connected": self.connected,
            "in_step": self.in_step(),
            "position": self.position,
            "lag_events": self.lag_events,
            "lag_seconds": None if lag is None else round(lag, 3),
            "applied_total": self.applied_total,
            "rejected_batches": self.rejected_total,
            "last_error": self.last_error,
        }


class Backoff:
    """Exponential backoff with full jitter: the nth wait is uniform in [0, min(cap, base * 2**n)]."""

    def __init__(self, base_s: float = 0.2, cap_s: float = 10.0) -> None:
        self._base_s = base_s
        self._cap_s = cap_s
        self._attempt = 0

    def reset(self) -> None:
        self._attempt = 0

    def next(self) -> float:
        ceiling = min(self._cap_s, self._base_s * 2**self._attempt)
        self._attempt = min(self._attempt + 1, 30)
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not security


class Puller:
    def __init__(
        self,
        province: str,
        peer: str,
        clients: PeerClients,
        inbox: Inbox,
        status: PeerStatus,
        on_applied: Callable[[str, Applied], None] = lambda peer, applied: None,
        idle_timeout_s: float = 3 * HEARTBEAT_S,
        batch_events: int = BATCH_EVENTS,
    ) -> None:
        self._batch_events = batch_events
        self._province = province
        self._peer = peer
        self._clients = clients
        self._inbox = inbox
        self._status = status
        self._on_applied = on_applied
        self._idle_timeout_s = idle_timeout_s
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"pull-{peer}")

    async def _in_own_thread(self, work: Callable[..., T], *args: Any) -> T:
        """Run store work in this puller's own thread, not the shared pool: a forwarded command blocks a pool
        thread until its result replicates here, so replication queued behind such threads would feed on
        itself (a slower apply, longer blocked commands, fewer free threads)."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, work, *args)

    async def run(self) -> None:
        """Pull until cancelled."""
        backoff = Backoff()
        while True:
            wait = None
            try:
                await self._session(backoff)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # whatever it was (a peer, the store), pull again later; never stop
                self._status.last_error = _describe(e)
                if isinstance(e, BatchRejected):
                    self._status.rejected_total += 1
                if isinstance(e, grpc.aio.AioRpcError) and e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    # the peer shed the call, so nothing moved: the next session resumes from the inbox's
                    # position, no sooner than the peer asked
                    wait = max(backoff.next(), retry_after_s(e))
                log.warning("federation.pull_interrupted", peer=self._peer, error=self._status.last_error)
            finally:
                self._status.connected = False
            await asyncio.sleep(backoff.next() if wait is None else wait)

    async def _session(self, backoff: Backoff) -> None:
        async with self._clients.aio_channel(self._peer) as channel:
            stub = pb_grpc.FederationServiceStub(channel)
            agreed = await stub.Handshake(
                pb.HandshakeRequest(
                    province=self._province,
                    protocol_versions=[PROTOCOL_VERSION],
                    capabilities=[pb.CAPABILITY_CASE_REPLICATION, pb.CAPABILITY_CASE_COMMANDS],
                ),
                timeout=UNARY_TIMEOUT_S,
            )
            if pb.CAPABILITY_CASE_REPLICATION not in agreed.capabilities:
                raise TimeoutError(f"province {self._peer} does not replicate cases yet")
            position = await self._in_own_thread(self._inbox.resume_position, self._peer)
            stream = stub.PullEvents(
                pb.PullEventsRequest(
                    after_position=position, max_batch_events=self._batch_events, follow=True
                )
            )
            self._status.connected = True
            self._status.last_error = None
            log.info("federation.pull_connected", peer=self._peer, position=position)
            while True:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the cancellation that
                # stops the node when a batch arrives at the same moment, and this loop would never end
                async with asyncio.timeout(self._idle_timeout_s):
                    batch = await stream.read()
                if batch is grpc.aio.EOF:
                    return
                assert isinstance(batch, pb.PullEventsResponse)  # noqa: S101 - the stream's message type
                applied = await self._in_own_thread(self._inbox.apply, self._peer, batch)
                self._record(batch, applied)
                backoff.reset()

    def _record(self, batch: pb.PullEventsResponse, applied: Applied) -> None:
        status = self._status
        now = time.time()
        status.position = applied.position
        status.head = batch.head_position
        status.last_batch_at = now
        if status.lag_events == 0:
            status.caught_up_at = now
        status.applied_total += applied.stored
        self._on_applied(self._peer, applied)
        if applied.stored or applied.notices:
            log.info(
                "federation.batch_applied",
                peer=self._peer,
                stored=applied.stored,
                skipped=applied.skipped,
                notices=applied.notices,
                position=applied.position,
            )


def _describe(error: Exception) -> str:
    """Codes and our own messages only: a store error's text could quote data."""
    if isinstance(error, grpc.aio.AioRpcError):
        return f"{error.code().name}: {error.details()}"
    if isinstance(error, (BatchRejected, TimeoutError)):
        return f"{type(error).__name__}: {error}"
    return type(error).__name__
