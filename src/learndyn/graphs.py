"""Gated graphs: the structure of a gated deep linear network (Saxe, Sodhani & Lewallen 2022), shared by simulation
(:mod:`learndyn.nets.gated`) and theory (:mod:`learndyn.theory.gated`).

A graph has nodes with widths and directed edges ``src -> dst`` that carry weight matrices
``W_e (n_dst, n_src)``. Input nodes receive data (``h_u = x_u``), output nodes are the network's outputs, and

    h_v = g_v(x) * sum_{e: dst(e) = v} g_e(x) W_e h_src(e),

with scalar node and edge gates given per example (not learned). Only the gates a graph declares in ``gates`` vary;
every other gate is 1. A path ``p`` is a chain of edges from an input node ``s(p)`` to an output node ``t(p)``;
``W_p`` is the product of its weights and ``g_p`` the product of its edge gates and its non-input node gates, so
that ``y_w = sum_{p in P(w)} g_p W_p x_s(p)``.

Data layout (the one the net, the tasks and the theory share): a row of ``X`` is the concatenation of the input
nodes' activities, in the order of ``inputs``, followed by one column per declared gate, in the order of
``gates``; a row of ``Y`` is the concatenation of the output nodes' targets, in the order of ``outputs``. The
loss is the library's ``1/(2P) sum_mu ||y_mu - f_mu||^2``, which equals the spec's ``<1/2 sum_w ||y_w - h_w||^2>``
with the mean over the ``P`` examples; an output node that is gated off (with a zero target) adds nothing to it.

Examples
--------
A two-domain routing network in a few lines:

>>> g = GatedGraph.build(
...     inputs={"x0": 3, "x1": 3}, hidden={"h": 8}, outputs={"y0": 2, "y1": 2},
...     edges=["x0->h", "x1->h", "h->y0", "h->y1"], gates=["x0->h", "x1->h", "y0", "y1"])
>>> len(g.paths), g.n_in, g.n_out
(4, 10, 4)
>>> [g.path_name(p) for p in g.paths][:2]
['x0->h->y0', 'x0->h->y1']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from learndyn import _checks
from learndyn.tasks import Task

#: Largest number of input-to-output paths a graph may have (path-based theory is linear in it; dense deep graphs
#: have exponentially many).
MAX_PATHS = 200_000


@dataclass(frozen=True)
class Path:
    """A path of a gated graph: edge indices from input to output, its end nodes and its gated nodes/edges."""

    edges: tuple[int, ...]
    source: str
    target: str
    nodes: tuple[str, ...]  # every node on the path, input first


@dataclass(frozen=True)
class GatedGraph:
    """The structure of a gated deep linear network: nodes, widths, edges, inputs, outputs and gates.

    Build it with :meth:`build` (dicts and ``"src->dst"`` strings); the fields are tuples so that the graph is
    hashable (a static argument of ``jax.jit``).

    Parameters
    ----------
    nodes : tuple of (str, int)
        Every node's name and width, in declaration order.
    edges : tuple of (str, str)
        ``(src, dst)`` per edge; its name is ``"src->dst"`` and its weight matrix has shape ``(n_dst, n_src)``.
    inputs, outputs : tuple of str
        The input nodes (no incoming edges) and the output nodes (no outgoing edges), in data-layout order.
    gates : tuple of str
        Names of the gated nodes (non-input) and edges, in the order of the gate columns of ``X``.

    Raises
    ------
    ValueError
        For unknown, duplicate or malformed names, non-positive widths, self-loops, cycles, edges into an input or
        out of an output, hidden nodes without an incoming or outgoing edge (dangling), nodes or inputs on no
        input-to-output path, or more than :data:`MAX_PATHS` paths; each message names the node or edge.

    Examples
    --------
    >>> g = GatedGraph.build(inputs={"x": 4}, hidden={"h": 6}, outputs={"y": 2}, edges=["x->h", "h->y"])
    >>> g.edge_shape("x->h"), g.n_in, g.gates
    ((6, 4), 4, ())
    """

    nodes: tuple[tuple[str, int], ...]
    edges: tuple[tuple[str, str], ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    gates: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        *,
        inputs: Mapping[str, int],
        outputs: Mapping[str, int],
        edges: Iterable[str | tuple[str, str]],
        hidden: Mapping[str, int] | None = None,
        gates: Iterable[str] = (),
    ) -> GatedGraph:
        """A graph from dicts of widths and edges written ``"src->dst"`` (or ``(src, dst)``).

        Parameters
        ----------
        inputs, hidden, outputs : dict of str -> int
            Node names and widths; the order of ``inputs`` and ``outputs`` is the data layout.
        edges : iterable of str or (str, str)
        gates : iterable of str
            Gated node names (hidden or output) and edge names (``"src->dst"``); order = gate columns of ``X``.

        Returns
        -------
        GatedGraph

        Examples
        --------
        >>> GatedGraph.build(inputs={"x": 2}, outputs={"y": 1}, edges=[("x", "y")]).edges
        (('x', 'y'),)
        """
        for name, value in (("inputs", inputs), ("outputs", outputs), ("hidden", hidden or {})):
            if not isinstance(value, Mapping):
                raise TypeError(f"{name} must be a dict of node name -> width; got {type(value).__name__}")
        nodes = [*inputs.items(), *(hidden or {}).items(), *outputs.items()]
        parsed = []
        for e in edges:
            if isinstance(e, str):
                parts = e.split("->")
                if len(parts) != 2 or not all(p.strip() for p in parts):
                    raise ValueError(f"edge {e!r} must be written 'src->dst'")
                parsed.append((parts[0].strip(), parts[1].strip()))
            elif isinstance(e, tuple | list) and len(e) == 2:
                parsed.append((str(e[0]), str(e[1])))
            else:
                raise TypeError(f"edges must be 'src->dst' strings or (src, dst) pairs; got {e!r}")
        if isinstance(gates, str):
            gates = [gates]
        return cls(tuple(nodes), tuple(parsed), tuple(inputs), tuple(outputs), tuple(gates))

    def __post_init__(self):
        names = [n for n, _ in self.nodes]
        widths = {}
        for name, width in self.nodes:
            if not isinstance(name, str) or not name or "->" in name:
                raise ValueError(f"node names must be non-empty strings without '->'; got {name!r}")
            if name in widths:
                raise ValueError(f"node {name!r} is declared twice")
            widths[name] = _checks.positive_int(f"width of node {name!r}", width)
        object.__setattr__(self, "nodes", tuple((n, widths[n]) for n in names))
        if not self.inputs or not self.outputs:
            raise ValueError(f"a gated graph needs at least one input and one output node; got inputs "
                             f"{list(self.inputs)}, outputs {list(self.outputs)}")  # fmt: skip
        for role, group in (("input", self.inputs), ("output", self.outputs)):
            for n in group:
                if n not in widths:
                    raise ValueError(f"{role} node {n!r} is not a declared node; nodes: {names}")
        if set(self.inputs) & set(self.outputs):
            raise ValueError(f"nodes {sorted(set(self.inputs) & set(self.outputs))} are both input and output")
        seen = set()
        for src, dst in self.edges:
            name = f"{src}->{dst}"
            for end in (src, dst):
                if end not in widths:
                    raise ValueError(f"edge {name!r}: node {end!r} is not declared; nodes: {names}")
            if src == dst:
                raise ValueError(f"edge {name!r} is a self-loop; a gated graph is acyclic")
            if name in seen:
                raise ValueError(f"edge {name!r} is declared twice (parallel edges: route one through a node)")
            seen.add(name)
            if dst in self.inputs:
                raise ValueError(f"edge {name!r} enters input node {dst!r}; input nodes only receive data")
            if src in self.outputs:
                raise ValueError(f"edge {name!r} leaves output node {src!r}; output nodes only emit outputs")
        for v in names:
            if v in self.inputs or v in self.outputs:
                continue
            if not any(d == v for _, d in self.edges):
                raise ValueError(f"hidden node {v!r} is dangling: it has no incoming edge")
            if not any(s == v for s, _ in self.edges):
                raise ValueError(f"hidden node {v!r} is dangling: it has no outgoing edge")
        order = self._topological_order(names)
        object.__setattr__(self, "_order", order)
        self._check_reachability(names)
        gate_names = set(names) | seen
        done = set()
        for gname in self.gates:
            if gname not in gate_names:
                raise ValueError(f"gate {gname!r} names no node or edge; nodes: {names}, edges: {sorted(seen)}")
            if gname in self.inputs:
                raise ValueError(f"gate {gname!r} is an input node; gate its outgoing edges instead")
            if gname in done:
                raise ValueError(f"gate {gname!r} is listed twice")
            done.add(gname)
        n_paths = self._count_paths()
        if n_paths > MAX_PATHS:
            raise ValueError(f"the graph has {n_paths} input-to-output paths, more than MAX_PATHS = {MAX_PATHS}")

    def _topological_order(self, names):
        indeg = {n: 0 for n in names}
        for _, d in self.edges:
            indeg[d] += 1
        ready = [n for n in names if indeg[n] == 0]
        order = []
        while ready:
            n = ready.pop(0)
            order.append(n)
            for s, d in self.edges:
                if s == n:
                    indeg[d] -= 1
                    if indeg[d] == 0:
                        ready.append(d)
        if len(order) < len(names):
            left = [n for n in names if n not in order]
            node, path = left[0], []
            while node not in path:  # every node left has a predecessor left: walk backwards until one repeats
                path.append(node)
                node = next(s for s, d in self.edges if d == node and s in left)
            cycle = path[path.index(node) :][::-1]
            first = min(range(len(cycle)), key=lambda k: names.index(cycle[k]))
            cycle = cycle[first:] + cycle[:first]  # start at the first declared node
            raise ValueError(f"the graph has a cycle through nodes {cycle}; a gated graph must be acyclic")
        return tuple(order)

    def _check_reachability(self, names):
        fwd = set(self.inputs)
        for n in self._order:
            if n in fwd:
                fwd |= {d for s, d in self.edges if s == n}
        bwd = set(self.outputs)
        for n in reversed(self._order):
            if n in bwd:
                bwd |= {s for s, d in self.edges if d == n}
        for n in names:
            if n in self.inputs and n not in bwd:
                raise ValueError(f"input node {n!r} has no path to any output node")
            if n in self.outputs and n not in fwd:
                raise ValueError(f"output node {n!r} has no path from any input node")
            if n not in fwd:
                raise ValueError(f"node {n!r} is on no input-to-output path: no input reaches it")
            if n not in bwd:
                raise ValueError(f"node {n!r} is on no input-to-output path: it reaches no output")

    def _count_paths(self) -> int:
        count = {n: (1 if n in self.inputs else 0) for n in self._order}
        for n in self._order:
            for s, d in self.edges:
                if s == n:
                    count[d] += count[n]
        return sum(count[w] for w in self.outputs)

    # ----------------------------------------------------------------------------------------------------------
    # Structure

    @cached_property
    def widths(self) -> dict[str, int]:
        """Node name -> width."""
        return dict(self.nodes)

    @property
    def order(self) -> tuple[str, ...]:
        """Nodes in a topological order (inputs first)."""
        return self._order

    @cached_property
    def edge_names(self) -> tuple[str, ...]:
        """``"src->dst"`` per edge, in edge order (the order of the net's weight matrices)."""
        return tuple(f"{s}->{d}" for s, d in self.edges)

    def edge_index(self, name: str) -> int:
        """Index of edge ``name`` (``"src->dst"``) in :attr:`edges`."""
        try:
            return self.edge_names.index(name)
        except ValueError:
            raise ValueError(f"unknown edge {name!r}; edges: {list(self.edge_names)}") from None

    def edge_shape(self, e: int | str) -> tuple[int, int]:
        """Shape ``(n_dst, n_src)`` of edge ``e``'s weight matrix."""
        s, d = self.edges[self.edge_index(e) if isinstance(e, str) else e]
        return self.widths[d], self.widths[s]

    @property
    def n_in(self) -> int:
        """Columns of ``X``: the input widths plus one per gate."""
        return sum(self.widths[u] for u in self.inputs) + len(self.gates)

    @property
    def n_out(self) -> int:
        """Columns of ``Y``: the output widths."""
        return sum(self.widths[w] for w in self.outputs)

    def input_slice(self, u: str) -> slice:
        """Columns of input node ``u`` in ``X``."""
        return self._slices(self.inputs, u, "input")

    def output_slice(self, w: str) -> slice:
        """Columns of output node ``w`` in ``Y`` (and in the net's outputs)."""
        return self._slices(self.outputs, w, "output")

    def _slices(self, group, name, role):
        start = 0
        for n in group:
            if n == name:
                return slice(start, start + self.widths[n])
            start += self.widths[n]
        raise ValueError(f"{name!r} is not an {role} node; {role}s: {list(group)}")

    def gate_column(self, name: str) -> int | None:
        """Column of gate ``name`` in ``X`` (``None``: not gated, always 1)."""
        if name in self.gates:
            return sum(self.widths[u] for u in self.inputs) + self.gates.index(name)
        return None

    @cached_property
    def paths(self) -> tuple[Path, ...]:
        """Every input-to-output path, inputs in declaration order, then depth-first in edge order."""
        out_edges = {n: [i for i, (s, _) in enumerate(self.edges) if s == n] for n in self.widths}
        found = []

        def walk(node, edges, nodes):
            if node in self.outputs:
                found.append(Path(tuple(edges), nodes[0], node, tuple(nodes)))
                return
            for i in out_edges[node]:
                d = self.edges[i][1]
                walk(d, [*edges, i], [*nodes, d])

        for u in self.inputs:
            walk(u, [], [u])
        return tuple(found)

    def path_name(self, p: Path) -> str:
        """``"x->h->y"``: the nodes of path ``p``."""
        return "->".join(p.nodes)

    def path_gate_columns(self, p: Path) -> tuple[int, ...]:
        """Gate columns of ``X`` whose product is ``g_p`` (the gated edges and non-input nodes of ``p``)."""
        names = [self.edge_names[i] for i in p.edges] + list(p.nodes[1:])
        return tuple(c for c in (self.gate_column(n) for n in names) if c is not None)

    def modes(self, p: Path) -> int:
        """Number of modes of path ``p`` in a decoupled (aligned) network: its narrowest node."""
        return min(self.widths[n] for n in p.nodes)

    # ----------------------------------------------------------------------------------------------------------
    # Data layout

    def split(self, X) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """``X`` (P, n_in) -> (input activities by node, gate matrix (P, n_gates))."""
        X = _checks.as_matrix("X", X, cols=self.n_in)
        return {u: X[:, self.input_slice(u)] for u in self.inputs}, X[:, self.n_in - len(self.gates) :]

    def path_gates(self, X) -> np.ndarray:
        """``g_p`` of every path for every example: (P, n_paths)."""
        X = _checks.as_matrix("X", X, cols=self.n_in)
        return np.stack([np.prod(X[:, list(self.path_gate_columns(p))], axis=1) for p in self.paths], axis=1)

    def rows(self, x: Mapping[str, object], gates: Mapping[str, object] | None = None, *, n: int | None = None):
        """Build ``X`` from input activities and gate values.

        Parameters
        ----------
        x : dict of input node -> array (P, n_u)
            Inputs not given are zero.
        gates : dict of gate name -> scalar or array (P,)
            Declared gates not given are 0 (off); a value for an undeclared gate raises.
        n : int, optional
            Number of rows, when ``x`` is empty.

        Returns
        -------
        numpy.ndarray, shape (P, n_in)

        Examples
        --------
        >>> g = GatedGraph.build(inputs={"x": 2}, outputs={"y": 1}, edges=["x->y"], gates=["y"])
        >>> g.rows({"x": [[1.0, 2.0]]}, {"y": 1.0}).tolist()
        [[1.0, 2.0, 1.0]]
        """
        gates = dict(gates or {})
        arrays = {}
        for u, value in x.items():
            if u not in self.inputs:
                raise ValueError(f"x[{u!r}]: {u!r} is not an input node; inputs: {list(self.inputs)}")
            arrays[u] = _checks.as_matrix(f"x[{u!r}]", value, cols=self.widths[u])
        sizes = {a.shape[0] for a in arrays.values()} | ({n} if n is not None else set())
        for name, value in gates.items():
            if name not in self.gates:
                raise ValueError(f"gates[{name!r}]: {name!r} is not a declared gate; gates: {list(self.gates)}")
            arr = np.asarray(value, dtype=np.float64)
            if arr.ndim > 1:
                raise ValueError(f"gates[{name!r}] must be a scalar or one value per example; got shape {arr.shape}")
            if arr.ndim == 1:
                sizes.add(arr.shape[0])
        if len(sizes) != 1:
            raise ValueError(f"inputs and gates disagree on the number of examples: {sorted(sizes)}")
        P = sizes.pop()
        X = np.zeros((P, self.n_in))
        for u, a in arrays.items():
            X[:, self.input_slice(u)] = a
        for name, value in gates.items():
            X[:, self.gate_column(name)] = np.broadcast_to(np.asarray(value, dtype=np.float64), (P,))
        _checks.finite("X", X)
        return X

    def targets(self, y: Mapping[str, object], *, n: int | None = None) -> np.ndarray:
        """Build ``Y`` (P, n_out) from targets by output node; outputs not given are zero."""
        arrays = {}
        for w, value in y.items():
            if w not in self.outputs:
                raise ValueError(f"y[{w!r}]: {w!r} is not an output node; outputs: {list(self.outputs)}")
            arrays[w] = _checks.as_matrix(f"y[{w!r}]", value, cols=self.widths[w])
        sizes = {a.shape[0] for a in arrays.values()} | ({n} if n is not None else set())
        if len(sizes) != 1:
            raise ValueError(f"targets disagree on the number of examples: {sorted(sizes)}")
        P = sizes.pop()
        Y = np.zeros((P, self.n_out))
        for w, a in arrays.items():
            Y[:, self.output_slice(w)] = a
        return Y

    def outputs_from_paths(self, path_maps: Sequence, X) -> np.ndarray:
        """``f = sum_p g_p W_p x_s(p)`` from path maps ``W_p (..., n_t(p), n_s(p))`` (one per path).

        The path expansion of the forward pass: theory evaluates its reduced solution with it. Leading axes of the
        path maps (e.g. time) lead the result: (..., P, n_out).
        """
        xs, _ = self.split(X)
        G = self.path_gates(X)
        lead = np.shape(path_maps[0])[:-2]
        f = np.zeros((*lead, X.shape[0], self.n_out))
        for k, p in enumerate(self.paths):
            if not np.any(G[:, k]):
                continue
            contrib = np.einsum("...ij,pj->...pi", np.asarray(path_maps[k]), xs[p.source]) * G[:, k, None]
            f[..., self.output_slice(p.target)] += contrib
        return f


# --------------------------------------------------------------------------------------------------------------
# Routing networks and pair tasks


def routing(M: int, n_in: int, n_hidden: int, n_out: int, *, shared_layers: int = 1) -> GatedGraph:
    """The routing network: ``M`` input domains ``x0..`` -> shared hidden layers -> ``M`` output domains ``y0..``.

    Edges ``x{i}->h1`` (gated by the input domain), ``shared_layers`` shared edges ``h1->h2 ...``, and
    ``h{last}->y{j}`` into output nodes gated by the output domain. With ``shared_layers=1`` this is the spec's
    three-edge routing net (input edge ``W1^i``, shared ``W2``, output edge ``W3^j``).

    Examples
    --------
    >>> g = routing(7, 4, 64, 7)
    >>> len(g.paths), g.edge_shape("h1->h2"), g.gates[:2], g.gates[-1]
    (49, (64, 64), ('x0->h1', 'x1->h1'), 'y6')
    """
    M = _checks.positive_int("M", M)
    depth = _checks.positive_int("shared_layers", shared_layers)
    hidden = {f"h{k}": _checks.positive_int("n_hidden", n_hidden) for k in range(1, depth + 2)}
    last = f"h{depth + 1}"
    edges = [f"x{i}->h1" for i in range(M)] + [f"h{k}->h{k + 1}" for k in range(1, depth + 1)]
    edges += [f"{last}->y{j}" for j in range(M)]
    return GatedGraph.build(
        inputs={f"x{i}": n_in for i in range(M)},
        hidden=hidden,
        outputs={f"y{j}": n_out for j in range(M)},
        edges=edges,
        gates=[f"x{i}->h1" for i in range(M)] + [f"y{j}" for j in range(M)],
    )


def race(M: int, n_in: int, n_hidden: int, n_out: int, pairs: Sequence[tuple[int, int]], private: int) -> GatedGraph:
    """The routing network (:func:`routing`) plus a private three-edge pathway for every pair in ``pairs``.

    Pair ``(i, j)``'s private pathway runs ``x{i} -> a{i}_{j} -> b{i}_{j} -> y{j}`` through hidden nodes of width
    ``private``; its first edge is gated by the pair (:func:`race_gates`). Shared and private pathways into ``y{j}``
    then race for the same residual (spec ``gated_dln.md`` AC7).

    Examples
    --------
    >>> g = race(2, 3, 8, 2, [(0, 0), (1, 1)], 4)
    >>> len(g.paths), g.edge_shape("a0_0->b0_0")
    (6, (4, 4))
    """
    base = routing(M, n_in, n_hidden, n_out)
    hidden = {n: w for n, w in base.nodes if n not in base.inputs and n not in base.outputs}
    edges = list(base.edges)
    gates = list(base.gates)
    for i, j in pairs:
        a, b = f"a{i}_{j}", f"b{i}_{j}"
        hidden[a] = hidden[b] = _checks.positive_int("private", private)
        edges += [(f"x{i}", a), (a, b), (b, f"y{j}")]
        gates.append(f"x{i}->{a}")
    return GatedGraph.build(inputs={u: base.widths[u] for u in base.inputs}, hidden=hidden,
                            outputs={w: base.widths[w] for w in base.outputs}, edges=edges, gates=gates)  # fmt: skip


def race_gates(pairs: Sequence[tuple[int, int]]) -> Callable[[int, int], dict[str, float]]:
    """``gates_of(i, j)`` for :func:`race` built with ``pairs``: the routing gates, and the pair's private pathway
    where it has one (pairs without one, e.g. untrained pairs, use the shared pathway only)."""
    private = {(int(i), int(j)) for i, j in pairs}

    def gates_of(i: int, j: int) -> dict[str, float]:
        extra = {f"x{i}->a{i}_{j}": 1.0} if (i, j) in private else {}
        return {**routing_gates(i, j), **extra}

    return gates_of


def routing_gates(i: int, j: int) -> dict[str, float]:
    """Gates that are on for the pair (input domain ``i``, output domain ``j``) of :func:`routing`."""
    return {f"x{i}->h1": 1.0, f"y{j}": 1.0}


def cyclic_pairs(M: int, offsets: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Pairs ``(i, (i + o) mod M)`` for every input domain ``i`` and offset ``o``.

    The reference code's ``4_plus_minus_mod`` is ``offsets = (-1, 0, 1, 2)``; ``K_plus_mod`` is ``range(K)``.

    Examples
    --------
    >>> cyclic_pairs(3, (0, 1))
    ((0, 0), (0, 1), (1, 1), (1, 2), (2, 2), (2, 0))
    """
    M = _checks.positive_int("M", M)
    offs = [int(o) for o in offsets]
    if len({o % M for o in offs}) != len(offs):
        raise ValueError(f"offsets {offs} repeat an output domain modulo M = {M}")
    return tuple((i, (i + o) % M) for i in range(M) for o in offs)


def pairs_task(
    graph: GatedGraph,
    X,
    Y,
    pairs: Sequence[tuple[int, int]],
    *,
    test_pairs: Sequence[tuple[int, int]] | None = None,
    gates_of: Callable[[int, int], Mapping[str, float]] = routing_gates,
    x_of: Callable[[int, np.ndarray], object] | None = None,
    y_of: Callable[[int, np.ndarray], object] | None = None,
    name: str = "pairs",
) -> Task:
    """A task on a domain-pair graph: every item of ``X, Y`` for every trained pair ``(i, j)``.

    The rows of pair ``(i, j)`` carry ``X`` at input node ``graph.inputs[i]``, the gates ``gates_of(i, j)`` and the
    target ``Y`` at output node ``graph.outputs[j]`` (other outputs zero and, with the routing gates, gated off).
    Rows are pair-major: pair ``k`` holds rows ``k*P .. (k+1)*P - 1``. ``test_pairs`` (e.g. the untrained pairs)
    become the test split.

    Parameters
    ----------
    graph : GatedGraph
    X : array (P, n_x), Y : array (P, n_y)
        Items, shared by every domain unless ``x_of`` / ``y_of`` transform them.
    pairs, test_pairs : sequence of (int, int)
    gates_of : callable (i, j) -> dict of gate -> value
    x_of, y_of : callable (domain, array) -> array, optional
        The items as input domain ``i`` sees them (e.g. a fixed pixel permutation) and the targets of output domain
        ``j`` (e.g. permuted labels). Default: unchanged.
    name : str

    Returns
    -------
    Task

    Examples
    --------
    >>> import numpy as np
    >>> g = routing(2, 2, 4, 3)
    >>> task = pairs_task(g, np.eye(2), np.ones((2, 3)), [(0, 0), (1, 1)], test_pairs=[(0, 1)])
    >>> task.X.shape, task.Y.shape, task.X_test.shape
    ((4, 8), (4, 6), (2, 8))
    """
    X = _checks.as_matrix("X", X)
    Y = _checks.as_matrix("Y", Y, rows=X.shape[0])

    def block(pair_list, what):
        if not pair_list:
            raise ValueError(f"{what} must hold at least one (input domain, output domain) pair")
        xs, ys = [], []
        for pair in pair_list:
            i, j = (int(v) for v in pair)
            if not (0 <= i < len(graph.inputs) and 0 <= j < len(graph.outputs)):
                raise ValueError(f"{what}: pair {pair} is outside the graph's {len(graph.inputs)} input and "
                                 f"{len(graph.outputs)} output domains")  # fmt: skip
            u, w = graph.inputs[i], graph.outputs[j]
            xs.append(graph.rows({u: X if x_of is None else x_of(i, X)}, gates_of(i, j)))
            ys.append(graph.targets({w: Y if y_of is None else y_of(j, Y)}))
        return np.concatenate(xs), np.concatenate(ys)

    Xtr, Ytr = block(list(pairs), "pairs")
    if test_pairs is None:
        return Task(Xtr, Ytr, name=name)
    Xte, Yte = block(list(test_pairs), "test_pairs")
    return Task(Xtr, Ytr, Xte, Yte, name=name)


def pair_errors(graph: GatedGraph, f, Y, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Per-pair error ``1/2 ||Y - f_pair||_F^2`` (summed over items) of outputs laid out by :func:`pairs_task`.

    ``f`` is (..., len(pairs) * P, n_out); returns (..., len(pairs)).
    """
    f = np.asarray(f)
    Y = np.asarray(Y)
    P = Y.shape[0]
    if f.shape[-2] != len(pairs) * P:
        raise ValueError(f"f has {f.shape[-2]} rows but {len(pairs)} pairs of {P} items need {len(pairs) * P}")
    out = []
    for k, (_, j) in enumerate(pairs):
        r = f[..., k * P : (k + 1) * P, graph.output_slice(graph.outputs[j])] - Y
        out.append(0.5 * np.sum(r * r, axis=(-2, -1)))
    return np.stack(out, axis=-1)


def hierarchy_items() -> tuple[np.ndarray, np.ndarray]:
    """The routing task's items (spec ``gated_dln.md`` section 3): ``X = I_4`` and a two-level hierarchy ``Y (4, 7)``.

    Feature 0 is shared by all items, features 1-2 split them in two pairs, features 3-6 are item-specific; the
    singular values of ``Y^T X`` are (13.601, 6.403, 3, 3).

    Examples
    --------
    >>> X, Y = hierarchy_items()
    >>> np.round(np.linalg.svd(Y.T @ X, compute_uv=False), 3).tolist()
    [13.601, 6.403, 3.0, 3.0]
    """
    Y = np.array([[6, 4, 0, 3, 0, 0, 0], [6, 4, 0, 0, 3, 0, 0], [6, 0, 4, 0, 0, 3, 0], [6, 0, 4, 0, 0, 0, 3]], float)
    return np.eye(4), Y


def reference_lr(eta: float, n_pairs: int, n_out: int) -> float:
    """The library learning rate equal to step ``eta`` on the reference code's loss.

    The reference (``facebookresearch/gated-dln`` NB1) minimises ``sum_{trained pairs} ||f - y||_F^2 / (P n_out)``
    (torch ``MSELoss`` means, summed over pairs); on a :func:`pairs_task` with ``n_pairs`` pairs of ``P`` items the
    library's loss ``1/(2 n_pairs P) sum ||f - y||^2`` is ``n_out / (2 n_pairs)`` times it, so the same steps need
    ``lr = eta * 2 n_pairs / n_out``. The spec's ODE time is then ``t_ode = lr * step * M^2 / (P n_pairs)``
    (:func:`learndyn.theory.routing.reference_time`).

    Examples
    --------
    >>> reference_lr(0.02, 28, 7)
    0.16
    """
    eta = _checks.positive_float("eta", eta)
    return eta * 2.0 * _checks.positive_int("n_pairs", n_pairs) / _checks.positive_int("n_out", n_out)
