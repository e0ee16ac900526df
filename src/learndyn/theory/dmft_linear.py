"""Sample-free DMFT of deep linear mean-field networks trained by GD or rho-FA (Bordelon & Pehlevan 2022, 2023).

The network, time and kernel conventions are those of :mod:`learndyn.theory.dmft`. With a linear activation every
single-site field is Gaussian, so the field equations close on their covariances and need no sampling. Each hidden
layer ``l`` has the fields ``h^l(k, mu)`` (forward), ``z^l(k)`` (the true backward signal ``g^l``) and, for FA,
``zt^l(k)`` (the pseudo-gradient ``g~^l``). For a linear net the backward signals do not depend on the item, so
``z`` and ``zt`` are vectors over the ``T`` steps while ``h`` is a vector over ``P T`` (step, item) pairs.

Derivation (re-done here for the library's discrete steps; the reference code's algebraic solver is the GD case).
The weight updates of one step of size ``eta`` (learning rate ``eta gamma0^2 N``, loss with ``1/P``) give, with
``c = eta gamma0 / P`` and ``Delta = y - f``::

    h^l(k) = chi^l(k) + c sum_{j<k} sum_nu Phi^{l-1}_{mu nu}(k, j) Delta_nu(j) zt^l(j)
    z^l(k) = xi^l(k)  + c sum_{j<k} sum_nu G~^{l+1}(k, j) Delta_nu(j) h^l(j, nu)

where ``chi^l = W^{l-1}(0) h^{l-1} / sqrt(N)`` and ``xi^l = W^l(0)^T g^{l+1} / sqrt(N)``. At infinite width the
cavity argument splits these into independent Gaussian sources plus linear responses:
``chi^l = u^l + (dh^{l-1}/dr^{l-1}) z^l + (dh^{l-1}/dv^{l-1}) zt^l`` with ``u^l ~ N(0, Phi^{l-1})``, and
``xi^l = r^l + (dz^{l+1}/du^{l+1}) h^l``, while FA's feedback ``B^l = rho W^l(0) + sqrt(1 - rho^2) W~^l`` gives
``zt^l = rho (v^l + (dzt^{l+1}/du^{l+1}) h^l) + sqrt(1 - rho^2) zeta^l``. The sources ``(r, v)`` have covariances
``G^{l+1}``, ``G~^{l+1}``, ``G~~^{l+1}`` and ``zeta ~ N(0, G~~^{l+1})``; at the readout ``r = v = w(0)`` and
``zeta = w~`` are one N(0, 1) number per site. So every layer is a linear system ``h = u + C Z``,
``Z = s + D h`` (``Z = z``, or ``(z, zt)`` for FA), solved through the small ``(T or 2T)`` matrix
``(I - D C)^{-1}``; the kernels, the response functions handed to the neighbouring layers and the output
``f(k, mu) = <z^L(k) h^L(k, mu)> / gamma0`` (exact for the discrete steps) follow. For GD ``zt = z``, ``v = r``.
Because every backward coupling factorises as ``D = B ⊗ Delta`` (see :class:`_Layers`), no ``(P T) x (P T)``
kernel is formed: a sweep costs ``O(L P T^3)`` time and ``O(L P T^2)`` memory, and the result holds the
equal-time kernels.

Solving. The equations are causal: step ``k`` depends on steps ``< k`` only, so a Picard iteration is exact after
about ``2T`` sweeps; over long horizons the plain iteration can blow up before it settles. The solver therefore
grows the horizon in windows of ``window`` steps, starting each window from the converged earlier steps held
constant, and iterates each window until the relative change of every kernel and of ``Delta`` is below ``tol``; a
window that does not settle is retried at half the size. Damping ``X <- a X_new + (1 - a) X`` applies the same
``a = damping`` to every kernel, response and ``Delta``.
"""

from __future__ import annotations

import math

import numpy as np
from threadpoolctl import threadpool_limits

from learndyn import _checks
from learndyn.theory.dmft import DMFTNotConverged, DMFTResult, targets

