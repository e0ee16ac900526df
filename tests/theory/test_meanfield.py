"""Tests for learndyn.theory.meanfield: the odd-target reduction of mean-field two-layer ReLU nets.

References, none produced by the code under test:

* the full ReLU mean-field particle ODE (``a' = -E[(f - f*) relu(<b, x>)]``, ``b' = -a E[(f - f*) 1{<b,x> > 0} x]``)
  on a finite symmetric input distribution, written out here and integrated by ``solve_ivp``;
* the spec's ``Lambda``-ODE, integrated by ``solve_ivp``;
* finite differences of ``w(t)`` for ``w' = 1/4 H (Xf - Sigma w)``;
* Monte-Carlo estimates of the cubic target's moments (10^6 samples, within 5 standard errors).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from learndyn.theory.meanfield import (
    CubicTarget,
    asymptotic_rate,
    best_linear_floor,
    cubic_target,
    exponential_bound,
    initial_moment_V,
    isotropic_odd_target,
    isotropic_odd_target_euler,
    odd_target_flow,
    population_loss_linear,
)


def _ivp(rhs, y0, t, rtol=1e-12, atol=1e-14):
    sol = solve_ivp(rhs, (0.0, t[-1]), np.asarray(y0, float), method="DOP853", t_eval=t, rtol=rtol, atol=atol)
    assert sol.success, sol.message
    return sol.y


def _lambda_ode(V, v, W, t):
    """The spec's ``Lambda' = 1 - (V / 4W) sinh(v W Lambda)``, ``Lambda(0) = 0``."""
    return _ivp(lambda _, L: [1.0 - V / (4.0 * W) * np.sinh(v * W * L[0])], [0.0], t)[0]


def _random_orthogonal(d, rng):
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))


def _isotropic_particles(d, alpha, beta, rng):
    """Particles ``(s alpha, t beta Q e_k)``, ``s, t = +-1``: mirror-symmetric, ``E[a b] = 0``,
    ``E[b b^T] = beta^2 I / d`` exactly, so ``V = alpha^2 + beta^2 / d`` for every direction."""
    Q = _random_orthogonal(d, rng)
    a, b = [], []
    for k in range(d):
        for s in (1.0, -1.0):
            for t in (1.0, -1.0):
                a.append(s * alpha)
                b.append(t * beta * Q[:, k])
    return np.array(a), np.array(b)


# ------------------------------------------------------------------------------------------
# the isotropic closed form
# ------------------------------------------------------------------------------------------

ISO_CASES = [(1.05, 1 / 20, 24**0.5), (1.5, 0.5, 5.0), (0.3, 2.0, 0.01), (4.0, 1.0, 30.0)]


@pytest.mark.parametrize(("V", "v", "W"), ISO_CASES)
def test_closed_form_matches_the_spec_lambda_ode(V, v, W):
    k = asymptotic_rate(V, v, W)
    t = np.linspace(0.0, 12.0 / (V * v / 4.0) if W < 0.1 else 30.0 / k, 401)
    lam = _lambda_ode(V, v, W, t)
    norm_ref = V / 4.0 * np.sinh(v * W * lam)
    u = np.random.default_rng(1).normal(size=7)
    w_star = W * u / np.linalg.norm(u)
    w, info = isotropic_odd_target(V, v, w_star, t, full_output=True)
    assert w.shape == (t.size, 7)
    assert np.max(np.abs(info["norm"] - norm_ref)) < 1e-9 * W
    assert np.max(np.abs(info["Lambda"] - lam)) < 1e-9 * max(1.0, np.max(lam))
    assert np.max(np.abs(info["gap"] - (W - norm_ref))) < 1e-9 * W
    np.testing.assert_allclose(w, info["norm"][:, None] * w_star / W, rtol=0, atol=1e-14 * W)


@pytest.mark.parametrize(("alpha", "beta", "d"), [(1.0, 1.0, 5), (0.7, 1.3, 4)])
def test_closed_form_matches_particle_flow_on_an_exactly_isotropic_set(alpha, beta, d):
    rng = np.random.default_rng(2)
    a0, b0 = _isotropic_particles(d, alpha, beta, rng)
    V = alpha**2 + beta**2 / d
    v = 0.5
    w_star = rng.normal(size=d)
    w_star *= 2.0 / np.linalg.norm(w_star)
    t = np.linspace(0.0, 25.0, 101)
    w_flow = odd_target_flow(a0, b0, v * w_star, v * np.eye(d), t, rtol=1e-12, atol=1e-14)
    w_closed = isotropic_odd_target(V, v, w_star, t)
    assert np.max(np.abs(w_flow - w_closed)) < 1e-9
    assert np.linalg.norm(w_flow[-1] - w_star) < 1e-6  # converged


def test_closed_form_matches_a_random_pm1_sphere_init_up_to_sampling():
    rng = np.random.default_rng(3)
    d, m = 5, 2000
    b = rng.normal(size=(m, d))
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    a = rng.choice([-1.0, 1.0], size=m)
    a0, b0 = np.concatenate([a, -a]), np.concatenate([b, -b])  # mirrored pairs: w(0) = 0
    v = 1.0 / d
    w_star = rng.normal(size=d)
    w_star *= 2.0 / np.linalg.norm(w_star)
    t = np.linspace(0.0, 200.0, 41)
    w_flow = odd_target_flow(a0, b0, v * w_star, v * np.eye(d), t, rtol=1e-9, atol=1e-12)
    w_closed = isotropic_odd_target(initial_moment_V(d), v, w_star, t)
    err = np.max(np.linalg.norm(w_flow - w_closed, axis=1))
    assert err < 0.05 * np.linalg.norm(w_star)  # O(m^-1/2) anisotropy of the sample


def test_initial_moment_V_monte_carlo():
    rng = np.random.default_rng(4)
    d, n = 7, 200_000
    b = rng.normal(size=(n, d))
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    a = rng.choice([-1.0, 1.0], size=n)
    u = rng.normal(size=d)
    u /= np.linalg.norm(u)
    sample = a**2 + (b @ u) ** 2
    assert abs(sample.mean() - initial_moment_V(d)) < 5 * sample.std() / np.sqrt(n)
    assert initial_moment_V(d) == 1.0 + 1.0 / d


def test_large_t_is_finite_and_reaches_w_star():
    rng = np.random.default_rng(5)
    w_star = rng.normal(size=20) * 3.0
    t = np.array([0.0, 1e3, 1e6, 1e300])
    w, info = isotropic_odd_target(1.05, 1 / 20, w_star, t, full_output=True)
    assert np.all(np.isfinite(w)) and np.all(np.isfinite(info["Lambda"]))
    assert np.max(np.abs(w[2:] - w_star)) < 1e-12
    assert np.all(info["gap"][2:] == 0.0)
    for W in (1e-8, 1e8):  # extreme scales stay finite and monotone
        w, info = isotropic_odd_target(1.0, 1.0, [W, 0.0], np.logspace(-3, 6, 50), full_output=True)
        assert np.all(np.isfinite(w)) and np.all(np.diff(info["norm"]) >= 0)
        assert abs(w[-1, 0] - W) <= 1e-14 * W


def test_zero_w_star_gives_zero_and_the_limit_lambda():
    t = np.linspace(0.0, 10.0, 21)
    w, info = isotropic_odd_target(1.2, 0.8, np.zeros(3), t, full_output=True)
    assert np.all(w == 0.0)
    ref = _ivp(lambda _, L: [1.0 - 1.2 * 0.8 / 4.0 * L[0]], [0.0], t)[0]  # Lambda-ODE as W -> 0
    assert np.max(np.abs(info["Lambda"] - ref)) < 1e-10


@pytest.mark.parametrize(("V", "v", "W"), ISO_CASES)
def test_exponential_bound_holds_but_the_true_rate_is_asymptotic_rate(V, v, W):
    k = asymptotic_rate(V, v, W)
    t = np.linspace(0.0, 40.0 / k, 2001)
    _, info = isotropic_odd_target(V, v, [W, 0.0, 0.0], t, full_output=True)
    bound = exponential_bound(V, v, W, t)
    assert np.all(info["gap"] <= bound * (1 + 1e-12))
    # at t = 0 the bound is tangent: gap'(0) / gap(0) = -V v / 4 (reference: the Lambda-ODE, finite difference)
    h = 1e-4 / k
    lam = _lambda_ode(V, v, W, np.array([0.0, h, 2 * h]))
    gap = W - V / 4.0 * np.sinh(v * W * lam)
    slope0 = (-3 * gap[0] + 4 * gap[1] - gap[2]) / (2 * h) / W
    assert abs(slope0 + V * v / 4.0) < 1e-6 * k
    # at large t the gap decays at k = (v/4) sqrt(V^2 + 16 W^2), faster than the bound when W > 0
    t2 = np.array([15.0, 20.0]) / k
    lam = _lambda_ode(V, v, W, np.concatenate([[0.0], t2]))[1:]
    gap = W - V / 4.0 * np.sinh(v * W * lam)
    rate = -np.log(gap[1] / gap[0]) / (t2[1] - t2[0])
    assert abs(rate - k) < 1e-4 * k
    assert k > V * v / 4.0


def test_exponential_bound_is_loose_for_the_spec_setting():
    V, v, W = initial_moment_V(20), 1 / 20, 24**0.5
    assert round(asymptotic_rate(V, v, W) / (V * v / 4.0), 1) == 18.7
    t = np.array([100.0])
    _, info = isotropic_odd_target(V, v, [W], t, full_output=True)
    assert info["gap"][0] < 1e-6 * exponential_bound(V, v, W, t)[0]


def test_euler_scheme_converges_at_first_order():
    V, v, w_star = 1.5, 0.5, np.array([3.0, 4.0])
    errs = []
    for eta in (0.02, 0.01):
        t, w = isotropic_odd_target_euler(V, v, w_star, eta, int(round(10.0 / eta)))
        errs.append(np.max(np.abs(w - isotropic_odd_target(V, v, w_star, t))))
    assert 1.8 < errs[0] / errs[1] < 2.2
    _, _, lam = isotropic_odd_target_euler(V, v, w_star, 0.01, 10, full_output=True)
    assert lam[0] == 0.0 and lam[1] == pytest.approx(0.01)


def test_euler_scheme_reports_divergence():
    with pytest.raises(ValueError, match="eta"):
        isotropic_odd_target_euler(1.5, 0.5, np.array([30.0, 40.0]), 5.0, 100)


# ------------------------------------------------------------------------------------------
# the reduced particle flow
# ------------------------------------------------------------------------------------------


def test_reduction_matches_the_full_relu_meanfield_flow():
    """On a finite symmetric rho (points +-x_i) the population expectations are exact sums, so the ReLU flow of a
    mirrored particle set can be integrated exactly and compared with the reduced linear flow."""
    rng = np.random.default_rng(6)
    d, n, pairs = 4, 30, 6
    Xh = rng.normal(size=(n, d)) / np.sqrt(d)
    X = np.concatenate([Xh, -Xh])
    vdir = rng.normal(size=d)
    fstar = np.tanh(2.0 * X @ vdir) + 0.5 * X[:, 0] ** 3  # odd
    a = rng.normal(size=pairs)
    b = rng.normal(size=(pairs, d))
    a0, b0 = np.concatenate([a, -a]), np.concatenate([b, -b])
    m = a0.size

    def relu_rhs(_, y):
        a, b = y[:m], y[m:].reshape(m, d)
        pre = X @ b.T  # (2n, m)
        f = np.maximum(pre, 0.0) @ a / m
        r = f - fstar
        da = -np.maximum(pre, 0.0).T @ r / X.shape[0]
        db = -a[:, None] * (((pre > 0) * r[:, None]).T @ X) / X.shape[0]
        return np.concatenate([da, db.ravel()])

    t = np.linspace(0.0, 8.0, 17)
    Y = _ivp(relu_rhs, np.concatenate([a0, b0.ravel()]), t, rtol=1e-11, atol=1e-13).T
    a_t, b_t = Y[:, :m], Y[:, m:].reshape(t.size, m, d)
    w_relu = np.einsum("tj,tjk->tk", a_t, b_t) / (2 * m)
    f_relu = np.einsum("pk,tjk->tpj", X, b_t)
    f_relu = np.einsum("tpj,tj->tp", np.maximum(f_relu, 0.0), a_t) / m

    Xf = X.T @ fstar / X.shape[0]
    Sigma = X.T @ X / X.shape[0]
    w, info = odd_target_flow(a0, b0, Xf, Sigma, t, rtol=1e-12, atol=1e-14, full_output=True)
    assert np.max(np.abs(w - w_relu)) < 1e-8
    assert np.max(np.abs(f_relu - w @ X.T)) < 1e-8  # the ReLU predictor is exactly linear
    assert np.max(np.abs(info["a"] - a_t)) < 1e-8
    assert np.max(np.abs(info["b"] - b_t)) < 1e-8
    assert np.linalg.norm(w[-1] - w[0]) > 0.1  # it moved


def _general_flow_case():
    rng = np.random.default_rng(7)
    d, m = 3, 9
    A = rng.normal(size=(d, d))
    Sigma = A @ A.T / d + 0.2 * np.eye(d)
    Xf = rng.normal(size=d)
    a0 = rng.normal(size=m)
    b0 = rng.normal(size=(m, d))  # not mirror-symmetric, w(0) != 0
    return a0, b0, Xf, Sigma


def test_w_dot_is_a_quarter_H_times_the_residual():
    a0, b0, Xf, Sigma = _general_flow_case()
    h = 1e-3
    centres = np.array([0.5, 1.0, 2.0, 4.0])
    t = np.sort(np.concatenate([centres - h, centres, centres + h]))
    w, info = odd_target_flow(a0, b0, Xf, Sigma, t, rtol=1e-13, atol=1e-15, full_output=True)
    w_dot = (w[2::3] - w[0::3]) / (2 * h)
    mid = slice(1, None, 3)
    pred = 0.25 * np.einsum("tkl,tl->tk", info["H"][mid], Xf - w[mid] @ Sigma)
    assert np.max(np.abs(w_dot - pred)) < 1e-6 * np.max(np.abs(pred))
    # H is (1/m) sum (a^2 I + b b^T), evaluated independently here
    a, b = info["a"][mid], info["b"][mid]
    H_ref = np.array([np.mean(ai**2) * np.eye(3) + bi.T @ bi / bi.shape[0] for ai, bi in zip(a, b, strict=True)])
    np.testing.assert_allclose(info["H"][mid], H_ref, rtol=1e-13, atol=1e-13)


def test_balance_is_conserved_and_w_tends_to_the_best_linear_predictor():
    a0, b0, Xf, Sigma = _general_flow_case()
    t = np.linspace(0.0, 60.0, 31)
    w, info = odd_target_flow(a0, b0, Xf, Sigma, t, rtol=1e-12, atol=1e-14, full_output=True)
    balance = info["a"] ** 2 - np.sum(info["b"] ** 2, axis=2)
    assert np.max(np.abs(balance - balance[0])) < 1e-9
    assert np.linalg.norm(w[-1] - np.linalg.solve(Sigma, Xf)) < 1e-8
    loss = population_loss_linear(w, 10.0, Xf, Sigma=Sigma)
    assert np.all(np.diff(loss) <= 1e-12)  # a gradient flow


def test_mirrored_copies_do_not_change_the_flow():
    a0, b0, Xf, Sigma = _general_flow_case()
    t = np.linspace(0.0, 5.0, 11)
    w = odd_target_flow(a0, b0, Xf, Sigma, t, rtol=1e-12, atol=1e-14)
    w2 = odd_target_flow(np.concatenate([a0, -a0]), np.concatenate([b0, -b0]), Xf, Sigma, t, rtol=1e-12, atol=1e-14)
    assert np.max(np.abs(w - w2)) < 1e-10
    w0 = odd_target_flow(a0, b0, Xf, Sigma, 0.0)
    np.testing.assert_allclose(w0[0], b0.T @ a0 / (2 * a0.size), rtol=1e-15)


# ------------------------------------------------------------------------------------------
# the cubic target and the losses
# ------------------------------------------------------------------------------------------


def test_cubic_target_closed_form_matches_the_spec():
    ct = cubic_target(20, seed=0)
    assert isinstance(ct, CubicTarget) and ct.d == 20
    zn = np.linalg.norm(ct.z)
    assert ct.C == pytest.approx(np.sqrt(2 * 20**3 / 15) / zn, rel=1e-15)
    np.testing.assert_allclose(ct.w_star, np.sqrt(6 * 20 / 5) * ct.z / zn, rtol=1e-13)
    assert np.linalg.norm(ct.w_star) == pytest.approx(24**0.5, rel=1e-14)
    assert ct.floor == pytest.approx(0.4, abs=1e-14)
    assert best_linear_floor(ct.Ef2, ct.w_star, ct.v_rho) == pytest.approx(0.4, abs=1e-14)
    assert cubic_target(60, seed=3).floor == pytest.approx(0.4, abs=1e-14)  # the floor does not depend on d


def test_cubic_target_moments_monte_carlo():
    d, n, chunk = 20, 1_000_000, 100_000
    ct = cubic_target(d, seed=1)
    rng = np.random.default_rng(8)
    w = rng.normal(size=d)
    s1 = np.zeros(d + 2)
    s2 = np.zeros(d + 2)
    for _ in range(n // chunk):
        X = rng.normal(size=(chunk, d)) / np.sqrt(d)
        f = ct.C * (X**3 @ ct.z)  # written out, not ct(X)
        q = np.column_stack([f[:, None] * X, f**2, 0.5 * (X @ w - f) ** 2])
        s1 += q.sum(0)
        s2 += (q**2).sum(0)
    mean = s1 / n
    se = np.sqrt((s2 / n - mean**2) / n)
    ref = np.concatenate([ct.Xf, [ct.Ef2], [population_loss_linear(w, ct.Ef2, ct.Xf, ct.v_rho)]])
    assert np.all(np.abs(mean - ref) < 5 * se), (mean - ref) / se
    np.testing.assert_allclose(ct(np.eye(d)[:2]), ct.C * ct.z[:2], rtol=1e-15)


def test_population_loss_isotropic_general_and_along_the_flow():
    ct = cubic_target(20, seed=2)
    rng = np.random.default_rng(9)
    W = rng.normal(size=(4, 20))
    iso = population_loss_linear(W, ct.Ef2, ct.Xf, ct.v_rho)
    gen = population_loss_linear(W, ct.Ef2, ct.Xf, Sigma=ct.v_rho * np.eye(20))
    np.testing.assert_allclose(iso, gen, rtol=1e-14)
    ref = [0.5 * (ct.Ef2 - 2 * wi @ ct.Xf + ct.v_rho * wi @ wi) for wi in W]
    np.testing.assert_allclose(iso, ref, rtol=1e-14)
    assert population_loss_linear(ct.w_star, ct.Ef2, ct.Xf, ct.v_rho) == pytest.approx(0.4, abs=1e-14)
    t = np.linspace(0.0, 300.0, 301)
    w = isotropic_odd_target(initial_moment_V(20), ct.v_rho, ct.w_star, t)
    loss = population_loss_linear(w, ct.Ef2, ct.Xf, ct.v_rho)
    assert loss[0] == pytest.approx(1.0) and np.all(np.diff(loss) <= 1e-15)
    assert loss[-1] == pytest.approx(0.4, abs=1e-12)


# ------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------

_A0, _B0 = np.array([1.0, -1.0]), np.eye(2)

BAD = [
    (lambda: odd_target_flow(_A0, np.eye(3), [1, 1], np.eye(2), [1.0]), "b0"),
    (lambda: odd_target_flow(_A0, _B0, [1, 1, 1], np.eye(2), [1.0]), "Xf"),
    (lambda: odd_target_flow(_A0, _B0, [1, 1], [[1, 2], [0, 1]], [1.0]), "Sigma"),
    (lambda: odd_target_flow(_A0, _B0, [1, 1], -np.eye(2), [1.0]), "Sigma"),
    (lambda: odd_target_flow(_A0, _B0, [1, 1], np.eye(2), [2.0, 1.0]), "t"),
    (lambda: odd_target_flow([np.nan, 1.0], _B0, [1, 1], np.eye(2), [1.0]), "a0"),
    (lambda: odd_target_flow(_A0, _B0, [1, 1], np.eye(2), [1.0], rtol=0.0), "rtol"),
    (lambda: isotropic_odd_target(0.0, 1.0, [1.0], [1.0]), "V"),
    (lambda: isotropic_odd_target(1.0, -1.0, [1.0], [1.0]), "v_rho"),
    (lambda: isotropic_odd_target(1.0, 1.0, [[1.0]], [1.0]), "w_star"),
    (lambda: isotropic_odd_target(1.0, 1.0, [1.0], [-1.0]), "t"),
    (lambda: isotropic_odd_target_euler(1.0, 1.0, [0.0], 0.1, 10), "w_star"),
    (lambda: isotropic_odd_target_euler(1.0, 1.0, [1.0], 0.1, 0), "steps"),
    (lambda: exponential_bound(1.0, 1.0, -1.0, [1.0]), "w_star_norm"),
    (lambda: asymptotic_rate(1.0, 0.0, 1.0), "v_rho"),
    (lambda: population_loss_linear([1.0, 2.0], 1.0, [1.0], 1.0), "Xf"),
    (lambda: population_loss_linear([1.0], -1.0, [1.0], 1.0), "Ef2"),
    (lambda: population_loss_linear([1.0], 1.0, [1.0]), "v_rho"),
    (lambda: population_loss_linear([1.0], 1.0, [1.0], 1.0, Sigma=[[1.0]]), "Sigma"),
    (lambda: population_loss_linear(np.ones((2, 2, 2)), 1.0, [1.0], 1.0), "w"),
    (lambda: best_linear_floor(1.0, [10.0], 1.0), "Ef2"),
    (lambda: cubic_target(0, seed=0), "d"),
    (lambda: cubic_target(3, seed=-1), "seed"),
    (lambda: initial_moment_V(2.5), "d"),
    (lambda: cubic_target(3, seed=0)(np.ones((2, 4))), "X"),
]


@pytest.mark.parametrize(("call", "name"), BAD, ids=[f"{i}-{n}" for i, (_, n) in enumerate(BAD)])
def test_bad_input_raises_naming_the_argument(call, name):
    with pytest.raises((ValueError, TypeError), match=rf"\b{name}\b"):
        call()


def test_odd_target_moments_match_the_cubic_closed_form_and_refuse_an_even_target():
    from learndyn import populations
    from learndyn._checks import AssumptionError
    from learndyn.theory.meanfield import odd_target_moments

    z = np.array([1.0, -2.0, 0.5])
    pop = populations.cubic_odd(z, C=1.0, std=0.7)
    Xf, Sigma = odd_target_moments(pop, n=400_000)
    # E[x_k^3 x_k] = 3 std^4 for Gaussian inputs; Monte-Carlo error of each entry ~ std^4 |z_k| sqrt(96) / sqrt(n)
    assert np.allclose(Xf, 3 * 0.7**4 * z, atol=6 * 0.7**4 * np.abs(z).max() * np.sqrt(96 / 400_000))
    assert np.allclose(Sigma, 0.7**2 * np.eye(3), rtol=1e-15, atol=0)
    with pytest.raises(AssumptionError, match=r"needs f\*\(-x\) = -f\*\(x\); the target of 'radial-2-of-3' breaks "
                                              r"it by max .* = 2 "):  # even: f*(x) + f*(-x) = 2 f*
        odd_target_moments(populations.radial(3, 2))
