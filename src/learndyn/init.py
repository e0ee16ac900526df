"""Initialisations of linear (and MLP) networks, and the balancedness diagnostics of two-layer nets.

Weights are tuples ``(W1, ..., WL)`` with ``W_l`` of shape ``(n_l, n_{l-1})``; a two-layer net is ``(W1, W2)`` with
``W1 (n_h, n_in)`` and ``W2 (n_out, n_h)``. Every initialiser takes an explicit integer ``seed`` (no global state)
and returns float64 NumPy arrays, ready for :mod:`learndyn.train` and :mod:`learndyn.theory.linear`.

Balancedness: gradient flow conserves ``W2^T W2 - W1 W1^T``. A net is *zero-balanced* when it vanishes and
*lambda-balanced* when it equals ``lambda I``; the exact solutions need one of the two.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from learndyn import _checks


def _sizes(sizes: Sequence[int]) -> list[int]:
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise ValueError(f"sizes must be a sequence (n_in, n_h1, ..., n_out) of >= 2 layer sizes; got {sizes!r}")
    return [_checks.positive_int(f"sizes[{k}]", n) for k, n in enumerate(sizes)]


def _two_layer_sizes(sizes: Sequence[int]) -> tuple[int, int, int]:
    sizes = _sizes(sizes)
    if len(sizes) != 3:
        raise ValueError(f"sizes must be (n_in, n_h, n_out) for a two-layer net; got {tuple(sizes)!r}")
    return sizes[0], sizes[1], sizes[2]


def random_orthogonal(seed, n: int) -> np.ndarray:
    """Haar-random ``n x n`` orthogonal matrix (QR of a Gaussian matrix, with the sign fix that makes it Haar).

    Parameters
    ----------
    seed : int or numpy.random.Generator
        Seed, or a generator to draw from (it is advanced), for several matrices from one stream.
    n : int
        Size.

    Examples
    --------
    >>> Q = random_orthogonal(0, 4)
    >>> bool(np.allclose(Q.T @ Q, np.eye(4)))
    True
    """
    n = _checks.positive_int("n", n)
    q, r = np.linalg.qr(_checks.rng(seed).normal(size=(n, n)))
    return q * np.sign(np.diag(r))


def gaussian(seed: int, sizes: Sequence[int], sigma: float) -> tuple[np.ndarray, ...]:
    """I.i.d. Gaussian weights with standard deviation ``sigma`` for every entry.

    Parameters
    ----------
    seed : int
    sizes : sequence of int
        Layer widths ``(n_in, n_h1, ..., n_out)``.
    sigma : float
        Entry standard deviation (>= 0).

    Returns
    -------
    tuple of ndarrays ``(W1, ..., WL)``, ``W_l`` of shape ``(sizes[l], sizes[l-1])``.

    Examples
    --------
    >>> W1, W2 = gaussian(0, (5, 10, 2), 0.1)
    >>> W1.shape, W2.shape
    ((10, 5), (2, 10))
    """
    sizes = _sizes(sizes)
    sigma = _checks.positive_float("sigma", sigma, allow_zero=True)
    rng = _checks.rng(seed)
    return tuple(sigma * rng.normal(size=(b, a)) for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def orthogonal(seed: int, sizes: Sequence[int], scale: float = 1.0) -> tuple[np.ndarray, ...]:
    """Scaled (semi-)orthogonal weights: each ``W_l`` has all singular values equal to ``scale``."""
    sizes = _sizes(sizes)
    scale = _checks.positive_float("scale", scale, allow_zero=True)
    rng = _checks.rng(seed)
    out = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        n = max(a, b)
        out.append(scale * random_orthogonal(rng, n)[:b, :a])
    return tuple(out)


def balanced_factors(s, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-mode singular values ``(s1, s2)`` of W1, W2 with ``s1 s2 = s`` and ``s2^2 - s1^2 = lam``.

    ``s2 = sqrt((sqrt(lam^2 + 4 s^2) + lam) / 2)`` and ``s1 = sqrt((sqrt(lam^2 + 4 s^2) - lam) / 2)``, written
    without cancellation for large ``|lam|`` (the lambda-balanced weights of Dominé et al. 2024, "From lazy to rich").
    """
    s = np.asarray(s, dtype=np.float64)
    lam = float(lam)
    r = np.sqrt(lam * lam + 4.0 * s * s)
    big = np.sqrt((r + abs(lam)) / 2.0)
    small = np.divide(s, big, out=np.zeros_like(s), where=big > 0)  # small*big = s avoids r - |lam| cancelling
    return (small, big) if lam >= 0 else (big, small)


