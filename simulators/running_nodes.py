"""The nodes of a federation that is already running, for `tongban simulate --manifest`: its provinces come
from the signed federation manifest, their REST addresses from the operator (the manifest lists federation
endpoints only). The simulator then loads them as they are: it starts, kills and cuts nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from federation.pki import load_manifest


class TargetError(ValueError):
    """The manifest, its key or the REST addresses do not describe the running federation; says which."""


@dataclass(frozen=True)
class RunningNode:
    http_url: str


def running_nodes(manifest: Path, manifest_key: Path, api: str) -> dict[str, RunningNode]:
    """``api``: "310000=http://10.0.0.5:8080,320000=..." naming the REST address of every manifest member."""
    members = [m.province for m in load_manifest(manifest, manifest_key).members]
    urls: dict[str, str] = {}
    for entry in filter(None, (e.strip() for e in api.split(","))):
        province, _, url = entry.partition("=")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise TargetError(f"--api {entry!r}: expected PROVINCE=http(s)://HOST:PORT")
        urls[province] = url.rstrip("/")
    if set(urls) != set(members):
        raise TargetError(
            f"--api must name the REST address of exactly the manifest's provinces {', '.join(members)}; "
            f"it names {', '.join(sorted(urls)) or 'none'}"
        )
    return {province: RunningNode(urls[province]) for province in members}
