"""Gated graph structure: validation that names the node or edge, path enumeration, the data layout."""

import itertools

import numpy as np
import pytest

from learndyn import graphs
from learndyn.graphs import GatedGraph


def _build(**kw):
    base = dict(inputs={"x": 2}, hidden={"h": 3}, outputs={"y": 1}, edges=["x->h", "h->y"])
    base.update(kw)
    return GatedGraph.build(**base)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(hidden={"a": 2, "b": 2}, edges=["x->a", "a->b", "b->a", "b->y"]), r"cycle through nodes \['a', 'b'\]"),
        (
            dict(hidden={"h": 3, "d": 2}, edges=["x->h", "h->y", "x->d"]),
            "hidden node 'd' is dangling: it has no outgoing",
        ),
        (
            dict(hidden={"h": 3, "d": 2}, edges=["x->h", "h->y", "d->y"]),
            "hidden node 'd' is dangling: it has no incoming",
        ),
        (dict(inputs={"x": 2, "z": 2}), "input node 'z' has no path to any output"),
        (dict(edges=["x->h", "h->y", "x->h"]), "edge 'x->h' is declared twice"),
        (dict(edges=["x->h", "h->q"]), "edge 'h->q': node 'q' is not declared"),
        (dict(edges=["x->h", "h->y", "h->x"]), "edge 'h->x' enters input node 'x'"),
        (dict(edges=["x->h", "h->h", "h->y"]), "self-loop"),
        (dict(gates=["nope"]), "gate 'nope' names no node or edge"),
        (dict(gates=["x"]), "gate 'x' is an input node"),
        (dict(hidden={"h": 0}), "width of node 'h'"),
        (dict(edges=["x-h", "h->y"]), "edge 'x-h' must be written 'src->dst'"),
    ],
)
def test_bad_graphs_name_the_node_or_edge(kw, match):
    with pytest.raises(ValueError, match=match):
        _build(**kw)


def test_paths_are_every_input_output_chain():
    # A diamond with a skip edge: paths x->a->y, x->b->y, x->a->b->y, x->y; counted against brute-force chains.
    g = GatedGraph.build(inputs={"x": 2}, hidden={"a": 2, "b": 2}, outputs={"y": 2},
                         edges=["x->a", "x->b", "a->b", "a->y", "b->y", "x->y"])  # fmt: skip
    names = {g.path_name(p) for p in g.paths}
    brute = set()
    nodes = ["a", "b"]
    for r in range(3):
        for mid in itertools.permutations(nodes, r):
            chain = ["x", *mid, "y"]
            if all(f"{s}->{d}" in g.edge_names for s, d in itertools.pairwise(chain)):
                brute.add("->".join(chain))
    assert names == brute and len(names) == 4
    for p in g.paths:
        assert [g.edges[e] for e in p.edges] == list(itertools.pairwise(p.nodes))


def test_data_layout_and_path_gates():
    g = graphs.routing(2, 3, 4, 2)
    X = g.rows({"x1": np.ones((2, 3))}, {"x1->h1": [1.0, 0.5], "y0": 2.0})
    xs, gates = g.split(X)
    assert np.all(xs["x0"] == 0) and np.all(xs["x1"] == 1)
    G = g.path_gates(X)
    names = [g.path_name(p) for p in g.paths]
    k = names.index("x1->h1->h2->y0")
    assert G[:, k].tolist() == [2.0, 1.0]
    assert G[:, names.index("x1->h1->h2->y1")].tolist() == [0.0, 0.0]  # y1 gated off


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda g: g.rows({"x0": np.ones((2, 4))}), r"x\['x0'\]"),
        (lambda g: g.rows({"h1": np.ones((2, 3))}), "'h1' is not an input node"),
        (lambda g: g.rows({"x0": np.ones((2, 3))}, {"y0": np.ones((2, 2))}), r"gates\['y0'\] must be a scalar"),
        (lambda g: g.rows({"x0": np.ones((2, 3))}, {"y0": np.ones(3)}), "disagree on the number of examples"),
        (lambda g: g.rows({"x0": np.ones((2, 3))}, {"h1": 1.0}), "'h1' is not a declared gate"),
        (lambda g: g.split(np.ones((2, 5))), "X"),
        (lambda g: graphs.pairs_task(g, np.eye(3), np.ones((3, 2)), [(0, 5)]), "outside the graph"),
    ],
)
def test_bad_layout_input_is_named(call, match):
    g = graphs.routing(2, 3, 4, 2)
    with pytest.raises(ValueError, match=match):
        call(g)


def test_pairs_task_rows_and_pair_errors():
    g = graphs.routing(3, 2, 4, 2)
    X, Y = np.eye(2), np.array([[1.0, 2.0], [3.0, 4.0]])
    pairs = graphs.cyclic_pairs(3, (-1, 0))
    assert pairs[:2] == ((0, 2), (0, 0))
    task = graphs.pairs_task(g, X, Y, pairs, x_of=lambda i, a: (i + 1) * a)
    k = 1  # pair (0, 0): rows 2, 3
    assert np.array_equal(task.X[2:4, g.input_slice("x0")], X)
    assert np.array_equal(task.Y[2:4, g.output_slice("y0")], Y) and not task.Y[2:4, g.output_slice("y1")].any()
    assert np.array_equal(task.X[4:6, g.input_slice("x1")], 2 * X)
    f = np.array(task.Y)
    f[2 * k, g.output_slice("y0")] += 1.0
    err = graphs.pair_errors(g, f, Y, pairs)
    assert err.tolist() == [0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
