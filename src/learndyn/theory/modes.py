"""Per-mode (aligned, decoupled) exact dynamics of linear networks.

References
----------
* A. M. Saxe, J. L. McClelland and S. Ganguli, "Exact solutions to the nonlinear dynamics of learning in
  deep linear neural networks", ICLR 2014, arXiv:1312.6120: Saxe's sigmoid, the learning time and the
  deep per-mode law.
* L. Braun, C. C. J. Dominé, J. E. Fitzgerald and A. M. Saxe, "Exact learning dynamics of deep linear
  networks with prior knowledge", NeurIPS 2022: the signed aligned case (the aligned special case of
  their zero-balanced solution, as in their reversal experiment, Fig. 6a) and the shallow network (Fig. 6b).
* C. C. J. Dominé, N. Anguita, A. M. Proca, L. Braun, D. Kunin, P. A. M. Mediano and A. M. Saxe, "From
  lazy to rich: exact learning dynamics in deep linear networks", arXiv:2409.14623 (2024; ICLR 2025):
  lambda-balanced weights, whose aligned special case gives the lambda-balanced per-mode formula.

When the weights start aligned with the task's singular vectors (``W1 = R diag(s1) V~^T``,
``W2 = U~ diag(s2) R^T`` with ``R^T R = I``), gradient flow keeps them aligned and every singular
mode of ``W2 W1`` evolves on its own scalar ODE. This module solves those scalar ODEs, in closed
form where one exists, and assembles the matrices back.

Conventions (the same throughout learndyn):

* Whitened inputs (``Sigma_xx = I``); ``s_tilde`` is a singular value of ``Sigma_yx = Y^T X / P``.
* Loss ``L = 1/(2P) sum_mu ||y_mu - f_mu||^2``, full-batch GD with learning rate ``eta`` and
  gradient-flow time ``t = eta * step``. Every function takes ``tau`` (default 1) and works with
  ``theta = t / tau``; ``tau = 1 / eta`` gives time in steps instead.
* Shapes: mode parameters (``s_tilde``, ``a0``, ...) broadcast against each other to a mode shape
  ``M`` (``()`` for scalars); ``t`` is a 1-D array of ``T`` non-decreasing times (a scalar counts as
  ``T = 1``). Trajectories have shape ``(T, *M)``.
* Only decaying exponentials are evaluated, so every closed form is finite at any ``t``
  (``t = 1e6`` included) and tends to its fixed point.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sps
from scipy.integrate import solve_ivp

from learndyn._checks import as_matrix, positive_float, positive_int, times
from learndyn._numerics import relax_integral

__all__ = [
    "aligned_product",
    "deep_mode",
    "effective_a0",
    "lambda_mode",
    "saxe_learning_time",
    "saxe_mode",
    "shallow_linear",
    "signed_aligned_mode",
]


# --------------------------------------------------------------------------------------------
# validation and shared pieces
# --------------------------------------------------------------------------------------------


def _real_array(name: str, value) -> np.ndarray:
    """``value`` as a finite float64 array of any shape, or raise naming ``name``."""
    if isinstance(value, bool) or (isinstance(value, np.ndarray) and value.dtype == bool):
        raise TypeError(f"{name} must be real number(s), not booleans; got {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real number or array of real numbers; got {value!r}") from exc
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
        raise ValueError(f"{name} must be finite; got {int(bad.sum())} NaN/inf value(s), first at index {first}")
    return arr


def _require(name: str, arr: np.ndarray, ok: np.ndarray, accepted: str, hint: str = "") -> None:
    """Raise naming the first entry of ``arr`` where ``ok`` is False."""
    ok = np.broadcast_to(ok, arr.shape)
    if not ok.all():
        idx = tuple(int(i) for i in np.argwhere(~ok)[0]) if arr.ndim else ()
        where = f" at index {idx}" if arr.ndim else ""
        raise ValueError(f"{name} must be {accepted}; got {arr[idx]!r}{where}{hint}")


def _theta(t, tau) -> np.ndarray:
    """Validated ``t / tau`` as a 1-D array."""
    t = times("t", t)
    tau = positive_float("tau", tau)
    return t / tau


def _broadcast(**arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Broadcast the mode parameters to one mode shape, or raise naming all shapes."""
    try:
        return tuple(np.broadcast_arrays(*arrays.values()))
    except ValueError as exc:
        shapes = ", ".join(f"{k}{np.shape(v)}" for k, v in arrays.items())
        raise ValueError(f"mode parameters must broadcast to one shape; got {shapes}") from exc