def lambda_balanced_from_svd(U, s, V, n_h: int, lam: float = 0.0, *, seed: int = 0):
    """Build ``lam``-balanced weights whose product is ``U diag(s) V^T``.

    ``W1 = R D1 V^T`` and ``W2 = U D2 R^T`` with ``R`` a random ``n_h x n_h`` orthogonal matrix and per-mode
    factors from :func:`balanced_factors`. Hidden directions beyond ``m = len(s)`` carry ``sqrt(lam)`` in ``W2``
    (``lam > 0``, needs extra output directions) or ``sqrt(-lam)`` in ``W1`` (``lam < 0``, needs extra input
    directions), so that ``W2^T W2 - W1 W1^T = lam I_{n_h}`` exactly.

    Parameters
    ----------
    U : (n_out, k) with orthonormal columns, ``k >= m``; V : (n_in, k') likewise; s : (m,) product singular values.
    n_h : int
        Hidden width, ``n_h >= m``.
    lam : float
        Balance; the shape constraints of :func:`check_lambda_shape` apply (``n_h > n_in`` needs ``lam >= 0``;
        ``n_h > n_out`` needs ``lam <= 0``).
    seed : int
        Seed of the hidden rotation ``R``.
    """
    U = _checks.as_matrix("U", U)
    V = _checks.as_matrix("V", V)
    s = np.atleast_1d(np.asarray(s, dtype=np.float64))
    n_out, n_in, m = U.shape[0], V.shape[0], s.shape[0]
    n_h = _checks.positive_int("n_h", n_h)
    lam = _checks.real_float("lam", lam)
    if (s < 0).any():
        raise ValueError(f"s must be non-negative singular values; got {s}")
    if n_h < m:
        raise ValueError(f"n_h={n_h} must be >= the number of modes m={m}")
    check_lambda_shape(n_in, n_h, n_out, lam)
    s1, s2 = balanced_factors(s, lam)
    D1 = np.zeros((n_h, n_in))
    D2 = np.zeros((n_out, n_h))
    D1[np.arange(m), np.arange(m)] = s1
    D2[np.arange(m), np.arange(m)] = s2
    extra = np.arange(m, n_h)
    if lam > 0:
        D2[extra, extra] = np.sqrt(lam)
    elif lam < 0:
        D1[extra, extra] = np.sqrt(-lam)
    Uf = _complete(U, n_out)
    Vf = _complete(V, n_in)
    R = random_orthogonal(seed, n_h)
    return R @ D1 @ Vf.T, Uf @ D2 @ R.T


def balanced_from_qqt(qqt, n_in: int, n_h: int, lam: float = 0.0, *, seed: int = 0):
    """``lam``-balanced weights ``(W1, W2)`` with ``Q Q^T = qqt``, e.g. to restart the exact theory from its own state.

    ``qqt = [[W1^T W1, (W2 W1)^T], [W2 W1, W2 W2^T]]`` (``Q^T = [W1, W2^T]``), as the exact solution returns it.
    A lambda-balanced net with ``lam = 0`` or ``n_h = m = min(n_in, n_out)`` is fixed, up to a hidden rotation that
    no observable sees, by its map ``W2 W1 = U S V^T``: ``W1 = R S1 V^T``, ``W2 = U S2 R^T``
    (:func:`lambda_balanced_from_svd`). Rebuilding from the map keeps the weights exactly balanced; factoring ``qqt``
    by eigendecomposition would not (its round-off eigenvalues enter ``W2^T W2 - W1 W1^T`` at the square root of
    machine precision).

    Parameters
    ----------
    qqt : (n_in + n_out, n_in + n_out)
        The Gram matrix of a ``lam``-balanced net.
    n_in, n_h : int
        Input dimension (where ``qqt`` splits) and hidden width of the rebuilt net.
    lam : float
        Balance of the net ``qqt`` belongs to; nonzero needs ``n_h = m``.
    seed : int
        Seed of the hidden rotation ``R``.

    Examples
    --------
    >>> W1, W2 = zero_balanced(0, (3, 4, 2), 0.5)
    >>> Q = np.concatenate([W1, W2.T], axis=1)
    >>> V1, V2 = balanced_from_qqt(Q.T @ Q, 3, 4)
    >>> bool(np.allclose(V2 @ V1, W2 @ W1) and balance_residual(V1, V2) < 1e-12)
    True
    """
    qqt = _checks.as_matrix("qqt", qqt)
    n_in = _checks.positive_int("n_in", n_in)
    if qqt.shape[0] != qqt.shape[1] or qqt.shape[0] <= n_in:
        raise ValueError(f"qqt must be square with more than n_in={n_in} rows; got shape {qqt.shape}")
    m = min(n_in, qqt.shape[0] - n_in)
    if lam != 0.0 and n_h != m:
        raise ValueError(f"balanced_from_qqt needs lam = 0 or n_h = m = {m}; got lam={lam}, n_h={n_h}")
    U, s, Vt = np.linalg.svd(qqt[n_in:, :n_in])
    return lambda_balanced_from_svd(U, s[:m], Vt.T, n_h, lam, seed=seed)


