"""Gated statistics of a gated deep linear network and the assumptions of its reduction (Saxe, Sodhani & Lewallen
2022; spec ``gated_dln.md`` sections 2.1-2.2), for :mod:`learndyn.theory.gated`, which re-exports everything here.

- :func:`correlations`: ``Sigma_yx(p) = <g_p y_t(p) x_s(p)^T>`` per path and
  ``Sigma_x(q, p) = <g_q g_p x_s(q) x_s(p)^T>`` per co-gated pair of paths into one output node (means over examples);
- :func:`loss` and :func:`path_sum_gradient`: the loss and its gradient from the statistics;
- :func:`bases` and :func:`check`: bases ``V_u``, ``U_w`` that diagonalise the statistics (A1), hidden bases read
  off the weights, and the sizes of the A1 and A2 violations with the worst path, pair or edge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from learndyn import _checks
from learndyn._checks import AssumptionError as AssumptionError  # re-exported for theory.gated
from learndyn.graphs import GatedGraph
from learndyn.tasks import Task

# ------------------------------------------------------------------------------------------------------------------
# Gated statistics


@dataclass(frozen=True, eq=False)
class Correlations:
    """Gated statistics of a task on a graph (means over the examples).

    Attributes
    ----------
    graph : GatedGraph
    syx : tuple of arrays
        ``Sigma_yx(p)`` per path, shape ``(n_t(p), n_s(p))``.
    sx : dict of (q, p) -> array
        ``Sigma_x(q, p)``, shape ``(n_s(q), n_s(p))``, for every ordered pair of paths into the same output node
        whose gates are ever on together (other pairs are zero).
    half_tr_syy : float
        ``1/2 <||y||^2>``.
    P : int
        Number of examples.
    """

    graph: GatedGraph
    syx: tuple
    sx: dict
    half_tr_syy: float
    P: int


def correlations(graph: GatedGraph, task: Task | None = None, *, X=None, Y=None) -> Correlations:
    """The gated statistics of ``task`` (or of ``X, Y``) on ``graph`` (spec section 2.1), means over examples.

    Parameters
    ----------
    graph : GatedGraph
    task : Task, optional
        Training data in the graph's layout (:func:`learndyn.graphs.pairs_task`, :meth:`GatedGraph.rows`).
    X, Y : arrays, optional
        Instead of ``task``.

    Returns
    -------
    Correlations

    Examples
    --------
    >>> import numpy as np
    >>> from learndyn import graphs
    >>> g = graphs.routing(2, 2, 4, 2)
    >>> task = graphs.pairs_task(g, np.eye(2), np.eye(2), [(0, 0), (1, 1)])
    >>> c = correlations(g, task)
    >>> c.syx[0].tolist()  # path x0->h1->h2->y0, half the examples
    [[0.25, 0.0], [0.0, 0.25]]
    """
    if task is not None:
        X, Y = task.X, task.Y
    if X is None or Y is None:
        raise ValueError("give a task, or both X and Y")
    X = _checks.as_matrix("X", X, cols=graph.n_in)
    Y = _checks.as_matrix("Y", Y, rows=X.shape[0], cols=graph.n_out)
    P = X.shape[0]
    xs, _ = graph.split(X)
    G = graph.path_gates(X)
    paths = graph.paths
    syx = tuple(((Y[:, graph.output_slice(p.target)] * G[:, k, None]).T @ xs[p.source]) / P
                for k, p in enumerate(paths))  # fmt: skip
    sx = {}
    for w in graph.outputs:  # pairs only ever meet at a shared output; find the co-gated ones per output
        into = np.array([k for k, p in enumerate(paths) if p.target == w])
        co = (G[:, into] != 0).astype(np.float64)
        for a, c in zip(*np.nonzero(co.T @ co), strict=True):
            q_idx, p_idx = int(into[a]), int(into[c])
            gw = G[:, q_idx] * G[:, p_idx]
            sx[(q_idx, p_idx)] = ((xs[paths[q_idx].source] * gw[:, None]).T @ xs[paths[p_idx].source]) / P
    return Correlations(graph, syx, sx, 0.5 * float(np.sum(Y * Y)) / P, P)


def _path_maps(graph: GatedGraph, W):
    out = []
    for p in graph.paths:
        M = W[p.edges[0]]
        for e in p.edges[1:]:
            M = W[e] @ M
        out.append(M)
    return out


def loss(corr: Correlations, params) -> float:
    """``L = 1/2 tr Sigma_y - sum_p <W_p, Sigma_yx(p)> + 1/2 sum_{q,p} tr(W_q Sigma_x(q, p) W_p^T)``.

    Equals ``1/(2P) sum_mu ||y_mu - f_mu||^2`` of the net with edge matrices ``params`` (exact for any data).
    """
    W = _edge_weights(corr.graph, params)
    Wp = _path_maps(corr.graph, W)
    value = corr.half_tr_syy - sum(float(np.sum(Wp[k] * corr.syx[k])) for k in range(len(Wp)))
    for (q, p), S in corr.sx.items():
        value += 0.5 * float(np.sum((Wp[q] @ S) * Wp[p]))
    return value


def path_sum_gradient(corr: Correlations, params) -> tuple:
    """``dL/dW_e`` of every edge by the path-sum formula of spec section 2.1.

    ``-dL/dW_e = sum_{p through e} W_after^T [Sigma_yx(p) - sum_{q: t(q)=t(p)} W_q Sigma_x(q, p)] W_before^T``, with
    ``W_before`` the product of ``p``'s edges before ``e`` and ``W_after`` of those after it (identity if none).
    Gradient descent is ``W_e <- W_e - lr dL/dW_e``.

    Examples
    --------
    >>> import numpy as np
    >>> from learndyn import graphs
    >>> g = graphs.GatedGraph.build(inputs={"x": 2}, outputs={"y": 1}, edges=["x->y"])
    >>> c = correlations(g, X=np.eye(2), Y=np.array([[1.0], [0.0]]))
    >>> path_sum_gradient(c, (np.zeros((1, 2)),))[0].tolist()
    [[-0.5, 0.0]]
    """
    g = corr.graph
    W = _edge_weights(g, params)
    Wp = _path_maps(g, W)
    E = [Wp[k] * 0.0 - corr.syx[k] for k in range(len(Wp))]
    for (q, p), S in corr.sx.items():
        E[p] = E[p] + Wp[q] @ S
    grads = [np.zeros(np.shape(w)) for w in W]
    for k, p in enumerate(g.paths):
        for j, e in enumerate(p.edges):
            before = None
            for e2 in p.edges[:j]:
                before = W[e2] if before is None else W[e2] @ before
            after = None
            for e2 in p.edges[j + 1 :]:
                after = W[e2] if after is None else W[e2] @ after
            G = E[k] if after is None else after.T @ E[k]
            grads[e] = grads[e] + (G if before is None else G @ before.T)
    return tuple(grads)


def _edge_weights(graph: GatedGraph, params):
    W = params["W"] if isinstance(params, dict) else params
    if not isinstance(W, tuple | list) or len(W) != len(graph.edges):
        raise ValueError(f"params must hold one matrix per edge ({len(graph.edges)} edges)")
    out = []
    for e, w in enumerate(W):
        w = np.asarray(w, dtype=np.float64)
        if w.shape[-2:] != graph.edge_shape(e):
            raise ValueError(f"edge {graph.edge_names[e]!r}: weight shape {w.shape} does not match the node widths "
                             f"(n_dst, n_src) = {graph.edge_shape(e)}")  # fmt: skip
        out.append(w)
    return out


# ------------------------------------------------------------------------------------------------------------------
# Bases and the assumption check


def _orthonormal(columns: np.ndarray, fallback: np.ndarray, tol: float) -> np.ndarray:
    """An orthogonal matrix whose leading columns follow ``columns`` (NaN columns are free), completed from
    ``fallback`` (an orthogonal matrix) by Gram-Schmidt."""
    n = fallback.shape[0]
    out = np.zeros((n, n))
    filled = np.zeros(n, dtype=bool)
    for a in range(min(columns.shape[1], n)):
        c = columns[:, a]
        if np.all(np.isfinite(c)):
            c = c - out[:, filled] @ (out[:, filled].T @ c)
            norm = np.linalg.norm(c)
            if norm > tol:
                out[:, a] = c / norm
                filled[a] = True
    for a in np.flatnonzero(~filled):
        for k in range(n):
            c = fallback[:, k] - out[:, filled] @ (out[:, filled].T @ fallback[:, k])
            norm = np.linalg.norm(c)
            if norm > 1e-6:
                out[:, a] = c / norm
                filled[a] = True
                break
    return out


def bases(corr: Correlations, *, tol: float = 1e-10, seed: int = 0) -> dict[str, np.ndarray]:
    """Orthogonal ``V_u`` (input nodes) and ``U_w`` (output nodes) that diagonalise the gated statistics (A1).

    Nodes are linked by every nonzero statistic: ``Sigma_yx(p)`` ties ``U_t(p)`` to ``V_s(p)`` and ``Sigma_x(q, p)``
    ties ``V_s(q)`` to ``V_s(p)``. Starting from the first input node, whose basis diagonalises a generic combination
    of its own statistics (modes ordered by strength), every linked node's basis vectors are the images of the
    known ones (``U[:, a] ~ Sigma_yx V[:, a]``), so mode ``a`` means the same thing along every path. Where data are
    degenerate (equal singular values) this is one valid choice; pass your own bases to :func:`check` if the
    statistics are diagonal in another one.

    Returns
    -------
    dict of node -> (n_v, n_v) orthogonal matrix
        Columns are modes; ``V_u`` for inputs and ``U_w`` for outputs.
    """
    g = corr.graph
    rng = np.random.default_rng(seed)
    links = []  # (left node, right node, M): left^T M right should be diagonal
    for k, p in enumerate(g.paths):
        if np.any(corr.syx[k]):
            links.append((p.target, p.source, corr.syx[k]))
    for (q, p), S in corr.sx.items():
        if np.any(S):
            links.append((g.paths[q].source, g.paths[p].source, S))
    nodes = [*g.inputs, *g.outputs]
    gram = {n: np.zeros((g.widths[n], g.widths[n])) for n in nodes}
    strength = {n: np.zeros((g.widths[n], g.widths[n])) for n in nodes}
    for left, right, M in links:
        c = rng.uniform(0.5, 1.5)
        gram[left] += c * (M @ M.T)
        gram[right] += c * (M.T @ M)
        strength[left] += M @ M.T
        strength[right] += M.T @ M
        if left == right:
            gram[left] += rng.uniform(0.5, 1.5) * (M + M.T)

    def own_basis(n):
        _, vecs = np.linalg.eigh(gram[n])
        order = np.argsort(-np.einsum("ia,ij,ja->a", vecs, strength[n], vecs), kind="stable")
        return vecs[:, order]

    out: dict[str, np.ndarray] = {}
    for start in nodes:
        if start in out:
            continue
        out[start] = own_basis(start)
        frontier = [start]
        while frontier:
            frontier.pop(0)  # a worklist: every pass assigns the nodes linked to any assigned one
            for n in nodes:
                if n in out:
                    continue
                cols = np.full((g.widths[n], g.widths[n]), np.nan)
                best = np.zeros(g.widths[n])
                for left, right, M in links:
                    if left == n and right in out:
                        img = M @ out[right]
                    elif right == n and left in out:
                        img = M.T @ out[left]
                    else:
                        continue
                    norms = np.linalg.norm(img, axis=0)
                    for col in range(min(img.shape[1], g.widths[n])):
                        if norms[col] > max(best[col], tol):
                            best[col] = norms[col]
                            cols[:, col] = img[:, col]
                if np.any(best > 0):
                    out[n] = _orthonormal(cols, own_basis(n), tol)
                    frontier.append(n)
    return out


def _offdiag(M: np.ndarray) -> np.ndarray:
    k = min(M.shape)
    D = M.copy()
    D[np.arange(k), np.arange(k)] = 0.0
    return D


@dataclass(frozen=True)
class Violation:
    """Size of one assumption's failure: ``size`` relative to the scale of the statistic or weight, and where."""

    assumption: str
    size: float
    where: str

    def __str__(self):
        return f"{self.assumption}: relative off-diagonal size {self.size:.3g} at {self.where}"