def _over_time(theta: np.ndarray, mode_ndim: int) -> np.ndarray:
    """``theta`` reshaped to ``(T, 1, ..., 1)`` so it broadcasts against a mode shape."""
    return theta.reshape(theta.shape + (1,) * mode_ndim)


# --------------------------------------------------------------------------------------------
# Saxe (2014): zero-balanced aligned modes
# --------------------------------------------------------------------------------------------


def saxe_mode(s_tilde, a0, t, *, tau: float = 1.0) -> np.ndarray:
    """Saxe's sigmoid: the exact trajectory of one aligned, zero-balanced mode.

    Solves ``tau da/dt = 2 a (s_tilde - a)``, ``a(0) = a0``, whose solution (Saxe, McClelland & Ganguli 2014) is
    ``a = s_tilde e^{2 s_tilde theta} / (e^{2 s_tilde theta} - 1 + s_tilde / a0)``. It is evaluated
    as ``a = a0 / (eps + a0 g)`` with ``eps = e^{-2 s_tilde theta}`` and
    ``g = (1 - eps) / s_tilde``: only decaying exponentials, exact at ``s_tilde = 0`` where
    ``g = 2 theta`` and ``a = a0 / (1 + 2 a0 theta)`` (the solution of ``tau da/dt = -2 a^2``).

    Parameters
    ----------
    s_tilde : array_like
        Task singular value(s), ``>= 0``.
    a0 : array_like
        Initial mode strength(s) ``a(0) > 0``; broadcast against ``s_tilde``. A mode that starts
        at ``a0 <= 0`` (anti-aligned or zero) never learns: use :func:`signed_aligned_mode`.
    t : array_like
        1-D non-decreasing gradient-flow times ``>= 0`` (scalar allowed, as length 1).
    tau : float, keyword
        Time constant; the solution depends on ``theta = t / tau``. ``tau = 1`` matches
        ``t = eta * step`` for full-batch GD with the library's ``1/(2P)`` loss.

    Returns
    -------
    numpy.ndarray
        ``a(t)`` of shape ``(T, *M)`` with ``M = broadcast(s_tilde, a0).shape``.

    Assumptions: whitened inputs; weights aligned with the task (``W1 = R diag(sqrt(a0)) V~^T``,
    ``W2 = U~ diag(sqrt(a0)) R^T``, ``R^T R = I``); gradient flow.

    Example
    -------
    >>> a = saxe_mode([2.0, 1.0], 1e-3, [0.0, 5.0, 1e6])
    >>> a.shape
    (3, 2)
    >>> bool(abs(a[-1, 0] - 2.0) < 1e-14)
    True
    """
    s = _real_array("s_tilde", s_tilde)
    a0 = _real_array("a0", a0)
    _require("s_tilde", s, s >= 0, ">= 0 (a singular value)")
    _require(
        "a0",
        a0,
        a0 > 0,
        "> 0",
        "; a mode with a0 <= 0 is stuck at the saddle, use signed_aligned_mode",
    )
    theta = _theta(t, tau)
    s, a0 = _broadcast(s_tilde=s, a0=a0)
    th = _over_time(theta, s.ndim)
    eps = np.exp(-2.0 * s * th)
    return a0 / (eps + a0 * relax_integral(s, th))


