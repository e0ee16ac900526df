"""Tests for learndyn.theory.routing: the closed-form routing solution (spec gated_dln.md §2.4, AC1-AC3).

References are independent of the code under test: scipy's ``solve_ivp`` (DOP853, rtol 1e-12) on the
three-variable ODE written out here, ``numpy.roots`` for the fixed-point cubic, full-batch GD on the routing network's
matrices (written out here) for the discrete map, the spec's measured numbers, and
:func:`learndyn.theory.modes.deep_mode` only where the small-init limit is claimed to equal it.

Measured (this machine): ``modes`` vs the ODE <= 2e-11 relative; AC2 half-learning steps 79/161/337/337 (map) and
76/159/335/335 (ODE, ``ceil(t / (3.5 eta))``; rounding gives 75/158/334/334); AC1 loss gaps 0.3951, 0.1163, 0.0296.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp

from learndyn.theory import routing

M7, K4, P4, NO7 = 7, 4, 4, 7
B0 = 0.08


def _task_s():
    Y = np.array(
        [[6, 4, 0, 3, 0, 0, 0], [6, 4, 0, 0, 3, 0, 0], [6, 0, 4, 0, 0, 3, 0], [6, 0, 4, 0, 0, 0, 3]], dtype=np.float64
    )
    X = np.eye(4)
    return np.linalg.svd(Y.T @ X, compute_uv=False), X, Y


S_TASK = _task_s()[0]


def _rhs(M, K, s):
    """The three-variable routing ODE of spec §2.4 (tau = 1) for one mode."""

    def rhs(_, y):
        b1, b2, b3 = y
        r = s - b1 * b2 * b3
        return [K / M**2 * b2 * b3 * r, K / M * b1 * b3 * r, K / M**2 * b1 * b2 * r]

    return rhs


def _ode(s, M, K, b1_0, b2_0, b3_0, t):
    """``solve_ivp`` of the routing ODE per mode at times ``t``: array (3, T, modes)."""
    out = []
    for si in np.atleast_1d(s):
        sol = solve_ivp(
            _rhs(M, K, si), (0.0, t[-1]), [b1_0, b2_0, b3_0], method="DOP853", t_eval=t, rtol=1e-12, atol=1e-16
        )
        assert sol.success, sol.message
        out.append(sol.y)
    return np.stack(out, axis=-1)


def _event_time(s, M, K, b1_0, b2_0, event, t_max):
    """First time ``event(y) = 0`` along the routing ODE (``solve_ivp`` event location)."""
    sol = solve_ivp(
        _rhs(M, K, s), (0.0, t_max), [b1_0, b2_0, b1_0], method="DOP853", rtol=1e-12, atol=1e-16,
        events=lambda _, y: event(y),
    )  # fmt: skip
    assert sol.success and sol.t_events[0].size, sol.message
    return float(sol.t_events[0][0])


# ------------------------------------------------------------------------------------------
# the task and the fixed point (AC3)
# ------------------------------------------------------------------------------------------


def test_task_singular_values():
    np.testing.assert_allclose(S_TASK, [13.601, 6.403, 3.0, 3.0], atol=5e-4)
    np.testing.assert_allclose(S_TASK**2, [185.0, 41.0, 9.0, 9.0], rtol=1e-13)


def test_fixed_point_ac3_numbers():
    fp = routing.fixed_point(S_TASK, M7, (M7 - 1) * B0**2)
    np.testing.assert_allclose(fp.b2, [4.5635, 3.5486, 2.7543, 2.7543], atol=1e-3 * 0.1)
    np.testing.assert_allclose(fp.b1, [1.7264, 1.3433, 1.0437, 1.0437], atol=1e-3 * 0.1)
    np.testing.assert_array_equal(fp.b3, fp.b1)
    # a = b1 b2 b3 = s at the fixed point, and the shared edge is sqrt(M) larger for small c0
    np.testing.assert_allclose(fp.b1 * fp.b2 * fp.b3, S_TASK, rtol=1e-14)
    small = routing.fixed_point(S_TASK, M7, 1e-14)
    np.testing.assert_allclose(small.b2 / small.b1, np.sqrt(M7), rtol=1e-12)


@pytest.mark.parametrize("c0", [0.0, 0.0384, 5.0, 1e3, -0.5, -3.0, -40.0, 1e-300, -1e-300])
def test_fixed_point_is_the_largest_real_root(c0):
    s = np.array([0.0, 1e-9, 0.3, 3.0, 13.6, 1e4])
    b2 = routing.fixed_point(s, 5, c0).b2
    for si, bi in zip(s, b2, strict=True):
        roots = np.roots([1.0, 0.0, c0, -5 * si])
        real = roots[np.abs(roots.imag) <= 1e-7 * max(1.0, np.abs(roots).max())].real
        ref = real.max()
        assert abs(bi - ref) <= 1e-8 * max(1.0, abs(ref)), (si, c0, bi, ref)
        assert bi * bi + c0 >= -1e-12 * max(1.0, abs(c0))  # on the branch where b1^2 >= 0
        assert abs(bi * (bi * bi + c0) - 5 * si) <= 1e-13 * max(5 * si, abs(c0) * bi, bi**3, 1e-300)


# ------------------------------------------------------------------------------------------
# modes against the three-variable ODE
# ------------------------------------------------------------------------------------------

CASES = [
    # (M, K, s, b1_0, b2_0, t_end)
    (M7, K4, S_TASK, B0, B0, 60.0),  # the spec routing values
    (3, 2, np.array([2.0, 0.5]), 1e-3, 1e-3, 2500.0),  # small equal start, long plateau
    (5, 5, np.array([1.0, 4.0]), 0.3, 1.5, 40.0),  # c0 = 5 * 0.09 - 2.25 < 0
    (4, 1, np.array([3.0]), 0.5, -0.6, 80.0),  # negative shared edge, c0 > 0
    (1, 1, np.array([2.0]), 0.01, 0.0, 300.0),  # one domain, b2_0 = 0
]


@pytest.mark.parametrize("M, K, s, b1_0, b2_0, t_end", CASES)
def test_modes_match_three_variable_ode(M, K, s, b1_0, b2_0, t_end):
    t = np.linspace(0.0, t_end, 301)
    m = routing.modes(s, M, K, t, b1_0=b1_0, b2_0=b2_0)
    ref = _ode(s, M, K, b1_0, b2_0, b1_0, t)
    for name, got, want in (("b1", m.b1, ref[0]), ("b2", m.b2, ref[1]), ("b3", m.b3, ref[2])):
        err = np.abs(got - want).max() / np.abs(want).max()
        assert err < 1e-8, (name, err)
    np.testing.assert_allclose(m.a, ref[0] * ref[1] * ref[2], rtol=0, atol=1e-8 * s.max())
    assert m.b2[0].tolist() == np.broadcast_to(b2_0, s.shape).tolist()  # exact start


def test_modes_b0_equals_explicit_pair_and_broadcasts():
    t = [0.0, 2.0, 9.0]
    a = routing.modes(S_TASK, M7, K4, t, b0=B0)
    b = routing.modes(S_TASK, M7, K4, t, b1_0=B0, b2_0=B0)
    np.testing.assert_array_equal(a.b2, b.b2)
    two_d = routing.modes(S_TASK.reshape(2, 2), M7, K4, t, b0=np.array([[B0], [0.1]]))
    assert two_d.a.shape == (3, 2, 2)
    np.testing.assert_allclose(two_d.a[:, 0, :], a.a[:, :2], rtol=1e-14)
    assert routing.modes(3.0, M7, K4, 1.0, b0=B0).a.shape == (1,)


@pytest.mark.parametrize("M, K, s, b1_0, b2_0, t_end", CASES[:4])
def test_time_of_against_ode_crossing_and_direct_quadrature(M, K, s, b1_0, b2_0, t_end):
    si = float(np.atleast_1d(s)[0])
    bstar = routing.fixed_point(si, M, M * b1_0**2 - b2_0**2).b2
    levels = b2_0 + (bstar - b2_0) * np.array([0.1, 0.5, 0.9, 0.999, 1 - 1e-9])
    t = routing.time_of(levels, si, M, K, b1_0=b1_0, b2_0=b2_0)
    # ODE: the time b2 crosses each level (event location; ill-conditioned right at the fixed point, so not the last)
    for level, ti in zip(levels[:-1], t[:-1], strict=True):
        ref = _event_time(si, M, K, b1_0, b2_0, lambda y, lv=level: y[1] - lv, 1.2 * ti + 1.0)
        assert abs(ref / ti - 1) < 1e-8, (level, ref, ti)
    # far from the pole the raw integrand of spec §2.4 is smooth: direct quad of it
    c0 = M * b1_0**2 - b2_0**2
    direct = (
        M**2
        / K
        * quad(lambda x: 1 / ((x * x + c0) * (si - x * (x * x + c0) / M)), b2_0, levels[1], epsabs=0, epsrel=1e-13)[0]
    )
    assert abs(t[1] / direct - 1) < 1e-11
    # modes inverts time_of
    m = routing.modes(si, M, K, t[:-1], b1_0=b1_0, b2_0=b2_0)
    np.testing.assert_allclose(m.b2, levels[:-1], rtol=1e-11)
    assert routing.time_of(bstar, si, M, K, b1_0=b1_0, b2_0=b2_0) == np.inf
    assert routing.time_of(b2_0, si, M, K, b1_0=b1_0, b2_0=b2_0, tau=3.0) == 0.0
    np.testing.assert_allclose(routing.time_of(levels[:3], si, M, K, b1_0=b1_0, b2_0=b2_0, tau=2.5), 2.5 * t[:3])


# ------------------------------------------------------------------------------------------
# long times, monotonicity, the exponential tail
# ------------------------------------------------------------------------------------------


def test_large_times_reach_the_fixed_point_and_stay_monotone():
    fp = routing.fixed_point(S_TASK, M7, (M7 - 1) * B0**2)
    t = np.concatenate((np.linspace(0.0, 40.0, 4001), [1e3, 1e6, 1e12]))
    m = routing.modes(S_TASK, M7, K4, t, b0=B0)
    for arr in m:
        assert np.isfinite(arr).all()
        assert (np.diff(arr, axis=0) >= 0).all()  # growth only, no seam between the branches
    for got, want in ((m.b2, fp.b2), (m.b1, fp.b1), (m.b3, fp.b3), (m.a, S_TASK)):
        np.testing.assert_allclose(got[-2:], np.broadcast_to(want, (2, 4)), rtol=1e-12, atol=0)


def test_exponential_approach_at_the_linear_rate():
    # d = b2* - b2 decays as exp(-lam t), lam = K (b2*^2 + c0)(3 b2*^2 + c0) / (tau M^3): fit it where 1e-10 < d < 1e-4
    c0 = (M7 - 1) * B0**2
    fp = routing.fixed_point(S_TASK[:2], M7, c0)
    lam = K4 * (fp.b2**2 + c0) * (3 * fp.b2**2 + c0) / M7**3
    for k in range(2):
        t = np.linspace(0.0, 60.0, 6001)
        d = fp.b2[k] - routing.modes(S_TASK[k], M7, K4, t, b0=B0, tau=2.0).b2
        win = (d > 1e-10) & (d < 1e-4)
        assert win.sum() > 50
        slope = np.polyfit(t[win], np.log(d[win]), 1)[0]
        assert abs(-slope / (lam[k] / 2.0) - 1) < 1e-5


# ------------------------------------------------------------------------------------------
# the hyperbolic form [derived]
# ------------------------------------------------------------------------------------------


def test_hyperbolic_form_solves_the_theta_ode():
    c0 = (M7 - 1) * B0**2
    t = np.linspace(0.5, 20.0, 40)
    h = 1e-4
    m = routing.modes(S_TASK, M7, K4, np.sort(np.concatenate((t - h, t, t + h))), b0=B0)
    theta = routing.theta_of(m.b2, c0).reshape(40, 3, 4)
    fd = (theta[:, 2] - theta[:, 0]) / (2 * h)  # central difference of theta(t) from the exact b2(t)
    rate = routing.theta_rate(theta[:, 1], S_TASK, M7, K4, c0)
    err = np.abs(rate - fd).max() / np.abs(fd).max()
    assert err < 1e-6
    # the reference notebook's sinh^2 - 1 in place of cosh^2 is visibly wrong
    ch, sh = np.cosh(theta[:, 1] / 2), np.sinh(theta[:, 1] / 2)
    slip = 2 * np.sqrt(c0) * K4 / M7**2 * ch * (S_TASK - c0**1.5 / M7 * sh * (sh * sh - 1))
    assert np.abs(slip - fd).max() / np.abs(fd).max() > 1e3 * err
    # tau scales the rate
    np.testing.assert_allclose(routing.theta_rate(theta[:, 1], S_TASK, M7, K4, c0, tau=4.0), rate / 4.0, rtol=1e-15)


def test_hyperbolic_parametrisation_equals_modes():
    c0 = (M7 - 1) * B0**2
    m = routing.modes(S_TASK, M7, K4, np.linspace(0.0, 30.0, 61), b0=B0)
    b1, b2 = routing.hyperbolic(routing.theta_of(m.b2, c0), c0, M7)
    np.testing.assert_allclose(b2, m.b2, rtol=1e-13)
    np.testing.assert_allclose(b1, m.b1, rtol=1e-13)
    np.testing.assert_allclose(M7 * m.b1**2 - m.b2**2, c0, rtol=1e-11)  # the conservation law
    assert routing.theta_of(0.0, c0) == 0.0
    np.testing.assert_allclose(routing.hyperbolic(0.0, c0, M7), (np.sqrt(c0 / M7), 0.0))


# ------------------------------------------------------------------------------------------
# small initialisation [derived]
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("b1_0, t_end", [(1e-3, 3000.0), (0.05, 200.0)])
def test_balanced_start_is_the_small_init_law(b1_0, t_end):
    # c0 = 0: b2_0 = sqrt(M) b1_0 makes the exact flow the depth-3 law at tau_eff = M^{5/3}/K (measured <= 4e-11)
    t = np.linspace(0.0, t_end, 801)
    b2_0 = np.sqrt(M7) * b1_0
    m = routing.modes(S_TASK, M7, K4, t, b1_0=b1_0, b2_0=b2_0)
    law = routing.small_init_limit(S_TASK, M7, K4, b1_0**2 * b2_0, t)
    assert np.abs(m.a - law).max() / S_TASK.max() < 1e-9
    np.testing.assert_allclose(m.b2, np.cbrt(M7 * m.a), rtol=1e-12)


@pytest.mark.parametrize("b0, tol", [(1e-2, 2e-8), (1e-3, 1e-11)])
def test_equal_small_start_approaches_the_small_init_law_late(b0, tol):
    # Equal b0: c0 = (M - 1) b0^2 > 0. Early the exact rate is (M + 2)/(3 M^{1/3}) = 1.568 times the law's; once
    # b2^2 >> c0 it is the law. Restarted from the exact a at a = s/10, the law then follows the exact a
    # (measured 4.6e-9 for b0 = 1e-2, 9e-13 for b0 = 1e-3).
    t_half = routing.half_learning_time(S_TASK, M7, K4, b0=b0)
    t = np.linspace(0.0, 3 * t_half.max(), 3001)
    a = routing.modes(S_TASK, M7, K4, t, b0=b0).a
    h = 1e-6 * t_half.min()
    a_h = routing.modes(S_TASK, M7, K4, [0.0, h], b0=b0).a
    early_rate = (a_h[1] - a_h[0]) / h
    law_rate = 3 * K4 * M7 ** (-5 / 3) * b0**4 * (S_TASK - b0**3)
    np.testing.assert_allclose(early_rate / law_rate, (M7 + 2) / (3 * M7 ** (1 / 3)), rtol=1e-4)
    for k in range(4):
        i1 = int(np.argmax(a[:, k] >= S_TASK[k] / 10))
        law = routing.small_init_limit(S_TASK[k], M7, K4, a[i1, k], t[i1:] - t[i1])
        assert np.abs(law - a[i1:, k]).max() / S_TASK[k] < tol


# ------------------------------------------------------------------------------------------
# the reference code's normalisation: discrete map, time map, AC1/AC2
# ------------------------------------------------------------------------------------------


def _full_gd(eta, steps, b0, width=6):
    """Full-batch GD on the routing network's matrices with the reference loss (spec §2.4), from a decoupled start."""
    s, X, Y = _task_s()
    U, sv, Vt = np.linalg.svd(Y.T @ X)  # Y^T X = U diag(sv) V^T, U (7, 4)
    U = U[:, :4]
    rng = np.random.default_rng(0)
    R1 = np.linalg.qr(rng.normal(size=(width, width)))[0][:, :4]
    R2 = np.linalg.qr(rng.normal(size=(width, width)))[0][:, :4]
    B = b0 * np.eye(4)
    W1 = [R1 @ B @ Vt for _ in range(M7)]
    W2 = R2 @ B @ R1.T
    W3 = [U @ B @ R2.T for _ in range(M7)]
    pairs = [(i, (i + d) % M7) for i in range(M7) for d in (-1, 0, 1, 2)]  # gate 4_plus_minus_mod
    c = 2.0 / (P4 * NO7)
    history = []
    for _ in range(steps + 1):
        history.append(
            (
                np.linalg.svd(W1[0], compute_uv=False)[:4],
                np.linalg.svd(W2, compute_uv=False)[:4],
                np.linalg.svd(W3[0], compute_uv=False)[:4],
                sum(np.sum((W3[j] @ W2 @ W1[i] @ X.T - Y.T) ** 2) for i, j in pairs) / (P4 * NO7),
            )
        )
        g1 = [np.zeros_like(w) for w in W1]
        g3 = [np.zeros_like(w) for w in W3]
        g2 = np.zeros_like(W2)
        for i, j in pairs:
            E = W3[j] @ W2 @ W1[i] @ X.T - Y.T
            g3[j] += c * E @ (W2 @ W1[i] @ X.T).T
            g2 += c * W3[j].T @ E @ (W1[i] @ X.T).T
            g1[i] += c * (W3[j] @ W2).T @ E @ X
        W1 = [w - eta * g for w, g in zip(W1, g1, strict=True)]
        W3 = [w - eta * g for w, g in zip(W3, g3, strict=True)]
        W2 = W2 - eta * g2
    return s, history


