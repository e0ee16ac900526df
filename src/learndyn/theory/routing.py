"""Closed-form learning dynamics of the gated routing network (spec ``gated_dln.md`` §2.4).

Reference: A. M. Saxe, S. Sodhani and S. J. Lewallen, "The Neural Race Reduction: Dynamics of Abstraction in Gated
Networks", ICML 2022, arXiv:2207.10430 (the exact solution is in the notebook
``Gated_DLN_solution_verification_figure.ipynb`` of ``facebookresearch/gated-dln``; this module is written from the
spec, not from that code).

Setup: ``M`` input domains and ``M`` output domains; input domain ``i`` is trained with ``K`` of the output domains
(``1 <= K <= M``). Each input domain has its own edge ``W1^i``, all pathways share one hidden edge ``W2``, and each
output domain has its own edge ``W3^j``. From a decoupled start every singular mode of the task (singular value
``s``) is carried by three scalars, ``b1`` (all input edges), ``b2`` (the shared edge) and ``b3`` (all output edges),
with ``a = b1 b2 b3`` the mode of every trained pathway's map, and

* ``tau b1' = (K/M^2) b2 b3 (s - a)``,
* ``tau b2' = (K/M) b1 b3 (s - a)`` (the shared edge gets ``M`` times the drive),
* ``tau b3' = (K/M^2) b1 b2 (s - a)``.

With ``b3(0) = b1(0)`` this keeps ``b3 = b1`` and conserves ``b2^2 - M b1^2 = -c0``, ``c0 = M b1_0^2 - b2_0^2``
(``c0 = (M - 1) b0^2`` for ``b1_0 = b2_0 = b0``), so ``b1^2 = (b2^2 + c0)/M``, ``a = b2 (b2^2 + c0)/M`` and

``tau b2' = (K/M^2) (b2^2 + c0) (s - b2 (b2^2 + c0)/M)``,

whose fixed point solves ``b2 (b2^2 + c0) = M s``. :func:`time_of` is the implicit solution ``t(b2)`` (a quadrature)
and :func:`modes` inverts it; :func:`hyperbolic` is the same solution in the angle ``theta``; :func:`small_init_limit`
is the balanced (``c0 = 0``) law ``tau a' = 3 K M^{-5/3} a^{4/3} (s - a)``.

Conventions (those of the spec, not the ``1/(2P)`` convention of :mod:`learndyn.theory.modes`):

* Whitened inputs; ``s`` is a singular value of ``Y^T X`` as a *sum* over the ``P`` items.
* The reference code's loss is ``sum_{trained pairs} ||W3^j W2 W1^i X - Y^T||_F^2 / (P n_out)`` trained by full-batch
  GD with step ``eta``: it follows the ODEs above with ``tau = 1`` at time ``t = steps * eta * 2 M^2 / (P n_out)``
  (:func:`reference_time`), and :func:`reference_map` is its exact per-mode discrete map.
* Mode parameters (``s``, ``b0``, ...) broadcast to one mode shape ``S``; ``t`` is a 1-D non-decreasing array of
  ``T`` times; trajectories have shape ``(T, *S)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from learndyn._checks import positive_float, positive_int, times
from learndyn._numerics import crossing_time
from learndyn.theory._routing_quadrature import _Branch
from learndyn.theory.modes import _broadcast, _real_array, _require, deep_mode

__all__ = [
    "RoutingFixedPoint",
    "RoutingMap",
    "RoutingModes",
    "fixed_point",
    "half_learning_steps",
    "half_learning_time",
    "hyperbolic",
    "modes",
    "reference_map",
    "reference_time",
    "small_init_limit",
    "theta_of",
    "theta_rate",
    "time_of",
]


class RoutingFixedPoint(NamedTuple):
    """Fixed point of one or more routing modes (arrays of the mode shape)."""

    b1: np.ndarray
    """Input-edge strength ``b1* = sqrt((b2*^2 + c0)/M)``."""
    b2: np.ndarray
    """Shared-edge strength ``b2*``, the real root of ``b2 (b2^2 + c0) = M s`` with ``b2^2 + c0 >= 0``."""
    b3: np.ndarray
    """Output-edge strength ``b3* = b1*``."""


class RoutingModes(NamedTuple):
    """Trajectories of routing modes, each of shape ``(T, *S)``."""

    b1: np.ndarray
    """Input-edge strength."""
    b2: np.ndarray
    """Shared-edge strength."""
    b3: np.ndarray
    """Output-edge strength (``= b1``)."""
    a: np.ndarray
    """Pathway mode ``a = b1 b2 b3``."""


class RoutingMap(NamedTuple):
    """The discrete GD map of the reference normalisation: strengths ``(steps + 1, *S)``, loss ``(steps + 1,)``."""

    b1: np.ndarray
    """Input-edge strength."""
    b2: np.ndarray
    """Shared-edge strength."""
    b3: np.ndarray
    """Output-edge strength."""
    a: np.ndarray
    """Pathway mode ``a = b1 b2 b3``."""
    loss: np.ndarray
    """``(M K / (P n_out)) sum_modes (s - a)^2``, the reference code's loss summed over trained pairs."""


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def _domains(M, K=None) -> tuple[int, int | None]:
    """Validated ``M`` (and ``1 <= K <= M``)."""
    M = positive_int("M", M)
    if K is None:
        return M, None
    K = positive_int("K", K)
    if K > M:
        raise ValueError(
            f"K must be <= M = {M} (the number of output domains each input domain is trained with, out of M); "
            f"got K={K}"
        )
    return M, K


