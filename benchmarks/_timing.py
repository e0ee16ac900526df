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


def best_of_interleaved(fns, repeats: int) -> list[float]:
    """Best wall-clock seconds of each of ``fns`` over ``repeats`` rounds calling them in turn, after a warm-up each.

    Interleaving makes a burst of load from other processes (a shared machine) hit every function alike, so that
    differences of the timings (e.g. a long run minus a short one) are not skewed by when the burst came.
    """
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best