__all__ = ["RULES", "memory_estimate", "solve"]

RULES = ("gd", "fa")

_BYTES = 8


def memory_estimate(P: int, steps: int, n_hidden: int) -> int:
    """Bytes the solver holds at once for ``P`` items, ``steps`` steps and ``n_hidden`` layers (about).

    Two ``(P T) x T`` responses per layer, about ten ``(P T) x 2T`` work arrays and the ``(T, T)`` kernels.

    Examples
    --------
    >>> memory_estimate(20, 100, 5) / 1e9 < 0.1
    True
    """
    T = steps + 1
    return _BYTES * ((2 * n_hidden + 20) * P * T * T + (6 * n_hidden + 12) * T * T)


def solve(
    X,
    y,
    *,
    n_hidden: int,
    gamma0: float,
    eta: float,
    steps: int,
    rule: str = "gd",
    rho: float = 0.0,
    tol: float = 1e-10,
    max_iter: int = 400,
    damping: float = 1.0,
    window: int | None = None,
    max_memory_gb: float = 8.0,
    strict: bool = True,
) -> DMFTResult:
    """Infinite-width GD or rho-FA dynamics of a deep linear mean-field net, at the simulation's own steps.

    Parameters
    ----------
    X : (P, D) array
        Training inputs (any ``K^x = X X^T / D``).
    y : (P,) or (P, 1) array
        Targets (one output).
    n_hidden : int
        ``L >= 1`` hidden layers.
    gamma0 : float
        Richness, > 0 (``gamma0 -> 0`` is the lazy limit).
    eta : float
        Step size: the library's ``lr`` with ``param.get("meanfield", gamma0)``; ``t = eta k``.
    steps : int
        Number of steps; the result has ``steps + 1`` times.
    rule : {"gd", "fa"}
    rho : float
        FA only: ``B = rho W(0) + sqrt(1 - rho^2) W~`` (the library's ``rules.FA(net, rho)``), in [0, 1].
    tol : float
        Convergence threshold on the relative change of every kernel and of ``Delta`` in one sweep.
    max_iter : int
        Sweeps allowed per window.
    damping : float
        ``a`` in (0, 1] of ``X <- a X_new + (1 - a) X`` (1: undamped).
    window : int, optional
        Steps of the first window and the most added per window (default: the steps over which the fastest lazy
        mode decays by ``e^-4``, at least 8); a window that does not settle is retried at half the size.
    max_memory_gb : float
        Refuse problems whose estimate (:func:`memory_estimate`) exceeds this.
    strict : bool
        Raise :class:`~learndyn.theory.dmft.DMFTNotConverged` when a window does not converge (default); with
        ``False`` return the steps that did converge, with ``converged=False``.

    Returns
    -------
    DMFTResult
        ``mc_error`` is ``None`` (no sampling).

    Examples
    --------
    >>> X = np.eye(2) * np.sqrt(2.0)
    >>> res = solve(X, [1.0, 0.0], n_hidden=1, gamma0=1.0, eta=0.05, steps=200)
    >>> res.converged, bool(res.loss[-1] < res.loss[0])
    (True, True)
    """
    X = _checks.as_matrix("X", X)
    P, D = X.shape
    y = targets(y, P)
    L = _checks.positive_int("n_hidden", n_hidden)
    gamma0 = _checks.positive_float("gamma0", gamma0)
    eta = _checks.positive_float("eta", eta)
    steps = _checks.positive_int("steps", steps)
    rule = _checks.one_of("rule", rule, RULES)
    rho = _checks.real_float("rho", rho)
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"rho must be in [0, 1]; got {rho!r}")
    tol = _checks.positive_float("tol", tol)
    max_iter = _checks.positive_int("max_iter", max_iter)
    damping = _checks.positive_float("damping", damping)
    if damping > 1.0:
        raise ValueError(f"damping must be in (0, 1]; got {damping!r}")
    if window is None:
        # the fastest lazy mode decays by e^-4 over a window: long enough to be cheap, short enough for Picard
        rate = (L + 1) * float(np.linalg.eigvalsh(X @ X.T / D)[-1]) / P
        window = int(min(steps, max(8, math.ceil(4.0 / (eta * max(rate, 1e-300))))))
    window = _checks.positive_int("window", window)
    need = memory_estimate(P, steps, L)
    limit = _checks.positive_float("max_memory_gb", max_memory_gb) * 1e9
    if need > limit:
        fits = int(math.sqrt(limit / (_BYTES * ((2 * L + 20) * P + 6 * L + 12)))) - 1
        raise MemoryError(
            f"DMFT with P = {P} items and steps = {steps} needs about {need / 1e9:.3g} GB (> max_memory_gb = "
            f"{max_memory_gb:g}); use steps <= {max(fits, 0)} (or fewer items, or a larger eta)"
        )

    fa = rule == "fa"
    solver = _Layers(X @ X.T / D, y, L, gamma0, eta, rho if fa else None)
    settings = {
        "rule": rule, "rho": rho if fa else float("nan"), "gamma0": gamma0, "eta": eta, "steps": steps,
        "n_hidden": L, "solver": "dmft_linear", "damping": damping, "window": window,
    }  # fmt: skip
    residuals, base, add = [], None, min(window, steps)
    state = solver.initial(add + 1)
    while True:
        # the products are small ((P T) x T): one BLAS thread is as fast as two on an idle machine, and many times
        # faster on a shared one, where the threads of a multi-threaded BLAS wait on each other
        with threadpool_limits(1, user_api="blas"):
            ok, new, res = _iterate(solver, state, tol, max_iter, damping)
        residuals += res
        if ok:
            base = new
            if base.T == steps + 1:
                return solver.result(base, np.asarray(residuals), True, tol, settings)
            add = min(2 * add, window)  # a window that settled lets the next one grow back
            state = solver.extend(base, min(add, steps + 1 - base.T))
            continue
        if add <= 1:
            break
        add //= 2  # did not settle: retry the window at half the size from the last converged horizon
        state = solver.initial(add + 1) if base is None else solver.extend(base, add)
    partial = solver.result(base if base is not None else new, np.asarray(residuals), False, tol, settings)
    done = 0 if base is None else base.T - 1
    if strict:
        raise DMFTNotConverged(
            f"DMFT ({rule}) did not converge past step {done} of {steps}: residual {residuals[-1]:.3g} > tol = "
            f"{tol:g} within {max_iter} sweeps of a one-step window; try damping < 1, a smaller eta or fewer "
            "steps (strict=False returns the converged steps)",
            partial,
        )
    return partial


