"""Monte-Carlo DMFT of deep nonlinear mean-field networks under GD, rho-FA, DFA, Hebb and GLN, in one causal pass.

The network, time and kernel conventions are those of :mod:`learndyn.theory.dmft`: discrete steps of size ``eta``
(learning rate ``eta gamma0^2 N``, loss with ``1/P``), so the solution is the width-``N -> infinity`` limit of the
library's simulated run at matched discretisation. With ``c = eta gamma0 / P`` and ``Delta = y - f`` the single-site
fields of hidden layer ``l`` obey (Bordelon & Pehlevan 2022, 2023, eq. 5, re-derived for discrete steps)::

    h^l(k) = u^l(k) + [A^{l-1} g^l](k) + [C^{l-1} g~^l](k) + c sum_{j<k} Phi^{l-1}(k, j) Delta(j) g~^l(j)
    z^l(k) = r^l(k) + [B^l phi^l](k)                      + c sum_{j<k} G~^{l+1}(k, j) Delta(j) phi^l(j)
    g^l = phi'(h^l) z^l,   z^L(k) = w(0) + c sum_{j<k} Delta(j) . phi^L(j),   f(k) = <z^L(k) phi^L(k)> / gamma0

with Gaussian sources ``u^l ~ N(0, Phi^{l-1})``, ``r^l ~ N(0, G^{l+1})`` and the response functions
``A^l = <d phi^l / d r^l>``, ``B^l = <d g^{l+1} / d u^{l+1}>`` (the reaction of the other layer's sites to the
shared initial weights). The rule enters through ``g~`` (spec Table 1):

====  ==================================================================================================
gd    ``g~ = g``
fa    ``g~^l = phi'(h^l) z~^l``, ``z~^l = rho (v^l + [D^l phi^l]) + sqrt(1 - rho^2) zeta^l`` with ``(r, v)`` joint
      Gaussian (``<r v> = G~``, ``<v v> = G~~ = <g~ g~>``), ``zeta ~ N(0, G~~)`` independent, ``D^l = <d g~^{l+1}
      / d u^{l+1}>``, and ``C^l g~ = <d phi^l / d v^l> g~``; at the readout ``z~^L = rho w(0) + sqrt(1 - rho^2) w~``
dfa   ``g~^l = phi'(h^l) z~^l`` with ``z~^l ~ N(0, 1)`` fixed per site; ``A = C = 0`` (the forward pass never sees
      ``r``)
hebb  ``g~^l = Delta phi(h^l)`` (per item); ``A = C = 0``
gln   GD with ``phi(h^l) -> phi'(m^l) h^l``, gates ``m^l ~ N(0, K^x)`` fixed per site and layer
====  ==================================================================================================

**One causal pass, no outer iteration.** Every term at step ``k`` needs only earlier steps, or the same step of a
layer already done: forward, ``u^l(k)`` needs ``Phi^{l-1}(k, j <= k)``, i.e. ``phi^{l-1}(k)`` (bottom-up), and
``A^{l-1}(k, j < k)`` is ``phi^{l-1}(k)`` against sources already drawn; then ``f(k)``; backward, ``r^l(k)`` needs
``g^{l+1}(k)`` (top-down) and ``B^l(k, j <= k)`` the sources ``u^{l+1}(j <= k)``. So the solver marches the ``S``
sites of every layer through the steps once, drawing each source's new time slice from its Gaussian law given the
past, and the discrete equations hold exactly for the ``S``-sample averages: there is nothing to iterate and no
damping to choose (``iterations = 1``, ``residuals = [0]``). The reference solver's outer loop re-draws whole
``(P T)``-dimensional paths each iteration and stops after a fixed count; its cost is ``O(S (P T)^3)`` per
iteration for the Jacobians, against this pass's ``O(S (P T)^2)`` in all.

**Sources.** A source's law is the empirical second moment of the layer that defines it (``Phi^{l-1}`` from the
``S`` sites of layer ``l - 1``). Its time slices are drawn in order by Gram-Schmidt on that population: the new
slice's regression on the whitened past gives its conditional mean coefficients, the residual's covariance its new
directions (eigen-directions below ``cutoff`` times the largest variance are dropped). The innovations of each new
direction are drawn orthonormal to those before (moment matching, while there are fewer directions than base
samples), so a Gaussian (linear) net is reproduced exactly whatever ``S``.

**Responses by Gaussian integration by parts.** For a source ``x = L eps`` with standard innovations ``eps``,
``<d F / d x> L = <F eps^T>``; the response acting on a site's signal ``s`` is therefore ``<F eps^T> s^``, with
``s^ = L^{-1} s`` that signal's coordinates in the source's whitened basis, which the Gram-Schmidt of the
population gives for free (the population *is* the other layer's sites). Cost ``O(S m P)`` per step for ``m``
directions, no per-sample Jacobian. With ``antithetic=True`` (default) every draw appears four times, with the
forward sources ``(u)`` and the backward ones ``(r, v, zeta, w(0), w~, DFA's z~)`` flipped in sign independently:
the estimators keep the part of ``F`` that is odd in the flipped source, which cancels the leading, source-even
fluctuation exactly (and gives ``f(0) = 0`` exactly, as at infinite width).

**Monte-Carlo error.** :func:`solve` by default solves again with ``S / 2`` independent samples;
``mc_error`` is ``max_t |loss_S - loss_{S/2}| / sqrt(3)``, the standard error of the ``S``-sample loss if the two
errors are independent with variances ``s^2 / S`` and ``2 s^2 / S``.
"""

