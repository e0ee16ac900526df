"""Tests for learndyn.theory.radial: the reduced 1-D solver of a wide ReLU net on the radial target ``||x_H||``.

References, none produced by the code under test:

* ``alpha``: SciPy ``quad`` of ``E relu(u_1)`` with the density ``(1 - u^2)^((d_H-3)/2)`` of ``u_1``;
* ``psi_bar``: SciPy ``dblquad`` with the densities of ``r`` and ``s`` (``d_H, d_perp >= 3``), and a second,
  semi-closed form written here (``E_s relu(c + B s)`` by regularised incomplete beta functions, then ``quad`` over
  ``r = cos(phi)``; any dimension, ``1`` included);
* ``G``, ``G'`` and the loss: deterministic quadrature over ``omega`` of the semi-closed ``psi_bar`` (``G'`` by
  central finite differences of ``G``);
* the dynamics: full two-layer ReLU particles, rotated at random in ``H`` and ``H^perp``, differentiated by
  ``jax.grad`` of ``1/2 mean (f - y)^2`` on samples of the ``sqrt(d)`` sphere (learning rate ``m eta``);
* Monte-Carlo checks are made within a few standard errors computed in the test (or bounded from above), with fixed
  seeds, and each also checks that its standard error is small against the effect it tests.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special, stats

from learndyn.theory import radial

# --------------------------------------------------------------------------------------------------------------
# independent references


def _coord_density(k):
    """Density of the first coordinate of a uniform unit vector of ``R^k`` (``k >= 2``)."""
    a = 0.5 * (k - 1)
    return lambda x: (1.0 - x * x) ** (a - 1.0) / special.beta(0.5, a)


def _psi_dblquad(theta, omega, d_H, d_perp):
    """``E relu(A r + B s)`` by ``dblquad`` over the region where the argument is positive (smooth integrand)."""
    A, B = np.cos(theta) * np.cos(omega), np.sin(theta) * np.sin(omega)
    pr, ps = _coord_density(d_H), _coord_density(d_perp)
    lo = lambda r: float(np.clip(-A * r / B, -1.0, 1.0))
    val, _ = integrate.dblquad(lambda s, r: (A * r + B * s) * pr(r) * ps(s), -1.0, 1.0, lo, 1.0,
                                 epsabs=1e-11, epsrel=1e-10)  # fmt: skip
    return val


def _h(cval, B, q):
    """``E_s relu(cval + B s)`` for ``s`` the first coordinate of a uniform unit vector of ``R^q``, ``B >= 0``."""
    if B == 0.0:
        return max(cval, 0.0)
    if q == 1:
        return 0.5 * (max(cval + B, 0.0) + max(cval - B, 0.0))
    s0 = float(np.clip(-cval / B, -1.0, 1.0))
    a = 0.5 * (q - 1)
    tail = special.betainc(a, a, 0.5 * (1.0 - s0))  # P(s > s0): (1 + s)/2 ~ Beta(a, a)
    first = (1.0 - s0 * s0) ** a / (2.0 * a * special.beta(0.5, a))  # E[s; s > s0]
    return cval * tail + B * first


def _psi_semi(theta, omega, d_H, d_perp):
    """``psi_bar`` by the closed inner mean over ``s`` and ``quad`` over ``r = cos(phi)`` (any dimensions)."""
    A, B = np.cos(theta) * np.cos(omega), np.sin(theta) * np.sin(omega)
    if d_H == 1:
        return 0.5 * (_h(A, B, d_perp) + _h(-A, B, d_perp))
    w = lambda phi: np.sin(phi) ** (d_H - 2) / special.beta(0.5, 0.5 * (d_H - 1))
    pts = [np.arccos(x) for x in (B / A, -B / A) if A > 0 and abs(x) < 1]
    val, _ = integrate.quad(lambda phi: _h(A * np.cos(phi), B, d_perp) * w(phi), 0.0, np.pi, points=pts or None,
                            epsabs=1e-12, epsrel=1e-11, limit=200)  # fmt: skip
    return val


def _omega_density(d_H, d_perp):
    """Density of ``omega`` on ``[0, pi/2]`` with ``cos^2(omega) ~ Beta(d_H/2, d_perp/2)``."""
    Bn = special.beta(0.5 * d_H, 0.5 * d_perp)
    return lambda w: 2.0 * np.cos(w) ** (d_H - 1) * np.sin(w) ** (d_perp - 1) / Bn


class _Quadrature:
    """``G``, ``G'`` and the loss of a reduced state by 64-point Gauss-Legendre quadrature over ``omega`` of the
    semi-closed ``psi_bar`` (checked against adaptive ``quad`` over ``omega``: 2e-8 in ``G`` for the state below)."""

    def __init__(self, theta, c, d, d_H, n=64):
        x, w = np.polynomial.legendre.leggauss(n)
        self.omega, self.d, self.d_H, self.d_perp = (x + 1.0) * np.pi / 4, d, d_H, d - d_H
        self.weight = w * np.pi / 4 * _omega_density(d_H, d - d_H)(self.omega)
        self.ftilde = sum(cj * self.psi(tj) for tj, cj in zip(theta, c, strict=True)) / len(c)

    def psi(self, th):
        return np.array([_psi_semi(th, o, self.d_H, self.d_perp) for o in self.omega])

    def G(self, th):
        return self.d * np.sum(self.weight * (np.cos(self.omega) - self.ftilde) * self.psi(th))

    def dG(self, th, h=1e-4):  # central difference: error O(h^2) ~ 1e-8 here
        return (self.G(th + h) - self.G(th - h)) / (2.0 * h)

    def loss(self):
        return 0.5 * self.d * np.sum(self.weight * (np.cos(self.omega) - self.ftilde) ** 2)


# A small reduced state used by several tests (d = 6, d_H = 2: the arcsine law of r, d_perp = 4).
D, D_H = 6, 2
THETA = np.array([0.25, 0.8, 1.3])
C = np.array([1.2, -0.7, 0.9])
EPS = np.sign(C)
N_MC = 400_000


@pytest.fixture(scope="module")
def quad():
    q = _Quadrature(THETA, C, D, D_H)
    return q, np.array([q.G(t) for t in THETA]), np.array([q.dG(t) for t in THETA])


@pytest.fixture(scope="module")
def estimate():
    """``G_estimate`` at the particles' angles and at both ends, with standard errors (one compiled call)."""
    at = np.concatenate([THETA, [0.0, np.pi / 2]])
    return radial.G_estimate(at, THETA, C, d=D, d_H=D_H, n_mc=N_MC, key=11, stderr=True)


