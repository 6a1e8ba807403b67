"""Audit tools over a node's store: verify (every leaf, head and cosignature), replay (history as of an
instant) and evidence (a case's bundle, checked offline)."""
