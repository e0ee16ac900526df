"""Input validation shared by the public functions.

Every message names the argument, the bad value and what would be accepted, so that a user never
sees a traceback from deep inside JAX for a mistake at the boundary.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np


class AssumptionError(ValueError):
    """A theory's assumptions fail on the given data or weights beyond tolerance; the message names the assumption,
    its measured size and where (e.g. the gated reduction's aligned statistics, a low-dimensional target that
    depends on the orthogonal complement)."""


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


#: The floating dtypes a simulation may run in (float64 is the library's default; float32 trades accuracy for speed).
FLOAT_DTYPES = ("float32", "float64")


def float_dtype(name: str, value) -> np.dtype:
    """Return ``value`` as ``np.dtype("float32")`` or ``np.dtype("float64")``, or raise naming ``name``.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : str or dtype-like
        ``"float32"``/``"float64"``, or a NumPy/JAX dtype or scalar type (``np.float32``, ``jnp.float64``, ...).

    Returns
    -------
    numpy.dtype

    Examples
    --------
    >>> float_dtype("dtype", "float32")
    dtype('float32')
    >>> import jax.numpy as jnp
    >>> float_dtype("dtype", jnp.float64)
    dtype('float64')
    """
    # Strings must be the exact names: np.dtype would also read "f4", "float" or "d", which hide what was meant.
    if isinstance(value, str) and value not in FLOAT_DTYPES:
        raise ValueError(
            f"{name} must be one of {list(FLOAT_DTYPES)} (or np/jnp.float32, np/jnp.float64); got {value!r}"
        )
    try:
        dt = np.dtype(value)
    except TypeError as exc:
        raise TypeError(
            f"{name} must be a dtype, one of {list(FLOAT_DTYPES)} (or np/jnp.float32, np/jnp.float64); got {value!r}"
        ) from exc
    if dt.name not in FLOAT_DTYPES:
        raise ValueError(f"{name} must be float32 or float64; got {dt.name} (from {value!r})")
    return dt


def tree_float_dtype(name: str, tree) -> np.dtype:
    """The one floating dtype (float32 or float64) shared by every array leaf of ``tree``, or raise naming ``name``.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    tree : pytree of arrays
        E.g. a net's params ``{"W": (W1, ..., WL), "b": (...)}`` or a tuple of weight matrices.

    Returns
    -------
    numpy.dtype

    Examples
    --------
    >>> import numpy as np
    >>> tree_float_dtype("params", {"W": (np.ones((2, 3), np.float32), np.ones((1, 2), np.float32))})
    dtype('float32')
    """
    import jax

    leaves = jax.tree_util.tree_leaves_with_path(tree)
    if not leaves:
        raise ValueError(f"{name} must hold at least one array; got {tree!r}")
    found = {}
    for path, leaf in leaves:
        dt = np.dtype(getattr(leaf, "dtype", np.asarray(leaf).dtype))
        if dt.name not in FLOAT_DTYPES:
            raise TypeError(
                f"{name}{jax.tree_util.keystr(path)} has dtype {dt.name}; every leaf must be float32 or float64 "
                "(e.g. net.init(key, dtype='float32'))"
            )
        found.setdefault(dt.name, jax.tree_util.keystr(path))
    if len(found) > 1:
        where = ", ".join(f"{dt} at {name}{p}" for dt, p in sorted(found.items()))
        raise ValueError(
            f"{name} mixes dtypes ({where}); a simulation runs in one precision, so cast every leaf to float32 or "
            "float64 (e.g. jax.tree_util.tree_map(lambda a: a.astype('float32'), params))"
        )
    return np.dtype(next(iter(found)))
