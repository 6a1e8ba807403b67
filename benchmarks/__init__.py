"""Benchmarks: each prints its figures beside a raw baseline measured in the same run.

May import every package of tongban but tests.
"""
