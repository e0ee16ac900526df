"""Observables: NTK Kronecker form vs autodiff J J^T, loss identity, RSMs, trajectory assembly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from learndyn import init, observables, tasks


@pytest.fixture
def net():
    task = tasks.teacher_student(10, 4, 6, 3, seed=1)
    W1, W2 = init.gaussian(2, (4, 5, 3), 0.4)
    return task, W1, W2


def test_ntk_kronecker_equals_autodiff(net):
    task, W1, W2 = net
    kron = observables.ntk_linear(task.X, W1.T @ W1, W2 @ W2.T)

    # Independent reference: the Jacobian of vec(f) with respect to all parameters, by jax.jacfwd here.
    def f(params):
        a, b = params
        return task.X @ a.T @ b.T

    jac = jax.jacfwd(f)((jnp.asarray(W1), jnp.asarray(W2)))
    J = np.concatenate([np.asarray(j).reshape(10, 3, -1) for j in jac], axis=-1)
    np.testing.assert_allclose(kron, np.einsum("pak,qbk->paqb", J, J), atol=1e-12)
    np.testing.assert_allclose(observables.ntk_autodiff(task.X, (W1, W2)), kron, atol=1e-12)


def test_function_space_flow_matches_finite_difference(net):
    # The NTK drives the function-space flow: dŶ/dt = -(1/P) Θ (Ŷ - Y), checked by central differences.
    task, W1, W2 = net
    X, Y, P = jnp.asarray(task.X), jnp.asarray(task.Y), task.P

    def loss(params):
        a, b = params
        return 0.5 * jnp.sum((Y - X @ a.T @ b.T) ** 2) / P

    g1, g2 = jax.grad(loss)((jnp.asarray(W1), jnp.asarray(W2)))
    h = 1e-5
    fwd = X @ (W1 - h * g1).T @ (W2 - h * g2).T
    bwd = X @ (W1 + h * g1).T @ (W2 + h * g2).T
    dY_fd = np.asarray(fwd - bwd) / (2 * h)
    theta = observables.ntk_linear(task.X, W1.T @ W1, W2 @ W2.T)
    resid = task.X @ (W2 @ W1).T - task.Y
    dY_ntk = -np.einsum("paqb,qb->pa", theta, resid) / P
    np.testing.assert_allclose(dY_ntk, dY_fd, atol=1e-9)


def test_loss_from_map_equals_direct_loss(net):
    task, W1, W2 = net
    task = tasks.Task(np.random.default_rng(0).normal(size=(9, 4)), np.random.default_rng(1).normal(size=(9, 3)))
    M = W2 @ W1
    direct = 0.5 * np.mean(np.sum((task.Y - task.X @ M.T) ** 2, axis=1))
    assert observables.loss_from_map(task, M) == pytest.approx(direct, rel=1e-13)


def test_rsm_and_kernel_distance():
    X = np.eye(3)
    G = np.diag([1.0, 2.0, 3.0])
    np.testing.assert_allclose(observables.rsm_in(X, G), G)
    Y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(observables.rsm_out(Y, np.diag([2.0, 0.0])), np.outer(Y[:, 0], Y[:, 0]) / 2)
    K = np.random.default_rng(0).normal(size=(4, 4))
    assert observables.kernel_distance(K, 3 * K) == pytest.approx(0.0, abs=1e-15)
    assert observables.kernel_distance(np.eye(2), np.array([[0.0, 1.0], [1.0, 0.0]])) == pytest.approx(1.0)


def test_trajectories_from_weights_and_qqt_agree(net):
    task, W1, W2 = net
    T = 3
    W1s = np.stack([W1 * (1 + 0.1 * k) for k in range(T)])
    W2s = np.stack([W2 * (1 - 0.05 * k) for k in range(T)])
    Q = np.concatenate([np.swapaxes(W1s, 1, 2), W2s], axis=1)
    qqt = Q @ np.swapaxes(Q, 1, 2)
    a = observables.trajectory_from_weights(task, np.arange(T), (W1s, W2s))
    b = observables.trajectory_from_qqt(task, np.arange(T), qqt)
    diffs = observables.max_abs_diff(a, b)
    assert set(diffs) >= {"loss", "f", "w2w1", "w1tw1", "w2w2t", "rsm_in", "ntk"}
    assert max(diffs.values()) < 1e-12
    assert a["balance_drift"].values[0] == 0.0 and a["balance_drift"].values[1] > 0
    np.testing.assert_allclose(a["f"].values[1], task.X @ (W2s[1] @ W1s[1]).T, atol=1e-13)
    with pytest.raises(ValueError, match="share the time grid"):
        observables.max_abs_diff(a, b.assign_coords(t=b.t + 1))


def test_compare_table_reports_abs_and_relative_errors(net):
    task, W1, W2 = net
    a = observables.trajectory_from_weights(task, np.arange(2), (np.stack([W1, W1]), np.stack([W2, W2])))
    b = a.copy(deep=True)
    b["w2w1"] = b["w2w1"] * 2.0
    table = observables.compare(a, b, ["w2w1", "loss"])
    M = W2 @ W1
    assert table.loc["w2w1", "max_abs_err"] == pytest.approx(np.abs(M).max(), rel=1e-12)
    assert table.loc["w2w1", "rel_err"] == pytest.approx(0.5, rel=1e-12)
    assert table.loc["loss", "max_abs_err"] == 0.0


def _numpy_tanh_net(W1, W2, X):
    return np.tanh(X @ W1.T) @ W2.T


def test_nonlinear_trajectory_uses_the_nets_own_forward_pass():
    from learndyn.nets import MLP

    task = tasks.teacher_student(10, 4, 6, 3, seed=1)
    rng = np.random.default_rng(4)
    W1s, W2s = rng.normal(size=(3, 6, 4)), 0.5 * rng.normal(size=(3, 3, 6))
    net = MLP((4, 6, 3), activation="tanh")
    ds = observables.trajectory_from_weights(task, np.arange(3.0), (W1s, W2s), net)
    for k in range(3):
        f = _numpy_tanh_net(W1s[k], W2s[k], task.X)
        np.testing.assert_allclose(ds["f"].values[k], f, rtol=1e-12)
        assert ds["loss"].values[k] == pytest.approx(0.5 * np.mean(np.sum((task.Y - f) ** 2, axis=1)), rel=1e-12)
        linear_map_loss = 0.5 * np.mean(np.sum((task.Y - task.X @ (W2s[k] @ W1s[k]).T) ** 2, axis=1))
        assert abs(ds["loss"].values[k] - linear_map_loss) > 1e-3  # the old bug: loss of the linear map W2 W1
    assert "w2w1" not in ds  # W2 W1 is not the network map of a tanh net
    # NTK by autodiff, checked against a finite-difference Jacobian of the NumPy forward pass
    eps, J = 1e-6, []
    for idx in np.ndindex(W1s[0].shape):
        d = np.zeros_like(W1s[0])
        d[idx] = eps
        up, down = _numpy_tanh_net(W1s[0] + d, W2s[0], task.X), _numpy_tanh_net(W1s[0] - d, W2s[0], task.X)
        J.append((up - down) / (2 * eps))
    J = np.stack(J, -1)  # (P, o, params of W1); the W2 part is linear: d f_po / d W2[o, n] = tanh(h)_pn
    phi = np.tanh(task.X @ W1s[0].T)
    K = np.einsum("pak,qbk->paqb", J, J) + np.einsum("pn,qn,ab->paqb", phi, phi, np.eye(3))
    np.testing.assert_allclose(ds["ntk"].values[0], K, rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError, match="rsm=True asks for rsm_out"):
        observables.trajectory_from_weights(task, np.arange(3.0), (W1s, W2s), net, rsm=True)


def test_deep_linear_trajectory_keeps_the_ntk():
    task = tasks.teacher_student(8, 3, 4, 2, seed=2)
    rng = np.random.default_rng(1)
    Ws = (rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 2, 5)))
    ds = observables.trajectory_from_weights(task, np.arange(2.0), Ws)
    assert "ntk" in ds
    # J J^T of a deep linear net: sum over layers of (suffix^T suffix)_{ab} (x prefix^T prefix x')
    W1, W2, W3 = (W[1] for W in Ws)
    X = task.X
    K = np.einsum("ab,pq->paqb", (W3 @ W2) @ (W3 @ W2).T, X @ X.T)
    K += np.einsum("ab,pq->paqb", W3 @ W3.T, (X @ W1.T) @ (X @ W1.T).T)
    K += np.einsum("ab,pq->paqb", np.eye(2), (X @ (W2 @ W1).T) @ (X @ (W2 @ W1).T).T)
    np.testing.assert_allclose(ds["ntk"].values[1], K, rtol=1e-10)
    np.testing.assert_allclose(ds["w2w1"].values[1], W3 @ W2 @ W1, rtol=1e-12)


# ---------------------------------------------------------------------------------------------------------------------
# Backward signals, gradient and pseudo-gradient kernels, corr(g, g~) (Bordelon & Pehlevan 2023, sec. 1-2 and 5)


def _meanfield(sizes, gamma0, activation="tanh", seed=0):
    from learndyn import param

    par = param.get("meanfield", gamma0=gamma0)
    return par, par.mlp(sizes, activation), par.init(jax.random.key(seed), sizes, activation)


def _rest_of_net(W, gamma0, l, h):
    """The spec's mean-field forward pass from hidden layer ``l`` (0-based) on, written out as a function of h^l."""
    N = h.shape[1]
    for Wk in W[l + 1 : -1]:
        h = jnp.tanh(h) @ Wk.T / jnp.sqrt(N)
    return jnp.tanh(h) @ W[-1].T / (gamma0 * N)


