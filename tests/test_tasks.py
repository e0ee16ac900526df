"""Tasks: correlations, whitening, constructors, the hierarchy's singular values."""

import numpy as np
import pytest

from learndyn import tasks


def test_correlations_match_definitions():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    t = tasks.Task(X, Y)
    np.testing.assert_allclose(t.sigma_yx, sum(np.outer(Y[k], X[k]) for k in range(7)) / 7, atol=1e-14)
    np.testing.assert_allclose(t.sigma_xx, sum(np.outer(X[k], X[k]) for k in range(7)) / 7, atol=1e-14)
    svd = t.svd()
    np.testing.assert_allclose(svd.U[:, :2] * svd.s @ svd.V[:, :2].T, t.sigma_yx, atol=1e-13)


def test_svd_is_orthogonal_descending_sign_fixed_and_cached():
    t = tasks.Task(np.random.default_rng(2).normal(size=(9, 4)), np.random.default_rng(3).normal(size=(9, 3)))
    svd = t.svd()
    assert svd.m == 3 and svd.U.shape == (3, 3) and svd.V.shape == (4, 4)
    np.testing.assert_allclose(svd.U.T @ svd.U, np.eye(3), atol=1e-13)
    np.testing.assert_allclose(svd.V.T @ svd.V, np.eye(4), atol=1e-13)
    assert (np.diff(svd.s) <= 0).all()
    for k in range(svd.m):  # the largest-magnitude entry of each input mode is positive
        assert svd.V[np.argmax(np.abs(svd.V[:, k])), k] > 0
    assert t.svd() is svd


def test_whitened_svd_divides_the_singular_values_by_the_input_scale():
    h = tasks.hierarchy()  # sigma_xx = I / 8
    sigma, c = h.whitened_correlation()
    w = h.whitened_svd()
    np.testing.assert_allclose(w.s, h.svd().s / c, rtol=1e-14)
    np.testing.assert_array_equal(w.U, h.svd().U)
    np.testing.assert_array_equal(w.V, h.svd().V)
    np.testing.assert_allclose(w.U[:, :8] * w.s @ w.V[:, :8].T, sigma, atol=1e-13)
    with pytest.raises(ValueError, match="not whitened"):
        tasks.Task(np.random.default_rng(0).normal(size=(20, 3)), np.ones((20, 1))).whitened_svd()


def test_whiten_gives_identity_covariance_and_keeps_targets_informative():
    X = np.random.default_rng(1).normal(size=(30, 5)) @ np.diag([3.0, 1.0, 0.2, 5.0, 1.0])
    Xw = tasks.whiten(X)
    np.testing.assert_allclose(Xw.T @ Xw / 30, np.eye(5), atol=1e-12)
    np.testing.assert_allclose(Xw.mean(axis=0), 0, atol=1e-12)


def test_whiten_rejects_rank_deficient_inputs():
    with pytest.raises(ValueError, match="rank-deficient.*P=3, n_in=5"):
        tasks.whiten(np.random.default_rng(0).normal(size=(3, 5)))


def test_whitened_correlation_scaled_identity_rule():
    h = tasks.hierarchy()
    sigma, c = h.whitened_correlation()
    assert c == pytest.approx(1 / 8)
    np.testing.assert_allclose(sigma, 8 * h.sigma_yx)


def test_non_white_inputs_raise_with_deviation_and_pointer():
    X = np.random.default_rng(0).normal(size=(20, 3))
    t = tasks.Task(X, np.ones((20, 1)))
    with pytest.raises(ValueError, match=r"not whitened: max\|.*= [0-9.e-]+ > tol.*whiten"):
        t.whitened_correlation()


def test_hierarchy_singular_values():
    # Corrected s̃ of Σ̃ = YᵀX/8 to 1e-3 (the task of Braun et al. 2022, Fig. 3), and the uncorrected degenerate
    # ones.
    s = tasks.hierarchy().svd().s
    np.testing.assert_allclose(s, [0.389, 0.371, 0.258, 0.256, 0.180, 0.180, 0.179, 0.179], atol=1e-3)
    s0 = tasks.hierarchy(correct=False).svd().s
    np.testing.assert_allclose(s0, [np.sqrt(8) / 8] * 2 + [0.25] * 2 + [np.sqrt(2) / 8] * 4, atol=1e-12)


def test_reversal_and_revision():
    h = tasks.hierarchy()
    np.testing.assert_array_equal(tasks.reversal(h).sigma_yx, -h.sigma_yx)
    r = tasks.reversal(tasks.random_regression(10, 3, 2, n_test=4))
    np.testing.assert_array_equal(r.Y_test, -tasks.random_regression(10, 3, 2, n_test=4).Y_test)
    r = tasks.revised_hierarchy()
    np.testing.assert_array_equal(r.Y[:, :-1], h.Y[:, :-1])
    np.testing.assert_array_equal(r.Y[:, -1], -h.Y[:, -1])


def test_random_regression_and_teacher_student_are_white():
    for t in (tasks.random_regression(12, 4, 3, seed=2), tasks.teacher_student(10, 4, 6, 3, seed=3)):
        assert t.whiteness()[1] < 1e-12
    t = tasks.teacher_student(10, 4, 6, 3, seed=3)
    assert np.linalg.matrix_rank(t.sigma_yx) == 3


def test_task_validation_messages():
    with pytest.raises(ValueError, match="Y must have 4 rows"):
        tasks.Task(np.eye(4), np.ones((3, 2)))
    with pytest.raises(ValueError, match="X contains 1 non-finite"):
        tasks.Task(np.array([[1.0, np.nan], [0.0, 1.0]]), np.ones((2, 1)))
    with pytest.raises(ValueError, match="zero-size"):
        tasks.Task(np.zeros((0, 3)), np.zeros((0, 1)))
    with pytest.raises(ValueError, match="X_test and Y_test"):
        tasks.Task(np.eye(2), np.eye(2), X_test=np.eye(2))
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        tasks.random_regression(10, 3, 2, seed=-1)
    with pytest.raises(ValueError, match="n_in must be a positive integer; got 0"):
        tasks.random_regression(10, 0, 2)


def test_test_split_goes_through_the_training_whitening_map():
    task = tasks.random_regression(40, 3, 2, seed=5, n_test=500)
    raw = tasks.random_regression(40, 3, 2, seed=5, n_test=500, white=False)  # the same items, not whitened
    np.testing.assert_array_equal(task.Y, raw.Y)
    np.testing.assert_array_equal(task.Y_test, raw.Y_test)
    Xw, (mean, T) = tasks.whiten(raw.X, return_transform=True)
    np.testing.assert_allclose(task.X, Xw, atol=1e-12)
    np.testing.assert_allclose(task.X_test, (raw.X_test - mean) @ T, atol=1e-12)
    assert np.max(np.abs(task.X_test.T @ task.X_test / 500 - np.eye(3))) > 1e-3  # ... not whitened by its own map
    # The map whitens the population: the held-out covariance is close to I (sampling error ~ 1/sqrt(40)).
    assert np.max(np.abs(np.cov(task.X_test.T, bias=True) - np.eye(3))) < 0.6