def saxe_learning_time(s_tilde, a0, a_final, *, tau: float = 1.0):
    """Time for a Saxe mode to go from ``a0`` to ``a_final``.

    ``t = (tau / (2 s_tilde)) ln[a_f (s_tilde - a0) / (a0 (s_tilde - a_f))]`` (Saxe et al. 2014), the
    inverse of :func:`saxe_mode`. For small ``a0 = e`` it is ``~ (tau / s_tilde) ln(s_tilde / e)``.

    Parameters
    ----------
    s_tilde : array_like
        Task singular value(s), ``> 0`` (with ``s_tilde = 0`` no level is ever reached).
    a0, a_final : array_like
        Start and target; broadcast with ``s_tilde``. Either ``0 < a0 <= a_final < s_tilde``
        (learning from below) or ``s_tilde < a_final <= a0`` (relaxing from above): the
        trajectory is monotone and never reaches ``s_tilde`` itself.
    tau : float, keyword
        Time constant (``theta = t / tau``).

    Returns
    -------
    float or numpy.ndarray
        The time(s), broadcast shape; a Python float when all inputs are scalars.

    Example
    -------
    >>> round(saxe_learning_time(1.0, 0.01, 0.5), 6)  # (1/2) ln 99
    2.29756
    """
    s = _real_array("s_tilde", s_tilde)
    a0 = _real_array("a0", a0)
    af = _real_array("a_final", a_final)
    _require("s_tilde", s, s > 0, "> 0 (a positive singular value)")
    tau = positive_float("tau", tau)
    s, a0, af = _broadcast(s_tilde=s, a0=a0, a_final=af)
    rising = (a0 > 0) & (a0 <= af) & (af < s)
    falling = (s < af) & (af <= a0)
    if not (rising | falling).all():
        i = tuple(int(k) for k in np.argwhere(~(rising | falling))[0])
        raise ValueError(
            "a0, a_final must satisfy 0 < a0 <= a_final < s_tilde or s_tilde < a_final <= a0; "
            f"got a0={a0[i]!r}, a_final={af[i]!r}, s_tilde={s[i]!r}" + (f" at index {i}" if s.ndim else "")
        )
    # two logs of ratios > 0 instead of one of a product: no overflow for tiny a0
    out = tau / (2.0 * s) * (np.log(af / a0) + np.log((s - a0) / (s - af)))
    return float(out) if out.ndim == 0 else out


def signed_aligned_mode(s_tilde, s, b, c, t, *, tau: float = 1.0) -> np.ndarray:
    """Aligned mode whose singular vectors may have the wrong sign.

    This is the zero-balanced solution of Braun et al. 2022 for weights aligned with the task up to signs.

    The network starts at ``W2 W1(0) = U diag(s) V^T`` with ``U = U~ D_u``, ``V = V~ D_v`` and sign
    matrices ``D_u, D_v``; per mode ``b = d_u + d_v`` and ``c = d_u - d_v`` (the diagonals of
    ``B = U^T U~ + V^T V~`` and ``C = U^T U~ - V^T V~``), so ``(b, c)`` is ``(+-2, 0)`` or
    ``(0, +-2)``. The returned ``a(t)`` is the coefficient of ``u~ v~^T`` in ``W2 W1(t)``.
    The closed form
    ``a = s s~ (b^2 - c^2 eps^2) / [4 s~ eps + s b^2 (1 - eps) + s c^2 eps (1 - eps)]``,
    ``eps = e^{-2 s~ theta}``, is evaluated branch by branch, which is exact (no regulariser):

    * ``b != 0`` (signs agree): Saxe's sigmoid from ``a0 = s``, ``a -> s_tilde``;
    * ``b == 0`` (anti-aligned, e.g. after a reversal ``Sigma -> -Sigma``):
      ``a = -s eps / (1 + s (1 - eps) / s~)``, which rises monotonically from ``-s`` to 0 and stays
      at the saddle ``a = 0`` (``-s / (1 + 2 s theta)`` when ``s~ = 0``).

    Parameters
    ----------
    s_tilde : array_like
        Task singular value(s), ``>= 0``.
    s : array_like
        Singular value(s) of ``W2 W1(0)``, ``> 0``.
    b, c : array_like
        Per-mode sign codes as above; each pair must be ``(+-2, 0)`` or ``(0, +-2)``.
    t : array_like
        1-D non-decreasing times ``>= 0``.
    tau : float, keyword
        Time constant (``theta = t / tau``).

    Returns
    -------
    numpy.ndarray
        Signed ``a(t)``, shape ``(T, *M)`` with ``M`` the broadcast shape of the mode parameters.

    Assumptions: whitened inputs, zero-balanced aligned weights, gradient flow.

    Example
    -------
    >>> a = signed_aligned_mode(1.0, 1.0, 0, 2, [0.0, 1.0, 1e6])  # reversed target
    >>> a[0].item(), bool(a[-1] == 0.0)
    (-1.0, True)
    """
    st = _real_array("s_tilde", s_tilde)
    s = _real_array("s", s)
    b = _real_array("b", b)
    c = _real_array("c", c)
    _require("s_tilde", st, st >= 0, ">= 0 (a singular value)")
    _require("s", s, s > 0, "> 0 (a singular value of W2 W1(0); full-rank initialisation)")
    codes = "one of {-2, 0, 2}"
    _require("b", b, np.isin(b, (-2.0, 0.0, 2.0)), codes)
    _require("c", c, np.isin(c, (-2.0, 0.0, 2.0)), codes)
    theta = _theta(t, tau)
    st, s, b, c = _broadcast(s_tilde=st, s=s, b=b, c=c)
    pair_ok = (b == 0) != (c == 0)
    if not pair_ok.all():
        i = tuple(int(k) for k in np.argwhere(~pair_ok)[0])
        raise ValueError(
            "(b, c) must be (+-2, 0) (aligned signs) or (0, +-2) (opposite signs), since "
            f"b = d_u + d_v and c = d_u - d_v with d = +-1; got b={b[i]!r}, c={c[i]!r}"
            + (f" at index {i}" if b.ndim else "")
        )
    th = _over_time(theta, st.ndim)
    eps = np.exp(-2.0 * st * th)
    g = relax_integral(st, th)
    aligned = s / (eps + s * g)
    stuck = -s * eps / (1.0 + s * g)
    return np.where(b != 0, aligned, stuck)


