"""Tests for learndyn.train: GD and RK4 simulation of linear and small nonlinear MLPs.

Every check compares against an independent reference: a plain NumPy loop with hand-written
backpropagation, central finite differences, scipy's DOP853 on the flattened gradient-flow ODE
(written out in the test from the gradient-flow equations, not from the library), or an exact invariant.
"""

import re
import warnings

import jax
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from learndyn import train
from learndyn.nets import linear as linear_net
from learndyn.train import (
    DivergenceError,
    GDResult,
    forward,
    gradient_flow_rk4,
    linear_times,
    log_times,
    loss,
    loss_grad,
    simulate_gd,
    simulate_gd_seeds,
    stack_weights,
)

LR = 0.05
# Uneven grid: t = 0, a repeated time, times that are not multiples of LR (rounded to steps).
T_GRID = np.array([0.0, 0.05, 0.05, 0.123, 0.35, 1.0, 1.04, 2.5])


# ---------------------------------------------------------------------------------------------
# Independent NumPy reference: forward pass and hand-written backpropagation.


def _np_phi(a, activation):
    return {"linear": a, "tanh": np.tanh(a), "relu": np.maximum(a, 0.0)}[activation]


def _np_dphi(a, activation):
    return {
        "linear": np.ones_like(a),
        "tanh": 1.0 - np.tanh(a) ** 2,
        "relu": (a > 0).astype(float),
    }[activation]


def np_loss_and_grads(ws, X, Y, activation):
    """L = 1/(2P) ||Y - f(X)||_F^2 and dL/dW_l by backpropagation, in plain NumPy."""
    P = X.shape[0]
    hs, pre = [X], []
    for W in ws[:-1]:
        a = hs[-1] @ W.T
        pre.append(a)
        hs.append(_np_phi(a, activation))
    r = hs[-1] @ ws[-1].T - Y
    value = 0.5 * np.sum(r**2) / P
    delta = r / P
    grads = [None] * len(ws)
    for i in reversed(range(len(ws))):
        grads[i] = delta.T @ hs[i]
        if i > 0:
            delta = (delta @ ws[i]) * _np_dphi(pre[i - 1], activation)
    return value, grads


def np_gd(ws, X, Y, lr, steps, activation):
    """Plain Python loop of GD steps; records weights and loss at the given step indices."""
    ws = [w.copy() for w in ws]
    rec_w, rec_l = [], []
    k = 0
    for target in steps:
        while k < target:
            _, g = np_loss_and_grads(ws, X, Y, activation)
            ws = [w - lr * gi for w, gi in zip(ws, g, strict=True)]
            k += 1
        rec_w.append([w.copy() for w in ws])
        rec_l.append(np_loss_and_grads(ws, X, Y, activation)[0])
    return [np.stack(layer) for layer in zip(*rec_w, strict=True)], np.array(rec_l)


