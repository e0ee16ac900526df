r"""Exact gradient-flow solutions ``QQ^T(t)`` for two-layer linear networks with whitened inputs.

References
----------
* L. Braun, C. C. J. Dominé, J. E. Fitzgerald and A. M. Saxe, "Exact learning dynamics of deep linear
  networks with prior knowledge", NeurIPS 2022 (extended version: Dominé, Braun, Fitzgerald and Saxe,
  J. Stat. Mech. 2023, 114004): the stable zero-balanced closed form.
* C. C. J. Dominé, N. Anguita, A. M. Proca, L. Braun, D. Kunin, P. A. M. Mediano and A. M. Saxe, "From
  lazy to rich: exact learning dynamics in deep linear networks", arXiv:2409.14623 (2024; ICLR 2025):
  lambda-balanced initialisations and their closed form.
* K. Fukumizu, "Effect of batch learning in multilayer neural networks", ICONIP 1998: the Riccati form.

Setup and conventions
---------------------
The network is ``y_hat = W2 W1 x`` with ``W1`` of shape ``(n_h, n_in)`` and ``W2`` of shape
``(n_out, n_h)``. The loss is ``L = 1/(2P) sum_mu ||y_mu - W2 W1 x_mu||^2`` and the inputs are
whitened (``Sigma_xx = X X^T / P = I``), so gradient flow reads

    tau dW1/dt = W2^T (Sigma_yx - W2 W1),     tau dW2/dt = (Sigma_yx - W2 W1) W1^T,

with ``theta = t / tau`` (full-batch GD with learning rate ``eta``: ``t = eta * step``, ``tau = 1``).
Every function here takes ``sigma_yx`` *already whitened* (the caller checked ``Sigma_xx = I`` or
applied the scaled-identity rule ``Sigma_xx = c I  =>  Sigma_yx / c, tau / c``).

All solvers return ``QQ^T(t)`` for ``Q = [W1^T; W2]``, an array of shape
``(len(t), n_in + n_out, n_in + n_out)`` with blocks::

    QQ^T = [[W1^T W1, W1^T W2^T],
            [W2 W1,   W2 W2^T  ]]

The solvers need lambda-balanced weights, ``W2^T W2 - W1 W1^T = lambda I`` (``lambda = 0``: zero-
balanced); this quantity is conserved by gradient flow and is checked, not assumed.

Which solver
------------
* :func:`qqt_zero_balanced` -- stable closed form of Braun et al. 2022 (Theorem 3.1), ``lambda = 0``,
  ``n_h >= m = min(n_in, n_out)``.
* :func:`qqt_lambda_balanced` -- stable closed form for ``lambda != 0`` (Dominé et al. 2024), ``n_h = m``.
* :func:`qqt_riccati` -- the Riccati closed form (Fukumizu 1998), applied with restarts:
  any lambda-balanced initialisation and any ``n_h`` (bottleneck included), any ``B``.
* :func:`qqt_exact` -- picks the stable form where it is valid and well conditioned, and the
  restarted Riccati form otherwise, and says why.

The stable forms factor ``B`` out of the solution and need it invertible. In the square case
(``n_in = n_out``, ``Sigma_yx`` of full rank) with zero-balanced weights, ``B`` is *singular* whenever
``sign det W2 W1(0) != sign det Sigma_yx``: balanced singular values cannot cross zero,
so the determinant's sign is conserved and gradient flow cannot reach ``Sigma_yx``. It goes to a
saddle where one mode (generically the weakest, ``s~_m``) decays to 0 while the others are learned.
:func:`qqt_exact` detects this with ``cond(B)`` and uses the Riccati form, which stays exact there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from learndyn import _checks
from learndyn._numerics import relax_integral
from learndyn.init import balanced_factors
from learndyn.theory._inputs import _EPS, _balance, _is_zero_lam, _weights, lambda_of
from learndyn.theory.riccati import qqt_riccati

__all__ = [
    "ExactInfo",
    "b_matrix",
    "cond_b",
    "converged_qqt",
    "exact_trajectory",
    "lambda_of",
    "qqt_exact",
    "qqt_lambda_balanced",
    "qqt_riccati",
    "qqt_zero_balanced",
]

METHODS = ("auto", "zero_balanced", "lambda_balanced", "riccati")


@dataclass(frozen=True)
class ExactInfo:
    """How :func:`qqt_exact` computed its answer.

    Attributes
    ----------
    method : str
        ``"zero_balanced"``, ``"lambda_balanced"`` or ``"riccati"``.
    lam : float
        The conserved ``lambda`` of ``W2^T W2 - W1 W1^T = lambda I``.
    cond_b : float
        2-norm condition number of ``B`` (see :func:`cond_b`); ``inf`` where ``B`` is singular or
        undefined (``W2 W1(0)`` rank-deficient).
    reason : str
        Why this method was used.
    """

    method: str
    lam: float
    cond_b: float
    reason: str


# ---------------------------------------------------------------------------------------------
# shared pieces of the stable (B-) forms


def _svd_task(sig):
    """Full SVD of Sigma_yx: ``(Ut (n_out,n_out), st (m,), Vt (n_in,n_in))``."""
    Ut, st, VtT = np.linalg.svd(sig, full_matrices=True)
    return Ut, st, VtT.T


def _svd_net(W1, W2, m):
    """Thin SVD of ``W2 W1`` with ``m`` modes: ``(U (n_out,m), s (m,), V (n_in,m))``."""
    U, s, VT = np.linalg.svd(W2 @ W1, full_matrices=False)
    return U[:, :m], s[:m], VT[:m].T


@dataclass(frozen=True)
class _Stable:
    """Time-independent pieces of the stable closed form, ``QQ^T = Z A^-1 Z^T``.

    Braun et al. 2022 for ``lambda = 0``, Dominé et al. 2024 for ``lambda != 0``.
    """

    kappa: np.ndarray  # (m,)     kappa = (s~^2 + lambda^2 / 4)^(1/2)
    P1: np.ndarray  # (m, m)   C^T B^-T
    G4: np.ndarray  # (m, m)   4 B^-1 B^-T
    Zlin: np.ndarray  # (n, m)   [-V~_m A_+; U~_m A_-]
    Zconst: np.ndarray  # (n, m)   [V~_m A_-; U~_m A_+]
    mu: float  # eigenvalue of F on the larger side's complement
    ext_rows: slice | None  # rows of Z holding the complement (V~_perp or U~_perp)
    ext2Mb: np.ndarray | None  # (n_extra_side, m)  2 [V~_perp or U~_perp] M B^-T
    MtM: np.ndarray | None  # (m, m)   B^-1 M^T M B^-T


def _b_parts(W1, W2, sig, lam, dims):
    """Task and network SVDs, B, C and the extra-direction matrix M of the lambda-balanced stable form.

    At ``lam = 0`` these are the matrices of the zero-balanced form of Braun et al. 2022.
    """
    n_in, n_h, n_out = dims
    m = min(n_in, n_out)
    Ut, st, Vt = _svd_task(sig)
    U, s, V = _svd_net(W1, W2, m)
    null = st <= m * _EPS * max(st[0], np.finfo(float).tiny)
    if n_in == n_out and null.any():
        # s~_k = 0 leaves the sign of (u~_k, v~_k) free; choosing sign det(U~ V~^T) = sign
        # det(U V^T) keeps B invertible (no mode is stuck when Sigma_yx is rank-deficient)
        if np.linalg.det(Ut @ Vt.T) * np.linalg.det(U @ V.T) < 0:
            Ut = Ut.copy()
            Ut[:, np.flatnonzero(null)[-1]] *= -1.0
    s1, s2 = balanced_factors(s, lam)
    kappa = np.hypot(st, lam / 2.0)
    den = 2.0 * kappa + 2.0 * st
    X = np.divide(lam, den, out=np.zeros_like(st), where=den > 0)
    a = 1.0 / np.sqrt(1.0 + X * X)
    a_plus, a_minus = a * (1.0 + X), a * (1.0 - X)
    Ut_m, Vt_m = Ut[:, :m], Vt[:, :m]
    UU = U.T @ Ut_m
    VV = V.T @ Vt_m
    B = s2[:, None] * UU * a_plus[None, :] + s1[:, None] * VV * a_minus[None, :]
    C = s2[:, None] * UU * a_minus[None, :] - s1[:, None] * VV * a_plus[None, :]
    if n_out > n_in:
        ext, ext_top, mu = Ut[:, m:], False, lam / 2.0
        M = ext.T @ U * s2[None, :]
    elif n_in > n_out:
        ext, ext_top, mu = Vt[:, m:], True, -lam / 2.0
        M = ext.T @ V * s1[None, :]
    else:
        ext, ext_top, mu, M = None, False, 0.0, None
    sqrt_s = np.sqrt(s)
    B_hat = np.divide(B, sqrt_s[:, None], out=np.full_like(B, np.nan), where=sqrt_s[:, None] > 0)
    return dict(
        Ut=Ut,
        st=st,
        Vt=Vt,
        U=U,
        s=s,
        V=V,
        s1=s1,
        s2=s2,
        kappa=kappa,
        a_plus=a_plus,
        a_minus=a_minus,
        B=B,
        C=C,
        ext=ext,
        ext_top=ext_top,
        mu=mu,
        M=M,
        B_hat=B_hat,
        m=m,
    )


def _cond(parts) -> float:
    """Scale-aware condition number of ``B_hat``: a bound on its norm over its smallest singular value.

    The bound comes from the factors (``2`` for zero-balanced weights, where ``B_hat = U^T U~ + V^T V~``), so a
    ``B`` that vanishes altogether -- every mode anti-aligned, as after learning ``Sigma`` and switching to
    ``-Sigma`` -- is flagged too. The plain ``cond(B)`` misses that case: a matrix of rounding noise has
    ``cond`` of order 1.
    """
    B_hat = parts["B_hat"]
    if not np.all(np.isfinite(B_hat)):
        return float("inf")
    root = np.sqrt(parts["s"])
    scale = np.max(parts["s2"] / root) * np.max(parts["a_plus"]) + np.max(parts["s1"] / root) * np.max(parts["a_minus"])
    smin = np.linalg.svd(B_hat, compute_uv=False)[-1]
    return float(scale / smin) if smin > 0 else float("inf")


def _stable_setup(parts) -> _Stable:
    B, C, M, m = parts["B"], parts["C"], parts["M"], parts["m"]
    lu = sla.lu_factor(B, check_finite=False)
    P1 = sla.lu_solve(lu, C, check_finite=False).T  # (B^-1 C)^T = C^T B^-T
    Binv = sla.lu_solve(lu, np.eye(m), check_finite=False)
    Vt_m, Ut_m = parts["Vt"][:, :m], parts["Ut"][:, :m]
    ap, am = parts["a_plus"], parts["a_minus"]
    ext_rows = ext2Mb = MtM = None
    if M is not None:
        Mb = sla.lu_solve(lu, M.T, check_finite=False).T  # M B^-T
        MtM = Mb.T @ Mb
        ext2Mb = 2.0 * parts["ext"] @ Mb
        n_top = Vt_m.shape[0]
        ext_rows = slice(0, n_top) if parts["ext_top"] else slice(n_top, None)
    return _Stable(
        kappa=parts["kappa"],
        P1=P1,
        G4=4.0 * (Binv @ Binv.T),
        Zlin=np.concatenate([-Vt_m * ap, Ut_m * am], axis=0),
        Zconst=np.concatenate([Vt_m * am, Ut_m * ap], axis=0),
        mu=parts["mu"],
        ext_rows=ext_rows,
        ext2Mb=ext2Mb,
        MtM=MtM,
    )


def _stable_AZ(st: _Stable, theta: np.ndarray):
    """``(A, Z)`` of the stable closed form for a batch of times: ``QQ^T = Z A^{-1} Z^T``.

    Every ``t``-dependent factor is a diagonal scaling of a fixed matrix (``e C^T B^-T e =
    P1 o (e e^T)`` etc.), so the per-time work is elementwise apart from one ``(m, m)`` product.
    Only decaying exponentials are evaluated: ``e^{-kappa theta}``, ``e^{(mu - kappa) theta}``
    (``kappa >= |mu|``), and ``(1 - e^{-2 r theta}) / r`` via ``expm1`` (``-> 2 theta`` at 0).
    """
    th = theta[:, None]  # (T, 1)
    kap = st.kappa[None, :]  # (1, m)
    e = np.exp(-kap * th)  # (T, m)
    h = relax_integral(kap, th)  # (1 - e^2) / kappa  (T, m)
    ee = e[:, :, None] * e[:, None, :]  # (T, m, m)
    # A = e (4 G + P1^T diag(h) P1) e + diag(h) + 4 d(theta) e MtM e
    A = (st.P1.T[None] * h[:, None, :]) @ st.P1[None]
    A += st.G4
    A *= ee
    idx = np.arange(A.shape[-1])
    A[:, idx, idx] += h
    # Z = [V~_m (A_- - A_+ E); U~_m (A_+ + A_- E)] with E = e C^T B^-T e = P1 o (e e^T)
    ee *= st.P1
    Z = st.Zlin[None] @ ee
    Z += st.Zconst
    if st.MtM is not None:
        mu = st.mu
        # e^{mu theta} M B^-T e with the exponents combined: columns scaled by e^{(mu - kappa) th}
        Z[:, st.ext_rows] += st.ext2Mb[None] * np.exp((mu - kap) * th)[:, None, :]
        # d(theta) e_i e_j = f_i f_j (1 - e^{-2|mu| th}) / (2|mu|), f = e^{(max(mu,0) - kappa) th}
        f = np.exp((max(mu, 0.0) - kap) * th)
        c = relax_integral(abs(mu), theta) / 2.0  # (T,)
        A += 4.0 * c[:, None, None] * st.MtM[None] * (f[:, :, None] * f[:, None, :])
    return A, Z  # (T, m, m), (T, n, m)


def _stable_eval(st: _Stable, theta: np.ndarray) -> np.ndarray:
    """``QQ^T(theta) = Z A^{-1} Z^T`` via Cholesky of ``A`` and triangular solves, in chunks of
    times (bounded memory). Each BLAS routine runs in its own loop: alternating small ``trsm``
    and ``gemm`` calls can stall multithreaded OpenBLAS."""
    n, m = st.Zlin.shape
    out = np.empty((theta.size, n, n))
    chunk = max(1, (1 << 21) // (n * m))
    for c0 in range(0, theta.size, chunk):
        sl = slice(c0, c0 + chunk)
        A, Z = _stable_AZ(st, theta[sl])
        try:
            L = np.linalg.cholesky(A)
        except np.linalg.LinAlgError as exc:  # only if B is nearly singular
            raise ValueError(
                "the stable closed form's matrix A(t) is not numerically positive definite "
                "(B is too ill-conditioned); use qqt_riccati"
            ) from exc
        Wt = np.empty_like(Z)
        for i in range(Z.shape[0]):
            Wt[i] = sla.solve_triangular(L[i], Z[i].T, lower=True, check_finite=False).T
        np.matmul(Wt, np.swapaxes(Wt, 1, 2), out=out[sl])
    return out


# ---------------------------------------------------------------------------------------------
# public: B, cond(B)


def b_matrix(W1, W2, sigma_yx) -> np.ndarray:
    r"""The matrix ``B`` whose inverse the stable closed forms use, scale-free.

    For zero-balanced weights this is the ``B = U^T U~_m + V^T V~_m`` of Braun et al. 2022 (``W2 W1(0) = U S V^T``,
    ``Sigma_yx = U~ S~ V~^T``). For ``lambda != 0`` it is ``S^{-1/2}`` times the lambda-balanced form's
    ``B = S_2 U^T U~_m A_+ + S_1 V^T V~_m A_-`` (Dominé et al. 2024): the diagonal factor only carries the
    initialisation's scale, and with it the matrix is continuous in ``lambda`` at 0.

    Returns an ``(m, m)`` array, ``m = min(n_in, n_out)``; rows of modes with ``s = 0`` are ``nan``.

    Examples
    --------
    >>> import numpy as np
    >>> b_matrix(np.eye(2), np.eye(2), np.diag([2.0, 1.0]))   # aligned: B = 2 I
    array([[2., 0.],
           [0., 2.]])
    """
    W1, W2, sig, dims = _weights(W1, W2, sigma_yx)
    lam = lambda_of(W1, W2)
    return _b_parts(W1, W2, sig, lam, dims)["B_hat"]


def cond_b(W1, W2, sigma_yx) -> float:
    """Scale-aware condition number of :func:`b_matrix` (``inf`` if ``W2 W1(0)`` is rank-deficient).

    It is a bound on ``||B||`` from its factors (2 for zero-balanced weights) over the smallest singular value of
    ``B``, so it also flags a ``B`` that vanishes altogether (exact reversal), where the plain 2-norm condition
    number of a matrix of rounding noise would be of order 1.

    The stable forms are used only when this is at most ``cond_max`` (default ``1e10``).
    """
    W1, W2, sig, dims = _weights(W1, W2, sigma_yx)
    return _cond(_b_parts(W1, W2, sig, lambda_of(W1, W2), dims))


# ---------------------------------------------------------------------------------------------
# public: stable closed forms


def _det_mismatch(parts, dims) -> bool:
    """Square task with ``sign det W2 W1(0) != sign det Sigma_yx`` (then ``B`` is singular)."""
    if dims[0] != dims[2]:
        return False
    return bool(np.linalg.det(parts["U"] @ parts["V"].T) * np.linalg.det(parts["Ut"] @ parts["Vt"].T) < 0)


def _full_rank(s) -> bool:
    return bool(s[-1] > 64 * _EPS * max(s[0], np.finfo(float).tiny))


def _check_stable(parts, dims, cond_max, fn):
    """Raise unless the stable form applies: ``W2 W1(0)`` of rank ``m`` and ``cond(B) <= cond_max``."""
    s, m = parts["s"], parts["m"]
    if not _full_rank(s):
        raise ValueError(
            f"{fn} needs W2 W1(0) of full rank m = min(n_in, n_out) = {m}; its singular values are "
            f"{np.array2string(s, precision=3)}. Use qqt_riccati (or qqt_exact, "
            "method='riccati'), which handles rank-deficient initialisations"
        )
    c = _cond(parts)
    if not c <= cond_max:
        hint = ""
        if _det_mismatch(parts, dims):
            hint = (
                " (square task with sign det W2 W1(0) != sign det Sigma_yx: gradient flow goes "
                "to a saddle where one mode decays to 0)"
            )
        raise ValueError(
            f"{fn}: B is singular or ill-conditioned, cond(B) = {c:.3e} > cond_max = {cond_max:g}"
            f"{hint}; the stable closed form cannot be used. Use qqt_exact(..., method='auto') or "
            "method='riccati' (qqt_riccati), which is exact for any B"
        )


def _prep_stable(W1, W2, sigma_yx, t, tau):
    W1, W2, sig, dims = _weights(W1, W2, sigma_yx)
    t = _checks.times("t", t)
    tau = _checks.positive_float("tau", tau)
    return W1, W2, sig, dims, t / tau


def qqt_zero_balanced(W1, W2, sigma_yx, t, *, tau: float = 1.0, cond_max: float = 1e10):
    r"""Stable closed form of ``QQ^T(t)`` for zero-balanced weights (Braun et al. 2022, Theorem 3.1).

    Assumptions, all checked: whitened inputs (``sigma_yx`` is the whitened correlation);
    ``W1 W1^T = W2^T W2``; ``n_h >= m = min(n_in, n_out)``; ``W2 W1(0)`` of rank ``m``;
    ``cond(B) <= cond_max``. ``sigma_yx`` may be rank-deficient (``s~_i = 0`` modes are handled via
    ``(1 - e^{-2 s~ theta}) / s~ -> 2 theta``).

    Only decaying exponentials ``e^{-s~ theta}`` appear, so the result is finite for any ``t`` and
    tends to ``[V~_m; U~_m] S~ [V~_m; U~_m]^T``. ``Z A^{-1} Z^T`` is evaluated by Cholesky
    factorisation of ``A`` and triangular solves, vectorised over ``t``.

    Parameters
    ----------
    W1 : array (n_h, n_in)
    W2 : array (n_out, n_h)
    sigma_yx : array (n_out, n_in)
        Whitened input-output correlation ``Y X^T / P``.
    t : array_like (T,)
        Non-decreasing gradient-flow times ``>= 0``.
    tau : float
        Time constant, ``theta = t / tau``.
    cond_max : float
        Largest accepted ``cond(B)``; above it a ValueError points to the Riccati solver.

    Returns
    -------
    ndarray (T, n_in + n_out, n_in + n_out)

    Examples
    --------
    >>> import numpy as np
    >>> q = qqt_zero_balanced(0.1 * np.eye(2), 0.1 * np.eye(2), np.diag([2.0, 1.0]), [0.0, 1e6])
    >>> np.round(q[-1, 2:, :2], 12)        # W2 W1 -> Sigma_yx
    array([[2., 0.],
           [0., 1.]])
    """
    W1, W2, sig, dims, theta = _prep_stable(W1, W2, sigma_yx, t, tau)
    lam, resid, scale = _balance(W1, W2)
    if resid + abs(lam) > 1e-8 * scale:
        raise ValueError(
            "qqt_zero_balanced needs zero-balanced weights (W1 W1^T = W2^T W2); got "
            f"max|W2^T W2 - W1 W1^T| = {np.max(np.abs(W2.T @ W2 - W1 @ W1.T)):.3e} "
            f"(lambda ~ {lam:.3g}, relative tolerance 1e-8 * {scale:.3e}); use qqt_lambda_balanced "
            "for lambda-balanced weights or qqt_riccati"
        )
    n_in, n_h, n_out = dims
    m = min(n_in, n_out)
    if n_h < m:
        raise ValueError(
            f"qqt_zero_balanced needs n_h >= m = min(n_in, n_out) = {m}; got n_h = {n_h} "
            "(bottleneck). Use qqt_riccati, which handles any n_h"
        )
    parts = _b_parts(W1, W2, sig, 0.0, dims)
    _check_stable(parts, dims, cond_max, "qqt_zero_balanced")
    return _stable_eval(_stable_setup(parts), theta)


def qqt_lambda_balanced(W1, W2, sigma_yx, t, *, tau: float = 1.0, cond_max: float = 1e10):
    r"""Stable closed form of ``QQ^T(t)`` for lambda-balanced weights (Dominé et al. 2024).

    Valid for ``W2^T W2 - W1 W1^T = lambda I`` with ``n_h = m = min(n_in, n_out)``, either sign of
    ``lambda`` and ``n_in <, =, > n_out``; at ``lambda = 0`` it is the zero-balanced form (which
    then also allows ``n_h > m``). For ``n_h > m`` with ``lambda != 0`` the form is wrong (``rank
    Q0 > m``, while the form assumes rank ``m``) and a ValueError points to :func:`qqt_riccati`.

    Uses ``kappa = (S~^2 + lambda^2/4)^{1/2}``, the rationalised ``X = lambda / (2 kappa + 2 S~)``
    (no 0/0 at ``lambda = 0``), and only decaying exponentials: ``e^{-kappa theta}`` and
    ``e^{(mu - kappa) theta}`` (``mu = lambda/2`` on ``U~_perp`` if ``n_out > n_in``, ``-lambda/2``
    on ``V~_perp`` if ``n_in > n_out``), combined before evaluation; ``kappa >= |mu|``.
    As ``t -> oo``, ``W2 W1 -> Sigma_yx``, ``W2 W2^T -> U~ diag((sqrt(lam^2 + 4 S~^2) + lam)/2) U~^T``
    and ``W1^T W1 -> V~ diag((sqrt(lam^2 + 4 S~^2) - lam)/2) V~^T`` (see :func:`converged_qqt`).

    Parameters and returns as :func:`qqt_zero_balanced`.

    Examples
    --------
    >>> import numpy as np
    >>> W1 = np.array([[0.5, 0.0]]); W2 = np.array([[1.0]])          # lambda = 0.75, n_h = m = 1
    >>> q = qqt_lambda_balanced(W1, W2, np.array([[1.0, 0.0]]), [1e6])
    >>> round(float(q[0, 2, 0]), 12)                                   # W2 W1 -> Sigma_yx
    1.0
    """
    W1, W2, sig, dims, theta = _prep_stable(W1, W2, sigma_yx, t, tau)
    lam = lambda_of(W1, W2)
    _, _, scale = _balance(W1, W2)
    n_in, n_h, n_out = dims
    m = min(n_in, n_out)
    if n_h < m:
        raise ValueError(
            f"qqt_lambda_balanced needs n_h >= m = min(n_in, n_out) = {m}; got (n_in, n_h, n_out)"
            f" = ({n_in}, {n_h}, {n_out}) (bottleneck). Use qqt_riccati, which handles any n_h"
        )
    if n_h > m:
        if not _is_zero_lam(lam, scale):
            raise ValueError(
                f"qqt_lambda_balanced with lambda = {lam:.6g} != 0 needs n_h = m = min(n_in, "
                f"n_out) = {m}; got (n_in, n_h, n_out) = ({n_in}, {n_h}, {n_out}). For n_h > m "
                "the stable lambda-balanced form is wrong (rank Q > m); use qqt_riccati"
                " (or qqt_exact, method='riccati')"
            )
        lam = 0.0
    parts = _b_parts(W1, W2, sig, lam, dims)
    _check_stable(parts, dims, cond_max, "qqt_lambda_balanced")
    return _stable_eval(_stable_setup(parts), theta)


def converged_qqt(sigma_yx, lam: float = 0.0) -> np.ndarray:
    r"""The ``t -> oo`` limit of the stable forms: the converged representations.

    Braun et al. 2022 for ``lam = 0``; Dominé et al. 2024 for ``lam != 0``.

    ``[V~_m S_1; U~_m S_2][V~_m S_1; U~_m S_2]^T`` with ``S_2^2 = (sqrt(lam^2 + 4 S~^2) + lam)/2``
    and ``S_1^2 = (sqrt(lam^2 + 4 S~^2) - lam)/2`` (so ``S_1 S_2 = S~``); at ``lam = 0`` this is
    ``[V~_m; U~_m] S~ [V~_m; U~_m]^T``. It is the limit for ``n_h = m`` (any ``lam``) and for
    ``n_h >= m`` at ``lam = 0``, when ``B`` is invertible.

    Examples
    --------
    >>> converged_qqt([[2.0]])
    array([[2., 2.],
           [2., 2.]])
    """
    sig = _checks.as_matrix("sigma_yx", sigma_yx)
    lam = _checks.real_float("lam", lam)
    n_out, n_in = sig.shape
    m = min(n_in, n_out)
    Ut, st, Vt = _svd_task(sig)
    s1, s2 = balanced_factors(st, lam)
    Q = np.concatenate([Vt[:, :m] * s1, Ut[:, :m] * s2], axis=0)
    return Q @ Q.T


# ---------------------------------------------------------------------------------------------
# public: dispatcher


def qqt_exact(W1, W2, sigma_yx, t, *, tau: float = 1.0, method: str = "auto", cond_max: float = 1e10):
    r"""Exact ``QQ^T(t)`` for lambda-balanced two-layer linear networks, choosing the solver.

    ``method="auto"`` uses the stable closed form where it is valid -- zero-balanced with
    ``n_h >= m`` (:func:`qqt_zero_balanced`), or ``lambda != 0`` with ``n_h = m``
    (:func:`qqt_lambda_balanced`) -- when ``W2 W1(0)`` has full rank ``m`` and
    ``cond(B) <= cond_max``; otherwise the restarted Riccati form (:func:`qqt_riccati`). The
    returned :class:`ExactInfo` says which and why.

    Singular ``B`` and stuck modes: for a square task (``n_in = n_out``) with zero-balanced
    weights and ``sign det W2 W1(0) != sign det Sigma_yx``, ``B`` is singular. The
    sign of the determinant is conserved (balanced singular values cannot cross zero), so gradient
    flow never reaches ``Sigma_yx``: it converges to a saddle where one mode (generically the
    weakest) decays to 0 and the loss stays above its minimum. ``auto`` flags this through
    ``cond(B) > cond_max`` and routes to the Riccati form, which follows the flow exactly.

    Parameters
    ----------
    W1, W2, sigma_yx, t, tau
        As :func:`qqt_zero_balanced`.
    method : {"auto", "zero_balanced", "lambda_balanced", "riccati"}
    cond_max : float
        Largest ``cond(B)`` for which a stable form is used.

    Returns
    -------
    qqt : ndarray (T, n_in + n_out, n_in + n_out)
    info : ExactInfo

    Examples
    --------
    >>> import numpy as np
    >>> q, info = qqt_exact(0.1 * np.eye(2), 0.1 * np.eye(2), np.diag([2.0, -1.0]), [1.0])
    >>> info.method, info.cond_b > 1e10
    ('riccati', True)
    """
    method = _checks.one_of("method", method, METHODS)
    cond_max = _checks.positive_float("cond_max", cond_max)
    if method != "auto":
        fn = {"zero_balanced": qqt_zero_balanced, "lambda_balanced": qqt_lambda_balanced}.get(method)
        q = (
            qqt_riccati(W1, W2, sigma_yx, t, tau=tau)
            if fn is None
            else fn(W1, W2, sigma_yx, t, tau=tau, cond_max=cond_max)
        )
        W1, W2, sig, dims = _weights(W1, W2, sigma_yx)
        lam, _, scale = _balance(W1, W2)
        parts = _b_parts(W1, W2, sig, 0.0 if _is_zero_lam(lam, scale) else lam, dims)
        return q, ExactInfo(method, lam, _cond(parts), "requested")
    W1, W2, sig, dims, theta = _prep_stable(W1, W2, sigma_yx, t, tau)
    lam = lambda_of(W1, W2)
    _, _, scale = _balance(W1, W2)
    n_in, n_h, n_out = dims
    m = min(n_in, n_out)
    zero = _is_zero_lam(lam, scale)
    parts = _b_parts(W1, W2, sig, 0.0 if zero else lam, dims)
    cb = _cond(parts)
    if n_h < m:
        reason = f"bottleneck n_h = {n_h} < m = {m}: stable forms do not apply"
    elif not zero and n_h != m:
        reason = f"lambda = {lam:.3g} != 0 with n_h = {n_h} > m = {m}: the stable form is wrong here"
    elif not _full_rank(parts["s"]):
        reason = f"W2 W1(0) is rank-deficient (singular values {np.array2string(parts['s'], precision=3)})"
    elif not cb <= cond_max:
        reason = f"cond(B) = {cb:.3e} > cond_max = {cond_max:g}"
        if _det_mismatch(parts, dims):
            reason += " (square task, sign det W2 W1(0) != sign det Sigma_yx: a mode gets stuck at 0)"
    else:
        q = _stable_eval(_stable_setup(parts), theta)
        name = "zero_balanced" if zero else "lambda_balanced"
        return q, ExactInfo(name, lam, cb, f"stable form valid, cond(B) = {cb:.3e}")
    q = qqt_riccati(W1, W2, sig, t, tau=tau)
    return q, ExactInfo("riccati", lam, cb, reason + "; using the restarted Riccati form")


# ---------------------------------------------------------------------------------------------
# task-level front door


def exact_trajectory(
    task,
    W1,
    W2,
    t,
    *,
    method: str = "auto",
    white_tol: float = 1e-8,
    cond_max: float = 1e10,
    ntk: bool = True,
    rsm: bool = True,
):
    """The exact trajectory of a two-layer linear net on a :class:`~learndyn.tasks.Task`, as a Dataset.

    Checks that the inputs are white (``sigma_xx = c I``; raises with the measured deviation otherwise), applies the
    scaled-identity rule (theory on ``sigma_yx / c`` at theory time ``c t``), solves with :func:`qqt_exact` and
    returns the same variables as a simulated trajectory (:mod:`learndyn.observables`), so the two compare directly.

    Parameters
    ----------
    task : Task
        Inputs must satisfy ``X^T X / P = c I`` to ``white_tol``.
    W1, W2 : arrays (n_h, n_in), (n_out, n_h)
        lambda-balanced initial weights.
    t : 1-D array
        Gradient-flow times of the library's convention (``t = lr * step``, ``tau = 1``).
    method, cond_max
        Passed to :func:`qqt_exact`.
    ntk, rsm : bool
        Include the NTK / RSMs.

    Returns
    -------
    xarray.Dataset
        Variables ``loss, f, w2w1, w1tw1, w2w2t`` (+ ``rsm_in, rsm_out, ntk``), attributes ``source="theory"``,
        ``method``, ``lam``, ``cond_b``, ``reason`` (from :class:`ExactInfo`) and ``input_scale`` (``c``).

    Examples
    --------
    >>> from learndyn import init, tasks
    >>> task = tasks.teacher_student(10, 4, 5, 3, seed=3)
    >>> W1, W2 = init.zero_balanced(0, (4, 5, 3), 0.1)
    >>> ds = exact_trajectory(task, W1, W2, [0.0, 1.0, 1e6])
    >>> ds.attrs["method"], ds["w2w1"].shape
    ('zero_balanced', (3, 3, 4))
    """
    from learndyn.observables import trajectory_from_qqt
    from learndyn.tasks import Task

    if not isinstance(task, Task):
        raise TypeError(f"task must be a learndyn Task; got {type(task).__name__}")
    t = _checks.times("t", t)
    sigma, c = task.whitened_correlation(white_tol)
    qqt, info = qqt_exact(W1, W2, sigma, c * t, method=method, cond_max=cond_max)
    attrs = {
        "source": "theory",
        "method": info.method,
        "lam": info.lam,
        "cond_b": info.cond_b,
        "reason": info.reason,
        "input_scale": c,
    }
    return trajectory_from_qqt(task, t, qqt, ntk=ntk, rsm=rsm, attrs=attrs)