def test_reference_map_is_full_gd_on_the_routing_network():
    s, hist = _full_gd(0.02, 40, B0)
    r = routing.reference_map(s, M7, K4, P4, NO7, 0.02, 40, b0=B0)
    for k in (0, 1, 10, 40):
        sv1, sv2, sv3, loss = hist[k]
        np.testing.assert_allclose(np.sort(r.b1[k])[::-1], sv1, rtol=1e-12)
        np.testing.assert_allclose(np.sort(r.b2[k])[::-1], sv2, rtol=1e-12)
        np.testing.assert_allclose(np.sort(r.b3[k])[::-1], sv3, rtol=1e-12)
        assert abs(r.loss[k] - loss) <= 1e-12 * hist[0][3]
    assert r.a.shape == (41, 4) and r.loss.shape == (41,)


def test_reference_time_is_the_euler_step_of_the_ode():
    assert routing.reference_time(500, 0.02, M7, P4, NO7) == pytest.approx(35.0, rel=1e-15)
    np.testing.assert_allclose(routing.reference_time(np.arange(3), 0.01, 2, 3, 5), np.arange(3) * 0.01 * 8 / 15)
    # one map step = one Euler step of the ODE of length reference_time(1, ...)
    for M, K, P, n_out, eta in ((M7, K4, P4, NO7, 0.02), (5, 2, 3, 11, 0.3)):
        b1, b2, s = 0.4, 0.9, np.array([2.0])
        dt = routing.reference_time(1, eta, M, P, n_out)
        r = 2.0 - b1 * b2 * b1
        one = routing.reference_map(s, M, K, P, n_out, eta, 1, b1_0=b1, b2_0=b2)
        np.testing.assert_allclose(one.b1[1], b1 + dt * K / M**2 * b2 * b1 * r, rtol=1e-15)
        np.testing.assert_allclose(one.b2[1], b2 + dt * K / M * b1 * b1 * r, rtol=1e-15)
        np.testing.assert_allclose(one.b3[1], one.b1[1], rtol=0)


