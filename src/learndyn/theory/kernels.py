"""Lazy (gamma0 -> 0, infinite-width) kernels of every learning rule: NNGP, NTK, rho-FA, DFA, Hebb and GLN.

Bordelon & Pehlevan, "The influence of learning rule on representation dynamics in wide neural networks" (ICLR
2023, arXiv 2210.02157), Table 2 and eq. 6 (spec ``learning_rules_dmft.md`` section 3). The network is the mean-field
net of ``learndyn.param.get("meanfield", gamma0)`` with ``L = n_hidden`` hidden layers of width ``N``::

    h^1 = W^0 x / sqrt(D),   h^{l+1} = W^l phi(h^l) / sqrt(N),   f = w^L . phi(h^L) / (gamma0 N),   all N(0, 1).

At ``N -> infinity`` each pre-activation ``h^l`` is a Gaussian process with covariance ``Phi^{l-1}`` (checked
against the width-N net in ``tests/theory/test_kernels.py``), so with ``K^x = X X^T / D``::

    Phi^0 = K^x,   Phi^l = E[phi(u) phi(u)^T],   Gdot^l = E[phi'(u) phi'(u)^T],   u ~ N(0, Phi^{l-1}),
    G^{L+1} = 1 1^T,   G^l = G^{l+1} * Gdot^l                  (l = 1..L, * the entrywise product)

and the static eNTK of each rule (``df_mu/ds = sum_nu K_mu,nu Delta_nu``, ``Delta = y - f``) is

========  =======================================================================================
rule      lazy eNTK ``K``
========  =======================================================================================
gd        ``sum_{l=0}^{L} G^{l+1} * Phi^l``: the NTK (weight layer ``W^l`` gives the term ``l``)
fa        ``sum_{l=0}^{L} rho^{L-l} G^{l+1} * Phi^l``: ``rho = 1`` is the NTK, ``rho = 0`` is ``Phi^L``
dfa       ``Phi^L``, the NNGP kernel (only the readout's learning survives: ``G~ = O(N^-1/2)``)
hebb      ``Phi^L`` as DFA, whatever the error (the error-weighted Hebbian ``G~`` is also O(N^-1/2))
gln       ``(L + 1) C^{*L} * K^x`` with ``C = E[phi'(m) phi'(m)^T]``, ``m ~ N(0, K^x)``
========  =======================================================================================

**GLN: the prefactor is L + 1** (one term per weight layer), not the paper's ``L``. For the gated net
(``phi(h^l) -> phi'(m^l) * h^l``, gates ``m^l = M^l x / sqrt(D)``, ``M^l`` i.i.d. N(0, 1) and independent of the
weights) ``Phi^l = C^{*l} * K^x`` and ``G^{l+1} = C^{*(L-l)}``, so each of the ``L + 1`` weight layers contributes
the same ``C^{*L} * K^x``. The width-N eNTK of :class:`learndyn.nets.GLN` with the mean-field multipliers (GD,
:func:`learndyn.observables.entk` times ``gamma0^2 N``; ReLU gates, P = 8 items) agrees: its relative Frobenius
distance to ``(L + 1) C^{*L} * K^x`` is 3-4 % at L = 1, N = 4096 and 4-8 % at L = 2, N = 2048, and its squared
error falls like 1/N, whereas the paper's ``L C^{*L} * K^x`` is off by 49-50 % and 33 %, i.e. by the missing
``1 / (L + 1)`` (``tests/theory/test_kernels.py``). The library's gates are the spec's, ``phi'(M x / sqrt(n_in))``
with ``n_in = D``; but its ReLU gate is ``phi' = Theta``, not the paper's ``sqrt(2) Theta``, so for ``|x|^2 = D``
the library's ReLU-GLN kernel is ``(L + 1) 2^{-L} (1 - theta/pi)^L cos(theta)`` (a gate scaled by ``s`` scales
``C`` by ``s^2``).

**Normalisation.** ``K`` here is the spec's: ``K = gamma0^2 N * entk`` with ``entk`` the kernel of
:func:`learndyn.observables.entk` for the mean-field net (that function leaves out the per-layer learning-rate
scale ``gamma0^2 N`` of ``learndyn.param``'s mean-field preset), one output.

**Time.** The spec's time ``s`` goes with its loss ``sum_mu l(f_mu, y_mu)``: ``dDelta/ds = -K Delta``. The library's
gradient-flow time ``t = eta * step`` goes with the mean loss ``1/(2P) sum_mu ||y_mu - f_mu||^2``, so
``t = P s`` and ``dDelta/dt = -(K / P) Delta``. :func:`lazy_error` and :func:`kernel_regression` take
``time="library"`` (default, as everywhere in learndyn) or ``time="spec"``.

**Gaussian expectations.** Closed forms for ``linear``, ``relu`` (arc-cosine kernel), ``leaky_relu`` (slope 0.01,
a mixture of the linear and ReLU kernels) and ``erf`` (arcsine kernel); tensor-product Gauss-Hermite quadrature of
each 2 x 2 block for any other activation (``tanh``, ``scaled_tanh`` = ``tanh(0.8 h) / 0.8``, ``gelu``, or your own
``(phi, dphi)``). The quadrature converges exponentially for smooth ``phi`` (``tanh`` at unit variance: ~1e-13 at
the default order 96; at variance 10 it saturates like a step and the error is ~5e-5) but only like ``1/order`` for
a kink, which is why kinked activations have closed forms.

Assumptions: inputs with no zero row (every covariance needs a positive diagonal; checked); several outputs share
one kernel (the lazy eNTK is ``K`` times the identity over outputs); ``f(0) = 0`` (the infinite-width net at init,
or a centred finite one).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import scipy.linalg as sla
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import erf as _erf

from learndyn import _checks

__all__ = [
    "ACTIVATIONS",
    "CLOSED_FORMS",
    "RULES",
    "TIMES",
    "entk_from_kx",
    "gaussian_expectations",
    "gln_layer_kernels",
    "kernel_regression",
    "layer_kernels",
    "lazy_entk",
    "lazy_error",
    "predict",
]

#: Learning rules with a lazy kernel here.
RULES = ("gd", "fa", "dfa", "hebb", "gln")

#: Time conventions: the library's ``t = eta * step`` (mean loss) or the spec's ``s = t / P`` (summed loss).
TIMES = ("library", "spec")

_LEAKY_SLOPE = 0.01  # that of learndyn.nets' "leaky_relu" (a test compares the two definitions)
_TANH_SLOPE = 0.8  # "scaled_tanh" = tanh(0.8 h) / 0.8, the DMFT demo's activation
_SQRT_2 = math.sqrt(2.0)


def _gelu(u):
    return 0.5 * u * (1.0 + _erf(u / _SQRT_2))


def _dgelu(u):
    return 0.5 * (1.0 + _erf(u / _SQRT_2)) + u * np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)


#: Activations by name, ``(phi, dphi)`` as NumPy functions; the same definitions as ``learndyn.nets.ACTIVATIONS``
#: (which theory may not import; ``relu'(0) = 0``, as there).
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "linear": (lambda u: u, lambda u: np.ones_like(u)),
    "relu": (lambda u: np.maximum(u, 0.0), lambda u: (u > 0).astype(np.float64)),
    "leaky_relu": (lambda u: np.where(u > 0, u, _LEAKY_SLOPE * u), lambda u: np.where(u > 0, 1.0, _LEAKY_SLOPE)),
    "tanh": (np.tanh, lambda u: 1.0 - np.tanh(u) ** 2),
    "scaled_tanh": (lambda u: np.tanh(_TANH_SLOPE * u) / _TANH_SLOPE, lambda u: 1.0 - np.tanh(_TANH_SLOPE * u) ** 2),
    "erf": (_erf, lambda u: 2.0 / math.sqrt(math.pi) * np.exp(-u * u)),
    "gelu": (_gelu, _dgelu),
}

#: Activations whose Gaussian expectations are in closed form (the rest use quadrature).
CLOSED_FORMS = ("linear", "relu", "leaky_relu", "erf")


# --------------------------------------------------------------------------------------------------------------------
# validation


def _covariance(name: str, S) -> np.ndarray:
    """A symmetric P x P covariance with a positive diagonal and valid 2 x 2 blocks, as float64."""
    S = _checks.as_matrix(name, S)
    P = S.shape[0]
    if S.shape != (P, P):
        raise ValueError(f"{name} must be a square (P, P) covariance; got shape {S.shape}")
    scale = float(np.max(np.abs(S)))
    asym = float(np.max(np.abs(S - S.T)))
    if asym > 1e-10 * scale:
        raise ValueError(
            f"{name} must be symmetric; got max |{name} - {name}^T| = {asym:.3g} (max |{name}| = {scale:.3g})"
        )
    q = np.diag(S)
    if (q <= 0).any():
        k = int(np.argmin(q))
        raise ValueError(
            f"{name} must have a positive diagonal (every item a non-zero variance; a zero input row gives 0); "
            f"got {name}[{k}, {k}] = {q[k]!r}"
        )
    c = S / np.sqrt(np.outer(q, q))
    if np.max(np.abs(c)) > 1 + 1e-9:
        i, j = np.unravel_index(int(np.argmax(np.abs(c))), c.shape)
        raise ValueError(
            f"{name} is not a covariance: its 2 x 2 block ({i}, {j}) has correlation {c[i, j]:.6g} outside [-1, 1]"
        )
    return 0.5 * (S + S.T)


def _activation(activation, activations: Mapping | None):
    """``(name or None, phi, dphi)`` from a name (this module's, or one of ``activations``) or a pair of callables."""
    if isinstance(activation, str):
        if activation in ACTIVATIONS:  # our definitions first: they carry the closed forms
            return activation, *ACTIVATIONS[activation]
        extra = {} if activations is None else activations
        if not isinstance(extra, Mapping):
            raise TypeError(f"activations must be a mapping name -> (phi, dphi); got {type(extra).__name__}")
        if activation in extra:
            pair = extra[activation]
            _callables(f"activations[{activation!r}]", pair)
            return None, pair[0], pair[1]
        valid = sorted(set(ACTIVATIONS) | set(extra))
        raise ValueError(f"activation must be one of {valid} or a pair (phi, dphi) of callables; got {activation!r}")
    _callables("activation", activation)
    return None, activation[0], activation[1]


def _callables(name: str, pair) -> None:
    if not (isinstance(pair, tuple | list) and len(pair) == 2 and all(callable(f) for f in pair)):
        raise TypeError(f"{name} must be a name or a pair (phi, dphi) of elementwise callables; got {pair!r}")


def _order(order) -> int:
    order = _checks.positive_int("order", order)
    # hermegauss's weights overflow beyond ~ 200 nodes; 2 nodes is the least that integrates u^2
    if not 2 <= order <= 200:
        raise ValueError(f"order must be an integer in [2, 200] (Gauss-Hermite nodes per dimension); got {order}")
    return order


def _rho(rule: str, rho) -> float:
    if rule != "fa":
        if rho is not None:
            raise ValueError(f"rho applies to rule 'fa' only; got rho={rho!r} with rule={rule!r}")
        return 1.0
    if rho is None:
        return 0.0  # the library's FA default
    rho = _checks.real_float("rho", rho)
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"rho must be in [0, 1] (feedback alignment with the initial weights); got {rho!r}")
    return rho


