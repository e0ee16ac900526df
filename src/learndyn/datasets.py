"""Real data sets as :class:`learndyn.tasks.Task`: scikit-learn's bundled digits, and user arrays.

Both build a train/test split, standardise the inputs with statistics of the training split only (so nothing of the
test items leaks into training), and, for class labels, one-hot targets. :func:`digits` needs scikit-learn (it reads
the data file that ships with the package, no download); it is imported only when the function is called.
"""

from __future__ import annotations

import numbers

import numpy as np

from learndyn import _checks
from learndyn.tasks import Task

__all__ = ["digits", "from_arrays", "one_hot_encode", "split", "standardize_features"]


def _fraction(test_fraction) -> float:
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(f"test_fraction must be a number in [0, 1); got {test_fraction!r}")
    f = float(test_fraction)
    if not (0.0 <= f < 1.0):
        raise ValueError(f"test_fraction must be in [0, 1) (0: no test split); got {test_fraction!r}")
    return f


def _flag(name: str, value) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def one_hot_encode(labels, n_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One-hot targets from integer class labels.

    Parameters
    ----------
    labels : (P,) array of int
        Class labels ``0 .. n_classes - 1`` (any integer labels are accepted and mapped to their sorted order).
    n_classes : int, optional
        Number of classes; default: the number of distinct labels.

    Returns
    -------
    Y : (P, n_classes) float64 array
        ``Y[mu, k] = 1`` if item ``mu`` has class ``k``, else 0 (not centred).
    classes : (n_classes,) array
        The label of each column.

    Examples
    --------
    >>> Y, classes = one_hot_encode([2, 0, 2])
    >>> Y.tolist(), classes.tolist()
    ([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]], [0, 2])
    """
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array of class labels; got shape {lab.shape}")
    if not np.issubdtype(lab.dtype, np.integer):
        if np.issubdtype(lab.dtype, np.floating) and np.all(np.isfinite(lab)) and np.all(lab == np.round(lab)):
            lab = lab.astype(np.int64)
        else:
            raise TypeError(f"labels must be integers; got dtype {lab.dtype}")
    classes, index = np.unique(lab, return_inverse=True)
    if n_classes is None:
        n_classes = classes.size
    elif isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or n_classes < classes.size:
        raise ValueError(f"n_classes must be an integer >= the {classes.size} distinct labels; got {n_classes!r}")
    elif n_classes > classes.size:
        # labels are taken as 0 .. n_classes - 1 when some classes are absent
        if classes.min() < 0 or classes.max() >= n_classes:
            raise ValueError(f"with n_classes={n_classes} the labels must lie in 0..{n_classes - 1}")
        index, classes = lab, np.arange(n_classes)
    Y = np.zeros((lab.size, int(n_classes)))
    Y[np.arange(lab.size), index] = 1.0
    return Y, classes


def split(P: int, test_fraction: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random train/test indices of ``P`` items; ``round(test_fraction * P)`` go to the test split.

    Examples
    --------
    >>> train, test = split(8, 0.25, seed=0)
    >>> len(train), len(test), sorted(np.concatenate([train, test]).tolist()) == list(range(8))
    (6, 2, True)
    """
    P = _checks.positive_int("P", P)
    n_test = int(round(_fraction(test_fraction) * P))
    if n_test and P - n_test < 1:
        raise ValueError(f"test_fraction={test_fraction} leaves no training item of {P}")
    perm = _checks.rng(seed).permutation(P)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def standardize_features(X_train, *others, eps: float = 1e-12):
    """Centre and scale every feature with the mean and standard deviation of ``X_train`` only.

    Features that are constant on the training split (standard deviation <= ``eps``) are only centred (divided by
    1), so they stay finite. ``others`` (e.g. the test inputs) get the same transformation.

    Returns
    -------
    tuple
        ``(X_train_std, *others_std, mean, std)``.

    Examples
    --------
    >>> Xs, Xt, mean, std = standardize_features(np.array([[0.0, 1.0], [2.0, 1.0]]), np.array([[4.0, 3.0]]))
    >>> Xs.tolist(), Xt.tolist(), mean.tolist(), std.tolist()
    ([[-1.0, 0.0], [1.0, 0.0]], [[3.0, 2.0]], [1.0, 1.0], [1.0, 1.0])
    """
    X = np.asarray(X_train, dtype=np.float64)
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    std = np.where(std > eps, std, 1.0)
    return ((X - mean) / std, *((np.asarray(o, dtype=np.float64) - mean) / std for o in others), mean, std)