def make_problem(seed, P, dims, scale=0.4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((P, dims[0]))
    Y = rng.standard_normal((P, dims[-1]))
    ws = tuple(scale * rng.standard_normal((dims[i + 1], dims[i])) / np.sqrt(dims[i]) for i in range(len(dims) - 1))
    return X, Y, ws


# (name, P, layer sizes, activation). The linear nets cover the simulator's three linear paths:
# QR-compressed data with the analytic end-to-end gradient ("linear-2", "linear-3"), compressed
# data layer by layer ("linear-wideout", n_out > 2 n_in), raw data layer by layer
# ("linear-fewitems", P < n_in); tanh and relu always go layer by layer with autodiff.
NETS = [
    ("linear-2", 12, (4, 6, 3), "linear"),
    ("linear-3", 10, (5, 4, 6, 3), "linear"),
    ("linear-wideout", 12, (2, 5, 7), "linear"),
    ("linear-fewitems", 3, (6, 5, 4), "linear"),
    ("tanh-2", 12, (4, 6, 3), "tanh"),
    ("relu-3", 12, (4, 7, 5, 3), "relu"),
]


def test_nets_cover_every_linear_path():
    paths = {}
    for name, P, dims, activation in NETS:
        X, Y, ws = make_problem(1, P, dims)
        if activation != "linear":
            continue  # nonlinear nets always go layer by layer with autodiff
        Xc, _, _ = linear_net.compress(X, Y)
        paths[name] = (Xc.shape[0] < P, linear_net.use_product(Xc, ws))
    assert paths["linear-2"] == paths["linear-3"] == (True, True)
    assert paths["linear-wideout"] == (True, False)
    assert paths["linear-fewitems"] == (False, False)


@pytest.mark.parametrize(("name", "P", "dims", "activation"), NETS, ids=[n[0] for n in NETS])
def test_scan_gd_matches_numpy_loop(name, P, dims, activation):
    X, Y, ws = make_problem(1, P, dims)
    res = simulate_gd(X, Y, ws, lr=LR, t=T_GRID, activation=activation)
    steps = np.rint(T_GRID / LR).astype(int)
    np.testing.assert_array_equal(res.steps, steps)
    np.testing.assert_allclose(res.t, LR * steps, rtol=0, atol=1e-15)
    ref_w, ref_l = np_gd(ws, X, Y, LR, steps, activation)
    assert isinstance(res, GDResult) and res.method == "gd"
    for got, ref in zip(res.weights, ref_w, strict=True):
        assert got.shape == (len(T_GRID), *ref.shape[1:])
        assert np.abs(got - ref).max() < 1e-12
    assert np.abs(res.loss - ref_l).max() < 1e-12
    assert res.loss[-1] < res.loss[0]  # it learned something, so the comparison is not vacuous


@pytest.mark.parametrize(("name", "P", "dims", "activation"), NETS, ids=[n[0] for n in NETS])
def test_gradient_matches_finite_differences(name, P, dims, activation):
    X, Y, ws = make_problem(2, P, dims)
    g = loss_grad(ws, X, Y, activation)
    _, g_ref = np_loss_and_grads(ws, X, Y, activation)
    eps = 1e-6
    for i, W in enumerate(ws):
        fd = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            plus = [w.copy() for w in ws]
            minus = [w.copy() for w in ws]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            fd[idx] = (float(loss(plus, X, Y, activation)) - float(loss(minus, X, Y, activation))) / (2 * eps)
        assert np.abs(np.asarray(g[i]) - fd).max() < 1e-8
        # The NumPy reference used by the other tests is itself right.
        assert np.abs(g_ref[i] - fd).max() < 1e-8


def test_forward_and_loss_closed_form():
    X, Y, (W1, W2) = make_problem(3, 6, (3, 4, 2))
    np.testing.assert_allclose(forward((W1, W2), X), X @ W1.T @ W2.T, rtol=1e-13)
    np.testing.assert_allclose(forward((W1, W2), X, "tanh"), np.tanh(X @ W1.T) @ W2.T, rtol=1e-13)
    r = Y - X @ (W2 @ W1).T
    np.testing.assert_allclose(float(loss((W1, W2), X, Y)), 0.5 * np.mean(np.sum(r**2, axis=1)), rtol=1e-13)


def test_public_loss_composes_with_jax_transformations():
    X, Y, ws = make_problem(4, 12, (4, 6, 3))
    g_autodiff = jax.jit(jax.grad(lambda w: loss(w, X, Y, "tanh")))(ws)
    _, g_ref = np_loss_and_grads(ws, X, Y, "tanh")
    for a, b in zip(g_autodiff, g_ref, strict=True):
        assert np.abs(np.asarray(a) - b).max() < 1e-13


def test_seeds_equal_per_seed_runs():
    name, P, dims, activation = NETS[4]  # tanh: the layer-by-layer autodiff path
    X, Y, _ = make_problem(1, P, dims)
    inits = [make_problem(10 + s, P, dims)[2] for s in range(3)]
    res = simulate_gd_seeds(X, Y, stack_weights(inits), lr=LR, t=T_GRID, activation=activation)
    assert res.loss.shape == (3, len(T_GRID))
    for s, w in enumerate(inits):
        one = simulate_gd(X, Y, w, lr=LR, t=T_GRID, activation=activation)
        for got, ref in zip(res.weights, one.weights, strict=True):
            assert got.shape[:2] == (3, len(T_GRID))
            assert np.abs(got[s] - ref).max() < 1e-12
        assert np.abs(res.loss[s] - one.loss).max() < 1e-12


def test_seeds_linear_path_equal_numpy_loop():
    _, P, dims, _ = NETS[0]
    X, Y, _ = make_problem(1, P, dims)
    inits = [make_problem(20 + s, P, dims)[2] for s in range(2)]
    res = simulate_gd_seeds(X, Y, stack_weights(inits), lr=LR, t=T_GRID)
    steps = np.rint(T_GRID / LR).astype(int)
    for s, w in enumerate(inits):
        ref_w, ref_l = np_gd(w, X, Y, LR, steps, "linear")
        for got, ref in zip(res.weights, ref_w, strict=True):
            assert np.abs(got[s] - ref).max() < 1e-12
        assert np.abs(res.loss[s] - ref_l).max() < 1e-12


# ---------------------------------------------------------------------------------------------
# Gradient flow: RK4 against scipy's DOP853 on the two-layer equations dW1/dt = W2^T E, dW2/dt = E W1^T,
# E = Sigma_yx - W2 W1 Sigma_xx (written out in rhs below).

N_I, N_H, N_O, P_FLOW = 3, 4, 2, 8
T_FLOW = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 6.0, 8.0])