# --------------------------------------------------------------------------------------------------------------------
# one layer: Gaussian expectations


def _arccos_kernels(S):
    """ReLU: ``E[relu(u) relu(v)]`` and ``E[Theta(u) Theta(v)]`` (Cho & Saul's arc-cosine kernels of order 1, 0)."""
    q = np.sqrt(np.diag(S))
    c = np.clip(S / np.outer(q, q), -1.0, 1.0)
    theta = np.arccos(c)
    phi = np.outer(q, q) / (2 * np.pi) * (np.sqrt(1.0 - c * c) + (np.pi - theta) * c)
    return phi, (np.pi - theta) / (2 * np.pi)


def _closed_form(name: str, S):
    if name == "linear":
        return S.copy(), np.ones_like(S)
    if name == "relu":
        return _arccos_kernels(S)
    if name == "leaky_relu":
        # phi = a u + (1 - a) relu(u) and E[u relu(v)] = E[u v Theta(v)] = S_uv / 2 (flip (u, v) -> (-u, -v))
        a = _LEAKY_SLOPE
        phi, dot = _arccos_kernels(S)
        return a * S + (1 - a) ** 2 * phi, a + (1 - a) ** 2 * dot
    # erf (Williams 1997): with q_u = 1 + 2 S_uu, E[erf erf] = (2/pi) arcsin(2 S_uv / sqrt(q_u q_v)); and
    # E[erf' erf'] = (4/pi) E[exp(-u^2 - v^2)] = (4/pi) det(I + 2 S_2x2)^{-1/2}
    d = 1.0 + 2.0 * np.diag(S)
    dd = np.outer(d, d)
    phi = 2 / np.pi * np.arcsin(np.clip(2 * S / np.sqrt(dd), -1.0, 1.0))
    return phi, 4 / np.pi / np.sqrt(dd - 4 * S * S)


