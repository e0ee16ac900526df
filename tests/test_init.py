"""Initialisations: balancedness, product singular values, shape constraints of lambda-balanced weights."""

import numpy as np
import pytest

from learndyn import init


@pytest.mark.parametrize(
    "shape,lam",
    [
        ((5, 10, 2), 0.0),
        ((3, 4, 7), 0.0),
        ((4, 4, 4), -2.0),
        ((3, 3, 6), 1.5),
        ((6, 3, 3), -1.5),
        ((3, 5, 6), 1.0),
        ((6, 5, 3), -1.0),
        ((3, 3, 6), -1.5),
    ],
)
def test_lambda_balanced_is_balanced_and_lambda_only_changes_the_factors(shape, lam):
    n_in, n_h, n_out = shape
    W1, W2 = init.lambda_balanced(7, (n_in, n_h, n_out), lam, 0.3)
    assert W1.shape == (n_h, n_in) and W2.shape == (n_out, n_h)
    assert init.balance_residual(W1, W2, lam) < 1e-12
    # lambda sets the balance of the factors, not the map: the same seed gives the same W2 W1 at every lambda.
    V1, V2 = init.lambda_balanced(7, (n_in, n_h, n_out), 0.0, 0.3)
    np.testing.assert_allclose(W2 @ W1, V2 @ V1, atol=1e-12)
    # Deterministic in the seed, and the map of a Gaussian product: it scales as sigma^2.
    X1, X2 = init.lambda_balanced(7, (n_in, n_h, n_out), lam, 0.6)
    np.testing.assert_allclose(X2 @ X1, 4.0 * (W2 @ W1), atol=1e-12)
    Y1, Y2 = init.lambda_balanced(8, (n_in, n_h, n_out), lam, 0.3)
    assert np.max(np.abs(Y2 @ Y1 - W2 @ W1)) > 1e-3


@pytest.mark.parametrize(("shape", "lam"), [((5, 10, 2), 0.0), ((4, 4, 4), -2.0), ((3, 3, 6), 1.5)])
def test_lambda_balanced_map_has_the_spectrum_of_a_gaussian_product(shape, lam):
    # Over seeds, W2 W1 is distributed as G2 G1 with i.i.d. N(0, sigma^2) entries: E||G2 G1||_F^2 equals
    # sigma^4 n_in n_h n_out, and the mean top singular value matches that of independently drawn products
    # (400 draws each: tolerances about 5 standard errors of the means).
    n_in, n_h, n_out = shape
    sigma, draws = 0.3, 400
    maps = [np.matmul(*init.lambda_balanced(seed, shape, lam, sigma)[::-1]) for seed in range(draws)]
    frob = np.mean([np.sum(M**2) for M in maps])
    assert abs(frob / (sigma**4 * n_in * n_h * n_out) - 1.0) < 0.15
    rng = np.random.default_rng(2024)
    gauss = [rng.normal(0, sigma, (n_out, n_h)) @ rng.normal(0, sigma, (n_h, n_in)) for _ in range(draws)]
    top_ref = np.mean([np.linalg.norm(G, 2) for G in gauss])
    top = np.mean([np.linalg.norm(M, 2) for M in maps])
    assert abs(top / top_ref - 1.0) < 0.1


def test_balanced_factors_large_lambda_has_no_cancellation():
    s1, s2 = init.balanced_factors(np.array([1e-6, 0.5]), 1e8)
    np.testing.assert_allclose(s1 * s2, [1e-6, 0.5], rtol=1e-14)
    np.testing.assert_allclose(s2**2 - s1**2, 1e8, rtol=1e-14)


def test_aligned_init_is_diagonal_in_task_modes():
    rng = np.random.default_rng(0)
    sigma = rng.normal(size=(3, 5))
    a0 = np.array([0.1, 0.02, 0.003])
    W1, W2 = init.aligned(sigma, 4, a0, lam=-0.5, seed=1)
    U, s, Vt = np.linalg.svd(sigma)
    np.testing.assert_allclose(U.T @ W2 @ W1 @ Vt[:3].T, np.diag(a0), atol=1e-13)
    assert init.balance_residual(W1, W2, -0.5) < 1e-12


