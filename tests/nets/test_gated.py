"""The gated net's forward pass against the path expansion, its inits, and training it with the shared simulator."""

import jax
import numpy as np
import pytest

from learndyn import graphs, train
from learndyn.nets.gated import GatedDLN
from learndyn.tasks import Task


@pytest.mark.parametrize("seed", range(4))
def test_forward_pass_equals_the_path_expansion(seed, random_gated_graph):
    # y_w = sum_p g_p W_p x_s(p) (spec section 1), with real-valued gates on nodes and edges.
    g = random_gated_graph(seed)
    rng = np.random.default_rng(seed)
    P = 5
    X = g.rows({u: rng.normal(size=(P, g.widths[u])) for u in g.inputs},
               {name: rng.uniform(-2, 2, P) for name in g.gates})  # fmt: skip
    net = GatedDLN(g)
    params = net.init(jax.random.key(seed), 1.0, method="xavier")
    f, cache = net.apply(params, X)
    expanded = g.outputs_from_paths([np.asarray(m) for m in net.path_products(params)], X)
    assert np.abs(np.asarray(f) - expanded).max() <= 1e-12 * max(1.0, np.abs(expanded).max())
    assert len(cache["h"]) == len(g.nodes)


def test_inits_have_the_stated_scales():
    net = GatedDLN(graphs.routing(2, 4, 64, 3))
    W = net.init(jax.random.key(0), 0.3)["W"]
    e = net.graph.edge_index("h1->h2")
    assert np.allclose(np.linalg.svd(W[e], compute_uv=False), 0.3, atol=1e-12)  # orthogonal with gain
    Wn = net.init(jax.random.key(1), 2.0, method="normal")["W"][e]
    assert abs(np.std(Wn) * np.sqrt(64) / 2.0 - 1) < 0.05  # N(0, scale^2 / n_src): 4096 entries, 2% std error
    Wx = net.init(jax.random.key(2), 1.0, method="xavier")["W"][e]
    assert np.abs(Wx).max() <= np.sqrt(6 / 128) and np.abs(Wx).max() > 0.95 * np.sqrt(6 / 128)


def test_bad_params_name_the_edge():
    net = GatedDLN(graphs.routing(2, 3, 4, 2))
    params = net.init(jax.random.key(0))
    W = list(params["W"])
    W[2] = np.zeros((4, 5))
    with pytest.raises(ValueError, match=r"edge 'h1->h2': weight shape \(4, 5\) does not match"):
        net.apply({"W": tuple(W)}, np.zeros((1, net.n_in)))
    with pytest.raises(ValueError, match="one weight matrix per edge"):
        net.apply({"W": tuple(W[:3])}, np.zeros((1, net.n_in)))
    with pytest.raises(ValueError, match=r"X must be \(P, 10\)"):
        net.apply(params, np.zeros((1, 9)))
    with pytest.raises(ValueError, match="bases must give the input node 'x0'"):
        net.decoupled({}, 0.1)
    with pytest.raises(ValueError, match="only rule 'gd'"):
        train.simulate(net, "fa", Task(np.zeros((1, 10)), np.zeros((1, 4))), params, lr=0.1, t=[0.0])


def _task():
    g = graphs.routing(3, 4, 8, 3)
    rng = np.random.default_rng(0)
    return g, graphs.pairs_task(g, np.eye(4), rng.normal(size=(4, 3)), graphs.cyclic_pairs(3, (0, 1)))


def test_seeds_run_vmapped_like_one_by_one():
    g, task = _task()
    net = GatedDLN(g)
    keys = jax.random.split(jax.random.key(0), 3)
    batched = jax.vmap(lambda k: net.init(k, 1.0))(keys)
    t = [0.0, 2.0, 5.0]
    run = train.simulate(net, "gd", task, batched, lr=0.1, t=t)
    for s in range(3):
        one = train.simulate(net, "gd", task, net.init(keys[s], 1.0), lr=0.1, t=t)
        assert np.abs(run.loss[s] - one.loss).max() <= 1e-13
    assert run.loss[:, -1].max() < 0.5 * run.loss[:, 0].min()


def test_full_size_minibatches_are_full_batch_gd():
    g, task = _task()
    net = GatedDLN(g)
    params = net.init(jax.random.key(1), 0.3)
    full = train.simulate(net, "gd", task, params, lr=0.1, t=[0.0, 3.0])
    mini = train.simulate(net, "gd", task, params, lr=0.1, t=[0.0, 3.0], batch_size=task.P)
    half = train.simulate(net, "gd", task, params, lr=0.1, t=[0.0, 3.0], batch_size=task.P // 2)
    assert abs(mini.loss[-1] - full.loss[-1]) <= 1e-12 * full.loss[0]
    assert abs(half.loss[-1] - full.loss[-1]) > 1e-6 * full.loss[0]  # real minibatches differ


def test_divergence_stops_with_a_message():
    g, task = _task()
    net = GatedDLN(g)
    with pytest.raises(train.DivergenceError, match="diverged"):
        train.simulate(net, "gd", task, net.init(jax.random.key(0), 3.0), lr=5.0, t=[0.0, 50.0])