def test_ac2_half_learning_steps_map_and_ode():
    eta = 0.02
    r = routing.reference_map(S_TASK, M7, K4, P4, NO7, eta, 500, b0=B0)
    assert routing.half_learning_steps(r.a, S_TASK).tolist() == [79, 161, 337, 337]
    step = routing.reference_time(1, eta, M7, P4, NO7)  # 3.5 eta
    t_half = routing.half_learning_time(S_TASK, M7, K4, b0=B0)
    np.testing.assert_allclose(t_half / step, [75.288, 158.469, 334.194, 334.194], atol=1e-3)
    # the spec's ODE numbers are the first recorded step with a >= s/2, i.e. ceil(t / step), not round
    assert np.ceil(t_half / step).astype(int).tolist() == [76, 159, 335, 335]
    assert np.round(t_half / step).astype(int).tolist() == [75, 158, 334, 334]
    m = routing.modes(S_TASK, M7, K4, routing.reference_time(np.arange(501), eta, M7, P4, NO7), b0=B0)
    assert routing.half_learning_steps(m.a, S_TASK).tolist() == [76, 159, 335, 335]
    # independent: the ODE event time for a = s/2
    for k in (0, 2):
        ref = _event_time(S_TASK[k], M7, K4, B0, B0, lambda y, sk=S_TASK[k]: y[0] * y[1] * y[2] - sk / 2, 100.0)
        assert abs(ref / t_half[k] - 1) < 1e-9
    # AC3 after 500 epochs of the map: b2 near the ODE fixed point (spec: measured b2 = 4.5641), loss converged
    np.testing.assert_allclose(r.b2[-1], [4.5635, 3.5486, 2.7543, 2.7543], atol=1e-3)
    np.testing.assert_allclose(r.b1[-1], [1.7264, 1.3433, 1.0437, 1.0437], atol=1e-3)
    assert r.b2[-1, 0] == pytest.approx(4.5641, abs=1e-4)
    assert r.loss[-1] <= 1e-10