def test_gaussian_and_orthogonal():
    W1, W2, W3 = init.gaussian(0, (4, 200, 300, 2), 0.5)
    assert W2.shape == (300, 200)
    assert abs(W2.std() - 0.5) < 0.01
    (Q,) = init.orthogonal(0, (5, 3), 2.0)
    np.testing.assert_allclose(np.linalg.svd(Q, compute_uv=False), 2.0, rtol=1e-12)


def test_random_orthogonal_is_orthogonal_seeded_and_haar():
    Q = init.random_orthogonal(3, 5)
    np.testing.assert_allclose(Q.T @ Q, np.eye(5), atol=1e-13)
    np.testing.assert_array_equal(Q, init.random_orthogonal(3, 5))
    # A generator is advanced: two draws from one stream differ.
    rng = np.random.default_rng(3)
    assert np.max(np.abs(init.random_orthogonal(rng, 5) - init.random_orthogonal(rng, 5))) > 0.1
    # Haar: every entry is symmetric about 0 with E[Q_ij^2] = 1/n, and det = +1 or -1 equally often (a plain
    # QR without the sign fix has a one-signed diagonal).
    qs = np.stack([init.random_orthogonal(seed, 4) for seed in range(2000)])
    assert np.max(np.abs(qs.mean(axis=0))) < 0.05  # standard error 1/sqrt(4 * 2000) = 0.011
    np.testing.assert_allclose((qs**2).mean(axis=0), 0.25, atol=0.03)
    assert abs(np.mean(np.linalg.det(qs) > 0) - 0.5) < 0.05
    with pytest.raises(ValueError, match="n must be a positive integer"):
        init.random_orthogonal(0, 0)


@pytest.mark.parametrize(("shape", "lam"), [((3, 4, 2), 0.0), ((2, 5, 4), 0.0), ((3, 3, 5), 0.7), ((4, 3, 3), -0.4)])
def test_balanced_from_qqt_rebuilds_a_balanced_net_with_that_gram_matrix(shape, lam):
    n_in, n_h, n_out = shape
    W1, W2 = init.lambda_balanced(1, shape, lam, 0.5)
    Q = np.concatenate([W1, W2.T], axis=1)  # Q^T = [W1, W2^T]
    V1, V2 = init.balanced_from_qqt(Q.T @ Q, n_in, n_h, lam)
    assert V1.shape == (n_h, n_in) and V2.shape == (n_out, n_h)
    R = np.concatenate([V1, V2.T], axis=1)
    np.testing.assert_allclose(R.T @ R, Q.T @ Q, atol=1e-12)
    assert init.balance_residual(V1, V2, lam) < 1e-13


def test_balanced_from_qqt_refuses_an_underdetermined_lambda_net():
    W1, W2 = init.lambda_balanced(1, (3, 4, 5), 0.5, 0.5)
    Q = np.concatenate([W1, W2.T], axis=1)
    with pytest.raises(ValueError, match="lam = 0 or n_h = m = 3"):
        init.balanced_from_qqt(Q.T @ Q, 3, 4, 0.5)
    with pytest.raises(ValueError, match="qqt must be square"):
        init.balanced_from_qqt(np.eye(3)[:, :2], 1, 2)


def test_shape_and_sign_errors():
    with pytest.raises(ValueError, match="lam=-1.0 < 0 is impossible for n_h=5 > n_in=3"):
        init.lambda_balanced(0, (3, 5, 6), -1.0, 0.1)
    with pytest.raises(ValueError, match="lam=1.0 > 0 is impossible for n_h=5 > n_out=3"):
        init.lambda_balanced(0, (6, 5, 3), 1.0, 0.1)
    with pytest.raises(ValueError, match="n_h=1 < min"):
        init.zero_balanced(0, (3, 1, 3), 0.1)
    with pytest.raises(ValueError, match="sigma must be a finite number > 0"):
        init.zero_balanced(0, (3, 3, 3), -0.1)
    with pytest.raises(ValueError, match="W2 must have 3 columns"):
        init.from_weights(np.ones((3, 2)), np.ones((2, 4)))