def test_backward_signals_are_gamma0_n_times_df_dh():
    from learndyn import rules

    gamma0, sizes = 0.7, (5, 12, 12, 12, 1)
    _, net, p = _meanfield(sizes, gamma0)
    X = np.random.default_rng(3).normal(size=(6, 5))
    W = p["W"]
    h1 = X @ W[0].T / np.sqrt(5)
    f, cache = net.apply(p, X)
    np.testing.assert_allclose(cache["h"][0], h1, rtol=1e-12)  # the cache is the spec's h^1
    np.testing.assert_allclose(f, _rest_of_net(W, gamma0, 0, h1), rtol=1e-12)  # and the re-written net is the net
    g, gt = observables.backward_signals(net, rules.GD(net), p, X)
    assert len(g) == len(W)  # one per weight layer, readout last
    for l, h in enumerate(cache["h"]):
        # per item f_mu depends on h^l_mu only, so the gradient of sum_mu f_mu holds every d f_mu / d h^l_mu
        ref = gamma0 * 12 * jax.grad(lambda h, l=l: jnp.sum(_rest_of_net(W, gamma0, l, h)))(h)
        np.testing.assert_allclose(g[l], ref, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(gt[l], ref, rtol=1e-11, atol=1e-13)  # GD's pseudo-gradient is the gradient
    # the spec's top-layer signal g^L = phi'(h^L) * w^L, and its kernel G^L = g^L g^L^T / N
    gL = (1 - np.tanh(cache["h"][-1]) ** 2) * np.asarray(W[-1])
    np.testing.assert_allclose(observables.gradient_kernels(g)[-1], gL @ gL.T / 12, rtol=1e-11)
    raw, _ = observables.backward_signals(net, rules.GD(net), p, X, scale=1.0)
    np.testing.assert_allclose(raw[1] * gamma0 * 12, g[1], rtol=1e-13)
    for a, b in zip(observables.gradient_kernels(raw, scale=gamma0 * 12), observables.gradient_kernels(g), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_fa_with_rho_one_starts_with_the_true_gradient_kernels():
    from learndyn import rules

    _, net, p = _meanfield((4, 10, 10, 10, 1), 1.0)
    X = np.random.default_rng(0).normal(size=(5, 4))
    rule = rules.FA(net, rho=1.0)
    g, gt = observables.backward_signals(net, rule, p, X, rule.init(jax.random.key(2), p))
    # B = W(0)^T exactly at rho = 1, so the pseudo-gradient kernels are the gradient kernels (up to rounding)
    for Gt, G in zip(observables.pseudo_gradient_kernels(g, gt), observables.gradient_kernels(g), strict=True):
        np.testing.assert_allclose(Gt, G, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(G, G.T, rtol=1e-12)


@pytest.mark.parametrize("name", ["fa", "dfa"])
def test_random_feedback_pseudo_gradient_kernels_shrink_like_inverse_sqrt_width(name):
    # At init g~ is independent of g for FA(rho = 0) and DFA, so G~ = g . g~ / N is a sum of N independent zero-mean
    # terms over N: O(N^{-1/2}), while G = O(1). Measure ||G~||_F / ||G||_F at N = 64 and 1024 (mean of 4 seeds)
    # and fit the exponent per layer; predicted -1/2 (these seeds: -0.49, -0.44 for FA; -0.57, -0.44 for DFA;
    # other seeds give -0.42..-0.57, hence the tolerance 0.2).
    from learndyn import rules

    X = np.random.default_rng(0).normal(size=(16, 10))
    rel = {}
    for N in (64, 1024):
        ratios = []
        for seed in range(4):
            _, net, p = _meanfield((10, N, N, 1), 1.0, "relu", seed=seed)
            rule = rules.get(name, net)
            g, gt = observables.backward_signals(net, rule, p, X, rule.init(jax.random.key(100 + seed), p))
            G, Gt = observables.gradient_kernels(g), observables.pseudo_gradient_kernels(g, gt)
            ratios.append([np.linalg.norm(b) / np.linalg.norm(a) for a, b in zip(G, Gt, strict=True)])
        rel[N] = np.mean(ratios, axis=0)
    slope = np.log(rel[1024] / rel[64]) / np.log(16)
    assert np.all(np.abs(slope + 0.5) < 0.2), slope
    assert np.all(rel[1024] < 0.15)  # and small in absolute terms at the larger width


@pytest.mark.parametrize("name", ["gd", "fa", "dfa", "hebb"])
def test_entk_is_the_sum_of_pseudo_gradient_times_feature_kernels(name):
    # Eq. 4 of the spec, K = sum_l G~^{l+1} * Phi^l + Phi^L, for the mean-field net in the spec's time convention
    # (every layer's learning rate gamma0^2 N). References: gamma0^2 N J J^T by autodiff (GD), and the output velocity
    # df/dt = -(1/P) K e along the rule's update by forward-mode autodiff (every rule).
    from learndyn import rules

    gamma0, N, P = 0.8, 9, 7
    _, net, p = _meanfield((4, N, N, 1), gamma0)
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(P, 4)), rng.normal(size=(P, 1))
    rule = rules.get(name, net)
    state = rule.init(jax.random.key(4), p)
    f, cache = net.apply(p, X)
    e = np.asarray(f) - Y
    g, gt = observables.backward_signals(net, rule, p, X, state, error=e)
    Phi = observables.feature_kernels(cache)
    K = sum(Gt * F for Gt, F in zip(observables.pseudo_gradient_kernels(g, gt), Phi, strict=False)) + Phi[-1]
    lr_scale = gamma0**2 * N
    if name == "gd":
        np.testing.assert_allclose(K, lr_scale * observables.ntk_autodiff(X, p, net)[:, 0, :, 0], rtol=1e-10)
    upd, _ = rule.update(p, cache, jnp.asarray(e), state)
    step = jax.tree_util.tree_map(lambda u: -lr_scale * u, upd)
    _, velocity = jax.jvp(lambda q: net.apply(q, X)[0], (p,), (step,))
    np.testing.assert_allclose(-K @ e / P, velocity, rtol=1e-10, atol=1e-13)


def test_signal_functions_reject_bad_input():
    from learndyn import rules
    from learndyn.nets import MLP

    net = MLP((3, 5, 2), "tanh")
    p = net.init(jax.random.key(0))
    X = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"output must be an output index in \[0, 2\).*got None"):
        observables.backward_signals(net, rules.GD(net), p, X)
    with pytest.raises(ValueError, match=r"output must be an integer in \[0, 2\); got 2"):
        observables.backward_signals(net, rules.GD(net), p, X, output=2)
    with pytest.raises(ValueError, match="scale must be one of"):
        observables.backward_signals(net, rules.GD(net), p, X, output=0, scale="output")
    with pytest.raises(ValueError, match="depend on the error: pass error"):
        hebb = rules.Hebb(net)
        observables.backward_signals(net, hebb, p, X, hebb.init(jax.random.key(0), p), output=0)
    g = [np.ones((4, 5)), np.ones((4, 2))]
    with pytest.raises(ValueError, match="signals must be a list of"):
        observables.gradient_kernels(np.ones((4, 5)))
    with pytest.raises(ValueError, match="scale must be a finite number > 0; got -1"):
        observables.gradient_kernels(g, scale=-1.0)
    with pytest.raises(ValueError, match=r"rule_signals\[0\] must have the shape of true_signals\[0\], \(4, 5\)"):
        observables.pseudo_gradient_kernels(g, [np.ones((4, 6)), np.ones((4, 2))])
    with pytest.raises(ValueError, match="same number of layers; got 2 and 3"):
        observables.gradient_correlation(g, [np.ones((4, 5))] * 2 + [np.ones((4, 2))])


def test_gradient_correlation_is_the_mean_over_items_of_the_cosine():
    rng = np.random.default_rng(2)
    g = [rng.normal(size=(6, 5)), rng.normal(size=(6, 3)), rng.normal(size=(6, 1))]
    gt = [rng.normal(size=(6, 5)) + g[0], rng.normal(size=(6, 3)), rng.normal(size=(6, 1))]
    g[1][2] = 0.0  # item 2 has no true direction in layer 2, item 4 no pseudo-gradient: both skipped there
    gt[1][4] = 0.0
    ref = []  # reference: the spec's sum written as a plain loop
    for a, b in zip(g[:-1], gt[:-1], strict=True):
        cos = [
            a[m] @ b[m] / (np.linalg.norm(a[m]) * np.linalg.norm(b[m])) for m in range(6) if a[m].any() and b[m].any()
        ]
        ref.append(cos)
    got = observables.gradient_correlation(g, gt)
    np.testing.assert_allclose(got, [np.mean(c) for c in ref], rtol=1e-13)
    pooled = observables.gradient_correlation(g, gt, over_layers=True)
    assert pooled == pytest.approx(np.mean(ref[0] + ref[1]), rel=1e-13)
    # a positive per-item factor (the error of a one-output net) leaves every cosine unchanged
    w = rng.uniform(0.5, 2.0, size=(6, 1))
    np.testing.assert_allclose(
        observables.gradient_correlation([w * a for a in g], [w * b for b in gt]), got, rtol=1e-12
    )
    # not the global cosine over items and units (the former definition): items of large norm do not dominate
    a, b = g[0].ravel(), gt[0].ravel()
    assert abs(got[0] - a @ b / (np.linalg.norm(a) * np.linalg.norm(b))) > 1e-3
    zero = [np.zeros((3, 2)), np.ones((3, 1))]
    assert np.isnan(observables.gradient_correlation(zero, zero)[0])
    assert np.isnan(observables.gradient_correlation(zero, zero, over_layers=True))