def _singular_values(s) -> np.ndarray:
    s = _real_array("s", s)
    _require("s", s, s >= 0, ">= 0 (a singular value of Y^T X)")
    return s


def _initial(b0, b1_0, b2_0) -> tuple[np.ndarray, np.ndarray]:
    """``(b1_0, b2_0)`` from either ``b0`` or the pair, validated (``b3_0 = b1_0``)."""
    if b0 is not None:
        if b1_0 is not None or b2_0 is not None:
            raise ValueError(
                "give either b0 (b1_0 = b2_0 = b3_0 = b0) or b1_0 and b2_0, not both; "
                f"got b0={b0!r}, b1_0={b1_0!r}, b2_0={b2_0!r}"
            )
        b0 = _real_array("b0", b0)
        _require("b0", b0, b0 > 0, "> 0 (the decoupled initial strength; b0 = 0 is the saddle, which never learns)")
        return b0, b0
    if b1_0 is None or b2_0 is None:
        raise ValueError(
            "give the initial strengths: b0 (equal start) or both b1_0 and b2_0; "
            f"got b0=None, b1_0={b1_0!r}, b2_0={b2_0!r}"
        )
    b1_0 = _real_array("b1_0", b1_0)
    b2_0 = _real_array("b2_0", b2_0)
    _require("b1_0", b1_0, b1_0 > 0, "> 0 (b1_0 = b3_0 = 0 is a saddle, which never learns)")
    return b1_0, b2_0


def _growing(s, M, b1_0, b2_0) -> tuple[np.ndarray, ...]:
    """Broadcast ``s, b1_0, b2_0``; check that the mode grows to its fixed point; return them with ``c0, b2*``."""
    s, b1_0, b2_0 = _broadcast(s=s, b1_0=b1_0, b2_0=b2_0)
    c0 = M * b1_0 * b1_0 - b2_0 * b2_0
    stuck = (b2_0 < 0) & (c0 <= 0)
    if stuck.any():
        i = tuple(int(k) for k in np.argwhere(stuck)[0])
        raise ValueError(
            f"b2_0 must be > -sqrt(M) * b1_0 = {-np.sqrt(M) * float(b1_0[i])!r} when negative; "
            f"got b2_0={float(b2_0[i])!r}"
            + (f" at index {i}" if s.ndim else "")
            + " (from there b2 only creeps up to -sqrt(-c0), where b1 = 0, and the mode never learns)"
        )
    bstar = _cubic_root(M * s, c0)
    below = b2_0 < bstar
    if not below.all():
        i = tuple(int(k) for k in np.argwhere(~below)[0])
        raise ValueError(
            f"b2_0 must be below the fixed point b2* = {float(bstar[i])!r} of s = {float(s[i])!r} (a growing mode, "
            f"a0 = b1_0^2 b2_0 < s); got b2_0={float(b2_0[i])!r}" + (f" at index {i}" if s.ndim else "")
        )
    return s, b1_0, b2_0, c0, bstar


# --------------------------------------------------------------------------------------------
# the fixed point
# --------------------------------------------------------------------------------------------