# --------------------------------------------------------------------------------------------------------------
# alpha


@pytest.mark.parametrize("d_H", [1, 2, 3, 5, 10, 40])
def test_alpha_normalises_the_mean_relu_of_a_uniform_coordinate(d_H):
    if d_H == 1:
        mean = 0.5  # u_1 = +-1
    else:
        mean, _ = integrate.quad(lambda u: u * _coord_density(d_H)(u), 0.0, 1.0, epsabs=1e-14, epsrel=1e-12)
    assert radial.alpha(d_H) * mean == pytest.approx(1.0, rel=1e-9)


def test_alpha_values_and_large_dimension():
    assert radial.alpha(5) == pytest.approx(16.0 / 3.0, rel=1e-12)  # 2 sqrt(pi) Gamma(3) / Gamma(5/2) = 16/3
    assert radial.alpha(2) == pytest.approx(np.pi, rel=1e-12)
    big = radial.alpha(10**6)
    assert np.isfinite(big) and big == pytest.approx(np.sqrt(2 * np.pi * 10**6), rel=1e-6)
    with pytest.raises(ValueError, match="d_H must be a positive integer"):
        radial.alpha(0)


# --------------------------------------------------------------------------------------------------------------
# the sampler: psi_bar


def _psi_mc(theta, omegas, d_H, d_perp, n, key):
    """``psi_bar`` by :func:`radial.predict` of one unit particle, and an upper bound on its standard error
    (``sd(relu z) <= sqrt(E z^2) = sqrt(A^2 / d_H + B^2 / d_perp)``)."""
    d = d_H + d_perp
    got = radial.predict([theta], [1.0], np.cos(omegas), d=d, d_H=d_H, n_mc=n, key=key) / np.sqrt(d)
    A, B = np.cos(theta) * np.cos(omegas), np.sin(theta) * np.sin(omegas)
    return got, np.sqrt((A * A / d_H + B * B / d_perp) / n)


