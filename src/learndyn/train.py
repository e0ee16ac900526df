"""Simulation of linear and simple nonlinear MLPs: full-batch gradient descent and RK4 gradient flow.

Conventions (the same throughout learndyn):

- Data: ``X`` has shape ``(P, n_in)`` and ``Y`` shape ``(P, n_out)``, one item per row.
- Weights: a tuple ``(W1, ..., WL)`` with ``W_l`` of shape ``(n_l, n_{l-1})``, ``n_0 = n_in`` and
  ``n_L = n_out``. The network is ``f(X) = phi(... phi(X W1^T) ...) WL^T``; ``phi`` acts on the
  hidden layers only and is the identity by default (a deep linear network).
- Loss: ``L = 1/(2P) sum_mu ||y_mu - f(x_mu)||^2`` (half the mean over items of the squared error).
- Time: full-batch GD with learning rate ``lr`` takes ``W <- W - lr * grad L(W)``; step ``k``
  corresponds to gradient-flow time ``t = lr * k`` (``tau = 1``). The gradient flow itself is
  ``dW/dt = -grad L(W)``, which :func:`gradient_flow_rk4` integrates with the classical RK4 scheme.

Both simulators run one jit-compiled ``lax.scan`` over the recording grid, with an inner
``lax.while_loop`` for the steps between two records, and ``jax.vmap`` over seeds in
:func:`simulate_gd_seeds`. Divergence (a non-finite loss, or a loss above
``DIVERGENCE_FACTOR * (L(0) + 1)``) is detected inside the loop, the weights are frozen from that
step on, and :class:`DivergenceError` is raised after the scan with the step and a hint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from learndyn import _checks, integrate
from learndyn._loop import (
    ACTIVATIONS,
    DIVERGENCE_FACTOR,
    DivergenceError,
    _activation,
    _cast_floats,
    _data,
    _forward,
    _is_tracer,
    _loss,
    _net,
    _raise_divergence,
    _simulate_jit,
    _value_and_grad,
    _weights,
)
from learndyn.integrate import linear_times, log_times
from learndyn.nets import MLP
from learndyn.nets import linear as linear_net
from learndyn.simulation import Simulation

__all__ = [
    "ACTIVATIONS",
    "DIVERGENCE_FACTOR",
    "DivergenceError",
    "GDResult",
    "forward",
    "gd_trajectory",
    "gradient_flow_rk4",
    "linear_times",
    "log_times",
    "loss",
    "loss_grad",
    "Simulation",
    "simulate",
    "simulate_gd",
    "simulate_gd_seeds",
    "rk4_trajectory",
    "stack_weights",
]


@dataclass(frozen=True, eq=False)
class GDResult:
    """A simulated trajectory, recorded on a grid of gradient-flow times.

    Attributes
    ----------
    t : numpy.ndarray, shape (T,)
        The recorded gradient-flow times, exactly ``lr * steps`` (these can differ from the
        requested times by up to ``lr / 2``, see :func:`simulate_gd`).
    steps : numpy.ndarray of int64, shape (T,)
        The step index of each record (GD steps, or RK4 steps of size ``lr``).
    weights : tuple of numpy.ndarray
        One array per layer with a leading time axis, ``(T, n_l, n_{l-1})``; with seeds
        (:func:`simulate_gd_seeds`) a further leading seed axis, ``(S, T, n_l, n_{l-1})``.
    loss : numpy.ndarray, shape (T,) or (S, T)
        The loss ``1/(2P) sum_mu ||y_mu - f_mu||^2`` at each record.
    lr : float
        The step size: the learning rate for GD, ``dt`` for RK4.
    method : str
        ``"gd"`` or ``"rk4"``.
    activation : str
        The hidden-layer activation.
    """

    t: np.ndarray
    steps: np.ndarray
    weights: tuple[np.ndarray, ...]
    loss: np.ndarray
    lr: float
    method: str
    activation: str

    @property
    def net(self) -> MLP:
        """The simulated network (widths from the weights, the activation, no biases)."""
        return _net(tuple(W[(0,) * (W.ndim - 2)] for W in self.weights), self.activation)


# --------------------------------------------------------------------------------------------
# Public model functions


def forward(weights, X, activation="linear"):
    """Network outputs ``f(X) = phi(... phi(X W1^T) ...) WL^T`` for items in the rows of ``X``.

    Parameters
    ----------
    weights : tuple of arrays
        ``(W1, ..., WL)`` with ``W_l`` of shape ``(n_l, n_{l-1})`` and ``n_0 = X.shape[1]``.
    X : array, shape (P, n_in)
        Inputs, one item per row.
    activation : str
        Applied at the hidden layers only; the output layer is linear.

    Returns
    -------
    jax.Array, shape (P, n_L)

    Notes
    -----
    Can be used inside ``jax.jit``/``jax.grad`` (shape checks still run; value checks for NaN
    are skipped on traced arrays).

    Examples
    --------
    >>> import numpy as np
    >>> from learndyn.train import forward
    >>> W1, W2 = np.ones((3, 2)), np.ones((1, 3))
    >>> forward((W1, W2), np.array([[1.0, 2.0]])).tolist()
    [[9.0]]
    """
    activation = _activation(activation)
    X, _ = _data(X)
    weights = _weights(weights, X.shape[1])
    return _forward(weights, X, activation)


def loss(weights, X, Y, activation="linear"):
    """Mean-squared-error loss ``L = 1/(2P) sum_mu ||y_mu - f(x_mu)||^2``.

    Parameters
    ----------
    weights : tuple of arrays
        ``(W1, ..., WL)``, ``W_l`` of shape ``(n_l, n_{l-1})``.
    X : array, shape (P, n_in)
        Inputs, one item per row.
    Y : array, shape (P, n_out)
        Targets, one item per row.
    activation : str
        Hidden-layer activation.

    Returns
    -------
    jax.Array, scalar
        Half the mean over items of the squared error (the library's time convention rests on
        this normalisation: GD with learning rate ``lr`` advances gradient-flow time by ``lr``).

    Examples
    --------
    >>> import numpy as np
    >>> from learndyn.train import loss
    >>> float(loss((np.zeros((1, 2)),), np.eye(2), np.array([[1.0], [3.0]])))
    2.5
    """
    activation = _activation(activation)
    X, Y = _data(X, Y)
    weights = _weights(weights, X.shape[1], Y.shape[1])
    return _loss(weights, X, Y, activation)


def loss_grad(weights, X, Y, activation="linear"):
    """Gradient of :func:`loss` with respect to each weight matrix (the one the simulators use).

    Parameters
    ----------
    weights, X, Y, activation
        As in :func:`loss`.

    Returns
    -------
    tuple of jax.Array
        ``(dL/dW1, ..., dL/dWL)``, same shapes as ``weights``. This is exactly the gradient the
        simulators use: for linear nets the analytic form
        ``dL/dW_l = (W_L...W_{l+1})^T (M Sxx - Syx) (W_{l-1}...W_1)^T`` with ``M = W_L...W_1``
        (on a QR-compressed copy of the data when ``P > n_in``), otherwise reverse-mode
        autodiff, where ``"relu"`` has derivative 0 at exactly 0. Inside jax transformations it
        falls back to autodiff of :func:`loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from learndyn.train import loss_grad
    >>> (g,) = loss_grad((np.zeros((1, 2)),), np.eye(2), np.array([[1.0], [3.0]]))
    >>> g.tolist()  # -(Y^T X)/P
    [[-0.5, -1.5]]
    """
    activation = _activation(activation)
    X, Y = _data(X, Y)
    weights = _weights(weights, X.shape[1], Y.shape[1])
    if any(_is_tracer(a) for a in (X, Y, *weights)):
        return tuple(jax.grad(_loss)(weights, X, Y, activation))
    net = _net(weights, activation)
    Xc, Yc, offset = linear_net.compress(X, Y) if net.is_linear else (X, Y, 0.0)
    product = net.is_linear and linear_net.use_product(Xc, weights)
    inv_p = 1.0 / X.shape[0]
    _, grads = _value_and_grad(Xc, Yc, offset, inv_p, net, product)(weights)
    return tuple(grads)


# --------------------------------------------------------------------------------------------
# Public simulators


def _prepare(X, Y, weights, activation, *, batched):
    activation = _activation(activation)
    X, Y = _data(X, Y)
    name = "weights_batched" if batched else "weights"
    weights = _weights(weights, X.shape[1], Y.shape[1], batched=batched, name=name)
    if any(_is_tracer(a) for a in (X, Y, *weights)):
        raise TypeError(
            "the simulators cannot be called inside jax.jit/vmap/grad (they are already one jitted "
            "loop and return NumPy arrays); call them with concrete arrays, and use "
            "simulate_gd_seeds for a batch of initialisations"
        )
    return X, Y, weights, activation


def _run(X, Y, weights, h, t, activation, method, *, batched):
    h_name = "lr" if method == "gd" else "dt"
    X, Y, weights, activation = _prepare(X, Y, weights, activation, batched=batched)
    h = _checks.positive_float(h_name, h)
    steps = integrate.steps_for(t, h, exact=(method == "rk4"), h_name=h_name)
    S = weights[0].shape[0] if batched else None
    net = _net(weights, activation)
    Xc, Yc, offset = linear_net.compress(X, Y) if net.is_linear else (X, Y, 0.0)
    w_rec, _, loss_rec, bad_step, bad_value = _simulate_jit(
        tuple(jnp.asarray(w) for w in weights),
        {},
        (),
        jnp.zeros((S, 2) if batched else (2,), jnp.uint32),
        jnp.asarray(Xc),
        jnp.asarray(Yc),
        jnp.asarray(offset),
        jnp.asarray(1.0 / X.shape[0]),
        jnp.asarray(h),
        jnp.asarray(steps),
        net=net,
        rule=None,
        method=method,
        product=net.is_linear and linear_net.use_product(Xc, weights),
        batched=batched,
        drift=False,
    )
    bad_step = np.atleast_1d(np.asarray(bad_step))
    bad_value = np.atleast_1d(np.asarray(bad_value))
    loss_rec = np.asarray(loss_rec)
    w_rec = tuple(np.asarray(w) for w in w_rec)
    if batched:  # the scan stacks records first; results are (S, T, ...)
        loss_rec = loss_rec.T
        w_rec = tuple(np.moveaxis(w, 0, 1) for w in w_rec)
    failed = np.flatnonzero(bad_step >= 0)
    if failed.size:
        i = int(failed[0])
        w0 = tuple(w[i] for w in weights) if batched else weights
        seed = i if batched else None
        n_seeds = len(bad_step) if batched else None
        _raise_divergence(X, Y, w0, h, method, int(bad_step[i]), float(bad_value[i]), seed, n_seeds)
    return GDResult(
        t=steps * h,
        steps=steps,
        weights=w_rec,
        loss=loss_rec,
        lr=h,
        method=method,
        activation=activation,
    )


def simulate(
    net, rule, task, params, *, lr, t, key=0, state=None, method="gd", drift=False, batch_size=None, param=None
) -> Simulation:
    """Train ``net`` on ``task`` with a learning rule, full batch, recording at gradient-flow times ``t``.

    Each step is ``params <- params - lr * update`` with the rule's update from the forward cache (Euler, so for
    GD this is gradient descent on ``L = 1/(2P) sum_mu ||y_mu - f_mu||^2``, and step ``k`` is time ``t = lr k``);
    ``method="rk4"`` integrates the same flow with step ``lr``. One jit-compiled scan; divergence stops the run
    with the step, the rule and a hint.

    Parameters
    ----------
    net : learndyn.nets.MLP (or any net with ``apply``, ``phi``, ``dphi``, ``multiplier``, ``depth``)
        or :class:`learndyn.nets.GatedDLN`, which has no layer backward pass and trains by ``rule="gd"`` through
        autodiff of its forward pass (:class:`learndyn.rules.Autodiff`; no ``drift``, no ``param``).
    rule : str or rule
        A rule from :mod:`learndyn.rules` bound to ``net``, or its name (``"gd"``, ``"fa"``, ``"dfa"``,
        ``"sign-fa"``, ``"hebb"``; ``"fa"`` by name means ``rho = 0``).
    task : learndyn.tasks.Task
        Training data ``X (P, n_in)``, ``Y (P, n_out)``.
    params : pytree
        Initial parameters (``net.init(key)``, or a tuple of weight matrices). With a leading seed axis on every
        leaf (``jax.vmap(net.init)(keys)``) the seeds run together, vectorised with ``jax.vmap``; the rule's state
        then gets one key per seed.
        The run is in the params' precision: all leaves float64 (the default of ``net.init``) or all float32
        (``net.init(key, dtype="float32")``); the data, ``lr``, the rule's state and the learning-rate scales are
        cast to it, and the recorded params and loss keep it. Mixed precisions raise ValueError. float32 runs 2-3x
        faster on CPU (``benchmarks/README.md``); ``tests/test_float32.py`` bounds its error on the loss (relative
        <= 1e-4, measured <= 6e-6, over 200 GD steps of a width-256 ReLU MLP).
    lr : float
        Learning rate (RK4: time step), > 0.
    t : array_like
        Non-decreasing record times >= 0, rounded to steps ``round(t / lr)``.
    key : int or jax.random key
        Seed of the rule's randomness (feedback matrices), when ``state`` is not given.
    state : pytree, optional
        The rule's state, e.g. to share feedback matrices between runs.
    method : {"gd", "rk4"}
    drift : bool
        Accumulate ``lr^2 sum G_l G_l^T`` of the hidden layers (Euler only): the exact drift of feedback
        alignment's conserved quantities.
    batch_size : int, optional
        Minibatch SGD: every step uses ``batch_size`` items drawn without replacement (from ``key``); the update
        is the minibatch mean, so time is still ``t = lr * step``. Recorded losses are full-batch. Default: full
        batch.
    param : learndyn.param.Parameterization, optional
        Per-layer learning-rate scales of an abc-parameterization (``param.lr_tree(net.sizes, step)``, IP-LLR's
        warm-up steps included): layer ``l`` moves by ``lr * scale_l * update_l``. Build the net and the initial
        parameters from the same parameterization (``param.mlp``, ``param.init``); for mean-field the scales are
        ``gamma0^2 N`` and ``t = lr * step`` is the paper's time.

    Returns
    -------
    Simulation

    Examples
    --------
    >>> import jax
    >>> from learndyn import nets, rules, tasks
    >>> task = tasks.random_regression(20, 3, 2, seed=0)
    >>> net = nets.MLP((3, 16, 2), activation="relu")
    >>> run = simulate(net, rules.FA(net), task, net.init(jax.random.key(0)), lr=0.05, t=[0.0, 5.0])
    >>> bool(run.loss[-1] < run.loss[0]), run.params["W"][0].shape
    (True, (2, 16, 3))
    """
    from learndyn import rules as _rules

    if isinstance(rule, str):
        rule = _rules.get(rule, net)
    if not (callable(getattr(rule, "update", None)) and callable(getattr(rule, "init", None))):
        raise TypeError(f"rule must be a rule name or have init(key, params) and update(...); got {rule!r}")
    if getattr(rule, "net", net) != net:
        raise ValueError("rule is bound to another net than the one simulated; build it with the same net")
    method = _checks.one_of("method", method, integrate.STABILITY_LIMIT)
    if getattr(rule, "autodiff", False) and (drift or param is not None):
        raise ValueError(f"{type(net).__name__} trains by autodiff GD, which has no per-layer drift sums or "
                         "learning-rate scales; use drift=False and param=None")  # fmt: skip
    if drift and method != "gd":
        raise ValueError("drift=True accumulates the Euler (GD-step) drift; use method='gd'")
    if batch_size is not None:
        batch_size = _checks.positive_int("batch_size", batch_size)
        if batch_size > task.P:
            raise ValueError(f"batch_size must be <= the number of items P = {task.P}; got {batch_size}")
        if method != "gd":
            raise ValueError("batch_size (minibatch SGD) needs method='gd'")
    h = _checks.positive_float("lr", lr)
    X, Y = _data(task.X, task.Y)
    if X.shape[1] != net.n_in or Y.shape[1] != net.n_out:
        raise ValueError(
            f"the net maps {net.n_in} inputs to {net.n_out} outputs but the task has X {X.shape}, Y {Y.shape}"
        )
    params = jax.tree_util.tree_map(jnp.asarray, params)
    # The run's precision is the params' (float64 by default, float32 from net.init(key, dtype="float32")): data,
    # step size, rule state and scales follow it, so a float32 run stays float32 inside the jitted loop.
    dtype = _checks.tree_float_dtype("params", params)
    W = params["W"] if isinstance(params, dict) else params
    batched = W[0].ndim == 3
    n_seeds = W[0].shape[0] if batched else None
    if isinstance(key, int):
        key = jax.random.key(_checks.rng(key).integers(2**31))
    key, batch_key = jax.random.split(key)
    if state is None:
        state = jax.vmap(rule.init)(jax.random.split(key, n_seeds), params) if batched else rule.init(key, params)
    state = _cast_floats(state, dtype)
    batch_keys = jax.random.key_data(jax.random.split(batch_key, n_seeds) if batched else batch_key)
    steps = integrate.steps_for(t, h, h_name="lr")
    lead = (n_seeds,) if batched else ()
    acc = tuple(jnp.zeros((*lead, w.shape[-2], w.shape[-2]), dtype) for w in W[:-1]) if drift else ()
    scales = None
    if param is not None:
        warm = int(getattr(param, "warmup_steps", 0))
        as_tree = lambda step: _cast_floats(param.lr_tree(net.sizes, step), dtype)  # noqa: E731
        scales = (jnp.asarray(warm), as_tree(0), as_tree(warm))
        if isinstance(params, dict) and set(scales[1]) != set(params):
            raise ValueError(
                f"param {getattr(param, 'name', param)!r} scales {sorted(scales[1])} but params hold {sorted(params)}; "
                "build params with param.init"
            )
    w_rec, acc_rec, loss_rec, bad_step, bad_value = _simulate_jit(
        params, state, acc, batch_keys, jnp.asarray(X, dtype), jnp.asarray(Y, dtype), jnp.asarray(0.0, dtype),
        jnp.asarray(1.0 / X.shape[0], dtype), jnp.asarray(h, dtype), jnp.asarray(steps), net=net, rule=rule,
        method=method, product=False, batched=batched, drift=bool(drift), batch_size=batch_size, scales=scales,
    )  # fmt: skip
    bad_step, bad_value = np.atleast_1d(np.asarray(bad_step)), np.atleast_1d(np.asarray(bad_value))
    failed = np.flatnonzero(bad_step >= 0)
    if failed.size:
        i = int(failed[0])
        k = int(bad_step[i])
        where = f" (seed {i} of {n_seeds})" if batched else ""
        raise DivergenceError(
            f"{getattr(rule, 'name', 'the rule')} training of {net} diverged{where} at step {k} (t = {k * h:.6g}): "
            f"loss = {float(bad_value[i]):.3g}. Try a smaller lr (e.g. lr = {h / 10:.3g}) or a smaller "
            "initialisation.",
            step=k, time=k * h, lr=h, suggested_lr=h / 10, seed=i if batched else None,
        )  # fmt: skip
    # the scan stacks records first; with seeds the results are (S, T, ...)
    to_np = (lambda a: np.moveaxis(np.asarray(a), 0, 1)) if batched else np.asarray
    return Simulation(
        t=steps * h,
        steps=steps,
        params=jax.tree_util.tree_map(to_np, w_rec),
        loss=to_np(loss_rec),
        state=state,
        drift=tuple(to_np(a) for a in acc_rec) if drift else None,
        net=net,
        rule=rule,
        lr=h,
        method=method,
        param=param,
    )


def simulate_gd(X, Y, weights, *, lr, t, activation="linear"):
    """Full-batch gradient descent on ``L = 1/(2P) sum_mu ||y_mu - f_mu||^2``, recorded at times ``t``.

    Each step is ``W_l <- W_l - lr * dL/dW_l`` for all layers at once (the gradient of
    :func:`loss_grad`: analytic for linear nets, autodiff otherwise). Step
    ``k`` corresponds to gradient-flow time ``t = lr * k`` (``tau = 1``), so GD approximates the
    gradient flow ``dW/dt = -grad L`` with an O(lr) error.

    Parameters
    ----------
    X : array, shape (P, n_in)
        Inputs, one item per row.
    Y : array, shape (P, n_out)
        Targets, one item per row.
    weights : tuple of arrays
        Initial ``(W1, ..., WL)``, ``W_l`` of shape ``(n_l, n_{l-1})``.
    lr : float
        Learning rate, > 0.
    t : array_like
        Non-decreasing gradient-flow times to record, >= 0 (linear or log grid, may include 0;
        see :func:`linear_times`, :func:`log_times`). Each time is mapped to the step
        ``k = round(t / lr)``; the actual times ``lr * k`` are returned in ``GDResult.t``.
    activation : str
        Hidden-layer activation.

    Returns
    -------
    GDResult
        ``weights[l]`` has shape ``(T, n_l, n_{l-1})`` and ``loss`` shape ``(T,)``.

    Raises
    ------
    DivergenceError
        If the loss becomes non-finite or exceeds ``DIVERGENCE_FACTOR * (L(0) + 1)``; the
        message names the first bad step and suggests a smaller ``lr``.
    ValueError, TypeError
        For inconsistent shapes, non-finite data, ``lr <= 0``, a bad time grid or activation.

    Notes
    -----
    The whole loop is one jit-compiled ``lax.scan`` over the records with an inner
    ``lax.while_loop``; calls with the same shapes, number of records and activation reuse the
    compiled code (``lr`` and ``t`` are traced, not static).

    Examples
    --------
    >>> import numpy as np
    >>> from learndyn.train import simulate_gd
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.standard_normal((20, 3)), rng.standard_normal((20, 2))
    >>> w = (0.1 * rng.standard_normal((4, 3)), 0.1 * rng.standard_normal((2, 4)))
    >>> res = simulate_gd(X, Y, w, lr=0.05, t=[0.0, 1.0, 2.0])
    >>> res.steps.tolist(), res.weights[0].shape
    ([0, 20, 40], (3, 4, 3))
    >>> bool(res.loss[-1] < res.loss[0])
    True
    """
    return _run(X, Y, weights, lr, t, activation, "gd", batched=False)


def simulate_gd_seeds(X, Y, weights_batched, *, lr, t, activation="linear"):
    """:func:`simulate_gd` for a batch of initialisations (seeds), vectorised with ``jax.vmap``.

    Parameters
    ----------
    X, Y, lr, t, activation
        As in :func:`simulate_gd` (shared by all seeds).
    weights_batched : tuple of arrays
        ``(W1, ..., WL)`` with a leading seed axis, ``W_l`` of shape ``(S, n_l, n_{l-1})``;
        build it with :func:`stack_weights`.

    Returns
    -------
    GDResult
        ``weights[l]`` has shape ``(S, T, n_l, n_{l-1})`` and ``loss`` shape ``(S, T)``;
        ``t`` and ``steps`` (shape ``(T,)``) are shared.

    Raises
    ------
    DivergenceError
        If any seed diverges; the message names the first such seed and its first bad step.

    Examples
    --------
    >>> import numpy as np
    >>> from learndyn.train import simulate_gd_seeds, stack_weights
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.standard_normal((20, 3)), rng.standard_normal((20, 2))
    >>> inits = [(0.1 * rng.standard_normal((4, 3)), 0.1 * rng.standard_normal((2, 4)))
    ...          for _ in range(5)]
    >>> res = simulate_gd_seeds(X, Y, stack_weights(inits), lr=0.05, t=[0.0, 1.0])
    >>> res.weights[1].shape, res.loss.shape
    ((5, 2, 2, 4), (5, 2))
    """
    return _run(X, Y, weights_batched, lr, t, activation, "gd", batched=True)


def gradient_flow_rk4(X, Y, weights, *, t, dt, activation="linear"):
    """Integrate the gradient flow ``dW/dt = -grad L(W)`` with the classical 4th-order Runge-Kutta.

    A high-accuracy reference for :func:`simulate_gd` and for the exact theory: the global error
    is O(dt^4) (for a well-conditioned linear task, about 1e-10 at ``dt = 1e-2``). Time is the
    gradient-flow time of the library (``tau = 1``, loss ``1/(2P) sum ||y - f||^2``).

    Parameters
    ----------
    X : array, shape (P, n_in)
        Inputs, one item per row.
    Y : array, shape (P, n_out)
        Targets, one item per row.
    weights : tuple of arrays
        Initial ``(W1, ..., WL)``, ``W_l`` of shape ``(n_l, n_{l-1})``.
    t : array_like
        Non-decreasing record times >= 0. Each must be a multiple of ``dt`` up to rounding
        (``|t/dt - round(t/dt)| <= 1e-6``), otherwise ValueError; round a grid with
        ``dt * np.round(t / dt)``.
    dt : float
        Time step, > 0.
    activation : str
        Hidden-layer activation (for ``"relu"`` the flow is only piecewise smooth and RK4 loses
        its 4th order at kinks).

    Returns
    -------
    GDResult
        As :func:`simulate_gd`, with ``method="rk4"``, ``lr=dt`` and ``steps`` counting RK4 steps.

    Raises
    ------
    DivergenceError
        If the integration blows up (``dt`` far too large for the stiffness of the task).

    Examples
    --------
    >>> import numpy as np
    >>> from learndyn.train import gradient_flow_rk4
    >>> X, Y = np.eye(2), np.array([[1.0], [0.0]])
    >>> res = gradient_flow_rk4(X, Y, (np.zeros((1, 2)),), t=[0.0, 1.0], dt=0.01)
    >>> round(float(res.weights[0][-1, 0, 0]), 6)  # shallow net: 1 - exp(-t/2) with P = 2
    0.393469
    """
    return _run(X, Y, weights, dt, t, activation, "rk4", batched=False)


def stack_weights(weight_tuples: Sequence):
    """Stack per-seed weight tuples into one tuple with a leading seed axis.

    Parameters
    ----------
    weight_tuples : sequence of tuples of arrays
        ``[(W1, ..., WL) for each seed]``; all seeds must have the same number of layers and the
        same shapes.

    Returns
    -------
    tuple of numpy.ndarray
        ``(W1, ..., WL)`` with ``W_l`` of shape ``(S, n_l, n_{l-1})``, as
        :func:`simulate_gd_seeds` expects.

    Examples
    --------
    >>> import numpy as np
    >>> from learndyn.train import stack_weights
    >>> w = stack_weights([(np.zeros((4, 3)), np.zeros((2, 4))) for _ in range(5)])
    >>> [a.shape for a in w]
    [(5, 4, 3), (5, 2, 4)]
    """
    if not isinstance(weight_tuples, Sequence) or isinstance(weight_tuples, (str, bytes)):
        raise TypeError(
            f"weight_tuples must be a list of weight tuples (W1, ..., WL), one per seed; got "
            f"{type(weight_tuples).__name__}"
        )
    if len(weight_tuples) == 0:
        raise ValueError("weight_tuples must hold at least one seed; got an empty sequence")
    first = weight_tuples[0]
    if not isinstance(first, (tuple, list)) or len(first) == 0:
        raise TypeError(f"weight_tuples[0] must be a tuple (W1, ..., WL) of 2-D arrays; got {type(first).__name__}")
    n_in = np.shape(first[0])[-1] if np.ndim(first[0]) == 2 else None
    if n_in is None:
        raise ValueError(f"weight_tuples[0][0] (W1) must be 2-D; got shape {np.shape(first[0])}")
    ref = _weights(first, n_in, name="weight_tuples[0]")
    per_seed = [ref]
    for s, w in enumerate(weight_tuples[1:], start=1):
        name = f"weight_tuples[{s}]"
        if not isinstance(w, (tuple, list)) or len(w) != len(ref):
            raise ValueError(
                f"{name} must be a tuple of {len(ref)} layers like weight_tuples[0]; got "
                f"{type(w).__name__} of length {len(w) if hasattr(w, '__len__') else '?'}"
            )
        arrs = _weights(w, n_in, name=name)
        for i, (a, b) in enumerate(zip(arrs, ref, strict=True)):
            if a.shape != b.shape:
                raise ValueError(
                    f"{name}[{i}] (W{i + 1}) has shape {a.shape} but weight_tuples[0][{i}] has "
                    f"{b.shape}; all seeds need the same shapes"
                )
        per_seed.append(arrs)
    return tuple(np.stack(layer) for layer in zip(*per_seed, strict=True))


def gd_trajectory(task, weights, *, lr: float, t, ntk: bool = True, rsm: bool = True, activation: str = "linear"):
    """Full-batch GD from ``weights`` on ``task``, recorded at times ``t`` (``t = lr * step``), as a trajectory.

    The variables come from the simulated net's own forward pass (:func:`learndyn.observables.trajectory_from_weights`;
    for nonlinear nets ``rsm`` keeps only the first hidden layer's RSM).

    Returns
    -------
    (xarray.Dataset, tuple of the final weights)
    """
    from learndyn import observables

    res = simulate_gd(task.X, task.Y, tuple(weights), lr=lr, t=t, activation=activation)
    rsm_arg = rsm if res.net.is_linear else (None if rsm else False)
    ds = observables.trajectory_from_weights(task, res.t, res.weights, res.net, ntk=ntk, rsm=rsm_arg)
    ds.attrs.update(source="simulation", method="gd", lr=float(lr), activation=activation)
    return ds, tuple(np.asarray(W[-1]) for W in res.weights)


def rk4_trajectory(task, weights, *, t, dt: float, ntk: bool = False, rsm: bool = False):
    """RK4 gradient flow of a linear net from ``weights`` on ``task``, as a trajectory Dataset.

    The requested times are rounded to distinct multiples of ``dt``, so the trajectory never repeats a time.
    """
    from learndyn import observables

    t = dt * np.unique(np.round(np.asarray(t) / dt))
    res = gradient_flow_rk4(task.X, task.Y, tuple(weights), t=t, dt=dt)
    ds = observables.trajectory_from_weights(task, res.t, res.weights, ntk=ntk, rsm=rsm)
    ds.attrs.update(source="rk4", method="rk4", dt=float(dt))
    return ds
