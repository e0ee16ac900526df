"""Timing helper shared by the benchmark scripts (run them from the repository root as ``python benchmarks/X.py``)."""

from __future__ import annotations

import time


def best_of(fn, repeats: int) -> float:
    """Best wall-clock seconds of ``repeats`` calls of ``fn`` after one warm-up call (JIT compilation, caches)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best
