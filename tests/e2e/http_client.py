"""A tiny blocking JSON client over urllib, for tests that drive a node process from outside."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def request_json(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    sent = {**(headers or {}), **({"Content-Type": "application/json"} if data is not None else {})}
    request = urllib.request.Request(url, data=data, method=method, headers=sent)  # noqa: S310 - tests' own loopback URLs
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def post_json(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    return request_json("POST", url, body, headers)


def get_json(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    return request_json("GET", url, None, headers)


def get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - tests' own loopback URLs
        text: str = response.read().decode()
        return text
