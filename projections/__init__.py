"""Read models built from the node's notification log (case supervision, recognition registry, ...).

Projections import aggregates' event classes and eventsourcing, never ``node``.
"""
