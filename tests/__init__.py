"""The suite: unit/ (fast, in-memory or pure), integration/ (real SQLite and PostgreSQL stores, real HTTP and
gRPC in one process), e2e/ (real node processes with mutual TLS). Shared builders live in builders.py, the
fixed test date in dates.py. Tests may import every package of tongban."""
