"""Per-layer decomposition h = h_init + Delta_h and rank proxies (spec integrable_and_meanfield.md B2): rank proxies
on matrices with known singular values and their invariances, the decomposition against forward passes written out
in NumPy (biases included), its edge cases, the vanishing update of standard IP with three hidden layers (B5), bad
input."""

import dataclasses

import jax
import numpy as np
import pandas as pd
import pytest

import learndyn as ld
from learndyn import param, train
from learndyn.contributions import COLUMNS, contributions, layer_ranks, rank_proxies
from learndyn.nets import MLP


def _orthogonal(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _perturbed(tree, seed, scale=0.3):
    leaves, treedef = jax.tree.flatten(tree)
    rng = np.random.default_rng(seed)
    return jax.tree.unflatten(treedef, [np.asarray(a) + scale * rng.standard_normal(np.shape(a)) for a in leaves])


# ---------------------------------------------------------------------------------------------------------------------
# rank proxies


def test_rank_proxies_of_known_singular_values():
    r = rank_proxies(np.diag([3.0, 4.0, 0.0]))
    assert r["stable_rank"] == pytest.approx(25 / 16, rel=1e-14)
    assert r["nuclear_rank"] == pytest.approx(49 / 25, rel=1e-14)
    assert r["rank"] == 2 and isinstance(r["rank"], int)
    # a 5 x 3 matrix U diag(2, 1, 1) V^T: stable (4 + 1 + 1)/4, nuclear 16/6, rank 3
    rng = np.random.default_rng(1)
    M = _orthogonal(rng, 5)[:, :3] @ np.diag([2.0, 1.0, 1.0]) @ _orthogonal(rng, 3).T
    assert [rank_proxies(M)[k] for k in ("stable_rank", "nuclear_rank", "rank")] == pytest.approx([1.5, 16 / 6, 3])
    assert rank_proxies(np.outer([1.0, 2.0], [3.0, -1.0, 0.5])) == pytest.approx(
        {"stable_rank": 1.0, "nuclear_rank": 1.0, "rank": 1}
    )
    assert rank_proxies(np.eye(4)) == pytest.approx({"stable_rank": 4.0, "nuclear_rank": 4.0, "rank": 4})
    assert rank_proxies(np.zeros((3, 2))) == {"stable_rank": 0.0, "nuclear_rank": 0.0, "rank": 0}


def test_rank_proxies_are_rotation_and_scale_invariant_and_rank_is_numpys():
    rng = np.random.default_rng(2)
    M = rng.standard_normal((7, 3)) @ rng.standard_normal((3, 5)) * np.array([1.0, 2.0, 0.5, 3.0, 1.0])  # rank 3
    base = rank_proxies(M)
    assert base["rank"] == np.linalg.matrix_rank(M) == 3
    assert 1.0 <= base["stable_rank"] <= base["nuclear_rank"] <= 3.0
    rotated = rank_proxies(-2.5 * _orthogonal(rng, 7) @ M @ _orthogonal(rng, 5))
    assert rotated == pytest.approx(base, rel=1e-12)
    assert rank_proxies(M.T) == pytest.approx(base, rel=1e-12)


# ---------------------------------------------------------------------------------------------------------------------
# decomposition


def test_hand_computed_two_layer_example():
    # d = 2 -> 3 -> 1, ReLU, biases, multipliers 0.5 and 0.25; every number below is plain NumPy on these arrays.
    net = MLP((2, 3, 1), activation="relu", bias=True, multipliers=(0.5, 0.25))
    W0 = (np.array([[1.0, -1.0], [2.0, 0.0], [0.0, 1.0]]), np.array([[1.0, -2.0, 0.5]]))
    b0 = (np.array([0.0, 0.5, -1.0]), np.array([0.25]))
    Wp = (W0[0] + np.array([[0.0, 0.5], [0.0, 0.0], [1.0, 0.0]]), W0[1] + np.array([[0.5, 0.0, 0.0]]))
    bp = (b0[0] + np.array([0.1, 0.0, 0.0]), b0[1])
    W = (Wp[0] + np.array([[0.2, 0.0], [0.0, -0.3], [0.0, 0.0]]), Wp[1] + np.array([[0.0, 1.0, -1.0]]))
    b = (bp[0] + np.array([0.0, 0.0, 0.2]), bp[1] + np.array([-0.5]))
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, -3.0], [2.0, 1.0]])

    a = (0.5, 0.25)
    x0 = X
    h1 = a[0] * (x0 @ W[0].T + b[0])
    x1 = np.maximum(h1, 0.0)
    f = a[1] * (x1 @ W[1].T + b[1])
    expected = []
    for l, (x, h) in enumerate(((x0, h1), (x1, f))):
        expected.append([
            np.abs(a[l] * (x @ W0[l].T + b0[l])).mean(),
            np.abs(a[l] * (x @ (W[l] - W0[l]).T + (b[l] - b0[l]))).mean(),
            np.abs(a[l] * (x @ (W[l] - Wp[l]).T + (b[l] - bp[l]))).mean(),
            np.abs(h).mean(),
        ])  # fmt: skip
    df = contributions(net, {"W": W, "b": b}, {"W": W0, "b": b0}, X, params_previous={"W": Wp, "b": bp})
    assert df.columns.tolist() == list(COLUMNS) and df.layer.tolist() == ["h1", "f"]
    np.testing.assert_allclose(df[list(COLUMNS[1:])].to_numpy(), expected, rtol=1e-13)
    # the ReLU matters here: some items of h1 are negative, so x1 is not h1
    assert (h1 < 0).any() and (h1 > 0).any()


