"""Validation of the weights given to the exact solutions, shared by the closed forms and the Riccati form.

Checks shapes and finiteness, and measures the balance ``lambda`` of two-layer weights
(``W2^T W2 - W1 W1^T = lambda I``), which decides which exact form applies.
"""

from __future__ import annotations

import numpy as np

from learndyn import _checks
from learndyn.init import balancedness, check_lambda_shape

_EPS = np.finfo(np.float64).eps


def _weights(W1, W2, sigma_yx=None):
    """Validate shapes/finiteness; return float64 arrays and ``(n_in, n_h, n_out)``."""
    W1 = _checks.as_matrix("W1", W1)
    n_h, n_in = W1.shape
    W2 = _checks.as_matrix("W2", W2)
    if W2.shape[1] != n_h:
        raise ValueError(
            f"W2 must have shape (n_out, n_h) with n_h = W1.shape[0] = {n_h}; got W2.shape = "
            f"{W2.shape} (W1.shape = {W1.shape}; expected W1 (n_h, n_in), W2 (n_out, n_h))"
        )
    n_out = W2.shape[0]
    if sigma_yx is None:
        return W1, W2, None, (n_in, n_h, n_out)
    sig = _checks.as_matrix("sigma_yx", sigma_yx)
    if sig.shape != (n_out, n_in):
        raise ValueError(
            f"sigma_yx must have shape (n_out, n_in) = ({n_out}, {n_in}) to match W1 {W1.shape} "
            f"and W2 {W2.shape}; got {sig.shape}"
        )
    return W1, W2, sig, (n_in, n_h, n_out)


def _balance(W1, W2):
    """Return ``(lam, residual, scale)`` for ``W2^T W2 - W1 W1^T ~ lam I``.

    ``residual = max|W2^T W2 - W1 W1^T - lam I|`` and ``scale = max(max|W1 W1^T|, max|W2^T W2|)``.
    """
    d = balancedness(W1, W2)
    lam = float(np.trace(d) / d.shape[0])
    resid = float(np.max(np.abs(d - lam * np.eye(d.shape[0]))))
    scale = float(max(np.max(np.abs(W1 @ W1.T)), np.max(np.abs(W2.T @ W2))))
    return lam, resid, scale


def lambda_of(W1, W2, *, tol: float = 1e-8) -> float:
    """The ``lambda`` with ``W2^T W2 - W1 W1^T = lambda I``; raise if the weights are not balanced.

    The test is relative: ``max|W2^T W2 - W1 W1^T - lambda I| <= tol * scale`` with
    ``scale = max(max|W1 W1^T|, max|W2^T W2|)``, so it does not depend on the weights' size.

    Parameters
    ----------
    W1 : array (n_h, n_in)
    W2 : array (n_out, n_h)
    tol : float
        Relative tolerance.

    Returns
    -------
    float
        ``lambda = tr(W2^T W2 - W1 W1^T) / n_h``.

    Examples
    --------
    >>> import numpy as np
    >>> W1 = np.array([[1.0, 0.0]]); W2 = np.array([[2.0]])
    >>> lambda_of(W1, W2)
    3.0
    """
    W1, W2, _, (n_in, n_h, n_out) = _weights(W1, W2)
    tol = _checks.positive_float("tol", tol)
    lam, resid, scale = _balance(W1, W2)
    if resid > tol * scale:
        raise ValueError(
            f"W1, W2 are not lambda-balanced: max|W2^T W2 - W1 W1^T - lambda I| = {resid:.3e} "
            f"(lambda = {lam:.6g}) exceeds tol * scale = {tol:g} * {scale:.3e}; the exact solutions "
            "need W2^T W2 - W1 W1^T = lambda I (conserved by gradient flow); build the weights "
            "with a zero- or lambda-balanced initialiser"
        )
    # impossible for real weights within tolerance (W1 W1^T is singular for n_h > n_in, W2^T W2 for n_h > n_out, so
    # lambda-balance forces lam >= 0, resp. lam <= 0, there); kept as a consistency check
    check_lambda_shape(n_in, n_h, n_out, 0.0 if abs(lam) <= tol * scale else lam)
    return lam


def _is_zero_lam(lam: float, scale: float) -> bool:
    """``lambda`` is zero up to rounding (exactly zero-balanced weights give ``~1e-16 scale``)."""
    return abs(lam) <= 1e3 * _EPS * scale
