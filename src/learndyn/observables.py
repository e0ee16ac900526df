"""Observables of linear networks as trajectory variables, shared by theory and simulation.

Simulation (weights over time) and theory (QQ^T over time) both reduce to the three blocks ``w2w1 = W2 W1``,
``w1tw1 = W1^T W1`` and ``w2w2t = W2 W2^T``; every other observable is computed here from those blocks by the same
code, so a comparison of two trajectories measures the dynamics and nothing else.

Variables of a linear trajectory (an ``xarray.Dataset`` with coordinate ``t``, gradient-flow time):

============  ===================  ================================================================
name          dims                 meaning
============  ===================  ================================================================
loss          (t,)                 ``1/(2P) ||Y - f||_F^2`` on the training items
test_loss     (t,)                 same on the test split, when the task has one
f             (t, p, o)            network outputs on the training items
w2w1          (t, o, i)            network map ``W2 W1``
w1tw1         (t, i, i2)           input-side gram ``W1^T W1``
w2w2t         (t, o, o2)           output-side gram ``W2 W2^T``
rsm_in        (t, p, q)            hidden representational similarity of inputs ``X W1^T W1 X^T``
rsm_out       (t, p, q)            of outputs ``Y (W2 W2^T)^+ Y^T``
ntk           (t, p, o, q, o2)     neural tangent kernel (two-layer nets)
============  ===================  ================================================================
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from learndyn import _checks
from learndyn.tasks import Task

#: Long names and units of the standard trajectory variables (netCDF/CF attributes). Every quantity is in the
#: units of the task's data; ``"1"`` marks dimensionless ones. Theory and simulation share them.
VARIABLES: dict[str, dict[str, str]] = {
    "t": {"long_name": "gradient-flow time t = lr * step (full-batch GD, loss 1/(2P) sum ||y - f||^2)", "units": "1"},
    "loss": {"long_name": "training loss 1/(2P) sum_mu ||y_mu - f_mu||^2", "units": "squared target units"},
    "test_loss": {"long_name": "test loss 1/(2P_test) sum_mu ||y_mu - f_mu||^2", "units": "squared target units"},
    "f": {"long_name": "network outputs on the training items", "units": "target units"},
    "w2w1": {"long_name": "network map W2 W1 (output x input)", "units": "target units per input unit"},
    "w1tw1": {"long_name": "input-side gram W1^T W1", "units": "1"},
    "w2w2t": {"long_name": "output-side gram W2 W2^T", "units": "1"},
    "rsm_in": {"long_name": "input-side representational similarity X W1^T W1 X^T", "units": "1"},
    "rsm_out": {"long_name": "output-side representational similarity Y (W2 W2^T)^+ Y^T", "units": "1"},
    "ntk": {"long_name": "neural tangent kernel K[p, o, q, o2] = sum_theta df_po/dtheta df_qo2/dtheta", "units": "1"},
    "balance_drift": {
        "long_name": "max |(W2^T W2 - W1 W1^T)(t) - (same)(0)|, conserved by gradient flow",
        "units": "1",
    },
    "entk": {"long_name": "effective NTK of the learning rule: df_pa/dt = -(1/P) sum_qb K[p,a,q,b] e_qb", "units": "1"},
    "entk_task_alignment": {"long_name": "kernel-task alignment A(K, y y^T) of the rule's eNTK", "units": "1"},
    "grad_corr": {
        "long_name": "corr(g, g~): mean over items of the cosine of the true and the rule's backward signals, "
        "per hidden layer",
        "units": "1",
    },
    "p": {"long_name": "training item"},
    "q": {"long_name": "training item (second index)"},
    "i": {"long_name": "input unit"},
    "i2": {"long_name": "input unit (second index)"},
    "o": {"long_name": "output unit"},
    "o2": {"long_name": "output unit (second index)"},
}


def describe_variables(ds: xr.Dataset) -> xr.Dataset:
    """Give every standard variable and coordinate of ``ds`` its ``long_name`` and ``units`` (kept where set).

    Examples
    --------
    >>> ds = describe_variables(xr.Dataset({"loss": ("t", [1.0, 0.5])}, coords={"t": [0.0, 1.0]}))
    >>> ds["loss"].attrs["units"]
    'squared target units'
    """
    for name in list(ds.data_vars) + list(ds.coords):
        for key, value in VARIABLES.get(str(name), {}).items():
            ds[name].attrs.setdefault(key, value)
    return ds


def blocks_from_qqt(qqt, n_in: int) -> dict[str, np.ndarray]:
    """Split ``QQ^T`` (..., n_in + n_out, n_in + n_out) into ``w1tw1``, ``w2w1`` and ``w2w2t``."""
    qqt = np.asarray(qqt)
    return {
        "w1tw1": qqt[..., :n_in, :n_in],
        "w2w1": qqt[..., n_in:, :n_in],
        "w2w2t": qqt[..., n_in:, n_in:],
    }


def blocks_from_weights(weights: Sequence) -> dict[str, np.ndarray]:
    """Blocks of a linear chain ``(W1, ..., WL)`` (each with any leading batch/time axes).

    For depth > 2 the blocks generalise as ``w2w1 = WL ... W1`` (the network map), ``w1tw1 = W1^T W1`` (first layer)
    and ``w2w2t = WL WL^T`` (last layer).
    """
    ws = [np.asarray(W) for W in weights]
    prod = ws[0]
    for W in ws[1:]:
        prod = W @ prod
    first, last = ws[0], ws[-1]
    return {
        "w1tw1": np.swapaxes(first, -1, -2) @ first,
        "w2w1": prod,
        "w2w2t": last @ np.swapaxes(last, -1, -2),
    }


def loss_from_map(task: Task, w2w1) -> np.ndarray:
    """Training loss ``1/(2P) ||Y - X M^T||^2`` of a linear map ``M = w2w1`` (..., n_out, n_in), via correlations.

    Uses ``L = 1/2 tr S_yy - tr(M S_xy) + 1/2 tr(M S_xx M^T)``, exact for any inputs (not only whitened ones).
    """
    M = np.asarray(w2w1)
    sxx, syx, syy = task.sigma_xx, task.sigma_yx, task.sigma_yy
    return 0.5 * np.trace(syy) - np.einsum("...oi,oi->...", M, syx) + 0.5 * np.einsum("...oi,ij,...oj->...", M, sxx, M)


def ntk_linear(X, w1tw1, w2w2t) -> np.ndarray:
    """Kronecker-form NTK of a two-layer linear net, shape (..., P, n_out, P, n_out).

    ``Theta[p, o, q, o2] = delta_{o o2} x_p^T W1^T W1 x_q + (W2 W2^T)_{o o2} x_p^T x_q`` (as in Braun, Dominé,
    Fitzgerald & Saxe, NeurIPS 2022), the gradient inner product of outputs ``f_{p,o}`` and ``f_{q,o2}`` over all
    parameters. Function-space gradient flow is then ``df_{p,o}/dt = -(1/P) sum_{q,o2} Theta[p,o,q,o2] (f - y)_{q,o2}``.
    """
    X = np.asarray(X)
    k1 = np.einsum("pi,...ij,qj->...pq", X, np.asarray(w1tw1), X)
    kx = X @ X.T
    n_out = np.asarray(w2w2t).shape[-1]
    eye = np.eye(n_out)
    return np.einsum("...pq,ab->...paqb", k1, eye) + np.einsum("...ab,pq->...paqb", np.asarray(w2w2t), kx)


def _linear_apply(params, X):
    """Forward pass of a deep linear net given as a weight tuple (the default net of this module)."""
    h = X
    for W in params["W"] if isinstance(params, dict) else params:
        h = h @ W.T
    return h, {}


def _apply_fn(net):
    if net is None:
        return _linear_apply
    if isinstance(net, str) or not callable(getattr(net, "apply", None)):
        raise TypeError(
            f"net must be a network with apply(params, X) -> (f, cache), e.g. learndyn.nets.MLP(sizes, activation), "
            f"or None for a deep linear net; got {net!r}"
        )
    return net.apply


def ntk_autodiff(X, params, net=None) -> np.ndarray:
    """Empirical NTK ``J J^T`` by autodiff, shape (P, n_out, P, n_out): the gradient inner product of the outputs.

    Parameters
    ----------
    X : (P, n_in) array
    params : pytree
        The net's parameters (a tuple of weight matrices for a net without biases).
    net : object with ``apply(params, X) -> (f, cache)``, optional
        The network (e.g. :class:`learndyn.nets.MLP`); ``None`` means a deep linear net ``X W1^T ... WL^T``.

    The reference for :func:`ntk_linear` and the eNTK of gradient descent for any net.
    """
    apply = _apply_fn(net)
    X = jnp.asarray(X)
    params = jax.tree_util.tree_map(jnp.asarray, params)
    jac = jax.jacrev(lambda ps: apply(ps, X)[0])(params)
    f_shape = apply(params, X)[0].shape
    J = jnp.concatenate([j.reshape(*f_shape, -1) for j in jax.tree_util.tree_leaves(jac)], axis=-1)
    return np.asarray(jnp.einsum("pak,qbk->paqb", J, J))


def rsm_in(X, w1tw1) -> np.ndarray:
    """Input-side hidden RSM ``X W1^T W1 X^T`` (..., P, P)."""
    X = np.asarray(X)
    return np.einsum("pi,...ij,qj->...pq", X, np.asarray(w1tw1), X)


def rsm_out(Y, w2w2t, rcond: float = 1e-10) -> np.ndarray:
    """Output-side hidden RSM ``Y (W2 W2^T)^+ Y^T`` (..., P, P); pseudo-inverse with relative cutoff ``rcond``.

    The output-side RSM follows Braun et al. 2022; the inverse of ``W2 W2^T`` there is read here as a pseudo-inverse
    (our interpretation, which also covers singular grams). Eigenvalues below ``rcond`` times the largest are
    treated as zero, so the RSM of a small initialisation is dominated by the few modes already grown.
    """
    Y = np.asarray(Y)
    pinv = np.linalg.pinv(np.asarray(w2w2t), rtol=rcond, hermitian=True)
    return np.einsum("pa,...ab,qb->...pq", Y, pinv, Y)


def _output_signals(net, rule, params, cache, n_out, state=None, error=None):
    """Backward signals of one unit error per output: ``true[a][l]`` and ``pseudo[b][l]``, each ``(P, n_l)``.

    With a one-hot error on output ``a`` the back-propagated delta of layer ``l`` is ``d f_a / d h_l`` per item
    (the readout's is the one-hot column itself), and the rule's delta is its stand-in for it. Lists run over every
    weight layer, readout last, as ``rule.deltas`` returns them. For a rule whose deltas are not linear in the error
    (Hebb) ``pseudo[b]`` is the actual deltas at ``error`` times ``e_qb / ||e_q||^2``: the share of item ``q``'s pull
    that goes through output ``b`` (so that ``sum_b pseudo[b] e_qb`` gives the actual deltas back).
    """
    P = cache["phi"][0].shape[0]
    eye = jnp.eye(n_out, dtype=cache["phi"][0].dtype)
    onehot = [jnp.broadcast_to(eye[a], (P, n_out)) for a in range(n_out)]
    true = [rule.gd_deltas(params, cache, e) for e in onehot]
    if getattr(rule, "linear_in_error", True):
        return true, [rule.deltas(params, cache, e, state) for e in onehot]
    if error is None:
        raise ValueError(
            f"the backward signals of the {getattr(rule, 'name', 'given')} rule depend on the error: pass error "
            "(f - y, shape (P, n_out))"
        )
    error = jnp.asarray(error)
    if error.shape != (P, n_out):
        raise ValueError(f"error must have shape (P, n_out) = {(P, n_out)}; got {tuple(error.shape)}")
    actual = rule.deltas(params, cache, error, state)
    sq = jnp.sum(error * error, axis=1)
    share = jnp.where(sq > 0, 1.0 / jnp.where(sq > 0, sq, 1.0), 0.0)[:, None] * error  # (P, n_out)
    return true, [[d * share[:, b : b + 1] for d in actual] for b in range(n_out)]


def entk(net, rule, params, X, state=None, error=None) -> np.ndarray:
    """The effective NTK of a learning rule, ``K[p, a, q, b]``, from the forward cache (structured, no Jacobian).

    Under the rule's flow the outputs move as ``df_pa/dt = -(1/P) sum_qb K[p, a, q, b] e_qb`` with
    ``e = f - y``; for gradient descent ``K`` is the NTK ``J J^T`` (:func:`ntk_autodiff`), for other rules it is
    generally not symmetric. Layer by layer (Bordelon & Pehlevan 2023, eq. 4)
    ``K = sum_l a_l^2 (g_l . g~_l)(phi_{l-1} . phi_{l-1} [+ 1 with biases])``, where ``g_l`` is the true backward
    signal of output ``a`` and ``g~_l`` the rule's pseudo-backward signal of output ``b`` (the unnormalised
    signals of :func:`backward_signals`, ``scale=1``).

    Parameters
    ----------
    net : a net with ``apply`` and ``multiplier`` (e.g. :class:`learndyn.nets.MLP`)
    rule : a rule of :mod:`learndyn.rules` bound to ``net`` (it provides ``deltas`` and ``gd_deltas``)
    params : pytree
        Parameters at one time.
    X : (P, n_in) array
        Items at which the kernel is evaluated (the training items for ``df/dt``).
    state : pytree, optional
        The rule's state (feedback matrices).
    error : (P, n_out) array, optional
        ``f - y``; needed only for rules whose update is not linear in the error (Hebb), whose kernel depends on
        it: ``K[p, a, q, b]`` then splits item ``q``'s pull over outputs in proportion to ``e_qb / ||e_q||^2``.

    Returns
    -------
    numpy.ndarray, shape (P, n_out, P, n_out)

    Examples
    --------
    >>> import jax
    >>> from learndyn import nets, rules
    >>> net = nets.MLP((3, 8, 2), activation="tanh")
    >>> params = net.init(jax.random.key(0))
    >>> X = np.ones((4, 3))
    >>> K = entk(net, rules.GD(net), params, X)
    >>> K.shape, bool(np.allclose(K, ntk_autodiff(X, params, net)))
    ((4, 2, 4, 2), True)
    """
    X = jnp.asarray(X)
    params = jax.tree_util.tree_map(jnp.asarray, params)
    f, cache = net.apply(params, X)
    P, n_out = f.shape
    true, pseudo = _output_signals(net, rule, params, cache, n_out, state, error)  # [a][l] -> (P, n_l)
    has_bias = isinstance(params, dict) and "b" in params
    K = jnp.zeros((P, n_out, P, n_out), dtype=f.dtype)
    for l, x in enumerate(cache["phi"]):
        gram = x @ x.T + (1.0 if has_bias else 0.0)
        G = jnp.stack([t[l] for t in true])  # (n_out, P, n_l)
        Gt = jnp.stack([t[l] for t in pseudo])
        K = K + net.multiplier(l) ** 2 * jnp.einsum("apn,bqn,pq->paqb", G, Gt, gram)
    return np.asarray(K)


def backward_signals(net, rule, params, X, state=None, *, output=None, error=None, scale="readout"):
    """The true and the rule's backward signals ``g^l``, ``g~^l`` of one output, per item and layer.

    ``g^l_mu = s * d f_mu / d h^l_mu`` is the back-propagated signal of hidden layer ``l`` (error-free: the deltas
    of :meth:`rule.gd_deltas <learndyn.rules.GD.gd_deltas>` for a unit error on the output) and ``g~^l_mu`` the
    rule's stand-in for it (``rule.deltas`` for the same unit error), both multiplied by ``s``. The default
    ``s = 1 / a_out``, the inverse of the readout's forward multiplier, removes the output scale: for the
    mean-field net of :mod:`learndyn.param` (``f = w . phi(h^L) / (gamma0 N)``) it is ``gamma0 N``, so ``g^l`` is
    the O(1)-per-coordinate signal ``g^l = gamma0 N df/dh^l`` of Bordelon & Pehlevan 2023 (``g^L = phi'(h^L) w``),
    and :func:`gradient_kernels` / :func:`pseudo_gradient_kernels` of these signals are their ``G^l`` and
    ``G~^l``. ``s = 1`` gives the raw derivatives (the signals :func:`entk` assembles).

    Parameters
    ----------
    net : a net with ``apply``, ``multiplier`` and ``depth`` (e.g. :class:`learndyn.nets.MLP`)
    rule : a rule of :mod:`learndyn.rules` bound to ``net``
    params : pytree
        Parameters at one time.
    X : (P, n_in) array
        Items.
    state : pytree, optional
        The rule's state (feedback matrices).
    output : int, optional
        Which output's signals; required when the net has more than one output.
    error : (P, n_out) array, optional
        ``f - y``, needed only by rules whose deltas are not linear in the error (Hebb): their ``g~`` of output
        ``b`` is the actual delta times ``e_b / ||e||^2`` per item (for one output ``g~ = s * delta / e``).
    scale : "readout" or float
        The factor ``s``: ``"readout"`` (default) for ``1 / net.multiplier(depth - 1)``, or a number > 0.

    Returns
    -------
    g, g_tilde : lists of numpy arrays
        One entry per weight layer, readout last, as ``rule.deltas`` returns them (so entry ``l`` pairs with the
        layer's input ``cache["phi"][l]``): ``(P, n_l)`` for the hidden layers ``l = 1..L``; the readout's entry is
        ``s`` times the unit error, ``(P, n_out)``, and the kernel functions skip it.

    Examples
    --------
    >>> import jax
    >>> from learndyn import param, rules
    >>> par = param.get("meanfield", gamma0=1.0)
    >>> sizes = (3, 16, 16, 1)
    >>> net = par.mlp(sizes, "relu")
    >>> p = par.init(jax.random.key(0), sizes, "relu")
    >>> g, gt = backward_signals(net, rules.GD(net), p, np.ones((4, 3)))
    >>> [a.shape for a in g]
    [(4, 16), (4, 16), (4, 1)]
    >>> relu_slope = np.asarray(net.apply(p, np.ones((4, 3)))[1]["h"][-1] > 0)
    >>> bool(np.allclose(g[1], relu_slope * np.asarray(p["W"][-1])))  # g^L = phi'(h^L) w (spec's normalisation)
    True
    """
    X = jnp.asarray(X)
    params = jax.tree_util.tree_map(jnp.asarray, params)
    f, cache = net.apply(params, X)
    n_out = f.shape[1]
    if output is None:
        if n_out != 1:
            raise ValueError(
                f"output must be an output index in [0, {n_out}) for this net with {n_out} outputs; got None"
            )
        output = 0
    elif isinstance(output, bool) or not isinstance(output, numbers.Integral) or not 0 <= output < n_out:
        raise ValueError(f"output must be an integer in [0, {n_out}); got {output!r}")
    if isinstance(scale, str):
        _checks.one_of("scale", scale, ("readout",))
        s = 1.0 / float(net.multiplier(net.depth - 1))
    else:
        s = _checks.positive_float("scale", scale)
    true, pseudo = _output_signals(net, rule, params, cache, n_out, state, error)
    return [s * np.asarray(d) for d in true[output]], [s * np.asarray(d) for d in pseudo[output]]


def feature_kernels(cache) -> list[np.ndarray]:
    """Feature kernels ``Phi^l = phi_l phi_l^T / n_l`` (P, P) of every layer's input (``l = 0`` is ``X X^T / n_in``).

    Examples
    --------
    >>> [K.shape for K in feature_kernels({"phi": (np.ones((3, 2)), np.ones((3, 5)))})]
    [(3, 3), (3, 3)]
    """
    return [np.asarray(x @ x.T) / x.shape[-1] for x in cache["phi"]]


def _hidden_signals(name: str, signals) -> list[np.ndarray]:
    """The hidden layers' entries of a per-layer signal list (readout last, skipped), as 2-D arrays, or raise."""
    if isinstance(signals, np.ndarray | jax.Array) or not isinstance(signals, Sequence) or len(signals) < 2:
        raise ValueError(
            f"{name} must be a list of (P, n_l) arrays, one per weight layer with the readout's last (as rule.deltas "
            f"returns them; at least one hidden layer and the readout); got {type(signals).__name__}"
            + (f" of length {len(signals)}" if isinstance(signals, Sequence) else "")
        )
    out = [np.asarray(g) for g in signals[:-1]]
    for l, g in enumerate(out):
        if g.ndim != 2:
            raise ValueError(f"{name}[{l}] must be a (P, n_l) array; got shape {g.shape}")
        if g.shape[0] != out[0].shape[0]:
            raise ValueError(f"{name}[{l}] must have P = {out[0].shape[0]} rows like {name}[0]; got shape {g.shape}")
    return out


def _paired_signals(true_signals, rule_signals):
    g = _hidden_signals("true_signals", true_signals)
    gt = _hidden_signals("rule_signals", rule_signals)
    if len(g) != len(gt):
        raise ValueError(
            f"true_signals and rule_signals must have the same number of layers; got {len(g) + 1} and {len(gt) + 1}"
        )
    for l, (a, b) in enumerate(zip(g, gt, strict=True)):
        if a.shape != b.shape:
            raise ValueError(f"rule_signals[{l}] must have the shape of true_signals[{l}], {a.shape}; got {b.shape}")
    return g, gt


def gradient_kernels(signals, *, scale: float = 1.0) -> list[np.ndarray]:
    """Gradient kernels ``G^l_{mu nu} = s^2 g^l_mu . g^l_nu / n_l`` (P, P) of every hidden layer ``l = 1..L``.

    Bordelon & Pehlevan 2023, eq. 4, with ``g^l`` the true backward signal of the layer's pre-activations.

    Parameters
    ----------
    signals : list of (P, n_l) arrays
        One per weight layer, readout last (skipped), as :func:`backward_signals` or ``rule.gd_deltas`` (with a unit
        error) return them. With the signals of :func:`backward_signals` (default scale) and a mean-field net these
        are the paper's ``G^l``.
    scale : float
        ``s > 0``, multiplying every signal (e.g. ``gamma0 N`` for raw ``d f / d h`` of a mean-field net).

    Returns
    -------
    list of numpy arrays
        ``[G^1, ..., G^L]``: entry ``l - 1`` pairs with ``feature_kernels(cache)[l - 1]`` in the eNTK
        ``K = sum_{l=1}^{L} G~^l * Phi^{l-1} + Phi^L``.

    Examples
    --------
    >>> g = [np.array([[1.0, 1.0], [1.0, -1.0]]), np.ones((2, 1))]
    >>> gradient_kernels(g)[0]
    array([[1., 0.],
           [0., 1.]])
    """
    s = _checks.positive_float("scale", scale)
    return [s * s * (g @ g.T) / g.shape[1] for g in _hidden_signals("signals", signals)]


def pseudo_gradient_kernels(true_signals, rule_signals, *, scale: float = 1.0) -> list[np.ndarray]:
    """Gradient/pseudo-gradient kernels ``G~^l_{mu nu} = s^2 g^l_mu . g~^l_nu / n_l`` (P, P) of every hidden layer.

    Bordelon & Pehlevan 2023, eq. 4: how well the rule's pseudo-gradient ``g~`` of item ``nu`` aligns with the true
    gradient ``g`` of item ``mu``. Not symmetric in general (``G~ = G`` for gradient descent); at initialisation
    ``G~ = G`` for FA(rho = 1) and ``G~ = O(n^{-1/2})`` for FA(rho = 0) and DFA.

    Parameters
    ----------
    true_signals, rule_signals : lists of (P, n_l) arrays
        The true and the rule's signals, one per weight layer, readout last (skipped), as
        :func:`backward_signals` returns them.
    scale : float
        ``s > 0``, multiplying every signal.

    Returns
    -------
    list of numpy arrays ``[G~^1, ..., G~^L]``, rows indexing the true signal's item.

    Examples
    --------
    >>> g = [np.array([[1.0, 0.0], [0.0, 1.0]]), np.ones((2, 1))]
    >>> gt = [np.array([[0.0, 2.0], [0.0, 2.0]]), np.ones((2, 1))]
    >>> pseudo_gradient_kernels(g, gt)[0]
    array([[0., 0.],
           [1., 1.]])
    """
    s = _checks.positive_float("scale", scale)
    g, gt = _paired_signals(true_signals, rule_signals)
    return [s * s * (a @ b.T) / a.shape[1] for a, b in zip(g, gt, strict=True)]


def kernel_task_alignment(K, Y) -> float:
    """Kernel-task alignment ``A(K, y y^T) = <K, y y^T>_F / (||K||_F ||y y^T||_F)`` (Cristianini et al. 2001).

    ``K`` is ``(P, P)`` or ``(P, n_out, P, n_out)``; ``Y`` is ``(P, n_out)``. An asymmetric ``K`` (FA, DFA) is
    used as is.

    Examples
    --------
    >>> Y = np.array([[1.0], [-1.0]])
    >>> round(kernel_task_alignment(Y @ Y.T, Y), 12)
    1.0
    """
    K, Y = np.asarray(K), np.asarray(Y)
    T = Y @ Y.T if K.ndim == 2 else np.einsum("pa,qb->paqb", Y, Y)
    return float(np.sum(K * T) / (np.linalg.norm(K.ravel()) * np.linalg.norm(T.ravel())))


def cka(K1, K2) -> float:
    """Centred kernel alignment of two ``(P, P)`` kernels (Kornblith et al. 2019): 1 for kernels equal up to scale.

    Examples
    --------
    >>> K = np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
    >>> round(cka(K, 3 * K), 12)
    1.0
    """
    K1, K2 = np.asarray(K1), np.asarray(K2)
    H = np.eye(K1.shape[0]) - 1.0 / K1.shape[0]
    A, B = H @ K1 @ H, H @ K2 @ H
    return float(np.sum(A * B) / (np.linalg.norm(A) * np.linalg.norm(B)))


def gradient_correlation(true_deltas, rule_deltas, *, over_layers: bool = False):
    """``corr(g, g~)``: the mean over items of the cosine between the true and the rule's backward signals.

    Per hidden layer ``l`` the mean over items ``mu`` of ``g^l_mu . g~^l_mu / (|g^l_mu| |g~^l_mu|)``; the spec's
    single number ``corr(g, g~) = 1/(L P) sum_{l, mu} (same)`` (Bordelon & Pehlevan 2023, sec. 5) is
    ``over_layers=True``. The cosine is per item, so any per-item factor common to both signals drops out: the
    deltas of one output at the actual error (``e_mu`` times the unit-error signals) give the same value as the
    error-free signals of :func:`backward_signals`, except where ``e_mu = 0``. Items where either signal is zero
    have no direction and are skipped; a layer with no item left is ``nan``.

    Parameters
    ----------
    true_deltas, rule_deltas : lists of (P, n_l) arrays
        One per weight layer, readout last (skipped), e.g. ``rule.gd_deltas(params, cache, e)`` and
        ``rule.deltas(params, cache, e, state)``. For several outputs the signals are those of the error-weighted
        sum over outputs that the rule back-propagates.
    over_layers : bool
        Return the mean over every counted (layer, item) pair instead of one value per layer.

    Returns
    -------
    numpy.ndarray of shape (L,), one value per hidden layer (first to last), or a float with ``over_layers``.

    Examples
    --------
    >>> g = [np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]), np.ones((3, 1))]
    >>> gt = [np.array([[2.0, 0.0], [1.0, -1.0], [1.0, 0.0]]), np.ones((3, 1))]
    >>> gradient_correlation(g, gt)  # items: cosine 1, cosine 0, skipped (g = 0)
    array([0.5])
    """
    g, gt = _paired_signals(true_deltas, rule_deltas)
    cosines = []
    for a, b in zip(g, gt, strict=True):
        norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        keep = norms > 0
        cosines.append(np.sum(a[keep] * b[keep], axis=1) / norms[keep])
    if over_layers:
        pooled = np.concatenate(cosines)
        return float(np.mean(pooled)) if pooled.size else float("nan")
    return np.asarray([float(np.mean(c)) if c.size else float("nan") for c in cosines])


def _augmented(params, l):
    """``[W_l | b_l]`` (any leading axes): the bias acts as a weight on a constant input 1."""
    p = params if isinstance(params, dict) else {"W": tuple(params)}
    W = np.asarray(p["W"][l])
    if "b" in p:
        W = np.concatenate([W, np.asarray(p["b"][l])[..., None]], axis=-1)
    return W


def fa_conserved(params, feedback, *, full: bool = False) -> list[np.ndarray]:
    """Feedback alignment's conserved quantities, one per hidden layer (Robertson & Koyejo 2024).

    ``C_l = diag(W_l W_l^T) - 2 diag(B_{l+1} W_{l+1})`` per hidden neuron, conserved by FA's gradient flow when the
    activation is positively homogeneous (ReLU, leaky ReLU, linear); for linear nets the full matrix
    ``W_l W_l^T - B_{l+1} W_{l+1} - W_{l+1}^T B_{l+1}^T`` is (``full=True``). A bias enters through ``[W_l | b_l]``.
    Under Euler steps with learning rate ``lr`` the only drift is exactly ``lr^2 sum_t G_l G_l^T`` (its diagonal).

    Parameters
    ----------
    params : pytree
        Weights ``(W1, ..., WL)`` or ``{"W": ..., "b": ...}``, with any leading (time, seed) axes.
    feedback : sequence of arrays
        ``(B_2, ..., B_L)``, ``B_{l+1}`` of shape ``(n_l, n_{l+1})`` (the FA rule's ``state["B"]``).
    full : bool
        The full matrices instead of their diagonals.

    Returns
    -------
    list of arrays, one per hidden layer: ``(..., n_l)`` or ``(..., n_l, n_l)``.
    """
    p = params if isinstance(params, dict) else {"W": tuple(params)}
    out = []
    for l, B in enumerate(feedback):
        Wa = _augmented(p, l)
        W_next = np.asarray(p["W"][l + 1])
        cross = np.asarray(B) @ W_next
        if full:
            out.append(Wa @ np.swapaxes(Wa, -1, -2) - cross - np.swapaxes(cross, -1, -2))
        else:
            out.append(np.sum(Wa * Wa, axis=-1) - 2.0 * np.diagonal(cross, axis1=-2, axis2=-1))
    return out


def gd_balancedness(params, *, full: bool = False) -> list[np.ndarray]:
    """Gradient descent's conserved quantities: ``diag(W_l W_l^T - W_{l+1}^T W_{l+1})`` per hidden layer.

    Conserved by gradient flow for positively homogeneous activations (the full matrix for linear nets); the
    contrast to :func:`fa_conserved`, which GD does not conserve.
    """
    p = params if isinstance(params, dict) else {"W": tuple(params)}
    out = []
    for l in range(len(p["W"]) - 1):
        Wa = _augmented(p, l)
        W_next = np.asarray(p["W"][l + 1])
        M = Wa @ np.swapaxes(Wa, -1, -2) - np.swapaxes(W_next, -1, -2) @ W_next
        out.append(M if full else np.diagonal(M, axis1=-2, axis2=-1))
    return out


def kernel_distance(K0, Kt) -> np.ndarray:
    """``1 - <K0, Kt>_F / (||K0|| ||Kt||)`` over the trailing kernel axes; 0 when the kernel only rescales."""
    K0 = np.asarray(K0)
    Kt = np.asarray(Kt)
    n = K0.ndim
    axes = tuple(range(-n, 0))
    inner = np.sum(K0 * Kt, axis=axes)
    return 1.0 - inner / (np.linalg.norm(K0.ravel()) * np.sqrt(np.sum(Kt * Kt, axis=axes)))


def linear_trajectory(
    task: Task, t, blocks: dict[str, np.ndarray], *, ntk: bool = True, rsm: bool = True, attrs: dict | None = None
) -> xr.Dataset:
    """Build the standard trajectory Dataset from the three blocks over time.

    Parameters
    ----------
    task : Task
        Gives ``X``, ``Y`` (and the test split) at which outputs, losses and kernels are evaluated.
    t : (T,) array
        Gradient-flow times of the blocks.
    blocks : dict
        ``w2w1 (T, n_out, n_in)``, ``w1tw1 (T, n_in, n_in)``, ``w2w2t (T, n_out, n_out)``.
    ntk, rsm : bool
        Include the NTK / the RSMs (they are P^2 n_out^2 and P^2 per time point).
    attrs : dict, optional
        Dataset attributes (e.g. ``source="theory"``, the method used).

    Returns
    -------
    xarray.Dataset with the variables listed in the module docstring.
    """
    t = np.asarray(t, dtype=np.float64)
    M, G1, G2 = (np.asarray(blocks[k]) for k in ("w2w1", "w1tw1", "w2w2t"))
    f = np.einsum("pi,toi->tpo", task.X, M)
    data = {
        "loss": (("t",), _mse(task.Y, f)),
        "f": (("t", "p", "o"), f),
        "w2w1": (("t", "o", "i"), M),
        "w1tw1": (("t", "i", "i2"), G1),
        "w2w2t": (("t", "o", "o2"), G2),
    }
    if task.X_test is not None:
        data["test_loss"] = (("t",), _mse(task.Y_test, np.einsum("pi,toi->tpo", task.X_test, M)))
    if rsm:
        data["rsm_in"] = (("t", "p", "q"), rsm_in(task.X, G1))
        data["rsm_out"] = (("t", "p", "q"), rsm_out(task.Y, G2))
    if ntk:
        data["ntk"] = (("t", "p", "o", "q", "o2"), ntk_linear(task.X, G1, G2))
    return _dataset(task, t, data, attrs)


def _mse(Y, f) -> np.ndarray:
    """``1/(2P) sum_mu ||y_mu - f_mu||^2`` per leading (time) index, from the residual (no cancellation)."""
    r = np.asarray(Y)[None] - np.asarray(f)
    return 0.5 * np.mean(np.sum(r * r, axis=-1), axis=-1)


def _dataset(task: Task, t, data: dict, attrs) -> xr.Dataset:
    coords = {"t": np.asarray(t, dtype=np.float64)}
    for name, n in (("p", task.P), ("q", task.P), ("i", task.n_in), ("i2", task.n_in), ("o", task.n_out),
                    ("o2", task.n_out)):  # fmt: skip
        coords[name] = np.arange(n)
    used = {d for var in data.values() for d in var[0]}
    coords = {k: v for k, v in coords.items() if k in used or k == "t"}
    return describe_variables(xr.Dataset(data, coords=coords, attrs=dict(attrs or {})))


def qqt_from_blocks(ds: xr.Dataset, k: int = -1) -> np.ndarray:
    """Reassemble ``QQ^T = [[W1^T W1, (W2 W1)^T], [W2 W1, W2 W2^T]]`` at record ``k`` of a linear trajectory."""
    m, g1, g2 = ds["w2w1"].values[k], ds["w1tw1"].values[k], ds["w2w2t"].values[k]
    return np.block([[g1, m.T], [m, g2]])


def max_abs_diff(a: xr.Dataset, b: xr.Dataset, names: Sequence[str] | str | None = None):
    """Largest absolute difference per shared variable of two trajectories on the same time grid.

    ``names`` a single variable name returns that float; a list (or None: every shared variable) returns a dict.

    Raises
    ------
    ValueError
        When the time grids differ (by more than 1e-9 relative) or a requested variable is missing.
    """
    if isinstance(names, str):
        return max_abs_diff(a, b, [names])[names]
    if a.sizes.get("t") != b.sizes.get("t") or not np.allclose(a["t"], b["t"], rtol=1e-9, atol=1e-12):
        raise ValueError("the two trajectories must share the time grid t to compare them")
    names = list(names) if names is not None else [v for v in a.data_vars if v in b.data_vars]
    out = {}
    for v in names:
        if v not in a or v not in b:
            raise ValueError(
                f"variable {v!r} is missing from one trajectory; shared: {sorted(set(a.data_vars) & set(b.data_vars))}"
            )
        out[v] = float(np.max(np.abs(a[v].values - b[v].values)))
    return out


def trajectory_from_weights(
    task: Task, t, weights, net=None, *, ntk: bool = True, rsm: bool | None = None, attrs: dict | None = None
) -> xr.Dataset:
    """Trajectory of a network from its parameters over time, computed from the net's own forward pass.

    Parameters
    ----------
    task : Task
        Items at which outputs, losses and kernels are evaluated (its test split too, when it has one).
    t : (T,) array
        Gradient-flow times of the records.
    weights : pytree
        Parameters with a leading time axis: ``(W1 (T, n_1, n_in), ..., WL (T, n_out, n_{L-1}))``, or a dict
        ``{"W": ..., "b": ...}`` as :class:`learndyn.nets.MLP` uses.
    net : object with ``apply(params, X) -> (f, cache)``, optional
        The network. ``None`` (or any net whose ``is_linear`` is true) is a deep linear net without biases.
    ntk : bool
        Include the NTK ``ntk (t, p, o, q, o2)``: the Kronecker form for two-layer linear nets, autodiff otherwise.
    rsm : bool or None
        Representational similarity matrices. ``None``: those that apply (linear nets: ``rsm_in`` and ``rsm_out``;
        other nets: ``rsm_in``, the gram of the first hidden layer's activations). ``True`` requires both and raises
        for a nonlinear net; ``False``: none.
    attrs : dict, optional
        Dataset attributes.

    Returns
    -------
    xarray.Dataset
        Always ``loss``, ``f`` (and ``test_loss``); ``w1tw1`` and ``w2w2t`` (grams of the first and last weight
        layers); for linear nets also ``w2w1`` (the network map) and, with two layers, ``balance_drift``:
        ``max|W2^T W2 - W1 W1^T - (same at t[0])|``, conserved by gradient flow (O(lr) drift under GD).

    Raises
    ------
    ValueError
        When a requested variable does not exist for this net (``rsm=True`` on a nonlinear net).
    """
    linear = net is None or bool(getattr(net, "is_linear", False))
    W = [np.asarray(w) for w in (weights["W"] if isinstance(weights, dict) else weights)]
    if linear:
        ds = linear_trajectory(task, t, blocks_from_weights(W), ntk=ntk and len(W) == 2, rsm=rsm is not False,
                               attrs=attrs)  # fmt: skip
        if ntk and len(W) != 2:
            ds["ntk"] = (("t", "p", "o", "q", "o2"), _ntk_over_time(task.X, weights, net))
        if len(W) == 2:
            W1, W2 = W
            D = np.swapaxes(W2, -1, -2) @ W2 - W1 @ np.swapaxes(W1, -1, -2)
            ds["balance_drift"] = (("t",), np.max(np.abs(D - D[:1]), axis=(-2, -1)))
        return describe_variables(ds)
    if rsm:
        raise ValueError(
            "rsm=True asks for rsm_out = Y (W2 W2^T)^+ Y^T, which is defined for linear nets only; use rsm=None "
            f"(rsm_in only) or rsm=False for this {getattr(net, 'activation', 'nonlinear')} net"
        )
    apply = _apply_fn(net)
    params = jax.tree_util.tree_map(jnp.asarray, weights)
    f, cache = jax.vmap(lambda p: apply(p, jnp.asarray(task.X)))(params)
    f = np.asarray(f)
    blocks = blocks_from_weights(W)
    data = {
        "loss": (("t",), _mse(task.Y, f)),
        "f": (("t", "p", "o"), f),
        "w1tw1": (("t", "i", "i2"), blocks["w1tw1"]),
        "w2w2t": (("t", "o", "o2"), blocks["w2w2t"]),
    }
    if task.X_test is not None:
        f_test = np.asarray(jax.vmap(lambda p: apply(p, jnp.asarray(task.X_test))[0])(params))
        data["test_loss"] = (("t",), _mse(task.Y_test, f_test))
    if rsm is None and cache.get("phi") and len(cache["phi"]) > 1:
        h1 = np.asarray(cache["phi"][1])
        data["rsm_in"] = (("t", "p", "q"), np.einsum("tpn,tqn->tpq", h1, h1))
    if ntk:
        data["ntk"] = (("t", "p", "o", "q", "o2"), _ntk_over_time(task.X, weights, net))
    return _dataset(task, t, data, attrs)


def _ntk_over_time(X, weights, net) -> np.ndarray:
    """:func:`ntk_autodiff` at every record (leading time axis of the parameters)."""
    T = jax.tree_util.tree_leaves(weights)[0].shape[0]
    return np.stack([ntk_autodiff(X, jax.tree_util.tree_map(lambda w, k=k: np.asarray(w)[k], weights), net)
                     for k in range(T)])  # fmt: skip


def trajectory_from_qqt(task: Task, t, qqt, **kwargs) -> xr.Dataset:
    """Trajectory from ``QQ^T(t)`` (T, n_in + n_out, n_in + n_out); see :func:`linear_trajectory`."""
    return linear_trajectory(task, t, blocks_from_qqt(qqt, task.n_in), **kwargs)


def compare(a: xr.Dataset, b: xr.Dataset, names: Sequence[str] | None = None):
    """Tidy comparison table of two trajectories on the same time grid (e.g. simulation ``a``, theory ``b``).

    Parameters
    ----------
    a, b : xarray.Dataset
        Trajectories sharing ``t`` and variable names (simulation and theory use the same names).
    names : sequence of str, optional
        Variables to compare; default all shared ones.

    Returns
    -------
    pandas.DataFrame
        One row per variable: ``max_abs_err`` (max over every entry and time), ``scale`` (``max |b|``) and
        ``rel_err = max_abs_err / scale``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> a = xr.Dataset({"loss": ("t", [1.0, 0.5])}, coords={"t": [0.0, 1.0]})
    >>> compare(a, a + 0.01).round(3).to_dict("index")
    {'loss': {'max_abs_err': 0.01, 'scale': 1.01, 'rel_err': 0.01}}
    """
    import pandas as pd

    errs = max_abs_diff(a, b, names)
    rows = {}
    for name, err in errs.items():
        scale = float(np.max(np.abs(b[name].values)))
        rows[name] = {"max_abs_err": err, "scale": scale, "rel_err": err / scale if scale > 0 else float("nan")}
    return pd.DataFrame.from_dict(rows, orient="index")
