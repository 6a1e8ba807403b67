"""A kit's sync with its own province's node, over HTTPS with a bearer token of role ``verifier``: upload the
check records made since the last sync, then fetch the manifest, every province's status list, the scenario
policies and the registered verifiers.

Records go first and are marked uploaded only when the node answers that it holds them (by record id, so a
retry after a lost answer stores nothing twice); a failed fetch keeps the last good sync.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from verifier.kit import VerifierKit

BUNDLE_PATH = "/v1/verifier-kit/bundle"
RECORDS_PATH = "/v1/verification-records"
TIMEOUT_S = 30
MAX_BUNDLE_BYTES = 64 * 1024 * 1024


class SyncFailed(Exception):
    """The node could not be reached, or answered with an error; the message says which, never a body."""


def _call(url: str, token: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")  # noqa: S310
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:  # noqa: S310 - the operator's URL
            return json.loads(answer.read(MAX_BUNDLE_BYTES + 1))
    except urllib.error.HTTPError as e:
        raise SyncFailed(f"the node answered {e.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        raise SyncFailed(f"the node cannot be reached ({type(e).__name__})") from None
    except ValueError:
        raise SyncFailed("the node's answer is not JSON") from None


def sync_with_node(kit: VerifierKit, node_url: str, token: str, now: int) -> dict[str, int]:
    base = node_url.rstrip("/")
    uploaded = 0
    while records := kit.pending_records():
        answer = _call(base + RECORDS_PATH, token, {"records": records})
        held = [str(i) for i in answer.get("held", [])] if isinstance(answer, dict) else []
        if not held:
            raise SyncFailed("the node held none of the records")
        kit.uploaded(held)
        uploaded += len(held)
    bundle = _call(base + BUNDLE_PATH, token)
    if not isinstance(bundle, dict):
        raise SyncFailed("the node's bundle is not an object")
    return {"records_uploaded": uploaded, **kit.apply_sync(bundle, now)}
