"""Tests for learndyn.theory.linear: exact QQ^T(t) against independent references.

The reference is the gradient flow itself, ``dW1/dt = W2^T (S - W2 W1)``, ``dW2/dt = (S - W2 W1) W1^T``
(divided by tau), integrated here with scipy's ``solve_ivp`` (DOP853, rtol 1e-13, atol 1e-14, restarted
at every output time so no dense-output interpolation enters), and QQ^T built from the integrated
weights. Weights are built in the test from random orthogonal matrices, limits from the task SVD
written out here. Checked: the zero-balanced form (Braun, Dominé, Fitzgerald & Saxe, NeurIPS 2022) and
the lambda-balanced form (Dominé et al. 2024, "From lazy to rich") against the ODE and the Riccati form
(Fukumizu 1998) to 1e-10; the long-time limits; and the square case with singular B, where the
restarted Riccati form must follow the flow to its saddle.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import learndyn  # noqa: F401
from learndyn.theory.linear import (
    ExactInfo,
    b_matrix,
    cond_b,
    converged_qqt,
    lambda_of,
    qqt_exact,
    qqt_lambda_balanced,
    qqt_riccati,
    qqt_zero_balanced,
)

T_SHORT = np.array([0.5, 2.0, 10.0])
TOL = 1e-10


# ------------------------------------------------------------------------------------------------
# independent constructions


def orth(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def task(rng, n_in, n_out, s=None):
    """Sigma_yx = U diag(s) V^T (random orthogonal U, V) and its factors."""
    m = min(n_in, n_out)
    U, V = orth(rng, n_out), orth(rng, n_in)
    s = rng.uniform(0.2, 1.5, m) if s is None else np.asarray(s, float)
    return U[:, :m] @ np.diag(s) @ V[:, :m].T


def balanced_weights(rng, n_in, n_h, n_out, lam=0.0, s=None, det_sign=None):
    """lambda-balanced weights W1 = R S1 V^T, W2 = U S2 R^T (as in Dominé et al. 2024).

    ``s`` are the k = min(n_h, m) singular values of W2 W1. Extra hidden directions (n_h > m) get
    sqrt(lam) in W2 (lam > 0) or sqrt(-lam) in W1 (lam < 0), as the dimension constraints allow.
    ``det_sign`` (square only) fixes sign det(W2 W1).
    """
    m = min(n_in, n_out)
    k = min(n_h, m)
    s = rng.uniform(0.05, 1.0, k) if s is None else np.asarray(s, float)
    root = np.sqrt(lam**2 + 4 * s**2)
    s2 = np.sqrt((root + lam) / 2)
    s1 = np.sqrt((root - lam) / 2)
    R, U, V = orth(rng, n_h), orth(rng, n_out), orth(rng, n_in)
    if det_sign is not None and np.sign(np.linalg.det(U @ V.T)) != det_sign:
        U[:, 0] *= -1.0
    W1 = R[:, :k] @ np.diag(s1) @ V[:, :k].T
    W2 = U[:, :k] @ np.diag(s2) @ R[:, :k].T
    extra = n_h - k
    if extra > 0 and lam > 0:
        W2 = W2 + np.sqrt(lam) * U[:, k : k + extra] @ R[:, k:].T
    elif extra > 0 and lam < 0:
        W1 = W1 + np.sqrt(-lam) * R[:, k:] @ V[:, k : k + extra].T
    return W1, W2


def qqt_of(W1, W2):
    Q = np.concatenate([W1.T, W2], axis=0)
    return Q @ Q.T


def ode_qqt(W1, W2, sig, t, tau=1.0, rtol=1e-13, atol=1e-14, return_weights=False):
    """Gradient flow integrated with solve_ivp; QQ^T (and optionally the weights) at times t."""
    n_h, n_in = W1.shape
    n_out = W2.shape[0]
    split = n_h * n_in

    def rhs(_, y):
        a = y[:split].reshape(n_h, n_in)
        b = y[split:].reshape(n_out, n_h)
        err = sig - b @ a
        return np.concatenate([(b.T @ err).ravel(), (err @ a.T).ravel()]) / tau

    y, t_prev, qqts, weights = np.concatenate([W1.ravel(), W2.ravel()]), 0.0, [], []
    for tk in t:
        if tk > t_prev:
            sol = solve_ivp(rhs, (t_prev, tk), y, method="DOP853", rtol=rtol, atol=atol)
            assert sol.success, sol.message
            y, t_prev = sol.y[:, -1], tk
        a, b = y[:split].reshape(n_h, n_in), y[split:].reshape(n_out, n_h)
        qqts.append(qqt_of(a, b))
        weights.append((a, b))
    return (np.array(qqts), weights) if return_weights else np.array(qqts)


def limit_qqt(sig, lam=0.0):
    """t -> oo limit for n_h = m: the converged representations of Dominé et al. 2024.

    At lam = 0 these are those of Braun et al. 2022.
    """
    n_out, n_in = sig.shape
    m = min(n_in, n_out)
    U, st, VT = np.linalg.svd(sig)
    root = np.sqrt(lam**2 + 4 * st**2)
    top = VT[:m].T @ np.diag((root - lam) / 2) @ VT[:m]  # W1^T W1
    bot = U[:, :m] @ np.diag((root + lam) / 2) @ U[:, :m].T  # W2 W2^T
    return np.block([[top, sig.T], [sig, bot]])


def maxerr(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


# ------------------------------------------------------------------------------------------------
# Zero-balanced closed form against the ODE (max |QQ^T error| < 1e-10)


@pytest.mark.parametrize("shape", [(5, 10, 2), (3, 4, 7), (6, 8, 6), (4, 4, 4)])
def test_zero_balanced_matches_ode(shape):
    n_in, n_h, n_out = shape
    rng = np.random.default_rng(sum(shape))
    sig = task(rng, n_in, n_out)
    det = np.sign(np.linalg.det(sig)) if n_in == n_out else None
    W1, W2 = balanced_weights(rng, n_in, n_h, n_out, det_sign=det)
    ref = ode_qqt(W1, W2, sig, T_SHORT)
    q = qqt_zero_balanced(W1, W2, sig, T_SHORT)
    assert q.shape == (3, n_in + n_out, n_in + n_out)
    assert maxerr(q, ref) < TOL  # measured <= 2e-14
    q_auto, info = qqt_exact(W1, W2, sig, T_SHORT)
    assert info.method == "zero_balanced" and info.cond_b < 1e10
    assert maxerr(q_auto, ref) < TOL


def test_zero_balanced_tau_and_initial_value():
    rng = np.random.default_rng(1)
    sig = task(rng, 5, 3)
    W1, W2 = balanced_weights(rng, 5, 4, 3)
    t = np.array([0.0, 1.0, 3.0])
    ref = ode_qqt(W1, W2, sig, t, tau=0.5)
    for fn in (qqt_zero_balanced, qqt_riccati):
        q = fn(W1, W2, sig, t, tau=0.5)
        assert maxerr(q[0], qqt_of(W1, W2)) < 1e-12  # QQ^T(0) = [V; U] S [V; U]^T
        assert maxerr(q, ref) < TOL


@pytest.mark.parametrize("shape, rank", [((5, 5, 3), 1), ((3, 4, 6), 2), ((4, 4, 4), 2)])
def test_zero_balanced_rank_deficient_task(shape, rank):
    """s~ = 0 modes: (1 - e^{-2 s~ t}) / s~ -> 2t; square: the null pair's sign is chosen so that B
    stays invertible (no stuck mode exists when Sigma is rank-deficient)."""
    n_in, n_h, n_out = shape
    rng = np.random.default_rng(7 + rank)
    for _ in range(3):
        sig = rng.standard_normal((n_out, rank)) @ rng.standard_normal((rank, n_in)) / n_in
        W1, W2 = balanced_weights(rng, n_in, n_h, n_out)
        ref = ode_qqt(W1, W2, sig, T_SHORT)
        q, info = qqt_exact(W1, W2, sig, T_SHORT)
        assert info.method == "zero_balanced"
        assert maxerr(q, ref) < TOL


# ------------------------------------------------------------------------------------------------
# lambda-balanced closed form against the ODE and the Riccati form (error < 1e-10)


@pytest.mark.parametrize(
    "shape, lam",
    [((4, 4, 4), -2.0), ((4, 4, 4), 0.5), ((4, 4, 4), 3.0),
     ((3, 3, 6), 1.5), ((3, 3, 6), -1.5), ((6, 3, 3), 1.5), ((6, 3, 3), -1.5)],
)  # fmt: skip
def test_lambda_balanced_matches_ode_and_riccati(shape, lam):
    n_in, n_h, n_out = shape
    rng = np.random.default_rng(int(10 * lam) + sum(shape) + 100)
    sig = task(rng, n_in, n_out)
    W1, W2 = balanced_weights(rng, n_in, n_h, n_out, lam=lam)
    assert lambda_of(W1, W2) == pytest.approx(lam, abs=1e-12)
    ref = ode_qqt(W1, W2, sig, T_SHORT)
    q = qqt_lambda_balanced(W1, W2, sig, T_SHORT)
    assert maxerr(q, ref) < TOL  # measured <= 2e-14
    assert maxerr(q, qqt_riccati(W1, W2, sig, T_SHORT)) < TOL
    q_auto, info = qqt_exact(W1, W2, sig, T_SHORT)
    assert info.method == "lambda_balanced" and info.lam == pytest.approx(lam)
    assert maxerr(q_auto, q) == 0.0


@pytest.mark.parametrize("shape", [(4, 4, 4), (3, 3, 6), (6, 3, 3)])
@pytest.mark.parametrize("lam", [1e-9, -1e-9])
def test_lambda_to_zero_limit(shape, lam):
    """The lambda form at tiny lambda matches the zero-balanced form (same U, S, V, R) to O(lambda)."""
    n_in, n_h, n_out = shape
    sig = task(np.random.default_rng(3), n_in, n_out)
    W1l, W2l = balanced_weights(np.random.default_rng(4), n_in, n_h, n_out, lam=lam)
    W10, W20 = balanced_weights(np.random.default_rng(4), n_in, n_h, n_out, lam=0.0)
    if cond_b(W10, W20, sig) > 1e6:  # square case with the det sign mismatched: flip it
        W1l, W2l = balanced_weights(np.random.default_rng(4), n_in, n_h, n_out, lam, det_sign=1.0)
        W10, W20 = balanced_weights(np.random.default_rng(4), n_in, n_h, n_out, 0.0, det_sign=1.0)
    t = np.array([0.5, 2.0, 10.0, 100.0])
    q_lam = qqt_lambda_balanced(W1l, W2l, sig, t)
    q_zero = qqt_zero_balanced(W10, W20, sig, t)
    err = maxerr(q_lam, q_zero)
    assert err < 1e-8
    assert err > 0.0  # the lambda form really used lambda != 0


# ------------------------------------------------------------------------------------------------
# Long-time limits, t = 1e4 and 1e6: finite, and equal to the converged representations


@pytest.mark.parametrize(
    "shape, lam",
    [((5, 10, 2), 0.0), ((3, 4, 7), 0.0), ((4, 4, 4), 0.0), ((4, 4, 4), -2.0), ((4, 4, 4), 3.0),
     ((3, 3, 6), 1.5), ((3, 3, 6), -1.5), ((6, 3, 3), 1.5), ((6, 3, 3), -1.5)],
)  # fmt: skip
def test_stable_forms_converge(shape, lam):
    n_in, n_h, n_out = shape
    rng = np.random.default_rng(200 + sum(shape) + int(lam))
    sig = task(rng, n_in, n_out)
    det = np.sign(np.linalg.det(sig)) if n_in == n_out else None
    W1, W2 = balanced_weights(rng, n_in, n_h, n_out, lam=lam, det_sign=det)
    t = np.array([1e4, 1e6, 1e300])
    q, info = qqt_exact(W1, W2, sig, t)
    assert info.method in ("zero_balanced", "lambda_balanced")
    assert np.isfinite(q).all()
    limit = limit_qqt(sig, lam)
    assert maxerr(q, limit) < 1e-12  # measured <= 1e-15
    assert maxerr(converged_qqt(sig, lam), limit) < 1e-13
    # the Riccati form, with restarts, step growth and freezing, reaches the same limit
    r = qqt_riccati(W1, W2, sig, t[:2])
    assert np.isfinite(r).all()
    assert maxerr(r, limit) < 1e-12


# ------------------------------------------------------------------------------------------------
# Singular B (square, zero-balanced, sign det W2 W1(0) != sign det Sigma): detected by cond(B), Riccati fallback


def _singular_b_case():
    rng = np.random.default_rng(11)
    s_task = np.array([1.4, 0.9, 0.6, 0.4])
    sig = task(rng, 4, 4, s=s_task)
    W1, W2 = balanced_weights(rng, 4, 4, 4, s=[0.3, 0.2, 0.1, 0.05],
                              det_sign=-np.sign(np.linalg.det(sig)))  # fmt: skip
    return sig, s_task, W1, W2


def test_singular_b_is_flagged_and_routed_to_riccati():
    sig, s_task, W1, W2 = _singular_b_case()
    assert np.sign(np.linalg.det(W2 @ W1)) != np.sign(np.linalg.det(sig))
    assert cond_b(W1, W2, sig) > 1e10
    with pytest.raises(ValueError, match=r"cond\(B\) = .* > cond_max.*sign det.*riccati"):
        qqt_zero_balanced(W1, W2, sig, T_SHORT)
    t = np.array([10.0, 40.0])
    q, info = qqt_exact(W1, W2, sig, t)
    assert isinstance(info, ExactInfo)
    assert info.method == "riccati" and "cond(B)" in info.reason
    ref, weights = ode_qqt(W1, W2, sig, t, return_weights=True)
    assert maxerr(q, ref) < TOL  # measured ~1e-14
    # the simulated flow goes to a saddle: the weakest mode of W2 W1 decays to 0
    sv = np.linalg.svd(weights[-1][1] @ weights[-1][0], compute_uv=False)
    assert sv[-1] < 1e-10
    np.testing.assert_allclose(sv[:-1], s_task[:-1], rtol=0, atol=1e-7)  # the others are learned


def test_singular_b_long_horizon_stays_at_saddle():
    """The exact flow converges to the saddle with the weakest mode stuck at 0; the
    Riccati solver stays there at any t (rank of Q's growing component is re-imposed)."""
    sig, s_task, W1, W2 = _singular_b_case()
    U, _, VT = np.linalg.svd(sig)
    Qs = np.concatenate([VT[:3].T, U[:, :3]], axis=0)
    saddle = Qs @ np.diag(s_task[:3]) @ Qs.T
    q = qqt_riccati(W1, W2, sig, [200.0, 1e4, 1e6])
    assert np.isfinite(q).all()
    assert maxerr(q, saddle) < 1e-12


# ------------------------------------------------------------------------------------------------
# Riccati form where the stable forms do not apply


@pytest.mark.parametrize("lam", [0.0, 0.7, -0.7])
def test_riccati_bottleneck(lam):
    rng = np.random.default_rng(21)
    sig = task(rng, 5, 4)
    W1, W2 = balanced_weights(rng, 5, 2, 4, lam=lam)  # n_h = 2 < m = 4
    ref = ode_qqt(W1, W2, sig, T_SHORT)
    assert maxerr(qqt_riccati(W1, W2, sig, T_SHORT), ref) < TOL
    q, info = qqt_exact(W1, W2, sig, T_SHORT)
    assert info.method == "riccati" and "bottleneck" in info.reason
    with pytest.raises(ValueError, match="n_h >= m"):
        qqt_zero_balanced(*balanced_weights(rng, 5, 2, 4), sig, T_SHORT)


@pytest.mark.parametrize("shape, lam", [((3, 5, 6), 1.0), ((6, 5, 3), -1.0), ((3, 4, 5), 0.6)])
def test_riccati_hidden_wider_than_m_with_lambda(shape, lam):
    n_in, n_h, n_out = shape
    rng = np.random.default_rng(31 + n_h)
    sig = task(rng, n_in, n_out)
    W1, W2 = balanced_weights(rng, n_in, n_h, n_out, lam=lam)
    assert lambda_of(W1, W2) == pytest.approx(lam)
    ref = ode_qqt(W1, W2, sig, T_SHORT)
    assert maxerr(qqt_riccati(W1, W2, sig, T_SHORT), ref) < TOL
    q, info = qqt_exact(W1, W2, sig, T_SHORT)
    assert info.method == "riccati" and "n_h" in info.reason
    with pytest.raises(ValueError, match=r"needs n_h = m.*qqt_riccati"):
        qqt_lambda_balanced(W1, W2, sig, T_SHORT)
    # converged representations of lambda-balanced nets (Dominé et al. 2024): W2 W2^T -> U~ diag((sqrt(lam^2 +
    # 4 s~^2) + lam) / 2, extra block lam) U~^T; W1^T W1 likewise with -lam; W2 W1 -> Sigma
    big = qqt_riccati(W1, W2, sig, [1e4])[0]
    st = np.linalg.svd(sig, compute_uv=False)
    root = np.sqrt(lam**2 + 4 * st**2)
    extra = [abs(lam)] * (n_h - min(n_in, n_out))
    want_in = np.concatenate([(root - lam) / 2, extra if lam < 0 else []])
    want_out = np.concatenate([(root + lam) / 2, extra if lam > 0 else []])
    for block, want in ((big[:n_in, :n_in], want_in), (big[n_in:, n_in:], want_out)):
        ev = np.linalg.eigvalsh(block)[::-1]
        np.testing.assert_allclose(ev[: want.size], np.sort(want)[::-1], rtol=0, atol=1e-10)
        np.testing.assert_allclose(ev[want.size :], 0.0, rtol=0, atol=1e-10)
    assert maxerr(big[n_in:, :n_in], sig) < 1e-10


def test_riccati_slow_mode_is_not_frozen():
    """A weak mode (s~ = 1e-3) with a tiny initial value is learned around t ~ 3e3, long after the
    strong modes have converged; freezing or large steps must not lose it."""
    rng = np.random.default_rng(41)
    sig = task(rng, 3, 5, s=[1.0, 0.3, 1e-3])
    W1, W2 = balanced_weights(rng, 3, 3, 5, s=[1e-4, 1e-4, 1e-6])
    t = np.array([10.0, 1e3, 3e3, 5e3, 1e4, 1e5, 1e6])
    q = qqt_riccati(W1, W2, sig, t)
    ref = qqt_zero_balanced(W1, W2, sig, t)  # B invertible here: the stable form is exact
    assert maxerr(q, ref) < 1e-10  # measured ~1e-14
    assert maxerr(q[:2], ode_qqt(W1, W2, sig, t[:2])) < TOL


def test_riccati_zero_task_has_no_exponentials():
    """Sigma = 0, lambda = 0: F = 0 and QQ^T(t) = Q0 (I + t Q0^T Q0)^{-1} Q0^T decays algebraically."""
    rng = np.random.default_rng(51)
    W1, W2 = balanced_weights(rng, 3, 3, 2)
    sig = np.zeros((2, 3))
    t = np.array([0.5, 2.0, 10.0])
    assert maxerr(qqt_riccati(W1, W2, sig, t), ode_qqt(W1, W2, sig, t)) < TOL


def test_riccati_rank_deficient_initialisation():
    rng = np.random.default_rng(61)
    sig = task(rng, 4, 3)
    W1, W2 = balanced_weights(rng, 4, 3, 3, s=[0.5, 0.2, 0.0])  # W2 W1(0) of rank 2 < m = 3
    with pytest.raises(ValueError, match="full rank"):
        qqt_zero_balanced(W1, W2, sig, T_SHORT)
    q, info = qqt_exact(W1, W2, sig, T_SHORT)
    assert info.method == "riccati" and "rank-deficient" in info.reason
    assert maxerr(q, ode_qqt(W1, W2, sig, T_SHORT)) < TOL


# ------------------------------------------------------------------------------------------------
# B, cond(B), lambda_of


def test_b_matrix_aligned_and_cond():
    """Aligned initialisation (U = U~, V = V~): B = 2I (Braun et al. 2022), cond(B) = 1."""
    rng = np.random.default_rng(71)
    U, V = orth(rng, 3), orth(rng, 4)
    sig = U @ np.diag([1.5, 0.7, 0.2]) @ V[:, :3].T
    a = np.array([0.1, 0.05, 0.01])
    W1 = np.diag(np.sqrt(a)) @ V[:, :3].T
    W2 = U @ np.diag(np.sqrt(a))
    np.testing.assert_allclose(b_matrix(W1, W2, sig), 2 * np.eye(3), rtol=0, atol=1e-14)
    assert cond_b(W1, W2, sig) == pytest.approx(1.0)
    # lambda != 0: S^{-1/2} B of the lambda-balanced form is continuous at lambda = 0
    W1l, W2l = balanced_weights(np.random.default_rng(5), 3, 3, 3, lam=1e-10, det_sign=1.0)
    W10, W20 = balanced_weights(np.random.default_rng(5), 3, 3, 3, lam=0.0, det_sign=1.0)
    sig3 = task(np.random.default_rng(6), 3, 3)
    assert maxerr(b_matrix(W1l, W2l, sig3), b_matrix(W10, W20, sig3)) < 1e-8


def test_lambda_of_is_scale_aware():
    rng = np.random.default_rng(81)
    for scale in (1e-6, 1.0, 1e4):
        W1, W2 = balanced_weights(rng, 3, 3, 4, lam=0.3 * scale**2, s=scale**2 * np.ones(3))
        assert lambda_of(W1, W2) == pytest.approx(0.3 * scale**2, rel=1e-10)


# ------------------------------------------------------------------------------------------------
# bad input


def test_unbalanced_weights_raise_naming_residual():
    rng = np.random.default_rng(91)
    W1, W2 = rng.standard_normal((3, 4)), rng.standard_normal((2, 3))
    sig = task(rng, 4, 2)
    with pytest.raises(ValueError, match=r"not lambda-balanced: max\|W2\^T W2 - W1 W1\^T - lambda I\|"):
        lambda_of(W1, W2)
    for fn in (qqt_riccati, qqt_lambda_balanced, qqt_exact):
        with pytest.raises(ValueError, match="not lambda-balanced"):
            fn(W1, W2, sig, T_SHORT)
    W1l, W2l = balanced_weights(rng, 4, 2, 2, lam=0.5)
    with pytest.raises(ValueError, match=r"zero-balanced.*max\|W2\^T W2 - W1 W1\^T\| = 5"):
        qqt_zero_balanced(W1l, W2l, sig, T_SHORT)


def test_forbidden_lambda_sign_raises():
    """Dimension constraints: n_h > n_in forces lambda >= 0, n_h > n_out lambda <= 0."""
    from learndyn.init import check_lambda_shape  # what lambda_of uses for this check

    with pytest.raises(ValueError, match=r"lam=-1.0 < 0 is impossible for n_h=5 > n_in=3"):
        check_lambda_shape(3, 5, 6, -1.0)
    with pytest.raises(ValueError, match=r"lam=1.0 > 0 is impossible for n_h=5 > n_out=3"):
        check_lambda_shape(6, 5, 3, 1.0)
    check_lambda_shape(3, 3, 6, -1.5)  # n_h = m: both signs allowed
    # n_h > m with lambda != 0: the stable form refuses, naming lambda and the shapes
    rng = np.random.default_rng(92)
    W1, W2 = balanced_weights(rng, 3, 5, 6, lam=1.0)
    with pytest.raises(ValueError, match=r"lambda = 1 != 0 .*\(n_in, n_h, n_out\) = \(3, 5, 6\)"):
        qqt_lambda_balanced(W1, W2, task(rng, 3, 6), T_SHORT)


def test_bad_shapes_and_values():
    rng = np.random.default_rng(93)
    W1, W2 = balanced_weights(rng, 4, 3, 2)
    sig = task(rng, 4, 2)
    with pytest.raises(ValueError, match=r"W2 must have shape \(n_out, n_h\) with n_h = .* = 3"):
        qqt_exact(W1, W2[:, :2], sig, T_SHORT)
    with pytest.raises(ValueError, match=r"sigma_yx must have shape \(n_out, n_in\) = \(2, 4\)"):
        qqt_exact(W1, W2, sig.T, T_SHORT)
    with pytest.raises(ValueError, match="W1 must be 2-D"):
        qqt_riccati(W1[0], W2, sig, T_SHORT)
    bad = W1.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"W1 contains 1 non-finite value\(s\).*\(1, 2\)"):
        qqt_zero_balanced(bad, W2, sig, T_SHORT)
    bad_sig = sig.copy()
    bad_sig[0, 0] = np.inf
    with pytest.raises(ValueError, match="sigma_yx contains 1 non-finite"):
        qqt_lambda_balanced(W1, W2, bad_sig, T_SHORT)
    with pytest.raises(ValueError, match="t must be >= 0"):
        qqt_zero_balanced(W1, W2, sig, [-1.0, 1.0])
    with pytest.raises(ValueError, match="t must be non-decreasing"):
        qqt_riccati(W1, W2, sig, [2.0, 1.0])
    with pytest.raises(ValueError, match="t contains 1 non-finite"):
        qqt_exact(W1, W2, sig, [1.0, np.nan])
    with pytest.raises(ValueError, match="tau must be a finite number > 0"):
        qqt_exact(W1, W2, sig, T_SHORT, tau=0.0)
    with pytest.raises(ValueError, match=r"method must be one of \['auto', 'lambda_balanced', "):
        qqt_exact(W1, W2, sig, T_SHORT, method="braun")
    with pytest.raises(ValueError, match="max_step must be <= 256"):
        qqt_riccati(W1, W2, sig, T_SHORT, max_step=1e3)


