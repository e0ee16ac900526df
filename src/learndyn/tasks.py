"""Tasks: input/target data, their correlations and the constructors used by the experiments.

A :class:`Task` holds inputs ``X`` of shape ``(P, n_in)`` and targets ``Y`` of shape ``(P, n_out)``, items as rows,
plus an optional held-out split. The exact linear theory needs whitened inputs (``X.T X / P = I``); a task whose
input correlation is a multiple ``c I`` of the identity is accepted through the scaled-identity rule
(``sigma_yx -> sigma_yx / c`` and theory time ``theta = c t``), see :meth:`Task.whitened_correlation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from learndyn import _checks


@dataclass(frozen=True)
class TaskSVD:
    """Full SVD of the input-output correlation ``sigma_yx = U diag(s) V^T``.

    Attributes
    ----------
    U : (n_out, n_out) orthogonal; the first ``m = min(n_in, n_out)`` columns are the output modes.
    s : (m,) singular values, descending.
    V : (n_in, n_in) orthogonal; the first ``m`` columns are the input modes.
    """

    U: np.ndarray
    s: np.ndarray
    V: np.ndarray

    @property
    def m(self) -> int:
        """Number of modes, ``min(n_in, n_out)``."""
        return int(self.s.shape[0])


@dataclass(frozen=True, eq=False)
class Task:
    """A supervised task: inputs ``X (P, n_in)``, targets ``Y (P, n_out)``, optional test split.

    Parameters
    ----------
    X, Y : array-like
        Training inputs and targets, items as rows. Stored as read-only float64 arrays.
    X_test, Y_test : array-like, optional
        Held-out split with the same feature sizes; give both or neither.
    name : str
        Label used in run folders and figures.

    Examples
    --------
    >>> import numpy as np
    >>> from learndyn.tasks import Task
    >>> task = Task(np.eye(4), np.ones((4, 2)), name="toy")
    >>> task.sigma_yx.shape
    (2, 4)
    """

    X: np.ndarray
    Y: np.ndarray
    X_test: np.ndarray | None = None
    Y_test: np.ndarray | None = None
    name: str = "task"
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        X = _checks.as_matrix("X", self.X)
        Y = _checks.as_matrix("Y", self.Y, rows=X.shape[0])
        if (self.X_test is None) != (self.Y_test is None):
            raise ValueError("X_test and Y_test must be given together (both or neither)")
        if self.X_test is not None:
            Xt = _checks.as_matrix("X_test", self.X_test, cols=X.shape[1])
            Yt = _checks.as_matrix("Y_test", self.Y_test, rows=Xt.shape[0], cols=Y.shape[1])
            object.__setattr__(self, "X_test", _readonly(Xt))
            object.__setattr__(self, "Y_test", _readonly(Yt))
        object.__setattr__(self, "X", _readonly(X))
        object.__setattr__(self, "Y", _readonly(Y))

    @property
    def P(self) -> int:
        """Number of training items."""
        return int(self.X.shape[0])

    @property
    def n_in(self) -> int:
        """Input dimension."""
        return int(self.X.shape[1])

    @property
    def n_out(self) -> int:
        """Output dimension."""
        return int(self.Y.shape[1])

    @property
    def sigma_xx(self) -> np.ndarray:
        """Input correlation ``X^T X / P``, shape (n_in, n_in)."""
        return self.X.T @ self.X / self.P

    @property
    def sigma_yx(self) -> np.ndarray:
        """Input-output correlation ``Y^T X / P``, shape (n_out, n_in)."""
        return self.Y.T @ self.X / self.P

    @property
    def sigma_yy(self) -> np.ndarray:
        """Output correlation ``Y^T Y / P``, shape (n_out, n_out)."""
        return self.Y.T @ self.Y / self.P

    def svd(self) -> TaskSVD:
        """Full SVD of :attr:`sigma_yx`, cached.

        Singular vectors are sign-fixed so that the largest-magnitude entry of each input mode is positive,
        which makes figures reproducible; the theory is invariant to these signs.
        """
        if "svd" not in self._cache:
            U, s, Vt = np.linalg.svd(self.sigma_yx, full_matrices=True)
            V = Vt.T
            m = s.shape[0]
            for k in range(m):
                if V[np.argmax(np.abs(V[:, k])), k] < 0:
                    V[:, k] *= -1
                    U[:, k] *= -1
            self._cache["svd"] = TaskSVD(U=U, s=s, V=V)
        return self._cache["svd"]

    def whiteness(self) -> tuple[float, float]:
        """Return ``(c, deviation)``: the best scale ``c`` with ``sigma_xx ~ c I`` and ``max|sigma_xx/c - I|``."""
        sxx = self.sigma_xx
        c = float(np.trace(sxx) / self.n_in)
        if c <= 0:
            return c, float("inf")
        return c, float(np.max(np.abs(sxx / c - np.eye(self.n_in))))

    def whitened_correlation(self, tol: float = 1e-8) -> tuple[np.ndarray, float]:
        """Return ``(sigma_yx / c, c)`` for inputs with ``sigma_xx = c I``; raise if they are not white.

        The exact linear theory assumes ``sigma_xx = I``. When ``sigma_xx = c I`` the gradient flow is the whitened
        one with ``sigma_yx / c`` run at time ``theta = c t`` (the scaled-identity rule: with ``sigma_xx = c I`` the
        flow equations are ``c`` times the whitened ones for ``sigma_yx / c``).

        Parameters
        ----------
        tol : float
            Largest accepted ``max|sigma_xx / c - I|``.

        Raises
        ------
        ValueError
            With the measured deviation and a pointer to :func:`whiten`, when the inputs are not white.
        """
        c, dev = self.whiteness()
        if not dev <= tol:
            raise ValueError(
                f"task {self.name!r}: inputs are not whitened: max|X^T X/P / c - I| = {dev:.3g} > tol={tol:g} "
                f"(c = {c:.6g}); the exact theory assumes sigma_xx = c I. Whiten the inputs first with "
                "learndyn.tasks.whiten(X) or build the task with white=True"
            )
        return self.sigma_yx / c, c

    def whitened_svd(self, tol: float = 1e-8) -> TaskSVD:
        """SVD of the whitened correlation ``sigma_yx / c`` of :meth:`whitened_correlation` (raises likewise).

        The modes the exact theory works in: the singular vectors of :meth:`svd` (cached, same signs) with the
        singular values divided by ``c``. For inputs with ``sigma_xx = I`` (``c = 1``) it is :meth:`svd` itself.

        Examples
        --------
        >>> h = hierarchy()  # sigma_xx = I / 8
        >>> bool(np.allclose(h.whitened_svd().s, 8 * h.svd().s))
        True
        """
        _, c = self.whitened_correlation(tol)
        svd = self.svd()
        return TaskSVD(U=svd.U, s=svd.s / c, V=svd.V)

    def with_targets(self, Y, Y_test=None, name: str | None = None) -> Task:
        """Return a copy of this task with new targets ``Y`` (same items), e.g. for reversal.

        The test split is kept when ``Y_test`` gives its new targets, and dropped otherwise.
        """
        test = {"X_test": self.X_test, "Y_test": Y_test} if Y_test is not None and self.X_test is not None else {}
        return Task(self.X, Y, name=name or self.name, **test)


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64, copy=True)
    a.setflags(write=False)
    return a


def whiten(X, *, center: bool = True, return_transform: bool = False):
    """Whiten inputs so that ``X_w^T X_w / P = I`` exactly (biased 1/P covariance).

    Centres the columns (optional) and multiplies by ``E diag(lambda)^{-1/2} E^T`` where ``E diag(lambda) E^T`` is the
    input covariance; the symmetric (ZCA) whitening keeps the inputs as close as possible to the original ones.

    Parameters
    ----------
    X : array-like, shape (P, n_in)
        Inputs, items as rows. Needs ``P > n_in`` when centring (``P >= n_in`` otherwise) and full column rank.
    center : bool
        Subtract the column means first.
    return_transform : bool
        Also return ``(mean, T)`` such that ``X_w = (X - mean) @ T``, to apply the same map to held-out inputs.

    Returns
    -------
    ndarray, shape (P, n_in), or ``(X_w, (mean, T))`` with ``return_transform``.

    Examples
    --------
    >>> import numpy as np
    >>> Xw = whiten(np.random.default_rng(0).normal(size=(20, 3)))
    >>> bool(np.allclose(Xw.T @ Xw / 20, np.eye(3)))
    True
    """
    X = _checks.as_matrix("X", X)
    P, n = X.shape
    mean = X.mean(axis=0) if center else np.zeros(n)
    Xc = X - mean
    cov = Xc.T @ Xc / P
    lam, E = np.linalg.eigh(cov)
    if lam.min() <= 1e-12 * max(lam.max(), 1e-300):
        need = "P > n_in" if center else "P >= n_in"
        raise ValueError(
            f"X cannot be whitened: its covariance is rank-deficient (smallest eigenvalue {lam.min():.3g}); "
            f"whitening needs full column rank and {need} (got P={P}, n_in={n})"
        )
    T = (E / np.sqrt(lam)) @ E.T
    return (Xc @ T, (mean, T)) if return_transform else Xc @ T


def random_regression(P: int, n_in: int, n_out: int, *, seed: int = 0, white: bool = True, n_test: int = 0) -> Task:
    """Random regression task: ``X ~ N(0, 1/n_in)``, ``Y ~ N(0, 1/n_out)`` independent.

    The data of the accuracy sweep of Braun, Dominé, Fitzgerald & Saxe (NeurIPS 2022), Fig. 2c.

    Parameters
    ----------
    P, n_in, n_out : int
        Items and dimensions.
    seed : int
        Seed of the NumPy generator.
    white : bool
        Whiten ``X`` (needs ``P > n_in``), as the exact theory requires.
    n_test : int
        Extra items drawn the same way for a test split; with ``white`` they go through the training items'
        whitening map (so they are only approximately white themselves).

    Returns
    -------
    Task
    """
    P, n_in, n_out = (_checks.positive_int(k, v) for k, v in (("P", P), ("n_in", n_in), ("n_out", n_out)))
    rng = _checks.rng(seed)
    X = rng.normal(0.0, 1.0 / np.sqrt(n_in), size=(P + n_test, n_in))
    Y = rng.normal(0.0, 1.0 / np.sqrt(n_out), size=(P + n_test, n_out))
    if white:
        Xtr, (mean, T) = whiten(X[:P], return_transform=True)
        Xte = (X[P:] - mean) @ T
    else:
        Xtr, Xte = X[:P], X[P:]
    test = {"X_test": Xte, "Y_test": Y[P:]} if n_test else {}
    return Task(Xtr, Y[:P], name="random-regression", **test)


def teacher_student(
    P: int, n_in: int, n_h: int, n_out: int, *, sigma_teacher: float = 0.35, seed: int = 0, white: bool = True
) -> Task:
    """Teacher-student task: whitened Gaussian inputs, targets from a zero-balanced linear teacher.

    The teacher ``W2 W1`` is built by :func:`learndyn.init.zero_balanced` with scale ``sigma_teacher``
    (Braun et al. 2022 use sigma_T = 0.35 in Fig. 1 and 0.25 in Fig. 2).

    Returns
    -------
    Task with ``Y = X W1^T W2^T``.
    """
    from learndyn import init  # local import: init is independent of tasks, this avoids a cycle at import

    P = _checks.positive_int("P", P)
    rng = _checks.rng(seed)
    X = rng.normal(0.0, 1.0 / np.sqrt(n_in), size=(P, n_in))
    if white:
        X = whiten(X)
    W1, W2 = init.zero_balanced(int(rng.integers(2**31)), (n_in, n_h, n_out), sigma_teacher)
    Y = X @ np.asarray(W1).T @ np.asarray(W2).T
    return Task(X, Y, name="teacher-student")


def hierarchy_features(*, correct: bool = True) -> np.ndarray:
    """The 8-item, 8-feature binary-tree feature matrix (items as rows).

    Columns: the root (all +1), the 2-way split, two 4-way splits and four leaf pairs, each a +-1 code on the items
    below that node and 0 elsewhere. With ``correct`` column ``j`` (1-based) is scaled by ``1 + 0.1/j``, which breaks
    the degeneracy of the singular values (the correction used for Braun et al. 2022, Fig. 3).
    """
    F = np.zeros((8, 8))
    F[:, 0] = 1.0
    F[:, 1] = np.repeat([1.0, -1.0], 4)
    F[:4, 2] = [1.0, 1.0, -1.0, -1.0]
    F[4:, 3] = [1.0, 1.0, -1.0, -1.0]
    for k in range(4):
        F[2 * k : 2 * k + 2, 4 + k] = [1.0, -1.0]
    if correct:
        F = F * (1.0 + 0.1 / np.arange(1, 9))
    return F


def hierarchy(*, correct: bool = True) -> Task:
    """The hierarchical semantic task: one-hot items ``X = I_8``, binary-tree features ``Y``.

    The task of Braun et al. 2022, Fig. 3.

    The inputs satisfy ``sigma_xx = I/8``, so the exact theory applies through the scaled-identity rule.
    Corrected singular values of ``Y^T X / 8``: .389, .371, .258, .256, .180, .180, .179, .179.
    """
    return Task(np.eye(8), hierarchy_features(correct=correct), name="hierarchy")


def revised_hierarchy(*, correct: bool = True) -> Task:
    """The hierarchy with its last feature flipped in sign: the "knowledge revision" target.

    As in Braun et al. 2022, Fig. 6e.
    """
    F = hierarchy_features(correct=correct)
    F[:, -1] *= -1.0
    return Task(np.eye(8), F, name="hierarchy-revised")


def reversal(task: Task) -> Task:
    """The reversal of ``task``: same inputs, targets ``-Y`` (so ``sigma_yx -> -sigma_yx``).

    Reversal learning as in Braun et al. 2022, Fig. 6a.
    """
    if not isinstance(task, Task):
        raise TypeError(f"task must be a learndyn Task; got {type(task).__name__}")
    Y_test = None if task.Y_test is None else -task.Y_test
    return task.with_targets(-task.Y, Y_test, name=f"{task.name}-reversed")