# --------------------------------------------------------------------------------------------
# lambda-balanced aligned modes (Domine et al. 2024)
# --------------------------------------------------------------------------------------------


def lambda_mode(s_tilde, a0, lam, t, *, tau: float = 1.0) -> np.ndarray:
    """Exact trajectory of one aligned, lambda-balanced mode.

    The aligned special case of the lambda-balanced solution of Dominé et al. 2024; the per-mode formula below is
    derived for learndyn and checked against a direct integration of the scalar ODE (to ~1e-12).

    Per mode the weights are ``s1`` (in ``W1``) and ``s2`` (in ``W2``) with ``s1 s2 = a0`` and
    ``s2^2 - s1^2 = lam`` (conserved). The product ``a = s1 s2`` obeys
    ``tau da/dt = sqrt(lam^2 + 4 a^2) (s_tilde - a)``, solved by

    ``a = (A+ b + A- eps c)(A- b - A+ eps c) / [4 eps + (b^2 + c^2 eps)(1 - eps)/kappa]``

    with ``kappa = sqrt(s_tilde^2 + lam^2/4)``, ``eps = e^{-2 kappa theta}``,
    ``X = lam / (2 kappa + 2 s_tilde)``, ``A = (1 + X^2)^{-1/2}``, ``A+- = A (1 +- X)``,
    ``b = s2 A+ + s1 A-``, ``c = s2 A- - s1 A+``. The magnitudes of ``s1``, ``s2`` are rationalised
    and ``s2 - s1 = lam / (s2 + s1)`` is used, so no difference of close numbers is formed; only
    ``eps <= 1`` and ``(1 - eps)/kappa`` (via ``expm1``) are evaluated, so the result is finite at any
    ``t`` and tends to ``s_tilde``. While ``eps > 1/2`` the numerator factors are written as their
    exact start values ``2 s2``, ``2 s1`` plus a ``(1 - eps)`` correction, so a tiny ``a0`` keeps its
    relative accuracy (measured ~1e-13). At ``lam = 0`` it is Saxe's sigmoid.

    ``a0`` may have either sign (``s1 < 0``) or be 0: for ``lam != 0`` the rate
    ``sqrt(lam^2 + 4 a^2)`` never vanishes, so the mode crosses 0 and still learns ``s_tilde``; for
    ``lam = 0`` and ``a0 < 0`` it is the stuck anti-aligned mode of :func:`signed_aligned_mode`
    (``b = 0``, handled exactly), and ``a0 = lam = 0`` stays at 0.

    Parameters
    ----------
    s_tilde : array_like
        Task singular value(s), ``>= 0``.
    a0 : array_like
        Initial product ``s1 s2`` (any real).
    lam : array_like
        Balance ``lambda = s2^2 - s1^2`` (any real), per mode or shared.
    t : array_like
        1-D non-decreasing times ``>= 0``.
    tau : float, keyword
        Time constant (``theta = t / tau``).

    Returns
    -------
    numpy.ndarray
        ``a(t)``, shape ``(T, *M)`` with ``M = broadcast(s_tilde, a0, lam).shape``.

    Assumptions: whitened inputs; aligned lambda-balanced weights ``W1 = R diag(s1) V~^T``,
    ``W2 = U~ diag(s2) R^T`` (``N_h = m``, or extra hidden directions compatible with the sign of
    ``lam``: ``N_h > N_i`` needs ``lam >= 0``, ``N_h > N_o`` needs ``lam <= 0``); gradient flow.

    Example
    -------
    >>> a = lambda_mode(1.5, 0.1, 3.0, [0.0, 0.5, 1e6])
    >>> round(a[0].item(), 12), round(a[-1].item(), 12)
    (0.1, 1.5)
    """
    st = _real_array("s_tilde", s_tilde)
    a0 = _real_array("a0", a0)
    lam = _real_array("lam", lam)
    _require("s_tilde", st, st >= 0, ">= 0 (a singular value)")
    theta = _theta(t, tau)
    st, a0, lam = _broadcast(s_tilde=st, a0=a0, lam=lam)

    half = 0.5 * np.abs(lam)
    kappa = np.hypot(st, 0.5 * lam)
    denom = 2.0 * (kappa + st)
    # X -> 0 is the right choice at kappa = s_tilde = 0 (then lam = 0 and eps = 1, so X drops out)
    x = np.divide(lam, denom, out=np.zeros_like(denom), where=denom > 0)
    amp = 1.0 / np.sqrt(1.0 + x * x)
    a_plus, a_minus = amp * (1.0 + x), amp * (1.0 - x)

    # |s_big|^2 = kappa0 + |lam|/2, |s_small|^2 = a0^2 / (kappa0 + |lam|/2): no cancellation
    kappa0 = np.hypot(a0, 0.5 * lam)
    big = np.sqrt(kappa0 + half)
    small = np.divide(np.abs(a0), big, out=np.zeros_like(big), where=big > 0)
    r = big + small  # s2 + |s1|
    p = np.divide(lam, r, out=np.zeros_like(r), where=r > 0)  # s2 - |s1|
    positive = a0 >= 0
    # s1 = sign(a0) |s1|: b, c in terms of r, p with same-sign sums where b is leading
    b = amp * np.where(positive, r + x * p, p + x * r)
    c = amp * np.where(positive, p - x * r, r - x * p)

    s2 = np.where(lam >= 0, big, small)
    s1 = np.where(positive, 1.0, -1.0) * np.where(lam >= 0, small, big)

    th = _over_time(theta, st.ndim)
    eps = np.exp(-2.0 * kappa * th)
    one_minus_eps = -np.expm1(-2.0 * kappa * th)
    g = relax_integral(kappa, th)
    # The two numerator factors equal 2 s2 and 2 s1 at eps = 1 (A+ b + A- c = 2 s2,
    # A- b - A+ c = 2 s1). Early on, write them as that exact start plus a (1 - eps) correction, so
    # a tiny a0 keeps its relative accuracy; late, use the closed form as written, whose limit is exact.
    early = eps > 0.5
    n2 = np.where(early, 2.0 * s2 - a_minus * c * one_minus_eps, a_plus * b + a_minus * eps * c)
    n1 = np.where(early, 2.0 * s1 + a_plus * c * one_minus_eps, a_minus * b - a_plus * eps * c)
    num = n2 * n1
    den = 4.0 * eps + (b * b + c * c * eps) * g
    general = np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den > 0)
    # b = 0: numerator and denominator share a factor eps that underflows at large t; cancel it
    b0 = -a_plus * a_minus * eps * c * c / (4.0 + c * c * g)
    return np.where(b == 0, b0, general)


