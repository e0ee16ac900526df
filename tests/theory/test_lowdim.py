"""The (a, b_H, r) reduction of a mean-field ReLU net on a low-dimensional target: the averaged feature against SciPy
quadrature, the reduced predictor and gradient against plain autodiff of a full net whose neurons are spread over
all rotations of H^perp, the time convention, and the assumption check."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special

from learndyn import populations
from learndyn._checks import AssumptionError
from learndyn.theory.lowdim import LowDim, sgd, subspace_violation


def _quad_slice_mean(c, k, q):
    """E relu(c + k s) with s the first coordinate of a uniform unit vector of R^q, by SciPy quadrature."""
    if q == 1:
        return 0.5 * (max(c + k, 0.0) + max(c - k, 0.0))
    beta, lZ = 0.5 * (q - 3), special.betaln(0.5, 0.5 * (q - 1))

    def integrand(s):
        return max(c + k * s, 0.0) * np.exp(beta * np.log1p(-s * s) - lZ)

    s0 = min(max(-c / k, -1.0), 1.0)
    return integrate.quad(integrand, s0, 1.0, limit=400, epsabs=1e-14, epsrel=1e-12)[0]


CK = [(0.3, 1.0), (-0.2, 0.5), (1.0, 0.2), (-1.0, 0.3), (0.0, 2.0), (0.01, 0.02), (-0.03, 1.0), (0.5, 0.0)]


@pytest.mark.parametrize("q", [1, 2, 3, 4, 7, 40, 301])
def test_slice_mean_matches_quadrature_and_its_derivatives_match_finite_differences(q):
    red = LowDim(d=q + 2, d_H=2)
    c, k = (np.array(v) for v in zip(*CK, strict=True))
    got = np.asarray(red.slice_mean(c, k))
    want = np.array([_quad_slice_mean(ci, ki, q) if ki > 0 else max(ci, 0.0) for ci, ki in CK])
    tol = 1e-8 if q == 2 else 1e-12  # the arcsine endpoint singularity limits quad, not the closed form
    assert np.max(np.abs(got - want)) <= tol
    g_c, g_k = jax.vmap(jax.grad(lambda c, k: red.slice_mean(c, k), argnums=(0, 1)))(jnp.asarray(c), jnp.asarray(k))
    h = 1e-6
    fd_c = (np.asarray(red.slice_mean(c + h, k)) - np.asarray(red.slice_mean(c - h, k))) / (2 * h)
    fd_k = (np.asarray(red.slice_mean(c, k + h)) - np.asarray(red.slice_mean(c, np.abs(k - h)))) / (2 * h)
    smooth = k > 1e-3  # at k = 0 the feature is relu(c) + O(k^2): the k-derivative there is 0
    assert np.max(np.abs(np.asarray(g_c) - fd_c)) <= 1e-7
    assert np.max(np.abs(np.asarray(g_k)[smooth] - fd_k[smooth])) <= 1e-7
    assert np.all(np.asarray(g_k)[~smooth] == 0.0)


def _rotated_copies(a, b, d_H, K):
    """Every neuron's H^perp part turned by K equally spaced rotations of the plane H^perp (d_perp = 2)."""
    ang = 2 * np.pi * np.arange(K) / K
    R = np.stack([np.stack([np.cos(ang), -np.sin(ang)], -1), np.stack([np.sin(ang), np.cos(ang)], -1)], -2)
    b_perp = np.einsum("kxy,jy->jkx", R, b[:, d_H:])
    bb = np.concatenate([np.broadcast_to(b[:, None, :d_H], b_perp.shape[:2] + (d_H,)), b_perp], -1)
    return np.repeat(a, K), bb.reshape(-1, b.shape[1])


def test_reduced_predictor_and_gradient_are_those_of_the_rotation_averaged_full_net():
    """d_perp = 2: the full net with every neuron copied over K rotations of H^perp is a K-point trapezoid rule of the
    rotation average: error O(K^-2) for the kinked predictor, O(1/K) for the gradient in b, whose integrand jumps
    where a neuron switches off. Its autodiff gradient summed over the copies (the radial part for r) must be the
    reduced gradient."""
    rng = np.random.default_rng(0)
    d, d_H, m, n, K = 5, 3, 6, 40, 16384
    a, b = rng.choice([-1.0, 1.0], m), rng.standard_normal((m, d))
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    red = LowDim(d, d_H)
    p = red.pushforward(a, b)
    A, B = _rotated_copies(a, b, d_H, K)

    def full_loss(A, B):
        f = jax.nn.relu(X @ B.T) @ A / A.shape[0]
        return 0.5 * jnp.mean((f - y) ** 2)

    f_full = jax.nn.relu(X @ B.T) @ A / A.shape[0]
    f_red = red.apply(p, X)
    assert np.max(np.abs(np.asarray(f_full - f_red))) <= 1e-6 * np.max(np.abs(np.asarray(f_red)))

    gA, gB = jax.grad(full_loss, argnums=(0, 1))(jnp.asarray(A), jnp.asarray(B))
    gA, gB = np.asarray(gA).reshape(m, K), np.asarray(gB).reshape(m, K, d)
    Bc = B.reshape(m, K, d)
    radial = np.sum(gB[..., d_H:] * Bc[..., d_H:], -1) / np.linalg.norm(Bc[..., d_H:], axis=-1)
    g = jax.grad(red.loss)(p, jnp.asarray(X), jnp.asarray(y))
    scale = np.max(np.abs(np.asarray(g["a"])))
    assert np.max(np.abs(gA.sum(1) - np.asarray(g["a"]))) <= 1e-6 * scale
    assert np.max(np.abs(gB[..., :d_H].sum(1) - np.asarray(g["b_H"]))) <= 2 * scale / K
    assert np.max(np.abs(radial.sum(1) - np.asarray(g["r"]))) <= 2 * scale / K


