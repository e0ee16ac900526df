"""Tests for learndyn.theory.modes: per-mode closed forms against independent ODE integrations.

Every reference here is computed by scipy's ``solve_ivp`` (DOP853, rtol <= 1e-12) on an ODE written
out in the test, or by a closed-form limit derived in the test, never by the code under test.
Covered: Saxe's sigmoid and learning time (Saxe, McClelland & Ganguli 2014), the signed aligned case and
the shallow network (Braun et al. 2022), the lambda-balanced per-mode formula (Dominé et al. 2024); an aligned
full-matrix flow is Saxe per mode to 1e-12, the per-mode lambda formula matches the ODE to 1e-10, and a
reversed aligned mode decays monotonically to 0.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import learndyn  # noqa: F401  (float64 in JAX; the theory here is NumPy float64 anyway)
from learndyn.theory.modes import (
    aligned_product,
    deep_mode,
    effective_a0,
    lambda_mode,
    saxe_learning_time,
    saxe_mode,
    shallow_linear,
    signed_aligned_mode,
)

RTOL = 1e-13
ATOL = 1e-16


def _ivp(rhs, y0, t, rtol=RTOL, atol=ATOL, **kw):
    t = np.asarray(t, dtype=float)
    sol = solve_ivp(
        rhs, (0.0, t[-1]), np.atleast_1d(np.asarray(y0, float)), method="DOP853",
        t_eval=t, rtol=rtol, atol=atol, **kw,
    )  # fmt: skip
    assert sol.success, sol.message
    return sol


def _two_weight(s_tilde, s1, s2, t):
    """Per-mode two-layer gradient flow ``s1' = s2 (s~ - s1 s2)``, ``s2' = s1 (s~ - s1 s2)``."""

    def rhs(_, w):
        err = s_tilde - w[0] * w[1]
        return [w[1] * err, w[0] * err]

    sol = _ivp(rhs, [s1, s2], t)
    return sol.y[0] * sol.y[1]


# ------------------------------------------------------------------------------------------
# Saxe sigmoid and learning time
# ------------------------------------------------------------------------------------------

SAXE_CASES = [(1.0, 1e-3), (2.0, 0.5), (0.7, 3.0), (0.3, 0.3), (1.5, 1e-6)]


@pytest.mark.parametrize("tau", [1.0, 2.5])
@pytest.mark.parametrize(("s_tilde", "a0"), SAXE_CASES)
def test_saxe_mode_matches_ode(s_tilde, a0, tau):
    t = np.linspace(0.0, 30.0 * tau, 601)
    ref = _ivp(lambda _, a: 2.0 * a * (s_tilde - a) / tau, [a0], t).y[0]
    a = saxe_mode(s_tilde, a0, t, tau=tau)
    assert a.shape == (t.size,)
    assert np.max(np.abs(a - ref)) < 1e-10


def test_saxe_mode_broadcasts_modes_and_times():
    s = np.array([2.0, 1.0, 0.5])
    a0 = np.array([[1e-3], [0.1]])  # (2, 1) against (3,) -> modes (2, 3)
    t = np.array([0.0, 1.0, 4.0, 9.0])
    a = saxe_mode(s, a0, t)
    assert a.shape == (4, 2, 3)
    for i in range(2):
        for j in range(3):
            ref = _ivp(lambda _, x, s=s[j]: 2.0 * x * (s - x), [a0[i, 0]], t).y[0]
            assert np.max(np.abs(a[:, i, j] - ref)) < 1e-10
    np.testing.assert_array_equal(a[0], np.broadcast_to(a0, (2, 3)))


def test_saxe_mode_long_times_finite_and_converged():
    s = np.array([2.0, 1.0, 0.05, 3.0])
    a0 = np.array([1e-8, 0.5, 1e-3, 10.0])
    a = saxe_mode(s, a0, [1e3, 1e6])
    assert np.all(np.isfinite(a))
    np.testing.assert_allclose(a[-1], s, rtol=1e-15, atol=0)


def test_saxe_mode_zero_singular_value_limit():
    # s~ = 0: tau a' = -2 a^2 => a = a0 / (1 + 2 a0 theta); also the s~ -> 0 limit is continuous
    t = np.array([0.0, 0.3, 10.0, 1e6])
    a0 = 0.7
    exact = a0 / (1.0 + 2.0 * a0 * t / 2.0)
    np.testing.assert_allclose(saxe_mode(0.0, a0, t, tau=2.0), exact, rtol=1e-14)
    tiny = saxe_mode(1e-13, a0, t[:3], tau=2.0)
    np.testing.assert_allclose(tiny, exact[:3], rtol=1e-11)


@pytest.mark.parametrize(
    ("s_tilde", "a0", "a_final"),
    [(1.0, 1e-3, 0.5), (2.0, 0.1, 1.9), (0.4, 1e-6, 0.2), (0.7, 3.0, 0.8), (1.5, 2.0, 1.6)],
)
def test_saxe_learning_time_matches_ode_crossing(s_tilde, a0, a_final):
    tau = 1.7

    def hit(_, a):
        return a[0] - a_final

    hit.terminal = True
    sol = solve_ivp(
        lambda _, a: 2.0 * a * (s_tilde - a) / tau, (0.0, 1e3), [a0], method="DOP853",
        rtol=1e-13, atol=1e-18, events=hit,
    )  # fmt: skip
    t_ode = sol.t_events[0][0]
    t_formula = saxe_learning_time(s_tilde, a0, a_final, tau=tau)
    assert isinstance(t_formula, float)
    assert abs(t_formula - t_ode) / t_ode < 1e-8


def test_saxe_learning_time_vectorised_and_small_a0_limit():
    s = np.array([1.0, 2.0])
    t = saxe_learning_time(s, 1e-12, 0.5 * s)
    assert t.shape == (2,)
    # from a0 = e to s~/2: (1/2s~) ln((s~ - e)/e) ~ (1/2s~) ln(s~/e)
    np.testing.assert_allclose(t, np.log(s / 1e-12) / (2.0 * s), rtol=1e-11)


# ------------------------------------------------------------------------------------------
# Aligned initialisation of the full matrix flow gives Saxe per mode (to 1e-12)
# ------------------------------------------------------------------------------------------


def test_aligned_matrix_flow_is_saxe_per_mode():
    rng = np.random.default_rng(5)
    n_in, n_h, n_out = 5, 6, 3
    m = min(n_in, n_out)
    sigma = rng.normal(size=(n_out, n_in))
    u_t, s_t, vt_t = np.linalg.svd(sigma)
    v_t = vt_t.T[:, :m]
    u_t = u_t[:, :m]
    a0 = np.array([1e-3, 0.2, 2.5 * s_t[2]])  # small, medium, and above its target
    r = np.linalg.qr(rng.normal(size=(n_h, m)))[0]
    w1 = r @ np.diag(np.sqrt(a0)) @ v_t.T
    w2 = u_t @ np.diag(np.sqrt(a0)) @ r.T

    def rhs(_, y):
        a = y[: n_h * n_in].reshape(n_h, n_in)
        b = y[n_h * n_in :].reshape(n_out, n_h)
        err = sigma - b @ a
        return np.concatenate([(b.T @ err).ravel(), (err @ a.T).ravel()])

    t = np.array([0.0, 0.5, 2.0, 5.0, 10.0, 20.0])
    sol = _ivp(rhs, np.concatenate([w1.ravel(), w2.ravel()]), t, rtol=1e-13, atol=1e-15)
    prod = np.stack(
        [sol.y[n_h * n_in :, k].reshape(n_out, n_h) @ sol.y[: n_h * n_in, k].reshape(n_h, n_in) for k in range(t.size)]
    )
    theory = aligned_product(u_t, saxe_mode(s_t, a0, t), v_t)
    assert theory.shape == (t.size, n_out, n_in)
    err = np.max(np.abs(theory - prod))
    assert err < 1e-12, err  # required accuracy; measured 4.9e-14


# ------------------------------------------------------------------------------------------
# lambda-balanced per-mode formula against the ODE (to 1e-10)
# ------------------------------------------------------------------------------------------


def _split(a0, lam):
    """s1, s2 with s1 s2 = a0 and s2^2 - s1^2 = lam (s1 carries the sign of a0)."""
    k0 = np.hypot(a0, lam / 2.0)
    s2 = np.sqrt(k0 + lam / 2.0)
    s1 = np.sqrt(max(k0 - lam / 2.0, 0.0))
    return (-s1 if a0 < 0 else s1), s2


@pytest.mark.parametrize("lam", [-2.0, 0.5, 3.0])
@pytest.mark.parametrize("a0", [1e-3, 0.2, 1.0, 4.0])
@pytest.mark.parametrize("s_tilde", [0.3, 1.5])
def test_lambda_mode_matches_ode(s_tilde, a0, lam):
    t = np.linspace(0.0, 20.0, 401)
    # rtol 1e-13: at 1e-12 DOP853's own error reaches 1e-10 for (1.5, 0.2, 3.0), the tolerance tested here
    ode = _ivp(lambda _, a: np.sqrt(lam**2 + 4.0 * a**2) * (s_tilde - a), [a0], t,
               rtol=1e-13, atol=1e-16).y[0]  # fmt: skip
    weights = _two_weight(s_tilde, *_split(a0, lam), t)
    a = lambda_mode(s_tilde, a0, lam, t)
    assert np.max(np.abs(a - ode)) < 1e-10
    assert np.max(np.abs(a - weights)) < 1e-10


@pytest.mark.parametrize(
    ("s_tilde", "a0", "lam"),
    [(1.5, -0.5, 0.5), (0.3, -2.0, -2.0), (1.0, 0.0, 3.0), (0.0, 0.8, -2.0), (0.0, -0.4, 0.5)],
)
def test_lambda_mode_negative_or_zero_a0_and_zero_target(s_tilde, a0, lam):
    # lam != 0 removes the saddle at a = 0: a mode starting at a0 <= 0 still crosses and learns
    t = np.linspace(0.0, 20.0, 201)
    weights = _two_weight(s_tilde, *_split(a0, lam), t)
    assert np.max(np.abs(lambda_mode(s_tilde, a0, lam, t) - weights)) < 1e-10


@pytest.mark.parametrize("lam", [-2.0, 0.5, 1e-4])
@pytest.mark.parametrize("a0", [1e-12, -1e-9])
def test_lambda_mode_tiny_a0_relative_accuracy(a0, lam):
    # early on a is tiny: the formula must be accurate relative to a, not just to O(1)
    t = np.concatenate([[0.0], np.geomspace(1e-8, 20.0, 120)])
    ref = _ivp(lambda _, a: np.sqrt(lam**2 + 4.0 * a**2) * (1.0 - a), [a0], t, atol=1e-24).y[0]
    a = lambda_mode(1.0, a0, lam, t)
    assert abs(a[0] - a0) <= 1e-15 * abs(a0)
    assert np.max(np.abs(a - ref) / np.abs(ref)) < 1e-11


def test_lambda_mode_zero_lambda_is_saxe_and_stuck_case():
    t = np.linspace(0.0, 15.0, 151)
    # lam = 0, a0 > 0: tau a' = 2 a (s~ - a)
    ref = _ivp(lambda _, a: 2.0 * a * (1.2 - a), [0.01], t).y[0]
    assert np.max(np.abs(lambda_mode(1.2, 0.01, 0.0, t) - ref)) < 1e-10
    # lam = 0, a0 < 0: b = 0 exactly, the mode decays to the saddle; finite at 1e6
    weights = _two_weight(1.2, -np.sqrt(0.5), np.sqrt(0.5), t)
    assert np.max(np.abs(lambda_mode(1.2, -0.5, 0.0, t) - weights)) < 1e-12
    assert lambda_mode(1.2, -0.5, 0.0, [1e6])[0] == 0.0
    np.testing.assert_array_equal(lambda_mode(1.2, 0.0, 0.0, [0.0, 5.0]), 0.0)


def test_lambda_mode_long_times_and_broadcasting():
    s = np.array([0.3, 1.5, 2.0])
    a0 = np.array([1e-3, 4.0, -1.0])
    lam = np.array([-2.0, 0.5, 3.0])
    a = lambda_mode(s, a0, lam, [0.0, 1e3, 1e6])
    assert a.shape == (3, 3)
    assert np.all(np.isfinite(a))
    np.testing.assert_allclose(a[0], a0, rtol=1e-14)
    np.testing.assert_allclose(a[-1], s, rtol=1e-14)


# ------------------------------------------------------------------------------------------
# Reversal learning (Braun et al. 2022, Fig. 6a, b)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("s_tilde", [0.5, 1.0, 2.0])
def test_reversed_aligned_mode_decays_to_zero_monotonically(s_tilde):
    # converged on +s~: w1 = w2 = sqrt(s~); target switched to -s~. In the new task frame
    # (v~' = -v~) the mode coefficient is -w1 w2, and b = 0, c = 2.
    t = np.linspace(0.0, 30.0, 3001)
    w = np.sqrt(s_tilde)
    ref = -_two_weight(-s_tilde, w, w, t)
    a = signed_aligned_mode(s_tilde, s_tilde, 0, 2, t)
    assert np.max(np.abs(a - ref)) < 1e-12
    assert a[0] == -s_tilde
    assert np.all(np.diff(a) > 0) and np.all(a < 0)  # |a| strictly decreasing towards 0
    late = signed_aligned_mode(s_tilde, s_tilde, [0, 0], [2, -2], [1e3, 1e6])
    assert np.all(np.isfinite(late)) and np.all(np.abs(late) < 1e-300)


def test_signed_aligned_mode_all_sign_codes_match_two_weight_flow():
    t = np.linspace(0.0, 12.0, 121)
    s_tilde, s = 1.3, 0.2
    w = np.sqrt(s)
    # (d_u, d_v) -> (b, c) = (d_u + d_v, d_u - d_v); product in the task frame is d_u d_v w1 w2
    for d_u, d_v in [(1, 1), (-1, -1), (1, -1), (-1, 1)]:
        ref = d_u * d_v * _two_weight(d_u * d_v * s_tilde, w, w, t)
        a = signed_aligned_mode(s_tilde, s, d_u + d_v, d_u - d_v, t)
        assert np.max(np.abs(a - ref)) < 1e-12, (d_u, d_v)
    # s~ = 0, anti-aligned: tau q' = -2 q^2 for q = -a
    np.testing.assert_allclose(signed_aligned_mode(0.0, s, 0, 2, t), -s / (1.0 + 2.0 * s * t), rtol=1e-14)


def test_shallow_network_reverses_with_exp_decay():
    rng = np.random.default_rng(11)
    sigma = rng.normal(size=(4, 6))
    t = np.linspace(0.0, 12.0, 49)
    tau = 1.5
    # converged on +sigma, target switched to -sigma
    W = shallow_linear(sigma, -sigma, t, tau=tau)
    assert W.shape == (t.size, 4, 6)
    ref = _ivp(lambda _, w: (-sigma.ravel() - w) / tau, sigma.ravel(), t, rtol=1e-12,
               atol=1e-15).y.T.reshape(t.size, 4, 6)  # fmt: skip
    assert np.max(np.abs(W - ref)) < 1e-10
    err = np.linalg.norm(W + sigma, axis=(1, 2)) / np.linalg.norm(2.0 * sigma)
    np.testing.assert_allclose(err, np.exp(-t / tau), rtol=1e-13)
    assert np.all(np.isfinite(shallow_linear(sigma, -sigma, [1e6])))


# ------------------------------------------------------------------------------------------
# deep per-mode law
# ------------------------------------------------------------------------------------------


def _per_layer_product(s_tilde, u0, depth, t):
    """Gradient flow of 0.5 (s~ - w_D...w_1)^2 over D separate scalars, all starting equal."""

    def rhs(_, w):
        prod = np.prod(w)
        return np.array([(s_tilde - prod) * np.prod(np.delete(w, k)) for k in range(depth)])

    sol = _ivp(rhs, np.full(depth, u0 ** (1.0 / depth)), t)
    return np.prod(sol.y, axis=0)


@pytest.mark.parametrize("depth", [3, 4])
def test_deep_mode_matches_per_layer_gradient_flow(depth):
    s = np.array([1.0, 2.0, 0.7, 0.2])
    u0 = np.array([1e-3, 0.5, 3.0, 1e-2])
    t = np.linspace(0.0, 80.0, 161)
    u = deep_mode(s, u0, depth, t)
    assert u.shape == (t.size, s.size)
    for j in range(s.size):
        ref = _per_layer_product(s[j], u0[j], depth, t)
        assert np.max(np.abs(u[:, j] - ref)) < 1e-8, j
    # the plateau-then-jump has happened for the small inits (the check is not vacuous)
    assert u[0, 0] < 1e-2 and abs(u[-1, 0] - 1.0) < 1e-6


def test_deep_mode_shallow_and_two_layer_cases():
    t = np.linspace(0.0, 10.0, 41)
    np.testing.assert_allclose(deep_mode(1.5, -0.5, 1, t, tau=2.0), 1.5 - 2.0 * np.exp(-t / 2.0), rtol=1e-14)
    ref = _per_layer_product(1.5, 0.01, 2, t)
    assert np.max(np.abs(deep_mode(1.5, 0.01, 2, t) - ref)) < 1e-10


def test_deep_mode_long_horizon_and_zero_target():
    u = deep_mode([1.0, 2.0, 0.3], [1e-3, 0.5, 5.0], 4, [0.0, 10.0, 1e6])
    assert np.all(np.isfinite(u))
    np.testing.assert_allclose(u[-1], [1.0, 2.0, 0.3], rtol=1e-10)
    # s~ = 0, D = 3: tau u' = -3 u^{7/3} => u^{-4/3} = u0^{-4/3} + 4 theta
    t = np.array([0.0, 0.5, 3.0, 40.0])
    exact = (0.8 ** (-4.0 / 3.0) + 4.0 * t) ** (-0.75)
    np.testing.assert_allclose(deep_mode(0.0, 0.8, 3, t), exact, rtol=1e-9)


# ------------------------------------------------------------------------------------------
# assembly helpers
# ------------------------------------------------------------------------------------------


def test_aligned_product_and_effective_a0():
    rng = np.random.default_rng(0)
    U = np.linalg.qr(rng.normal(size=(4, 2)))[0]
    V = np.linalg.qr(rng.normal(size=(3, 2)))[0]
    a = rng.normal(size=(5, 2))
    out = aligned_product(U, a, V)
    assert out.shape == (5, 4, 3)
    for k in range(5):
        np.testing.assert_allclose(out[k], U @ np.diag(a[k]) @ V.T, atol=1e-15)
    assert aligned_product(U, a[0], V).shape == (4, 3)

    B = rng.normal(size=(3, 3))
    S = np.array([0.3, 0.2, 0.1])
    want = np.diag(B.T @ np.diag(S) @ B) / 4.0
    np.testing.assert_allclose(effective_a0(B, S), want, rtol=1e-14)
    np.testing.assert_allclose(effective_a0(B, np.diag(S)), want, rtol=1e-14)


# ------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: saxe_mode(1.0, 0.0, [1.0]), ValueError, r"a0 must be > 0.*signed_aligned_mode"),
        (lambda: saxe_mode(-1.0, 0.1, [1.0]), ValueError, r"s_tilde must be >= 0.*-1\.0"),
        (lambda: saxe_mode(1.0, [0.1, np.nan], [1.0]), ValueError, r"a0 must be finite"),
        (lambda: saxe_mode(1.0, 0.1, [2.0, 1.0]), ValueError, r"t must be non-decreasing"),
        (lambda: saxe_mode(1.0, 0.1, [-1.0]), ValueError, r"t must be >= 0"),
        (lambda: saxe_mode(1.0, 0.1, [1.0], tau=0.0), ValueError, r"tau must be a finite"),
        (lambda: saxe_mode([1.0, 2.0], [0.1, 0.2, 0.3], [1.0]), ValueError, r"broadcast"),
        (lambda: saxe_mode("x", 0.1, [1.0]), TypeError, r"s_tilde must be a real"),
        (lambda: saxe_mode(True, 0.1, [1.0]), TypeError, r"s_tilde must be real"),
        (
            lambda: saxe_learning_time(1.0, 0.5, 0.2),
            ValueError,
            r"0 < a0 <= a_final < s_tilde.*a0=.*0\.5",
        ),
        (lambda: saxe_learning_time(1.0, 0.5, 1.0), ValueError, r"a_final=.*1\.0"),
        (lambda: saxe_learning_time(0.0, 0.1, 0.2), ValueError, r"s_tilde must be > 0"),
        (lambda: signed_aligned_mode(1.0, 1.0, 1, 0, [1.0]), ValueError, r"b must be one of"),
        (lambda: signed_aligned_mode(1.0, 1.0, 2, 2, [1.0]), ValueError, r"\(b, c\) must be"),
        (lambda: signed_aligned_mode(1.0, 1.0, 0, 0, [1.0]), ValueError, r"\(b, c\) must be"),
        (lambda: signed_aligned_mode(1.0, 0.0, 2, 0, [1.0]), ValueError, r"s must be > 0"),
        (lambda: lambda_mode(-0.1, 0.1, 1.0, [1.0]), ValueError, r"s_tilde must be >= 0"),
        (lambda: lambda_mode(1.0, 0.1, np.inf, [1.0]), ValueError, r"lam must be finite"),
        (lambda: deep_mode(1.0, 0.1, 0, [1.0]), ValueError, r"n_weights must be a positive"),
        (lambda: deep_mode(1.0, -0.1, 3, [1.0]), ValueError, r"u0 must be > 0 for n_weights=3"),
        (lambda: deep_mode(1.0, 0.1, 3, [1.0], rtol=-1.0), ValueError, r"rtol must be"),
        (lambda: shallow_linear(np.ones((2, 3)), np.ones((3, 2)), [1.0]), ValueError, r"sigma_yx"),
        (lambda: shallow_linear(np.ones(3), np.ones(3), [1.0]), ValueError, r"W0 must be 2-D"),
        (lambda: aligned_product(np.ones((2, 2)), np.ones(3), np.ones((3, 2))), ValueError, r"a "),
        (lambda: aligned_product(np.ones((2, 2)), np.ones(2), np.ones((3, 1))), ValueError, r"V "),
        (lambda: effective_a0(np.eye(2), np.ones(3)), ValueError, r"S must be a vector"),
    ],
)
def test_bad_input_raises(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