def _quadrature(phi, dphi, S, order):
    """Pairwise tensor Gauss-Hermite: per block ``u = sqrt(a) z1``, ``v = (b / sqrt(a)) z1 + sqrt(c - b^2/a) z2``."""
    z, w = hermegauss(order)
    w = w / math.sqrt(2 * np.pi)  # probabilists' weights sum to sqrt(2 pi)
    ww = np.outer(w, w)
    P = S.shape[0]
    q = np.diag(S)
    out_phi, out_dot = np.empty((P, P)), np.empty((P, P))
    for mu in range(P):  # row by row (upper triangle): P * order^2 evaluations at a time
        b = S[mu, mu:]
        # residual variance of u_nu given u_mu; the diagonal block is degenerate (v = u exactly), rounding clipped
        r = np.concatenate([[0.0], np.maximum(q[mu + 1 :] - b[1:] ** 2 / q[mu], 0.0)])
        u = math.sqrt(q[mu]) * z
        v = (b / math.sqrt(q[mu]))[:, None, None] * z[None, :, None] + np.sqrt(r)[:, None, None] * z[None, None, :]
        fu, gu = _evaluate(phi, u), _evaluate(dphi, u)
        fv, gv = _evaluate(phi, v), _evaluate(dphi, v)
        out_phi[mu, mu:] = np.einsum("ij,i,kij->k", ww, fu, fv)
        out_dot[mu, mu:] = np.einsum("ij,i,kij->k", ww, gu, gv)
    iu = np.triu_indices(P, 1)
    for M in (out_phi, out_dot):
        M[iu[1], iu[0]] = M[iu]
    return out_phi, out_dot


