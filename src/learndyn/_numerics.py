"""Small numerical helpers shared by the theory and the experiments.

* :func:`relax_integral` -- ``(1 - exp(-2 r theta)) / r`` without cancellation or division by zero, the integral of
  a relaxation that appears in every closed-form solution of the linear theory.
* :func:`crossing_time` and :func:`time_to_fraction` -- the first recorded time at which a curve reaches a level,
  or falls to a fraction of its initial value (learning times, half-rise times, escape times).
* :func:`decay_rate` -- the rate of an exponential relaxation, fitted log-linearly over a window of the curve.

They work on recorded curves (no interpolation between records) and depend on NumPy only, so both the theory and
the experiments may use them.
"""

from __future__ import annotations

import numpy as np


def relax_integral(rate, theta) -> np.ndarray:
    """``(1 - exp(-2 rate theta)) / rate`` elementwise, with its limit ``2 theta`` where ``rate <= 0``.

    ``expm1`` keeps full relative accuracy for small ``rate * theta``; the result is bounded by
    ``min(2 theta, 1 / rate)``, so nothing overflows at large ``theta``. ``rate`` and ``theta`` broadcast.

    Examples
    --------
    >>> relax_integral(0.5, 1.0)  # (1 - e^{-1}) / 0.5
    array(1.26424112)
    >>> relax_integral([0.0, 1e-20], 3.0)  # the rate -> 0 limit 2 theta, reached smoothly
    array([6., 6.])
    """
    rate, theta = np.broadcast_arrays(np.asarray(rate, dtype=np.float64), np.asarray(theta, dtype=np.float64))
    positive = rate > 0
    safe = np.where(positive, rate, 1.0)
    return np.where(positive, -np.expm1(-2.0 * safe * theta) / safe, 2.0 * theta)


def crossing_time(t, y, level, *, above: bool = False, never: float = np.inf):
    """First recorded time at which ``y`` reaches ``level``: ``y <= level``, or ``y >= level`` with ``above``.

    Parameters
    ----------
    t : (T,) array
        Record times, increasing.
    y : (T,) or (T, ...) array
        The curve(s), time first; trailing axes are independent curves (e.g. one per mode).
    level : float or array broadcasting to ``y.shape[1:]``
        The level to reach (per curve).
    above : bool
        Reach from below (``y >= level``, a rising curve) instead of from above (``y <= level``, a falling one).
    never : float
        Returned for a curve that never reaches the level within the records. The default ``inf`` reads "not
        within the run" and keeps ratios and orderings meaningful; pass ``nan`` where a missing crossing must
        make every quantity built from it undefined.

    Returns
    -------
    float for a single curve, else an array of shape ``y.shape[1:]``.

    Examples
    --------
    >>> t = np.arange(401) / 100  # 0, 0.01, ..., 4
    >>> float(crossing_time(t, np.exp(-t), 0.5))  # first record with e^{-t} <= 1/2 (ln 2 = 0.693...)
    0.7
    >>> crossing_time(t, np.stack([t, 2 * t], axis=1), 3.0, above=True)
    array([3. , 1.5])
    >>> float(crossing_time(t, np.exp(-t), -1.0)), float(crossing_time(t, t, 9.0, above=True, never=np.nan))
    (inf, nan)
    """
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if t.ndim != 1 or y.shape[:1] != t.shape:
        raise ValueError(f"y must have the records of t (shape {t.shape}) on its first axis; got shape {y.shape}")
    reached = y >= level if above else y <= level
    first = np.argmax(reached, axis=0)
    out = np.where(reached.any(axis=0), t[first], never)
    return float(out) if out.ndim == 0 else out


def time_to_fraction(t, y, fraction: float, *, floor: float = 0.0, never: float = np.inf):
    """First recorded time at which ``y - floor`` has fallen to ``fraction`` of its initial value ``y[0] - floor``.

    With the default ``floor = 0`` this is the time for a loss to fall to ``fraction`` of ``L(0)``; with
    ``floor = y[-1]`` it is the time to ``1 - fraction`` of the drop the run achieves. ``never`` (default ``inf``)
    when the curve never gets there; see :func:`crossing_time`.

    Examples
    --------
    >>> t = np.arange(1001) / 100  # 0, 0.01, ..., 10
    >>> float(time_to_fraction(t, np.exp(-2 * t), 0.1))  # ln(10) / 2 = 1.151..., rounded up to the next record
    1.16
    >>> loss = 1.0 + np.exp(-t)
    >>> float(time_to_fraction(t, loss, 0.1)), float(time_to_fraction(t, loss, 0.1, floor=loss[-1]))
    (inf, 2.31)
    """
    y = np.asarray(y, dtype=np.float64)
    return crossing_time(t, y - floor, fraction * (y[0] - floor), never=never)


def decay_rate(t, y, *, between: tuple[float, float], min_points: int = 3) -> tuple[float, np.ndarray]:
    """Rate ``r`` of a relaxation ``y ~ C exp(-r t)``, fitted log-linearly over a window of the curve.

    The window holds the records with ``lo * y[0] < y < hi * y[0]`` for ``between = (lo, hi)``: past the
    initial transient and above round-off. ``r`` is minus the least-squares slope of ``log y`` against ``t`` there.

    Parameters
    ----------
    t, y : (T,) arrays
        Record times and a positive, decaying curve (e.g. a loss or an error norm).
    between : (lo, hi)
        Window bounds relative to ``y[0]``, ``0 < lo < hi``.
    min_points : int
        Fewest records in the window for a fit; with fewer the rate is NaN.

    Returns
    -------
    ``(rate, window)``: the fitted rate (NaN when the window holds fewer than ``min_points`` records, i.e. the
    curve never fell through it) and the boolean mask of the records used.

    Examples
    --------
    >>> t = np.linspace(0.0, 20.0, 201)
    >>> rate, window = decay_rate(t, 3.0 * np.exp(-1.5 * t), between=(1e-12, 0.5))
    >>> round(rate, 12), int(window.sum())
    (1.5, 180)
    >>> decay_rate(t, np.ones_like(t), between=(1e-12, 0.5))[0]
    nan
    """
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    lo, hi = between
    if not 0 < lo < hi:
        raise ValueError(f"between must be (lo, hi) with 0 < lo < hi; got {between!r}")
    if t.ndim != 1 or y.shape != t.shape:
        raise ValueError(f"t and y must be 1-D of the same length; got shapes {t.shape} and {y.shape}")
    window = (y < hi * y[0]) & (y > lo * y[0])
    if window.sum() < min_points:
        return float("nan"), window
    return float(-np.polyfit(t[window], np.log(y[window]), 1)[0]), window
