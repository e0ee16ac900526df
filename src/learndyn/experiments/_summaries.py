"""Summaries shared by the learning-rule experiments: kernel statistics over stacks of kernels, the monotone-step
measure of the ordering checks, and the log-log slope of the width-convergence checks."""

from __future__ import annotations

import numpy as np

from learndyn.observables import kernel_task_alignment


def over_kernels(fn, kernels) -> np.ndarray:
    """``fn(K)`` over the leading axes of ``kernels (..., P, P)``."""
    arr = np.asarray(kernels)
    flat = arr.reshape(-1, *arr.shape[-2:])
    return np.asarray([fn(K) for K in flat]).reshape(arr.shape[:-2])


def task_alignments(kernels, y) -> np.ndarray:
    """``A(K, y y^T)`` over the leading axes of ``kernels (..., P, P)``, ``y`` of shape ``(P,)``."""
    return over_kernels(lambda K: kernel_task_alignment(K, y[:, None]), kernels)


def top_fraction(K) -> float:
    """Largest eigenvalue over the trace of the symmetric part: 1 for a rank-one PSD kernel."""
    lam = np.linalg.eigvalsh(0.5 * (K + K.T))
    return float(lam[-1] / np.sum(lam))


def class_contrast(y):
    """``K -> (mean within-class off-diagonal K - mean between-class K) / mean |K|``: > 0 when K clusters by class."""
    same = y[:, None] == y[None, :]
    off = ~np.eye(len(y), dtype=bool)

    def contrast(K):
        return float((np.mean(K[same & off]) - np.mean(K[~same])) / np.mean(np.abs(K)))

    return contrast


def min_step(values, increasing: bool) -> float:
    """Smallest consecutive step of ``values`` (first axis: the swept parameter ascending) in the claimed direction
    (> 0: monotone)."""
    d = np.diff(np.asarray(values), axis=0)
    return float(np.min(d if increasing else -d))


def loglog_slope(x, err) -> float:
    """Least-squares slope of ``log err`` against ``log x``."""
    return float(np.polyfit(np.log(x), np.log(err), 1)[0])
