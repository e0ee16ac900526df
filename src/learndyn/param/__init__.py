"""Width parameterizations of MLPs carried as data: abc exponents, init means, variance factors, richness.

An abc-parameterization (Yang & Hu 2021, "Tensor Programs IV: Feature Learning in Infinite-Width Neural Networks",
ICML, arXiv 2011.14522) of a network with ``L`` hidden layers of common width ``m`` and ``L + 1`` weight layers
``l = 1..L+1`` (``l = 1`` the input layer, ``2..L`` the hidden-to-hidden layers, ``L + 1`` the output layer) is

    h^1 = m^{-a_1} W^1 xi / sqrt(d),   h^l = m^{-a_l} W^l phi(h^{l-1}),   f = m^{-a_{L+1}} W^{L+1} phi(h^L),

    W^l_ij ~ N(mu_l, sigma_l^2 m^{-2 b_l}),   learning rate of layer l:  lr * m^{-c_l}.

The exponents are given per layer *kind* (input / hidden / output).  ``sigma_l^2 = v`` for the input and hidden
layers, an activation-dependent variance factor (:data:`VARIANCE_FACTORS`), and ``sigma_{L+1}^2 = 1`` for the output
layer.  The input fan-in ``1/sqrt(d)`` (``1/sqrt(d+1)`` when the input layer has a bias, the bias counting as one
more input) is always a forward multiplier, never part of the init variance, as in the reference code of Hajjar,
Chizat & Giraud and in the mean-field/DMFT convention; ``d`` is fixed, so no width exponent depends on this choice.

Presets (:func:`get`): ``sp``, ``ntk``, ``mup`` (Yang & Hu 2021); ``ip`` (integrable parameterization with the
standard mean-field learning rates), ``ip-llr`` (large learning rates at step 0), ``ip-llr-bias`` (unscaled O(1)
biases), ``ip-noncentred`` (non-zero init mean) from Hajjar, Chizat & Giraud, "Training integrable
parameterizations of deep neural networks in the infinite-width limit", JMLR 2024 (arXiv 2110.15596); and
``meanfield``, the mean-field / muP network with richness ``gamma0`` of Bordelon & Pehlevan, "Self-consistent
dynamical field theory of kernel evolution in wide neural networks" (NeurIPS 2022, arXiv 2205.09653) and "The
influence of learning rule on representation dynamics in wide neural networks" (ICLR 2023, arXiv 2210.02157)::

    h^1 = W^0 x / sqrt(D),   h^{l+1} = W^l phi(h^l) / sqrt(N),   f = w^L . phi(h^L) / (gamma0 N),   all N(0, 1),

trained with learning rate ``eta gamma0^2 N`` on every layer; with the library loss ``1/(2P) sum ||y - f||^2`` the
gradient-flow time is ``t = eta * step``.

**Width convention.**  ``sizes = (d, m, ..., m, n_out)``: input dimension ``d``, ``L >= 1`` hidden layers of one
common width ``m`` (every table entry is a power of this single ``m``; unequal hidden widths raise), output width
``n_out``.  For ``meanfield``, ``m`` is the width ``N`` and ``d`` is ``D``.

**Concrete numbers.**  :meth:`Parameterization.multipliers` gives the forward multipliers of
:class:`learndyn.nets.MLP` (``h_l = a_l (W_l phi_{l-1} + b_l)``), :meth:`Parameterization.mlp` the MLP itself,
:meth:`Parameterization.init` the initial parameters from a ``jax.random`` key, and :meth:`Parameterization.lr_scales`
(:meth:`~Parameterization.lr_tree` for the whole parameter pytree) the per-layer factors ``scale_l`` such that the
update of layer ``l`` at a given step is ``lr * scale_l * update_l`` (e.g. ``update_l = -grad_l`` for GD).

Examples
--------
>>> import jax, numpy as np
>>> p = get("ip")
>>> sizes = (3, 8, 8, 1)
>>> p.lr_scales(sizes)  # m, m^2, m
(8.0, 64.0, 8.0)
>>> net = p.mlp(sizes, "relu")
>>> params = p.init(jax.random.key(0), sizes, "relu")
>>> f, cache = net.apply(params, np.ones((5, 3)))
>>> f.shape
(5, 1)
"""

from __future__ import annotations

import inspect

from learndyn import _checks
from learndyn.param.table import BIAS_MODES, VARIANCE_FACTORS, Parameterization, _bias, require_integrable, widths


def sp(*, bias: str = "none", v: float | None = None) -> Parameterization:
    """Standard parameterization in abc form (Yang & Hu 2021): a = 0/0/0, b = 0/½/½, c = 0.

    Parameters
    ----------
    bias : str
        One of :data:`BIAS_MODES` (``"input"``: the input-layer bias of Hajjar, Chizat & Giraud's networks).
    v : float, optional
        Override of the activation-dependent variance factor.

    Examples
    --------
    >>> sp().b
    (0.0, 0.5, 0.5)
    """
    return Parameterization("sp", a=(0, 0, 0), b=(0, 0.5, 0.5), c=(0, 0, 0), v=v, bias=_bias(bias))