@pytest.fixture(scope="module")
def flow_problem():
    X, Y, ws = make_problem(1, P_FLOW, (N_I, N_H, N_O), scale=0.5)
    Sxx, Syx = X.T @ X / P_FLOW, Y.T @ X / P_FLOW

    def rhs(_, y):
        W1 = y[: N_H * N_I].reshape(N_H, N_I)
        W2 = y[N_H * N_I :].reshape(N_O, N_H)
        E = Syx - W2 @ W1 @ Sxx
        return np.concatenate([(W2.T @ E).ravel(), (E @ W1.T).ravel()])

    y0 = np.concatenate([w.ravel() for w in ws])
    sol = solve_ivp(rhs, (0.0, T_FLOW[-1]), y0, method="DOP853", rtol=1e-12, atol=1e-12, t_eval=T_FLOW)
    assert sol.success
    W1 = sol.y[: N_H * N_I].T.reshape(-1, N_H, N_I)
    W2 = sol.y[N_H * N_I :].T.reshape(-1, N_O, N_H)
    return X, Y, ws, (W1, W2)


def _max_err(weights, ref):
    return max(np.abs(a - b).max() for a, b in zip(weights, ref, strict=True))


def test_rk4_matches_dop853_with_fourth_order(flow_problem):
    X, Y, ws, ref = flow_problem
    res = gradient_flow_rk4(X, Y, ws, t=T_FLOW, dt=1e-2)
    assert res.method == "rk4" and res.steps[-1] == 800
    assert _max_err(res.weights, ref) < 1e-9  # observed ~1e-12
    # Order: measured above the reference's own error floor (~1e-12).
    e_coarse = _max_err(gradient_flow_rk4(X, Y, ws, t=T_FLOW, dt=0.05).weights, ref)
    e_fine = _max_err(gradient_flow_rk4(X, Y, ws, t=T_FLOW, dt=0.025).weights, ref)
    assert e_fine > 1e-11
    assert 10 <= e_coarse / e_fine <= 22  # observed ~16


def test_gd_converges_to_gradient_flow_at_first_order(flow_problem):
    X, Y, ws, (W1, W2) = flow_problem
    ref = W2 @ W1
    errs = []
    for lr in (0.02, 0.01):
        res = simulate_gd(X, Y, ws, lr=lr, t=T_FLOW)
        errs.append(np.abs(res.weights[1] @ res.weights[0] - ref).max())
    assert errs[1] < 1e-2
    assert 1.8 <= errs[0] / errs[1] <= 2.2  # observed ~2.0


def _conserved(res):
    W1, W2 = res.weights
    return np.swapaxes(W2, -1, -2) @ W2 - W1 @ np.swapaxes(W1, -1, -2)


def test_conservation_rk4_exact_and_gd_drift_linear_in_lr(flow_problem):
    X, Y, ws, _ = flow_problem
    t = linear_times(10.0, 11)
    c = _conserved(gradient_flow_rk4(X, Y, ws, t=t, dt=1e-3))
    assert np.abs(c - c[0]).max() < 1e-10  # W2^T W2 - W1 W1^T is conserved by gradient flow
    drifts = []
    for lr in (0.02, 0.01):
        c = _conserved(simulate_gd(X, Y, ws, lr=lr, t=t))
        drifts.append(np.abs(c - c[0]).max())
    assert drifts[1] > 1e-6  # GD really drifts, so the ratio is meaningful
    assert 1.8 <= drifts[0] / drifts[1] <= 2.2


# ---------------------------------------------------------------------------------------------
# Divergence


def _large_task():
    rng = np.random.default_rng(5)
    X = np.linalg.qr(rng.standard_normal((8, 3)))[0] * np.sqrt(8)  # whitened: Sxx = I
    Y = X @ (5.0 * np.eye(3))[:2].T  # singular values s = 5
    ws = (0.1 * rng.standard_normal((4, 3)), 0.1 * rng.standard_normal((2, 4)))
    return X, Y, ws


