"""The neural race reduction of gated deep linear networks (Saxe, Sodhani & Lewallen 2022; spec ``gated_dln.md``).

For a :class:`learndyn.graphs.GatedGraph` trained on a task in the graph's data layout, with the library's loss
``L = 1/(2P) sum_mu ||y_mu - f_mu||^2`` (a mean over the ``P`` examples) and time ``t = lr * step``:

The statistics and the assumption check live in :mod:`learndyn.theory.gated_statistics` and are re-exported here:

- :func:`correlations`: the gated statistics ``Sigma_yx(p) = <g_p y_t(p) x_s(p)^T>`` per path and
  ``Sigma_x(q, p) = <g_q g_p x_s(q) x_s(p)^T>`` per pair of paths into the same output node;
- :func:`loss` and :func:`path_sum_gradient`: the loss and its gradient (spec section 2.1) from the statistics;
- :func:`bases` and :func:`check`: orthogonal bases ``V_u`` (inputs) and ``U_w`` (outputs) in which the
  statistics are diagonal (assumption A1), hidden bases ``R_v`` read off the weights, and how far the weights are
  from ``R_dst diag(b) R_src^T`` (assumption A2), each with its size and the worst path, pair or edge;
- :func:`reduce`: the reduced per-mode dynamics (section 2.3) as a :class:`Reduction`, with the gradient flow
  (:meth:`Reduction.flow`, SciPy ``solve_ivp``), the exact discrete GD map (:meth:`Reduction.gd`) and the trajectory
  Dataset with the simulation's variable names (:meth:`Reduction.trajectory`).

Per mode ``alpha`` the reduced system is a set of scalar networks, one scalar ``b_e`` per edge and mode:

    db_e/dt = sum_{p through e} (prod_{e' in p, e' != e} b_e') [s(p) - sum_{q: t(q) = t(p)} d(q, p) a_q],
    a_p = prod_{e in p} b_e,

the gradient flow of ``L(b) = 1/2 tr Sigma_y - sum_p s(p) a_p + 1/2 sum_{q,p} d(q, p) a_q a_p`` (summed over modes).
Pathways into one output compete through the shared residual; pathways through one edge add their drives on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from scipy.integrate import solve_ivp

from learndyn import _checks
from learndyn.graphs import GatedGraph
from learndyn.observables import describe_variables
from learndyn.tasks import Task
from learndyn.theory.gated_statistics import (
    AssumptionError,
    Check,
    Correlations,
    Violation,
    bases,
    check,
    correlations,
    loss,
    path_sum_gradient,
)

# ------------------------------------------------------------------------------------------------------------------
# The reduced dynamics


@dataclass(frozen=True, eq=False)
class Reduction:
    """The neural race: per-mode scalar networks equivalent to a decoupled gated net (spec section 2.3).

    Build it with :func:`reduce`. Modes ``alpha < K`` (``K`` the widest path's narrowest node) move; higher modes of
    wide edges are inert and keep their initial values. Time is the library's ``t = lr * step`` on
    ``L = 1/(2P) sum ||y - f||^2``.

    Attributes
    ----------
    graph : GatedGraph
    bases : dict of node -> orthogonal matrix
        ``V_u``, ``U_w`` (and hidden ``R_v`` where read off initial weights).
    s : (n_paths, K) array
        ``s_alpha(p) = (U_t^T Sigma_yx(p) V_s)_{alpha alpha}``.
    pairs : (n_pairs, 2) int array and d : (n_pairs, K) array
        ``d_alpha(q, p)`` for the pairs ``(q, p)`` with nonzero ``Sigma_x(q, p)``.
    b0 : (n_edges, K) array
        Initial ``b_e`` of the moving modes (0 where an edge is narrower than ``alpha``).
    inert : tuple of arrays
        Per edge, the initial diagonal of its modes ``>= K`` (constant in time).
    half_tr_syy : float
    check : Check or None
        The assumption sizes at the initial weights (``None`` for a decoupled start from ``b0`` values, whose A2 is
        exact by construction; A1 is then in ``a1``).
    a1 : Violation
    """

    graph: GatedGraph
    bases: dict = field(repr=False)
    s: np.ndarray = field(repr=False)
    pairs: np.ndarray = field(repr=False)
    d: np.ndarray = field(repr=False)
    b0: np.ndarray = field(repr=False)
    inert: tuple = field(repr=False)
    half_tr_syy: float = 0.0
    check: Check | None = None
    a1: Violation | None = None

    @property
    def K(self) -> int:
        """Number of moving modes."""
        return self.s.shape[1]

    def _arrays(self):
        g = self.graph
        L = max(len(p.edges) for p in g.paths)
        idx = np.full((len(g.paths), L), len(g.edges))  # padding points at a row of ones
        for k, p in enumerate(g.paths):
            idx[k, : len(p.edges)] = p.edges
        return jnp.asarray(idx), jnp.asarray(self.s), jnp.asarray(self.pairs), jnp.asarray(self.d)

    @cached_property
    def _gd_runner(self):
        """Jitted ``(b0, record steps, lr) -> b at the records`` (compiled once per reduction and record count)."""
        rhs = self._rhs()

        @jax.jit
        def run(b0, steps, h):
            def record(carry, k_end):
                b, k = carry
                b = jax.lax.fori_loop(k, k_end, lambda _, b: b + h * rhs(b), b)
                return (b, k_end), b

            return jax.lax.scan(record, (b0, jnp.asarray(0, steps.dtype)), steps)[1]

        return run

    @cached_property
    def _rhs_jit(self):
        return self._rhs()

    def _rhs(self):
        """b (n_edges, K) -> db/dt = -dL/db, by the explicit per-mode race equations (jitted)."""
        idx, s, pairs, d = self._arrays()
        n_edges, n_paths = len(self.graph.edges), len(self.graph.paths)

        L = idx.shape[1]
        # Only self-pairs (one pathway per example, as in routing data): the prediction is elementwise.
        diagonal = bool(np.all(np.asarray(pairs)[:, 0] == np.asarray(pairs)[:, 1])) and len(pairs) == n_paths
        if diagonal:
            d_self = jnp.zeros_like(s).at[pairs[:, 1]].set(d)

        def rhs(b):
            ext = jnp.concatenate([b, jnp.ones((1, b.shape[1]), b.dtype)])
            F = [ext[idx[:, j]] for j in range(L)]  # (paths, K) per position; padding reads ones
            # products of the other positions, written out (paths are short): fuses into few elementwise kernels
            others = []
            for j in range(L):
                prod = None
                for i in range(L):
                    if i != j:
                        prod = F[i] if prod is None else prod * F[i]
                others.append(jnp.ones_like(F[0]) if prod is None else prod)
            a = others[0] * F[0]
            if diagonal:
                pred = d_self * a
            else:
                pred = jnp.zeros((n_paths, b.shape[1]), b.dtype).at[pairs[:, 1]].add(d * a[pairs[:, 0]])
            r = s - pred
            drive = jnp.stack([o * r for o in others], axis=1)  # (paths, L, K)
            return jnp.zeros((n_edges + 1, b.shape[1]), b.dtype).at[idx].add(drive)[:n_edges]

        return jax.jit(rhs)

    def path_strengths(self, b) -> np.ndarray:
        """``a_p = prod_{e in p} b_e`` per mode: (..., n_paths, K)."""
        b = np.asarray(b)
        out = np.ones((*b.shape[:-2], len(self.graph.paths), b.shape[-1]))
        for k, p in enumerate(self.graph.paths):
            for e in p.edges:
                out[..., k, :] *= b[..., e, :]
        return out

    def loss(self, b) -> np.ndarray:
        """``L(b) = 1/2 tr Sigma_y - sum_p s(p) a_p + 1/2 sum_{q,p} d(q, p) a_q a_p`` (per leading index)."""
        a = self.path_strengths(b)
        lin = np.sum(self.s * a, axis=(-2, -1))
        quad = np.sum(self.d * a[..., self.pairs[:, 0], :] * a[..., self.pairs[:, 1], :], axis=(-2, -1))
        return self.half_tr_syy - lin + 0.5 * quad

    def flow(self, t, *, rtol: float = 1e-12, atol: float = 1e-14, method: str = "DOP853") -> np.ndarray:
        """Gradient flow ``db/dt = -dL/db`` from ``b0``, at times ``t``: (T, n_edges, K).

        Integrated with ``scipy.integrate.solve_ivp`` (``method``, tolerances on ``b``). Small starts sit on a
        plateau that amplifies early relative errors into a time shift of the escape, hence the tight defaults:
        on the routing network they give ``|a - a_closed| <= 2e-9`` against the closed form of
        :mod:`learndyn.theory.routing` (``rtol = 1e-10``: 5e-6).
        """
        t = _checks.times("t", t)
        rhs = self._rhs_jit
        shape = self.b0.shape

        def f(_, y):
            return np.asarray(rhs(jnp.asarray(y.reshape(shape)))).ravel()

        sol = solve_ivp(f, (0.0, float(t[-1])), self.b0.ravel(), t_eval=t, method=method, rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(f"solve_ivp failed on the reduced gated dynamics: {sol.message}")
        return sol.y.T.reshape(len(t), *shape)

    def gd(self, lr: float, t) -> tuple[np.ndarray, np.ndarray]:
        """The exact discrete map of full-batch GD, ``b <- b - lr dL/db``, recorded at ``round(t / lr)`` steps.

        Equal to GD on the full network from the decoupled start (the decoupled form is preserved by every step).

        Returns
        -------
        t : (T,) array
            The recorded times ``lr * steps``.
        b : (T, n_edges, K) array
        """
        h = _checks.positive_float("lr", lr)
        t = _checks.times("t", t)
        steps = np.rint(t / h).astype(np.int64)
        b = np.asarray(self._gd_runner(jnp.asarray(self.b0), jnp.asarray(steps), jnp.asarray(h)))
        if not np.all(np.isfinite(b)):
            bad = int(np.argmax(~np.all(np.isfinite(b), axis=(1, 2))))
            raise FloatingPointError(f"the reduced GD map diverged by step {steps[bad]} (t = {steps[bad] * h:.6g}); "
                                     f"lr = {h!r} is too large")  # fmt: skip
        return steps * h, b

    def path_maps(self, b) -> list[np.ndarray]:
        """``W_p = U_t(p) diag(a_p) V_s(p)^T`` per path, with the leading axes of ``b``."""
        a = self.path_strengths(b)
        out = []
        for k, p in enumerate(self.graph.paths):
            U, V = self.bases[p.target], self.bases[p.source]
            m = min(U.shape[0], V.shape[0], self.K)
            out.append(np.einsum("ia,...a,ja->...ij", U[:, :m], a[..., k, :m], V[:, :m]))
        return out

    def singular_values(self, b) -> np.ndarray:
        """Singular values of every edge (moving and inert modes), descending, NaN-padded: (..., n_edges, k)."""
        b = np.asarray(b)
        g = self.graph
        k_max = max(min(g.edge_shape(e)) for e in range(len(g.edges)))
        out = np.full((*b.shape[:-2], len(g.edges), k_max), np.nan)
        for e in range(len(g.edges)):
            k = min(g.edge_shape(e))
            moving = np.abs(b[..., e, : min(k, self.K)])
            rest = np.broadcast_to(np.abs(self.inert[e]), (*b.shape[:-2], self.inert[e].shape[0]))
            out[..., e, :k] = -np.sort(-np.concatenate([moving, rest], axis=-1), axis=-1)
        return out

    def trajectory(self, task: Task, t, b) -> xr.Dataset:
        """The reduced solution as a trajectory with the simulation's variables: ``loss``, ``f``, ``test_loss`` and
        ``sv (t, edge, k)`` (see :func:`learndyn.observables.trajectory_from_weights`)."""
        g = self.graph
        maps = self.path_maps(b)
        f = g.outputs_from_paths(maps, task.X)
        r = task.Y[None] - f
        data = {"loss": (("t",), 0.5 * np.mean(np.sum(r * r, axis=-1), axis=-1)), "f": (("t", "p", "o"), f)}
        if task.X_test is not None:
            rt = task.Y_test[None] - g.outputs_from_paths(maps, task.X_test)
            data["test_loss"] = (("t",), 0.5 * np.mean(np.sum(rt * rt, axis=-1), axis=-1))
        sv = self.singular_values(b)
        data["sv"] = (("t", "edge", "k"), sv)
        coords = {"t": np.asarray(t, float), "p": np.arange(task.P), "o": np.arange(task.n_out),
                  "edge": list(g.edge_names), "k": np.arange(sv.shape[-1])}  # fmt: skip
        ds = xr.Dataset(data, coords=coords, attrs={"source": "theory", "theory": "gated-dln reduction"})
        return describe_variables(ds)


def reduce(
    graph: GatedGraph,
    task: Task,
    params=None,
    *,
    b0=None,
    data_bases: Mapping | None = None,
    approximate: bool = False,
    tol: float = 1e-8,
) -> Reduction:
    """The reduced per-mode dynamics of ``graph`` trained on ``task`` by gradient descent (spec section 2.3).

    Parameters
    ----------
    graph : GatedGraph
    task : Task
        Training data in the graph's layout.
    params : pytree or tuple, optional
        Initial edge matrices; they must be decoupled (A2) in the data bases. Give ``params`` or ``b0``.
    b0 : float or dict of edge -> float or vector, optional
        A decoupled start ``B_e(0) = diag(b0)`` instead (a scalar: every mode of every edge).
    data_bases : dict, optional
        ``V_u`` / ``U_w`` (default :func:`bases` of the task's statistics).
    approximate : bool
        Where an assumption fails by more than ``tol``, keep the diagonal parts (statistics and initial weights)
        instead of raising; the sizes stay in ``reduction.check`` / ``reduction.a1``.
    tol : float
        Largest relative off-diagonal size accepted as "holds".

    Returns
    -------
    Reduction

    Raises
    ------
    AssumptionError
        When A1 or A2 fails beyond ``tol`` and ``approximate`` is false; the message names the assumption, its size
        and the worst path, pair or edge.

    Examples
    --------
    >>> import numpy as np
    >>> from learndyn import graphs
    >>> g = graphs.routing(3, 2, 8, 2)
    >>> task = graphs.pairs_task(g, np.eye(2), np.diag([2.0, 1.0]), graphs.cyclic_pairs(3, (0, 1)))
    >>> red = reduce(g, task, b0=0.1)
    >>> t, b = red.gd(0.5, [0.0, 200.0])
    >>> np.round(red.path_strengths(b[-1])[0], 3).tolist()  # path x0->...->y0 learns both modes
    [2.0, 1.0]
    """
    if (params is None) == (b0 is None):
        raise ValueError("give exactly one of params (decoupled initial weights) and b0 (decoupled start values)")
    corr = correlations(graph, task)
    B = dict(data_bases) if data_bases is not None else bases(corr)
    chk = None
    if params is not None:
        chk = check(corr, params, data_bases=B)
        a1 = chk.a1
        B = chk.bases
        diags = chk.b
    else:
        a1 = check(corr, _zero_weights(graph), data_bases=B).a1
        diags = []
        for e, name in enumerate(graph.edge_names):
            k = min(graph.edge_shape(e))
            value = b0.get(name, 0.0) if isinstance(b0, Mapping) else b0
            diags.append(np.broadcast_to(np.asarray(value, dtype=np.float64), (k,)).copy())
    failed = [v for v in (a1, chk.a2 if chk else None) if v is not None and v.size > tol]
    if failed and not approximate:
        raise AssumptionError(
            "the neural race reduction does not apply: " + "; ".join(str(v) for v in failed) + f" (tolerance {tol:g})."
            " Pass approximate=True to keep the diagonal parts, or data_bases= if the statistics are diagonal in other "
            "bases"
        )
    K = max(graph.modes(p) for p in graph.paths)
    s = np.zeros((len(graph.paths), K))
    for k, p in enumerate(graph.paths):
        diag = np.diagonal(B[p.target].T @ corr.syx[k] @ B[p.source])
        s[k, : min(K, diag.shape[0])] = diag[:K]
    pairs = np.array(sorted(corr.sx), dtype=np.int64).reshape(-1, 2)
    d = np.zeros((pairs.shape[0], K))
    for n, (q, p) in enumerate(pairs):
        diag = np.diagonal(B[graph.paths[q].source].T @ corr.sx[(q, p)] @ B[graph.paths[p].source])
        d[n, : min(K, diag.shape[0])] = diag[:K]
    b_init = np.zeros((len(graph.edges), K))
    inert = []
    for e, diag in enumerate(diags):
        m = min(K, diag.shape[0])
        b_init[e, :m] = diag[:m]
        inert.append(np.asarray(diag[K:], dtype=np.float64))
    return Reduction(graph, B, s, pairs, d, b_init, tuple(inert), corr.half_tr_syy, chk, a1)


def _zero_weights(graph: GatedGraph):
    return tuple(np.zeros(graph.edge_shape(e)) for e in range(len(graph.edges)))


__all__ = [
    "AssumptionError",
    "Check",
    "Correlations",
    "Reduction",
    "Violation",
    "bases",
    "check",
    "correlations",
    "loss",
    "path_sum_gradient",
    "reduce",
]
