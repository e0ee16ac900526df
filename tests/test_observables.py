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
