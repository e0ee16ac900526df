"""Online SGD on fresh samples of a :class:`learndyn.populations.Population`: the mean-field particle dynamics.

Every step draws a new batch ``(X, y)``, and moves the parameters by ``lr * grad`` of ``1/2 mean (f - y)^2`` with
``lr = eta * net.lr_scale`` (``m * eta`` for :class:`learndyn.nets.meanfield.MeanFieldReLU`); the recorded time is
``t = eta * step``, the time of the Wasserstein gradient flow of the population risk ``1/2 E (f - f*)^2`` that the
particles follow as ``m`` grows (Mei, Montanari & Nguyen 2018; Chizat & Bach 2018). One jit-compiled ``lax.scan``;
seeds (a leading axis on every parameter) run vmapped with independent batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from learndyn import _checks, populations
from learndyn._recorded import scan_records
from learndyn.populations import Population


@dataclass(frozen=True, eq=False)
class OnlineRun:
    """An online SGD run: parameters recorded at ``t`` (leading record axis, after a seed axis when batched), the
    batch loss of the step that starts at each record, and the settings."""

    t: np.ndarray
    steps: np.ndarray
    params: dict
    batch_loss: np.ndarray
    net: object
    population: Population
    eta: float
    batch_size: int
    antithetic: bool


def sgd(
    net, params, population: Population, *, eta: float, t, batch_size: int, key=0, antithetic: bool = False,
    symmetry=None,
):  # fmt: skip
    """Train ``net`` by online SGD on fresh batches of ``population``, recording at times ``t = eta * step``.

    Parameters
    ----------
    net : a net with ``apply(params, X) -> (f (n, 1), cache)`` and ``lr_scale``
    params : pytree
        Initial parameters; a leading seed axis on every leaf runs seeds together (independent batches).
    population : Population
    eta : float
        Time step; the learning rate is ``eta * net.lr_scale``.
    t : array_like
        Non-decreasing record times, rounded to steps ``round(t / eta)``.
    batch_size : int
    key : int or jax key
        Seed of the batches.
    antithetic : bool
        Batches ``{x, -x}``: with an odd target and a mirror-symmetric net the odd symmetry is kept exactly.
    symmetry : (d, d) orthogonal matrix of finite order, optional
        Batches closed under ``T``: every draw comes with ``T x, T^2 x, ...`` (``batch_size`` a multiple of the
        order). With a ``T``-invariant target and a ``T``-symmetrised net (``net.symmetrise``) the invariance
        ``f_t o T = f_t`` is kept exactly.

    Returns
    -------
    OnlineRun

    Raises
    ------
    FloatingPointError
        When the loss becomes non-finite (the step and a hint).

    Examples
    --------
    >>> import jax, numpy as np
    >>> from learndyn import populations
    >>> from learndyn.nets.meanfield import MeanFieldReLU
    >>> pop = populations.cubic_odd(np.ones(4), C=1.0, std=0.5)
    >>> net = MeanFieldReLU(d=4, m=64)
    >>> run = sgd(net, net.init(jax.random.key(0)), pop, eta=0.05, t=[0.0, 5.0], batch_size=64)
    >>> run.params["b"].shape, run.steps.tolist()
    ((2, 64, 4), [0, 100])
    """
    eta = _checks.positive_float("eta", eta)
    batch_size = _checks.positive_int("batch_size", batch_size)
    if antithetic and batch_size % 2:
        raise ValueError(f"antithetic batches pair x with -x; batch_size must be even, got {batch_size}")
    if antithetic and symmetry is not None:
        raise ValueError("give antithetic=True or symmetry=T, not both (antithetic is symmetry=-I)")
    group = None
    if symmetry is not None:
        group = tuple(np.asarray(g) for g in populations.cyclic_group(symmetry))
        if batch_size % len(group):
            raise ValueError(f"batch_size must be a multiple of the order {len(group)} of symmetry; got {batch_size}")
        group = _Group(group)
    if population.d != net.n_in:
        raise ValueError(f"the net takes d = {net.n_in} inputs but the population has d = {population.d}")
    t = _checks.times("t", t)
    steps = np.rint(t / eta).astype(np.int64)
    params = jax.tree_util.tree_map(jnp.asarray, params)
    single = jax.tree_util.tree_leaves(jax.eval_shape(net.init, jax.random.key(0)))[0]
    batched = jax.tree_util.tree_leaves(params)[0].ndim == single.ndim + 1  # a leading seed axis
    if isinstance(key, int):
        key = jax.random.key(_checks.rng(key).integers(2**31))
    n_seeds = jax.tree_util.tree_leaves(params)[0].shape[0] if batched else None
    keys = jax.random.split(key, n_seeds) if batched else key
    lr = eta * float(net.lr_scale)
    dtype = jax.tree_util.tree_leaves(params)[0].dtype
    rec, loss, bad = _run(params, keys, jnp.asarray(steps), jnp.asarray(lr, dtype), net=net, population=population,
                          batch_size=batch_size, antithetic=bool(antithetic), group=group, batched=batched)  # fmt: skip
    bad = np.atleast_1d(np.asarray(bad))
    if np.any(bad >= 0):
        k = int(bad[bad >= 0].min())
        raise FloatingPointError(f"online SGD diverged at step {k} (t = {k * eta:.6g}): the batch loss is not "
                                 f"finite; try a smaller eta (now {eta:g}, lr = {lr:g})")  # fmt: skip
    to_np = (lambda a: np.moveaxis(np.asarray(a), 0, 1)) if batched else np.asarray
    return OnlineRun(steps * eta, steps, jax.tree_util.tree_map(to_np, rec), to_np(loss), net, population, eta,
                     batch_size, bool(antithetic))  # fmt: skip


@dataclass(frozen=True, eq=False)
class _Group:
    """A finite matrix group as a static (hashable by identity) argument of the jitted loop."""

    elements: tuple


def _step(net, population, batch_size, antithetic, group):
    def loss_fn(p, X, y):
        r = net.apply(p, X)[0][:, 0] - y
        return 0.5 * jnp.mean(r * r)

    def step(p, key, lr):
        key, sub = jax.random.split(key)
        X, y = population.sample(
            sub, batch_size, antithetic=antithetic, group=None if group is None else group.elements
        )
        dtype = jax.tree_util.tree_leaves(p)[0].dtype  # the run's precision is the params' (float32 stays float32)
        X, y = X.astype(dtype), y.astype(dtype)
        value, g = jax.value_and_grad(loss_fn)(p, X, y)
        return jax.tree_util.tree_map(lambda a, b: a - lr * b, p, g), key, value

    return step


def _simulate(params, keys, steps, lr, *, net, population, batch_size, antithetic, group, batched):
    step = _step(net, population, batch_size, antithetic, group)
    if batched:
        step = jax.vmap(step, in_axes=(0, 0, None))
    return scan_records(step, params, keys, steps, lr, (keys.shape[0],) if batched else ())


_run = jax.jit(_simulate, static_argnames=("net", "population", "batch_size", "antithetic", "group", "batched"))