def _cubic_root(rhs, c0) -> np.ndarray:
    """Largest real root of ``x^3 + c0 x = rhs`` for ``rhs >= 0``: the one with ``x^2 + c0 >= 0``.

    Closed form (hyperbolic / trigonometric Cardano), then Newton steps that are kept only while they reduce the
    residual. On ``x >= sqrt(max(-c0, 0))`` the cubic is increasing and convex, so the root there is unique.
    """
    rhs, c0 = np.broadcast_arrays(np.asarray(rhs, dtype=np.float64), np.asarray(c0, dtype=np.float64))
    ac = np.abs(c0)
    r = np.sqrt(ac / 3.0)
    with np.errstate(all="ignore"):
        z = 1.5 * rhs / (ac * r)  # = (3 rhs / (2|c0|)) sqrt(3/|c0|)
        pos = 2.0 * r * np.sinh(np.arcsinh(z) / 3.0)
        trig = np.cos(np.arccos(np.minimum(z, 1.0)) / 3.0)  # three real roots: the largest
        hyp = np.cosh(np.arccosh(np.maximum(z, 1.0)) / 3.0)  # one real root
        neg = 2.0 * r * np.where(z <= 1.0, trig, hyp)
    x = np.where(c0 > 0, pos, np.where(c0 < 0, neg, np.cbrt(rhs)))
    # z overflows for |c0| -> 0: an upper bound is then a safe start for Newton (convex, increasing)
    x = np.where(np.isfinite(x), x, np.cbrt(rhs) + np.sqrt(np.maximum(-c0, 0.0)))
    lo = np.sqrt(np.maximum(-c0, 0.0))
    for _ in range(60):
        f = x * (x * x + c0) - rhs
        fp = 3.0 * x * x + c0
        with np.errstate(all="ignore"):
            x_new = np.maximum(x - np.where(fp > 0, f / fp, 0.0), lo)
        better = np.abs(x_new * (x_new * x_new + c0) - rhs) < np.abs(f)
        if not better.any():
            break
        x = np.where(better, x_new, x)
    return x


def fixed_point(s, M, c0) -> RoutingFixedPoint:
    """Fixed point of a routing mode: ``b2* (b2*^2 + c0) = M s``, ``b1* = b3* = sqrt((b2*^2 + c0)/M)``.

    The cubic ``x^3 + c0 x - M s`` is increasing for ``c0 >= 0`` and has one real root. For ``c0 < 0`` (a start with
    ``b2_0 > sqrt(M) b1_0``) the root returned is the one reached along the flow, on ``x^2 + c0 >= 0`` (where
    ``b1^2 >= 0``), which is the largest real root and unique there. At the fixed point ``a = b1 b2 b3 = s``. For small
    ``c0`` it tends to ``b2* = (M s)^{1/3}`` and ``b1* = b2*/sqrt(M)``: the shared edge ends ``sqrt(M)`` times larger.

    Parameters
    ----------
    s : array_like
        Singular value(s) of ``Y^T X`` (sums over items), ``>= 0``.
    M : int
        Number of domains, ``>= 1``.
    c0 : array_like
        Conserved ``c0 = M b1^2 - b2^2`` (``(M - 1) b0^2`` for an equal start ``b0``); any real; broadcast against
        ``s``.

    Returns
    -------
    RoutingFixedPoint
        Named tuple ``(b1, b2, b3)`` of float64 arrays of the broadcast shape of ``s`` and ``c0``.

    Assumptions: whitened inputs, symmetric decoupled start (``b3 = b1``), the spec's convention for ``s``.

    Example
    -------
    >>> fp = fixed_point(np.sqrt([185.0, 9.0]), 7, 6 * 0.08**2)  # routing task (s = 13.601, 3), b0 = 0.08
    >>> np.round(fp.b2, 4).tolist(), np.round(fp.b1, 4).tolist()
    ([4.5635, 2.7543], [1.7264, 1.0437])
    """
    s = _singular_values(s)
    M, _ = _domains(M)
    c0 = _real_array("c0", c0)
    s, c0 = _broadcast(s=s, c0=c0)
    b2 = _cubic_root(M * s, c0)
    # b1^2 = (b2^2 + c0)/M = s/b2 without the cancellation of b2^2 + c0 for c0 < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        b1sq = np.where(b2 > 0, s / np.where(b2 > 0, b2, 1.0), np.maximum(b2 * b2 + c0, 0.0) / M)
    b1 = np.sqrt(b1sq)
    return RoutingFixedPoint(b1=b1, b2=b2, b3=b1.copy())


# --------------------------------------------------------------------------------------------
# the implicit solution t(b2) and its inverse
# --------------------------------------------------------------------------------------------