@pytest.mark.parametrize(("theta", "d_H", "d_perp"), [(0.3, 3, 3), (1.1, 3, 5), (0.6, 4, 7)])
def test_psi_bar_sampler_matches_dblquad(theta, d_H, d_perp):
    omegas = np.array([0.4, 0.9, 1.2])
    ref = np.array([_psi_dblquad(theta, w, d_H, d_perp) for w in omegas])
    semi = np.array([_psi_semi(theta, w, d_H, d_perp) for w in omegas])
    assert np.allclose(semi, ref, rtol=0, atol=1e-8)  # the two references agree
    got, se_bound = _psi_mc(theta, omegas, d_H, d_perp, 300_000, key=3)
    assert np.all(np.abs(got - ref) < 5 * se_bound), (got, ref, se_bound)
    assert np.all(se_bound < 0.01 * ref)  # resolves errors of a few per cent (a wrong dimension moves psi_bar more)


@pytest.mark.parametrize(("d_H", "d_perp"), [(1, 1), (1, 4), (2, 1)])
def test_psi_bar_sampler_is_exact_in_low_dimensions(d_H, d_perp):
    """``r = +-1`` or ``s = +-1`` (degenerate Beta laws): the Gaussian-normalising sampler is still exact."""
    omegas = np.array([0.3, 0.6, 1.3])
    ref = np.array([_psi_semi(0.7, w, d_H, d_perp) for w in omegas])
    got, se_bound = _psi_mc(0.7, omegas, d_H, d_perp, 300_000, key=5)
    assert np.all(np.abs(got - ref) < 5 * se_bound), (got, ref, se_bound)


def test_predict_of_alpha_delta_is_the_target():
    cw = np.cos([0.4, 0.9, 1.2])  # the shapes of the (3, 3) case above: no new compilation
    f = radial.predict([0.0], [radial.alpha(3)], cw, d=6, d_H=3, n_mc=300_000, key=0)
    assert np.allclose(f, np.sqrt(6) * cw, rtol=0.01)


# --------------------------------------------------------------------------------------------------------------
# G and G'


def test_G_estimate_matches_quadrature(quad, estimate):
    _, G_ref, dG_ref = quad
    G, dG, seG, sedG = (v[:3] for v in estimate)
    assert np.all(np.abs(G - G_ref) < 5 * seG), (G, G_ref, seG)
    assert np.all(np.abs(dG - dG_ref) < 5 * sedG), (dG, dG_ref, sedG)
    assert np.all(seG < 0.02 * np.abs(G_ref)) and np.all(sedG < 0.05 * np.abs(dG_ref))  # the check has power


def test_G_is_even_about_zero_and_pi_half(quad, estimate):
    q = quad[0]
    G, dG, seG, sedG = (v[3:] for v in estimate)
    assert np.all(np.abs(dG) < 5 * sedG)  # G' = 0 at both ends: G is even about 0 and pi/2 (what folding uses)
    assert abs(q.dG(0.4)) > 20 * sedG[0]  # the check resolves a G' of the size it has inside
    assert np.all(np.abs(G - [q.G(0.0), q.G(np.pi / 2)]) < 5 * seG)


