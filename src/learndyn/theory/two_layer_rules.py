"""Infinite-width dynamics of a two-layer linear mean-field network on whitened inputs, for GD, rho-FA and Hebb.

Bordelon & Pehlevan, "The influence of learning rule on representation dynamics in wide neural networks" (ICLR
2023, arXiv 2210.02157), eqs. 7-8: the network ``h_mu = W x_mu / sqrt(D)``, ``f_mu = w . h_mu / (gamma0 N)``, all
weights N(0, 1) at init (``learndyn.param.get("meanfield", gamma0)`` with a linear activation), inputs with
``K^x = X X^T / D = I`` (so ``P <= D``), one output. At infinite width ``N`` the feature kernel
``H = h . h^T / N`` starts at ``I``, ``f(0) = 0``, and the learning rule fixes how ``H`` and the output evolve:

========  ===========================================================================================
rule      closed dynamics (their time ``s``: loss ``1/2 sum_mu (y_mu - f_mu)^2``, every layer at rate
          ``gamma0^2 N``)
========  ===========================================================================================
rho-FA    ``f = c (1 + rho + |c|^2 / 2) / gamma0`` with ``dc_mu/ds = gamma0 Delta_mu``; along the target,
          ``c = a y_hat``: ``da/ds = gamma0 |y| - a^3/2 - (1 + rho) a``, ``H = I + c c^T``, the gradient /
          pseudo-gradient overlap ``G~ = w . b / N = rho + a^2 / 2``
GD        ``Delta = Delta(s) y_hat``, ``d Delta/ds = -2 sqrt(1 + gamma0^2 (|y| - Delta)^2) Delta``,
          ``H_y = G = w . w / N = sqrt(1 + gamma0^2 (|y| - Delta)^2)``
Hebb      per item: ``d Delta_mu/ds = -[H_mu,mu + gamma0 Delta_mu (y_mu - Delta_mu)] Delta_mu``,
          ``dH_mu,mu/ds = 2 gamma0 Delta_mu^2 H_mu,mu``; the off-diagonal ``H`` stays 0
========  ===========================================================================================

``Delta = y - f``, ``y_hat = y / |y|`` and ``H_y = y_hat^T H y_hat``. **The GD equation carries a factor 2** that
the paper's printed eq. 8 lacks: the eNTK is ``H + G I`` and ``H_y = G`` along the target, so the target
component relaxes at rate ``2 H_y`` (re-derived here from the paper's eq. 2; a width-2000 simulation follows the
factor-2 equation and not the printed one, see ``tests/theory/test_two_layer_rules.py``). The rho-FA and Hebb
equations are the paper's, re-derived the same way.

Time. The functions here take the library's gradient-flow time ``t = eta * step`` (loss ``1/(2P) sum (y - f)^2``,
learning rate ``eta gamma0^2 N`` per layer, i.e. ``simulate(..., param=param.get("meanfield", gamma0))``); the
paper's time is ``s = t / P``, because its loss sums over the items instead of averaging them.

Fixed points: FA ``a*`` is the real root of ``a^3 / 2 + (1 + rho) a = gamma0 |y|`` (``H_y - 1 = a*^2``:
``~ gamma0^2`` at small ``gamma0``, ``~ gamma0^(2/3)`` at large); GD ``H_y = sqrt(1 + gamma0^2 |y|^2)``
(``H_y - 1 ~ gamma0^2`` at small ``gamma0``, ``~ gamma0`` at large); Hebb's ``H`` grows on each item's own
diagonal only, so its alignment with the task does not rise.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from learndyn import _checks
from learndyn.observables import describe_variables, kernel_task_alignment
from learndyn.tasks import Task

__all__ = ["RULES", "fa_fixed_point", "gd_fixed_point", "gd_printed_delta", "trajectory"]

#: Learning rules with closed two-layer whitened dynamics.
RULES = ("gd", "fa", "hebb")

# LSODA switches to a stiff method once the flow has settled, so t = 1e6 costs a few steps, not millions.
_ODE = {"method": "LSODA", "rtol": 1e-11, "atol": 1e-13}


def fa_fixed_point(y_norm: float, gamma0: float, rho: float = 0.0) -> float:
    """The rho-FA fixed point ``a*``: the real root of ``a^3 / 2 + (1 + rho) a = gamma0 |y|``.

    Parameters
    ----------
    y_norm : float
        ``|y| >= 0``, the norm of the target vector over items.
    gamma0 : float
        Richness, > 0.
    rho : float
        Feedback alignment with the initial readout, in [0, 1].

    Returns
    -------
    float
        ``a*`` (``H_y - 1 = a*^2`` and ``G~ = rho + a*^2 / 2`` at the end of training).

    Examples
    --------
    >>> round(fa_fixed_point(1.0, 1.0, 0.0), 10)  # a^3/2 + a = 1
    0.7709169971
    """
    y_norm, gamma0, rho = _scalars(y_norm, gamma0, rho)
    target = gamma0 * y_norm
    if target == 0.0:
        return 0.0
    # the cubic is increasing, and a = target / (1 + rho) overshoots it, so the root is bracketed
    return float(brentq(lambda a: a**3 / 2 + (1 + rho) * a - target, 0.0, target / (1 + rho), xtol=1e-300, rtol=1e-15))


def gd_fixed_point(y_norm: float, gamma0: float) -> float:
    """GD's final target alignment ``H_y = G = sqrt(1 + gamma0^2 |y|^2)``.

    Examples
    --------
    >>> bool(gd_fixed_point(3.0, 1.0 / 3.0) == np.sqrt(2.0))
    True
    """
    y_norm, gamma0, _ = _scalars(y_norm, gamma0, 0.0)
    return float(np.sqrt(1.0 + (gamma0 * y_norm) ** 2))


def gd_printed_delta(y_norm: float, gamma0: float, t, P: int) -> np.ndarray:
    """GD's error along the target from the paper's *printed* eq. 8, ``dDelta/ds = -sqrt(1 + gamma0^2 (|y| -
    Delta)^2) Delta`` (no factor 2), at library times ``t`` (``s = t / P``): only to show that simulations do not
    follow it (:func:`trajectory` has the corrected equation).

    Examples
    --------
    >>> d = gd_printed_delta(1.0, 1e-6, [0.0, 4.0], P=4)  # lazy: Delta = e^{-s}, half the corrected rate
    >>> bool(np.allclose(d, [1.0, np.exp(-1.0)]))
    True
    """
    y_norm, gamma0, _ = _scalars(y_norm, gamma0, 0.0)
    P = _checks.positive_int("P", P)
    s = _checks.times("t", t) / P
    u = _solve(lambda _, u: np.sqrt(1 + (gamma0 * u) ** 2) * (y_norm - u), s, 0.0)
    return y_norm - u


def trajectory(task: Task, rule: str, *, gamma0: float, t, rho: float = 0.0) -> xr.Dataset:
    """The infinite-width trajectory of ``task`` under ``rule`` (library time ``t``), as a Dataset.

    Parameters
    ----------
    task : Task
        ``X (P, D)`` with ``X X^T / D = I`` (whitened in the mean-field sense; needs ``P <= D``), ``Y (P, 1)``.
    rule : {"gd", "fa", "hebb"}
    gamma0 : float
        Richness, > 0.
    t : array_like
        Non-decreasing times ``>= 0`` in the library's convention ``t = eta * step`` (the paper's time is
        ``t / P``); any size, ``t = 1e6`` included.
    rho : float
        rho-FA only: the feedback ``b = rho w(0) + sqrt(1 - rho^2) w~``, in [0, 1].

    Returns
    -------
    xarray.Dataset
        ``f (t, p, o)`` and ``loss (t)`` (the names of a simulation's trajectory, so
        :func:`learndyn.observables.compare` applies), ``h_y (t)`` = ``y_hat^T H y_hat``, ``h_y_frac (t)`` =
        ``h_y / Tr H``, ``h_diag (t, p)`` = ``H_mu,mu``, ``g_tilde (t)`` (the readout's gradient / pseudo-gradient
        overlap ``G~``: ``w . w / N`` for GD, ``w . b / N`` for FA; absent for Hebb, whose pseudo-gradient depends
        on the item),
        ``entk_task_alignment (t)`` = ``A(K, y y^T)`` of the eNTK ``K`` with ``df/ds = K Delta``.

    Examples
    --------
    >>> X = np.sqrt(2.0) * np.eye(2)
    >>> ds = trajectory(Task(X, np.array([[1.0], [0.0]])), "gd", gamma0=1.0, t=[0.0, 1e6])
    >>> round(float(ds.h_y[-1]), 9), bool(ds.loss[-1] < 1e-20)  # H_y -> sqrt(1 + gamma0^2 |y|^2)
    (1.414213562, True)
    """
    rule = _checks.one_of("rule", rule, RULES)
    _, gamma0, rho = _scalars(0.0, gamma0, rho)
    t = _checks.times("t", t)
    y = _whitened_targets(task)
    P = y.shape[0]
    s = t / P
    y_norm = float(np.linalg.norm(y))
    y_hat = y / y_norm if y_norm > 0 else np.zeros_like(y)
    eye = np.eye(P)
    if rule == "hebb":
        delta, h_diag = _hebb(s, y, gamma0)
        f = y - delta
        H = eye * h_diag[:, None, :]
        K = H + eye * (gamma0 * delta * f)[:, None, :]
        g_tilde = None
    else:
        if rule == "fa":
            a = _solve(lambda _, a: gamma0 * y_norm - a**3 / 2 - (1 + rho) * a, s, 0.0)
            f_along = a * (1 + rho + a**2 / 2) / gamma0
            hy_minus_1, g_tilde = a**2, rho + a**2 / 2
        else:
            u = _solve(lambda _, u: 2 * np.sqrt(1 + (gamma0 * u) ** 2) * (y_norm - u), s, 0.0)  # u = |f|
            f_along = u
            g_tilde = np.sqrt(1 + (gamma0 * u) ** 2)
            hy_minus_1 = g_tilde - 1
        f = f_along[:, None] * y_hat
        H = eye + hy_minus_1[:, None, None] * np.outer(y_hat, y_hat)
        K = H + g_tilde[:, None, None] * eye
    h_y = np.einsum("p,tpq,q->t", y_hat, H, y_hat)
    data = {
        "f": (("t", "p", "o"), f[:, :, None]),
        "loss": (("t",), 0.5 * np.sum((y - f) ** 2, axis=1) / P),
        "h_y": (("t",), h_y),
        "h_diag": (("t", "p"), np.diagonal(H, axis1=1, axis2=2)),
        "h_y_frac": (("t",), h_y / np.trace(H, axis1=1, axis2=2)),
        "entk_task_alignment": (("t",), np.asarray([kernel_task_alignment(k, y[:, None]) for k in K])),
    }
    if g_tilde is not None:
        data["g_tilde"] = (("t",), g_tilde)
    ds = xr.Dataset(data, coords={"t": t})
    ds.attrs.update(source="theory", theory=f"two-layer whitened linear mean-field, {rule}", gamma0=gamma0, P=P)
    if rule == "fa":
        ds.attrs["rho"] = rho
    for name, long_name in (
        ("h_y", "target alignment of the feature kernel y_hat^T H y_hat, H = h h^T / N"),
        ("h_y_frac", "y_hat^T H y_hat / Tr H"),
        ("h_diag", "diagonal of the feature kernel H_mu,mu = |h_mu|^2 / N"),
        ("g_tilde", "readout gradient / pseudo-gradient overlap G~ (GD: w.w/N, FA: w.b/N)"),
    ):
        if name in ds:
            ds[name].attrs.update(long_name=long_name, units="1")
    return describe_variables(ds)


def _scalars(y_norm, gamma0, rho):
    y_norm = _checks.real_float("y_norm", y_norm)
    if y_norm < 0:
        raise ValueError(f"y_norm must be >= 0 (a norm); got {y_norm!r}")
    gamma0 = _checks.positive_float("gamma0", gamma0)
    rho = _checks.real_float("rho", rho)
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"rho must be in [0, 1]; got {rho!r}")
    return y_norm, gamma0, rho


def _whitened_targets(task: Task) -> np.ndarray:
    """The targets as a vector over items, after checking ``X X^T / D = I`` and one output."""
    if not isinstance(task, Task):
        raise TypeError(f"task must be a learndyn.tasks.Task; got {type(task).__name__}")
    P, D = task.X.shape
    if task.Y.shape[1] != 1:
        raise ValueError(f"task must have one output (the closed dynamics are for scalar f); got {task.Y.shape[1]}")
    kx = task.X @ task.X.T / D
    err = float(np.max(np.abs(kx - np.eye(P))))
    if err > 1e-8:
        raise ValueError(
            f"task.X must satisfy X X^T / D = I (mean-field whitening: orthogonal rows of norm sqrt(D), P <= D); "
            f"max |X X^T / D - I| = {err:.3g} (P = {P}, D = {D})"
        )
    return np.asarray(task.Y[:, 0], dtype=np.float64)


def _solve(rhs, s, z0):
    """``z(s)`` of a scalar autonomous ODE from ``z(0) = z0`` at the (non-decreasing) times ``s``."""
    return _solve_vec(lambda t, z: np.asarray([rhs(t, z[0])]), s, np.asarray([z0]))[:, 0]


def _solve_vec(rhs, s, z0):
    """``z(s)`` for a vector ODE; repeated times are answered from one solve."""
    grid, inverse = np.unique(s, return_inverse=True)
    if grid[-1] == 0.0:
        return np.broadcast_to(z0, (len(s), len(z0))).copy()
    sol = solve_ivp(rhs, (0.0, float(grid[-1])), z0, t_eval=grid, **_ODE)
    if not sol.success:
        raise ArithmeticError(f"the two-layer ODE failed to integrate: {sol.message}")
    return sol.y.T[inverse]


def _hebb(s, y, gamma0):
    """Per-item ``Delta_mu(s)`` and ``H_mu,mu(s)``, each ``(T, P)``."""
    P = y.shape[0]

    def rhs(_, z):
        d, h = z[:P], z[P:]
        return np.concatenate([-(h + gamma0 * d * (y - d)) * d, 2 * gamma0 * d * d * h])

    z = _solve_vec(rhs, s, np.concatenate([y, np.ones(P)]))
    return z[:, :P], z[:, P:]