def time_of(b2, s, M, K, *, b1_0, b2_0, tau: float = 1.0):
    """Time at which a routing mode reaches shared-edge strength ``b2``: the implicit closed form ``t(b2)``.

    ``t(b2) = (tau M^2/K) int_{b2_0}^{b2} dx / [(x^2 + c0)(s - x (x^2 + c0)/M)]``, ``c0 = M b1_0^2 - b2_0^2``
    (spec §2.4 with ``b1_0 = b2_0 = b0``). The integrand has a simple pole at the fixed point ``b2*``; it is taken out
    analytically (a logarithm) and the smooth rest is integrated with ``scipy.integrate.quad`` on geometric segments
    (``quad_vec`` on the last, partial one), so ``t`` keeps ~1e-13 relative accuracy up to ``b2*`` itself, where it
    is ``inf``.

    Parameters
    ----------
    b2 : array_like
        Shared-edge strength(s), ``b2_0 <= b2 <= b2*`` (``b2*`` gives ``inf``).
    s : array_like
        Singular value(s) of ``Y^T X`` (sums over items), ``>= 0``.
    M, K : int
        Domains and trained output domains per input domain, ``1 <= K <= M``.
    b1_0, b2_0 : array_like, keyword
        Initial input-edge (``= b3_0``) and shared-edge strengths; ``b1_0 > 0``, ``b2_0 < b2*`` (a growing mode) and
        ``b2_0 > -sqrt(M) b1_0``. All of ``b2, s, b1_0, b2_0`` broadcast together.
    tau : float, keyword
        Time constant (1 for the reference normalisation at ``t`` of :func:`reference_time`).

    Returns
    -------
    float or numpy.ndarray
        ``t``, the broadcast shape; a Python float when every input is a scalar.

    Assumptions: whitened inputs, symmetric decoupled start ``b3_0 = b1_0``, gradient flow.

    Example
    -------
    >>> s = np.sqrt(185.0)  # top mode of the routing task, 13.601
    >>> round(time_of(2.0, s, 7, 4, b1_0=0.08, b2_0=0.08), 6)
    5.008728
    >>> time_of(fixed_point(s, 7, 6 * 0.08**2).b2, s, 7, 4, b1_0=0.08, b2_0=0.08)
    inf
    """
    M, K = _domains(M, K)
    tau = positive_float("tau", tau)
    s = _singular_values(s)
    b1_0, b2_0 = _initial(None, b1_0, b2_0)
    b2 = _real_array("b2", b2)
    s, b1_0, b2_0, c0, bstar = _growing(s, M, b1_0, b2_0)
    b2, s, b1_0, b2_0, bstar = _broadcast(b2=b2, s=s, b1_0=b1_0, b2_0=b2_0, b2_star=bstar)
    ok = (b2 >= b2_0) & (b2 <= bstar)
    if not ok.all():
        i = tuple(int(k) for k in np.argwhere(~ok)[0])
        raise ValueError(
            f"b2 must lie between b2_0 = {float(b2_0[i])!r} and the fixed point b2* = {float(bstar[i])!r} (the range "
            f"the mode passes through); got b2={float(b2[i])!r}" + (f" at index {i}" if b2.ndim else "")
        )
    out = np.full(b2.shape, np.inf)
    params = np.stack([s.ravel(), b1_0.ravel(), b2_0.ravel()], axis=1)
    uniq, inverse = np.unique(params, axis=0, return_inverse=True)
    flat_b2, flat_star, flat_out = b2.ravel(), bstar.ravel(), out.reshape(-1)
    for k, (sk, b1k, b2k) in enumerate(uniq):
        sel = np.flatnonzero(inverse.ravel() == k)
        br = _Branch(float(sk), M, float(b1k), float(b2k), float(flat_star[sel[0]]))
        finite = sel[flat_b2[sel] < br.b]
        if finite.size:
            flat_out[finite] = br.theta_hat_of(flat_b2[finite]) / (K * br.rate_scale) * tau
    return float(out) if out.ndim == 0 else out


