"""The simulation core shared by every public simulator of :mod:`learndyn.train`: input validation, the
jit-compiled scan over records (with divergence detection and freezing), and the divergence message.

Time convention: an Euler step of size ``h`` is gradient descent with learning rate ``h`` and advances
gradient-flow time by ``h`` (loss ``L = 1/(2P) sum ||y - f||^2``); RK4 integrates the same flow.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from learndyn import _checks, integrate
from learndyn.nets import ACTIVATIONS as _NET_ACTIVATIONS
from learndyn.nets import MLP
from learndyn.nets import linear as linear_net

ACTIVATIONS = tuple(sorted(_NET_ACTIVATIONS))

#: A run is declared divergent once its loss exceeds this factor times (initial loss + 1). The
#: "+ 1" keeps the threshold meaningful when the initial loss is (near) zero.
DIVERGENCE_FACTOR = 1e6


class DivergenceError(FloatingPointError):
    """Raised when a simulation diverges (non-finite loss, or a loss that exploded).

    It subclasses :class:`FloatingPointError` because the failure is numerical blow-up of the
    iteration, not a bug or a bad argument; ``except ArithmeticError`` also catches it.

    Attributes
    ----------
    step : int
        First step whose weights give a non-finite or exploded loss.
    time : float
        The gradient-flow time of that step, ``lr * step``.
    lr : float
        The learning rate (GD) or time step (RK4) that was used.
    suggested_lr : float
        A step size that is more likely to be stable (see the message for how it was estimated).
    seed : int or None
        Index of the first diverging seed in :func:`simulate_gd_seeds`, else ``None``.
    """

    def __init__(self, message, *, step, time, lr, suggested_lr, seed=None):
        super().__init__(message)
        self.step = step
        self.time = time
        self.lr = lr
        self.suggested_lr = suggested_lr
        self.seed = seed


# --------------------------------------------------------------------------------------------
# Model


def _net(weights, activation) -> MLP:
    """The network these weights define: widths from their shapes, no biases."""
    return MLP(tuple([weights[0].shape[-1]] + [W.shape[-2] for W in weights]), activation)


def _forward(weights, X, activation):
    return _net(weights, activation).apply(weights, X)[0]


def _loss(weights, X, Y, activation):
    r = _forward(weights, X, activation) - Y
    return 0.5 * jnp.sum(r * r) / X.shape[0]


# --------------------------------------------------------------------------------------------
# Validation. Public functions may be called inside jax transformations (e.g. jax.grad(loss)),
# so the shape checks only use static shapes, and value checks are skipped for tracers.


def _is_tracer(x) -> bool:
    return isinstance(x, jax.core.Tracer)


def _data(X, Y=None):
    X = _checks.as_array("X", X, 2)
    if Y is None:
        return X, None
    Y = _checks.as_array("Y", Y, 2)
    if Y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X and Y must have the same number of items (rows); got X.shape={tuple(X.shape)}, Y.shape={tuple(Y.shape)}"
        )
    return X, Y


def _weights(weights, n_in, n_out=None, *, batched=False, name="weights"):
    """Check the chain of layer shapes; return a tuple of arrays (float64 unless traced)."""
    if not isinstance(weights, (tuple, list)):
        raise TypeError(
            f"{name} must be a tuple (W1, ..., WL) of {'3' if batched else '2'}-D arrays; got "
            f"{type(weights).__name__}" + (" (wrap a single layer as (W,))" if hasattr(weights, "shape") else "")
        )
    if len(weights) == 0:
        raise ValueError(f"{name} must hold at least one layer; got an empty {type(weights).__name__}")
    ndim = 3 if batched else 2
    shape_kind = "(S, n_l, n_{l-1})" if batched else "(n_l, n_{l-1})"
    out = []
    prev, prev_what = n_in, f"the number of input features X.shape[1] = {n_in}"
    for i, W in enumerate(weights):
        lname = f"{name}[{i}] (W{i + 1})"
        if batched and isinstance(W, (tuple, list)):
            raise TypeError(
                f"{lname} is a {type(W).__name__}, but {name} must be one tuple of layers with a "
                f"leading seed axis; build it from per-seed tuples with stack_weights([...])"
            )
        try:
            arr = _checks.as_array(lname, W, ndim)
        except ValueError as exc:
            if "-D" in str(exc):
                raise ValueError(f"{exc}; each layer must have shape {shape_kind}") from None
            raise
        n_rows, n_cols = arr.shape[-2:]
        if n_cols != prev:
            raise ValueError(
                f"{lname} has shape {tuple(arr.shape)}, so it takes {n_cols} inputs, but it must take {prev_what}"
            )
        if batched and out and arr.shape[0] != out[0].shape[0]:
            raise ValueError(
                f"{lname} has {arr.shape[0]} seeds (leading axis) but {name}[0] has "
                f"{out[0].shape[0]}; every layer needs the same seed axis"
            )
        out.append(arr)
        prev = n_rows
        prev_what = f"the {n_rows} outputs of {lname} (shape {tuple(arr.shape)})"
    if n_out is not None and prev != n_out:
        raise ValueError(
            f"the last layer {name}[{len(out) - 1}] (W{len(out)}) has shape "
            f"{tuple(out[-1].shape)}, so the network has {prev} outputs, but Y has {n_out} "
            f"columns"
        )
    return tuple(out)


def _cast_floats(tree, dtype):
    """Every floating leaf of ``tree`` in ``dtype`` (integer leaves, e.g. keys or counters, are left alone).

    A simulation runs in its params' precision: one float64 leaf in a float32 carry (a rule's feedback matrix, a
    learning-rate scale) would promote the update and break the scan's fixed carry types.
    """

    def cast(a):
        a = jnp.asarray(a)
        return a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a

    return jax.tree_util.tree_map(cast, tree)


def _activation(activation):
    if not isinstance(activation, str):
        raise TypeError(f"activation must be one of {list(ACTIVATIONS)}; got {activation!r}")
    return _checks.one_of("activation", activation, ACTIVATIONS)


# --------------------------------------------------------------------------------------------
# The jitted core


def _objective(X, Y, offset, inv_p, net):
    """The loss ``(1/2 ||Y - f(X)||^2 + offset) / P`` as a function of the weights only."""

    def objective(weights):
        r = net.apply(weights, X)[0] - Y
        return (0.5 * jnp.sum(r * r) + offset) * inv_p

    return objective


def _value_and_grad(X, Y, offset, inv_p, net, product):
    """weights -> (L, dL/dweights): analytic for linear nets in end-to-end form, else autodiff."""
    if product:
        Sxx, Syx = (X.T @ X) * inv_p, (Y.T @ X) * inv_p
        half_tr_syy = (0.5 * jnp.sum(Y * Y) + offset) * inv_p
        return lambda w: linear_net.value_and_grad(w, Sxx, Syx, half_tr_syy)
    return jax.value_and_grad(_objective(X, Y, offset, inv_p, net))


def _freeze(bad, old, new):
    """Keep ``old`` where ``bad`` (a flag per seed, broadcast over the weight axes)."""
    flag = bad.reshape(bad.shape + (1,) * (old.ndim - bad.ndim))
    return jnp.where(flag, old, new)


def _ggt(updates, l):
    """``G G^T`` of layer ``l``'s update, with the bias as an extra column (``[G | g_b]``)."""
    W_up = updates["W"][l] if isinstance(updates, dict) else updates[l]
    if isinstance(updates, dict) and "b" in updates:
        W_up = jnp.concatenate([W_up, updates["b"][l][:, None]], axis=1)
    return W_up @ W_up.T