def _np_first_bad_step(ws, X, Y, lr, n_steps):
    ws = [w.copy() for w in ws]
    with np.errstate(all="ignore"):
        thr = train.DIVERGENCE_FACTOR * (np_loss_and_grads(ws, X, Y, "linear")[0] + 1)
        for k in range(n_steps + 1):
            value, g = np_loss_and_grads(ws, X, Y, "linear")
            if not np.isfinite(value) or value > thr:
                return k
            ws = [w - lr * gi for w, gi in zip(ws, g, strict=True)]
    return None


def test_divergence_raises_with_step_and_hint():
    X, Y, ws = _large_task()
    expected = _np_first_bad_step(ws, X, Y, 10.0, 1000)
    assert expected is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings on the way
        with pytest.raises(DivergenceError, match=rf"at step {expected} \(t = ") as info:
            simulate_gd(X, Y, ws, lr=10.0, t=linear_times(10_000.0, 5))
    err = info.value
    assert isinstance(err, FloatingPointError)
    assert err.step == expected and err.time == pytest.approx(10.0 * expected)
    assert "lr=10.0 is too large" in str(err)
    # Hint from the Hessian scale: 2 / (2 s) = 0.2 for a two-layer net on a whitened task.
    assert 0.1 <= err.suggested_lr <= 0.2
    assert simulate_gd(X, Y, ws, lr=0.5 * err.suggested_lr, t=[0.0, 20.0]).loss[-1] < 1e-6


def test_divergence_in_one_seed_names_the_seed():
    X, Y, ws = _large_task()
    big = tuple(30.0 * w for w in ws)
    with pytest.raises(DivergenceError, match=r"in seed 1 \(of 3\) at step \d+") as info:
        simulate_gd_seeds(X, Y, stack_weights([ws, big, ws]), lr=0.05, t=[0.0, 5.0])
    assert info.value.seed == 1


def test_rk4_divergence_is_reported():
    X, Y, ws = _large_task()
    with pytest.raises(DivergenceError, match=r"RK4 gradient flow diverged at step \d+.*dt=5.0"):
        gradient_flow_rk4(X, Y, ws, t=[0.0, 500.0], dt=5.0)


# ---------------------------------------------------------------------------------------------
# Time grids


def test_time_grids():
    np.testing.assert_allclose(linear_times(2.0, 5), [0.0, 0.5, 1.0, 1.5, 2.0])
    t = log_times(0.01, 100.0, 5)
    np.testing.assert_allclose(t, [0.0, 0.01, 0.1, 1.0, 10.0, 100.0])
    assert log_times(0.01, 100.0, 5, include_zero=False)[0] == 0.01
    # Log grid below lr: early times round to the same step and records repeat.
    X, Y, ws = make_problem(1, 12, (4, 6, 3))
    res = simulate_gd(X, Y, ws, lr=0.1, t=log_times(0.001, 1.0, 4))
    np.testing.assert_array_equal(res.steps, [0, 0, 0, 1, 10])
    assert np.array_equal(res.weights[0][0], ws[0]) and np.array_equal(res.weights[0][2], ws[0])


# ---------------------------------------------------------------------------------------------
# Bad input


