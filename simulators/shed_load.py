"""The load the nodes shed, as they count it themselves (``tongban_shed_requests_total{surface}`` on
/metrics): REST requests answered 429, and gRPC calls answered RESOURCE_EXHAUSTED, which include the calls
a node's peers made to it (forwarded commands, 核验) that the load client never sees. A node restarted
during the run counts only since its restart.
"""

from __future__ import annotations

import re
from collections import Counter

_SHED = re.compile(r'^tongban_shed_requests_total\{surface="(?P<surface>[^"]*)"\} (?P<count>\S+)$')


def shed_by_nodes(metrics_by_node: dict[str, str]) -> dict[str, int]:
    """``metrics_by_node``: node province -> its /metrics text. Shed requests per surface (rest, grpc), summed
    over the nodes; both surfaces always present."""
    total: Counter[str] = Counter({"rest": 0, "grpc": 0})
    for text in metrics_by_node.values():
        for line in text.splitlines():
            match = _SHED.match(line)
            if match is not None:
                total[match["surface"]] += int(float(match["count"]))
    return dict(sorted(total.items()))