def modes(s, M, K, t, *, b0=None, b1_0=None, b2_0=None, tau: float = 1.0) -> RoutingModes:
    """Exact trajectories ``b1 = b3``, ``b2`` and ``a = b1 b2 b3`` of routing modes, by inverting ``t(b2)``.

    For each mode the implicit solution of :func:`time_of` is inverted by bracketed Newton iteration between
    ``b2_0`` and the fixed point ``b2*`` (in ``b2 - b2_0`` near the start, so a tiny start keeps its relative accuracy,
    and in ``ln(b2* - b2)`` near the end, where the pole's logarithm is exact and the approach is exponential at the
    linear rate ``lam = K (b2*^2 + c0)(3 b2*^2 + c0)/(tau M^3)``). Past the tabulated range, where ``b2* - b2`` has
    fallen below the float resolution of ``b2*``, the pure exponential ``b2* - b2 = d0 exp(G* - lam t)`` is used, so
    any ``t`` (``1e12`` included) gives a finite result equal to :func:`fixed_point`. Then
    ``b1 = sqrt(b1_0^2 + (b2^2 - b2_0^2)/M)``. Measured against ``solve_ivp`` of the three ODEs: ~1e-11 relative.

    Parameters
    ----------
    s : array_like
        Singular value(s) of ``Y^T X`` (sums over items), ``>= 0``.
    M, K : int
        Domains and trained output domains per input domain, ``1 <= K <= M``.
    t : array_like
        1-D non-decreasing times ``>= 0`` (scalar allowed, as length 1).
    b0 : array_like, keyword
        Equal start ``b1_0 = b2_0 = b3_0 = b0 > 0`` (``c0 = (M - 1) b0^2``). Give either ``b0`` or both of
    b1_0, b2_0 : array_like, keyword
        Initial input-edge (``= b3_0``, ``> 0``) and shared-edge strengths, with ``-sqrt(M) b1_0 < b2_0 < b2*``
        (a growing mode; ``b2_0 = sqrt(M) b1_0`` is the balanced start ``c0 = 0``).
    tau : float, keyword
        Time constant (1 for the reference normalisation at ``t`` of :func:`reference_time`).

    Returns
    -------
    RoutingModes
        Named tuple ``(b1, b2, b3, a)``, each of shape ``(T, *S)`` with ``S`` the broadcast shape of ``s`` and the
        initial strengths.

    Assumptions: whitened inputs, symmetric decoupled start ``b3_0 = b1_0``, gradient flow.

    Example
    -------
    >>> s = np.sqrt([185.0, 41.0])  # the two top modes of the routing task, 13.601 and 6.403
    >>> m = modes(s, 7, 4, [0.0, 10.0, 1e12], b0=0.08)
    >>> m.a.shape
    (3, 2)
    >>> np.round(m.b2[-1], 4).tolist(), bool(np.allclose(m.a[-1], s, rtol=1e-14))
    ([4.5635, 3.5486], True)
    """
    M, K = _domains(M, K)
    s = _singular_values(s)
    b1_0, b2_0 = _initial(b0, b1_0, b2_0)
    t = times("t", t)
    tau = positive_float("tau", tau)
    s, b1_0, b2_0, _, bstar = _growing(s, M, b1_0, b2_0)
    shape = s.shape
    b2 = np.empty((t.size, s.size))
    for i, (si, b1i, b2i, bi) in enumerate(zip(s.ravel(), b1_0.ravel(), b2_0.ravel(), bstar.ravel(), strict=True)):
        br = _Branch(float(si), M, float(b1i), float(b2i), float(bi))
        b2[:, i] = br.b2_of(t * (K * br.rate_scale / tau))
    b2 = b2.reshape((t.size,) + shape)
    b1 = np.sqrt(b1_0 * b1_0 + (b2 - b2_0) * (b2 + b2_0) / M)
    return RoutingModes(b1=b1, b2=b2, b3=b1.copy(), a=b1 * b2 * b1)


def half_learning_time(s, M, K, *, b0=None, b1_0=None, b2_0=None, tau: float = 1.0, fraction: float = 0.5):
    """ODE time at which a routing mode reaches ``a = fraction * s`` (default: half-learned).

    Since ``a = b2 (b2^2 + c0)/M``, the level is reached at the root ``b2_f`` of ``b2 (b2^2 + c0) = M fraction s``, and
    the time is :func:`time_of` ``(b2_f)``; 0 where the mode starts at or above the level.

    Parameters
    ----------
    s, M, K, b0, b1_0, b2_0, tau
        As in :func:`modes`.
    fraction : float, keyword
        Level as a fraction of ``s``, ``0 < fraction < 1``.

    Returns
    -------
    float or numpy.ndarray
        Time(s), the broadcast mode shape; a Python float for scalar inputs. Divide by ``reference_time(1, eta, M, P,
        n_out)`` for reference-code steps.

    Example
    -------
    >>> t = half_learning_time(np.sqrt([185.0, 9.0]), 7, 4, b0=0.08)
    >>> np.round(t / reference_time(1, 0.02, 7, 4, 7), 2).tolist()  # in reference steps at eta = 0.02
    [75.29, 334.19]
    """
    M, K = _domains(M, K)
    s = _singular_values(s)
    b1_0, b2_0 = _initial(b0, b1_0, b2_0)
    fraction = positive_float("fraction", fraction)
    if fraction >= 1:
        raise ValueError(
            f"fraction must be in (0, 1) (the fixed point a = s is reached only as t -> inf); got {fraction!r}"
        )
    s, b1_0, b2_0, c0, _ = _growing(s, M, b1_0, b2_0)
    b2_f = _cubic_root(M * fraction * s, c0)
    started = b2_f <= b2_0
    b2_f = np.where(started, b2_0, b2_f)
    out = np.asarray(time_of(b2_f, s, M, K, b1_0=b1_0, b2_0=b2_0, tau=tau))
    out = np.where(started, 0.0, out)
    return float(out) if out.ndim == 0 else out