def _evaluate(f, u):
    out = np.asarray(f(u), dtype=np.float64)
    if out.shape != u.shape:
        raise ValueError(f"activation functions must act elementwise; got output shape {out.shape} for input {u.shape}")
    _checks.finite("activation output", out)
    return out


def gaussian_expectations(Sigma, activation, *, activations: Mapping | None = None, order: int = 96):
    """``Phi = E[phi(u) phi(u)^T]`` and ``Phidot = E[phi'(u) phi'(u)^T]`` for ``u ~ N(0, Sigma)``.

    Parameters
    ----------
    Sigma : (P, P) array
        Covariance: symmetric, positive diagonal, every 2 x 2 block positive semi-definite (only the blocks enter:
        each entry ``(mu, nu)`` is an expectation over ``(u_mu, u_nu)``).
    activation : str or (phi, dphi)
        A name of :data:`ACTIVATIONS` (closed form for :data:`CLOSED_FORMS`, quadrature otherwise), a name of
        ``activations``, or a pair of elementwise callables.
    activations : mapping, optional
        More names -> ``(phi, dphi)``, e.g. ``learndyn.nets.ACTIVATIONS``; this module's own names take precedence.
    order : int
        Gauss-Hermite nodes per dimension, 2..200 (quadrature only).

    Returns
    -------
    Phi, Phidot : (P, P) arrays, symmetric.

    Examples
    --------
    >>> S = np.array([[1.0, 0.5], [0.5, 2.0]])
    >>> Phi, Phidot = gaussian_expectations(S, "relu")
    >>> bool(np.allclose(np.diag(Phi), np.diag(S) / 2)), bool(np.allclose(np.diag(Phidot), 0.5))
    (True, True)
    >>> Phi_q, _ = gaussian_expectations(S, (np.tanh, lambda u: 1 - np.tanh(u) ** 2))
    >>> bool(np.allclose(Phi_q, gaussian_expectations(S, "tanh")[0]))
    True
    """
    S = _covariance("Sigma", Sigma)
    name, phi, dphi = _activation(activation, activations)
    order = _order(order)
    if name in CLOSED_FORMS:
        return _closed_form(name, S)
    return _quadrature(phi, dphi, S, order)