def _numpy_layers(par, sizes, params, X):
    """Pre-activations of every layer written from the spec (unscaled biases: h = m^-a W x + beta, beta = mult b)."""
    mult = par.multipliers(sizes)
    x, out = X, []
    for l, (W, b) in enumerate(zip(params["W"], params["b"], strict=True)):
        h = mult[l] * (x @ np.asarray(W).T) + mult[l] * np.asarray(b)
        out.append(h)
        x = np.maximum(h, 0.0)
    return out


@pytest.mark.parametrize("name", ["ip-llr-bias", "mup"])
def test_h_column_is_an_independent_forward_pass_and_parts_bound_it(name):
    par = param.get(name) if name == "ip-llr-bias" else param.get(name, bias="all")
    sizes = (4, 16, 16, 16, 2)
    net = par.mlp(sizes, "relu")
    p0 = par.init(jax.random.key(3), sizes, "relu")
    p = _perturbed(p0, 4)
    X = np.random.default_rng(5).standard_normal((9, 4))
    df = contributions(net, p, p0, X)
    hs = _numpy_layers(par, sizes, p, X)
    np.testing.assert_allclose(df.h, [np.abs(h).mean() for h in hs], rtol=1e-12)
    assert (df.h <= df.h_init + df.Delta_h + 1e-14).all()  # mean |u + v| <= mean |u| + mean |v|
    assert (df.Delta_h > 0).all() and df.delta_h.isna().all()


def test_at_initialisation_nothing_has_moved():
    par = param.get("ip-llr-bias")
    sizes = (3, 8, 8, 1)
    net = par.mlp(sizes, "tanh")
    p0 = par.init(jax.random.key(0), sizes, "tanh")
    X = np.random.default_rng(0).standard_normal((6, 3))
    df = contributions(net, p0, p0, X, params_previous=p0)
    assert (df.Delta_h == 0).all() and (df.delta_h == 0).all()
    np.testing.assert_allclose(df.h_init, df.h, rtol=1e-13)
    # float32 params and a tuple of weights (a net without biases) are accepted
    ip = param.get("ip")
    net2, q0 = ip.mlp(sizes, "relu"), ip.init(jax.random.key(1), sizes, "relu", dtype="float32")
    df2 = contributions(net2, q0["W"], q0, X)
    assert (df2.Delta_h == 0).all() and (df2.h > 0).all()


def test_delta_h_is_the_last_step_and_Delta_h_accumulates():
    par = param.get("mup", bias="all")
    sizes = (3, 8, 8, 1)
    net = par.mlp(sizes, "relu")
    p0 = par.init(jax.random.key(0), sizes, "relu")
    p1 = _perturbed(p0, 1, 0.1)
    p2 = _perturbed(p1, 2, 0.1)
    X = np.random.default_rng(0).standard_normal((6, 3))
    two = contributions(net, p2, p0, X, params_previous=p1)
    last = contributions(net, p2, p1, X)  # the change since p1 is the last step
    np.testing.assert_allclose(two.delta_h, last.Delta_h, rtol=1e-13)
    assert not np.allclose(two.delta_h, two.Delta_h)


def test_a_net_whose_forward_is_not_the_multiplier_is_caught():
    @dataclasses.dataclass(frozen=True)
    class WrongMultiplier(MLP):
        def multiplier(self, l):  # claims 1 while apply uses the stored multipliers
            return 1.0

    sizes = (3, 8, 8, 1)
    par = param.get("ip")
    net = WrongMultiplier(sizes, activation="relu", multipliers=par.multipliers(sizes))
    p0 = par.init(jax.random.key(0), sizes, "relu")
    with pytest.raises(RuntimeError, match="layer h1: h_init \\+ Delta_h differs"):
        contributions(net, _perturbed(p0, 1), p0, np.ones((4, 3)))


def test_standard_ip_with_three_hidden_layers_moves_h2_by_m_to_the_minus_half():
    # Spec B5: one SGD step at base lr 1, ReLU, d = 20, batch 128, targets sign(x_1): |Delta h^2| = 1.4e-3 at m = 256
    # and slope -1/2. Measured slopes of Delta_h (h2) over seeds 0-2: -0.59, -0.52, -0.42.
    X = np.random.default_rng(0).standard_normal((128, 20))
    task = ld.Task(X, np.sign(X[:, :1]))
    par = param.get("ip")
    init = jax.jit(par.init, static_argnums=(1, 2))  # one compilation instead of one per eager random draw
    delta = []
    for m in (256, 1024):
        sizes = (20, m, m, m, 1)
        net, p0 = par.mlp(sizes, "relu"), init(jax.random.key(0), sizes, "relu")
        sim = train.simulate(net, "gd", task, p0, lr=1.0, t=[0.0, 1.0], param=par)
        p1 = jax.tree.map(lambda a: a[-1], sim.params)
        df = contributions(net, p1, p0, X, params_previous=p0).set_index("layer")
        np.testing.assert_allclose(df.delta_h, df.Delta_h, rtol=1e-13)  # one step: the two changes coincide
        delta.append(df.loc["h2", "Delta_h"])
    assert 5e-4 < delta[0] < 4e-3
    slope = np.log(delta[1] / delta[0]) / np.log(4.0)
    assert -0.8 <= slope <= -0.25, slope


