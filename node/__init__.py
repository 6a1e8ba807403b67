"""The deployable node process: the composition root (bootstrap), the entrypoints (REST, gRPC, CLI), the use
cases and the background workers.

May import: aggregates, infra, projections and federation; never simulators (they add their commands through
entry points) nor tests.
"""