def test_rotation_average_in_higher_dimension_within_monte_carlo_error():
    """d_perp = 6: the average over random rotations of H^perp, estimated with 20000 Haar draws, within 5 standard
    errors of the closed form."""
    rng = np.random.default_rng(1)
    d, d_H, K = 8, 2, 20000
    red = LowDim(d, d_H)
    b, x = rng.standard_normal(d), rng.standard_normal(d)
    u = rng.standard_normal((K, d - d_H))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    samples = np.maximum(b[:d_H] @ x[:d_H] + np.linalg.norm(b[d_H:]) * u @ x[d_H:], 0.0)
    want = float(red.slice_mean(b[:d_H] @ x[:d_H], np.linalg.norm(b[d_H:]) * np.linalg.norm(x[d_H:])))
    assert abs(samples.mean() - want) <= 5 * samples.std() / np.sqrt(K)


def test_one_reduced_step_is_the_gradient_at_rate_m_eta():
    d, d_H, m, eta, B = 7, 2, 16, 0.05, 32
    red = LowDim(d, d_H)
    pop = populations.radial(d, d_H, law="sphere")
    rng = np.random.default_rng(2)
    p0 = red.pushforward(rng.choice([-1.0, 1.0], m), rng.standard_normal((m, d)))
    run = sgd(red, p0, pop, eta=eta, t=[0.0, eta], batch_size=B, key=jax.random.key(5))
    # the loop splits the key once per step and samples with the second half
    X, y = pop.sample(jax.random.split(jax.random.key(5))[1], B)
    g = jax.grad(red.loss)(p0, X, y)
    for name in p0:
        want = np.asarray(p0[name]) - m * eta * np.asarray(g[name])
        assert np.allclose(run.params[name][1], want, rtol=0, atol=1e-13)
    assert run.t.tolist() == [0.0, eta]


def test_a_target_off_the_subspace_is_refused_with_its_size():
    pop = populations.radial(6, 3)
    assert subspace_violation(populations.radial(6, 2), 2) == 0.0
    red = LowDim(6, 2)
    p = red.pushforward(np.ones(4), np.ones((4, 6)))
    with pytest.raises(AssumptionError, match=r"depends on x outside H .* changes it by 0\.\d+"):
        sgd(red, p, pop, eta=0.01, t=[0.0, 0.1], batch_size=8)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: LowDim(5, 5), "d_H must be in 1..d-1"),
        (lambda: LowDim(5, 0), "d_H"),
        (lambda: LowDim(5, 2).pushforward(np.ones(3), np.ones((3, 4))), r"b must have shape"),
        (lambda: sgd(LowDim(5, 2), {"a": np.ones(2)}, populations.radial(5, 2), eta=0.1, t=[0, 1], batch_size=4),
         "keys 'a', 'b_H', 'r'"),
        (lambda: sgd(LowDim(6, 2), LowDim(6, 2).pushforward(np.ones(2), np.ones((2, 6))), populations.radial(5, 2),
                     eta=0.1, t=[0, 1], batch_size=4), "d = 6 but the population has d = 5"),
        (lambda: sgd(LowDim(5, 2), LowDim(5, 2).pushforward(np.ones(2), np.ones((2, 5))), populations.radial(5, 2),
                     eta=-1.0, t=[0, 1], batch_size=4), "eta"),
    ],
)  # fmt: skip
def test_bad_input_is_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_divergence_stops_with_a_message():
    red = LowDim(5, 2)
    p = red.pushforward(np.ones(4), np.ones((4, 5)))
    with pytest.raises(FloatingPointError, match="diverged at step"):
        sgd(red, p, populations.radial(5, 2), eta=1e3, t=[0.0, 1e5], batch_size=8)
