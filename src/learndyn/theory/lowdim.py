"""Mean-field two-layer ReLU nets on a target of a low-dimensional subspace: the reduction to ``(a, b_H, ||b_perp||)``.

Reference: K. Hajjar and L. Chizat, "On the symmetries in the dynamics of wide two-layer neural networks",
Electronic Research Archive 31(4), 2023, arXiv:2211.08771 (spec ``integrable_and_meanfield.md`` C1, "Low-dimensional
target").

Setting
-------
``f(mu; x) = int a relu(<b, x>) dmu(a, b)`` trained by the Wasserstein gradient flow of ``1/2 E_rho (f - f*)^2``
(time ``t``; a finite net trained by SGD at learning rate ``m eta`` follows it with ``t = eta * step``). Let
``f*(x) = phi(P_H x)`` depend only on the coordinates in ``H`` (here: the first ``d_H`` coordinates), ``rho``
invariant under every orthogonal map of ``H^perp`` (Gaussian or spherical inputs) and ``mu_0`` invariant under the
same maps acting on ``b``. Then ``mu_t`` stays invariant and is described by its pushforward ``nu_t`` on
``(a, b_H, r = ||b_perp||) in R x R^{d_H} x R_+``, a problem in dimension ``d_H + 2`` instead of ``d + 1``.

Derivation (written here; it is what the spec states, made explicit). For an invariant measure the ``b_perp`` of a
neuron is a uniformly random direction of length ``r``, so the predictor is::

    f(x) = int a E_s[relu(<b_H, x_H> + r ||x_perp|| s)] dnu,

with ``s`` the first coordinate of a uniform unit vector of ``R^{d_perp}`` (density ``~ (1 - s^2)^((d_perp-3)/2)``).
The potential ``Phi_t(a, b)`` of the flow is invariant too, so its gradient in ``b_perp`` is radial,
``grad_{b_perp} Phi = (d Phi / dr) b_perp / r``, and ``r' = <b_perp / r, b_perp'> = -d Phi / dr``: the pushforward
moves by the plain Euclidean gradient flow of the reduced potential in ``(a, b_H, r)``. A finite set of reduced
particles trained by SGD on the reduced predictor (:func:`sgd`, learning rate ``m eta``) is therefore the particle
method of the reduced PDE, in the same time ``t``, and its predictor can be compared with full particles directly.

The inner expectation has a closed form (:meth:`LowDim.slice_mean`): with ``c = <b_H, x_H>``, ``k = r ||x_perp||``
and ``s_0 = -c / k``, ``E_s relu(c + k s) = c P(s > s_0) + k E[s; s > s_0]`` where
``E[s; s > s_0] = (1 - s_0^2)^((d_perp-1)/2) / ((d_perp - 1) B(1/2, (d_perp-1)/2))`` and ``P(s > s_0)`` is a
regularised incomplete beta function, summed in closed form by a recursion in the exponent of the density (a
polynomial in ``1 - s_0^2`` with positive coefficients, plus ``arccos`` for even ``d_perp``; accurate to round-off).
Its derivatives are ``d/dc = P(s > s_0)`` and ``d/dk = E[s; s > s_0]`` (the boundary terms vanish because the
integrand is 0 at ``s_0``), which is how gradients flow through it.

Assumptions, checked where they can be: the target depends on ``x_H`` only (:func:`subspace_violation`, an
:class:`learndyn._checks.AssumptionError` above ``tol`` in :func:`sgd`); the input law is rotation invariant on
``H^perp`` (both laws of :class:`learndyn.populations.Population` are). The invariance of ``mu_0`` is what the reduced
particles *represent*: full particles at finite ``m`` are only invariant in distribution, and the two systems agree
up to their ``O(m^{-1/2})`` fluctuations.

Examples
--------
>>> import jax, numpy as np
>>> from learndyn import populations
>>> red = LowDim(d=6, d_H=2)
>>> a = np.array([1.0, -1.0]); b = np.array([[0.6, 0, 0.8, 0, 0, 0], [0, 1.0, 0, 0, 0, 0]])
>>> p = red.pushforward(a, b)
>>> p["r"].tolist()
[0.8, 0.0]
>>> pop = populations.radial(6, 2, law="sphere")
>>> run = sgd(red, p, pop, eta=0.01, t=[0.0, 1.0], batch_size=64, key=0)
>>> run.params["b_H"].shape
(2, 2, 2)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

from learndyn import _checks
from learndyn._checks import AssumptionError
from learndyn._recorded import scan_records
from learndyn.populations import Population

__all__ = ["LowDim", "LowDimRun", "sgd", "subspace_violation"]


def _tail_coefficients(d_perp: int) -> tuple[float, ...]:
    """``1 / ((2 beta + 1) Z_beta)`` for the exponents ``beta`` of the recursion in :meth:`LowDim._tail`.

    ``I_beta(s0) = int_{s0}^1 (1 - s^2)^beta ds`` obeys ``(2 beta + 1) I_beta = 2 beta I_{beta-1} - s0 u^beta`` with
    ``u = 1 - s0^2`` (integrate ``d/ds [s (1 - s^2)^beta]``); with ``Z_beta = I_beta(-1) = Z_{beta-1} 2 beta /
    (2 beta + 1)`` the tail ``P_beta = I_beta / Z_beta`` is ``P_{beta-1} - s0 u^beta / ((2 beta + 1) Z_beta)``.
    """
    beta, Z = (-0.5, np.pi) if d_perp % 2 == 0 else (0.0, 2.0)
    out = []
    while beta < 0.5 * (d_perp - 3) - 1e-9:
        beta += 1.0
        Z *= 2.0 * beta / (2.0 * beta + 1.0)
        out.append(1.0 / ((2.0 * beta + 1.0) * Z))
    return tuple(out)


@dataclass(frozen=True)
class LowDim:
    """The ``(a, b_H, r)`` reduction of a mean-field ReLU net on inputs of dimension ``d`` with ``H`` the first
    ``d_H`` coordinates.

    Parameters
    ----------
    d : int
        Input dimension.
    d_H : int
        Dimension of ``H``; ``1 <= d_H <= d - 1``.

    Examples
    --------
    >>> red = LowDim(d=20, d_H=5)
    >>> red.d_perp, red.lr_scale(1024)
    (15, 1024.0)
    """

    d: int
    d_H: int

    def __post_init__(self):
        d = _checks.positive_int("d", self.d)
        d_H = _checks.positive_int("d_H", self.d_H)
        if d_H >= d:
            raise ValueError(f"d_H must be in 1..d-1 = 1..{d - 1} (H^perp must not be empty); got {d_H}")
        object.__setattr__(self, "d", d)
        object.__setattr__(self, "d_H", d_H)

    @property
    def d_perp(self) -> int:
        """``d - d_H``."""
        return self.d - self.d_H

    @staticmethod
    def lr_scale(m: int) -> float:
        """The mean-field learning-rate factor ``m`` (as :class:`learndyn.nets.meanfield.MeanFieldReLU`)."""
        return float(m)

    # -- the inner expectation ------------------------------------------------------------------------------

    def _tail(self, s0):
        """``(P(s > s0), E[s; s > s0])`` for ``s0`` in ``[-1, 1]``."""
        q = self.d_perp
        u = jnp.maximum(1.0 - s0**2, 0.0)
        # the tail by the recursion of _tail_coefficients, summed by Horner in u: every coefficient is positive
        poly = 0.0
        for coef in reversed(_tail_coefficients(q)):
            poly = poly * u + coef
        # E[s; s > s0] = u^((q-1)/2) / ((q-1) B(1/2, (q-1)/2)): integer powers and one sqrt, no exp/log (the
        # transcendentals dominated the cost of a step)
        const = float(np.exp(-special.betaln(0.5, 0.5 * (q - 1)))) / (q - 1)
        if q % 2 == 0:  # half-integer exponents: s = cos(phi) at q = 2, then u^(n - 1/2)
            root = jnp.sqrt(u)
            tail = jnp.arccos(s0) / jnp.pi - s0 * root * poly
            first = const * root * u ** ((q - 2) // 2)
        else:  # integer exponents from s uniform on [-1, 1] at q = 3
            tail = 0.5 * (1.0 - s0) - s0 * u * poly
            first = const * u ** ((q - 1) // 2)
        return tail, first

    def slice_mean(self, c, k):
        """``E_s relu(c + k s)``: the ReLU feature averaged over the directions of ``H^perp``.

        Parameters
        ----------
        c : array
            ``<b_H, x_H>``.
        k : array
            ``r ||x_perp||`` (its sign does not matter: ``s`` is symmetric).

        Returns
        -------
        array, broadcast of ``c`` and ``k``. Differentiable in both (exact first derivatives, see the module).

        Examples
        --------
        >>> red = LowDim(d=5, d_H=2)  # d_perp = 3: s uniform on [-1, 1]
        >>> round(float(red.slice_mean(0.0, 1.0)), 12)  # E relu(s) = 1/4
        0.25
        """
        return _slice_mean(self, jnp.asarray(c, jnp.float64), jnp.asarray(k, jnp.float64))

    def _parts(self, c, k):
        ka = jnp.abs(k)
        if self.d_perp == 1:  # s = +-1: no table, and the clipped s0 below would miscount s = -1
            up, down = (c + ka > 0).astype(c.dtype), (c - ka > 0).astype(c.dtype)
            value = 0.5 * (jnp.maximum(c + ka, 0.0) + jnp.maximum(c - ka, 0.0))
            return value, 0.5 * (up + down), jnp.sign(k) * 0.5 * (up - down)
        s0 = jnp.clip(-c / jnp.maximum(ka, 1e-300), -1.0, 1.0)
        tail, first = self._tail(s0)
        return c * tail + ka * first, tail, jnp.sign(k) * first

    # -- the reduced particles --------------------------------------------------------------------------------

    def pushforward(self, a, b) -> dict:
        """The reduced particles ``{"a", "b_H", "r"}`` of full particles ``a (m,)``, ``b (m, d)`` (a leading seed
        axis allowed): ``b_H = P_H b``, ``r = ||P_perp b||``."""
        a = jnp.asarray(a, jnp.float64)
        b = jnp.asarray(b, jnp.float64)
        if b.shape[-1] != self.d or b.shape[:-1] != a.shape:
            raise ValueError(f"b must have shape a.shape + (d,) = {a.shape + (self.d,)}; got {b.shape}")
        return {"a": a, "b_H": b[..., : self.d_H], "r": jnp.linalg.norm(b[..., self.d_H :], axis=-1)}

    def features(self, params, X):
        """``(n, m)``: ``E_s relu(<b_H, x_H> + r ||x_perp|| s)`` for every input and reduced particle."""
        X = jnp.asarray(X)
        c = X[:, : self.d_H] @ params["b_H"].T
        k = jnp.linalg.norm(X[:, self.d_H :], axis=1)[:, None] * params["r"][None, :]
        return _slice_mean(self, c, k)

    def apply(self, params, X):
        """The predictor ``f(x) = (1/m) sum_j a_j E_s relu(...)`` at inputs ``X (n, d)``: ``(n,)``."""
        return self.features(params, X) @ params["a"] / params["a"].shape[-1]

    def loss(self, params, X, y):
        """``1/2 mean (f(X) - y)^2``."""
        r = self.apply(params, X) - y
        return 0.5 * jnp.mean(r * r)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _slice_mean(red, c, k):
    return red._parts(c, k)[0]


@_slice_mean.defjvp
def _slice_mean_jvp(red, primals, tangents):
    c, k = primals
    dc, dk = tangents
    value, d_c, d_k = red._parts(c, k)
    return value, d_c * dc + d_k * dk


# ------------------------------------------------------------------------------------------------------------------
# assumptions


def subspace_violation(population: Population, d_H: int, *, n: int = 2048, seed: int = 0) -> float:
    """How much the target depends on ``x_perp``: ``max |f*(x) - f*(x')| / max |f*(x)|`` with ``x'`` the input whose
    ``H^perp`` part is turned by a random orthogonal map (``H`` = the first ``d_H`` coordinates). 0 for a target of
    ``x_H`` alone.

    Examples
    --------
    >>> from learndyn import populations
    >>> subspace_violation(populations.radial(6, 2), 2)
    0.0
    >>> subspace_violation(populations.radial(6, 3), 2) > 0.1  # depends on x_3, which is not in H
    True
    """
    d_H = _checks.positive_int("d_H", d_H)
    if d_H >= population.d:
        raise ValueError(f"d_H must be in 1..d-1 = 1..{population.d - 1}; got {d_H}")
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((population.d - d_H,) * 2))
    X = np.asarray(population.sample_x(jax.random.key(seed), n))
    X2 = X.copy()
    X2[:, d_H:] = X[:, d_H:] @ Q
    y, y2 = np.asarray(population.target(jnp.asarray(X))), np.asarray(population.target(jnp.asarray(X2)))
    return float(np.max(np.abs(y - y2)) / max(float(np.max(np.abs(y))), 1e-300))


# ------------------------------------------------------------------------------------------------------------------
# training the reduced particles


@dataclass(frozen=True, eq=False)
class LowDimRun:
    """Reduced particles recorded at ``t`` (``params`` with a leading record axis) and the batch loss before each
    record."""

    t: np.ndarray
    steps: np.ndarray
    params: dict
    batch_loss: np.ndarray
    reduction: LowDim
    eta: float


def sgd(
    red: LowDim, params: dict, population: Population, *, eta: float, t, batch_size: int, key=0, tol: float = 1e-8
) -> LowDimRun:
    """Online SGD of reduced particles on fresh batches of ``population`` at learning rate ``m * eta``, recorded at
    times ``t = eta * step``: the particle method of the reduced Wasserstein flow (same time as
    :func:`learndyn.online.sgd` on full particles).

    Parameters
    ----------
    red : LowDim
    params : dict
        ``{"a" (m,), "b_H" (m, d_H), "r" (m,)}``, e.g. :meth:`LowDim.pushforward` of a full initialisation.
    population : Population
        Inputs of dimension ``red.d``; its target must depend on ``x_H`` only.
    eta : float
    t : array_like
        Non-decreasing record times (rounded to steps ``round(t / eta)``).
    batch_size : int
    key : int or jax key
    tol : float
        Largest accepted :func:`subspace_violation` of the target.

    Returns
    -------
    LowDimRun

    Raises
    ------
    AssumptionError
        When the target depends on ``x_perp`` (the measured violation is in the message).
    FloatingPointError
        When the batch loss turns non-finite.
    """
    if not isinstance(red, LowDim):
        raise TypeError(f"red must be a learndyn.theory.lowdim.LowDim; got {type(red).__name__}")
    if population.d != red.d:
        raise ValueError(f"the reduction has d = {red.d} but the population has d = {population.d}")
    eta = _checks.positive_float("eta", eta)
    batch_size = _checks.positive_int("batch_size", batch_size)
    tol = _checks.positive_float("tol", tol)
    violation = subspace_violation(population, red.d_H)
    if violation > tol:
        raise AssumptionError(
            f"the target of {population.name!r} depends on x outside H (the first d_H = {red.d_H} coordinates): "
            f"turning x_perp changes it by {violation:.3g} of its size (tol {tol:g}); the (a, b_H, r) reduction "
            "needs f*(x) = phi(P_H x)"
        )
    params = _reduced_params(red, params)
    m = params["a"].shape[0]
    tt = _checks.times("t", t)
    steps = np.rint(tt / eta).astype(np.int64)
    if isinstance(key, int):
        key = jax.random.key(_checks.rng(key).integers(2**31))
    lr = eta * red.lr_scale(m)
    rec, loss, bad = _run(params, key, jnp.asarray(steps), jnp.asarray(lr), red=red, population=population,
                          batch_size=batch_size)  # fmt: skip
    if int(bad) >= 0:
        raise FloatingPointError(f"reduced SGD diverged at step {int(bad)} (t = {int(bad) * eta:.6g}): the batch "
                                 f"loss is not finite; try a smaller eta (now {eta:g}, lr = {lr:g})")  # fmt: skip
    return LowDimRun(steps * eta, steps, jax.tree_util.tree_map(np.asarray, rec), np.asarray(loss), red, eta)


def _reduced_params(red, params) -> dict:
    if not isinstance(params, dict) or set(params) != {"a", "b_H", "r"}:
        raise TypeError(f"params must be a dict with keys 'a', 'b_H', 'r' (LowDim.pushforward); got {params!r:.80}")
    a = _checks.as_array("params['a']", params["a"], 1)
    m = a.shape[0]
    b_H = _checks.as_matrix("params['b_H']", params["b_H"], rows=m, cols=red.d_H)
    r = _checks.as_array("params['r']", params["r"], 1)
    if r.shape != (m,):
        raise ValueError(f"params['r'] must have shape ({m},); got {r.shape}")
    return {"a": jnp.asarray(a), "b_H": jnp.asarray(b_H), "r": jnp.asarray(r)}


def _simulate(params, key, steps, lr, *, red, population, batch_size):
    def step(p, key, lr):
        key, sub = jax.random.split(key)
        X, y = population.sample(sub, batch_size)
        value, g = jax.value_and_grad(red.loss)(p, X, y)
        return jax.tree_util.tree_map(lambda u, v: u - lr * v, p, g), key, value

    return scan_records(step, params, key, steps, lr, ())


_run = jax.jit(_simulate, static_argnames=("red", "population", "batch_size"))
