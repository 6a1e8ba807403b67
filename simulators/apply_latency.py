"""Commit-to-apply latency as the nodes themselves measure it: every node observes, for each event of a peer's
case it applies, the time from the event at the peer to its apply here (the histogram
``tongban_replication_latency_seconds{peer}`` on /metrics). Read before and after the load, per link A→B
(A's events applied at B) and pooled: the difference is the load's own events, without what a node applied
while the federation started (the population's certificates, applied once the streams connected, seconds
after they were recorded).

A histogram gives each percentile as the upper bound of the bucket it falls in, so "p99 ≤ 0.25 s" is exact
while the figure itself is coarse. A node restarted during the run counts only since its restart.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from typing import Any

_BUCKET = re.compile(r"^tongban_replication_latency_seconds_bucket\{(?P<labels>[^}]*)\} (?P<count>\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')

Buckets = dict[float, float]  # upper bound (seconds, inf last) -> observations at or below it


def parse_buckets(metrics_text: str) -> dict[str, Buckets]:
    """Peer province -> its cumulative buckets, from one node's /metrics text."""
    found: dict[str, Buckets] = defaultdict(dict)
    for line in metrics_text.splitlines():
        match = _BUCKET.match(line)
        if match is None:
            continue
        labels = dict(_LABEL.findall(match["labels"]))
        found[labels["peer"]][float(labels["le"])] = float(match["count"])
    return dict(found)


def merged(histograms: list[Buckets]) -> Buckets:
    total: Buckets = defaultdict(float)
    for buckets in histograms:
        for bound, count in buckets.items():
            total[bound] += count
    return dict(total)


def quantile_bound(buckets: Buckets, share: float) -> float:
    """The upper bound of the bucket holding the ``share`` quantile (inf: beyond the last bound)."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    if not total:
        return math.nan
    return next(bound for bound in bounds if buckets[bound] >= share * total)


def summary_row(buckets: Buckets) -> dict[str, Any]:
    def ms(share: float) -> float | str:
        bound = quantile_bound(buckets, share)
        return "inf" if math.isinf(bound) else round(bound * 1000, 1)

    return {
        "count": int(buckets.get(math.inf, 0)),
        "p50_le_ms": ms(0.50),
        "p95_le_ms": ms(0.95),
        "p99_le_ms": ms(0.99),
    }


def since(after: Buckets, before: Buckets | None) -> Buckets:
    """The observations between two readings of one histogram of one process (all of ``after`` without a
    reading before)."""
    if before is None:
        return after
    return {bound: count - before.get(bound, 0.0) for bound, count in after.items()}


def apply_latency(
    metrics_by_node: dict[str, str], before_by_node: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """``metrics_by_node``: node province -> its /metrics text after the load; ``before_by_node`` the same
    before it. Rows per link "A→B", then "all" pooled."""
    per_link: dict[str, Buckets] = {}
    for node, text in sorted(metrics_by_node.items()):
        before = (before_by_node or {}).get(node, "")
        # a node restarted in between counts since its restart: its histogram began again
        earlier = parse_buckets(before) if _started(before) == _started(text) else {}
        for peer, all_buckets in sorted(parse_buckets(text).items()):
            buckets = since(all_buckets, earlier.get(peer))
            if buckets.get(math.inf):
                per_link[f"{peer}→{node}"] = buckets
    if not per_link:
        return {}
    rows = {link: summary_row(buckets) for link, buckets in per_link.items()}
    rows["all"] = summary_row(merged(list(per_link.values())))
    return rows


def _started(metrics_text: str) -> float | None:
    """The node process's start time (``process_start_time_seconds``): another value, another process."""
    match = re.search(r"^process_start_time_seconds (\S+)$", metrics_text, re.MULTILINE)
    return float(match[1]) if match else None