def from_arrays(
    X,
    Y,
    *,
    test_fraction: float = 0.25,
    seed: int = 0,
    standardize: bool = True,
    one_hot: bool | None = None,
    n_classes: int | None = None,
    name: str = "data",
) -> Task:
    """A :class:`~learndyn.tasks.Task` from user arrays, with a random train/test split and training-split statistics.

    Parameters
    ----------
    X : (P, n_in) array
        Inputs, one item per row; finite.
    Y : (P,) or (P, n_out) array
        Targets: class labels (1-D integers) or real targets (2-D).
    test_fraction : float
        Fraction of items held out, in [0, 1); 0 gives a task without a test split.
    seed : int
        Seed of the split.
    standardize : bool
        Centre and scale each input feature with the mean and standard deviation of the training split only
        (see :func:`standardize_features`); the test inputs get the same transformation.
    one_hot : bool, optional
        Turn 1-D integer labels into one-hot targets (columns 0/1, not centred). Default: True for 1-D ``Y`` of an
        integer dtype, False otherwise; a 1-D ``Y`` that is not one-hot encoded becomes one real target column.
    n_classes : int, optional
        Number of classes for one-hot targets (default: the distinct labels).
    name : str
        The task's name.

    Returns
    -------
    Task
        Training split in ``X, Y``, held-out split in ``X_test, Y_test`` (``None`` when ``test_fraction = 0``).

    Examples
    --------
    >>> X = np.arange(20.0).reshape(10, 2)
    >>> task = from_arrays(X, np.arange(10) % 3, test_fraction=0.2, seed=1)
    >>> task.X.shape, task.Y.shape, task.X_test.shape
    ((8, 2), (8, 3), (2, 2))
    >>> np.allclose(task.X.mean(axis=0), 0.0)
    True
    """
    fraction = _fraction(test_fraction)
    do_std = _flag("standardize", standardize)
    Xa = _checks.as_matrix("X", X)
    Ya = np.asarray(Y)
    if Ya.ndim not in (1, 2):
        raise ValueError(f"Y must be 1-D class labels or a 2-D (P, n_out) target array; got shape {Ya.shape}")
    if Ya.shape[0] != Xa.shape[0]:
        raise ValueError(f"X and Y must have the same number of items (rows); got {Xa.shape[0]} and {Ya.shape[0]}")
    hot = (Ya.ndim == 1 and np.issubdtype(Ya.dtype, np.integer)) if one_hot is None else _flag("one_hot", one_hot)
    if hot:
        if Ya.ndim != 1:
            raise ValueError(f"one_hot=True needs 1-D class labels; got Y of shape {Ya.shape}")
        Ya, _ = one_hot_encode(Ya, n_classes)
    elif n_classes is not None:
        raise ValueError("n_classes applies to one-hot targets only; pass one_hot=True or drop n_classes")
    Ya = _checks.as_matrix("Y", Ya.reshape(Ya.shape[0], -1), rows=Xa.shape[0])
    train_idx, test_idx = split(Xa.shape[0], fraction, seed)
    X_train, X_test = Xa[train_idx], Xa[test_idx]
    if do_std:
        X_train, X_test, _, _ = standardize_features(X_train, X_test)
    if test_idx.size == 0:
        return Task(X_train, Ya[train_idx], name=name)
    return Task(X_train, Ya[train_idx], X_test, Ya[test_idx], name=name)


def digits(test_fraction: float = 0.25, seed: int = 0, standardize: bool = True, one_hot: bool = True) -> Task:
    """scikit-learn's bundled handwritten digits (1797 items of 8x8 = 64 pixels, 10 classes) as a Task.

    The data file ships with scikit-learn (:func:`sklearn.datasets.load_digits`), so nothing is downloaded.

    Parameters
    ----------
    test_fraction : float
        Fraction of items held out (random split by ``seed``), in [0, 1).
    seed : int
        Seed of the split.
    standardize : bool
        Centre and scale each pixel with the training split's mean and standard deviation (pixels that are constant
        on the training split, e.g. always 0 at the border, are only centred); otherwise pixel values 0..16.
    one_hot : bool
        One-hot targets ``(P, 10)`` with entries 0/1 (not centred); otherwise the digit as one real target column.

    Returns
    -------
    Task
        Named ``"digits"``.

    Raises
    ------
    ImportError
        When scikit-learn is not installed (``pip install scikit-learn``).

    Examples
    --------
    >>> task = digits(seed=0)
    >>> task.X.shape, task.Y.shape, task.X_test.shape
    ((1348, 64), (1348, 10), (449, 64))
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("learndyn.datasets.digits needs scikit-learn: pip install 'scikit-learn>=1.4,<2'") from exc
    bunch = load_digits()
    return from_arrays(
        bunch.data,
        bunch.target,
        test_fraction=test_fraction,
        seed=seed,
        standardize=standardize,
        one_hot=_flag("one_hot", one_hot),
        n_classes=10 if one_hot else None,
        name="digits",
    )