# --------------------------------------------------------------------------------------------------------------
# the dynamics


@pytest.fixture(scope="module")
def one_step_runs():
    """Six one-step runs of the small state (one compilation): first-step velocities and the loss at ``t = 0``."""
    eta = 1e-3
    return eta, [radial.solve(THETA, C, EPS, d=D, d_H=D_H, eta=eta, t=[0.0, eta], n_mc=N_MC, n_loss=40_000,
                              loss_draws=4, key=k) for k in range(6)]  # fmt: skip


def test_first_step_is_euler_of_the_1d_flow(quad, estimate, one_step_runs):
    _, G_ref, dG_ref = quad
    seG, sedG = estimate[2][:3], estimate[3][:3]  # the per-step estimates have the same n_mc, so the same errors
    eta, runs = one_step_runs
    run = runs[0]
    assert run.steps.tolist() == [0, 1]
    assert np.array_equal(run.theta[0], THETA) and np.array_equal(run.c[0], C)
    dc = (run.c[1] - run.c[0]) / eta
    dth = (run.theta[1] - run.theta[0]) / eta
    assert np.all(np.abs(dc - 2 * EPS * C * G_ref) < 5 * 2 * np.abs(C) * seG), (dc, 2 * EPS * C * G_ref)
    assert np.all(np.abs(dth - EPS * dG_ref) < 5 * sedG), (dth, EPS * dG_ref)


def test_loss_is_the_unbiased_population_loss(quad, one_step_runs):
    ref = quad[0].loss()
    vals = np.array([run.loss[0] for run in one_step_runs[1]])
    se = vals.std(ddof=1) / np.sqrt(len(vals))
    assert abs(vals.mean() - ref) < 5 * se, (vals, ref)
    assert se < 0.005 * ref  # resolves a bias of a few per cent (e.g. the plain mean of R^2)


def _random_orthogonal(rng, k):
    q, r = np.linalg.qr(rng.normal(size=(k, k)))
    return q * np.sign(np.diag(r))


def _half_sse(params, X, y):
    """``1/2 sum (f - y)^2`` of the full net ``f = (1/m) sum_j a_j relu(<b_j, x>)`` on a chunk of inputs."""
    a, b = params
    f = jax.nn.relu(X @ b.T) @ a / a.shape[0]
    return 0.5 * jnp.sum((f - y) ** 2)


_grad_half_sse = jax.jit(jax.grad(_half_sse))


def _full_particle_velocities(rng, K, n_x, chunk=1000):
    """One replicate: ``K`` random rotations (one per copy, in ``H`` and in ``H^perp``) of the base particles,
    ``n_x`` inputs on the sqrt(d) sphere; the copy-averaged ``dc/dt`` and ``dtheta/dt`` of each base particle from
    ``jax.grad`` of the full net's ``1/2 mean (f - y)^2`` with learning rate ``m eta`` and ``t = eta * step``."""
    m0 = len(C)
    a, b = [], []
    for _ in range(K):
        eH = _random_orthogonal(rng, D_H)[:, 0]
        eP = _random_orthogonal(rng, D - D_H)[:, 0]
        for tj, cj in zip(THETA, C, strict=True):
            a.append(np.sign(cj) * np.sqrt(abs(cj)))  # balanced: |a| = ||b||, a ||b|| = c
            b.append(np.sqrt(abs(cj)) * np.concatenate([np.cos(tj) * eH, np.sin(tj) * eP]))
    a, b = jnp.asarray(a), jnp.asarray(b)
    m = a.shape[0]
    g = rng.normal(size=(n_x, D))
    X = jnp.asarray(np.sqrt(D) * g / np.linalg.norm(g, axis=1, keepdims=True))
    y = jnp.linalg.norm(X[:, :D_H], axis=1)
    ga, gb = jnp.zeros_like(a), jnp.zeros_like(b)
    for i in range(0, n_x, chunk):
        da, db = _grad_half_sse((a, b), X[i : i + chunk], y[i : i + chunk])
        ga, gb = ga + da, gb + db
    a_dot, b_dot = -m * ga / n_x, -m * gb / n_x  # (a, b) <- (a, b) - (m eta) grad (1/2 mean), per unit time

    nb = jnp.linalg.norm(b, axis=1)
    c_dot = a_dot * nb + a * jnp.sum(b * b_dot, axis=1) / nb
    angle = lambda bb: jnp.arctan2(jnp.linalg.norm(bb[D_H:]), jnp.linalg.norm(bb[:D_H]))
    th_dot = jax.vmap(lambda bb, vv: jax.jvp(angle, (bb,), (vv,))[1])(b, b_dot)
    return np.asarray(c_dot).reshape(K, m0).mean(0), np.asarray(th_dot).reshape(K, m0).mean(0)