# --------------------------------------------------------------------------------------------------------------------
# the depth recursion


def layer_kernels(Kx, n_hidden: int, activation, *, activations: Mapping | None = None, order: int = 96):
    """Forward kernels ``Phi^0..Phi^L`` and backward kernels ``G^1..G^{L+1}`` of the lazy mean-field MLP.

    Parameters
    ----------
    Kx : (P, P) array
        Input kernel ``K^x = X X^T / D`` (positive diagonal).
    n_hidden : int
        ``L >= 1``, the number of hidden layers (``L + 1`` weight layers ``W^0..W^L``).
    activation, activations, order
        As in :func:`gaussian_expectations`.

    Returns
    -------
    Phi, G : (L + 1, P, P) arrays
        ``Phi[l] = Phi^l`` (the kernel of the input to weight layer ``W^l``; ``Phi[0] = K^x``) and
        ``G[l] = G^{l+1}`` (the backward kernel of that layer's output; ``G[L] = 1 1^T``), so that weight layer ``l``
        contributes ``G[l] * Phi[l]`` to the NTK.

    Examples
    --------
    >>> Kx = np.array([[1.0, 0.3], [0.3, 1.0]])
    >>> Phi, G = layer_kernels(Kx, 2, "linear")
    >>> bool(np.allclose(Phi, Kx)), bool(np.allclose(G, 1.0))  # a deep linear net keeps K^x, and G = 1
    (True, True)
    """
    Kx = _covariance("Kx", Kx)
    L = _checks.positive_int("n_hidden", n_hidden)
    Phi, dots = [Kx], []
    for _ in range(L):  # h^l ~ N(0, Phi^{l-1}) for l = 1..L
        phi, dot = gaussian_expectations(Phi[-1], activation, activations=activations, order=order)
        Phi.append(phi)
        dots.append(dot)
    G = [np.ones_like(Kx)]  # G^{L+1}
    for dot in reversed(dots):  # G^l = G^{l+1} * Gdot^l, down from l = L
        G.append(G[-1] * dot)
    return np.stack(Phi), np.stack(G[::-1])


def gln_layer_kernels(Kx, n_hidden: int, activation, *, activations: Mapping | None = None, order: int = 96):
    """``Phi^l = C^{*l} * K^x`` and ``G^{l+1} = C^{*(L-l)}`` of a lazy gated linear network (gates ``phi'(m)``).

    ``C = E[phi'(m) phi'(m)^T]`` with ``m ~ N(0, K^x)``: every hidden layer multiplies its pre-activation by the
    gate ``phi'(M^l x / sqrt(D))`` of independent frozen ``M^l`` (``learndyn.nets.GLN``).

    Returns
    -------
    Phi, G : (L + 1, P, P) arrays, indexed as in :func:`layer_kernels`.

    Examples
    --------
    >>> Kx = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> Phi, G = gln_layer_kernels(Kx, 2, "relu")  # C = 1/2 on the diagonal, 1/4 off it (orthogonal inputs)
    >>> Phi[2].diagonal().tolist(), G[0].tolist()
    ([0.25, 0.25], [[0.25, 0.0625], [0.0625, 0.25]])
    """
    Kx = _covariance("Kx", Kx)
    L = _checks.positive_int("n_hidden", n_hidden)
    _, C = gaussian_expectations(Kx, activation, activations=activations, order=order)
    Phi = np.stack([C**l * Kx for l in range(L + 1)])
    G = np.stack([C ** (L - l) for l in range(L + 1)])
    return Phi, G