def test_layer_ranks_match_rank_proxies_of_the_forward_pass():
    par = param.get("mup")
    sizes = (2, 12, 12, 1)
    net = par.mlp(sizes, "relu")
    p = par.init(jax.random.key(0), sizes, "relu")
    X = np.random.default_rng(0).standard_normal((10, 2))
    df = layer_ranks(net, p, X)
    assert df[["layer", "of"]].to_numpy().tolist() == [["h1", "h"], ["h1", "x"], ["h2", "h"], ["h2", "x"]]
    _, cache = net.apply(p, X)
    mats = [cache["h"][0], cache["phi"][1], cache["h"][1], cache["phi"][2]]
    for row, M in zip(df.itertuples(), mats, strict=True):
        assert {k: getattr(row, k) for k in ("stable_rank", "nuclear_rank", "rank")} == pytest.approx(rank_proxies(M))
    assert df["rank"].iloc[0] == 2  # h1 = X W1^T / sqrt(2) has rank d = 2; the ReLU raises it
    assert df["rank"].iloc[1] > 2
    assert isinstance(df, pd.DataFrame)


# ---------------------------------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    ("M", "error", "fragment"),
    [
        (np.ones(3), ValueError, "M must be 2-D; got shape \\(3,\\)"),
        (np.ones((2, 2, 2)), ValueError, "M must be 2-D"),
        (np.array([[1.0, np.nan]]), ValueError, "M contains 1 non-finite"),
        (np.array([[np.inf, 1.0]]), ValueError, "non-finite"),
        (np.zeros((0, 3)), ValueError, "zero-size"),
        ("abc", TypeError, "M must be a real 2-D array"),
    ],
)
def test_rank_proxies_refuse_bad_matrices(M, error, fragment):
    with pytest.raises(error, match=fragment):
        rank_proxies(M)


def test_contributions_refuse_mismatched_input():
    par = param.get("ip", bias="all")
    sizes = (3, 8, 8, 1)
    net = par.mlp(sizes, "relu")
    p0 = par.init(jax.random.key(0), sizes, "relu")
    X = np.ones((4, 3))
    with pytest.raises(TypeError, match="net must be a learndyn.nets.MLP"):
        contributions("ip", p0, p0, X)
    with pytest.raises(ValueError, match="X must have 3 columns; got shape \\(4, 2\\)"):
        contributions(net, p0, p0, np.ones((4, 2)))
    with pytest.raises(ValueError, match="X must be 2-D"):
        contributions(net, p0, p0, np.ones(3))
    with pytest.raises(ValueError, match="params_init must match the net's bias=True, but it holds no biases"):
        contributions(net, p0, {"W": p0["W"]}, X)
    with pytest.raises(ValueError, match="params must be a dict with keys 'W'.*got keys \\['W', 'b', 'c'\\]"):
        contributions(net, {**p0, "c": 1}, p0, X)
    with pytest.raises(ValueError, match="params_previous\\['W'\\] must hold one array per weight layer of the net"):
        contributions(net, p0, p0, X, params_previous={"W": p0["W"][:2], "b": p0["b"]})
    wrong = {"W": (p0["W"][0], p0["W"][1][:4], p0["W"][2]), "b": p0["b"]}
    with pytest.raises(ValueError, match="params\\['W'\\]\\[1\\] must have shape \\(8, 8\\); got \\(4, 8\\)"):
        contributions(net, wrong, p0, X)
    seeds = jax.tree.map(lambda a: np.stack([a, a]), p0)
    with pytest.raises(ValueError, match="params\\['W'\\]\\[0\\] must have shape \\(8, 3\\) \\(this is one net"):
        contributions(net, seeds, p0, X)
    with pytest.raises(ValueError, match="params_init\\['b'\\]\\[2\\] contains 1 non-finite"):
        contributions(net, p0, {"W": p0["W"], "b": (*p0["b"][:2], np.array([np.nan]))}, X)
    with pytest.raises(TypeError, match="params must be the net's params"):
        contributions(net, 3.0, p0, X)
    with pytest.raises(ValueError, match="net must have at least one hidden layer"):
        contributions(MLP((3, 1)), {"W": (np.ones((1, 3)),)}, {"W": (np.ones((1, 3)),)}, X)
    with pytest.raises(ValueError, match="X must have 3 columns"):
        layer_ranks(net, p0, np.ones((4, 5)))
