"""Tools that drive real node processes from outside: the local federation launcher, the demo, the federated
flows, the simulator with its faults and checker, and the sample data.

May import: node, federation, projections, infra and aggregates; never tests.
"""