def _complete(U: np.ndarray, n: int) -> np.ndarray:
    """Extend orthonormal columns to a full n x n orthogonal matrix (deterministic completion)."""
    if U.shape[1] >= n:
        return U[:, :n]
    q, _ = np.linalg.qr(np.concatenate([U, np.eye(n)], axis=1))
    q[:, : U.shape[1]] = U
    return q


def check_lambda_shape(n_in: int, n_h: int, n_out: int, lam: float) -> None:
    """Raise when ``lam``-balanced weights cannot exist for the shape.

    ``W2^T W2 - W1 W1^T = lam I`` needs ``lam >= 0`` when ``n_h > n_in`` (``W1 W1^T`` is then singular) and
    ``lam <= 0`` when ``n_h > n_out`` (``W2^T W2`` is then singular); so ``n_h > max(n_in, n_out)`` forces ``lam = 0``.
    """
    if lam < 0 and n_h > n_in:
        raise ValueError(
            f"lam={lam} < 0 is impossible for n_h={n_h} > n_in={n_in}: W1 W1^T has a null space there, so "
            "W2^T W2 - W1 W1^T = lam I would need negative eigenvalues of W2^T W2; use lam >= 0 or n_h <= n_in"
        )
    if lam > 0 and n_h > n_out:
        raise ValueError(
            f"lam={lam} > 0 is impossible for n_h={n_h} > n_out={n_out}: W2^T W2 has a null space there; use "
            "lam <= 0 or n_h <= n_out"
        )


def _random_product_svd(rng, n_in, n_h, n_out, sigma):
    W1 = sigma * rng.normal(size=(n_h, n_in))
    W2 = sigma * rng.normal(size=(n_out, n_h))
    U, s, Vt = np.linalg.svd(W2 @ W1, full_matrices=True)
    m = min(n_in, n_out)
    return U, s[:m], Vt.T


def lambda_balanced(seed: int, sizes: Sequence[int], lam: float, sigma: float):
    """Random ``lam``-balanced two-layer weights (``W2^T W2 - W1 W1^T = lam I``).

    The product's singular vectors and values are those of ``G2 G1`` with Gaussian ``G1, G2`` of entry std ``sigma``
    (the recipe of the code accompanying Braun et al. 2022, without its unexplained factor 1.15); the factors are
    then rebuilt ``lam``-balanced by :func:`lambda_balanced_from_svd`.

    Parameters
    ----------
    seed : int
    sizes : (n_in, n_h, n_out)
        Layer widths of the two-layer net, as for :func:`gaussian`; needs ``n_h >= min(n_in, n_out)`` and the
        sign constraints of :func:`check_lambda_shape`.
    lam : float
        Balance (0 gives :func:`zero_balanced`).
    sigma : float
        Scale of the Gaussian draws (> 0).

    Returns
    -------
    (W1, W2)

    Examples
    --------
    >>> W1, W2 = lambda_balanced(0, (3, 3, 5), lam=1.0, sigma=0.2)
    >>> bool(abs(balance_residual(W1, W2, 1.0)) < 1e-12)
    True
    """
    n_in, n_h, n_out = _two_layer_sizes(sizes)
    sigma = _checks.positive_float("sigma", sigma)
    lam = _checks.real_float("lam", lam)
    m = min(n_in, n_out)
    if n_h < m:
        raise ValueError(
            f"n_h={n_h} < min(n_in, n_out)={m}: balanced initialisations with a bottleneck are not built here; "
            "use n_h >= min(n_in, n_out) or gaussian()"
        )
    check_lambda_shape(n_in, n_h, n_out, lam)
    rng = _checks.rng(seed)
    U, s, V = _random_product_svd(rng, n_in, n_h, n_out, sigma)
    return lambda_balanced_from_svd(U, s, V, n_h, lam, seed=int(rng.integers(2**31)))