def test_full_particles_averaged_over_rotations_follow_the_1d_formulas(quad):
    """Reduced version (test budget): 8 replicates of 1500 rotation copies (m = 4500) on 2000 inputs each; the
    replicate spread gives the standard error (about 0.5% of dc/dt and 2% of dtheta/dt). A finite rotation set
    interacts with itself (a particle's own copy is part of f), a bias O(1/K): measured 0.6% of dc/dt at K = 400,
    so about 0.15% here, covered by the 0.3% allowance."""
    _, G_ref, dG_ref = quad
    rng = np.random.default_rng(7)
    reps = [_full_particle_velocities(rng, K=1500, n_x=2000) for _ in range(8)]
    cd = np.array([r[0] for r in reps])
    td = np.array([r[1] for r in reps])
    se_c = cd.std(0, ddof=1) / np.sqrt(len(reps))
    se_t = td.std(0, ddof=1) / np.sqrt(len(reps))
    want_c, want_t = 2 * EPS * C * G_ref, EPS * dG_ref
    assert np.all(np.abs(cd.mean(0) - want_c) < 5 * se_c + 3e-3 * np.abs(want_c)), (cd.mean(0), want_c, se_c)
    assert np.all(np.abs(td.mean(0) - want_t) < 5 * se_t + 3e-3 * np.abs(want_t)), (td.mean(0), want_t, se_t)
    assert np.all(se_c < 0.05 * np.abs(want_c)) and np.all(se_t < 0.05 * np.abs(want_t))  # the check has power


def _small_run(t, eta=0.01, key=8):  # one set of shapes for the three tests below: one compilation
    theta, c, eps = radial.initial_state(0, 16, d=5, d_H=2)
    return radial.solve(theta, c, eps, d=5, d_H=2, eta=eta, t=t, n_mc=50, n_loss=2000, key=key)


def test_short_run_learns_and_stays_in_range():
    run = _small_run([0.0, 2.0, 10.0], eta=0.02)
    assert run.theta.min() >= 0 and run.theta.max() <= np.pi / 2
    assert np.all(run.eps * run.c >= 0)  # c = eps ||b||^2 keeps its sign
    assert run.loss[-1] < 0.5 * run.loss[0]


def test_records_do_not_change_the_trajectory():
    r1, r2 = _small_run([0.0, 0.1, 0.3]), _small_run([0.0, 0.2, 0.3])
    assert np.array_equal(r1.c[-1], r2.c[-1]) and np.array_equal(r1.theta[-1], r2.theta[-1])
    assert not np.array_equal(r1.c[1], r2.c[1])


def test_solve_stops_on_a_non_finite_state():
    with pytest.raises(FloatingPointError, match=r"non-finite at step \d+ .* try a smaller eta \(now 100\)"):
        _small_run([0.0, 1e4, 2e4], eta=100.0)


# --------------------------------------------------------------------------------------------------------------
# 1-D variables of full particles