def half_learning_steps(a, s, *, fraction: float = 0.5) -> np.ndarray:
    """First record (step) at which each mode of a trajectory reaches ``a >= fraction * s``; -1 if never.

    Parameters
    ----------
    a : array_like, shape (steps + 1, *S)
        Mode trajectory, e.g. ``reference_map(...).a`` (record ``k`` is step ``k``).
    s : array_like
        Target(s), broadcasting to ``S``.
    fraction : float, keyword
        Level as a fraction of ``s``, ``0 < fraction <= 1``.

    Returns
    -------
    numpy.ndarray
        Integer step(s), shape ``S``.

    Example
    -------
    >>> half_learning_steps(np.array([[0.0, 0.0], [0.6, 0.2], [0.9, 0.6]]), [1.0, 1.0]).tolist()
    [1, 2]
    """
    a = _real_array("a", a)
    s = _real_array("s", s)
    fraction = positive_float("fraction", fraction)
    if a.ndim == 0:
        raise ValueError(f"a must have records (steps) on its first axis; got a scalar {a!r}")
    steps = np.arange(a.shape[0], dtype=np.float64)
    first = crossing_time(steps, a, fraction * s, above=True, never=-1.0)
    return np.asarray(first).astype(np.int64)


# --------------------------------------------------------------------------------------------
# the hyperbolic form
# --------------------------------------------------------------------------------------------


def _positive_c0(c0) -> np.ndarray:
    c0 = _real_array("c0", c0)
    _require("c0", c0, c0 > 0, "> 0 for the hyperbolic form (b2_0 < sqrt(M) b1_0; c0 = 0 is small_init_limit)")
    return c0


def hyperbolic(theta, c0, M) -> tuple[np.ndarray, np.ndarray]:
    """Hyperbolic parametrisation of a routing mode: ``b2 = sqrt(c0) sinh(theta/2)``, ``b1 = sqrt(c0/M) cosh(theta/2)``.

    The parametrisation satisfies the conservation law ``M b1^2 - b2^2 = c0`` identically; ``b3 = b1``. The angle
    evolves by :func:`theta_rate`; :func:`theta_of` is the inverse map.

    Parameters
    ----------
    theta : array_like
        Angle(s).
    c0 : array_like
        Conserved ``c0 = M b1^2 - b2^2 > 0``; broadcast against ``theta``.
    M : int
        Number of domains.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``(b1, b2)``, the broadcast shape.

    Example
    -------
    >>> b1, b2 = hyperbolic(theta_of(2.0, 0.5), 0.5, 7)
    >>> round(float(b2), 12), round(float(7 * b1**2 - b2**2), 12)
    (2.0, 0.5)
    """
    theta = _real_array("theta", theta)
    c0 = _positive_c0(c0)
    M, _ = _domains(M)
    theta, c0 = _broadcast(theta=theta, c0=c0)
    r = np.sqrt(c0)
    return r / np.sqrt(M) * np.cosh(0.5 * theta), r * np.sinh(0.5 * theta)


def theta_of(b2, c0) -> np.ndarray:
    """Angle of the hyperbolic form: ``theta = 2 asinh(b2 / sqrt(c0))`` (inverse of :func:`hyperbolic`).

    Parameters
    ----------
    b2 : array_like
        Shared-edge strength(s).
    c0 : array_like
        Conserved ``c0 > 0``; broadcast against ``b2``.

    Returns
    -------
    numpy.ndarray
        ``theta``, the broadcast shape.

    Example
    -------
    >>> round(float(theta_of(0.0, 2.0)), 12), round(float(theta_of(np.sinh(1.5), 1.0)), 12)
    (0.0, 3.0)
    """
    b2 = _real_array("b2", b2)
    c0 = _positive_c0(c0)
    b2, c0 = _broadcast(b2=b2, c0=c0)
    return 2.0 * np.arcsinh(b2 / np.sqrt(c0))