# --------------------------------------------------------------------------------------------
# deep aligned modes
# --------------------------------------------------------------------------------------------


def deep_mode(
    s_tilde,
    u0,
    n_weights: int,
    t,
    *,
    tau: float = 1.0,
    rtol: float = 1e-11,
    atol: float = 1e-13,
) -> np.ndarray:
    """Aligned mode of a balanced deep linear network with ``D = n_weights`` weight matrices.

    Solves ``tau du/dt = D u^{2 - 2/D} (s_tilde - u)`` (the deep per-mode law attributed to Saxe, McClelland &
    Ganguli 2014, written as ``(N_l - 1) u^{2 - 2/(N_l - 1)}`` with ``N_l = D + 1`` layers of units). It is the gradient
    flow of ``0.5 (s_tilde - w_D ... w_1)^2`` when all per-layer mode strengths are equal,
    ``u = w^D``.

    * ``D = 1`` (shallow): ``u = s_tilde + (u0 - s_tilde) e^{-theta}``, closed form, any real ``u0``.
    * ``D = 2``: Saxe's sigmoid (:func:`saxe_mode`), closed form.
    * ``D >= 3``: integrated with ``scipy.integrate.solve_ivp`` (Radau, analytic diagonal Jacobian)
      in the variable ``v = ln u``, so that tiny ``u0`` keeps full relative accuracy on the plateau
      and long horizons (``t = 1e6``) cost few steps. All modes are integrated together.

    Parameters
    ----------
    s_tilde : array_like
        Task singular value(s), ``>= 0``.
    u0 : array_like
        Initial mode strength(s) ``u(0)``; ``> 0`` for ``D >= 2`` (``u0 <= 0`` is stuck).
    n_weights : int
        Number of weight matrices ``D >= 1``.
    t : array_like
        1-D non-decreasing times ``>= 0``.
    tau : float, keyword
        Time constant (``theta = t / tau``).
    rtol, atol : float, keyword
        Integration tolerances on ``ln u`` for ``D >= 3``; ``atol`` is then a relative tolerance
        of ``u``. Defaults give errors of order 1e-11 against the per-layer gradient flow.

    Returns
    -------
    numpy.ndarray
        ``u(t)``, shape ``(T, *M)`` with ``M = broadcast(s_tilde, u0).shape``.

    Assumptions: whitened inputs; balanced weights aligned with the task, equal mode strength in
    every layer; gradient flow.

    Example
    -------
    >>> u = deep_mode(1.0, 1e-2, 3, [0.0, 50.0])
    >>> round(u[0].item(), 12), round(u[-1].item(), 8)
    (0.01, 1.0)
    """
    st = _real_array("s_tilde", s_tilde)
    u0 = _real_array("u0", u0)
    d = positive_int("n_weights", n_weights)
    rtol = positive_float("rtol", rtol)
    atol = positive_float("atol", atol)
    _require("s_tilde", st, st >= 0, ">= 0 (a singular value)")
    if d >= 2:
        _require(
            "u0",
            u0,
            u0 > 0,
            f"> 0 for n_weights={d}",
            "; a mode starting at u0 <= 0 is stuck at the saddle u = 0",
        )
    theta = _theta(t, tau)
    st, u0 = _broadcast(s_tilde=st, u0=u0)
    if d == 1:
        th = _over_time(theta, st.ndim)
        return st + (u0 - st) * np.exp(-th)
    if d == 2:
        return saxe_mode(st, u0, theta, tau=1.0)

    mode_shape = st.shape
    sf, uf = st.ravel(), u0.ravel()
    alpha = 1.0 - 2.0 / d

    def rhs(_, v):
        return d * np.exp(alpha * v) * (sf - np.exp(v))

    def jac(_, v):
        ea = np.exp(alpha * v)
        return sps.diags(d * ea * (alpha * (sf - np.exp(v)) - np.exp(v)))

    grid, back = np.unique(theta, return_inverse=True)
    if grid[-1] == 0.0:
        v = np.log(uf)[:, None] * np.ones(grid.size)
    else:
        sol = solve_ivp(
            rhs,
            (0.0, grid[-1]),
            np.log(uf),
            method="Radau",
            t_eval=grid,
            jac=jac,
            rtol=rtol,
            atol=atol,
        )
        if not sol.success:
            raise RuntimeError(f"deep_mode: integration failed ({sol.message}); loosen rtol/atol")
        v = sol.y
    return np.exp(v[:, back]).T.reshape((theta.size,) + mode_shape)


