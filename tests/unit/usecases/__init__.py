"""The use-case services over an in-memory store, built by the composition root: each command, its refusals
and its queries, fast enough to run on every change."""