def _stepper(X, Y, offset, inv_p, h, net, rule, method, product, drift, batch_size, scales=None):
    """One step of the carry ``(params, rule state, drift sums, key)``; returns ``(loss before, new carry)``.

    Without a rule it is gradient descent (analytic gradient for linear nets, else autodiff); with one, the
    direction is the rule's update from the forward cache. With ``drift``, Euler steps accumulate
    ``lr^2 G_l G_l^T`` of every hidden layer's update ``G_l`` (the exact discrete drift of FA's conserved
    quantities, Robertson & Koyejo 2024). With ``batch_size``, each step uses that many items drawn without
    replacement (minibatch SGD; the key in the carry advances every step). ``scales`` (a parameterization's
    per-layer learning-rate scales: ``(warmup_steps, scales during warm-up, scales after)``) multiply the
    rule's update of each layer.
    """
    if rule is None or getattr(rule, "autodiff", False):
        value_and_grad = _value_and_grad(X, Y, offset, inv_p, net, product)

        def gd_step(carry, k):
            params, state, acc, key = carry
            if batch_size is None:
                value, new = integrate.step(params, value_and_grad, h, method)
            else:
                key, sub = jax.random.split(key)
                idx = jax.random.choice(sub, X.shape[0], (batch_size,), replace=False)
                vg = jax.value_and_grad(_objective(X[idx], Y[idx], 0.0, 1.0 / batch_size, net))
                value, new = integrate.step(params, vg, h, method)
            return value, (new, state, acc, key)

        return gd_step

    def direction(params, state, Xb, Yb):
        f, cache = net.apply(params, Xb)
        err = f - Yb
        updates, state = rule.update(params, cache, err, state)
        return 0.5 * jnp.sum(err * err) / Xb.shape[0], updates, state  # rules run on uncompressed data

    def scaled(updates, k):
        if scales is None:
            return updates
        warm, early, late = scales
        tree = jax.tree_util.tree_map(lambda a, b: jnp.where(k < warm, a, b), early, late)
        if not isinstance(updates, dict):
            tree = tree["W"]
        return jax.tree_util.tree_map(lambda u, c: c * u, updates, tree)

    def rule_step(carry, k):
        params, state, acc, key = carry
        Xb, Yb = X, Y
        if batch_size is not None:
            key, sub = jax.random.split(key)
            idx = jax.random.choice(sub, X.shape[0], (batch_size,), replace=False)
            Xb, Yb = X[idx], Y[idx]
        if method == "gd":
            value, updates, new_state = direction(params, state, Xb, Yb)
            updates = scaled(updates, k)
            if drift:
                acc = tuple(a + h * h * _ggt(updates, l) for l, a in enumerate(acc))
            return value, (integrate.tree_axpy(-h, updates, params), new_state, acc, key)

        def vd(p):
            value, updates, _ = direction(p, state, Xb, Yb)
            return value, scaled(updates, k)

        value, new = integrate.step(params, vd, h, method)
        return value, (new, state, acc, key)

    return rule_step


