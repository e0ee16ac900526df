"""Shared fixtures: random gated graphs and tasks whose gated statistics are aligned (assumption A1) by construction."""

import numpy as np
import pytest

from learndyn import graphs


def _random_graph(rng: np.random.Generator) -> graphs.GatedGraph:
    """A random DAG: 1-2 inputs, 1-3 hidden nodes, 1-2 outputs, widths 2-4, random edges and a random gate set."""
    while True:
        ins = [f"x{i}" for i in range(rng.integers(1, 3))]
        hid = [f"h{i}" for i in range(rng.integers(1, 4))]
        outs = [f"y{i}" for i in range(rng.integers(1, 3))]
        order = ins + hid + outs
        edges = []
        for a, src in enumerate(order):
            for dst in order[a + 1 :]:
                if src in outs or dst in ins or (src in ins and dst in outs and rng.random() < 0.5):
                    continue
                if rng.random() < 0.55:
                    edges.append(f"{src}->{dst}")
        names = hid + outs + edges
        gates = [n for n in names if rng.random() < 0.5]
        widths = {n: int(rng.integers(2, 5)) for n in order}
        try:
            return graphs.GatedGraph.build(
                inputs={n: widths[n] for n in ins},
                hidden={n: widths[n] for n in hid},
                outputs={n: widths[n] for n in outs},
                edges=edges,
                gates=gates,
            )
        except ValueError:
            continue  # dangling or unreachable nodes: draw again


def _orthogonal(rng, n):
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    return q * np.sign(np.diag(r))


def _aligned_task(graph: graphs.GatedGraph, rng: np.random.Generator, contexts: int = 3):
    """Examples (context c, item k): ``x_u = V_u e_k``, ``y_w = U_w diag(sigma_{w,c}) e_k`` and gates that depend
    on the context only, so every gated statistic is diagonal in the bases ``V_u``, ``U_w`` (A1 holds exactly)."""
    W = graph.widths
    n_items = max(W.values())
    V = {u: _orthogonal(rng, W[u]) for u in graph.inputs}
    U = {w: _orthogonal(rng, W[w]) for w in graph.outputs}
    rows, targets = [], []
    for _c in range(contexts):
        gates = {name: float(rng.uniform(0.3, 1.7)) for name in graph.gates}
        sigma = {w: rng.uniform(0.5, 3.0, size=W[w]) for w in graph.outputs}
        for k in range(n_items):
            x = {u: V[u][:, k][None] if k < W[u] else np.zeros((1, W[u])) for u in graph.inputs}
            y = {w: (U[w][:, k] * sigma[w][k])[None] if k < W[w] else np.zeros((1, W[w])) for w in graph.outputs}
            rows.append(graph.rows(x, gates))
            targets.append(graph.targets(y))
    return np.concatenate(rows), np.concatenate(targets)


@pytest.fixture
def random_gated_graph():
    """``make(seed) -> GatedGraph``: a random valid gated graph."""
    return lambda seed: _random_graph(np.random.default_rng(seed))


@pytest.fixture
def aligned_gated_task():
    """``make(graph, seed) -> (X, Y)``: data with aligned gated statistics (A1 exact) in the graph's layout."""
    return lambda graph, seed: _aligned_task(graph, np.random.default_rng(seed))