class _State:
    """The iterate on a horizon of ``T`` steps.

    ``phi[l]``: equal-time ``Phi^l(k, k)``, ``(T, P, P)``; ``G[l]``, ``Gt[l]``, ``Gtt[l]``: ``(T, T)`` for
    ``l = 1..L+1``; ``Rhr[l]``, ``Rhv[l]``: responses ``dh^l/dr^l``, ``dh^l/dv^l`` ``(P T, T)`` for the layer above;
    ``Bz[l]``, ``Bzt[l]``: ``(T, T)`` factors of the responses ``dz^l/du^l = Bz ⊗ Delta`` (entry
    ``[k, (j, nu)] = Bz[k, j] Delta_nu(j)``) for the layer below; ``delta``: ``(T, P)``.
    """

    _FIELDS = ("phi", "G", "Gt", "Gtt", "Rhr", "Rhv", "Bz", "Bzt")

    def __init__(self, T, phi, G, Gt, Gtt, Rhr, Rhv, Bz, Bzt, delta):
        self.T, self.phi, self.G, self.Gt, self.Gtt = T, phi, G, Gt, Gtt
        self.Rhr, self.Rhv, self.Bz, self.Bzt, self.delta = Rhr, Rhv, Bz, Bzt, delta

    def fields(self):
        return self._FIELDS


