"""Claims that tie the pieces together: a small random init follows Saxe's sigmoid in its top mode, zero-balanced
inits converge to a task-determined representation, the deep law against deep GD, and the whiteness guard of the
task-level front door."""

import numpy as np
import pytest

from learndyn import init, tasks, train
from learndyn.theory import linear, modes


def _half_rise(t, a, target):
    k = int(np.argmax(a >= target / 2))
    assert k > 0, "the mode never reaches half of its target on this grid"
    # linear interpolation between the bracketing records
    return float(t[k - 1] + (target / 2 - a[k - 1]) * (t[k] - t[k - 1]) / (a[k] - a[k - 1]))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_small_random_init_top_mode_follows_saxe_with_effective_a0(seed):
    # A small zero-balanced init (sigma = 1e-3) aligns before it learns; the top mode's half-rise time is
    # (1/2s1) ln(s1/a0_eff - 1) with a0_eff = diag(B^T S B)/4 to within 5%. Reference: the RK4 gradient flow.
    task = tasks.random_regression(30, 6, 4, seed=seed)
    sigma, _ = task.whitened_correlation()
    W1, W2 = init.zero_balanced(seed + 10, (6, 8, 4), 1e-3)
    U, s_task, Vt = np.linalg.svd(sigma)
    S = np.linalg.svd(W2 @ W1, compute_uv=False)[:4]
    a0_eff = modes.effective_a0(linear.b_matrix(W1, W2, sigma), S)
    predicted = np.log(s_task[0] / a0_eff[0] - 1.0) / (2 * s_task[0])
    t = np.arange(0.0, 2.5 * predicted, 0.01)
    res = train.gradient_flow_rk4(task.X, task.Y, (W1, W2), t=t, dt=0.01)
    strength = np.einsum("o,toi,i->t", U[:, 0], res.weights[1] @ res.weights[0], Vt[0])
    measured = _half_rise(res.t, np.abs(strength), s_task[0])
    assert abs(measured / predicted - 1) < 0.05


def test_task_independent_initialisation():
    # Task-independent initialisation (Braun et al. 2022): zero-balanced inits of very different scale converge to
    # the same W1^T W1 = V S V^T (N_i != N_o); a Gaussian (unbalanced) init converges in function but keeps its own
    # representation.
    task = tasks.random_regression(20, 5, 3, seed=4)
    sigma, _ = task.whitened_correlation()
    U, s, Vt = np.linalg.svd(sigma)
    target = Vt[:3].T @ np.diag(s) @ Vt[:3]
    for scale in (1e-3, 0.5):
        W1, W2 = init.zero_balanced(7, (5, 6, 3), scale)
        q, _ = linear.qqt_exact(W1, W2, sigma, [1e4])
        np.testing.assert_allclose(q[0][:5, :5], target, atol=1e-6)
    W1, W2 = init.gaussian(7, (5, 6, 3), 0.42)
    res = train.gradient_flow_rk4(task.X, task.Y, (W1, W2), t=[2000.0], dt=0.05)
    W1e, W2e = res.weights[0][-1], res.weights[1][-1]
    np.testing.assert_allclose(W2e @ W1e, sigma, atol=1e-6)  # the function is learned ...
    assert np.max(np.abs(W1e.T @ W1e - target)) > 0.05  # ... but not the task-determined representation


def test_deep_law_matches_deep_gd():
    # The depth-3 per-mode law against GD of an aligned, balanced three-layer linear net: O(lr) agreement.
    task = tasks.random_regression(20, 3, 3, seed=2)
    sigma, _ = task.whitened_correlation()
    U, s, Vt = np.linalg.svd(sigma)
    u0 = np.array([1e-3, 2e-3, 5e-4])
    w = u0 ** (1 / 3)
    R1, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    R2, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))
    weights = (R1 @ np.diag(w) @ Vt, R2 @ np.diag(w) @ R1.T, U @ np.diag(w) @ R2.T)
    t = train.linear_times(40.0, 81)
    errs = []
    for lr in (0.01, 0.005):
        res = train.simulate_gd(task.X, task.Y, weights, lr=lr, t=t)
        prod = res.weights[2] @ res.weights[1] @ res.weights[0]
        strength = np.einsum("ok,toi,ik->tk", U, prod, Vt.T)
        theory = modes.deep_mode(s, u0, 3, res.t)
        assert np.max(np.abs(strength)) > 0.5 * s.min()  # modes were learned within the horizon
        errs.append(np.max(np.abs(strength - theory)))
    assert errs[0] < 0.05 * s.max()
    assert 1.7 < errs[0] / errs[1] < 2.3  # first order in lr


def test_exact_trajectory_refuses_non_white_inputs():
    X = np.random.default_rng(0).normal(size=(20, 3))
    task = tasks.Task(X, X @ np.ones((3, 2)))
    W1, W2 = init.zero_balanced(0, (3, 4, 2), 0.1)
    with pytest.raises(ValueError, match=r"not whitened: max\|X\^T X/P / c - I\| = .* learndyn.tasks.whiten"):
        linear.exact_trajectory(task, W1, W2, [0.0, 1.0])
    with pytest.raises(TypeError, match="task must be a learndyn Task"):
        linear.exact_trajectory(X, W1, W2, [0.0])


def test_exact_trajectory_applies_scaled_identity_rule():
    # X = I_8 gives sigma_xx = I/8; the trajectory must equal the RK4 flow of the *unscaled* problem.
    task = tasks.hierarchy()
    W1, W2 = init.match_det_sign(*init.zero_balanced(3, (8, 10, 8), 0.3), task.whitened_correlation()[0])
    t = np.arange(0.0, 40.01, 4.0)
    th = linear.exact_trajectory(task, W1, W2, t, ntk=False, rsm=False)
    res = train.gradient_flow_rk4(task.X, task.Y, (W1, W2), t=t, dt=0.01)
    assert th.attrs["input_scale"] == pytest.approx(1 / 8)
    np.testing.assert_allclose(th["w2w1"].values, res.weights[1] @ res.weights[0], atol=1e-9)
