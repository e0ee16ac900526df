"""Populations: the two input laws have the stated geometry and moments, targets on a subspace ignore the rest."""

import jax
import numpy as np
import pytest

from learndyn import populations


def test_sphere_law_lies_on_the_sphere_with_the_gaussian_second_moment():
    pop = populations.radial(12, 3, std=0.5, law="sphere")
    X = np.asarray(pop.sample_x(jax.random.key(0), 40000))
    assert np.allclose(np.linalg.norm(X, axis=1), 0.5 * np.sqrt(12), rtol=0, atol=1e-12)
    # E x x^T = std^2 I: Monte-Carlo error of an entry ~ std^2 / sqrt(n) = 1.3e-3
    assert np.max(np.abs(X.T @ X / len(X) - 0.25 * np.eye(12))) <= 6 * 0.25 / np.sqrt(len(X))


def test_gaussian_law_is_the_default():
    pop = populations.radial(4, 2, std=2.0)
    X = np.asarray(pop.sample_x(jax.random.key(1), 40000))
    assert pop.law == "gaussian"
    assert abs(np.mean(X**2) - 4.0) <= 6 * 4.0 * np.sqrt(2 / X.size)
    assert np.std(np.linalg.norm(X, axis=1)) > 0.5  # not on a sphere


def test_target_on_a_subspace_reads_the_first_coordinates_only():
    pop = populations.on_subspace(5, 2, lambda Z: Z[:, 0] ** 2 - Z[:, 1])
    X, y = pop.sample(jax.random.key(2), 6)
    X = np.asarray(X)
    assert np.allclose(y, X[:, 0] ** 2 - X[:, 1])
    X2 = X.copy()
    X2[:, 2:] = -X2[:, 2:]
    assert np.allclose(pop.target(X2), y)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: populations.radial(4, 2, law="uniform"), r"law must be one of \('gaussian', 'sphere'\)"),
        (lambda: populations.on_subspace(4, 5, lambda Z: Z[:, 0]), "d_H must be <= d = 4"),
        (lambda: populations.on_subspace(4, 2, 3.0), "phi must be a callable"),
    ],
)
def test_bad_input_is_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