def ntk(*, bias: str = "none", v: float | None = None) -> Parameterization:
    """NTK parameterization (Yang & Hu 2021): a = 0/½/½, b = 0, c = 0.

    Examples
    --------
    >>> ntk().a
    (0.0, 0.5, 0.5)
    """
    return Parameterization("ntk", a=(0, 0.5, 0.5), b=(0, 0, 0), c=(0, 0, 0), v=v, bias=_bias(bias))


def mup(*, bias: str = "none", v: float | None = None) -> Parameterization:
    """Maximal-update parameterization muP (Yang & Hu 2021) in the form a = −½/0/½, b = ½, c = 0.

    Pre-activations are O(1) and move by O(1) in one SGD step at any width; the output is O(m^{-1/2}) at init.

    Examples
    --------
    >>> mup().a, mup().b
    ((-0.5, 0.0, 0.5), (0.5, 0.5, 0.5))
    """
    return Parameterization("mup", a=(-0.5, 0, 0.5), b=(0.5, 0.5, 0.5), c=(0, 0, 0), v=v, bias=_bias(bias))


def meanfield(gamma0: float = 1.0, *, bias: str = "none") -> Parameterization:
    """Mean-field / muP network with richness ``gamma0`` (Bordelon & Pehlevan 2022, 2023).

    ``h^1 = W^0 x/sqrt(D)``, ``h^{l+1} = W^l phi(h^l)/sqrt(N)``, ``f = w^L . phi(h^L)/(gamma0 N)``, all weights
    N(0, 1) (no activation-dependent factor), learning-rate scale ``gamma0^2 N`` on every layer: with base ``lr =
    eta`` and the loss ``1/(2P) sum ||y - f||^2`` the gradient-flow time is ``t = eta * step``.  In abc form (m = N):
    a = 0/½/1, b = 0, c = −1, output multiplier also divided by ``gamma0`` and learning rates multiplied by
    ``gamma0^2``.  ``gamma0 -> 0`` is the lazy limit, ``gamma0 = O(1)`` the rich one.

    Parameters
    ----------
    gamma0 : float
        Richness, > 0.
    bias : str
        One of :data:`BIAS_MODES` (the papers' networks have none).

    Examples
    --------
    >>> meanfield(0.5).lr_scales((10, 100, 100, 1))
    (25.0, 25.0, 25.0)
    """
    _checks.positive_float("gamma0", gamma0)
    return Parameterization(
        "meanfield", a=(0, 0.5, 1), b=(0, 0, 0), c=(-1, -1, -1), v=1.0, gamma0=gamma0, bias=_bias(bias)
    )


def ip(*, bias: str = "none", v: float | None = None) -> Parameterization:
    """Integrable parameterization with the standard mean-field learning rates (Hajjar, Chizat & Giraud 2024).

    a = 0/1/1, b = 0, c = −1/−2/−1 (learning-rate scales m, m², ..., m², m).  With zero-mean weights and
    ``phi(0) = 0`` the pre-activations vanish with depth at init (``h^l = Theta(m^{-(l-1)/2})``,
    ``f = Theta(m^{-L/2})``) and for ``L >= 3`` hidden layers the first step moves nothing at infinite width:
    the net starts at a stationary point.

    Examples
    --------
    >>> ip().c
    (-1.0, -2.0, -1.0)
    """
    return Parameterization("ip", a=(0, 1, 1), b=(0, 0, 0), c=(-1, -2, -1), v=v, bias=_bias(bias))


def ip_llr(*, bias: str = "none", v: float | None = None, warmup_steps: int = 1) -> Parameterization:
    """IP with large learning rates at the first step(s) (IP-LLR; Hajjar, Chizat & Giraud 2024).

    Steps ``< warmup_steps`` (default: step 0 only) use c = −(L+1)/2 (input, output) and −(L+2)/2 (hidden), i.e.
    the IP rates times m^{(L-1)/2} and m^{(L-2)/2}, which cancel the vanishing exponents of the first update;
    afterwards the IP rates (c = −1/−2/−1).

    Parameters
    ----------
    bias : str
    v : float, optional
    warmup_steps : int
        Number of initial steps with the large rates (the reference code's ``n_warmup_steps``).

    Examples
    --------
    >>> ip_llr().lr_scales((20, 4, 4, 4, 1), step=0)
    (16.0, 32.0, 32.0, 16.0)
    """
    return Parameterization(
        "ip-llr",
        a=(0, 1, 1),
        b=(0, 0, 0),
        c=(-1, -2, -1),
        c0=((-0.5, -0.5, 0), (-1, -0.5, 0), (-0.5, -0.5, 0)),
        warmup_steps=warmup_steps,
        v=v,
        bias=_bias(bias),
    )


