"""Read models built from the node's notification log: supervision board, case view, recognition registry,
certificate uses, statistics, the transparency log's leaves, witness alerts.

May import: aggregates (their event classes), infra (the view store, the Merkle tree) and eventsourcing; never
federation, node or a transport.
"""