def theta_rate(theta, s, M, K, c0, tau: float = 1.0) -> np.ndarray:
    """``d theta/dt`` of the hyperbolic form, from ``tau theta' = 2 sqrt(c0) (K/M^2) cosh(theta/2) [s - (c0^{3/2}/M)
    sinh(theta/2) cosh^2(theta/2)]``.

    Derived from ``tau b2' = (K/M^2)(b2^2 + c0)(s - b2 (b2^2 + c0)/M)`` with ``b2 = sqrt(c0) sinh(theta/2)`` (so
    ``b2^2 + c0 = c0 cosh^2``). The bracket has ``cosh^2``: the reference notebook's ``sinh^2 - 1`` is a sign slip
    (spec §4). It vanishes at the fixed point, ``sinh cosh^2 = M s / c0^{3/2}``.

    Parameters
    ----------
    theta : array_like
        Angle(s).
    s : array_like
        Singular value(s) of ``Y^T X`` (sums over items), ``>= 0``.
    M, K : int
        Domains and trained output domains per input domain, ``1 <= K <= M``.
    c0 : array_like
        Conserved ``c0 > 0``.
    tau : float
        Time constant: the result is the right-hand side above divided by ``tau``.

    Returns
    -------
    numpy.ndarray
        ``d theta/dt``, the broadcast shape of ``theta, s, c0``.

    Example
    -------
    >>> c0 = 6 * 0.08**2
    >>> theta_star = theta_of(fixed_point(13.601, 7, c0).b2, c0)
    >>> bool(abs(theta_rate(theta_star, 13.601, 7, 4, c0)) < 1e-12)
    True
    """
    theta = _real_array("theta", theta)
    s = _singular_values(s)
    M, K = _domains(M, K)
    c0 = _positive_c0(c0)
    tau = positive_float("tau", tau)
    theta, s, c0 = _broadcast(theta=theta, s=s, c0=c0)
    ch, sh = np.cosh(0.5 * theta), np.sinh(0.5 * theta)
    return 2.0 * np.sqrt(c0) * (K / M**2) * ch * (s - c0**1.5 / M * sh * ch * ch) / tau


# --------------------------------------------------------------------------------------------
# small initialisation
# --------------------------------------------------------------------------------------------


def small_init_limit(s, M, K, a0, t, *, tau: float = 1.0) -> np.ndarray:
    """Balanced routing mode: ``tau a' = 3 K M^{-5/3} a^{4/3} (s - a)``, the depth-3 law in rescaled time.

    With ``c0 = 0`` (the balanced start ``b2_0 = sqrt(M) b1_0``) ``b2 = (M a)^{1/3}`` and the exact flow is this law,
    the deep-linear-network law ``3 u^{4/3} (s - u)`` of :func:`learndyn.theory.modes.deep_mode` (``n_weights = 3``) at
    ``tau_eff = tau M^{5/3}/K``. It is ``K M^{1/3}`` times faster than one pair trained alone at the same sampling,
    ``tau a' = (3/M^2) a^{4/3} (s - a)``. From an equal small start ``b0`` (``c0 = (M - 1) b0^2 > 0``) the exact rate
    differs from this one by the factor ``(1 + x/3)(1 + x)^{-1/3} = 1 + x^2/9 + ...``, ``x = c0/b2^2``, so it is
    approached once ``b2^2 >> c0``, i.e. late in learning (the early plateau differs).

    Parameters
    ----------
    s : array_like
        Singular value(s) of ``Y^T X`` (sums over items), ``>= 0``.
    M, K : int
        Domains and trained output domains per input domain, ``1 <= K <= M``.
    a0 : array_like
        Initial pathway mode ``a(0) = b1_0^2 b2_0 > 0``; broadcast against ``s``.
    t : array_like
        1-D non-decreasing times ``>= 0``.
    tau : float, keyword
        Time constant.

    Returns
    -------
    numpy.ndarray
        ``a(t)``, shape ``(T, *S)``.

    Assumptions: whitened inputs, balanced decoupled start (``c0 = 0``, ``b3 = b1``), gradient flow. [derived]

    Example
    -------
    >>> a = small_init_limit(13.601, 7, 4, 1e-3, [0.0, 1e6])
    >>> round(a[0].item(), 12), round(a[-1].item(), 10)
    (0.001, 13.601)
    """
    s = _singular_values(s)
    M, K = _domains(M, K)
    a0 = _real_array("a0", a0)
    _require("a0", a0, a0 > 0, "> 0 (a0 = b1_0^2 b2_0; a mode starting at a0 <= 0 is stuck at the saddle)")
    tau = positive_float("tau", tau)
    return deep_mode(s, a0, 3, t, tau=tau * M ** (5.0 / 3.0) / K)


# --------------------------------------------------------------------------------------------
# the reference code's normalisation
# --------------------------------------------------------------------------------------------