def ip_llr_bias(*, v: float | None = None, warmup_steps: int = 1, scale_bias_lr: bool = True) -> Parameterization:
    """IP-LLR with unscaled O(1) biases on every layer (Hajjar, Chizat & Giraud 2024).

    Forward ``h^l = m^{-a_l} W^l x^{l-1} + beta^l`` with ``beta ~ N(0, v)`` (output ``N(0, 1)``) not multiplied by
    ``m^{-a}``.  Weights at steps ``< warmup_steps``: c = −(L+1)/2 (input), −(L−l+4)/2 (hidden layer l), −1
    (output); afterwards IP.  Biases (``scale_bias_lr=True``): −(L−l+2)/2 for l <= L and 0 for the output at
    warm-up, then −1 (l <= L) and 0 (output).  ``scale_bias_lr=False`` gives every bias the scale 1 at every step
    (the reference code's default).

    Examples
    --------
    >>> ip_llr_bias().layer_exponents(4, step=0)["c"]
    (-2.5, -3.0, -2.5, -2.0, -1.0)
    >>> ip_llr_bias().layer_exponents(4, step=0)["bias_c"]
    (-2.5, -2.0, -1.5, -1.0, 0.0)
    """
    if not isinstance(scale_bias_lr, bool):
        raise TypeError(f"scale_bias_lr must be True or False; got {scale_bias_lr!r}")
    if scale_bias_lr:
        bias_c, bias_c0 = (-1, -1, 0), ((-1, -0.5, 0.5), (-1, -0.5, 0.5), 0)
    else:
        bias_c, bias_c0 = (0, 0, 0), None
    return Parameterization(
        "ip-llr-bias",
        a=(0, 1, 1),
        b=(0, 0, 0),
        c=(-1, -2, -1),
        c0=((-0.5, -0.5, 0), (-2, -0.5, 0.5), -1),
        warmup_steps=warmup_steps,
        v=v,
        bias="all",
        scale_bias=False,
        bias_c=bias_c,
        bias_c0=bias_c0,
    )


def ip_noncentred(*, bias: str = "none", v: float | None = None, mean: float = 1.0) -> Parameterization:
    """IP with non-centred weights (Hajjar, Chizat & Giraud 2024): init mean ``mean`` for layers l >= 2.

    Exponents and learning rates as :func:`ip`; the non-zero mean keeps ``h^l -> mean * E[x^{l-1}]`` non-degenerate.

    Examples
    --------
    >>> ip_noncentred(mean=0.5).mean
    (0.0, 0.5, 0.5)
    """
    mean = _checks.real_float("mean", mean)
    return Parameterization(
        "ip-noncentred", a=(0, 1, 1), b=(0, 0, 0), c=(-1, -2, -1), mean=(0, mean, mean), v=v, bias=_bias(bias)
    )


#: The presets by name (:func:`get` also accepts ``_`` for ``-`` and a few aliases).
PRESETS = {
    "sp": sp,
    "ntk": ntk,
    "mup": mup,
    "meanfield": meanfield,
    "ip": ip,
    "ip-llr": ip_llr,
    "ip-llr-bias": ip_llr_bias,
    "ip-noncentred": ip_noncentred,
}

_ALIASES = {
    "mean-field": "meanfield",
    "mf": "meanfield",
    "ip-non-centred": "ip-noncentred",
    "ip-noncentered": "ip-noncentred",
    "ip-non-centered": "ip-noncentred",
    "standard-ip": "ip",
    "ipllr": "ip-llr",
    "ipllr-bias": "ip-llr-bias",
}


def get(name: str, **options) -> Parameterization:
    """The preset parameterization ``name`` with its ``options``.

    Parameters
    ----------
    name : str
        One of :data:`PRESETS` (case-insensitive, ``_`` and ``-`` alike): ``sp``, ``ntk``, ``mup``, ``meanfield``,
        ``ip``, ``ip-llr``, ``ip-llr-bias``, ``ip-noncentred``.
    **options
        Keyword arguments of the preset's constructor (e.g. ``gamma0`` for ``meanfield``, ``bias``, ``v``,
        ``warmup_steps``, ``mean``); unknown ones raise, listing the accepted ones.

    Returns
    -------
    Parameterization

    Examples
    --------
    >>> get("meanfield", gamma0=0.1).gamma0
    0.1
    >>> get("IP_LLR").name
    'ip-llr'
    """
    if not isinstance(name, str):
        raise ValueError(f"name must be one of {sorted(PRESETS)}; got {name!r}")
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in PRESETS:
        raise ValueError(f"name must be one of {sorted(PRESETS)}; got {name!r}")
    ctor = PRESETS[key]
    accepted = list(inspect.signature(ctor).parameters)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"options of {key!r} must be among {accepted}; got unknown {unknown}")
    return ctor(**options)


__all__ = [
    "BIAS_MODES",
    "PRESETS",
    "VARIANCE_FACTORS",
    "Parameterization",
    "get",
    "ip",
    "ip_llr",
    "ip_llr_bias",
    "ip_noncentred",
    "meanfield",
    "mup",
    "ntk",
    "require_integrable",
    "sp",
    "widths",
]
