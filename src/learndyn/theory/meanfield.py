"""Mean-field two-layer ReLU nets with an odd target: the linear reduction and its isotropic closed form.

Reference: K. Hajjar and L. Chizat, "On the symmetries in the dynamics of wide two-layer neural networks",
Electronic Research Archive 31(4), 2023, arXiv:2211.08771 (spec ``integrable_and_meanfield.md``, part C).

Setting
-------
``f(mu; x) = int a relu(<b, x>) dmu(a, b)``, population risk ``F = 1/2 E_rho[(f - f*)^2]`` and its Wasserstein
gradient flow, in particle form ``a' = -E[(f - f*) relu(<b, x>)]``, ``b' = -a E[(f - f*) 1{<b, x> > 0} x]``.
Time ``t`` is gradient-flow time; a finite net ``f = (1/m) sum_j a_j relu(<b_j, x>)`` trained by SGD with learning
rate ``m eta`` on ``1/2 mean (f - y)^2`` follows it with ``t = eta * step`` (``learndyn.online.sgd``).

**Odd target** (``rho`` symmetric, ``f*`` odd, ``mu_0`` invariant under ``(a, b) -> (-a, -b)``). Since
``relu(z) = z/2 + |z|/2`` and the even part cancels, ``f_t(x) = <w(t), x>`` with ``w = 1/2 int a b dmu_t``. With
``Xf = E[f* x]``, ``Sigma = E[x x^T]`` and ``g = 1/2 (Xf - Sigma w)``, every particle moves as ``a' = <b, g>``,
``b' = a g``, and ``w' = 1/4 H_t (Xf - Sigma w)`` with ``H_t = int (a^2 I + b b^T) dmu_t``
(:func:`odd_target_flow`). The balance ``a^2 - ||b||^2`` of every particle is conserved.

**Isotropic closed form** (derived here; the spec's formulas are confirmed). Let ``Sigma = v I``, ``w(0) = 0``,
``w* = Xf / v``, ``u = w* / ||w*||`` and assume ``E[b_0 b_0^T] u`` is parallel to ``u`` (true for ``b_0`` uniform on
the sphere). Then ``g = (v/2)(||w*|| - s) u`` with ``w = s u``, the part of ``b`` orthogonal to ``u`` is frozen, and
each particle's ``(a, <b, u>)`` is rotated hyperbolically by the angle ``theta(t) = int_0^t ||g||``::

    a = a_0 cosh(theta) + <b_0, u> sinh(theta),    <b, u> = <b_0, u> cosh(theta) + a_0 sinh(theta).

Averaging, ``w = 1/2 E[a b] = (V/2) (sinh(2 theta) / 2) u = (V/4) sinh(2 theta) u`` with
``V = E a_0^2 + E <b_0, u>^2`` (``E[a_0 <b_0, u>] = 0`` because ``w(0) = 0``), and
``theta' = (v/2)(||w*|| - s)``. So the spec's ``Lambda`` is ``Lambda = 2 theta / ||Xf||`` (``||Xf|| = v ||w*||``),
and both spec forms, ``Lambda' = 1 - (V / 4||w*||) sinh(||Xf|| Lambda)``,
``w = (V/4) sinh(||Xf|| Lambda) u`` (C1) and the Euler form ``S_k = V sinh(||w*|| Lambda_k v) / (4 ||w*||)``,
``w_k = S_k w*`` (C2), are right: the ``sinh(2 theta)/2`` of the particle average is absorbed in ``Lambda``. The
``Lambda``-ODE is separable; with ``Y = e^{2 theta} = e^{||Xf|| Lambda}`` it integrates to::

    Y(t) = (y_+ + y_- eps) / (1 + eps),   eps = c e^{-k t},   c = y_+ (y_+ - 1) / (y_+ + 1),
    y_+- = r +- sqrt(r^2 + 1),   r = 4 ||w*|| / V,   k = (v/4) sqrt(V^2 + 16 ||w*||^2),
    ||w(t)|| = (V/8) (Y - 1/Y),   ||w* - w(t)|| = (V/8) (y_+ - Y) (1 + 1/(y_+ Y)),

evaluated by :func:`isotropic_odd_target` with decaying exponentials only (finite at any ``t``, ``w -> w*``). Check
(``d = 20`` cubic target: ``V = 1.05``, ``v = 1/20``, ``||w*|| = sqrt(24)``): against ``solve_ivp`` on the spec's
``Lambda``-ODE (rtol 1e-12) to ``t = 122`` the closed form agrees to 3e-11 in ``||w||`` and 5e-11 in ``Lambda``;
against the particle ODE of :func:`odd_target_flow` on an exactly isotropic particle set (``b`` along ``+-Q e_k``) to
7e-12 (``tests/theory/test_meanfield.py``).

**Exponential bound.** ``e = ||w* - w||`` obeys ``e' = -(V v / 4) cosh(2 theta) e`` and ``cosh >= 1``, so
``||w - w*|| <= ||w*|| exp(-V v t / 4)`` (:func:`exponential_bound`) holds, but it is loose: the rate grows from
``V v / 4`` at ``t = 0`` to :func:`asymptotic_rate` ``k = (v/4) sqrt(V^2 + 16 ||w*||^2)`` (for ``d = 20``:
0.0131 against 0.245, a factor 18.7).

Examples
--------
>>> import numpy as np
>>> w_star = np.array([3.0, 4.0])
>>> w = isotropic_odd_target(initial_moment_V(2), 0.5, w_star, [0.0, 1.0, 1e6])
>>> w.shape, bool(np.all(w[0] == 0)), bool(np.allclose(w[-1], w_star, rtol=0, atol=1e-12))
((3, 2), True, True)
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from learndyn._checks import AssumptionError, as_array, as_matrix, positive_float, positive_int, rng, times

__all__ = [
    "CubicTarget",
    "asymptotic_rate",
    "best_linear_floor",
    "cubic_target",
    "exponential_bound",
    "initial_moment_V",
    "isotropic_odd_target",
    "isotropic_odd_target_euler",
    "odd_target_flow",
    "odd_target_moments",
    "population_loss_linear",
]


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def _vector(name: str, value, d: int | None = None) -> np.ndarray:
    arr = as_array(name, value, 1)
    if d is not None and arr.shape[0] != d:
        raise ValueError(f"{name} must have length {d} (the input dimension d); got shape {arr.shape}")
    return arr


def _covariance(name: str, value, d: int) -> np.ndarray:
    S = as_matrix(name, value, rows=d, cols=d)
    scale = max(float(np.max(np.abs(S))), 1e-300)
    asym = float(np.max(np.abs(S - S.T)))
    if asym > 1e-12 * scale:
        raise ValueError(f"{name} must be symmetric (a covariance E[x x^T]); got max |S - S^T| = {asym:.3g}")
    lam = float(np.linalg.eigvalsh(S)[0])
    if lam < -1e-12 * scale:
        raise ValueError(
            f"{name} must be positive semi-definite (a covariance E[x x^T]); got smallest eigenvalue {lam:.3g}"
        )
    return S


def _real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number; got {value!r}")
    return float(value)


# --------------------------------------------------------------------------------------------
# the reduced particle dynamics (any Sigma)
# --------------------------------------------------------------------------------------------


def odd_target_flow(
    a0,
    b0,
    Xf,
    Sigma,
    t,
    *,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    full_output: bool = False,
):
    """The exact mean-field flow of a two-layer ReLU net on an odd target, for a finite set of particles.

    Integrates ``a_j' = <b_j, g>``, ``b_j' = a_j g`` with ``g = 1/2 (Xf - Sigma w)`` and
    ``w = (1/2m) sum_j a_j b_j`` (SciPy ``solve_ivp``, DOP853). The predictor is ``f_t(x) = <w(t), x>`` and
    ``w' = 1/4 H_t (Xf - Sigma w)`` with ``H_t = (1/m) sum_j (a_j^2 I + b_j b_j^T)``.

    The particles may be any set: the right-hand side maps the mirror ``(-a_j, -b_j)`` of a particle to the mirror
    of its velocity, and ``w`` and ``H`` are unchanged by adding the mirrored copies. So the result is the
    Wasserstein gradient flow of the *symmetrised* measure ``mu_0 = 1/(2m) sum_j (delta_{(a_j, b_j)} +
    delta_{(-a_j, -b_j)})``, which is exactly linear. For a set that is not mirror-symmetric it is *not* the ReLU
    flow of that set itself (whose predictor is not linear).

    Parameters
    ----------
    a0 : (m,) array_like
        Output weights of the particles at ``t = 0``.
    b0 : (m, d) array_like
        Input weights of the particles at ``t = 0``.
    Xf : (d,) array_like
        ``E_rho[f*(x) x]``.
    Sigma : (d, d) array_like
        ``E_rho[x x^T]`` (symmetric positive semi-definite).
    t : array_like
        1-D non-decreasing gradient-flow times ``>= 0`` (a scalar counts as one time).
    rtol, atol : float, keyword
        ``solve_ivp`` tolerances.
    full_output : bool, keyword
        Also return the particles and ``H_t``.

    Returns
    -------
    w : (T, d) numpy.ndarray
        ``w(t) = (1/2m) sum_j a_j(t) b_j(t)``.
    info : dict, only with ``full_output``
        ``"a"`` (T, m), ``"b"`` (T, m, d) and ``"H"`` (T, d, d).

    Assumptions: ``rho`` symmetric (``x`` and ``-x`` equally likely), ``f*`` odd, initial measure mirror-symmetric
    (see above); ``Xf`` and ``Sigma`` are the population moments of that ``rho`` and ``f*``.

    Examples
    --------
    >>> import numpy as np
    >>> a0 = np.array([1.0, -1.0])
    >>> b0 = np.array([[0.6, 0.8], [0.6, -0.8]])
    >>> w, info = odd_target_flow(a0, b0, [1.0, 0.5], np.eye(2), [0.0, 2.0, 50.0], full_output=True)
    >>> w.shape, info["H"].shape
    ((3, 2), (3, 2, 2))
    >>> bool(np.allclose(w[-1], [1.0, 0.5], atol=1e-8))  # -> Sigma^{-1} Xf
    True
    """
    a0 = _vector("a0", a0)
    m = a0.shape[0]
    b0 = as_matrix("b0", b0, rows=m)
    d = b0.shape[1]
    Xf = _vector("Xf", Xf, d)
    Sigma = _covariance("Sigma", Sigma, d)
    tt = times("t", t)
    rtol = positive_float("rtol", rtol)
    atol = positive_float("atol", atol)

    def rhs(_, y):
        a, b = y[:m], y[m:].reshape(m, d)
        w = b.T @ a / (2.0 * m)
        g = 0.5 * (Xf - Sigma @ w)
        return np.concatenate([b @ g, np.outer(a, g).ravel()])

    y0 = np.concatenate([a0, b0.ravel()])
    if tt[-1] > 0:
        sol = solve_ivp(rhs, (0.0, tt[-1]), y0, method="DOP853", t_eval=tt, rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(f"odd_target_flow: solve_ivp failed ({sol.message}); try larger rtol/atol")
        Y = sol.y.T
    else:
        Y = np.tile(y0, (tt.size, 1))
    a = Y[:, :m]
    b = Y[:, m:].reshape(tt.size, m, d)
    w = np.einsum("tj,tjk->tk", a, b) / (2.0 * m)
    if not full_output:
        return w
    H = np.mean(a**2, axis=1)[:, None, None] * np.eye(d) + np.einsum("tjk,tjl->tkl", b, b) / m
    return w, {"a": a, "b": b, "H": H}


def odd_target_moments(population, *, n: int = 200_000, seed: int = 0, tol: float = 1e-10):
    """``(Xf, Sigma) = (E[f* x], E[x x^T])`` of a population by a large sample, after checking that its target is
    odd (the assumption of :func:`odd_target_flow`).

    ``Sigma`` is exact (``std^2 I`` for both input laws); ``Xf`` is the mean of ``f*(x) x`` over ``n`` fresh
    samples (sampling error ``~ 1/sqrt(n)``).

    Raises
    ------
    AssumptionError
        When ``|f*(x) + f*(-x)|`` exceeds ``tol`` of ``max |f*|`` (the measured size is in the message): the odd
        reduction would silently give the flow of the target's odd part.

    Examples
    --------
    >>> import numpy as np
    >>> from learndyn import populations
    >>> pop = populations.cubic_odd(np.array([1.0, 0.0]), C=1.0, std=1.0)
    >>> Xf, Sigma = odd_target_moments(pop, n=100_000)
    >>> bool(abs(Xf[0] - 3.0) < 0.05), Sigma.tolist()  # E[x^4] = 3
    (True, [[1.0, 0.0], [0.0, 1.0]])
    """
    import jax

    n = positive_int("n", n)
    tol = positive_float("tol", tol)
    violation = population.odd_violation(seed=seed)
    if violation > tol:
        raise AssumptionError(
            f"the odd-target reduction needs f*(-x) = -f*(x); the target of {population.name!r} breaks it by "
            f"max |f*(x) + f*(-x)| / max |f*| = {violation:.3g} (tol {tol:g})"
        )
    X = np.asarray(population.sample_x(jax.random.key(seed), n))
    y = np.asarray(population.target(X))
    return X.T @ y / n, population.std**2 * np.eye(population.d)


# --------------------------------------------------------------------------------------------
# the isotropic closed form
# --------------------------------------------------------------------------------------------


def initial_moment_V(d) -> float:
    """``V = E a_0^2 + E <b_0, u>^2 = 1 + 1/d`` for ``a_0 ~ Unif{+-1}``, ``b_0 ~ Unif(S^{d-1})``, any unit ``u``.

    Parameters
    ----------
    d : int
        Input dimension.

    Returns
    -------
    float

    Examples
    --------
    >>> initial_moment_V(20)
    1.05
    """
    d = positive_int("d", d)
    return 1.0 + 1.0 / d


def _iso_inputs(V, v_rho, w_star):
    V = positive_float("V", V)
    v = positive_float("v_rho", v_rho)
    w_star = _vector("w_star", w_star)
    return V, v, w_star, float(np.linalg.norm(w_star))


def asymptotic_rate(V, v_rho, w_star_norm) -> float:
    """Rate ``k = (v_rho/4) sqrt(V^2 + 16 ||w*||^2)`` at which ``||w(t) - w*||`` decays at large ``t``.

    In the isotropic closed form ``||w - w*|| ~ const * exp(-k t)``; ``k >= V v_rho / 4``, the rate of
    :func:`exponential_bound`, with equality only for ``w* = 0``.

    Parameters
    ----------
    V : float
        ``E a_0^2 + E <b_0, u>^2 > 0``.
    v_rho : float
        Input variance (``Sigma = v_rho I``), ``> 0``.
    w_star_norm : float
        ``||w*|| >= 0``.

    Returns
    -------
    float

    Examples
    --------
    >>> round(asymptotic_rate(1.05, 1 / 20, 24**0.5), 4)
    0.2453
    """
    V = positive_float("V", V)
    v = positive_float("v_rho", v_rho)
    W = positive_float("w_star_norm", w_star_norm, allow_zero=True)
    return 0.25 * v * float(np.hypot(V, 4.0 * W))


def isotropic_odd_target(V, v_rho, w_star, t, *, full_output: bool = False):
    """Closed-form ``w(t)`` of the odd-target mean-field flow with isotropic inputs and ``w(0) = 0``.

    ``w(t) = (V/4) sinh(||Xf|| Lambda(t)) w* / ||w*||`` where ``Lambda' = 1 - (V / 4||w*||) sinh(||Xf|| Lambda)``,
    ``Lambda(0) = 0``, ``||Xf|| = v_rho ||w*||`` (spec C1, confirmed in the module docstring). The ``Lambda``-ODE
    is solved in closed form: with ``Y = exp(||Xf|| Lambda)``, ``r = 4||w*||/V``, ``y_+ = r + sqrt(r^2 + 1)``,
    ``c = y_+ (y_+ - 1)/(y_+ + 1)``, ``k = (v_rho/4) sqrt(V^2 + 16||w*||^2)`` and ``eps = c e^{-k t}``,
    ``Y - 1 = (y_+ - 1)(1 - e^{-k t}) / (1 + eps)`` and ``||w|| = (V/8)(Y - 1)(1 + 1/Y)``. Only decaying
    exponentials are evaluated, so the result is finite at any ``t`` and tends to ``w*``.

    Parameters
    ----------
    V : float
        ``E a_0^2 + E <b_0, u>^2`` over the initial particles, ``u = w*/||w*||`` (``1 + 1/d`` for the ``+-1`` /
        uniform-sphere init, :func:`initial_moment_V`), ``> 0``.
    v_rho : float
        Input variance: ``Sigma = E[x x^T] = v_rho I``, ``> 0``.
    w_star : (d,) array_like
        Best linear predictor ``w* = Sigma^{-1} E[f* x]``.
    t : array_like
        1-D non-decreasing gradient-flow times ``>= 0``.
    full_output : bool, keyword
        Also return the scalars.

    Returns
    -------
    w : (T, d) numpy.ndarray
    info : dict, only with ``full_output``
        ``"norm"`` ``||w(t)||``, ``"gap"`` ``||w* - w(t)||`` (computed directly, accurate to relative rounding
        even when tiny) and ``"Lambda"`` ``Lambda(t)``, each ``(T,)``. For ``w* = 0``, ``w = 0`` and ``Lambda`` is
        the limit ``(4 / (V v_rho)) (1 - exp(-V v_rho t / 4))``.

    Assumptions: odd target, symmetric ``rho``, mirror-symmetric ``mu_0``; ``Sigma = v_rho I``; ``w(0) = 0``
    (``E[a_0 b_0] = 0``) and ``E[b_0 b_0^T] u`` parallel to ``u`` (true for any ``u`` when ``b_0`` is rotation
    invariant or, e.g., uniform on ``{+-e_k}``).

    Examples
    --------
    >>> import numpy as np
    >>> w_star = np.full(20, (6 / 5) ** 0.5)  # ||w*|| = sqrt(24)
    >>> w, info = isotropic_odd_target(1.05, 1 / 20, w_star, [0.0, 5.0, 20.0, 1e6], full_output=True)
    >>> np.round(info["norm"], 4)
    array([0.    , 0.3871, 3.8793, 4.899 ])
    >>> bool(info["gap"][-1] == 0.0)
    True
    """
    V, v, w_star, W = _iso_inputs(V, v_rho, w_star)
    tt = times("t", t)
    if W == 0.0:
        w = np.zeros((tt.size, w_star.size))
        zero = np.zeros(tt.size)
        lam = -np.expm1(-0.25 * V * v * tt) * 4.0 / (V * v)
        return (w, {"norm": zero, "gap": zero.copy(), "Lambda": lam}) if full_output else w
    r = 4.0 * W / V
    root = float(np.hypot(r, 1.0))
    yp_m1 = r + r * r / (root + 1.0)  # y_+ - 1 without cancellation
    yp = 1.0 + yp_m1
    k = 0.25 * v * float(np.hypot(V, 4.0 * W))
    c = yp * yp_m1 / (yp + 1.0)
    decay = np.exp(-k * tt)
    eps = c * decay
    Ym1 = yp_m1 * (-np.expm1(-k * tt)) / (1.0 + eps)
    Y = 1.0 + Ym1
    norm = 0.125 * V * Ym1 * (1.0 + 1.0 / Y)
    D = 2.0 * root  # y_+ - y_-
    gap = 0.125 * V * D * eps / (1.0 + eps) * (1.0 + 1.0 / (yp * Y))
    w = norm[:, None] * (w_star / W)[None, :]
    if not full_output:
        return w
    lam = np.log1p(Ym1) / (v * W)
    return w, {"norm": norm, "gap": gap, "Lambda": lam}


def isotropic_odd_target_euler(V, v_rho, w_star, eta, steps, *, full_output: bool = False):
    """The spec's Euler scheme (C2 item 2) for the isotropic odd-target ODE, as in the reference code.

    ``S_k = V sinh(||w*|| Lambda_k v_rho) / (4 ||w*||)``, ``Lambda_{k+1} = Lambda_k + eta (1 - S_k)``,
    ``Lambda_0 = 0``, ``w_k = S_k w*`` at ``t = eta k``. It converges to :func:`isotropic_odd_target` at first order
    in ``eta``; prefer the closed form, this is for comparison with step-by-step simulations.

    Parameters
    ----------
    V, v_rho : float
        As in :func:`isotropic_odd_target` (``> 0``).
    w_star : (d,) array_like
        Best linear predictor, ``||w*|| > 0``.
    eta : float
        Step, ``> 0``; stable for ``eta k < 2`` with ``k`` the :func:`asymptotic_rate`.
    steps : int
        Number of steps.
    full_output : bool, keyword
        Also return ``Lambda_k``.

    Returns
    -------
    t : (steps + 1,) numpy.ndarray
        ``eta k``.
    w : (steps + 1, d) numpy.ndarray
    Lambda : (steps + 1,) numpy.ndarray, only with ``full_output``

    Examples
    --------
    >>> import numpy as np
    >>> t, w = isotropic_odd_target_euler(1.5, 0.5, np.array([3.0, 4.0]), 1e-2, 2000)
    >>> float(t[-1]), bool(np.allclose(w[-1], [3.0, 4.0]))
    (20.0, True)
    """
    V, v, w_star, W = _iso_inputs(V, v_rho, w_star)
    if W == 0.0:
        raise ValueError("w_star must be non-zero for the Euler scheme (its S_k divides by ||w*||); got w_star = 0")
    eta = positive_float("eta", eta)
    steps = positive_int("steps", steps)
    lam = np.zeros(steps + 1)
    S = np.zeros(steps + 1)
    for k in range(steps):
        with np.errstate(over="ignore"):
            S[k] = V * np.sinh(W * lam[k] * v) / (4.0 * W)
        lam[k + 1] = lam[k] + eta * (1.0 - S[k])
        if not np.isfinite(lam[k + 1]):
            raise ValueError(
                f"isotropic_odd_target_euler diverged at step {k + 1}: eta = {eta!r} is too large; "
                f"use eta < 2 / asymptotic_rate = {2.0 / asymptotic_rate(V, v, W):.4g}"
            )
    S[steps] = V * np.sinh(W * lam[steps] * v) / (4.0 * W)
    t = eta * np.arange(steps + 1)
    w = S[:, None] * w_star[None, :]
    return (t, w, lam) if full_output else (t, w)


def exponential_bound(V, v_rho, w_star_norm, t) -> np.ndarray:
    """The bound ``||w(t) - w*|| <= ||w*|| exp(-V v_rho t / 4)`` of the isotropic odd-target flow.

    It holds (module docstring: ``||w* - w||' = -(V v_rho / 4) cosh(2 theta) ||w* - w||``, ``cosh >= 1``) but is
    loose once ``theta`` has grown: the true asymptotic rate is :func:`asymptotic_rate`.

    Parameters
    ----------
    V, v_rho : float
        As in :func:`isotropic_odd_target` (``> 0``).
    w_star_norm : float
        ``||w*|| >= 0``.
    t : array_like
        1-D non-decreasing times ``>= 0``.

    Returns
    -------
    (T,) numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> b = exponential_bound(1.05, 1 / 20, 24**0.5, [0.0, 100.0])
    >>> np.round(b, 4)
    array([4.899 , 1.3185])
    """
    V = positive_float("V", V)
    v = positive_float("v_rho", v_rho)
    W = positive_float("w_star_norm", w_star_norm, allow_zero=True)
    return W * np.exp(-0.25 * V * v * times("t", t))


# --------------------------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------------------------


def population_loss_linear(w, Ef2, Xf, v_rho=None, *, Sigma=None):
    """Population risk ``1/2 E[(<w, x> - f*(x))^2] = 1/2 [E f*^2 - 2 <w, Xf> + w^T Sigma w]`` of a linear predictor.

    Give either ``v_rho`` (isotropic inputs, ``Sigma = v_rho I``: ``1/2 [E f*^2 - 2 <w, Xf> + v_rho ||w||^2]``, the
    spec's ``F(mu_t)``) or ``Sigma``.

    Parameters
    ----------
    w : (d,) or (T, d) array_like
        Linear predictor(s), e.g. the output of :func:`odd_target_flow`.
    Ef2 : float
        ``E f*^2 >= 0``.
    Xf : (d,) array_like
        ``E[f* x]``.
    v_rho : float, optional
        Input variance, ``> 0``.
    Sigma : (d, d) array_like, keyword, optional
        Input covariance (symmetric positive semi-definite).

    Returns
    -------
    float or (T,) numpy.ndarray

    Examples
    --------
    >>> population_loss_linear([0.0, 0.0], 2.0, [0.1, 0.2], 0.05)
    1.0
    >>> import numpy as np
    >>> population_loss_linear(np.zeros((3, 2)), 2.0, [0.1, 0.2], Sigma=np.eye(2)).shape
    (3,)
    """
    ndim = np.ndim(w)
    if ndim not in (1, 2):
        raise ValueError(f"w must be a (d,) or (T, d) array; got shape {np.shape(w)}")
    w2 = as_array("w", w, ndim)
    d = w2.shape[-1]
    Ef2 = positive_float("Ef2", Ef2, allow_zero=True)
    Xf = _vector("Xf", Xf, d)
    if (v_rho is None) == (Sigma is None):
        raise ValueError(
            f"give exactly one of v_rho (isotropic inputs) and Sigma (a (d, d) covariance); got v_rho={v_rho!r}, "
            f"Sigma={'None' if Sigma is None else np.shape(Sigma)}"
        )
    if Sigma is None:
        quad = positive_float("v_rho", v_rho) * np.sum(w2 * w2, axis=-1)
    else:
        S = _covariance("Sigma", Sigma, d)
        quad = np.einsum("...i,ij,...j->...", w2, S, w2)
    loss = 0.5 * (Ef2 - 2.0 * (w2 @ Xf) + quad)
    return float(loss) if w2.ndim == 1 else loss


def best_linear_floor(Ef2, w_star, v_rho) -> float:
    """``1/2 (E f*^2 - v_rho ||w*||^2)``: the population risk of the best linear predictor (isotropic inputs).

    It is the limit of the odd-target flow's loss; it must be ``>= 0`` (Cauchy-Schwarz: ``E f*^2 >= Xf^T
    Sigma^{-1} Xf``), and a negative value beyond rounding means inconsistent moments and raises.

    Parameters
    ----------
    Ef2 : float
        ``E f*^2 >= 0``.
    w_star : (d,) array_like
        ``w* = Xf / v_rho``.
    v_rho : float
        Input variance, ``> 0``.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> round(best_linear_floor(2.0, np.full(20, (6 / 5) ** 0.5), 1 / 20), 12)  # the d = 20 cubic target
    0.4
    """
    Ef2 = positive_float("Ef2", Ef2, allow_zero=True)
    w_star = _vector("w_star", w_star)
    v = positive_float("v_rho", v_rho)
    explained = v * float(w_star @ w_star)
    floor = 0.5 * (Ef2 - explained)
    if floor < -1e-12 * max(Ef2, explained, 1e-300):
        raise ValueError(
            f"Ef2 = {Ef2!r} is smaller than v_rho ||w*||^2 = {explained!r}: no distribution has these moments "
            "(E f*^2 >= Xf^T Sigma^-1 Xf); check Ef2, w_star and v_rho"
        )
    return max(floor, 0.0)


# --------------------------------------------------------------------------------------------
# the cubic odd target (spec C3)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CubicTarget:
    """``f*(x) = C sum_k z_k x_k^3`` on ``x ~ N(0, I/d)``, with its closed-form moments (see :func:`cubic_target`).

    Attributes
    ----------
    z : (d,) numpy.ndarray
        Direction ``z*``.
    C : float
        ``C_d = sqrt(2 d^3 / 15) / ||z*||``.
    v_rho : float
        Input variance ``1/d``.
    Ef2 : float
        ``E f*^2 = 2``.
    Xf : (d,) numpy.ndarray
        ``E[f* x] = 3 C z / d^2``.
    w_star : (d,) numpy.ndarray
        ``Xf / v_rho = sqrt(6 d / 5) z / ||z||``.
    floor : float
        ``1/2 (E f*^2 - v_rho ||w*||^2) = 2/5``.
    """

    z: np.ndarray
    C: float
    v_rho: float
    Ef2: float
    Xf: np.ndarray
    w_star: np.ndarray
    floor: float

    @property
    def d(self) -> int:
        return int(self.z.shape[0])

    def __call__(self, X) -> np.ndarray:
        """``f*(X)`` for ``X`` of shape ``(n, d)``."""
        X = as_matrix("X", X, cols=self.d)
        return self.C * ((X**3) @ self.z)


def cubic_target(d, seed) -> CubicTarget:
    """The odd cubic target of the reference code (spec C3) and its moments in closed form.

    ``z* ~ N(0, I/d)``, ``f*(x) = C_d sum_k z*_k x_k^3`` with ``C_d = sqrt(2 d^3 / 15) / ||z*||``, inputs
    ``x ~ N(0, I/d)`` (``v_rho = 1/d``). With ``E x_k^4 = 3/d^2`` and ``E x_k^6 = 15/d^3`` (odd moments vanish and the
    coordinates are independent): ``E f*^2 = C_d^2 ||z*||^2 15/d^3 = 2`` (so ``1/2 E f*^2 = 1``),
    ``Xf = E[f* x] = 3 C_d z* / d^2``, ``w* = d Xf = sqrt(6 d / 5) z*/||z*||`` (``||w*|| = sqrt(24)`` at ``d = 20``)
    and the floor ``1/2 (2 - (1/d) 6d/5) = 2/5`` for every ``d`` (all as in the spec).

    Parameters
    ----------
    d : int
        Input dimension.
    seed : int or numpy.random.Generator
        Seed for ``z*``.

    Returns
    -------
    CubicTarget

    Examples
    --------
    >>> import numpy as np
    >>> ct = cubic_target(20, seed=0)
    >>> ct.Ef2, round(ct.floor, 12), bool(np.isclose(np.linalg.norm(ct.w_star), 24**0.5))
    (2.0, 0.4, True)
    """
    d = positive_int("d", d)
    z = rng(seed).normal(0.0, 1.0 / np.sqrt(d), size=d)
    zn = float(np.linalg.norm(z))
    C = float(np.sqrt(2.0 * d**3 / 15.0)) / zn
    v = 1.0 / d
    Ef2 = 2.0  # C^2 ||z||^2 E x^6 = (2 d^3 / 15) (15 / d^3)
    Xf = 3.0 * C * z / d**2
    w_star = Xf / v
    floor = 0.5 * (Ef2 - v * float(w_star @ w_star))
    return CubicTarget(z=z, C=C, v_rho=v, Ef2=float(Ef2), Xf=Xf, w_star=w_star, floor=floor)
