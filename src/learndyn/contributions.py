"""Per-layer decomposition of an abc MLP's pre-activations into the initial weights' part and the learned part.

For a net of :mod:`learndyn.param` (an :class:`~learndyn.nets.MLP` with forward multipliers ``a_l = m^{-a_l}``,
``h^l = a_l (W_l x^{l-1} + b_l)``) every layer ``l = 1..L+1`` (hidden pre-activations ``h1 .. hL``, then the output
``f``) splits by linearity in its own weights, at the *current* input ``x^{l-1}(t)`` of that layer:

    h^l(t) = a_l (W_l(0) x^{l-1}(t) + b_l(0))  +  a_l ((W_l(t) - W_l(0)) x^{l-1}(t) + b_l(t) - b_l(0))
           =            h_init^l(t)             +                      Delta_h^l(t)

(Hajjar, Chizat & Giraud, JMLR 2024, arXiv 2110.15596; spec ``integrable_and_meanfield.md`` B2, "Decomposition").
``delta_h`` is the same with the last step's change ``W_l(t) - W_l(t-1)``. :func:`contributions` tabulates
``mean |h_init|``, ``mean |Delta_h|``, ``mean |delta_h|`` and ``mean |h|`` per layer.

Why it matters: under an integrable parameterization (``a = 0/1/1``, zero-mean weights) the initial weights of a
hidden or output layer are averaged with ``1/m``, so once the inputs ``x^{l-1}(t)`` have moved away from those at
initialisation -- after step 0 of IP-LLR, whose large first-step rates make every update Theta(1) -- the part
``h_init^l = (1/m) W_l(0) x^{l-1}(t)`` is a sum of ``m`` nearly independent terms of random sign and vanishes like
``m^{-1/2}``, while ``Delta_h^l`` stays Theta(1): the net runs in the mean-field regime, "muP minus the initial
weights". The input layer (``a_1 = 0``) keeps a Theta(1) ``h_init``. Under standard IP with ``L >= 3`` hidden
layers instead ``Delta_h`` itself vanishes with the width (spec B5: ``|Delta h^2| ~ m^{-1/2}``), the stationary
point.

:func:`rank_proxies` gives the stable rank, the nuclear-norm rank and the numerical rank of a matrix, and
:func:`layer_ranks` those of every hidden layer's pre-activations and activations over the items (the spec logs them
after step 1: IP-LLR's first step tends to collapse the representation towards rank one).

All computations are in float64 NumPy on one net (no seed axis); select a seed or record of a batched run first.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pandas as pd

from learndyn import _checks
from learndyn.coord_check import layer_names
from learndyn.nets.mlp import MLP

#: The columns of a :func:`contributions` table.
COLUMNS = ("layer", "h_init", "Delta_h", "delta_h", "h")

#: The keys of :func:`rank_proxies` (and the value columns of :func:`layer_ranks`).
RANK_PROXIES = ("stable_rank", "nuclear_rank", "rank")

# h_init + Delta_h reproduces the net's own h up to rounding; anything larger means the decomposition does not use
# the multiplier or bias the forward pass uses.
_SPLIT_RTOL = 1e-10


def _net(net) -> MLP:
    if not isinstance(net, MLP):
        raise TypeError(
            f"net must be a learndyn.nets.MLP, e.g. learndyn.param.get('ip').mlp(sizes, 'relu'); got "
            f"{type(net).__name__}"
        )
    if net.depth < 2:
        raise ValueError(f"net must have at least one hidden layer; got sizes {net.sizes}")
    return net


def _layers(name: str, seq, shapes) -> list[np.ndarray]:
    """One float64 array per weight layer with the expected shape, or raise naming the entry."""
    if isinstance(seq, str | bytes) or not isinstance(seq, tuple | list):
        raise TypeError(f"{name} must be a tuple with one array per weight layer ({len(shapes)}); got {type(seq)}")
    if len(seq) != len(shapes):
        raise ValueError(f"{name} must hold one array per weight layer of the net ({len(shapes)}); got {len(seq)}")
    out = []
    for k, (a, shape) in enumerate(zip(seq, shapes, strict=True)):
        try:
            arr = np.asarray(a, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name}[{k}] must be a real array of shape {shape}; got {type(a).__name__}") from exc
        if arr.shape != shape:
            hint = ""
            if arr.ndim > len(shape) and arr.shape[arr.ndim - len(shape) :] == shape:
                hint = (" (this is one net: select a seed or record first, e.g. "
                        "jax.tree.map(lambda a: a[0], params))")  # fmt: skip
            raise ValueError(f"{name}[{k}] must have shape {shape}{hint}; got {arr.shape}")
        _checks.finite(f"{name}[{k}]", arr)
        out.append(arr)
    return out


def _tree(name: str, params, net: MLP) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """Weights and biases (None without) of ``params``, checked against the net's sizes and its bias flag."""
    if isinstance(params, dict):
        extra = sorted(set(params) - {"W", "b"})
        if "W" not in params or extra:
            raise ValueError(f"{name} must be a dict with keys 'W' (and 'b' with biases); got keys {sorted(params)}")
        W, b = params["W"], params.get("b")
    elif isinstance(params, tuple | list):
        W, b = params, None
    else:
        raise TypeError(
            f"{name} must be the net's params, a dict {{'W': (W1, ...), 'b': (b1, ...)}} or a tuple of weight "
            f"matrices; got {type(params).__name__}"
        )
    if net.bias != (b is not None):
        have = "holds biases 'b'" if b is not None else "holds no biases 'b'"
        raise ValueError(f"{name} must match the net's bias={net.bias}, but it {have}")
    sizes = net.sizes
    W = _layers(f"{name}['W']", W, [(n, k) for k, n in zip(sizes[:-1], sizes[1:], strict=True)])
    if b is not None:
        b = _layers(f"{name}['b']", b, [(n,) for n in sizes[1:]])
    return W, b


