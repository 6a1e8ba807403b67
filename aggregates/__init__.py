"""The domain model: aggregates and value objects, pure Python plus ``eventsourcing.domain``.

Nothing here performs I/O or imports a framework; ``tests/unit/test_layering.py`` enforces it.
"""
