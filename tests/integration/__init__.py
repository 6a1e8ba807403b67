"""Tests on real stores (SQLite and PostgreSQL, each test on both where the store matters) and real servers
bound to 127.0.0.1 on ports the OS picks, in the test's own process: REST, gRPC, federation inboxes, read
models, audit tools, fuzzers."""
