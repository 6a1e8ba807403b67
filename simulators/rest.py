"""A small JSON client for the simulators: one call, the expected status, a clear error otherwise."""

from __future__ import annotations

from typing import Any

import aiohttp


class DemoError(Exception):
    """A node answered something other than what the scenario expected."""

    def __init__(self, message: str, status: int = 0, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status the node answered (0: none)
        self.retry_after_s = retry_after_s  # its Retry-After, in seconds, when it gave one


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the nodes never send the HTTP-date form)."""
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    headers: dict[str, str],
    body: Any = None,
    expect: int = 200,
) -> dict[str, Any]:
    async with session.request(method, url, headers=headers, json=body) as response:
        payload: dict[str, Any] = await response.json(content_type=None)
        if response.status != expect:
            detail = payload.get("detail", payload)
            raise DemoError(
                f"{method} {url} answered {response.status}: {detail}",
                response.status,
                _retry_after(response.headers.get("Retry-After")),
            )
        return payload
