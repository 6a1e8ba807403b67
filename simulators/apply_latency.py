"""Commit-to-apply latency as the nodes themselves measure it: every node observes, for each event of a peer's
case it applies, the time from the event at the peer to its apply here (the histogram
``tongban_replication_latency_seconds{peer}`` on /metrics). Read after the load, per link A→B (A's events
applied at B) and pooled.

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


def apply_latency(metrics_by_node: dict[str, str]) -> dict[str, dict[str, Any]]:
    """``metrics_by_node``: node province -> its /metrics text. Rows per link "A→B", then "all" pooled."""
    per_link: dict[str, Buckets] = {}
    for node, text in sorted(metrics_by_node.items()):
        for peer, buckets in sorted(parse_buckets(text).items()):
            if buckets.get(math.inf):
                per_link[f"{peer}→{node}"] = buckets
    if not per_link:
        return {}
    rows = {link: summary_row(buckets) for link, buckets in per_link.items()}
    rows["all"] = summary_row(merged(list(per_link.values())))
    return rows