@dataclass(frozen=True, eq=False)
class Check:
    """Result of :func:`check`: the two assumption sizes, the bases of every node and the diagonals ``b_e``."""

    a1: Violation
    a2: Violation
    bases: dict = field(repr=False)
    b: tuple = field(repr=False)  # per edge: the diagonal of R_dst^T W_e R_src

    def ok(self, tol: float = 1e-8) -> bool:
        """Whether both assumptions hold to ``tol``."""
        return self.a1.size <= tol and self.a2.size <= tol


def _hidden_bases(g: GatedGraph, W, known: dict, tol: float, seed: int) -> dict:
    """Hidden ``R_v`` read off decoupled weights, mode by mode.

    Mode ``a`` of a hidden node is the image of mode ``a`` of a neighbour through the edge between them: forward
    (``W_e R_src[:, a]``, modes carried from the inputs), then backward (``W_e^T R_dst[:, a]``, modes that end at the
    outputs), then forward again with the remaining modes completed arbitrarily at the first node that has them,
    so that every edge sees the same completion on both of its ends.
    """
    rng = np.random.default_rng(seed)
    hidden = [v for v in g.order if v not in known]
    cols = {v: np.full((g.widths[v], g.widths[v]), np.nan) for v in hidden}
    filled = {**{v: np.zeros(g.widths[v], dtype=bool) for v in hidden},
              **{n: np.ones(g.widths[n], dtype=bool) for n in known}}  # fmt: skip
    basis = {**{v: cols[v] for v in hidden}, **{n: np.asarray(known[n]) for n in known}}

    def fill(v, neighbours):
        best = np.zeros(g.widths[v])
        new = {}
        for M, other in neighbours:
            img = M @ np.where(filled[other], basis[other], 0.0)
            norms = np.linalg.norm(img, axis=0)
            for a in range(min(img.shape[1], g.widths[v])):
                if not filled[v][a] and filled[other][a] and norms[a] > max(best[a], tol):
                    best[a] = norms[a]
                    new[a] = img[:, a] / norms[a]
        for a, c in sorted(new.items()):
            done = basis[v][:, filled[v]]
            c = c - done @ (done.T @ c)
            if np.linalg.norm(c) > tol:
                basis[v][:, a] = c / np.linalg.norm(c)
                filled[v][a] = True

    def incoming(v):
        return [(W[e], s) for e, (s, d) in enumerate(g.edges) if d == v]

    def outgoing(v):
        return [(W[e].T, d) for e, (s, d) in enumerate(g.edges) if s == v]

    for v in hidden:
        fill(v, incoming(v))
    for v in reversed(hidden):
        fill(v, outgoing(v))
    for v in hidden:
        fill(v, incoming(v))
        if not np.all(filled[v]):
            q, _ = np.linalg.qr(rng.normal(size=(g.widths[v], g.widths[v])))
            basis[v] = _orthonormal(np.where(filled[v], basis[v], np.nan), q, tol)
            filled[v][:] = True
    return {**dict(known), **{v: basis[v] for v in hidden}}