class _Layers:
    """The layer equations of one problem; ``sweep`` maps an iterate to the next.

    No ``(P T) x (P T)`` kernel is ever formed. Every backward coupling ``D`` has the form ``B ⊗ Delta``
    (``D[k, (j, nu)] = B[k, j] Delta_nu(j)``: true of the weight-update term, hence of the responses built from it),
    so the two-time kernels enter only through their contraction with ``Delta``,
    ``U^l[(k, mu), j] = sum_nu Phi^l[(k, mu), (j, nu)] Delta_nu(j)``, which obeys its own rank-``T`` recursion;
    with the equal-time blocks that is all the eNTK and the outputs need. A sweep costs ``O(L P T^3)``.
    """

    def __init__(self, Kx, y, L, gamma0, eta, rho):
        self.Kx, self.y, self.L, self.gamma0, self.eta, self.rho = Kx, y, L, gamma0, eta, rho
        self.P = Kx.shape[0]
        self.c = eta * gamma0 / self.P

    # ---- horizons -------------------------------------------------------------------------------------------
    def initial(self, T):
        """Lazy start: every kernel at its init value, no response, ``Delta = y``."""
        P, L = self.P, self.L
        ones = np.ones((T, T))
        rho = 1.0 if self.rho is None else self.rho
        phi0 = np.broadcast_to(self.Kx, (T, P, P)).copy()
        zeros_nt, zeros_tt = np.zeros((P * T, T)), np.zeros((T, T))
        return _State(
            T,
            phi=[phi0] + [phi0.copy() for _ in range(L)],
            G=[None] + [ones.copy() for _ in range(L + 1)],
            Gt=[None] + [rho ** (L - l) * ones for l in range(1, L + 1)] + [ones.copy()],
            Gtt=[None] + [ones.copy() for _ in range(L + 1)],
            Rhr=[None] + [zeros_nt.copy() for _ in range(L)],
            Rhv=[None] + [zeros_nt.copy() for _ in range(L)],
            Bz=[None] * 2 + [zeros_tt.copy() for _ in range(L - 1)],
            Bzt=[None] * 2 + [zeros_tt.copy() for _ in range(L - 1)],
            delta=np.tile(self.y, (T, 1)),
        )

    def extend(self, state, add):
        """The iterate on ``state.T + add`` steps: the new steps start as copies of the last one."""
        T, P = state.T, self.P
        idx = np.minimum(np.arange(T + add), T - 1)

        def nt(a):
            return a.reshape(T, P, T)[idx][:, :, idx].reshape((T + add) * P, T + add)

        def tt(a):
            return a[idx][:, idx]

        pick = {"phi": lambda a: a[idx], "G": tt, "Gt": tt, "Gtt": tt, "Rhr": nt, "Rhv": nt, "Bz": tt, "Bzt": tt}
        new = {k: [None if a is None else pick[k](a) for a in getattr(state, k)] for k in state.fields()}
        return _State(T + add, **new, delta=state.delta[idx])

    # ---- one sweep ------------------------------------------------------------------------------------------
    def sweep(self, s):
        """The next iterate from ``s``, layer by layer from the input up.

        Gauss-Seidel upwards: layer ``l`` sees this sweep's layer ``l - 1`` and the last sweep's layer ``l + 1``
        (a Jacobi sweep over layers oscillates between the forward and the backward coupling).
        """
        L, T, P, c, fa, rho = self.L, s.T, self.P, self.c, self.rho is not None, self.rho
        new = _State(T, [s.phi[0]], [None] * (L + 2), [None] * (L + 2), [None] * (L + 2), [None] * (L + 1),
                     [None] * (L + 1), [None] * (L + 1), [None] * (L + 1), None)  # fmt: skip
        ones = np.ones((T, T))
        new.G[L + 1] = new.Gt[L + 1] = new.Gtt[L + 1] = ones
        delta = s.delta
        past = np.tri(T, k=-1)  # [k, j] = 1 for j < k: the weight updates of earlier steps
        # U^0[(k, mu), j] = sum_nu K^x_{mu nu} Delta_nu(j)
        U = np.broadcast_to((delta @ self.Kx).T[None], (T, P, T)).reshape(P * T, T)
        for l in range(1, L + 1):
            drive = c * (U.reshape(T, P, T) * past[:, None, :]).reshape(P * T, T)  # multiplies zt (z for GD)
            top = l == L
            if fa:
                C = np.hstack([new.Rhr[l - 1] if l > 1 else np.zeros_like(drive),
                               drive + (new.Rhv[l - 1] if l > 1 else 0.0)])  # fmt: skip
                B = np.vstack([c * past * s.Gt[l + 1] + (0.0 if top else s.Bz[l + 1]),
                               np.zeros((T, T)) if top else rho * s.Bzt[l + 1]])  # fmt: skip
                Gs = np.block([[s.G[l + 1], rho * s.Gt[l + 1]], [rho * s.Gt[l + 1].T, s.Gtt[l + 1]]])
            else:
                C = drive + (new.Rhr[l - 1] if l > 1 else 0.0)
                B = c * past * s.G[l + 1] + (0.0 if top else s.Bz[l + 1])
                Gs = s.G[l + 1]
            m = C.shape[1]
            C3 = C.reshape(T, P, m)
            S = np.linalg.inv(np.eye(m) - B @ np.einsum("jpm,jp->jm", C3, delta))  # (I - D C)^-1
            CS = C @ S
            CS3 = CS.reshape(T, P, m)
            # Q = D Phi^{l-1} as Q^T = U B^T; W = (Q contracted with Delta); Q D^T = W B^T
            QT = U @ B.T
            QT3 = QT.reshape(T, P, m)
            xi = np.einsum("jps,jp->sj", U.reshape(T, P, T), delta)
            W = B @ xi
            mid = W @ B.T + Gs
            Y = np.einsum("jpt,jp->tj", CS3, delta)
            # Phi^l = Phi^{l-1} + CS Q + (CS Q)^T + CS mid CS^T: its Delta-contraction and its equal-time blocks
            A = CS3 @ QT3.transpose(0, 2, 1)  # batched over steps (an einsum here would not use BLAS)
            new.phi.append(new.phi[l - 1] + A + A.transpose(0, 2, 1) + (CS3 @ mid) @ CS3.transpose(0, 2, 1))
            U_next = U + CS @ W + QT @ Y + CS @ (mid @ Y)
            CZ = S @ mid @ S.T
            SB = S @ B
            new.G[l] = CZ[:T, :T]
            if fa:
                new.Gt[l], new.Gtt[l] = CZ[:T, T:], CZ[T:, T:]
                new.Rhr[l], new.Rhv[l] = CS[:, :T], rho * CS[:, T:]
                new.Bz[l], new.Bzt[l] = SB[:T], SB[T:]
            else:
                new.Gt[l] = new.Gtt[l] = new.G[l]
                new.Rhr[l] = new.Rhv[l] = CS
                new.Bz[l] = new.Bzt[l] = SB
            if top:
                # <z^L(k) h^L(k, mu)> = [S Q + S mid CS^T][k, (k, mu)] = gamma0 f, exact for the discrete steps
                f = ((QT3 @ S[:T, :, None])[..., 0] + (CS3 @ (S @ mid)[:T, :, None])[..., 0]) / self.gamma0
            U = U_next
        new.delta = self._march(new, f, s.delta)
        return new

    def _march(self, new, f, delta_old):
        """``Delta`` from the exact outputs ``f``, re-solved step by step through the eNTK of the new kernels.

        Plain Picard (``Delta = y - f``) feeds each sweep's error back only at the next sweep, which over long
        horizons amplifies like ``(K t)^n / n!`` before it settles. Here ``Delta(k+1) = Delta(k) - (eta/P) K(k)
        Delta(k) - r(k)`` with ``r`` the part of the exact step ``f(k+1) - f(k)`` that ``K`` does not carry: at a
        fixed point the two agree exactly, and the dominant, linear response of the outputs is solved causally.
        """
        K = self._entk(new)
        step = self.eta / self.P
        r = (f[1:] - f[:-1]) - step * np.einsum("kpq,kq->kp", K[:-1], delta_old[:-1])
        out = np.empty_like(delta_old)
        out[0] = self.y - f[0]
        for j in range(new.T - 1):
            out[j + 1] = out[j] - step * K[j] @ out[j] - r[j]
        return out

    def _entk(self, s):
        """Equal-time eNTK ``sum_l G~^{l+1}(k, k) Phi^l(k, k)``, (T, P, P)."""
        k = np.arange(s.T)
        return sum(s.Gt[l + 1][k, k][:, None, None] * s.phi[l] for l in range(self.L + 1))

    # ---- output ---------------------------------------------------------------------------------------------
    def result(self, s, residuals, converged, tol, settings):
        T, P, L = s.T, self.P, self.L
        k = np.arange(T)
        ones = np.ones((P, P))
        g = np.stack([s.G[l + 1][k, k][:, None, None] * ones for l in range(L + 1)], axis=1)
        gt = np.stack([s.Gt[l + 1][k, k][:, None, None] * ones for l in range(L + 1)], axis=1)
        phi = np.stack(s.phi, axis=1)
        return DMFTResult(
            t=self.eta * k, y=self.y, f=self.y[None, :] - s.delta, phi=phi, g=g, gt=gt,
            entk=np.sum(gt * phi, axis=1), residuals=residuals, iterations=len(residuals), converged=converged,
            tol=tol, mc_error=None, settings=settings,
        )  # fmt: skip


