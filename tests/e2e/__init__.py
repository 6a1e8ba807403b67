"""End to end: real node processes started as a user would (``tongban node``, the demo, the simulator),
talking gRPC with mutual TLS, killed and cut by the tests; each waits on conditions with bounds, never on
sleeps."""