from __future__ import annotations

import math

import numpy as np

from learndyn import _checks
from learndyn.theory.dmft import DMFTResult, targets
from learndyn.theory.kernels import _activation

__all__ = ["RULES", "memory_estimate", "solve"]

RULES = ("gd", "fa", "dfa", "hebb", "gln")

_BYTES = 8
_DIVERGED = 1e8  # |Delta| beyond this times max |y| is a run that blew up


def memory_estimate(P: int, steps: int, n_hidden: int, samples: int, rule: str = "gd") -> int:
    """Bytes the Monte-Carlo solver holds at once (about).

    Per layer below the readout: four ``S x T x P`` field histories and the sources' whitened populations and
    innovations (``2 x S x T x b`` each, ``b = P``, or ``2 P`` for FA's joint ``(r, v)`` plus FA's ``zeta``); the
    orthonormal draw streams; and ``O(S P)`` per layer for the current step. A two-layer net (``n_hidden = 1``)
    keeps no history at all.

    Examples
    --------
    >>> memory_estimate(10, 100, 3, 1000) / 1e9 < 1
    True
    """
    T, S, L = steps + 1, samples, n_hidden
    n = S // 4
    b_r = 2 * P if rule == "fa" else P
    per_source = 2 * S * T * (P + b_r + (P if rule == "fa" else 0))
    streams = 2 * L * min(T * (P + b_r), n) * n
    return _BYTES * ((L - 1) * (4 * S * T * P + per_source) + streams + 12 * L * S * P)


