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