def entk_from_kx(
    Kx,
    n_hidden: int,
    activation,
    rule: str = "gd",
    *,
    rho: float | None = None,
    activations: Mapping | None = None,
    order: int = 96,
) -> np.ndarray:
    """The lazy eNTK of ``rule`` (spec normalisation) from the input kernel ``K^x``; see :func:`lazy_entk`.

    Examples
    --------
    >>> Kx = np.array([[1.0, 0.2], [0.2, 1.0]])
    >>> bool(np.allclose(entk_from_kx(Kx, 2, "linear", "gd"), 3 * Kx))  # deep linear: (L + 1) K^x
    True
    """
    rule = _checks.one_of("rule", rule, RULES)
    rho = _rho(rule, rho)
    if rule == "gln":
        Phi, G = gln_layer_kernels(Kx, n_hidden, activation, activations=activations, order=order)
    else:
        Phi, G = layer_kernels(Kx, n_hidden, activation, activations=activations, order=order)
    L = Phi.shape[0] - 1
    if rule in ("dfa", "hebb"):
        return Phi[L].copy()
    # rho-FA: layer l's pseudo-gradient passes L - l feedback matrices, each overlapping the true one by rho
    # (rho = 1 for GD and GLN); rho^0 = 1 keeps the readout term exactly Phi^L at rho = 0
    weights = [rho ** (L - l) for l in range(L + 1)]
    return sum(wt * G[l] * Phi[l] for l, wt in enumerate(weights))


def lazy_entk(
    X,
    n_hidden: int,
    activation,
    rule: str = "gd",
    *,
    rho: float | None = None,
    activations: Mapping | None = None,
    order: int = 96,
) -> np.ndarray:
    """The lazy (``gamma0 -> 0``, ``N -> infinity``) eNTK of a learning rule on the items ``X`` (Table 2).

    Parameters
    ----------
    X : (P, D) array
        Items in the rows (no zero row); ``K^x = X X^T / D``.
    n_hidden : int
        ``L >= 1`` hidden layers.
    activation : str or (phi, dphi)
        The hidden activation (for ``"gln"`` the gate nonlinearity: gates are ``phi'(m)``), as in
        :func:`gaussian_expectations`.
    rule : {"gd", "fa", "dfa", "hebb", "gln"}
    rho : float, optional
        ``fa`` only: feedback ``B = rho W(0)^T + sqrt(1 - rho^2) W~^T``, in [0, 1]; default 0.
    activations, order
        As in :func:`gaussian_expectations`.

    Returns
    -------
    (P, P) array
        ``K`` in the spec's normalisation (``df/ds = K Delta``; ``gamma0^2 N`` times
        :func:`learndyn.observables.entk` of the mean-field net). Symmetric positive semi-definite: the lazy
        kernels of all five rules are.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.6, 0.8]]) * np.sqrt(2)  # |x|^2 = D
    >>> K_gd = lazy_entk(X, 1, "relu", "gd")
    >>> bool(np.allclose(lazy_entk(X, 1, "relu", "fa", rho=1.0), K_gd))
    True
    >>> nngp = lazy_entk(X, 1, "relu", "dfa")
    >>> bool(np.allclose(lazy_entk(X, 1, "relu", "fa", rho=0.0), nngp)), round(float(nngp[0, 0]), 12)
    (True, 0.5)
    """
    X = _checks.as_matrix("X", X)
    zero = np.flatnonzero(~X.any(axis=1))
    if zero.size:
        raise ValueError(f"X must have no zero row (its kernel needs a positive diagonal); row {int(zero[0])} is 0")
    return entk_from_kx(X @ X.T / X.shape[1], n_hidden, activation, rule, rho=rho, activations=activations, order=order)


# --------------------------------------------------------------------------------------------------------------------
# lazy dynamics and kernel regression


def _targets(name: str, y, P: int):
    """Targets as ``(P, n_out)`` float64, and whether they came as a vector."""
    try:
        arr = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real array of shape (P,) or (P, n_out); got {type(y).__name__}") from exc
    if arr.ndim not in (1, 2) or arr.shape[0] != P:
        raise ValueError(f"{name} must have shape (P,) or (P, n_out) with P = {P}; got {arr.shape}")
    _checks.finite(name, arr)
    return arr.reshape(P, -1), arr.ndim == 1


def _kernel(name: str, K) -> np.ndarray:
    K = _checks.as_matrix(name, K)
    if K.shape[0] != K.shape[1]:
        raise ValueError(f"{name} must be square (P, P); got shape {K.shape}")
    return K


def _rate(time: str, P: int) -> float:
    """Factor on ``K`` per unit of the chosen time: the library's mean loss makes the flow ``P`` times slower."""
    return 1.0 / P if _checks.one_of("time", time, TIMES) == "library" else 1.0