def zero_balanced(seed: int, sizes: Sequence[int], sigma: float):
    """Random zero-balanced two-layer weights (``W1 W1^T = W2^T W2``); see :func:`lambda_balanced`.

    Examples
    --------
    >>> W1, W2 = zero_balanced(0, (5, 10, 2), 0.1)
    >>> bool(np.abs(W1 @ W1.T - W2.T @ W2).max() < 1e-12)
    True
    """
    return lambda_balanced(seed, sizes, 0.0, sigma)


def aligned(sigma_yx, n_h: int, a0, lam: float = 0.0, *, seed: int = 0):
    """Decoupled (task-aligned) initialisation: ``W2 W1(0) = U_m diag(a0) V_m^T`` in the task's own modes.

    Parameters
    ----------
    sigma_yx : (n_out, n_in)
        Whitened input-output correlation; its SVD gives the modes ``U_m, V_m``.
    n_h : int
        Hidden width (>= m).
    a0 : float or (m,) array
        Initial per-mode strengths (>= 0).
    lam : float
        Balance of the factors (0: zero-balanced, Saxe's setting).
    seed : int
        Seed of the hidden rotation.

    Returns
    -------
    (W1, W2)
    """
    sigma = _checks.as_matrix("sigma_yx", sigma_yx)
    U, _, Vt = np.linalg.svd(sigma, full_matrices=True)
    m = min(sigma.shape)
    a0 = np.broadcast_to(np.asarray(a0, dtype=np.float64), (m,)).copy()
    _checks.finite("a0", a0)
    if (a0 < 0).any():
        raise ValueError(f"a0 must be >= 0 per mode; got {a0}")
    return lambda_balanced_from_svd(U, a0, Vt.T, n_h, lam, seed=seed)


def from_weights(*weights) -> tuple[np.ndarray, ...]:
    """Validate given weights (prior knowledge) as a chain ``W1 (n1, n0), W2 (n2, n1), ...`` and return them."""
    if len(weights) < 1:
        raise ValueError("from_weights needs at least one weight matrix")
    out = [_checks.as_matrix("W1", weights[0])]
    for k, W in enumerate(weights[1:], start=2):
        out.append(_checks.as_matrix(f"W{k}", W, cols=out[-1].shape[0]))
    return tuple(out)


def balancedness(W1, W2) -> np.ndarray:
    """The conserved matrix ``W2^T W2 - W1 W1^T`` (n_h, n_h)."""
    W1 = np.asarray(W1)
    W2 = np.asarray(W2)
    return W2.T @ W2 - W1 @ W1.T


def balance_residual(W1, W2, lam: float = 0.0) -> float:
    """``max|W2^T W2 - W1 W1^T - lam I|``: zero for exactly ``lam``-balanced weights."""
    D = balancedness(W1, W2)
    return float(np.max(np.abs(D - lam * np.eye(D.shape[0]))))


def match_det_sign(W1, W2, sigma_yx):
    """Flip the first input column of ``W1`` when ``sign det(W2 W1) != sign det(sigma_yx)`` (square tasks only).

    In the square case a zero-balanced net whose determinant sign differs from the task's has a singular B: balanced
    singular values cannot cross zero, so the sign of ``det(W2 W1)`` is conserved, one mode cannot be learned and
    gradient flow stalls at a saddle. Flipping one input column changes the sign of ``det(W2 W1)`` while keeping
    ``W1 W1^T`` and hence every balancedness relation. Non-square shapes are returned unchanged.

    Returns
    -------
    (W1, W2), with ``W1`` copied when flipped.
    """
    W1 = np.asarray(W1, dtype=np.float64)
    W2 = np.asarray(W2, dtype=np.float64)
    sigma = np.asarray(sigma_yx, dtype=np.float64)
    if sigma.shape[0] != sigma.shape[1]:
        return W1, W2
    if np.sign(np.linalg.det(W2 @ W1)) != np.sign(np.linalg.det(sigma)):
        W1 = W1.copy()
        W1[:, 0] *= -1.0
    return W1, W2