def solve(
    X,
    y,
    *,
    n_hidden: int,
    activation="relu",
    rule: str = "gd",
    gamma0: float,
    eta: float,
    steps: int,
    samples: int = 1000,
    rho: float = 0.0,
    seed: int = 0,
    antithetic: bool = True,
    cutoff: float = 1e-13,
    mc_check: bool = True,
    keep_fields: bool = False,
    max_memory_gb: float = 8.0,
) -> DMFTResult:
    """Infinite-width dynamics of a deep mean-field net under a learning rule, by Monte-Carlo DMFT.

    Parameters
    ----------
    X : (P, D) array
        Training inputs (``K^x = X X^T / D``).
    y : (P,) or (P, 1) array
        Targets (one output).
    n_hidden : int
        ``L >= 1`` hidden layers.
    activation : str or (phi, dphi)
        A name of :data:`learndyn.theory.kernels.ACTIVATIONS` (the definitions of ``learndyn.nets``) or a pair of
        elementwise NumPy callables. For ``"gln"`` it is the gate nonlinearity: gates ``phi'(m)``.
    rule : {"gd", "fa", "dfa", "hebb", "gln"}
        As the library's rules (``learndyn.rules`` and the net :class:`learndyn.nets.GLN`).
    gamma0 : float
        Richness, > 0.
    eta : float
        Step size; ``t = eta k`` (the library's time).
    steps : int
        Steps; the result has ``steps + 1`` times.
    samples : int
        ``S``, sites per layer (a multiple of 4 with ``antithetic``).
    rho : float
        FA only: feedback ``rho W(0) + sqrt(1 - rho^2) W~``, in [0, 1].
    seed : int
        Seed of the draws (the ``S / 2`` check uses ``seed + 1``).
    antithetic : bool
        Four sign-flipped copies of every draw (see the module notes).
    cutoff : float
        Directions of a source with variance below ``cutoff`` times its largest are dropped.
    mc_check : bool
        Also solve with ``S / 2`` samples to estimate the Monte-Carlo error (``mc_error``; doubles the cost by 1.5).
    keep_fields : bool
        Keep the final pre-activations ``h^l(T)`` of every site (``fields`` attribute, ``(L, S, P)``).
    max_memory_gb : float
        Refuse problems whose estimate (:func:`memory_estimate`) exceeds this.

    Returns
    -------
    DMFTResult
        ``converged`` is True (a causal pass has nothing to iterate); a run whose outputs blow up raises
        ``FloatingPointError`` naming the step.

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((4, 8))
    >>> res = solve(X, [1.0, -1.0, 1.0, -1.0], n_hidden=1, activation="relu", gamma0=1.0, eta=0.5, steps=20,
    ...             samples=400)
    >>> bool(res.loss[-1] < 0.5 * res.loss[0]), res.mc_error < 0.01
    (True, True)
    """
    X = _checks.as_matrix("X", X)
    P, D = X.shape
    y = targets(y, P)
    L = _checks.positive_int("n_hidden", n_hidden)
    name, phi, dphi = _activation(activation, None)
    rule = _checks.one_of("rule", rule, RULES)
    gamma0 = _checks.positive_float("gamma0", gamma0)
    eta = _checks.positive_float("eta", eta)
    steps = _checks.positive_int("steps", steps)
    S = _checks.positive_int("samples", samples)
    if antithetic and S % 4:
        raise ValueError(f"samples must be a multiple of 4 with antithetic=True (four sign copies); got {S}")
    if S < 8:
        raise ValueError(f"samples must be at least 8; got {S}")
    rho = _checks.real_float("rho", rho)
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"rho must be in [0, 1]; got {rho!r}")
    if rule != "fa" and rho != 0.0:
        raise ValueError(f"rho applies to rule 'fa' only; got rho={rho!r} with rule={rule!r}")
    cutoff = _checks.positive_float("cutoff", cutoff)
    need = memory_estimate(P, steps, L, S, rule) * (1.5 if mc_check else 1.0)
    limit = _checks.positive_float("max_memory_gb", max_memory_gb) * 1e9
    if need > limit:
        fits = int(S * limit / need) // 4 * 4
        raise MemoryError(
            f"Monte-Carlo DMFT with P = {P}, steps = {steps}, n_hidden = {L} and samples = {S} needs about "
            f"{need / 1e9:.3g} GB (> max_memory_gb = {max_memory_gb:g}); use samples <= {max(fits, 0)} (or fewer "
            "steps or items)"
        )
    settings = {
        "rule": rule, "rho": rho if rule == "fa" else float("nan"), "gamma0": gamma0, "eta": eta, "steps": steps,
        "n_hidden": L, "activation": name or "custom", "samples": S, "solver": "dmft_mc", "seed": int(seed),
        "antithetic": int(bool(antithetic)), "cutoff": cutoff,
    }  # fmt: skip
    Kx = X @ X.T / D
    run = _March(Kx, y, L, phi, dphi, rule, gamma0, eta, rho, cutoff, antithetic)
    out = run(steps, S, np.random.default_rng(seed), keep_fields)
    mc = None
    if mc_check:
        half = S // 2 if not antithetic else max(8, S // 8 * 4)
        other = run(steps, half, np.random.default_rng(seed + 1), False)
        mc = float(np.max(np.abs(_loss(out["delta"]) - _loss(other["delta"])))) / math.sqrt(3.0)
        settings["mc_samples"] = half
    k = np.arange(steps + 1)
    res = DMFTResult(
        t=eta * k, y=y, f=y[None, :] - out["delta"], phi=out["phi"], g=out["g"], gt=out["gt"],
        entk=np.sum(out["gt"] * out["phi"], axis=1), residuals=np.zeros(1), iterations=1, converged=True, tol=0.0,
        mc_error=mc, settings=settings, gtt=out["gtt"], fields=out.get("fields"),
    )  # fmt: skip
    return res


