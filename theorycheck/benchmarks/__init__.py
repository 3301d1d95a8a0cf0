"""Benchmarks registered with :func:`theorycheck.registry.benchmark` (``theorycheck bench NAME``)."""