def _bad_cases():
    X, Y, (W1, W2) = make_problem(1, 12, (4, 6, 3))
    X_nan = X.copy()
    X_nan[2, 1] = np.nan
    ok = dict(lr=0.1, t=[0.0, 1.0])
    return [
        ("rows", lambda: simulate_gd(X, Y[:5], (W1, W2), **ok), ValueError, "same number of items"),
        (
            "chain",
            lambda: simulate_gd(X, Y, (W1, W2[:, :5]), **ok),
            ValueError,
            r"weights\[1\] \(W2\) has shape \(3, 5\), so it takes 5 inputs.*6 outputs of weights\[0\]",
        ),
        ("input", lambda: simulate_gd(X[:, :3], Y, (W1, W2), **ok), ValueError, r"input features X.shape\[1\] = 3"),
        ("output", lambda: simulate_gd(X, Y[:, :2], (W1, W2), **ok), ValueError, "Y has 2 columns"),
        (
            "lr0",
            lambda: simulate_gd(X, Y, (W1, W2), lr=0.0, t=[1.0]),
            ValueError,
            "lr must be a finite number > 0; got 0.0",
        ),
        ("lrneg", lambda: simulate_gd(X, Y, (W1, W2), lr=-1, t=[1.0]), ValueError, "lr must be .*got -1"),
        ("lrstr", lambda: simulate_gd(X, Y, (W1, W2), lr="0.1", t=[1.0]), TypeError, "lr must be a real number"),
        ("nan", lambda: simulate_gd(X_nan, Y, (W1, W2), **ok), ValueError, r"X contains 1 non-finite.*\(2, 1\)"),
        ("inf-w", lambda: simulate_gd(X, Y, (W1, W2 * np.inf), **ok), ValueError, r"weights\[1\] \(W2\) contains"),
        (
            "act",
            lambda: simulate_gd(X, Y, (W1, W2), activation="sigmoid", **ok),
            ValueError,
            "activation must be one of",
        ),
        ("t-order", lambda: simulate_gd(X, Y, (W1, W2), lr=0.1, t=[0.0, 2.0, 1.0]), ValueError, "non-decreasing"),
        ("t-neg", lambda: simulate_gd(X, Y, (W1, W2), lr=0.1, t=[-1.0]), ValueError, "t must be >= 0"),
        (
            "rk4-grid",
            lambda: gradient_flow_rk4(X, Y, (W1, W2), t=[0.0, 0.25], dt=0.1),
            ValueError,
            "multiples of dt=0.1",
        ),
        ("dt0", lambda: gradient_flow_rk4(X, Y, (W1, W2), t=[0.0], dt=0), ValueError, "dt must be"),
        ("array", lambda: simulate_gd(X, Y, W1, **ok), TypeError, r"wrap a single layer as \(W,\)"),
        ("empty", lambda: simulate_gd(X, Y, (), **ok), ValueError, "at least one layer"),
        ("3d", lambda: simulate_gd(X, Y, (W1[None], W2), **ok), ValueError, r"weights\[0\] \(W1\) must be 2-D"),
        ("x1d", lambda: loss((W1, W2), X[0], Y), ValueError, r"X must be 2-D; got shape \(4,\)"),
        ("xtype", lambda: forward((W1, W2), "abc"), TypeError, "X must be a real 2-D array"),
        (
            "seeds-unstacked",
            lambda: simulate_gd_seeds(X, Y, [(W1, W2), (W1, W2)], **ok),
            TypeError,
            "stack_weights",
        ),
        ("seeds-2d", lambda: simulate_gd_seeds(X, Y, (W1, W2), **ok), ValueError, "must be 3-D"),
        (
            "seeds-axis",
            lambda: simulate_gd_seeds(X, Y, (np.stack([W1, W1]), np.stack([W2] * 3)), **ok),
            ValueError,
            "has 3 seeds",
        ),
        (
            "stack-shapes",
            lambda: stack_weights([(W1, W2), (W1, W2[:, :5])]),
            ValueError,
            r"weight_tuples\[1\]\[1\] \(W2\) has shape \(3, 5\), so it takes 5 inputs",
        ),
        (
            "stack-width",
            lambda: stack_weights([(W1, W2), (W1[:5], W2[:, :5])]),
            ValueError,
            r"weight_tuples\[1\]\[0\] \(W1\) has shape \(5, 4\) but weight_tuples\[0\]\[0\] has \(6, 4\)",
        ),
        ("stack-empty", lambda: stack_weights([]), ValueError, "at least one seed"),
        ("stack-depth", lambda: stack_weights([(W1, W2), (W1,)]), ValueError, "tuple of 2 layers"),
        ("log", lambda: log_times(1.0, 0.1, 3), ValueError, "t_max must be >= t_min"),
        ("lin", lambda: linear_times(1.0, 0), ValueError, "n must be a positive integer"),
    ]


@pytest.mark.parametrize(("name", "call", "exc", "pattern"), _bad_cases(), ids=[c[0] for c in _bad_cases()])
def test_bad_input_raises_clear_error(name, call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_stack_weights_layout():
    inits = [make_problem(s, 5, (3, 4, 2))[2] for s in range(4)]
    W1, W2 = stack_weights(inits)
    assert W1.shape == (4, 4, 3) and W2.shape == (4, 2, 4)
    assert np.array_equal(W2[3], inits[3][1])


def test_divergence_error_message_mentions_threshold_or_nonfinite():
    X, Y, ws = _large_task()
    with pytest.raises(DivergenceError) as info:
        simulate_gd(X, Y, ws, lr=10.0, t=[0.0, 1000.0])
    msg = str(info.value)
    assert re.search(r"loss = (nan|inf|[0-9.e+]+ > 1e\+06 x \(initial loss \+ 1\))", msg)
