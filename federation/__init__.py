"""The published language between province nodes: gRPC codecs, outboxes, pullers and inboxes.

Federation imports aggregates' event classes, eventsourcing and the generated protos, never ``node``.
"""