def _symmetric_eig(K):
    """``(lam, V)`` of a symmetric ``K``, or None when ``K`` is not symmetric up to rounding."""
    scale = float(np.max(np.abs(K)))
    if float(np.max(np.abs(K - K.T))) > 1e-12 * scale:
        return None
    lam, V = np.linalg.eigh(0.5 * (K + K.T))
    # a PSD kernel's zero modes come out as +-1e-16 scale; a negative one would grow like exp(|lam| t) at large t
    tol = 10 * K.shape[0] * np.finfo(np.float64).eps * max(scale, float(np.max(np.abs(lam), initial=0.0)))
    return np.where(np.abs(lam) <= tol, 0.0, lam), V


def lazy_error(K, y, t, *, time: str = "library") -> np.ndarray:
    """The lazy error ``Delta(t) = exp(-K t) y`` (MSE, ``f(0) = 0``), for any square ``K``.

    Parameters
    ----------
    K : (P, P) array
        An eNTK in the spec's normalisation (:func:`lazy_entk`, or ``gamma0^2 N`` times a width-N
        :func:`learndyn.observables.entk`); it may be asymmetric.
    y : (P,) or (P, n_out) array
        Targets (each output column follows the same ``K``).
    t : array_like
        Non-decreasing times ``>= 0``, any size (``t = 1e6`` included).
    time : {"library", "spec"}
        ``"library"``: ``t = eta * step`` with the loss ``1/(2P) sum ||y - f||^2``, so ``Delta = exp(-K t / P) y``;
        ``"spec"``: the spec's summed loss, ``Delta = exp(-K t) y``.

    Returns
    -------
    (T, P) or (T, P, n_out) array
        ``Delta`` at each time. A symmetric ``K`` goes through ``eigh`` (each mode decays as ``exp(-lam t)``, which
        underflows to 0, never overflows, for ``lam >= 0``); an asymmetric one through ``scipy.linalg.expm`` at each
        time (scaling and squaring: robust for non-normal ``K`` and any ``t``).

    Examples
    --------
    >>> K = np.array([[2.0, 0.0], [0.0, 0.5]])
    >>> lazy_error(K, [1.0, 1.0], [0.0, 1.0], time="spec").round(6).tolist()
    [[1.0, 1.0], [0.135335, 0.606531]]
    >>> bool(np.all(lazy_error(K, [1.0, 1.0], [1e6]) == 0.0))  # library time t = P s, underflows cleanly
    True
    """
    K = _kernel("K", K)
    P = K.shape[0]
    Y, flat = _targets("y", y, P)
    t = _checks.times("t", t) * _rate(time, P)
    eig = _symmetric_eig(K)
    if eig is not None:
        lam, V = eig
        out = np.einsum("pk,tk,kj->tpj", V, np.exp(-np.outer(t, lam)), V.T @ Y)
    else:
        out = np.stack([sla.expm(-K * s) @ Y for s in t])
    return out[:, :, 0] if flat else out