# --------------------------------------------------------------------------------------------
# shallow network and matrix assembly
# --------------------------------------------------------------------------------------------


def shallow_linear(W0, sigma_yx, t, *, tau: float = 1.0) -> np.ndarray:
    """Exact gradient flow of a one-layer linear network ``f = W x`` on whitened inputs.

    ``tau dW/dt = Sigma_yx - W`` gives ``W(t) = Sigma_yx + (W0 - Sigma_yx) e^{-theta}`` (Braun et al.
    2022, Fig. 6b): the error decays exactly as ``e^{-t/tau}`` for every task, including a reversal
    ``Sigma -> -Sigma`` that traps a two-layer network at a saddle.

    Parameters
    ----------
    W0 : array_like, shape (n_out, n_in)
        Initial weights.
    sigma_yx : array_like, shape (n_out, n_in)
        Input-output correlation ``Y^T X / P``.
    t : array_like
        1-D non-decreasing times ``>= 0``.
    tau : float, keyword
        Time constant (``theta = t / tau``).

    Returns
    -------
    numpy.ndarray
        ``W(t)`` of shape ``(T, n_out, n_in)``.

    Assumptions: whitened inputs (``X^T X / P = I``), gradient flow.

    Example
    -------
    >>> W = shallow_linear([[0.0, 0.0]], [[1.0, -2.0]], [0.0, 1e6])
    >>> W[-1].tolist()
    [[1.0, -2.0]]
    """
    W0 = as_matrix("W0", W0)
    sig = as_matrix("sigma_yx", sigma_yx, rows=W0.shape[0], cols=W0.shape[1])
    theta = _theta(t, tau)
    return sig + (W0 - sig) * np.exp(-theta)[:, None, None]