def test_from_particles_and_initial_state():
    a = np.array([2.0, -1.0, 0.0])
    b = np.array([[0.0, 2.0, 0.0, 0.0], [np.sqrt(0.5), 0.0, 0.0, -np.sqrt(0.5)], [0.0, 0.0, 0.0, 0.0]])
    theta, c, eps = radial.from_particles(a, b, d_H=2)
    assert np.allclose(theta, [0.0, np.pi / 4, 0.0]) and np.allclose(c, [4.0, -1.0, 0.0])
    assert eps.tolist() == [1.0, -1.0, 1.0]
    th0, c0, e0 = radial.initial_state(3, 4000, d=30, d_H=5)
    assert np.allclose(np.abs(c0), 1.0) and np.array_equal(np.sign(c0), e0)
    assert stats.kstest(np.cos(th0) ** 2, stats.beta(2.5, 12.5).cdf).pvalue > 1e-3
    assert 0.3 < np.mean(e0 > 0) < 0.7


def test_from_particles_rejects_unbalanced_and_bad_d_H():
    with pytest.raises(ValueError, match=r"not balanced: max \| \|a_j\| - \|\|b_j\|\| \| / max size = 0.5"):
        radial.from_particles([1.0, 2.0], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], d_H=1)
    with pytest.raises(ValueError, match="d_H must be in 1..d-1 = 1..2"):
        radial.from_particles([1.0], [[1.0, 0.0, 0.0]], d_H=3)
    with pytest.raises(ValueError, match="b must have 1 rows"):
        radial.from_particles([1.0], [[1.0, 0.0], [0.0, 1.0]], d_H=1)


# --------------------------------------------------------------------------------------------------------------
# diagnostics


def test_tau_masses_histograms_and_distances_on_a_hand_built_state():
    theta = np.array([0.0, 0.1, 0.8, 1.5, np.pi / 2])
    c = np.array([4.0, 2.0, -1.0, 1.0, -3.0])
    eps = np.sign(c)
    plus, minus = radial.tau_masses(c, eps)
    assert (plus, minus) == pytest.approx((7.0 / 5, 4.0 / 5))
    edges, hp, hm = radial.weighted_histograms(theta, c, eps, bins=4)
    assert np.allclose(edges, np.linspace(0, np.pi / 2, 5))
    assert np.allclose(hp, [6 / 5, 0, 0, 1 / 5]) and np.allclose(hm, [0, 0, 1 / 5, 3 / 5])
    dist = radial.distance_to_alpha_delta(theta, c, eps, d_H=5)
    assert dist["position"] == pytest.approx((2.0 * 0.1 + 1.5) / 7.0)
    assert dist["mass"] == pytest.approx(abs(7.0 / 5 - 16.0 / 3)) and dist["minus_mass"] == pytest.approx(0.8)
    at_target = radial.distance_to_alpha_delta([0.0, 0.0], [radial.alpha(3)] * 2, [1, 1], d_H=3)
    assert at_target == pytest.approx({"position": 0.0, "mass": 0.0, "minus_mass": 0.0})


def test_diagnostics_on_trajectories():
    theta = np.array([[0.0, 1.0], [0.5, 1.5]])
    c = np.array([[1.0, -1.0], [3.0, -0.5]])
    eps = np.array([1.0, -1.0])
    plus, minus = radial.tau_masses(c, eps)
    assert np.allclose(plus, [0.5, 1.5]) and np.allclose(minus, [0.5, 0.25])
    _, hp, hm = radial.weighted_histograms(theta, c, eps, bins=2)
    assert hp.shape == (2, 2) and np.allclose(hp.sum(1), plus) and np.allclose(hm.sum(1), minus)
    dist = radial.distance_to_alpha_delta(theta, c, eps, d_H=1)
    assert np.allclose(dist["position"], [0.0, 0.5]) and np.allclose(dist["mass"], [1.5, 0.5])
    nan = radial.distance_to_alpha_delta([0.3], [-1.0], [-1], d_H=1)
    assert np.isnan(nan["position"]) and nan["mass"] == 2.0


