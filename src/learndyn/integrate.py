"""Time: grids of gradient-flow times, the step index of a time, and the Euler (= GD) and RK4 steps.

Time convention (the same throughout learndyn): loss ``L = 1/(2P) sum_mu ||y_mu - f_mu||^2``, full-batch gradient
descent with learning rate ``lr`` takes ``params <- params - lr * grad L``, and step ``k`` is gradient-flow time
``t = lr * k``. RK4 integrates the same flow ``d params/dt = -grad L`` with step ``dt``.
"""

from __future__ import annotations

import jax
import numpy as np

from learndyn import _checks

# Stability interval on the negative real axis: GD (Euler) [-2, 0], RK4 about [-2.785, 0].
STABILITY_LIMIT = {"gd": 2.0, "rk4": 2.785}


def linear_times(t_max, n):
    """``n`` evenly spaced gradient-flow times from 0 to ``t_max`` inclusive.

    Parameters
    ----------
    t_max : float
        Last time, > 0.
    n : int
        Number of times, >= 1 (``n = 1`` gives ``[0]``).

    Returns
    -------
    numpy.ndarray, shape (n,)

    Examples
    --------
    >>> from learndyn.integrate import linear_times
    >>> linear_times(1.0, 3).tolist()
    [0.0, 0.5, 1.0]
    """
    t_max = _checks.positive_float("t_max", t_max)
    n = _checks.positive_int("n", n)
    return np.linspace(0.0, t_max, n)


def log_times(t_min, t_max, n, *, include_zero=True, step=None):
    """About ``n`` log-spaced gradient-flow times from ``t_min`` to ``t_max``, with 0 prepended.

    Parameters
    ----------
    t_min, t_max : float
        First and last positive time, ``0 < t_min <= t_max``.
    n : int
        Number of log-spaced times (the result has ``n + 1`` entries with ``include_zero``, fewer with ``step``).
    include_zero : bool
        Prepend ``t = 0`` (the initial condition), default True.
    step : float, optional
        The step size of the simulation that will record at these times (GD's learning rate, RK4's ``dt``).
        Times are rounded to multiples of ``step`` and duplicates dropped, so every time is a distinct step and
        the trajectory's ``t`` coordinate is unique (``Dataset.sel``/``interp`` need that). Without it, early
        times closer than a step would map to the same step in :func:`simulate_gd` and repeat records.

    Returns
    -------
    numpy.ndarray
        Increasing times (strictly increasing with ``step``).

    Examples
    --------
    >>> from learndyn.integrate import log_times
    >>> log_times(0.1, 10.0, 3).tolist()
    [0.0, 0.1, 1.0, 10.0]
    >>> log_times(0.1, 1.0, 20, step=0.1).size  # 21 requested times, 11 distinct steps
    11
    """
    t_min = _checks.positive_float("t_min", t_min)
    t_max = _checks.positive_float("t_max", t_max)
    n = _checks.positive_int("n", n)
    if t_max < t_min:
        raise ValueError(f"t_max must be >= t_min; got t_min={t_min!r}, t_max={t_max!r}")
    t = np.geomspace(t_min, t_max, n)
    if include_zero:
        t = np.concatenate([[0.0], t])
    if step is not None:
        step = _checks.positive_float("step", step)
        t = step * np.unique(np.rint(t / step))
    return t


def steps_for(t, h, *, exact: bool = False, h_name: str = "lr") -> np.ndarray:
    """The step index of each time in ``t`` for steps of size ``h``: ``round(t / h)``.

    Parameters
    ----------
    t : array_like
        Non-decreasing times >= 0.
    h : float
        Step size (GD's learning rate, RK4's ``dt``).
    exact : bool
        Require every time to be a multiple of ``h`` (up to 1e-6 of a step), as RK4 references do.
    h_name : str
        How the step size is called in error messages.

    Returns
    -------
    numpy.ndarray of int64

    Examples
    --------
    >>> steps_for([0.0, 0.1, 0.26], 0.05).tolist()
    [0, 2, 5]
    """
    t = _checks.times("t", t)
    ratio = t / h
    if ratio[-1] > 2**53:
        raise ValueError(f"t / {h_name} must stay below 2**53 steps; got t[-1]={float(t[-1])!r} with {h_name}={h!r}")
    steps = np.rint(ratio).astype(np.int64)
    if exact:
        off = np.abs(ratio - steps)
        if (off > 1e-6).any():
            i = int(np.argmax(off))
            raise ValueError(
                f"t must be multiples of {h_name}={h!r} (up to rounding); t[{i}]={float(t[i])!r} is "
                f"{float(ratio[i])!r} steps. Round the grid first, e.g. t = {h_name} * np.round(t / "
                f"{h_name})"
            )
    return steps


def tree_axpy(a, x, y):
    """y + a * x, leafwise."""
    return jax.tree_util.tree_map(lambda xi, yi: yi + a * xi, x, y)


def step(params, value_and_grad, h, method: str):
    """One step of size ``h`` of the flow ``d params/dt = -direction(params)``; returns ``(value, new params)``.

    ``value_and_grad(params) -> (value, direction)`` gives the loss (or any scalar to monitor) and the descent
    direction (the gradient for GD; a learning rule's update otherwise). ``method="gd"`` is the Euler step, which
    is gradient descent with learning rate ``h`` (gradient-flow time advances by ``h``); ``"rk4"`` is the classical
    fourth-order Runge-Kutta step of the same flow.
    """
    value, g1 = value_and_grad(params)
    if method not in STABILITY_LIMIT:
        raise ValueError(f"method must be one of {sorted(STABILITY_LIMIT)}; got {method!r}")
    if method == "gd":
        return value, tree_axpy(-h, g1, params)
    grad = lambda w: value_and_grad(w)[1]
    g2 = grad(tree_axpy(-0.5 * h, g1, params))
    g3 = grad(tree_axpy(-0.5 * h, g2, params))
    g4 = grad(tree_axpy(-h, g3, params))
    incr = jax.tree_util.tree_map(lambda a, b, c, d: a + 2.0 * b + 2.0 * c + d, g1, g2, g3, g4)
    return value, tree_axpy(-h / 6.0, incr, params)
