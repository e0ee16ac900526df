"""Mean-field two-layer ReLU nets on the radial target ``f*(x) = ||P_H x||``: the reduced one-dimensional solver.

Reference: K. Hajjar and L. Chizat, "On the symmetries in the dynamics of wide two-layer neural networks",
Electronic Research Archive 31(4), 2023, arXiv:2211.08771 (spec ``integrable_and_meanfield.md`` C1 "Radial case:
1-D reduction", C2 item 3, C3 "1-D reduced PDE", C5 "1-D solver").

Conventions
-----------
* Net ``f(x) = (1/m) sum_j a_j relu(<b_j, x>)``; target ``f*(x) = ||x_H||`` with ``H`` the first ``d_H`` coordinates
  and ``d_perp = d - d_H >= 1``.
* Inputs ``x`` uniform on the sphere of radius ``sqrt(d)`` in ``R^d`` (so ``E ||x||^2 = d``, as for ``N(0, I_d)``).
* Time: the particle SGD this models has learning rate ``m * eta`` on ``1/2 mean (f - y)^2`` and time
  ``t = eta * step``; in the limit it is the Wasserstein gradient flow ``a' = E[(f* - f) relu(<b, x>)]``,
  ``b' = a E[(f* - f) 1{<b, x> > 0} x]``. The solver is the Euler scheme of the 1-D system below with step ``eta``.
* ``loss`` is the population risk ``1/2 E (f* - f)^2`` in these full units.

The 1-D reduction (derived here; it is the spec's C1)
-----------------------------------------------------
Both flows conserve ``a^2 - ||b||^2``; a *balanced* particle (``|a| = ||b||``, e.g. ``a = +-1``, ``||b|| = 1``) stays
balanced. Write ``b = ||b|| u`` with ``u`` a unit vector and ``G(u) = E[(f* - f)(x) relu(<u, x>)]``. ReLU is
1-homogeneous, so ``a' = ||b|| G(u)``, ``||b||' = a G(u)`` and, with ``c = a ||b||`` and ``a^2 = ||b||^2``,
``c' = 2 a^2 G = 2 eps c G`` where ``eps = sign(a)``; the direction moves by ``u' = (a / ||b||) grad_sphere G(u)
= eps grad_sphere G(u)``. When the measure is invariant under the rotations of ``H`` and of ``H^perp`` (as the
target and the law of ``x`` are), ``G`` depends on ``u`` only through the angle ``theta in [0, pi/2]`` between
``u`` and ``H``, and ``theta' = eps G'(theta)``.

To evaluate ``G`` write ``x = sqrt(d) x~`` with ``x~`` uniform on the unit sphere, ``cos(omega) = ||x~_H||``, and
``u = cos(theta) e_H + sin(theta) e_perp`` with ``e_H``, ``e_perp`` uniform unit vectors of ``H``, ``H^perp``. Then
``<u, x> = sqrt(d) (cos(theta) cos(omega) r + sin(theta) sin(omega) s)`` where ``r`` (``s``) is the first
coordinate of a uniform unit vector of ``R^{d_H}`` (``R^{d_perp}``). With
``psi(r, s; theta, omega) = relu(cos(theta) cos(omega) r + sin(theta) sin(omega) s)`` and ``psi_bar = E_{r,s} psi``,
homogeneity gives ``f* = sqrt(d) cos(omega)`` and ``f = sqrt(d) f~`` with
``f~(omega) = (1/m) sum_j c_j psi_bar(theta_j; omega)``, so::

    G_t(theta) = E_x[(f* - f_t)(x) psi_bar(theta; x)] = d * E_omega[(cos(omega) - f~_t(omega)) psi_bar(theta; omega)],
    G_t'(theta) = d * E[(cos(omega) - f~_t(omega)) chi],  chi = d psi / d theta
                = 1{arg > 0} (-sin(theta) cos(omega) r + cos(theta) sin(omega) s).

This is where the spec's factor ``d`` in ``G^ = (d / N_b) Psi R`` comes from, and
``1/2 E (f* - f)^2 = (d/2) E (cos(omega) - f~)^2``. The target is reached by ``tau^+ = alpha delta_0``,
``tau^- = 0`` with :func:`alpha` ``= 2 sqrt(pi) Gamma((d_H+1)/2) / Gamma(d_H/2)``: ``psi_bar(0; omega) =
cos(omega) E relu(r) = cos(omega) / alpha``. Here ``tau^+-`` are the ``|c|``-weighted angle distributions of the
``eps = +-1`` particles (:func:`tau_masses`, :func:`weighted_histograms`, :func:`distance_to_alpha_delta`).

Monte-Carlo scheme (spec C2 item 3)
-----------------------------------
Every step draws ``N_b`` samples ``(omega_i, r_i, s_i, r'_i, s'_i)``, forms the residual
``R_i = cos(omega_i) - (1/m) sum_j c_j psi(r'_i, s'_i; theta_j, omega_i)``, the estimates
``G^_j = (d/N_b) sum_i psi(r_i, s_i; theta_j, omega_i) R_i`` and ``V^_j = (d/N_b) sum_i chi(...) R_i``, and updates
``c <- (1 + 2 eta eps G^) c``, ``theta <- theta + eta eps V^``. Given ``omega_i`` the predictor's samples
``(r', s')`` are independent of the features' ``(r, s)``, so ``E[psi R | omega] = psi_bar (cos(omega) - f~)``: both
estimates are unbiased. (The predictor uses one ``(r'_i, s'_i)`` per sample shared by all particles, as the
reference code does; that is unbiased too, only noisier than one draw per particle.)

Sampling is exact in every dimension, ``d_H = 1`` or ``d_perp = 1`` included (where the Beta laws degenerate to
``+-1``): for ``g ~ N(0, I_d)``, ``cos(omega) = ||g_H|| / ||g||``, ``r = g_1 / ||g_H||`` and
``s = g_{d_H+1} / ||g_perp||``; the directions of the independent Gaussian blocks ``g_H``, ``g_perp`` are uniform and
independent of the norms, so ``omega``, ``r`` and ``s`` are independent with the right laws. ``(r', s')`` come from a
second Gaussian vector.

**Folding.** After each step ``theta`` is folded back into ``[0, pi/2]`` (``theta -> arccos |cos theta|``). This is
exact: ``r`` and ``s`` have symmetric laws, so ``psi_bar`` (hence ``G``, and the law of every Monte-Carlo estimate)
is even in ``theta`` about 0 (``s -> -s``) and about ``pi/2`` (``r -> -r``), and ``G'`` is odd about both. The
extended dynamics on the real line is therefore ``pi``-periodic and symmetric, and a particle at ``-theta`` or
``pi - theta`` is the same neuron as one at ``theta`` (its direction ``b`` is only defined up to those reflections
of ``H`` and ``H^perp``).

**Loss.** ``loss`` at each record is the unbiased estimate ``(d/2) mean_i(R1_i R2_i)`` on ``n_loss`` fresh samples
of ``omega``, with two independent residuals ``R1``, ``R2`` for the same ``omega_i`` (``E[R1 R2 | omega] =
(cos omega - f~)^2``). The plain ``(d/2) mean R^2`` would be biased upward by the Monte-Carlo variance of the
predictor, which does not shrink with ``m``: one ``(r', s')`` shared by all particles gives a predictor sample of
spread ``O(|f~|)``. To cut the variance each residual averages the predictor over ``loss_draws`` independent shared
draws. Being unbiased, the estimate can be slightly negative when the loss is below its sampling noise.

**Measured (spec C3 setting**: ``d = 30``, ``d_H = 5``, ``m = 1024``, ``N_b = 1000``, ``eta = 5e-3``, ``2e4`` steps,
:func:`initial_state`; about 230 s on one CPU core). ``tau^+`` grows from 0.50 to 5.50 by ``t = 5`` and then stays at
5.46-5.51 to ``t = 100`` (2-3% above ``alpha = 5.333``); ``tau^-`` falls from 0.50 to 0.052 at ``t = 5`` and then
*grows* again to 0.15-0.17 at ``t = 100``, all of it near ``theta = pi/2``; the mean angle of ``tau^+`` drops from
1.17 to 0.18-0.22 rad and the loss from 2.5 to below 3e-4 (compatible with 0). Seeds 0 and 1 agree, so does
``N_b = 4000`` (``tau^- = 0.177`` at ``t = 100``), and continuing seed 0 to ``t = 400`` leaves ``tau^+ = 5.52-5.59``,
``tau^- = 0.17-0.18``, mean angle 0.15-0.17. So the spec's [derived] expectation ``tau^+ -> alpha delta_0``,
``tau^- -> 0`` is only roughly met on this horizon: ``tau^+`` concentrates near 0 with a mass near ``alpha``, but a
``tau^-`` of about 3% of the ``tau^+`` mass persists at ``pi/2``, where it cancels the ``sin(omega)`` part of the
not yet aligned ``tau^+``.

Assumptions: balanced particles and a measure invariant under the rotations of ``H`` and ``H^perp`` (what the 1-D
variables *represent*; a finite set of full particles is only invariant in distribution, see :func:`from_particles`).

Examples
--------
>>> import numpy as np
>>> theta, c, eps = initial_state(0, m=64, d=10, d_H=2)
>>> run = solve(theta, c, eps, d=10, d_H=2, eta=0.01, t=[0.0, 1.0], n_mc=200, key=1)
>>> run.theta.shape, run.c.shape, run.loss.shape
((2, 64), (2, 64), (2,))
>>> bool(run.loss[1] < run.loss[0])
True
>>> round(alpha(5), 3)
5.333
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

from learndyn import _checks

__all__ = [
    "RadialRun",
    "G_estimate",
    "alpha",
    "distance_to_alpha_delta",
    "from_particles",
    "initial_state",
    "predict",
    "solve",
    "tau_masses",
    "weighted_histograms",
]

_HALF_PI = 0.5 * np.pi
_CHUNK = 2**22  # entries of one (samples x particles) block in the chunked estimators


# --------------------------------------------------------------------------------------------------------------
# validation


def _dims(d, d_H) -> tuple[int, int, int]:
    d = _checks.positive_int("d", d)
    d_H = _checks.positive_int("d_H", d_H)
    if d < 2 or d_H >= d:
        raise ValueError(f"d_H must be in 1..d-1 = 1..{d - 1} (H^perp must not be empty); got d_H = {d_H}, d = {d}")
    return d, d_H, d - d_H


def _key(key):
    """An int seed or a JAX key -> a typed JAX key."""
    if isinstance(key, numbers.Integral) and not isinstance(key, bool):
        if key < 0:
            raise ValueError(f"key must be a non-negative integer seed or a jax.random key; got {key!r}")
        return jax.random.key(int(key))
    if isinstance(key, jax.Array):
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) and key.shape == ():
            return key
        if key.dtype == jnp.uint32 and key.shape == (2,):
            return jax.random.wrap_key_data(key)
    raise TypeError(f"key must be a non-negative integer seed or a single jax.random key; got {key!r:.80}")


def _angles(name: str, value, ndim: int | None = None):
    arr = np.asarray(value, dtype=np.float64) if not isinstance(value, jax.core.Tracer) else value
    if ndim is not None:
        arr = _checks.as_array(name, arr, ndim)
    else:
        _checks.finite(name, arr)
    lo, hi = float(np.min(arr)), float(np.max(arr))
    if lo < -1e-12 or hi > _HALF_PI + 1e-12:
        raise ValueError(f"{name} must lie in [0, pi/2] (angles to H); got values in [{lo:.6g}, {hi:.6g}]")
    return np.clip(arr, 0.0, _HALF_PI)


def _eps(name: str, value, m: int) -> np.ndarray:
    e = _checks.as_array(name, value, 1)
    if e.shape != (m,):
        raise ValueError(f"{name} must have shape ({m},) (one sign per particle); got {e.shape}")
    bad = ~np.isin(e, (-1.0, 1.0))
    if bad.any():
        raise ValueError(f"{name} must hold only +1 and -1 (the signs of a_j); got {float(e[bad][0])!r} at index "
                         f"{int(np.argmax(bad))}")  # fmt: skip
    return e


def _state(theta, c, eps, *, lead_ok: bool = False):
    """Validate a 1-D state ``theta (m,)``, ``c (m,)``, ``eps (m,)`` (or ``theta``, ``c`` of shape ``(T, m)`` with
    ``lead_ok``); check ``eps * c >= 0`` (``c = eps ||b||^2``)."""
    c = np.asarray(c, dtype=np.float64)
    ndim = c.ndim if (lead_ok and c.ndim == 2) else 1
    c = _checks.as_array("c", c, ndim)
    theta = _angles("theta", theta, ndim)
    if theta.shape != c.shape:
        raise ValueError(f"theta and c must have the same shape (one angle and mass per particle); got "
                         f"{theta.shape} and {c.shape}")  # fmt: skip
    eps = _eps("eps", eps, c.shape[-1])
    wrong = eps * c < 0
    if wrong.any():
        j = int(np.argwhere(wrong)[0][-1])
        raise ValueError(
            f"c and eps disagree in sign at particle {j} (c = {c[..., j].ravel()[0]:.6g}, eps = {eps[j]:g}); "
            "balanced particles have c = eps ||b||^2, so sign(c) = eps where c != 0"
        )
    return theta, c, eps


# --------------------------------------------------------------------------------------------------------------
# the constant alpha and the 1-D variables of full particles


def alpha(d_H) -> float:
    """The mass ``alpha = 2 sqrt(pi) Gamma((d_H+1)/2) / Gamma(d_H/2)`` of the target measure ``alpha delta_0``.

    It is the ``alpha`` with ``alpha E_{u ~ Unif(S^{d_H-1})}[relu(u_1)] = 1``, so ``(alpha / m') sum relu(<u, x>)``
    over ``u`` spread uniformly in ``H`` gives ``||x_H||``.

    Parameters
    ----------
    d_H : int
        Dimension of ``H`` (``>= 1``).

    Returns
    -------
    float
        ``alpha``; grows like ``sqrt(2 pi d_H)`` (computed with ``gammaln``, finite for any ``d_H``).

    Examples
    --------
    >>> round(alpha(1), 12), round(alpha(2), 12) == round(float(np.pi), 12), round(alpha(5), 4)
    (2.0, True, 5.3333)
    """
    d_H = _checks.positive_int("d_H", d_H)
    return float(2.0 * np.sqrt(np.pi) * np.exp(special.gammaln(0.5 * (d_H + 1)) - special.gammaln(0.5 * d_H)))


def from_particles(a, b, d_H, *, tol: float = 1e-6):
    """The 1-D variables ``(theta, c, eps)`` of full, balanced particles.

    ``theta_j = arctan2(||P_perp b_j||, ||P_H b_j||)`` (the angle between ``b_j`` and ``H``), ``c_j = a_j ||b_j||``,
    ``eps_j = sign(a_j)`` (``+1`` for ``a_j = 0``, whose ``c_j = 0``).

    Parameters
    ----------
    a : (m,) array_like
        Output weights.
    b : (m, d) array_like
        Input weights; ``H`` is the first ``d_H`` coordinates.
    d_H : int
        ``1 <= d_H <= d - 1``.
    tol : float, keyword
        Largest accepted ``max_j | |a_j| - ||b_j|| | / max_j max(|a_j|, ||b_j||)``.

    Returns
    -------
    theta, c, eps : (m,) numpy.ndarray

    Raises
    ------
    ValueError
        When the particles are not balanced (the measured relative imbalance is in the message), or for bad shapes
        or ``d_H``.

    The 1-D system describes these particles only through the invariant measure they sample: a finite set of full
    particles is invariant under rotations of ``H`` and ``H^perp`` in distribution only.

    Examples
    --------
    >>> theta, c, eps = from_particles([1.0, -2.0], [[0.6, 0.0, 0.8], [0.0, 2.0, 0.0]], d_H=2)
    >>> np.round(theta, 6).tolist(), c.tolist(), eps.tolist()
    ([0.927295, 0.0], [1.0, -4.0], [1.0, -1.0])
    """
    a = _checks.as_array("a", a, 1)
    b = _checks.as_matrix("b", b, rows=a.shape[0])
    _, d_H, _ = _dims(b.shape[1], d_H)
    tol = _checks.positive_float("tol", tol)
    nb = np.linalg.norm(b, axis=1)
    scale = max(float(np.max(np.maximum(np.abs(a), nb))), 1e-300)
    gap = float(np.max(np.abs(np.abs(a) - nb))) / scale
    if gap > tol:
        j = int(np.argmax(np.abs(np.abs(a) - nb)))
        raise ValueError(
            f"the particles are not balanced: max | |a_j| - ||b_j|| | / max size = {gap:.3g} > tol = {tol:g} "
            f"(worst j = {j}: |a| = {abs(a[j]):.6g}, ||b|| = {nb[j]:.6g}); the 1-D reduction needs |a_j| = ||b_j||"
        )
    theta = np.arctan2(np.linalg.norm(b[:, d_H:], axis=1), np.linalg.norm(b[:, :d_H], axis=1))
    return theta, a * nb, np.where(a < 0, -1.0, 1.0)


def initial_state(key, m, d, d_H):
    """The spec's initialisation ``a_j ~ Unif{+-1}``, ``b_j ~ Unif(S^{d-1})`` in 1-D variables.

    Parameters
    ----------
    key : int or jax key
    m : int
        Number of particles.
    d, d_H : int
        Input dimension and ``dim H`` (``1 <= d_H <= d - 1``).

    Returns
    -------
    theta, c, eps : (m,) numpy.ndarray
        ``c = eps`` (unit masses) and ``cos^2 theta ~ Beta(d_H/2, d_perp/2)``.

    Examples
    --------
    >>> theta, c, eps = initial_state(0, 5, d=30, d_H=5)
    >>> theta.shape, bool(np.allclose(c, eps, rtol=0, atol=1e-15)), bool(np.all((theta >= 0) & (theta <= np.pi / 2)))
    ((5,), True, True)
    """
    m = _checks.positive_int("m", m)
    d, d_H, _ = _dims(d, d_H)
    k1, k2 = jax.random.split(_key(key))
    a = np.asarray(jax.random.rademacher(k1, (m,), dtype=jnp.float64))
    g = np.asarray(jax.random.normal(k2, (m, d), dtype=jnp.float64))
    return from_particles(a, g / np.linalg.norm(g, axis=1, keepdims=True), d_H)


# --------------------------------------------------------------------------------------------------------------
# the Monte-Carlo primitives (JAX)


def _sample(key, n: int, d_H: int, d_perp: int):
    """``cos(omega), sin(omega), r, s`` for ``n`` samples, exact in every dimension (see the module)."""
    g = jax.random.normal(key, (n, d_H + d_perp), dtype=jnp.float64)
    nH = jnp.linalg.norm(g[:, :d_H], axis=1)
    nP = jnp.linalg.norm(g[:, d_H:], axis=1)
    nn = jnp.sqrt(nH**2 + nP**2)
    tiny = jnp.finfo(jnp.float64).tiny
    return nH / nn, nP / nn, g[:, 0] / jnp.maximum(nH, tiny), g[:, d_H] / jnp.maximum(nP, tiny)


def _arg(A, B, theta):
    """``(n, k)``: ``A_i cos(theta_j) + B_i sin(theta_j)`` with ``A = cos(omega) r``, ``B = sin(omega) s``."""
    return A[:, None] * jnp.cos(theta)[None, :] + B[:, None] * jnp.sin(theta)[None, :]


def _residual(key, cw, sw, theta, c, d_H, d_perp):
    """``cos(omega_i) - f~`` with one fresh predictor draw ``(r', s')`` per sample."""
    _, _, r, s = _sample(key, cw.shape[0], d_H, d_perp)
    return cw - jax.nn.relu(_arg(cw * r, sw * s, theta)) @ c / c.shape[0]


def _features(cw, sw, r, s, theta):
    """``psi`` and ``chi`` at the samples, ``(n, k)`` each."""
    A, B = cw * r, sw * s
    z = _arg(A, B, theta)
    on = z > 0
    dz = -A[:, None] * jnp.sin(theta)[None, :] + B[:, None] * jnp.cos(theta)[None, :]
    return jnp.where(on, z, 0.0), jnp.where(on, dz, 0.0)


def _fold(theta):
    """Reflect into ``[0, pi/2]``: ``arccos |cos theta|`` (exact by the evenness of ``psi_bar``; see the module)."""
    return jnp.abs(jnp.mod(theta + _HALF_PI, jnp.pi) - _HALF_PI)


def _mean_residual(key, cw, sw, theta, c, d_H, d_perp, draws: int):
    """:func:`_residual` averaged over ``draws`` independent shared predictor draws (still unbiased)."""
    if draws == 1:
        return _residual(key, cw, sw, theta, c, d_H, d_perp)
    add = lambda i, acc: acc + _residual(jax.random.fold_in(key, i), cw, sw, theta, c, d_H, d_perp)
    return jax.lax.fori_loop(0, draws, add, jnp.zeros_like(cw)) / draws


def _step(theta, c, eps, key, eta, d, *, n, d_H, d_perp, draws=1):
    k1, k2 = jax.random.split(key)
    cw, sw, r, s = _sample(k1, n, d_H, d_perp)
    R = _mean_residual(k2, cw, sw, theta, c, d_H, d_perp, draws)
    psi, chi = _features(cw, sw, r, s, theta)
    G = (d / n) * (psi.T @ R)
    V = (d / n) * (chi.T @ R)
    return _fold(theta + eta * eps * V), (1.0 + 2.0 * eta * eps * G) * c


def _loss(theta, c, key, d, *, n, draws, d_H, d_perp):
    """Unbiased ``(d/2) mean(R1 R2)``; each ``R`` averages the predictor over ``draws`` shared ``(r', s')`` draws."""
    k1, k2, k3 = jax.random.split(key, 3)
    cw, sw, _, _ = _sample(k1, n, d_H, d_perp)
    R2, R3 = (_mean_residual(k, cw, sw, theta, c, d_H, d_perp, draws) for k in (k2, k3))
    return 0.5 * d * jnp.mean(R2 * R3)


@partial(jax.jit, static_argnames=("n", "n_loss", "draws", "step_draws", "d_H", "d_perp"))
def _run(theta, c, eps, key, steps, eta, d, *, n, n_loss, draws, step_draws, d_H, d_perp):
    k_dyn, k_loss = jax.random.split(key)
    step = partial(_step, n=n, d_H=d_H, d_perp=d_perp, draws=step_draws)

    def record(carry, item):
        i, k_end = item

        def body(loop):
            theta, c, k, bad = loop
            th_new, c_new = step(theta, c, eps, jax.random.fold_in(k_dyn, k), eta, d)
            ok = jnp.all(jnp.isfinite(th_new)) & jnp.all(jnp.isfinite(c_new))
            return (jnp.where(ok, th_new, theta), jnp.where(ok, c_new, c), k + 1, jnp.where(ok, bad, k + 1))

        theta, c, k, bad = jax.lax.while_loop(lambda lp: (lp[2] < k_end) & (lp[3] < 0), body, carry)
        loss = _loss(theta, c, jax.random.fold_in(k_loss, i), d, n=n_loss, draws=draws, d_H=d_H, d_perp=d_perp)
        return (theta, c, k, bad), (theta, c, loss)

    init = (theta, c, jnp.asarray(0, jnp.int64), jnp.asarray(-1, jnp.int64))
    (_, _, _, bad), (th, cc, loss) = jax.lax.scan(record, init, (jnp.arange(steps.shape[0]), steps))
    return th, cc, loss, bad


@partial(jax.jit, static_argnames=("n", "d_H", "d_perp"))
def _G_chunk(theta_eval, theta, c, key, d, *, n, d_H, d_perp):
    k1, k2 = jax.random.split(key)
    cw, sw, r, s = _sample(k1, n, d_H, d_perp)
    R = _residual(k2, cw, sw, theta, c, d_H, d_perp)
    psi, chi = _features(cw, sw, r, s, theta_eval)
    gi, vi = d * psi * R[:, None], d * chi * R[:, None]
    return gi.sum(0), vi.sum(0), (gi * gi).sum(0), (vi * vi).sum(0)


@partial(jax.jit, static_argnames=("n", "d_H", "d_perp"))
def _predict_chunk(theta, c, cos_omega, key, *, n, d_H, d_perp):
    _, _, r, s = _sample(key, n, d_H, d_perp)

    def one(cw):
        sw = jnp.sqrt(jnp.maximum(1.0 - cw**2, 0.0))
        return jnp.sum(jax.nn.relu(_arg(cw * r, sw * s, theta)) @ c)

    return jax.lax.map(one, cos_omega) / c.shape[0]


def _chunks(n_total: int, width: int):
    size = max(1, min(n_total, _CHUNK // max(width, 1)))
    full, rest = divmod(n_total, size)
    return [size] * full + ([rest] if rest else [])


# --------------------------------------------------------------------------------------------------------------
# public estimators


def G_estimate(theta_eval, theta, c, *, d, d_H, n_mc: int = 100_000, key=0, stderr: bool = False):
    """Monte-Carlo estimates of ``G_t(theta)`` and ``G_t'(theta)`` for the particle state ``(theta, c)``.

    ``G_t(theta) = d E[(cos omega - f~_t(omega)) psi_bar(theta; omega)]`` and its derivative, estimated exactly as
    one step of :func:`solve` does (independent predictor samples, so unbiased), on ``n_mc`` samples (in chunks, so
    memory stays bounded).

    Parameters
    ----------
    theta_eval : array_like
        Angles in ``[0, pi/2]`` at which to evaluate (any shape).
    theta, c : (m,) array_like
        The particles' angles in ``[0, pi/2]`` and masses ``c_j = a_j ||b_j||``.
    d, d_H : int, keyword
        Input dimension and ``dim H``.
    n_mc : int, keyword
        Number of Monte-Carlo samples.
    key : int or jax key, keyword
    stderr : bool, keyword
        Also return the standard errors of both estimates (from the per-sample spread).

    Returns
    -------
    G, dG : numpy.ndarray, shape of ``theta_eval``
        (and ``se_G``, ``se_dG`` with ``stderr``).

    Examples
    --------
    >>> G, dG, se_G, se_dG = G_estimate([0.0, 0.7], [0.3], [1.0], d=6, d_H=3, n_mc=20_000, key=0, stderr=True)
    >>> G.shape, bool(np.all(G > 0))  # one small particle: f~ < cos(omega), so G > 0
    ((2,), True)
    >>> bool(abs(dG[0]) < 4 * se_dG[0])  # G' = 0 at theta = 0 (G is even there), up to Monte-Carlo error
    True
    """
    d, d_H, d_perp = _dims(d, d_H)
    te = _angles("theta_eval", theta_eval)
    shape = te.shape
    te = te.reshape(-1)
    if te.size == 0:
        raise ValueError("theta_eval must hold at least one angle")
    theta = _angles("theta", theta, 1)
    c = _checks.as_array("c", c, 1)
    if c.shape != theta.shape:
        raise ValueError(f"theta and c must have the same shape; got {theta.shape} and {c.shape}")
    n_mc = _checks.positive_int("n_mc", n_mc)
    key = _key(key)
    sums = [0.0, 0.0, 0.0, 0.0]
    for i, n in enumerate(_chunks(n_mc, te.size + c.size)):
        part = _G_chunk(jnp.asarray(te), jnp.asarray(theta), jnp.asarray(c), jax.random.fold_in(key, i), float(d),
                        n=n, d_H=d_H, d_perp=d_perp)  # fmt: skip
        sums = [s + np.asarray(p) for s, p in zip(sums, part, strict=True)]
    G, dG = sums[0] / n_mc, sums[1] / n_mc
    if not stderr:
        return G.reshape(shape), dG.reshape(shape)
    denom = max(n_mc - 1, 1)
    seG = np.sqrt(np.maximum(sums[2] / n_mc - G**2, 0.0) * n_mc / denom / n_mc)
    seV = np.sqrt(np.maximum(sums[3] / n_mc - dG**2, 0.0) * n_mc / denom / n_mc)
    return G.reshape(shape), dG.reshape(shape), seG.reshape(shape), seV.reshape(shape)


def predict(theta, c, cos_omega, *, d, d_H, n_mc: int = 100_000, key=0):
    """The invariant predictor ``f(x) = sqrt(d) (1/m) sum_j c_j psi_bar(theta_j; omega)`` at inputs of norm
    ``sqrt(d)`` with ``cos(omega) = ||x_H|| / ||x||`` (where ``f*(x) = sqrt(d) cos(omega)``).

    ``psi_bar`` is estimated on ``n_mc`` samples of ``(r, s)``, shared by all ``cos_omega`` (common random numbers).

    Parameters
    ----------
    theta, c : (m,) array_like
        Angles in ``[0, pi/2]`` and masses.
    cos_omega : array_like
        Values in ``[0, 1]`` (any shape).
    d, d_H : int, keyword
    n_mc : int, keyword
    key : int or jax key, keyword

    Returns
    -------
    numpy.ndarray, shape of ``cos_omega``

    Examples
    --------
    >>> f = predict([0.0], [alpha(3)], [0.2, 0.9], d=6, d_H=3, n_mc=50_000, key=0)  # alpha delta_0: f = f*
    >>> bool(np.allclose(f, np.sqrt(6) * np.array([0.2, 0.9]), rtol=0.02))
    True
    """
    d, d_H, d_perp = _dims(d, d_H)
    theta = _angles("theta", theta, 1)
    c = _checks.as_array("c", c, 1)
    if c.shape != theta.shape:
        raise ValueError(f"theta and c must have the same shape; got {theta.shape} and {c.shape}")
    cw = np.asarray(cos_omega, dtype=np.float64)
    _checks.finite("cos_omega", cw)
    if cw.size == 0 or cw.min() < 0 or cw.max() > 1:
        raise ValueError(f"cos_omega must be a non-empty array of values in [0, 1]; got {cos_omega!r:.80}")
    n_mc = _checks.positive_int("n_mc", n_mc)
    key = _key(key)
    total = np.zeros(cw.size)
    for i, n in enumerate(_chunks(n_mc, c.size)):
        total += np.asarray(_predict_chunk(jnp.asarray(theta), jnp.asarray(c), jnp.asarray(cw.reshape(-1)),
                                           jax.random.fold_in(key, i), n=n, d_H=d_H, d_perp=d_perp))  # fmt: skip
    return (np.sqrt(d) * total / n_mc).reshape(cw.shape)


# --------------------------------------------------------------------------------------------------------------
# the solver


@dataclass(frozen=True, eq=False)
class RadialRun:
    """A run of the 1-D solver.

    Attributes
    ----------
    t : (T,) numpy.ndarray
        Record times ``eta * steps``.
    steps : (T,) numpy.ndarray
        Record steps ``round(t / eta)``.
    theta, c : (T, m) numpy.ndarray
        Angles and masses at the records.
    eps : (m,) numpy.ndarray
        The (constant) signs.
    loss : (T,) numpy.ndarray
        Unbiased Monte-Carlo estimate of ``1/2 E (f* - f)^2`` (full units) at the records, on ``n_loss`` samples
        of ``omega`` and ``loss_draws`` predictor draws each (see the module).
    d, d_H, eta, n_mc, n_loss, loss_draws, predictor_draws
        The settings.
    """

    t: np.ndarray
    steps: np.ndarray
    theta: np.ndarray
    c: np.ndarray
    eps: np.ndarray
    loss: np.ndarray
    d: int
    d_H: int
    eta: float
    n_mc: int
    n_loss: int
    loss_draws: int
    predictor_draws: int = 1


def solve(
    theta0, c0, eps, *, d, d_H, eta, t, n_mc: int = 1000, key=0, n_loss: int | None = None, loss_draws: int = 16,
    predictor_draws: int = 1,
) -> RadialRun:  # fmt: skip
    """Run the reduced 1-D Monte-Carlo solver (spec C2 item 3) and record the state at times ``t``.

    Each step draws ``n_mc`` fresh samples and applies ``c <- (1 + 2 eta eps G^) c``,
    ``theta <- fold(theta + eta eps V^)`` (see the module). One jit-compiled ``lax.scan`` over the records, with a
    ``while_loop`` of steps in between; only the records are stored. The step keys are ``fold_in(key, step)``, so the
    trajectory does not depend on which times are recorded.

    Parameters
    ----------
    theta0 : (m,) array_like
        Initial angles in ``[0, pi/2]``.
    c0 : (m,) array_like
        Initial masses ``c_j = a_j ||b_j||`` (``sign(c_j) = eps_j`` where non-zero).
    eps : (m,) array_like
        Signs ``+-1`` of the output weights.
    d, d_H : int, keyword
        Input dimension and ``dim H`` (``1 <= d_H <= d - 1``).
    eta : float, keyword
        Step (gradient-flow time per step; particle SGD with learning rate ``m eta``).
    t : array_like, keyword
        Non-decreasing record times ``>= 0``, rounded to steps ``round(t / eta)``.
    n_mc : int, keyword
        Monte-Carlo samples per step (the spec's ``N_b``).
    key : int or jax key, keyword
    n_loss : int, keyword
        Samples of ``omega`` for the loss estimate at each record (default ``n_mc``).
    loss_draws : int, keyword
        Predictor draws averaged in each residual of the loss estimate (cost ``2 n_loss loss_draws m`` per record).
    predictor_draws : int, keyword
        Shared ``(r', s')`` draws averaged in the residual of every step (1: the reference scheme). The residual's
        variance near a fit is the predictor's own sampling spread ``O(|f~|)``, which does not shrink with ``m``;
        ``K`` draws divide it by ``K`` at a cost of ``(K + 2) n_mc m`` per step instead of ``3 n_mc m``.

    Returns
    -------
    RadialRun

    Raises
    ------
    FloatingPointError
        When the state turns non-finite (the step is named; a smaller ``eta`` is the usual cure).

    Examples
    --------
    >>> theta, c, eps = initial_state(0, m=8, d=5, d_H=2)
    >>> run = solve(theta, c, eps, d=5, d_H=2, eta=0.01, t=[0.0, 0.013, 0.5], n_mc=100)
    >>> run.steps.tolist(), run.theta.shape
    ([0, 1, 50], (3, 8))
    """
    d, d_H, d_perp = _dims(d, d_H)
    theta0, c0, eps = _state(theta0, c0, eps)
    eta = _checks.positive_float("eta", eta)
    tt = _checks.times("t", t)
    n_mc = _checks.positive_int("n_mc", n_mc)
    n_loss = n_mc if n_loss is None else _checks.positive_int("n_loss", n_loss)
    loss_draws = _checks.positive_int("loss_draws", loss_draws)
    predictor_draws = _checks.positive_int("predictor_draws", predictor_draws)
    key = _key(key)
    steps = np.rint(tt / eta).astype(np.int64)
    th, cc, loss, bad = _run(jnp.asarray(theta0), jnp.asarray(c0), jnp.asarray(eps), key, jnp.asarray(steps),
                             jnp.asarray(eta), jnp.asarray(float(d)), n=n_mc, n_loss=n_loss, draws=loss_draws,
                             step_draws=predictor_draws, d_H=d_H, d_perp=d_perp)  # fmt: skip
    bad = int(bad)
    if bad >= 0:
        raise FloatingPointError(
            f"the 1-D solver's state turned non-finite at step {bad} (t = {bad * eta:.6g}); try a smaller eta "
            f"(now {eta:g}) or more Monte-Carlo samples n_mc (now {n_mc})"
        )
    return RadialRun(steps * eta, steps, np.asarray(th), np.asarray(cc), eps, np.asarray(loss), d, d_H, eta, n_mc,
                     n_loss, loss_draws, predictor_draws)  # fmt: skip


# --------------------------------------------------------------------------------------------------------------
# diagnostics of tau^+- (NumPy)


def tau_masses(c, eps):
    """Total masses ``tau^+-([0, pi/2]) = (1/m) sum_{eps_j = +-1} |c_j|``.

    Parameters
    ----------
    c : (m,) or (T, m) array_like
        Masses (e.g. ``RadialRun.c``).
    eps : (m,) array_like
        Signs ``+-1``.

    Returns
    -------
    plus, minus : float or (T,) numpy.ndarray

    Examples
    --------
    >>> tau_masses([2.0, -1.0, 0.5, -0.5], [1, -1, 1, -1])
    (0.625, 0.375)
    """
    c = np.asarray(c, dtype=np.float64)
    c = _checks.as_array("c", c, 2 if c.ndim == 2 else 1)
    eps = _eps("eps", eps, c.shape[-1])
    m = c.shape[-1]
    plus = np.sum(np.abs(c) * (eps > 0), axis=-1) / m
    minus = np.sum(np.abs(c) * (eps < 0), axis=-1) / m
    if c.ndim == 1:
        return float(plus), float(minus)
    return plus, minus


def weighted_histograms(theta, c, eps, bins: int = 20):
    """``|c| / m``-weighted histograms of ``theta`` on ``[0, pi/2]`` for the ``eps = +1`` and ``eps = -1``
    particles (the densities of ``tau^+`` and ``tau^-`` times the bin width: each sums to its total mass).

    Parameters
    ----------
    theta, c : (m,) or (T, m) array_like
        Angles in ``[0, pi/2]`` and masses (e.g. ``RadialRun.theta``, ``RadialRun.c``).
    eps : (m,) array_like
    bins : int
        Number of equal bins on ``[0, pi/2]`` (the last bin includes ``pi/2``).

    Returns
    -------
    edges : (bins + 1,) numpy.ndarray
    h_plus, h_minus : (bins,) or (T, bins) numpy.ndarray

    Examples
    --------
    >>> edges, hp, hm = weighted_histograms([0.1, 1.5, 0.2], [2.0, 1.0, -1.0], [1, 1, -1], bins=2)
    >>> hp.tolist(), hm.tolist()
    ([0.6666666666666666, 0.3333333333333333], [0.3333333333333333, 0.0])
    """
    theta, c, eps = _state(theta, c, eps, lead_ok=True)
    bins = _checks.positive_int("bins", bins)
    edges = np.linspace(0.0, _HALF_PI, bins + 1)
    m = c.shape[-1]
    idx = np.clip(np.floor(theta / _HALF_PI * bins).astype(np.int64), 0, bins - 1)
    w = np.abs(c) / m
    flat_idx, flat_w = idx.reshape(-1, m), w.reshape(-1, m)
    hp = np.stack([np.bincount(i, wt * (eps > 0), minlength=bins) for i, wt in zip(flat_idx, flat_w, strict=True)])
    hm = np.stack([np.bincount(i, wt * (eps < 0), minlength=bins) for i, wt in zip(flat_idx, flat_w, strict=True)])
    if c.ndim == 1:
        return edges, hp[0], hm[0]
    return edges, hp, hm


def distance_to_alpha_delta(theta, c, eps, d_H) -> dict:
    """How far ``(tau^+, tau^-)`` is from the target ``(alpha delta_0, 0)`` (spec C2 item 3 diagnostics).

    Parameters
    ----------
    theta, c : (m,) or (T, m) array_like
    eps : (m,) array_like
    d_H : int
        ``dim H`` (fixes :func:`alpha`).

    Returns
    -------
    dict
        ``"position"``: ``int theta dtau^+ / tau^+([0, pi/2])``, the Wasserstein-1 distance of the normalised
        ``tau^+`` to ``delta_0`` (NaN where ``tau^+`` has no mass); ``"mass"``: ``|tau^+([0, pi/2]) - alpha|``;
        ``"minus_mass"``: ``tau^-([0, pi/2])``. Floats, or ``(T,)`` arrays for a ``(T, m)`` input.

    Examples
    --------
    >>> out = distance_to_alpha_delta([0.0, 0.4, 1.0], [3.0, 1.0, -0.3], [1, 1, -1], d_H=1)  # alpha(1) = 2
    >>> {k: round(v, 6) for k, v in out.items()}
    {'position': 0.1, 'mass': 0.666667, 'minus_mass': 0.1}
    """
    theta, c, eps = _state(theta, c, eps, lead_ok=True)
    a = alpha(d_H)
    m = c.shape[-1]
    wp = np.abs(c) * (eps > 0) / m
    plus = wp.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        position = np.where(plus > 0, (wp * theta).sum(-1) / np.where(plus > 0, plus, 1.0), np.nan)
    minus = (np.abs(c) * (eps < 0)).sum(-1) / m
    out = {"position": position, "mass": np.abs(plus - a), "minus_mass": minus}
    if c.ndim == 1:
        return {k: float(v) for k, v in out.items()}
    return out
