"""Data sets as Tasks: shapes, training-split statistics only, determinism, messages for bad input."""

import numpy as np
import pytest

from learndyn import datasets


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    return 3.0 + 2.0 * rng.standard_normal((40, 5)), rng.integers(0, 4, 40)


def test_from_arrays_shapes_and_one_hot(arrays):
    X, labels = arrays
    task = datasets.from_arrays(X, labels, test_fraction=0.25, seed=0)
    assert task.X.shape == (30, 5) and task.X_test.shape == (10, 5)
    assert task.Y.shape == (30, 4) and task.Y_test.shape == (10, 4)
    np.testing.assert_array_equal(task.Y.sum(axis=1), 1.0)
    assert set(np.unique(task.Y)) == {0.0, 1.0}


def test_standardisation_uses_training_statistics_only(arrays):
    X, labels = arrays
    task = datasets.from_arrays(X, labels, seed=3)
    np.testing.assert_allclose(task.X.mean(axis=0), 0.0, atol=1e-13)
    np.testing.assert_allclose(task.X.std(axis=0), 1.0, rtol=1e-13)
    # undo the split to find the raw training rows; the test rows must use exactly their mean and std
    train_idx, test_idx = datasets.split(len(X), 0.25, 3)
    mean, std = X[train_idx].mean(axis=0), X[train_idx].std(axis=0)
    np.testing.assert_allclose(task.X_test, (X[test_idx] - mean) / std, rtol=1e-12)
    # changing the test items does not change the training inputs (no leakage)
    X2 = X.copy()
    X2[test_idx] += 100.0
    np.testing.assert_array_equal(datasets.from_arrays(X2, labels, seed=3).X, task.X)


def test_determinism_per_seed(arrays):
    X, labels = arrays
    a, b = datasets.from_arrays(X, labels, seed=5), datasets.from_arrays(X, labels, seed=5)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.Y_test, b.Y_test)
    c = datasets.from_arrays(X, labels, seed=6)
    assert not np.array_equal(a.X_test, c.X_test)


def test_real_targets_no_split_no_standardisation(arrays):
    X, _ = arrays
    Y = np.arange(80.0).reshape(40, 2)
    task = datasets.from_arrays(X, Y, test_fraction=0.0, standardize=False)
    assert task.X_test is None and task.Y.shape == (40, 2)
    np.testing.assert_array_equal(np.sort(task.X[:, 0]), np.sort(X[:, 0]))
    one = datasets.from_arrays(X, np.linspace(0, 1, 40), seed=0)  # 1-D floats: a real target column
    assert one.Y.shape == (30, 1)


def test_constant_feature_stays_finite():
    X = np.column_stack([np.ones(10), np.arange(10.0)])
    task = datasets.from_arrays(X, np.arange(10) % 2, test_fraction=0.2)
    assert np.all(np.isfinite(task.X)) and np.all(task.X[:, 0] == 0.0)


def test_one_hot_encode_with_absent_classes():
    Y, classes = datasets.one_hot_encode([0, 2], n_classes=4)
    assert Y.tolist() == [[1, 0, 0, 0], [0, 0, 1, 0]] and classes.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"test_fraction": 1.0}, ValueError, "test_fraction"),
        ({"test_fraction": "a"}, TypeError, "test_fraction"),
        ({"standardize": "yes"}, TypeError, "standardize"),
        ({"one_hot": 1}, TypeError, "one_hot"),
        ({"seed": -1}, ValueError, "seed"),
        ({"n_classes": 2}, ValueError, "n_classes"),
    ],
)
def test_bad_options(arrays, kwargs, error, match):
    X, labels = arrays
    with pytest.raises(error, match=match):
        datasets.from_arrays(X, labels, **kwargs)


def test_bad_arrays(arrays):
    X, labels = arrays
    with pytest.raises(ValueError, match="same number of items"):
        datasets.from_arrays(X, labels[:-1])
    bad = X.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        datasets.from_arrays(bad, labels)
    with pytest.raises(ValueError, match="X must be 2-D"):
        datasets.from_arrays(X[:, 0], labels)
    with pytest.raises(ValueError, match="1-D class labels"):
        datasets.from_arrays(X, np.ones((40, 2, 2)))
    with pytest.raises(TypeError, match="integers"):
        datasets.from_arrays(X, np.linspace(0, 1, 40), one_hot=True)
    with pytest.raises(ValueError, match="n_classes applies"):
        datasets.from_arrays(X, np.ones((40, 2)), n_classes=3)


def test_digits():
    task = datasets.digits(seed=0)
    assert task.name == "digits"
    assert task.X.shape == (1348, 64) and task.X_test.shape == (449, 64)
    assert task.Y.shape == (1348, 10) and task.Y_test.shape == (449, 10)
    np.testing.assert_array_equal(task.Y.sum(axis=1), 1.0)
    np.testing.assert_allclose(task.X.mean(axis=0), 0.0, atol=1e-12)
    again = datasets.digits(seed=0)
    np.testing.assert_array_equal(again.X_test, task.X_test)
    raw = datasets.digits(seed=0, standardize=False, one_hot=False)
    assert raw.X.max() == 16.0 and raw.Y.shape == (1348, 1) and set(np.unique(raw.Y)) == set(range(10))
    with pytest.raises(ValueError, match="test_fraction"):
        datasets.digits(test_fraction=-0.1)
