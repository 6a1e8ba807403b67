"""What a peer's refusal or absence means to the caller: named errors the node maps to HTTP and gRPC."""

from __future__ import annotations

import grpc

from aggregates.errors import DomainError


class PeerUnavailable(Exception):
    """A peer province's node did not answer in time (down, cut off, or overloaded); nothing was recorded."""

    def __init__(self, province: str, detail: str) -> None:
        super().__init__(f"the node of province {province} is unavailable: {detail}; retry later")
        self.province = province


class PeerBusy(PeerUnavailable):
    """A peer province's node shed the call (RESOURCE_EXHAUSTED): it did nothing, and asks to be called again
    after ``retry_after_s``."""

    def __init__(self, province: str, detail: str, retry_after_s: float) -> None:
        super().__init__(province, detail)
        self.retry_after_s = retry_after_s


class RemoteRejected(DomainError):
    """A peer refused a forwarded command or a verification; the message is the peer's."""


class RemoteInvalid(RemoteRejected):
    """The peer found the request malformed (INVALID_ARGUMENT)."""


class RemoteConflict(RemoteRejected):
    """The peer's rules refuse it now (FAILED_PRECONDITION): the case's state does not allow it."""


class RemoteNotFound(RemoteRejected):
    """The peer has no such case or certificate (NOT_FOUND), or has not received the case yet."""


class RemoteForbidden(RemoteRejected):
    """The peer does not let this province do that (PERMISSION_DENIED)."""


class BatchRejected(Exception):
    """A peer sent a batch that cannot be applied; none of it was. ``reason`` never quotes personal data."""

    def __init__(self, peer: str, reason: str) -> None:
        super().__init__(f"batch from {peer} rejected: {reason}")
        self.peer = peer
        self.reason = reason


class CommandRefused(Exception):
    """This node refuses a peer's forwarded command; ``code`` is the gRPC status the peer gets."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
