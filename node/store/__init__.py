"""The node's event store and what keeps it: the one eventsourcing application, group commit, personal fields
sealed per person with their data keys and the master key, idempotency records, the worker lease and the
PostgreSQL store watch. May import aggregates, infra and federation's log signal; nothing above it in
node/."""
