"""The restarted Riccati form of ``QQ^T(t)`` for any lambda-balanced two-layer linear network (Fukumizu 1998).

General (any hidden width, bottlenecks, singular ``B``), but the direct closed form grows like
``e^{2 max|l| theta}``; it is applied in restarts of bounded step, each exact by the semigroup property, with a
fixed-point freeze so that long horizons stay cheap. :func:`learndyn.theory.linear.qqt_exact` chooses it when the
stable closed forms do not apply. Time: ``theta = t / tau`` with the library's gradient-flow time ``t``.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from learndyn import _checks
from learndyn.theory._inputs import _EPS, _weights, lambda_of

__all__ = ["qqt_riccati"]


def _riccati_F(sig, lam):
    n_out, n_in = sig.shape
    F = np.zeros((n_in + n_out, n_in + n_out))
    F[:n_in, :n_in] = -lam / 2.0 * np.eye(n_in)
    F[n_in:, n_in:] = lam / 2.0 * np.eye(n_out)
    F[:n_in, n_in:] = sig.T
    F[n_in:, :n_in] = sig
    return F


def _ric_step(l, Y, dth):
    """Factor of ``P(dth)`` from ``P(0) = Y Y^T`` (both in the eigenbasis of ``F``), stably.

    ``P(dth) = D Y M^{-1} Y^T D`` with ``D = e^{l dth}``, ``M = I + Y^T K Y`` and
    ``K = expm1(2 l dth) / (2 l)`` (``= dth`` exactly where ``l = 0``). ``M`` is never formed:
    with ``S = [I; K^{1/2} Y]`` we have ``M = S^T S``, and a QR factorisation ``S Pi = Q R``
    gives ``M^{-1} = Pi R^{-1} R^{-T} Pi^T``, where ``Pi R^{-1}`` is the top block of ``Q``. So

        Y_new = D Y (Pi R^{-1}) = D Y Q_top                    (rows with e^{l dth} small)
              = sqrt(2 l / (1 - e^{-2 l dth})) Q_low           (rows with l dth > 1/2)

    which are equal in exact arithmetic; the second never multiplies a huge ``e^{l dth}`` by a
    small number. The rows of ``S`` differ in size by up to ``e^{l dth}``; Householder QR with
    rows sorted by size and column pivoting is row-wise backward stable for such graded matrices
    (Cox & Higham 1998), so the ``I`` block is not swamped. Unlike a Cholesky factorisation of
    ``M``, this stays accurate (to ~1e-15) for ``max(l) dth`` in the hundreds. ``max(l) dth``
    must stay below ~350 (overflow of ``K^{1/2}``).
    """
    n, r = Y.shape
    x = l * dth
    k = np.divide(np.expm1(2.0 * x), 2.0 * l, out=np.full(n, float(dth)), where=l != 0)
    S = np.concatenate([np.eye(r), np.sqrt(k)[:, None] * Y], axis=0)
    order = np.argsort(-np.max(np.abs(S), axis=1), kind="stable")
    Qs, _, _ = sla.qr(S[order], mode="economic", pivoting=True, check_finite=False)
    Q = np.empty_like(Qs)
    Q[order] = Qs
    out = np.exp(np.minimum(x, 0.5))[:, None] * (Y @ Q[:r])
    big = x > 0.5
    if big.any():
        out[big] = np.sqrt(2.0 * l[big] / -np.expm1(-2.0 * x[big]))[:, None] * Q[r:][big]
    return out


def _fixed_point_measure(l, Y, kappa):
    """Distance of ``P = Y Y^T`` from a fixed point of the Riccati flow, relative to ``max|P|``.

    Returns ``None`` when a cheap residual pre-test already shows that ``P`` is moving.
    Linearising ``dP/dtheta = F P + P F - P^2`` at ``P`` gives ``d(delta) = J delta + delta J``
    with ``J = F - P``. In the eigenbasis of ``J`` (eigenvalues ``nu``) each pair ``(i, j)``
    scores ``min(|P_ij|, |R_ij| / -(nu_i + nu_j))`` (the second only for stable pairs), ``R``
    being the residual: the Newton correction still to travel towards a stable fixed point, or
    the content of a growing/marginal direction, which does not move only if it is empty. The
    measure is the largest score.
    """
    P = Y @ Y.T
    pn = float(np.max(np.abs(P)))
    if pn == 0.0:
        return 0.0
    R = l[:, None] * P + P * l[None, :] - P @ P
    if np.max(np.abs(R)) > 1e-6 * pn * (kappa + pn):
        return None
    nu, V = np.linalg.eigh(np.diag(l) - P)
    Rp = V.T @ R @ V
    Pp = V.T @ P @ V
    den = -(nu[:, None] + nu[None, :])
    newton = np.divide(np.abs(Rp), den, out=np.full_like(Rp, np.inf), where=den > 0)
    return float(np.max(np.minimum(np.abs(Pp), newton))) / pn


def _plus_rank_projector(l, Y, kappa):
    """Rank of ``Y_+`` (rows of ``Q`` in the growing eigenspace of ``F``) and a function that
    re-imposes it.

    ``Y_+(theta) = e^{l_+ theta} Y_+(0) M^{-1/2} (orthogonal)`` keeps its rank exactly, and a
    rank-deficient ``Y_+`` is what makes ``B`` singular (``O_+^T Q_0 = B^T S^{1/2} R^T / sqrt(2)`` for
    zero-balanced weights ``Q_0 = [V; U] S^{1/2} R^T``, with ``O_+ = [V~_m; U~_m] / sqrt(2)`` the growing
    eigenvectors of ``F``): the modes it misses can never be learned. Rounding errors refill the missing directions
    at ``~ eps`` and the flow amplifies them like ``e^{s~ theta}``, so without this a computed
    solution leaves the saddle (``theta ~ 36 / s~``) that the exact flow converges to. The rank is
    read at ``theta = 0`` with a relative threshold ``1e3 n eps`` (``cond(B) >~ 1e13`` counts as
    singular); the projector then zeroes the ``Y_+`` singular values beyond it after each step.
    Returns ``(rank, project)`` with ``project = None`` when ``Y_+`` has full rank.
    """
    plus = l > 1e3 * _EPS * max(kappa, np.finfo(float).tiny)
    Yp = Y[plus]
    full = min(Yp.shape)
    if full == 0:
        return full, None
    sv = np.linalg.svd(Yp, compute_uv=False)
    ref = max(np.linalg.norm(Y, 2), np.finfo(float).tiny)
    rank = int(np.sum(sv > 1e3 * Y.shape[0] * _EPS * ref))
    if rank == full:
        return rank, None

    def project(Y):
        _, _, Vt = np.linalg.svd(Y[plus], full_matrices=True)
        Yr = Y @ Vt.T
        Yr[np.ix_(plus, np.arange(rank, Yr.shape[1]))] = 0.0
        return Yr

    return rank, project


def qqt_riccati(W1, W2, sigma_yx, t, *, tau: float = 1.0, max_step: float = 2.0, freeze_tol: float | None = None):
    r"""``QQ^T(t)`` from the Riccati closed form (Fukumizu 1998), applied with restarts.

    For lambda-balanced weights ``Q = [W1^T; W2]`` obeys ``tau dQ/dt = F Q - Q Q^T Q / 2`` with
    ``F = [[-lam/2 I, Sigma^T], [Sigma, lam/2 I]]``, whose solution is

        QQ^T(theta) = e^{F theta} Q0 [I + Q0^T K(theta) Q0]^{-1} Q0^T e^{F theta},
        K(theta) = int_0^theta e^{2 F s} ds.

    No invertibility of ``B`` or ``F`` is needed, and any ``n_h`` works (bottleneck included), so
    this is the fallback for the square sign-mismatch case (singular ``B``),
    rank-deficient initialisations and ``n_h > m`` with ``lambda != 0``.

    Numerics
    --------
    * ``F = O diag(l) O^T`` is diagonalised once; ``e^{F theta}`` and
      ``K(theta) = O diag(expm1(2 l theta) / (2 l)) O^T`` act per eigenvalue, with ``K = theta``
      exactly on ``ker F``: this is ``K = F^+ (e^{2F theta} - I)/2 + theta Pi_0`` (``Pi_0`` the projector
      onto ``ker F``) without a pseudo-inverse.
    * Each step uses a factored form: with ``S = [I; K^{1/2} Q]`` (``M = I + Q^T K Q = S^T S``),
      a Householder QR of ``S`` with rows sorted by size and column pivoting gives
      ``M^{-1/2}`` without forming ``M``, and the new factor ``e^{F dtheta} Q M^{-1/2}``; rows
      with large ``e^{l dtheta}`` are taken as ``sqrt(2l / (1 - e^{-2 l dtheta}))`` times a block
      of the orthogonal factor, so no huge exponential multiplies a small number. This is
      accurate to ~1e-15 even for ``max|l| dtheta`` in the hundreds, where the direct form (or a
      Cholesky factorisation of ``M``) has lost every digit: its entries grow like
      ``e^{2 max|l| theta}``.
    * Restarts (exact, by the semigroup property of the flow): steps of ``max|l| dtheta =
      max_step``; times inside a step are evaluated from the state at its start; after each step
      ``Q`` is replaced by the new factor (a factor of the exact ``P = Q Q^T``, equivalent to
      refactoring ``P`` by an eigendecomposition that keeps the top ``n_h`` eigenpairs, but
      without squaring the condition number). ``Q0`` is first
      reduced to ``min(n_h, n_in + n_out)`` columns.
    * Singular ``B``: the rank of ``Q``'s component in the growing eigenspace of ``F`` is an
      exact invariant of the flow, and it is re-imposed after every step (see
      ``_plus_rank_projector``). Without this, rounding errors amplified like ``e^{s~ theta}``
      push the solution off the saddle where the exact flow converges (one mode stuck at 0),
      after ``theta ~ 36 / s~_stuck``; an ODE integrator leaves it the same way.
    * Long horizons. *Growth*: once the residual of the Riccati equation is below ``1e-6``
      (relative), the step doubles at each restart up to ``max|l| dtheta = 256``: the factored
      step stays accurate there and nothing overflows, and its rounding errors are row-wise
      (not amplified within the step), so this is safe near saddles too. *Freezing*: when
      ``P`` is a fixed point to ``freeze_tol`` (relative; the Newton correction towards a
      stable fixed point and the content of growing or marginal directions of the linearised
      flow both below it, or the measure stopped decreasing below ``25 freeze_tol``),
      restarting stops and later times return that ``P``. Consequence: content below
      ``freeze_tol`` (relative) in a direction that would grow is treated as zero. So
      ``t = 1e6`` costs tens of restarts when the flow converges, a few thousand at most.

    Parameters
    ----------
    W1, W2, sigma_yx, t, tau
        As :func:`qqt_zero_balanced`; the weights must be lambda-balanced (any ``lambda``).
    max_step : float
        ``max|eig F| * dtheta`` per restart before any growth (``<= 2`` keeps ``e^{2 F dtheta}`` moderate);
        at most 256.
    freeze_tol : float, optional
        Relative tolerance of the fixed-point test; default ``4 n eps``, ``n = n_in + n_out``.

    Returns
    -------
    ndarray (T, n_in + n_out, n_in + n_out)

    Examples
    --------
    >>> import numpy as np
    >>> q = qqt_riccati(0.1 * np.eye(2), 0.1 * np.eye(2), np.diag([2.0, -1.0]), [0.0, 1e6])
    >>> np.round(q[-1, 2:, :2], 12) + 0.0   # sign mismatch: the s~ = 1 mode is stuck at 0
    array([[2., 0.],
           [0., 0.]])
    """
    W1, W2, sig, dims = _weights(W1, W2, sigma_yx)
    t = _checks.times("t", t)
    tau = _checks.positive_float("tau", tau)
    max_step = _checks.positive_float("max_step", max_step)
    if max_step > 256.0:
        raise ValueError(f"max_step must be <= 256 (overflow of e^(2 F dtheta)); got {max_step}")
    n_in, n_h, n_out = dims
    n = n_in + n_out
    tol = 4.0 * n * _EPS if freeze_tol is None else freeze_tol
    tol = _checks.positive_float("freeze_tol", tol)
    lam = lambda_of(W1, W2)
    l, O = np.linalg.eigh(_riccati_F(sig, lam))
    kappa = float(np.max(np.abs(l)))
    Y = O.T @ np.concatenate([W1.T, W2], axis=0)
    if Y.shape[1] > n:
        u, s, _ = np.linalg.svd(Y, full_matrices=False)
        Y = u * s
    _, project = _plus_rank_projector(l, Y, kappa)
    if project is not None:
        Y = project(Y)
    theta = t / tau
    step = max_step / kappa if kappa > 0 else np.inf
    step_cap = max(256.0 / kappa, step) if kappa > 0 else np.inf
    out = np.empty((theta.size, n, n))

    th0, i = 0.0, 0
    prev = None  # (measure, Y) at the previous restart, for the stopped-decreasing test
    wait, backoff = 0, 1
    while i < theta.size:
        j = int(np.searchsorted(theta, th0 + step, side="right"))
        for q in range(i, j):  # QQ^T at theta[i:j], from the state Y at th0
            Wq = O @ _ric_step(l, Y, theta[q] - th0)
            out[q] = Wq @ Wq.T
        i = j
        if i == theta.size:
            break
        Y = _ric_step(l, Y, step)
        if project is not None:
            Y = project(Y)
        th0 += step
        if wait > 0:  # back-off: the fixed-point test costs an (n x n) eigendecomposition
            wait -= 1
            prev = None
            continue
        meas = _fixed_point_measure(l, Y, kappa)
        if meas is None:
            prev = None
            continue
        if meas <= tol:
            break
        if meas <= 25.0 * tol and prev is not None and meas >= prev[0]:
            Y = prev[1]  # rounding floor reached above tol: freeze at its minimum
            break
        step = min(2.0 * step, step_cap)
        if step == step_cap and meas > 1e6 * tol:
            wait, backoff = backoff, min(2 * backoff, 32)
        else:
            backoff = 1
        prev = (meas, Y)
    if i < theta.size:  # frozen at a fixed point
        Wf = O @ Y
        out[i:] = Wf @ Wf.T
    return out