def reference_time(steps, eta, M, P, n_out):
    """ODE time of ``steps`` GD steps of the reference code: ``t = steps * eta * 2 M^2 / (P n_out)`` (``tau = 1``).

    The reference loss is ``sum_{trained pairs} ||W3^j W2 W1^i X - Y^T||_F^2 / (P n_out)`` (torch ``MSELoss`` mean
    per pair), trained by full-batch SGD with step ``eta``; per mode a step is ``b_e += (2 eta/(P n_out)) n_e (...)``
    (:func:`reference_map`), which is an Euler step of the ODEs of :func:`modes` of length ``2 eta M^2/(P n_out)``.
    For ``M = 7, P = 4, n_out = 7`` one step is ``3.5 eta``.

    Parameters
    ----------
    steps : array_like
        Step count(s), ``>= 0`` (need not be integers).
    eta : float
        Learning rate, ``> 0``.
    M, P, n_out : int
        Domains, items and output features per domain.

    Returns
    -------
    float or numpy.ndarray
        Time(s), the shape of ``steps``.

    Example
    -------
    >>> reference_time(500, 0.02, 7, 4, 7)
    35.0
    """
    steps = _real_array("steps", steps)
    _require("steps", steps, steps >= 0, ">= 0")
    eta = positive_float("eta", eta)
    M, _ = _domains(M)
    P = positive_int("P", P)
    n_out = positive_int("n_out", n_out)
    out = steps * (eta * 2.0 * M * M / (P * n_out))
    return float(out) if out.ndim == 0 else out


def reference_map(s, M, K, P, n_out, eta, steps, *, b0=None, b1_0=None, b2_0=None) -> RoutingMap:
    """Exact per-mode GD map of the reference code's normalisation, from a decoupled start.

    One full-batch step on ``L = sum_{trained pairs} ||W3^j W2 W1^i X - Y^T||_F^2/(P n_out)`` with step ``eta`` is, per
    mode and with all three strengths updated from their old values,

    ``b_e <- b_e + (2 eta/(P n_out)) n_e (product of the other two) (s - a)``,

    ``n_e`` the trained pairs through the edge: ``K`` for the input and output edges, ``M K`` for the shared one (spec
    §2.4, verified against full GD to ~1e-14). The loss is ``(M K/(P n_out)) sum_modes (s - a)^2``.

    Parameters
    ----------
    s : array_like
        Singular value(s) of ``Y^T X`` (sums over items), ``>= 0``.
    M, K : int
        Domains and trained output domains per input domain, ``1 <= K <= M``.
    P, n_out : int
        Items and output features per domain (the reference loss's normalisation).
    eta : float
        Learning rate, ``> 0``.
    steps : int
        Number of steps, ``>= 0``.
    b0, b1_0, b2_0 : array_like, keyword
        As in :func:`modes` (``b0 > 0`` or ``b1_0 > 0`` and any finite ``b2_0``); ``b3_0 = b1_0``.

    Returns
    -------
    RoutingMap
        Named tuple ``(b1, b2, b3, a, loss)``: strengths of shape ``(steps + 1, *S)`` (row ``k`` after ``k`` steps),
        ``loss`` of shape ``(steps + 1,)`` summed over all modes.

    Example
    -------
    >>> s = np.sqrt([185.0, 41.0, 9.0, 9.0])  # the routing task
    >>> r = reference_map(s, 7, 4, 4, 7, 0.02, 500, b0=0.08)
    >>> half_learning_steps(r.a, s).tolist()
    [79, 161, 337, 337]
    >>> bool(r.loss[-1] < 1e-10)
    True
    """
    M, K = _domains(M, K)
    s = _singular_values(s)
    P = positive_int("P", P)
    n_out = positive_int("n_out", n_out)
    eta = positive_float("eta", eta)
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer; got {steps!r}")
    b1_0, b2_0 = _initial(b0, b1_0, b2_0)
    s, b1_0, b2_0 = _broadcast(s=s, b1_0=b1_0, b2_0=b2_0)
    eps = 2.0 * eta / (P * n_out)
    b1 = np.empty((int(steps) + 1,) + s.shape)
    b2, b3 = np.empty_like(b1), np.empty_like(b1)
    b1[0], b2[0], b3[0] = b1_0, b2_0, b1_0
    for k in range(int(steps)):
        x1, x2, x3 = b1[k], b2[k], b3[k]
        r = eps * (s - x1 * x2 * x3)
        b1[k + 1] = x1 + K * x2 * x3 * r
        b2[k + 1] = x2 + M * K * x1 * x3 * r
        b3[k + 1] = x3 + K * x1 * x2 * r
    a = b1 * b2 * b3
    loss = (M * K / (P * n_out)) * ((s - a) ** 2).reshape(a.shape[0], -1).sum(axis=1)
    return RoutingMap(b1=b1, b2=b2, b3=b3, a=a, loss=loss)
