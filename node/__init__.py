"""The deployable node process: composition root, entrypoints (REST, gRPC, CLI) and application services."""
