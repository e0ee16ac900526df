"""Gated deep linear networks on a graph (:class:`learndyn.graphs.GatedGraph`): the net the shared simulator trains.

``GatedDLN(graph)`` follows the nets protocol: ``init(key) -> {"W": (W_e per edge)}`` and ``apply(params, X) ->
(f, cache)`` with ``X`` in the graph's data layout (input activities, then gate columns). It has no layer backward
pass, so :func:`learndyn.train.simulate` trains it with the exact gradient of the loss by autodiff of this forward
pass (``rule="gd"``); ``t = lr * step`` as everywhere (see :mod:`learndyn.graphs` for the loss).

Examples
--------
>>> import jax, numpy as np
>>> from learndyn import graphs
>>> net = GatedDLN(graphs.routing(2, 3, 8, 2))
>>> params = net.init(jax.random.key(0), scale=0.2)
>>> X = net.graph.rows({"x0": np.eye(3)}, graphs.routing_gates(0, 1))
>>> f, cache = net.apply(params, X)
>>> f.shape, float(abs(f[:, :2]).max())  # output domain 0 is gated off
((3, 4), 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from learndyn import _checks
from learndyn.graphs import GatedGraph

#: Initialisations of :meth:`GatedDLN.init`.
INITS = ("orthogonal", "normal", "xavier")


@dataclass(frozen=True)
class GatedDLN:
    """A gated deep linear network on ``graph``: ``h_v = g_v sum_{e -> v} g_e W_e h_src(e)``.

    Parameters
    ----------
    graph : learndyn.graphs.GatedGraph

    Examples
    --------
    >>> from learndyn import graphs
    >>> net = GatedDLN(graphs.routing(3, 4, 16, 5))
    >>> net.n_in, net.n_out, len(net.graph.edges)
    (18, 15, 7)
    """

    graph: GatedGraph

    def __post_init__(self):
        if not isinstance(self.graph, GatedGraph):
            raise TypeError(f"graph must be a learndyn.graphs.GatedGraph; got {type(self.graph).__name__}")

    @property
    def n_in(self) -> int:
        """Columns of ``X`` (input widths + gates)."""
        return self.graph.n_in

    @property
    def n_out(self) -> int:
        """Columns of the outputs (output widths)."""
        return self.graph.n_out

    @property
    def depth(self) -> int:
        """Edges on the longest path."""
        return max(len(p.edges) for p in self.graph.paths)

    @property
    def is_linear(self) -> bool:
        """Not a plain chain: trajectories use the gated observables, not the two-block linear ones."""
        return False

    def init(self, key, scale: float = 1.0, *, method: str = "orthogonal", dtype="float64") -> dict:
        """Random weights for every edge.

        Parameters
        ----------
        key : jax.random key
            ``jax.vmap(net.init)(keys)`` batches seeds.
        scale : float
            ``"orthogonal"``: the gain (``W_e`` is ``scale`` times a Haar-random semi-orthogonal matrix, like torch's
            ``orthogonal_``); ``"normal"``: entries ``N(0, scale^2 / n_src)``; ``"xavier"``: uniform on
            ``[-a, a]``, ``a = scale sqrt(6 / (n_src + n_dst))`` (torch's ``xavier_uniform_`` gain).
        method : {"orthogonal", "normal", "xavier"}
        dtype : {"float64", "float32"}

        Returns
        -------
        dict
            ``{"W": (W_e for e in graph.edges)}``, ``W_e`` of shape ``(n_dst, n_src)``.

        Examples
        --------
        >>> import jax, numpy as np
        >>> from learndyn import graphs
        >>> net = GatedDLN(graphs.routing(2, 4, 8, 3))
        >>> W = net.init(jax.random.key(1), 0.5)["W"][0]
        >>> W.shape, bool(np.allclose(W.T @ W, 0.25 * np.eye(4)))
        ((8, 4), True)
        """
        dtype = _checks.float_dtype("dtype", dtype)
        method = _checks.one_of("method", method, INITS)
        keys = jax.random.split(key, len(self.graph.edges))
        out = []
        for k, e in zip(keys, range(len(self.graph.edges)), strict=True):
            n_dst, n_src = self.graph.edge_shape(e)
            if method == "orthogonal":
                W = jax.nn.initializers.orthogonal(scale)(k, (n_dst, n_src), jnp.float64)
            elif method == "normal":
                W = scale * jax.random.normal(k, (n_dst, n_src), jnp.float64) / jnp.sqrt(n_src)
            else:
                a = scale * jnp.sqrt(6.0 / (n_src + n_dst))
                W = jax.random.uniform(k, (n_dst, n_src), jnp.float64, -a, a)
            out.append(W.astype(dtype))
        return {"W": tuple(out)}

    def decoupled(self, bases, b, key=0, *, dtype="float64") -> dict:
        """A decoupled initialisation ``W_e = R_dst diag(b_e) R_src^T`` (assumption A2 of the reduction).

        Parameters
        ----------
        bases : dict of node -> orthogonal matrix (n_v, n_v)
            ``V_u`` for input nodes and ``U_w`` for output nodes (e.g. :func:`learndyn.theory.gated.bases`), and any
            hidden node's ``R_v``; hidden nodes not given get a Haar-random ``R_v`` from ``key``.
        b : float, or dict of edge name -> float or vector
            The diagonal of ``B_e(0)`` (length ``min(n_dst, n_src)``); a scalar gives the same value to every mode
            and every edge (edges missing from a dict get 0).
        key : int
            Seed of the hidden bases.

        Returns
        -------
        dict
            ``{"W": (W_e ...)}`` (NumPy arrays).

        Examples
        --------
        >>> import numpy as np
        >>> from learndyn import graphs
        >>> g = graphs.routing(2, 3, 5, 3)
        >>> net = GatedDLN(g)
        >>> eye = {n: np.eye(w) for n, w in g.nodes if n in g.inputs + g.outputs}
        >>> W = net.decoupled(eye, 0.1)["W"]
        >>> np.round(np.linalg.svd(W[g.edge_index("h1->h2")], compute_uv=False), 6).tolist()
        [0.1, 0.1, 0.1, 0.1, 0.1]
        """
        dtype = _checks.float_dtype("dtype", dtype)
        rng = _checks.rng(key)
        g = self.graph
        R = {}
        for name, width in g.nodes:
            if name in bases:
                Q = _checks.as_matrix(f"bases[{name!r}]", bases[name], rows=width, cols=width)
                if not np.allclose(Q.T @ Q, np.eye(width), atol=1e-10):
                    raise ValueError(f"bases[{name!r}] is not orthogonal: max|Q^T Q - I| = "
                                     f"{np.abs(Q.T @ Q - np.eye(width)).max():.3g}")  # fmt: skip
                R[name] = Q
            elif name in g.inputs or name in g.outputs:
                raise ValueError(f"bases must give the {'input' if name in g.inputs else 'output'} node {name!r}"
                                 " its basis (V_u / U_w of the data statistics)")  # fmt: skip
            else:
                q, r = np.linalg.qr(rng.normal(size=(width, width)))
                R[name] = q * np.sign(np.diag(r))
        out = []
        for e, (s, d) in enumerate(g.edges):
            n_dst, n_src = g.edge_shape(e)
            k = min(n_dst, n_src)
            value = b.get(g.edge_names[e], 0.0) if isinstance(b, dict) else b
            diag = np.broadcast_to(np.asarray(value, dtype=np.float64), (k,))
            if isinstance(b, dict):
                unknown = set(b) - set(g.edge_names)
                if unknown:
                    raise ValueError(f"b names unknown edges {sorted(unknown)}; edges: {list(g.edge_names)}")
            B = np.zeros((n_dst, n_src))
            B[np.arange(k), np.arange(k)] = diag
            out.append((R[d] @ B @ R[s].T).astype(dtype))
        return {"W": tuple(out)}

    def weights(self, params) -> tuple:
        """The edge matrices of ``params``, checked against the graph (count and shapes, naming the edge)."""
        W = params["W"] if isinstance(params, dict) else params
        if not isinstance(W, tuple | list) or len(W) != len(self.graph.edges):
            n = len(W) if isinstance(W, tuple | list) else type(W).__name__
            raise ValueError(f"params must hold one weight matrix per edge ({len(self.graph.edges)}); got {n}")
        for e, w in enumerate(W):
            want = self.graph.edge_shape(e)
            if tuple(w.shape[-2:]) != want:
                raise ValueError(f"edge {self.graph.edge_names[e]!r}: weight shape {tuple(w.shape[-2:])} does not "
                                 f"match the node widths (n_dst, n_src) = {want}")  # fmt: skip
        return tuple(W)

    def apply(self, params, X):
        """Outputs ``(P, n_out)`` and the cache ``{"h": node activities in graph.order, "gates": (P, n_gates)}``."""
        W = self.weights(params)
        g = self.graph
        X = jnp.asarray(X)
        if X.ndim != 2 or X.shape[1] != g.n_in:
            raise ValueError(f"X must be (P, {g.n_in}) in the graph's layout (inputs, then {len(g.gates)} gate "
                             f"columns); got shape {X.shape}")  # fmt: skip
        gate_cols = {name: X[:, g.gate_column(name)] for name in g.gates}
        h = {u: X[:, g.input_slice(u)] for u in g.inputs}
        for v in g.order:
            if v in h:
                continue
            z = 0.0
            for e, (s, d) in enumerate(g.edges):
                if d != v:
                    continue
                term = h[s] @ W[e].T
                name = g.edge_names[e]
                if name in gate_cols:
                    term = gate_cols[name][:, None] * term
                z = z + term
            h[v] = gate_cols[v][:, None] * z if v in gate_cols else z
        f = jnp.concatenate([h[w] for w in g.outputs], axis=1)
        return f, {"h": tuple(h[v] for v in g.order), "gates": X[:, g.n_in - len(g.gates) :]}

    def path_products(self, params) -> tuple:
        """``W_p = W_{e_l} ... W_{e_1}`` for every path of the graph (leading axes of the weights kept)."""
        W = self.weights(params)
        out = []
        for p in self.graph.paths:
            M = W[p.edges[0]]
            for e in p.edges[1:]:
                M = W[e] @ M
            out.append(M)
        return tuple(out)

    def conserved(self, params) -> dict:
        """Per hidden node ``v``: ``sum_{e -> v} W_e W_e^T - sum_{v -> e} W_e^T W_e`` (leading axes kept).

        Gradient flow keeps every one constant: for any gate values, ``sum_in W_e dW_e^T`` and ``sum_out dW_e^T W_e``
        both equal ``<h_v delta_v^T>`` (``delta_v = dL/dh_v``). GD drifts by O(lr^2) per step.
        """
        W = self.weights(params)
        g = self.graph
        out = {}
        for v, _ in g.nodes:
            if v in g.inputs or v in g.outputs:
                continue
            C = 0.0
            for e, (s, d) in enumerate(g.edges):
                if d == v:
                    C = C + W[e] @ jnp.swapaxes(W[e], -1, -2)
                if s == v:
                    C = C - jnp.swapaxes(W[e], -1, -2) @ W[e]
            out[v] = C
        return out