def _iterate(solver, state, tol, max_iter, damping):
    """Sweep until the relative change is below ``tol``; returns (converged, iterate, residuals).

    A window is given up as soon as a sweep produces a non-finite value, the change exceeds ``1e4`` times the best
    so far (a Picard iteration that is amplifying, not settling), or no sweep has improved on the best for
    ``3 (L + 1)`` sweeps: information crosses one layer per sweep, so a converging iteration can rise for up to
    about ``L`` sweeps in a row before the next drop. The caller retries the window at half the size.
    """
    res, best, since = [], float("inf"), 0
    patience = max(8, 3 * (solver.L + 1))
    for _ in range(max_iter):
        with np.errstate(over="ignore", invalid="ignore"):  # a blowing-up window is detected and retried below
            new = solver.sweep(state)
            r = _change(state, new, solver.y)
        res.append(r)
        if not np.isfinite(r) or r > 1e4 * best:
            return False, state, res
        best, since = (r, 0) if r < best else (best, since + 1)
        if since >= patience:
            return False, state, res
        state = new if damping == 1.0 else _mix(state, new, damping)
        if r <= tol:
            return True, state, res
    return False, state, res


def _change(old, new, y):
    """Largest relative Frobenius change of any kernel, and of ``Delta`` relative to ``max |y|`` (inf if not finite)."""
    worst = 0.0
    for name in ("phi", "G", "Gt"):  # phi: the equal-time blocks
        for a, b in zip(getattr(old, name), getattr(new, name), strict=True):
            if a is not None and b is not None:
                worst = max(worst, float(np.linalg.norm(b - a) / max(np.linalg.norm(b), 1e-300)))
    scale = max(float(np.max(np.abs(y))), 1e-300)
    worst = max(worst, float(np.max(np.abs(new.delta - old.delta))) / scale)
    return worst if np.isfinite(worst) and np.all(np.isfinite(new.delta)) else float("inf")


def _mix(old, new, a):
    out = {}
    for name in old.fields():
        out[name] = [None if (x is None or z is None) else a * z + (1 - a) * x
                     for x, z in zip(getattr(old, name), getattr(new, name), strict=True)]  # fmt: skip
    return _State(old.T, **out, delta=a * new.delta + (1 - a) * old.delta)