def kernel_regression(K, K_test, y, t=None, *, time: str = "library") -> np.ndarray:
    """Lazy test predictions ``f(x*, t) = K(x*, X) int_0^t exp(-K s) ds y``; ``t = None``: ``K(x*, X) K^{-1} y``.

    Parameters
    ----------
    K : (P, P) array
        Training eNTK (spec normalisation), possibly asymmetric.
    K_test : (Q, P) array
        ``K(x*, X)``: row ``a`` is test item ``a``, column ``nu`` training item ``nu``. For an asymmetric eNTK this
        is the side of ``df(x*)/ds = sum_nu K(x*, x_nu) Delta_nu``: the row item's output moves (its true gradient
        ``g``), driven by the column item's error through its pseudo-gradient ``g~`` (``K = sum G~ * Phi`` with
        ``G~_{a nu} = g_a . g~_nu / N``).
    y : (P,) or (P, n_out) array
        Training targets; ``f(0) = 0`` is assumed.
    t : array_like, optional
        Times (``time`` convention); None for the end of training (``t -> infinity``).
    time : {"library", "spec"}
        As in :func:`lazy_error`.

    Returns
    -------
    (Q,) / (Q, n_out) array for ``t = None``, else (T, Q) / (T, Q, n_out).
        At ``t -> infinity`` a singular symmetric ``K`` is inverted on its range (pseudo-inverse): the
        null-space part of ``y`` is never fitted, and for a kernel of features ``K(x*, X)`` does not see it either.
        An asymmetric ``K`` must be invertible (its flow must converge).

    Examples
    --------
    >>> K = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> kernel_regression(K, K, [1.0, -1.0]).round(12).tolist()  # at t = infinity: the training points interpolated
    [1.0, -1.0]
    >>> kernel_regression(K, K, [1.0, -1.0], [0.0], time="spec").tolist()
    [[0.0, 0.0]]
    """
    K = _kernel("K", K)
    P = K.shape[0]
    K_test = _checks.as_matrix("K_test", K_test)
    if K_test.shape[1] != P:
        raise ValueError(f"K_test must have shape (Q, P) with P = {P} training items; got {K_test.shape}")
    Y, flat = _targets("y", y, P)
    eig = _symmetric_eig(K)
    if t is None:
        if eig is not None:
            lam, V = eig
            inv = np.where(lam > 0, 1.0 / np.where(lam > 0, lam, 1.0), 0.0)
            coef = V @ (inv[:, None] * (V.T @ Y))
        else:
            try:
                coef = np.linalg.solve(K, Y)
            except np.linalg.LinAlgError as exc:
                raise ValueError("K is singular: an asymmetric eNTK must be invertible for t = None") from exc
        out = K_test @ coef
        return out[:, 0] if flat else out
    s = _checks.times("t", t) * _rate(time, P)
    if eig is not None:
        lam, V = eig
        # int_0^s exp(-lam r) dr = -expm1(-lam s) / lam, which is s at lam = 0 (and never overflows for lam >= 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            integ = np.where(lam > 0, -np.expm1(-np.outer(s, lam)) / np.where(lam > 0, lam, 1.0), s[:, None])
        coef = np.einsum("pk,tk,kj->tpj", V, integ, V.T @ Y)
    else:
        # expm of the augmented [[-K, Y], [0, 0]] s holds int_0^s exp(-K r) dr Y in its top-right block
        n = Y.shape[1]
        A = np.zeros((P + n, P + n))
        A[:P, :P], A[:P, P:] = -K, Y
        coef = np.stack([sla.expm(A * si)[:P, P:] for si in s])
    out = np.einsum("qp,tpj->tqj", K_test, coef)
    return out[:, :, 0] if flat else out


def predict(
    X,
    y,
    X_test,
    n_hidden: int,
    activation,
    rule: str = "gd",
    *,
    rho: float | None = None,
    t=None,
    time: str = "library",
    activations: Mapping | None = None,
    order: int = 96,
) -> np.ndarray:
    """Lazy test predictions of a mean-field net trained by ``rule``: kernel regression with its lazy eNTK.

    The kernel of every pair is a function of that pair's two items alone, so ``K(x*, X)`` comes from the same
    recursion as ``K`` (:func:`lazy_entk` of the stacked items).

    Parameters
    ----------
    X : (P, D) array
        Training items; ``y`` (P,) or (P, n_out) their targets.
    X_test : (Q, D) array
        Test items.
    n_hidden, activation, rule, rho, activations, order
        As in :func:`lazy_entk`.
    t, time
        As in :func:`kernel_regression` (``t = None``: the end of training, ``K(x*, X) K^{-1} y``).

    Returns
    -------
    (Q,) / (Q, n_out) array for ``t = None``, else (T, Q) / (T, Q, n_out).

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> f = predict(X, [1.0, -1.0], np.array([[1.0, 0.0], [1.0, 1.0]]), 1, "linear")
    >>> f.round(12).tolist()  # a linear net's NTK regresses linearly: f(x) = w . x with w = (1, -1)
    [1.0, 0.0]
    """
    X = _checks.as_matrix("X", X)
    X_test = _checks.as_matrix("X_test", X_test, cols=X.shape[1])
    P = X.shape[0]
    K_all = lazy_entk(np.vstack([X, X_test]), n_hidden, activation, rule, rho=rho, activations=activations, order=order)
    return kernel_regression(K_all[:P, :P], K_all[P:, :P], y, t, time=time)