def check(corr: Correlations, params, *, data_bases: Mapping | None = None, tol: float = 1e-10, seed: int = 0) -> Check:
    """How far the reduction's assumptions are from holding (spec section 2.2).

    (A1) ``U_w^T Sigma_yx(p) V_u`` and ``V_s(q)^T Sigma_x(q, p) V_s(p)`` diagonal for every path and pair: its size is
    the largest off-diagonal Frobenius norm relative to the largest statistic. (A2) ``W_e = R_dst B_e R_src^T`` with
    ``B_e`` diagonal, ``R`` the data bases at inputs and outputs and hidden bases read off the weights: its size is
    the largest ``||offdiag(R_dst^T W_e R_src)|| / ||W_e||`` over edges (0 for a zero edge).

    Parameters
    ----------
    corr : Correlations
    params : pytree or tuple
        The initial edge matrices.
    data_bases : dict, optional
        ``V_u`` / ``U_w`` to use (default :func:`bases`).

    Returns
    -------
    Check
    """
    g = corr.graph
    W = _edge_weights(g, params)
    B = dict(data_bases) if data_bases is not None else bases(corr, tol=tol, seed=seed)
    for n in [*g.inputs, *g.outputs]:
        if n not in B:
            raise ValueError(f"bases must cover every input and output node; {n!r} is missing")
    scale = max([np.linalg.norm(S) for S in corr.syx] + [np.linalg.norm(S) for S in corr.sx.values()] + [1e-300])
    worst = (0.0, "-")
    for k, p in enumerate(g.paths):
        size = np.linalg.norm(_offdiag(B[p.target].T @ corr.syx[k] @ B[p.source])) / scale
        if size > worst[0]:
            worst = (size, f"Sigma_yx of path {g.path_name(p)}")
    for (q, p), S in corr.sx.items():
        size = np.linalg.norm(_offdiag(B[g.paths[q].source].T @ S @ B[g.paths[p].source])) / scale
        if size > worst[0]:
            worst = (size, f"Sigma_x of paths ({g.path_name(g.paths[q])}, {g.path_name(g.paths[p])})")
    a1 = Violation("A1 (aligned statistics)", float(worst[0]), worst[1])
    R = _hidden_bases(g, W, B, tol, seed)
    worst = (0.0, "-")
    diags = []
    for e, (s, d) in enumerate(g.edges):
        M = R[d].T @ W[e] @ R[s]
        k = min(M.shape)
        diags.append(np.diagonal(M)[:k].copy())
        norm = np.linalg.norm(W[e])
        size = np.linalg.norm(_offdiag(M)) / norm if norm > 0 else 0.0
        if size > worst[0]:
            worst = (size, f"edge {g.edge_names[e]}")
    a2 = Violation("A2 (decoupled initialisation)", float(worst[0]), worst[1])
    return Check(a1, a2, R, tuple(diags))