def _loss(delta):
    return 0.5 * np.mean(delta**2, axis=1)


# --------------------------------------------------------------------------------------------------------------------
# draws


class _Draws:
    """Standard normal draws for ``n`` base samples, expanded to the ``4 n`` sign copies of the antithetic design.

    Copy ``q`` of base sample ``i`` is row ``q n + i``; the forward group flips on copies 1 and 3, the backward group
    on copies 2 and 3. New columns are drawn orthonormal (``(1/n) E^T E = I``) to the earlier columns of the same
    stream while there is room (moment matching).
    """

    def __init__(self, rng, n_base, antithetic):
        self.rng, self.n, self.anti = rng, n_base, antithetic
        self.sign = {
            "fwd": np.repeat([1.0, -1.0, 1.0, -1.0], n_base)[:, None] if antithetic else None,
            "bwd": np.repeat([1.0, 1.0, -1.0, -1.0], n_base)[:, None] if antithetic else None,
            None: None,
        }

    def base(self, m, before=None):
        """``(n, m)`` standard normal columns, orthonormal to each other and to ``before`` ``(M, n)`` where possible."""
        e = self.rng.standard_normal((self.n, m))
        used = 0 if before is None else before.shape[0]
        if m and used + m < self.n:
            for _ in range(2):  # twice: classical Gram-Schmidt loses orthogonality once
                if used:
                    e -= before.T @ (before @ e) / self.n
            q, r = np.linalg.qr(e)
            e = q * np.sqrt(self.n) * np.sign(np.diag(r))[None, :]
        return e

    def stream(self):
        """A stream of columns drawn orthonormal to every earlier column of the stream (see :class:`_Stream`)."""
        return _Stream(self)

    def expand(self, e, group):
        """The full ``(S, m)`` block from base draws ``(n, m)``: four sign copies for ``group`` (None: unflipped)."""
        if not self.anti:
            return e
        full = np.concatenate([e] * 4, axis=0)
        s = self.sign[group]
        return full if s is None else full * s


class _History:
    """One layer's ``(S, P)`` values at the current step, and with ``keep`` at every earlier step."""

    def __init__(self, S, T, P, keep):
        self.a = np.zeros((S, T if keep else 1, P))
        self.keep = keep
        self.k = 0

    def set(self, k, value):
        self.k = k if self.keep else 0
        self.a[:, self.k] = value

    @property
    def now(self):
        return self.a[:, self.k]

    def past(self, k):
        """Steps ``j < k`` as ``(S, k P)`` (a view: the rows' first ``k P`` entries are contiguous)."""
        S, _, P = self.a.shape
        return self.a[:, :k].reshape(S, k * P)