def aligned_product(U, a, V) -> np.ndarray:
    """Assemble ``W2 W1 = U diag(a) V^T`` from mode strengths.

    Parameters
    ----------
    U : array_like, shape (n_out, m)
        Output singular vectors (e.g. ``U~_m``).
    a : array_like, shape (..., m)
        Mode strengths, e.g. ``(T, m)`` from :func:`saxe_mode`; leading dims are kept.
    V : array_like, shape (n_in, m)
        Input singular vectors (e.g. ``V~_m``).

    Returns
    -------
    numpy.ndarray
        Shape ``(..., n_out, n_in)``; ``(T, n_out, n_in)`` for ``a`` of shape ``(T, m)``.

    Example
    -------
    >>> aligned_product([[1.0], [0.0]], [[2.0], [3.0]], [[0.0], [1.0], [0.0]]).shape
    (2, 2, 3)
    """
    U = as_matrix("U", U)
    V = as_matrix("V", V, cols=U.shape[1])
    a = _real_array("a", a)
    if a.ndim == 0 or a.shape[-1] != U.shape[1]:
        raise ValueError(
            f"a must have shape (..., m) with m = {U.shape[1]} (the columns of U and V); got shape {a.shape}"
        )
    return np.einsum("ok,...k,ik->...oi", U, a, V)


def effective_a0(B, S) -> np.ndarray:
    """Effective per-mode initial strengths ``diag(B^T S B) / 4``.

    Derived for learndyn from the small-initialisation limit of the zero-balanced solution of Braun et al. 2022.

    For a small zero-balanced initialisation ``W2 W1(0) = U S V^T`` the exact solution aligns to
    the task before it learns, and only ``B^T S B / 4`` survives, ``B = U^T U~_m + V^T V~_m``. Its
    diagonal is a good Saxe ``a0`` for the top mode (its predicted half-rise time is within 3% of the simulated one
    in tests), not for lower modes (off by up to 30%, through their coupling).

    Parameters
    ----------
    B : array_like, shape (m, m)
        ``U^T U~_m + V^T V~_m``.
    S : array_like, shape (m,) or (m, m)
        Singular values of ``W2 W1(0)`` as a vector, or the diagonal matrix.

    Returns
    -------
    numpy.ndarray
        Shape ``(m,)``.

    Example
    -------
    >>> effective_a0(2 * np.eye(2), [1e-3, 2e-3]).tolist()  # aligned: B = 2I gives a0 = S
    [0.001, 0.002]
    """
    B = as_matrix("B", B)
    S = _real_array("S", S)
    if S.shape == (B.shape[0],):
        return 0.25 * np.einsum("ij,i,ij->j", B, S, B)
    if S.shape == (B.shape[0], B.shape[0]):
        return 0.25 * np.einsum("ij,ik,kj->j", B, S, B)
    raise ValueError(
        f"S must be a vector of length {B.shape[0]} or a ({B.shape[0]}, {B.shape[0]}) matrix "
        f"matching B of shape {B.shape}; got shape {S.shape}"
    )
