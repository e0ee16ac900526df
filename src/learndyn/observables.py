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

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from learndyn.rule_kernels import (  # noqa: F401  (re-exported: the observables of a net under a rule)
    backward_signals,
    cka,
    entk,
    feature_kernels,
    gradient_correlation,
    gradient_kernels,
    kernel_task_alignment,
    pseudo_gradient_kernels,
)
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
    "phi": {"long_name": "feature kernel Phi^l = phi_l . phi_l / n_l of weight layer l's input", "units": "1"},
    "g": {
        "long_name": "gradient kernel G^{l+1} = g . g / n at weight layer l's output (g = gamma0 N df/dh)",
        "units": "1",
    },
    "gt": {
        "long_name": "gradient / pseudo-gradient kernel G~^{l+1} = g . g~ / n at weight layer l's output",
        "units": "1",
    },
    "sv": {"long_name": "singular values of each edge's weight matrix, descending (gated graphs)", "units": "1"},
    "edge": {"long_name": "edge src->dst of a gated graph"},
    "k": {"long_name": "singular value index (0: largest)"},
    "layer": {"long_name": "weight layer l (0: input layer, L: readout)"},
    "hidden": {"long_name": "hidden layer (1: first)"},
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
    Entries that are NaN in both (padding, e.g. the singular values ``sv`` beyond an edge's rank) are skipped; a NaN
    in one only makes the result NaN.

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
        x, y = a[v].values, b[v].values
        diff = np.abs(x - y)
        diff[np.isnan(x) & np.isnan(y)] = 0.0  # padding both share (sv of narrower edges); a lone NaN stays
        out[v] = float(np.max(diff))
    return out


def trajectory_from_weights(
    task: Task, t, weights, net=None, *, ntk: bool | None = None, rsm: bool | None = None, attrs: dict | None = None
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
    ntk : bool or None
        Include the NTK ``ntk (t, p, o, q, o2)``: the Kronecker form for two-layer linear nets, autodiff otherwise.
        ``None``: for chains (MLPs) yes, for gated graphs no (their NTK over all example pairs is large).
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
        For a gated graph (a net with a ``graph``): ``loss``, ``f``, ``test_loss`` and ``sv (t, edge, k)``, the
        singular values of every edge's weights in descending order (NaN beyond ``min(n_dst, n_src)``).

    Raises
    ------
    ValueError
        When a requested variable does not exist for this net (``rsm=True`` on a nonlinear net).
    """
    if getattr(net, "graph", None) is not None:
        return _gated_trajectory(task, t, weights, net, bool(ntk), attrs)
    ntk = True if ntk is None else ntk
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


def edge_singular_values(weights) -> np.ndarray:
    """Singular values of every edge matrix, descending, NaN-padded to the widest edge: (..., n_edges, k)."""
    W = [np.asarray(w) for w in (weights["W"] if isinstance(weights, dict) else weights)]
    k = max(min(w.shape[-2:]) for w in W)
    lead = W[0].shape[:-2]
    out = np.full((*lead, len(W), k), np.nan)
    for e, w in enumerate(W):
        sv = np.linalg.svd(w, compute_uv=False)
        out[..., e, : sv.shape[-1]] = sv
    return out


def _gated_trajectory(task: Task, t, weights, net, ntk: bool, attrs) -> xr.Dataset:
    """Loss, outputs, test loss and edge singular values of a gated graph from its own forward pass."""
    params = jax.tree_util.tree_map(jnp.asarray, weights)
    apply = jax.jit(jax.vmap(lambda p, X: net.apply(p, X)[0], in_axes=(0, None)))
    f = np.asarray(apply(params, jnp.asarray(task.X)))
    data = {"loss": (("t",), _mse(task.Y, f)), "f": (("t", "p", "o"), f)}
    if task.X_test is not None:
        f_test = np.asarray(apply(params, jnp.asarray(task.X_test)))
        data["test_loss"] = (("t",), _mse(task.Y_test, f_test))
    data["sv"] = (("t", "edge", "k"), edge_singular_values(weights))
    if ntk:
        data["ntk"] = (("t", "p", "o", "q", "o2"), _ntk_over_time(task.X, weights, net))
    ds = _dataset(task, t, data, attrs)
    return describe_variables(ds.assign_coords(edge=list(net.graph.edge_names), k=np.arange(ds.sizes["k"])))


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
        scale = float(np.nanmax(np.abs(b[name].values)))
        rows[name] = {"max_abs_err": err, "scale": scale, "rel_err": err / scale if scale > 0 else float("nan")}
    return pd.DataFrame.from_dict(rows, orient="index")
