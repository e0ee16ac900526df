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
def test_lambda_balanced_is_balanced_with_gaussian_product_spectrum(shape, lam):
    n_in, n_h, n_out = shape
    W1, W2 = init.lambda_balanced(7, (n_in, n_h, n_out), lam, 0.3)
    assert W1.shape == (n_h, n_in) and W2.shape == (n_out, n_h)
    assert init.balance_residual(W1, W2, lam) < 1e-12
    # The product keeps the spectrum of the Gaussian product it was built from (independent draw, same seed path).
    rng = np.random.default_rng(7)
    G1 = 0.3 * rng.normal(size=(n_h, n_in))
    G2 = 0.3 * rng.normal(size=(n_out, n_h))
    m = min(n_in, n_out)
    np.testing.assert_allclose(
        np.linalg.svd(W2 @ W1, compute_uv=False)[:m], np.linalg.svd(G2 @ G1, compute_uv=False)[:m], rtol=1e-10
    )


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