def _inputs(X, net: MLP) -> np.ndarray:
    return _checks.as_matrix("X", X, cols=net.n_in)


def _forward(net: MLP, W, b, X) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The inputs ``x^{l-1}`` of every layer and its outputs (``h^1 .. h^L``, ``f``), from the net's own pass."""
    p = {"W": tuple(jnp.asarray(w) for w in W)}
    if b is not None:
        p["b"] = tuple(jnp.asarray(v) for v in b)
    f, cache = net.apply(p, jnp.asarray(X))
    inputs = [np.asarray(x, dtype=np.float64) for x in cache["phi"]]
    outputs = [np.asarray(h, dtype=np.float64) for h in cache["h"]] + [np.asarray(f, dtype=np.float64)]
    return inputs, outputs


def _part(a: float, x, dW, db):
    """``a (x dW^T + db)``: one layer's pre-activation from a piece of its weights, at the current input ``x``."""
    out = x @ dW.T
    if db is not None:
        out = out + db
    return a * out


def _diff(u, v):
    return None if u is None else [p - q for p, q in zip(u, v, strict=True)]


def _check_split(name: str, h_init, Delta, h) -> None:
    scale = max(np.abs(h_init).max(), np.abs(Delta).max(), np.abs(h).max())
    err = np.abs(h_init + Delta - h).max()
    if err > _SPLIT_RTOL * scale:
        raise RuntimeError(
            f"layer {name}: h_init + Delta_h differs from the net's forward pass by {err:.3g} (scale {scale:.3g}); "
            "the net must compute h_l = multiplier(l) * (W_l x + b_l) as learndyn.nets.MLP does"
        )


