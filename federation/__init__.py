"""The published language between province nodes: gRPC codecs, the handshake, outboxes, pullers, inboxes,
the witness and the independent RFC 6962 verifier.

May import: aggregates, infra and the generated protos; never projections, node or aiohttp.
"""