def test_exact_reversal_B_vanishes_and_is_flagged():
    # After learning Sigma, the target -Sigma anti-aligns every mode: B = 0 as a whole. The plain cond(B) of that
    # rounding-noise matrix is O(1); the solver must still flag it and follow the flow to the saddle at 0.
    from scipy.integrate import solve_ivp

    from learndyn import init

    rng = np.random.default_rng(5)
    U, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    V, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    sig = U @ np.diag([1.0, 0.6, 0.3]) @ V.T
    W1, W2 = init.lambda_balanced_from_svd(U, [1.0, 0.6, 0.3], V, 4, 0.0, seed=1)
    assert cond_b(W1, W2, -sig) > 1e10
    q, info = qqt_exact(W1, W2, -sig, [0.0, 2.0, 5.0, 1e4])
    assert info.method == "riccati"

    def flow(_, w):
        a, b = w[:12].reshape(4, 3), w[12:].reshape(3, 4)
        e = -sig - b @ a
        return np.concatenate([(b.T @ e).ravel(), (e @ a.T).ravel()])

    sol = solve_ivp(
        flow,
        (0, 5),
        np.concatenate([W1.ravel(), W2.ravel()]),
        method="DOP853",
        rtol=1e-13,
        atol=1e-14,
        t_eval=[2.0, 5.0],
    )
    for k, tk in enumerate((2.0, 5.0)):
        a, b = sol.y[:12, k].reshape(4, 3), sol.y[12:, k].reshape(3, 4)
        np.testing.assert_allclose(q[k + 1][3:, :3], b @ a, atol=1e-10, err_msg=f"t={tk}")
    assert np.abs(q[-1]).max() < 1e-12  # stuck at the saddle W = 0, not reversed
