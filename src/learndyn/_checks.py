"""Input validation shared by the public functions.

Every message names the argument, the bad value and what would be accepted, so that a user never
sees a traceback from deep inside JAX for a mistake at the boundary.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np


def as_array(name: str, value, ndim: int):
    """Return ``value`` as a finite float64 ``ndim``-D array without zero-size axes, or raise naming ``name``.

    A JAX tracer (inside ``jit``/``grad``) passes with its shape checked only: its values are not known yet.
    """
    import jax

    if isinstance(value, jax.core.Tracer):
        if value.ndim != ndim:
            raise ValueError(f"{name} must be {ndim}-D; got shape {tuple(value.shape)}")
        return value
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real {ndim}-D array; got {type(value).__name__}") from exc
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D; got shape {arr.shape}")
    if 0 in arr.shape:
        raise ValueError(f"{name} must have no zero-size dimension; got shape {arr.shape}")
    finite(name, arr)
    return arr


def as_matrix(name: str, value, *, rows: int | None = None, cols: int | None = None) -> np.ndarray:
    """Return ``value`` as a finite float64 2-D array, or raise naming ``name``."""
    arr = as_array(name, value, 2)
    if rows is not None and arr.shape[0] != rows:
        raise ValueError(f"{name} must have {rows} rows; got shape {arr.shape}")
    if cols is not None and arr.shape[1] != cols:
        raise ValueError(f"{name} must have {cols} columns; got shape {arr.shape}")
    return arr


def finite(name: str, arr) -> None:
    """Raise if ``arr`` holds NaN or inf, saying how many entries and where the first one is."""
    a = np.asarray(arr)
    bad = ~np.isfinite(a)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} contains {int(bad.sum())} non-finite value(s) (NaN or inf), first at index "
            f"{first}; clean the data before passing it in"
        )


def positive_int(name: str, value) -> int:
    """Return ``value`` as a positive int, or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def rng(seed) -> np.random.Generator:
    """A NumPy generator from a non-negative integer ``seed`` (a Generator passes through), or raise."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    return np.random.default_rng(int(seed))


def positive_float(name: str, value, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite float > 0 (or >= 0 with ``allow_zero``), or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    v = float(value)
    ok = np.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}; got {value!r}")
    return v


def real_float(name: str, value) -> float:
    """Return ``value`` as a finite float, or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number; got {value!r}")
    return float(value)


def one_of(name: str, value, accepted: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``accepted``, else raise listing them."""
    if value not in accepted:
        raise ValueError(f"{name} must be one of {sorted(accepted)}; got {value!r}")
    return value


def times(name: str, value) -> np.ndarray:
    """Return a 1-D, finite, non-negative, non-decreasing float64 array of times, or raise."""
    t = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of times; got shape {t.shape}")
    finite(name, t)
    if (t < 0).any():
        raise ValueError(f"{name} must be >= 0 (gradient-flow time); got min {t.min()!r}")
    if (np.diff(t) < 0).any():
        raise ValueError(f"{name} must be non-decreasing; got {t!r}")
    return t