def _simulate(
    weights, state, acc, key, X, Y, offset, inv_p, h, steps, net, rule, method, product, batched, drift,
    batch_size=None, scales=None,
):  # fmt: skip
    """Scan over the record steps; the carry holds params, rule state, drift sums and a divergence flag per seed.

    With ``batched`` every leaf has a leading seed axis: the step and the loss are vmapped over
    seeds while the loops stay shared, so the loop predicate is unbatched and one diverged seed
    only freezes itself; the inner loop exits early once every seed has diverged.

    Returns (recorded params, recorded drift sums, recorded loss, first bad step or -1, loss at that step), with
    the record axis first (T, [S,] ...).
    """
    objective = _objective(X, Y, offset, inv_p, net)
    step = _stepper(X, Y, offset, inv_p, h, net, rule, method, product, drift, batch_size, scales)
    record_loss = objective
    if batched:
        step, record_loss = jax.vmap(step, in_axes=(0, None)), jax.vmap(record_loss)
    initial = record_loss(weights)
    threshold = DIVERGENCE_FACTOR * (initial + 1.0)
    no_step = jnp.full(initial.shape, -1, jnp.int64)

    def is_bad(value):
        return ~jnp.isfinite(value) | (value > threshold)

    def inner_cond(loop):
        _, k, bad_step, _, k_end = loop
        return (k < k_end) & jnp.any(bad_step < 0)

    def inner_body(loop):
        c, k, bad_step, bad_value, k_end = loop
        value, c_new = step(c, k)
        bad = (bad_step >= 0) | is_bad(value)
        # Freeze each seed at its first bad step, so nothing overflows further.
        c = jax.tree_util.tree_map(partial(_freeze, bad), c, c_new)
        first = bad & (bad_step < 0)
        bad_step = jnp.where(first, k, bad_step)
        bad_value = jnp.where(first, value, bad_value)
        return c, k + 1, bad_step, bad_value, k_end

    def record(carry, k_end):
        c, k, bad_step, bad_value = carry
        c, _, bad_step, bad_value, _ = jax.lax.while_loop(inner_cond, inner_body, (c, k, bad_step, bad_value, k_end))
        value = record_loss(c[0])
        first = (bad_step < 0) & is_bad(value)
        bad_step = jnp.where(first, k_end, bad_step)
        bad_value = jnp.where(first, value, bad_value)
        # Restart from k_end even if the loop exited early: all seeds are frozen then anyway.
        return (c, k_end, bad_step, bad_value), (c[0], c[2], value)

    init = ((weights, state, acc, key), jnp.asarray(0, jnp.int64), no_step, jnp.zeros(initial.shape, initial.dtype))
    (_, _, bad_step, bad_value), (w_rec, acc_rec, loss_rec) = jax.lax.scan(record, init, steps)
    return w_rec, acc_rec, loss_rec, bad_step, bad_value