class _Stream:
    """Columns of base draws kept orthonormal to each other across all the sources of one layer's sites that share
    a sign group, so that independent sources are also uncorrelated in the sample (while there is room)."""

    def __init__(self, draws):
        self.draws = draws
        self.base = np.empty((8, draws.n))
        self.m = 0
        self.full = False

    def draw(self, k, group):
        """``(S, k)`` new columns (sign copies for ``group``)."""
        eb = self.draws.base(k, None if self.full or not self.m else self.base[: self.m])
        if k and not self.full:
            if self.m + k >= self.draws.n:
                self.full = True  # no room left: later columns are plain draws
            else:
                if self.m + k > self.base.shape[0]:
                    grown = np.empty((min(2 * (self.m + k), self.draws.n), self.draws.n))
                    grown[: self.m] = self.base[: self.m]
                    self.base = grown
                self.base[self.m : self.m + k] = eb.T
                self.m += k
        return self.draws.expand(eb, group)


class _Source:
    """A Gaussian source over steps whose law is the empirical second moment of a population, drawn causally.

    ``step(x)`` takes the population's slice ``x`` ``(n_pop, b)`` at the new step and returns the sources' slice
    ``(S, b)``; the whitened population ``hat[:m]`` ``(m, n_pop)`` and the innovations ``eps[:m]`` ``(m, S)`` of
    the ``m`` directions so far stay available for the integration-by-parts responses.
    """

    def __init__(self, stream, group, n_pop, b, T, cutoff):
        self.stream, self.group, self.b, self.cutoff = stream, group, b, cutoff
        self.n_pop = n_pop
        cap = T * b
        self.hat = np.empty((cap, n_pop))
        self.eps = np.empty((cap, n_pop))
        self.m = 0
        self.ref = 0.0

    def step(self, x):
        m, n = self.m, self.n_pop
        H = self.hat[:m]
        res = x.copy()
        coef = np.zeros((m, self.b))
        for _ in range(2):  # Gram-Schmidt, re-orthogonalised
            if m:
                d = H @ res / n
                res -= H.T @ d
                coef += d
        C = res.T @ res / n
        lam, V = np.linalg.eigh(0.5 * (C + C.T))
        self.ref = max(self.ref, float(np.max(np.einsum("ij,ij->j", x, x)) / n))
        keep = lam > self.cutoff * max(self.ref, 1e-300)
        lam, V = lam[keep], V[:, keep]
        # a sign convention (largest entry positive) makes the draws a function of the law, not of eigh's choice
        big = np.argmax(np.abs(V), axis=0)
        V = V * np.sign(V[big, np.arange(V.shape[1])])[None, :]
        k = lam.size
        # the population's slice = coef^T hat[:m] + (new directions) * sqrt(lam)
        e = self.stream.draw(k, self.group)
        out = self.eps[:m].T @ coef if m else np.zeros((e.shape[0], self.b))
        if k:
            out = out + (e * np.sqrt(lam)) @ V.T
            self.hat[m : m + k] = ((res @ V) / np.sqrt(lam)).T
            self.eps[m : m + k] = e.T
            self.m = m + k
        return out

    def response(self, F, s_hat):
        """``<dF/dx> s`` for every site's signal ``s`` given by its whitened coordinates ``s_hat`` ``(m, n)``:
        ``F`` ``(S, P)`` are the responding values of the sites that drew this source."""
        m = self.m
        if not m:
            return 0.0
        R = self.eps[:m] @ F / F.shape[0]  # (m, P) = <eps F>
        return s_hat[:m].T @ R


# --------------------------------------------------------------------------------------------------------------------
# the march