def test_ac1_map_loss_approaches_ode_loss_at_order_eta():
    gaps = []
    for eta in (0.02, 0.005, 0.00125):
        steps = int(round(10.0 / eta))  # the same horizon as 500 steps at eta = 0.02 (t = 35)
        r = routing.reference_map(S_TASK, M7, K4, P4, NO7, eta, steps, b0=B0)
        t = routing.reference_time(np.arange(steps + 1), eta, M7, P4, NO7)
        a_ode = routing.modes(S_TASK, M7, K4, t, b0=B0).a
        loss_ode = M7 * K4 / (P4 * NO7) * ((S_TASK - a_ode) ** 2).sum(axis=1)
        gaps.append(np.abs(r.loss - loss_ode).max() / loss_ode[0])
    np.testing.assert_allclose(gaps, [0.395, 0.116, 0.030], atol=5e-3)
    assert gaps[2] <= 0.05
    assert 3.0 < gaps[0] / gaps[1] < 5.0 and 3.5 < gaps[1] / gaps[2] < 4.5
    # the ODE loss from modes is the ODE's: check the last grid against solve_ivp
    ref = _ode(S_TASK, M7, K4, B0, B0, B0, t[::400])
    loss_ref = M7 * K4 / (P4 * NO7) * ((S_TASK - ref[0] * ref[1] * ref[2]) ** 2).sum(axis=1)
    assert np.abs(loss_ode[::400] - loss_ref).max() <= 1e-9 * loss_ode[0]


