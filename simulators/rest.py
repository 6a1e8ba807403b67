"""A small JSON client for the simulators: one call, the expected status, a clear error otherwise."""

from __future__ import annotations

from typing import Any

import aiohttp


class DemoError(Exception):
    """A node answered something other than what the scenario expected."""


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
            raise DemoError(f"{method} {url} answered {response.status}: {payload.get('detail', payload)}")
        return payload