# --------------------------------------------------------------------------------------------------------------
# errors


def test_solve_validates_its_inputs():
    ok = dict(d=5, d_H=2, eta=0.01, t=[0.0, 0.1], n_mc=10)
    with pytest.raises(ValueError, match="eta must be a finite number > 0; got 0"):
        radial.solve([0.1], [1.0], [1.0], **{**ok, "eta": 0})
    with pytest.raises(ValueError, match=r"eps must hold only \+1 and -1 .* got 0.0 at index 1"):
        radial.solve([0.1, 0.2], [1.0, 0.0], [1.0, 0.0], **ok)
    with pytest.raises(ValueError, match=r"theta must lie in \[0, pi/2\] .* got values in \[0.1, 2\]"):
        radial.solve([0.1, 2.0], [1.0, 1.0], [1.0, 1.0], **ok)
    with pytest.raises(ValueError, match="c and eps disagree in sign at particle 1"):
        radial.solve([0.1, 0.2], [1.0, 1.0], [1.0, -1.0], **ok)
    with pytest.raises(ValueError, match="theta and c must have the same shape"):
        radial.solve([0.1, 0.2], [1.0], [1.0], **ok)
    with pytest.raises(ValueError, match="d_H must be in 1..d-1 = 1..4"):
        radial.solve([0.1], [1.0], [1.0], **{**ok, "d_H": 5})
    with pytest.raises(ValueError, match="t must be non-decreasing"):
        radial.solve([0.1], [1.0], [1.0], **{**ok, "t": [0.2, 0.1]})
    with pytest.raises(ValueError, match="n_mc must be a positive integer"):
        radial.solve([0.1], [1.0], [1.0], **{**ok, "n_mc": 0})
    with pytest.raises(TypeError, match="key must be a non-negative integer seed or a single jax.random key"):
        radial.solve([0.1], [1.0], [1.0], **ok, key="zero")
    with pytest.raises(ValueError, match="c contains 1 non-finite"):
        radial.solve([0.1], [np.nan], [1.0], **ok)


def test_estimators_validate_their_inputs():
    with pytest.raises(ValueError, match=r"theta_eval must lie in \[0, pi/2\]"):
        radial.G_estimate([-0.5], [0.1], [1.0], d=5, d_H=2)
    with pytest.raises(ValueError, match=r"cos_omega must be a non-empty array of values in \[0, 1\]"):
        radial.predict([0.1], [1.0], [1.5], d=5, d_H=2)
    with pytest.raises(ValueError, match="eps must have shape"):
        radial.tau_masses([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="bins must be a positive integer"):
        radial.weighted_histograms([0.1], [1.0], [1.0], bins=0)


def test_predictor_draws_keep_the_step_unbiased_and_cut_its_spread():
    """At the fit alpha delta_0 (G = 0) the residual is the predictor's own sampling noise: averaging it over K shared
    draws keeps the step unbiased and cuts the step's spread by about sqrt(K)."""
    m = 4
    theta, c, eps = np.zeros(m), np.full(m, radial.alpha(D_H)), np.ones(m)
    eta, keys = 1e-3, range(16)
    dc = {}
    for K in (1, 8):
        runs = [radial.solve(theta, c, eps, d=D, d_H=D_H, eta=eta, t=[0.0, eta], n_mc=2000, n_loss=16, loss_draws=1,
                             predictor_draws=K, key=k) for k in keys]  # fmt: skip
        dc[K] = np.array([(r.c[1] - r.c[0]) / eta for r in runs])
        se = dc[K].std(0, ddof=1) / np.sqrt(len(keys))
        assert np.all(np.abs(dc[K].mean(0)) < 5 * se), K
    ratio = np.mean(dc[8].std(0)) / np.mean(dc[1].std(0))
    assert ratio < 0.6, ratio  # sqrt(1/8) = 0.35 if the predictor noise were all