def test_half_learning_steps_helper():
    a = np.array([[0.0, 0.0], [0.6, 0.2], [0.9, 0.6]])
    assert routing.half_learning_steps(a, 1.0).tolist() == [1, 2]
    assert routing.half_learning_steps(a, [1.0, 2.0], fraction=0.5).tolist() == [1, -1]
    assert routing.half_learning_time(S_TASK[0], M7, K4, b1_0=1.5, b2_0=3.5) == 0.0  # a0 = 7.875 > s/2


# ------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------

T = [0.0, 1.0]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: routing.modes([1.0, -1.0], 7, 4, T, b0=0.1), r"^s must be >= 0.*-1\.0.*index \(1,\)"),
        (lambda: routing.modes(1.0, 0, 1, T, b0=0.1), r"^M must be a positive integer; got 0"),
        (lambda: routing.modes(1.0, 7, 0, T, b0=0.1), r"^K must be a positive integer; got 0"),
        (lambda: routing.modes(1.0, 7, 8, T, b0=0.1), r"^K must be <= M = 7.*got K=8"),
        (lambda: routing.modes(1.0, 7.5, 4, T, b0=0.1), r"^M must be a positive integer"),
        (lambda: routing.modes(1.0, 7, 4, T, b0=0.0), r"^b0 must be > 0.*got .*0\.0"),
        (lambda: routing.modes(1.0, 7, 4, T, b0=-0.1), r"^b0 must be > 0"),
        (lambda: routing.modes(1.0, 7, 4, T), r"give the initial strengths"),
        (lambda: routing.modes(1.0, 7, 4, T, b0=0.1, b1_0=0.1), r"give either b0 .* not both"),
        (lambda: routing.modes(1.0, 7, 4, T, b1_0=0.1), r"give the initial strengths"),
        (lambda: routing.modes(1.0, 7, 4, T, b1_0=0.0, b2_0=0.1), r"^b1_0 must be > 0"),
        (lambda: routing.modes(1.0, 7, 4, T, b0=2.0), r"^b2_0 must be below the fixed point b2\* = "),
        (lambda: routing.modes(0.0, 7, 4, T, b0=0.1), r"^b2_0 must be below the fixed point"),
        (lambda: routing.modes(1.0, 7, 4, T, b1_0=0.1, b2_0=-0.5), r"^b2_0 must be > -sqrt\(M\) \* b1_0"),
        (lambda: routing.modes(1.0, 7, 4, [1.0, 0.0], b0=0.1), r"^t must be non-decreasing"),
        (lambda: routing.modes(1.0, 7, 4, [-1.0], b0=0.1), r"^t must be >= 0"),
        (lambda: routing.modes(1.0, 7, 4, T, b0=0.1, tau=0.0), r"^tau must be a finite number > 0"),
        (lambda: routing.modes([1.0, np.nan], 7, 4, T, b0=0.1), r"^s must be finite"),
        (lambda: routing.modes([1.0, 2.0], 7, 4, T, b0=[0.1, 0.1, 0.1]), r"mode parameters must broadcast"),
        (lambda: routing.time_of(5.0, 1.0, 7, 4, b1_0=0.1, b2_0=0.1), r"^b2 must lie between b2_0 = 0\.1"),
        (lambda: routing.time_of(0.05, 1.0, 7, 4, b1_0=0.1, b2_0=0.1), r"^b2 must lie between"),
        (lambda: routing.fixed_point(-1.0, 7, 0.1), r"^s must be >= 0"),
        (lambda: routing.fixed_point(1.0, 7, np.inf), r"^c0 must be finite"),
        (lambda: routing.hyperbolic(1.0, 0.0, 7), r"^c0 must be > 0"),
        (lambda: routing.theta_of(1.0, -1.0), r"^c0 must be > 0"),
        (lambda: routing.theta_rate(1.0, 1.0, 7, 9, 0.1), r"^K must be <= M"),
        (lambda: routing.small_init_limit(1.0, 7, 4, 0.0, T), r"^a0 must be > 0"),
        (lambda: routing.reference_time(-1, 0.02, 7, 4, 7), r"^steps must be >= 0"),
        (lambda: routing.reference_time(1, 0.0, 7, 4, 7), r"^eta must be a finite number > 0"),
        (lambda: routing.reference_time(1, 0.02, 7, 0, 7), r"^P must be a positive integer"),
        (lambda: routing.reference_map(1.0, 7, 4, 4, 7, 0.02, -1, b0=0.1), r"^steps must be a non-negative integer"),
        (lambda: routing.reference_map(1.0, 7, 4, 4, 0, 0.02, 5, b0=0.1), r"^n_out must be a positive integer"),
        (lambda: routing.half_learning_time(1.0, 7, 4, b0=0.1, fraction=1.0), r"^fraction must be in \(0, 1\)"),
        (lambda: routing.half_learning_steps(1.0, 1.0), r"^a must have records"),
    ],
)
def test_bad_input_raises_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_non_numeric_input_raises_type_error():
    with pytest.raises(TypeError, match="^s must be"):
        routing.modes("x", 7, 4, T, b0=0.1)
    with pytest.raises(TypeError, match="^b0 must be real"):
        routing.modes(1.0, 7, 4, T, b0=True)