def contributions(net, params, params_init, X, *, params_previous=None) -> pd.DataFrame:
    """Split every layer's pre-activations into the initial weights' part and the change since initialisation.

    For layer ``l = 1..L+1`` with multiplier ``a_l = net.multiplier(l - 1)`` and current input ``x^{l-1}(t)`` (the
    activations of the net with ``params`` on ``X``; ``X`` itself for ``l = 1``):
    ``h_init = a_l (W_l(0) x^{l-1}(t) + b_l(0))``, ``Delta_h = a_l ((W_l - W_l(0)) x^{l-1}(t) + b_l - b_l(0))``,
    ``delta_h`` the same with ``W_l - W_l(previous)``, so that ``h_init + Delta_h = h^l(t)`` exactly (checked).

    Parameters
    ----------
    net : learndyn.nets.MLP
        The net, e.g. ``learndyn.param.get("ip-llr").mlp(sizes, "relu")``; at least one hidden layer.
    params, params_init : dict or tuple
        The current and the initial parameters of one net (``{"W": (W1, ..., W_{L+1})}``, plus ``"b"`` when the
        net has biases; a tuple of weight matrices for a net without), float32 or float64. No seed or time axis:
        index a batched run first (``jax.tree.map(lambda a: a[k], sim.params)``).
    X : array, shape (P, n_in)
        Items on which the layers are evaluated.
    params_previous : dict or tuple, optional
        The parameters one step before ``params``; None gives a ``delta_h`` column of NaN.

    Returns
    -------
    pandas.DataFrame
        One row per layer, labels ``h1 .. hL`` then ``f`` (:func:`learndyn.coord_check.layer_names`), columns
        :data:`COLUMNS`: ``h_init``, ``Delta_h``, ``delta_h`` and ``h`` are the means of the absolute values over
        items and units.

    Raises
    ------
    TypeError, ValueError
        For a net that is not an MLP, parameter trees that do not match the net (naming the argument and entry),
        ``X`` with the wrong number of columns or non-finite entries.
    RuntimeError
        If ``h_init + Delta_h`` is not the net's forward pass (relative 1e-10): a net whose layers are not
        ``multiplier * (W x + b)``.

    Examples
    --------
    >>> import jax, numpy as np
    >>> from learndyn import param
    >>> par, sizes = param.get("ip"), (3, 16, 16, 1)
    >>> net, p0 = par.mlp(sizes, "relu"), par.init(jax.random.key(0), sizes, "relu")
    >>> X = np.random.default_rng(0).standard_normal((5, 3))
    >>> df = contributions(net, p0, p0, X)
    >>> df.layer.tolist(), df.Delta_h.tolist(), bool(np.allclose(df.h_init, df.h)), bool(df.delta_h.isna().all())
    (['h1', 'h2', 'f'], [0.0, 0.0, 0.0], True, True)
    >>> p1 = jax.tree.map(lambda w: 1.1 * w, p0)  # both parts see the same current input x(t)
    >>> (contributions(net, p1, p0, X).eval("Delta_h / h_init")).round(12).tolist()
    [0.1, 0.1, 0.1]
    """
    net = _net(net)
    W, b = _tree("params", params, net)
    W0, b0 = _tree("params_init", params_init, net)
    prev = None if params_previous is None else _tree("params_previous", params_previous, net)
    X = _inputs(X, net)
    inputs, outputs = _forward(net, W, b, X)
    dW0, db0 = _diff(W, W0), _diff(b, b0)
    dWp, dbp = (None, None) if prev is None else (_diff(W, prev[0]), _diff(b, prev[1]))
    rows = []
    for l, name in enumerate(layer_names(net.depth - 1)):
        a, x, h = net.multiplier(l), inputs[l], outputs[l]
        h_init = _part(a, x, W0[l], None if b0 is None else b0[l])
        Delta = _part(a, x, dW0[l], None if db0 is None else db0[l])
        _check_split(name, h_init, Delta, h)
        delta = np.nan if dWp is None else np.mean(np.abs(_part(a, x, dWp[l], None if dbp is None else dbp[l])))
        rows.append(
            {"layer": name, "h_init": np.mean(np.abs(h_init)), "Delta_h": np.mean(np.abs(Delta)),
             "delta_h": float(delta), "h": np.mean(np.abs(h))}
        )  # fmt: skip
    return pd.DataFrame(rows, columns=list(COLUMNS)).astype({c: float for c in COLUMNS[1:]})