_simulate_jit = jax.jit(
    _simulate, static_argnames=("net", "rule", "method", "product", "batched", "drift", "batch_size")
)  # scales are traced: (warm-up steps, early and late per-layer scales)


# --------------------------------------------------------------------------------------------
# Divergence reporting (host side, only on failure)


def _sharpness_estimate(X, Y, weights):
    """Rough top eigenvalue of the loss Hessian: the larger of its Gauss-Newton part at the
    initial weights and its value at a balanced minimum of the equivalent deep linear net.

    For a depth-D linear net with input covariance eigenvalue lam_x and target scale
    s = ||Sigma_yx|| / lam_x, the balanced minimum has sharpness D * lam_x * s^(2(D-1)/D);
    at arbitrary weights the Gauss-Newton term is at most lam_x * sum_l prod_{j != l} ||W_j||^2.
    Both are cheap (a few small SVDs) and are only used to phrase the hint.
    """
    P = X.shape[0]
    depth = len(weights)
    lam_x = float(np.linalg.eigvalsh(X.T @ X / P)[-1])
    s = float(np.linalg.norm(Y.T @ X / P, 2)) / max(lam_x, 1e-300)
    at_minimum = depth * lam_x * s ** (2.0 * (depth - 1) / depth)
    sq_norms = [float(np.linalg.norm(W, 2)) ** 2 for W in weights]
    at_init = lam_x * sum(math.prod(sq_norms[:i] + sq_norms[i + 1 :]) for i in range(depth))
    return max(at_minimum, at_init)


def _raise_divergence(X, Y, weights, h, method, bad_step, bad_value, seed=None, n_seeds=None):
    limit = integrate.STABILITY_LIMIT[method]
    sharp = _sharpness_estimate(X, Y, weights)
    estimate = limit / sharp if sharp > 0 else math.inf
    h_name = "lr" if method == "gd" else "dt"
    if estimate < h:
        suggested = estimate
        how = f"about {limit:g}/lambda_max, lambda_max ~ {sharp:.3g} estimated from the data and initial weights"
    else:
        suggested = h / 10
        how = "a tenfold reduction; the Hessian estimate did not explain the blow-up"
    what = "gradient descent" if method == "gd" else "RK4 gradient flow"
    where = f" in seed {seed} (of {n_seeds})" if seed is not None else ""
    threshold_txt = f"{DIVERGENCE_FACTOR:g} x (initial loss + 1)"
    reason = f"loss = {bad_value!r}" if not np.isfinite(bad_value) else f"loss = {bad_value:.3g} > {threshold_txt}"
    msg = (
        f"{what} diverged{where} at step {bad_step} (t = {bad_step * h:.6g}): {reason}. "
        f"The step size {h_name}={h!r} is too large; try {h_name} <= {suggested:.3g} ({how})."
    )
    raise DivergenceError(msg, step=int(bad_step), time=bad_step * h, lr=h, suggested_lr=suggested, seed=seed)
