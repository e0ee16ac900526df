"""Learning rules: GD against autodiff, the identities between rules, the Hebb and sign-FA formulas written out in
NumPy, and feedback alignment's exact discrete conservation law."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from learndyn import observables, rules, tasks, train
from learndyn.nets import MLP


def _setup(sizes=(4, 7, 6, 3), activation="tanh", bias=False, multipliers=None, seed=0, P=9):
    net = MLP(sizes, activation=activation, bias=bias, multipliers=multipliers)
    params = net.init(jax.random.key(seed))
    if bias:
        params["b"] = tuple(0.1 * jnp.ones_like(b) for b in params["b"])
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(P, sizes[0])), rng.normal(size=(P, sizes[-1]))
    f, cache = net.apply(params, X)
    return net, params, X, Y, f, cache


@pytest.mark.parametrize(
    ("activation", "bias", "multipliers"),
    [("tanh", False, None), ("relu", True, None), ("gelu", True, (0.5, 0.3, 0.2)), ("linear", False, None)],
)
def test_gd_rule_is_the_gradient_of_the_loss(activation, bias, multipliers):
    net, params, X, Y, f, cache = _setup(activation=activation, bias=bias, multipliers=multipliers)

    def loss(p):
        r = net.apply(p, X)[0] - Y
        return 0.5 * jnp.sum(r * r) / X.shape[0]

    ref = jax.grad(loss)(params)
    upd, _ = rules.GD(net).update(params, cache, f - Y, {})
    for a, b in zip(jax.tree_util.tree_leaves(upd), jax.tree_util.tree_leaves(ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14)


def test_fa_with_rho_one_starts_as_gd_and_last_layer_is_always_exact():
    net, params, X, Y, f, cache = _setup(activation="relu")
    gd, _ = rules.GD(net).update(params, cache, f - Y, {})
    fa1 = rules.FA(net, rho=1.0)
    up1, _ = fa1.update(params, cache, f - Y, fa1.init(jax.random.key(3), params))
    for a, b in zip(up1["W"], gd["W"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    fa0 = rules.FA(net, rho=0.0)
    up0, _ = fa0.update(params, cache, f - Y, fa0.init(jax.random.key(3), params))
    np.testing.assert_allclose(up0["W"][-1], gd["W"][-1], rtol=1e-13)  # readout: true gradient
    assert not np.allclose(up0["W"][0], gd["W"][0])


def test_two_layer_dfa_is_fa_with_rho_zero_given_the_same_feedback():
    net, params, X, Y, f, cache = _setup(sizes=(5, 11, 3), activation="relu")
    fa = rules.FA(net, rho=0.0)
    state = fa.init(jax.random.key(1), params)
    up_fa, _ = fa.update(params, cache, f - Y, state)
    up_dfa, _ = rules.DFA(net).update(params, cache, f - Y, {"D": (state["B"][0].T,)})
    for a, b in zip(up_fa["W"], up_dfa["W"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_hebb_and_sign_fa_match_their_formulas():
    net, params, X, Y, f, cache = _setup(sizes=(4, 6, 5, 2), activation="tanh")
    e = np.asarray(f - Y)
    W = [np.asarray(w) for w in params["W"]]
    h1, h2 = np.tanh(X @ W[0].T), None
    h2 = np.tanh(h1 @ W[1].T)
    P = X.shape[0]
    err2 = np.sum(e * e, axis=1)[:, None]
    hebb_rule = rules.Hebb(net)
    hebb, _ = hebb_rule.update(params, cache, f - Y, hebb_rule.init(jax.random.key(0), params))
    s = np.sqrt(np.mean(W[2] ** 2))  # readout multiplier 1 times the RMS readout entry
    np.testing.assert_allclose(hebb["W"][0], -s * ((err2 * h1).T @ X) / P, rtol=1e-12)
    np.testing.assert_allclose(hebb["W"][1], -s * ((err2 * h2).T @ h1) / P, rtol=1e-12)
    np.testing.assert_allclose(hebb["W"][2], e.T @ h2 / P, rtol=1e-12)
    sfa = rules.SignFA(net)
    state = sfa.init(jax.random.key(0), params)
    up, _ = sfa.update(params, cache, f - Y, state)
    s2, s3 = (np.sqrt(np.mean(w * w)) for w in W[1:])
    d3 = e
    d2 = (1 - h2**2) * (d3 @ (s3 * np.sign(W[2])))
    d1 = (1 - h1**2) * (d2 @ (s2 * np.sign(W[1])))
    np.testing.assert_allclose(up["W"][0], d1.T @ X / P, rtol=1e-11)


@pytest.mark.parametrize(("activation", "full"), [("relu", False), ("linear", True)])
def test_fa_conservation_law_holds_exactly_in_discrete_time(activation, full):
    # ReLU 20 -> 64 -> 64 -> 5 as in Robertson & Koyejo's setting; init scale 0.1, B ~ N(0, 1/n_{l+1}).
    rng = np.random.default_rng(0)
    task = tasks.Task(rng.normal(size=(64, 20)), rng.normal(size=(64, 5)))
    net = MLP((20, 64, 64, 5), activation=activation)
    params = {"W": tuple(0.1 * w for w in net.init(jax.random.key(0))["W"])}
    B = (rng.normal(size=(64, 64)) / 8.0, rng.normal(size=(64, 5)) / np.sqrt(5))
    lr = 1e-2
    run = train.simulate(net, rules.FA(net), task, params, lr=lr, t=[0.0, 10.0, 20.0], state={"B": B}, drift=True)
    C = observables.fa_conserved(run.params, B, full=full)
    for l in range(2):
        change = C[l][-1] - C[l][0]
        drift = run.drift[l][-1] if full else np.diagonal(run.drift[l][-1])
        scale = np.max(np.abs(C[l][0])) + np.max(np.abs(drift))
        assert np.max(np.abs(change - drift)) <= 1e-12 * scale
        assert np.max(np.abs(drift)) > 0  # the identity is not vacuous
    # GD does not conserve C but (for positively homogeneous nets) keeps W_l W_l^T - W_{l+1}^T W_{l+1} up to O(lr^2)
    gd = train.simulate(net, rules.GD(net), task, params, lr=lr, t=[0.0, 20.0])
    C_gd = observables.fa_conserved(gd.params, B)
    bal = observables.gd_balancedness(gd.params)
    rel = lambda a: np.max(np.abs(a[-1] - a[0])) / np.max(np.abs(a[0]))  # noqa: E731
    assert rel(C_gd[0]) > 20 * rel(bal[0])


def test_simulate_with_the_gd_rule_is_gradient_descent():
    task = tasks.random_regression(15, 4, 3, seed=2)
    net = MLP((4, 8, 3), activation="tanh")
    params = net.init(jax.random.key(4))
    run = train.simulate(net, "gd", task, params, lr=0.05, t=[0.0, 1.0, 3.0])
    ref = train.simulate_gd(task.X, task.Y, params["W"], lr=0.05, t=[0.0, 1.0, 3.0], activation="tanh")
    for a, b in zip(run.params["W"], ref.weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(run.loss, ref.loss, rtol=1e-12)
    ds = run.trajectory(task)
    np.testing.assert_allclose(ds["loss"].values, ref.loss, rtol=1e-12)


def test_bad_rules_are_explained():
    net = MLP((3, 4, 2), activation="relu")
    with pytest.raises(ValueError, match="unknown rule 'adam'; valid rules: dfa, fa, gd, hebb, sign-fa"):
        rules.get("adam", net)
    with pytest.raises(ValueError, match="rho must be in \\[0, 1\\]; got 1.5"):
        rules.FA(net, rho=1.5)
    task = tasks.random_regression(10, 3, 2, seed=0)
    other = rules.GD(MLP((3, 5, 2)))
    with pytest.raises(ValueError, match="bound to another net"):
        train.simulate(net, other, task, net.init(jax.random.key(0)), lr=0.1, t=[1.0])
    with pytest.raises(ValueError, match="drift=True accumulates the Euler"):
        train.simulate(net, "fa", task, net.init(jax.random.key(0)), lr=0.1, t=[1.0], method="rk4", drift=True)
    with pytest.raises(train.DivergenceError, match="fa training .* diverged at step"):
        train.simulate(net, "fa", task, {"W": (30 * np.ones((4, 3)), 30 * np.ones((2, 4)))}, lr=5.0, t=[50.0])


def test_structured_gd_entk_equals_the_autodiff_ntk():
    net, params, X, Y, f, cache = _setup(activation="relu", bias=True, multipliers=(0.7, 0.4, 0.3))
    K = observables.entk(net, rules.GD(net), params, X)
    np.testing.assert_allclose(K, observables.ntk_autodiff(X, params, net), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["gd", "fa", "sign-fa", "dfa", "hebb"])
def test_entk_gives_the_output_velocity_of_every_rule(name):
    # df/dt along the rule's flow, by forward-mode autodiff of f in the update direction, against -(1/P) K e
    net, params, X, Y, f, cache = _setup(activation="tanh", bias=True)
    rule = rules.get(name, net)
    state = rule.init(jax.random.key(7), params)
    e = f - Y
    upd, _ = rule.update(params, cache, e, state)
    _, velocity = jax.jvp(lambda p: net.apply(p, X)[0], (params,), (jax.tree_util.tree_map(lambda u: -u, upd),))
    K = observables.entk(net, rule, params, X, state, error=e)
    np.testing.assert_allclose(-np.einsum("paqb,qb->pa", K, e) / X.shape[0], velocity, rtol=1e-10, atol=1e-13)
    if name == "gd":
        np.testing.assert_allclose(K, np.transpose(K, (2, 3, 0, 1)), atol=1e-12)  # symmetric only for GD


def test_rule_trajectory_diagnostics():
    task = tasks.random_regression(12, 4, 2, seed=5)
    net = MLP((4, 16, 16, 2), activation="relu")
    params = net.init(jax.random.key(1))
    gd = train.simulate(net, "gd", task, params, lr=0.05, t=[0.0, 2.0]).trajectory(task, rule_kernels=True)
    np.testing.assert_allclose(gd["grad_corr"].values, 1.0, rtol=1e-12)  # GD's pseudo-gradient is the gradient
    np.testing.assert_allclose(gd["entk"].values, gd["ntk"].values, rtol=1e-10, atol=1e-12)
    fa = train.simulate(net, rules.FA(net), task, params, lr=0.05, t=[0.0], key=3).trajectory(task, rule_kernels=True)
    assert np.all(np.abs(fa["grad_corr"].values[0]) < 0.5)  # random feedback: nearly uncorrelated at init
    assert -1.0 <= float(fa["entk_task_alignment"][0]) <= 1.0


def test_kernel_alignment_and_cka_against_hand_values():
    Y = np.array([[1.0], [1.0], [-1.0]])
    K = np.eye(3)
    assert observables.kernel_task_alignment(K, Y) == pytest.approx(3.0 / (np.sqrt(3.0) * 3.0))
    rng = np.random.default_rng(0)
    A = rng.normal(size=(5, 5))
    K1 = A @ A.T
    assert observables.cka(K1, 2.5 * K1) == pytest.approx(1.0)
    assert observables.cka(K1, K1 + 3.0) == pytest.approx(1.0)  # centring removes constant offsets
    assert observables.cka(K1, np.eye(5)) < 0.99


def test_gln_gd_is_exact_gradient_descent_and_linear_gates_give_a_deep_linear_net():
    from learndyn.nets import GLN

    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(10, 5)), rng.normal(size=(10, 2))
    gln = GLN((5, 9, 7, 2), activation="relu", gate_seed=4)
    params = gln.init(jax.random.key(0))

    def loss(p):
        r = gln.apply(p, X)[0] - Y
        return 0.5 * jnp.sum(r * r) / 10

    f, cache = gln.apply(params, X)
    upd, _ = rules.GD(gln).update(params, cache, f - Y, {})
    for a, b in zip(upd["W"], jax.grad(loss)(params)["W"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14)
    # gates are 0/1 and fixed: the same item keeps its gates whatever the weights
    g1 = np.asarray(gln.gates(X)[0])
    assert set(np.unique(g1)) <= {0.0, 1.0}
    flat = GLN((5, 9, 7, 2), activation="linear")
    W = params["W"]
    np.testing.assert_allclose(flat.apply(params, X)[0], X @ (W[2] @ W[1] @ W[0]).T, rtol=1e-12)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        GLN((5, 2), gate_seed=-1)


def test_seeds_vmapped_equal_one_by_one():
    task = tasks.random_regression(12, 4, 2, seed=1)
    net = MLP((4, 10, 2), activation="tanh")
    keys = jax.random.split(jax.random.key(0), 3)
    batched = jax.vmap(net.init)(keys)
    runs = train.simulate(net, rules.FA(net), task, batched, lr=0.05, t=[0.0, 1.0, 2.0], key=5, drift=True)
    assert runs.params["W"][0].shape == (3, 3, 10, 4) and runs.loss.shape == (3, 3)
    for s in range(3):
        one = jax.tree_util.tree_map(lambda a, s=s: a[s], batched)
        state = jax.tree_util.tree_map(lambda a, s=s: a[s], runs.state)
        ref = train.simulate(net, rules.FA(net), task, one, lr=0.05, t=[0.0, 1.0, 2.0], state=state, drift=True)
        np.testing.assert_allclose(runs.params["W"][1][s], ref.params["W"][1], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(runs.drift[0][s], ref.drift[0], rtol=1e-12, atol=1e-16)


def test_minibatch_sgd():
    task = tasks.random_regression(40, 5, 2, seed=3)
    net = MLP((5, 12, 2), activation="relu")
    params = net.init(jax.random.key(2))
    full = train.simulate(net, "gd", task, params, lr=0.05, t=[0.0, 2.0])
    whole = train.simulate(net, "gd", task, params, lr=0.05, t=[0.0, 2.0], batch_size=40, key=1)
    np.testing.assert_allclose(whole.params["W"][0], full.params["W"][0], rtol=1e-11, atol=1e-14)
    a = train.simulate(net, "gd", task, params, lr=0.05, t=[0.0, 2.0, 4.0], batch_size=8, key=1)
    b = train.simulate(net, "gd", task, params, lr=0.05, t=[0.0, 2.0, 4.0], batch_size=8, key=1)
    c = train.simulate(net, "gd", task, params, lr=0.05, t=[0.0, 2.0, 4.0], batch_size=8, key=2)
    np.testing.assert_array_equal(a.params["W"][0], b.params["W"][0])  # the key decides the batches
    assert not np.allclose(a.params["W"][0][-1], c.params["W"][0][-1])
    assert a.loss[-1] < 0.8 * a.loss[0]
    with pytest.raises(ValueError, match="batch_size must be <= the number of items P = 40; got 41"):
        train.simulate(net, "gd", task, params, lr=0.05, t=[1.0], batch_size=41)


def test_fa_feedback_scales():
    net = MLP((10, 400, 300, 3), activation="relu")
    params = {"W": tuple(0.1 * w for w in net.init(jax.random.key(0))["W"])}
    match = rules.FA(net).init(jax.random.key(1), params)["B"]
    fan_out = rules.FA(net, feedback="fan_out").init(jax.random.key(1), params)["B"]
    W = params["W"]
    assert np.std(match[0]) == pytest.approx(np.sqrt(np.mean(np.asarray(W[1]) ** 2)), rel=0.02)
    assert np.std(fan_out[0]) == pytest.approx(1 / np.sqrt(300), rel=0.02)
    assert np.std(fan_out[1]) == pytest.approx(1 / np.sqrt(3), rel=0.05)
    with pytest.raises(ValueError, match="feedback must be one of \\['fan_out', 'match'\\]"):
        rules.FA(net, feedback="uniform")


@pytest.mark.parametrize("name", ["ip-llr", "mup", "meanfield"])
def test_simulate_applies_the_parameterization_learning_rates(name):
    from learndyn import param as param_mod

    par = param_mod.get(name)
    sizes = (6, 32, 32, 32, 2)
    net = par.mlp(sizes, "relu")
    params = par.init(jax.random.key(0), sizes, "relu")
    task = tasks.random_regression(16, 6, 2, seed=4)
    lr = 1e-3

    def grads(p):
        def loss(q):
            r = net.apply(q, jnp.asarray(task.X))[0] - task.Y
            return 0.5 * jnp.sum(r * r) / task.P

        return jax.tree_util.tree_map(lambda g: -g, jax.grad(loss)(p))

    manual = params
    for step in range(3):  # IP-LLR: step 0 has its own rates
        manual = par.update(manual, grads(manual), sizes, lr=lr, step=step)
    run = train.simulate(net, "gd", task, params, lr=lr, t=[3 * lr], param=par)
    for a, b in zip(jax.tree_util.tree_leaves(run.params), jax.tree_util.tree_leaves(manual), strict=True):
        np.testing.assert_allclose(a[-1], b, rtol=1e-10, atol=1e-13)