def rank_proxies(M) -> dict:
    """Three measures of the effective rank of a matrix from its singular values ``s_1 >= s_2 >= ...``.

    Parameters
    ----------
    M : array, 2-D
        Any real finite matrix, e.g. a layer's pre-activations over items (``P x m``).

    Returns
    -------
    dict
        ``"stable_rank"``: ``||M||_F^2 / ||M||_op^2 = sum s^2 / s_1^2``; ``"nuclear_rank"``:
        ``(sum s)^2 / sum s^2``; ``"rank"``: the numerical rank, the number of ``s > s_1 max(M.shape) eps`` (the
        default tolerance of ``numpy.linalg.matrix_rank``), an int. Both proxies lie in ``[1, rank]``; all three are
        0 for the zero matrix. Invariant under orthogonal transformations and scaling of ``M``.

    Raises
    ------
    ValueError, TypeError
        For input that is not a 2-D real array, has a zero-size axis or non-finite entries.

    Examples
    --------
    >>> r = rank_proxies(np.diag([3.0, 4.0, 0.0]))
    >>> r["stable_rank"], r["nuclear_rank"], r["rank"]  # 25/16, 49/25, 2
    (1.5625, 1.96, 2)
    """
    M = _checks.as_matrix("M", M)
    s = np.linalg.svd(M, compute_uv=False)
    if s[0] == 0.0:
        return {"stable_rank": 0.0, "nuclear_rank": 0.0, "rank": 0}
    sq = float(np.sum(s**2))
    tol = s[0] * max(M.shape) * np.finfo(np.float64).eps
    rank = int(np.sum(s > tol))
    return {"stable_rank": sq / float(s[0]) ** 2, "nuclear_rank": float(np.sum(s)) ** 2 / sq, "rank": rank}


def layer_ranks(net, params, X) -> pd.DataFrame:
    """:func:`rank_proxies` of every hidden layer's pre-activations ``h^l`` and activations ``x^l`` over the items.

    Parameters
    ----------
    net : learndyn.nets.MLP
        At least one hidden layer. ``x^l`` is the hidden layer's output in the forward pass (``phi(h^l)``; the gated
        ``gate * h^l`` for a :class:`~learndyn.nets.GLN`).
    params : dict or tuple
        Parameters of one net, as in :func:`contributions`.
    X : array, shape (P, n_in)
        Items: the matrices are ``P x m``.

    Returns
    -------
    pandas.DataFrame
        Two rows per hidden layer (``h1 .. hL``), ``of = "h"`` then ``"x"``, columns ``layer``, ``of`` and
        :data:`RANK_PROXIES`.

    Examples
    --------
    >>> import jax
    >>> from learndyn import param
    >>> par, sizes = param.get("mup"), (2, 8, 8, 1)
    >>> net = par.mlp(sizes, "relu")
    >>> X = np.random.default_rng(0).standard_normal((6, 2))
    >>> df = layer_ranks(net, par.init(jax.random.key(0), sizes, "relu"), X)
    >>> df[["layer", "of"]].to_numpy().tolist()
    [['h1', 'h'], ['h1', 'x'], ['h2', 'h'], ['h2', 'x']]
    >>> int(df["rank"].iloc[0])  # h1 = X W1^T / sqrt(2) has rank <= d = 2
    2
    """
    net = _net(net)
    W, b = _tree("params", params, net)
    inputs, outputs = _forward(net, W, b, _inputs(X, net))
    rows = []
    for l, name in enumerate(layer_names(net.depth - 1)[:-1]):
        for of, M in (("h", outputs[l]), ("x", inputs[l + 1])):
            rows.append({"layer": name, "of": of, **rank_proxies(M)})
    return pd.DataFrame(rows, columns=["layer", "of", *RANK_PROXIES])