class _March:
    """The field equations of one problem; calling it marches ``S`` sites per layer through ``steps`` steps."""

    def __init__(self, Kx, y, L, phi, dphi, rule, gamma0, eta, rho, cutoff, antithetic):
        self.Kx, self.y, self.L, self.phi, self.dphi = Kx, y, L, phi, dphi
        self.rule, self.gamma0, self.eta, self.rho = rule, gamma0, eta, rho
        self.cutoff, self.anti = cutoff, antithetic
        self.P = Kx.shape[0]
        self.c = eta * gamma0 / self.P
        lam, V = np.linalg.eigh(Kx)
        self.Kx_half = V * np.sqrt(np.clip(lam, 0.0, None))  # Kx = Kx_half Kx_half^T

    def __call__(self, steps, S, rng, keep_fields):
        L, P, T, c, rule = self.L, self.P, steps + 1, self.c, self.rule
        fa, gln, rho = rule == "fa", rule == "gln", self.rho
        reacts = rule in ("gd", "fa", "gln")  # A (and C): the forward pass feels the backward sources
        n_base = S // 4 if self.anti else S
        draws = _Draws(rng, n_base, self.anti)
        # static per-site draws
        # one stream per layer and sign group: the sources of one layer's sites are drawn mutually orthonormal
        b_r = 2 * P if fa and rho > 0 else P
        fwd = [draws.stream() for _ in range(L)]
        bwd = [draws.stream() for _ in range(L)]
        u1 = fwd[0].draw(P, "fwd") @ self.Kx_half.T
        w0 = bwd[L - 1].draw(1, "bwd")[:, 0]
        w_fb = bwd[L - 1].draw(1, "bwd")[:, 0] if fa and rho < 1 else 0.0  # w~
        gates = [np.asarray(self.dphi(draws.expand(draws.base(P), None) @ self.Kx_half.T), dtype=np.float64)
                 for _ in range(L)] if gln else None  # fmt: skip
        zt_dfa = [bwd[i].draw(1, "bwd") for i in range(L)] if rule == "dfa" else None
        # per-layer values (S, P), index l-1 for hidden layer l, with their past where a two-time kernel needs it:
        # phi^l and Delta phi^l below the top (Phi^l(k, j) drives layer l+1, Delta phi^l enters z^l), g~^l and
        # Delta g~^l above the first (G~^l(k, j) enters z^{l-1}, Delta g~^l drives layer l)
        ph = [_History(S, T, P, i < L - 1) for i in range(L)]
        dph = [_History(S, T, P, i < L - 1) for i in range(L)]  # Delta(j) * phi^l(j)
        gt = [_History(S, T, P, i > 0) for i in range(L)]
        dgt = [_History(S, T, P, i > 0) for i in range(L)]  # Delta(j) * g~^l(j)
        cur = {"g": [None] * L, "gt": [None] * L, "slope": [None] * L, "h": [None] * L}
        U = [None] + [_Source(fwd[i], "fwd", S, P, T, self.cutoff) for i in range(1, L)]  # u^l, l >= 2
        # backward sources of layers 1..L-1: r (GD, DFA, Hebb, GLN), joint (r, v) for FA with rho > 0, and zeta
        R = [_Source(bwd[i], "bwd", S, b_r, T, self.cutoff) for i in range(L - 1)] + [None]
        Z = [_Source(bwd[i], "bwd", S, P, T, self.cutoff) for i in range(L - 1)] + [None] if fa and rho < 1 else None
        acc1 = np.zeros((S, P))  # sum_{j<k} Delta(j) g~^1(j), layer 1's drive through the constant K^x
        accw = np.zeros(S)  # sum_{j<k} Delta(j) . phi^L(j): the readout's updates
        out = {n: np.zeros((T, L + 1, P, P)) for n in ("phi", "g", "gt", "gtt")}
        delta_hist = np.zeros((T, P))
        ones = np.ones((P, P))
        for k in range(T):
            # ---- forward, layer by layer from the input up
            for i in range(L):
                if i == 0:
                    h = u1 + c * acc1 @ self.Kx.T
                else:
                    below = ph[i - 1].now
                    h = U[i].step(below)
                    if k:
                        row = below.T @ ph[i - 1].past(k) / S  # Phi^{i-1}(k, j<k), (P, kP)
                        h = h + c * dgt[i].past(k) @ row.T
                    if reacts:  # the layer below's reaction to the shared weights: A g (+ C g~)
                        h = h + R[i - 1].response(below, R[i - 1].hat)
                if gln:
                    slope = gates[i]
                    act = slope * h
                else:
                    act, slope = self.phi(h), self.dphi(h)
                ph[i].set(k, act)
                cur["slope"][i], cur["h"][i] = slope, h
            # ---- the outputs
            zL = w0 + c * accw
            f = (zL @ ph[L - 1].now) / S / self.gamma0
            delta = self.y - f
            scale = max(float(np.max(np.abs(self.y))), 1e-300)
            if not np.all(np.isfinite(delta)) or float(np.max(np.abs(delta))) > _DIVERGED * scale:
                raise FloatingPointError(
                    f"Monte-Carlo DMFT ({rule}) diverged at step {k} (t = {self.eta * k:g}): max |Delta| = "
                    f"{float(np.max(np.abs(delta))):.3g}; use a smaller eta or gamma0"
                )
            delta_hist[k] = delta
            # ---- backward, from the readout down
            for i in range(L - 1, -1, -1):
                act, slope = ph[i].now, cur["slope"][i]
                if i == L - 1:
                    z = np.broadcast_to(zL[:, None], (S, P))
                    if fa:
                        zt = np.broadcast_to((rho * w0 + math.sqrt(1.0 - rho**2) * w_fb)[:, None], (S, P))
                else:
                    g_up, gt_up = cur["g"][i + 1], cur["gt"][i + 1]
                    pop = np.hstack([g_up, gt_up]) if b_r == 2 * P else g_up
                    src = R[i].step(pop)
                    r = src[:, :P]
                    # B phi: the layer above's reaction to the shared weights, through its sources u^{i+2}
                    z = r + U[i + 1].response(g_up, U[i + 1].hat)
                    if k:
                        Gt_row = g_up.T @ gt[i + 1].past(k) / S  # G~(k, j<k), (P, kP)
                        z = z + c * dph[i].past(k) @ Gt_row.T
                    if fa:
                        zt = 0.0
                        if rho > 0:
                            zt = rho * (src[:, P:] + U[i + 1].response(gt_up, U[i + 1].hat))
                        if rho < 1:
                            zt = zt + math.sqrt(1.0 - rho**2) * Z[i].step(gt_up)
                g = slope * z
                if rule in ("gd", "gln"):
                    gtl = g
                elif fa:
                    gtl = slope * zt
                elif rule == "dfa":
                    gtl = slope * zt_dfa[i]
                else:  # hebb
                    gtl = delta[None, :] * act
                cur["g"][i], cur["gt"][i] = g, gtl
                gt[i].set(k, gtl)
                dgt[i].set(k, delta[None, :] * gtl)
                dph[i].set(k, delta[None, :] * act)
            acc1 += dgt[0].now
            accw += ph[L - 1].now @ delta
            # ---- equal-time kernels of every weight layer
            out["phi"][k, 0] = self.Kx
            for i in range(L):
                a, g_, t_ = ph[i].now, cur["g"][i], cur["gt"][i]
                out["phi"][k, i + 1] = a.T @ a / S
                out["g"][k, i] = g_.T @ g_ / S
                out["gt"][k, i] = g_.T @ t_ / S
                out["gtt"][k, i] = t_.T @ t_ / S
            out["g"][k, L] = out["gt"][k, L] = out["gtt"][k, L] = ones
        out["delta"] = delta_hist
        if keep_fields:
            out["fields"] = np.stack(cur["h"])
        return out
