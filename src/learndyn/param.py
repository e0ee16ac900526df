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
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from learndyn import _checks
from learndyn.nets.mlp import ACTIVATIONS, MLP

#: Activation-dependent variance factor ``v`` of the input and hidden layers' init, ``W ~ N(mu, v m^{-2b})``.
#: ``relu`` 2, ``gelu`` 4, ``tanh`` 1 as in Hajjar, Chizat & Giraud (2024) (``elu`` 1 there too, not an activation
#: of :class:`~learndyn.nets.MLP`).  Choices for the other activations: ``linear`` 1 (variance preserving);
#: ``erf`` 1 (odd and saturating like ``tanh``); ``leaky_relu`` ``2/(1 + 0.01^2)``, the He gain of a leaky ReLU of
#: slope 0.01, which is ReLU's 2 at slope 0.
VARIANCE_FACTORS = {
    "linear": 1.0,
    "relu": 2.0,
    "leaky_relu": 2.0 / (1.0 + 0.01**2),
    "tanh": 1.0,
    "erf": 1.0,
    "gelu": 4.0,
}

#: Where a network has biases: none, on the input layer only (the networks of Hajjar, Chizat & Giraud), or on all.
BIAS_MODES = ("none", "input", "all")

_KINDS = ("input", "hidden", "output")


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def _exponent(name: str, e):
    """A width exponent: a finite number, or ``(const, per_L, per_l)`` meaning ``const + per_L * L + per_l * l``."""
    if _is_real(e):
        return float(e)
    if isinstance(e, tuple | list) and len(e) == 3 and all(_is_real(x) for x in e):
        return tuple(float(x) for x in e)
    raise ValueError(
        f"{name} must be a finite number or a triple (const, per_L, per_l) of finite numbers "
        f"(exponent const + per_L*L + per_l*l); got {e!r}"
    )


def _triple(name: str, value, *, affine: bool):
    """Per-kind values (input, hidden, output)."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or len(value) != 3:
        raise ValueError(f"{name} must be a triple (input, hidden, output); got {value!r}")
    out = []
    for kind, x in zip(_KINDS, value, strict=True):
        if affine:
            out.append(_exponent(f"{name}[{kind}]", x))
        elif _is_real(x):
            out.append(float(x))
        else:
            raise ValueError(f"{name}[{kind}] must be a finite number; got {x!r}")
    return tuple(out)


def _eval(e, L: int, l: int) -> float:
    return e if isinstance(e, float) else e[0] + e[1] * L + e[2] * l


def widths(sizes) -> tuple[int, int, int, int]:
    """Validate ``sizes = (d, m, ..., m, n_out)`` and return ``(d, m, n_out, L)``.

    Parameters
    ----------
    sizes : sequence of int
        Input dimension, ``L >= 1`` hidden widths, output width; all >= 1.  The hidden widths must all equal the one
        width ``m`` the parameterization's powers refer to.

    Returns
    -------
    (d, m, n_out, L) : tuple of int
        ``L`` is the number of hidden layers (``L + 1`` weight layers).

    Examples
    --------
    >>> widths((20, 128, 128, 1))
    (20, 128, 1, 2)
    """
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence) or len(sizes) < 3:
        raise ValueError(
            f"sizes must be (d, m, ..., m, n_out) with at least one hidden layer (>= 3 entries); got {sizes!r}"
        )
    s = [_checks.positive_int(f"sizes[{k}]", n) for k, n in enumerate(sizes)]
    hidden = s[1:-1]
    if len(set(hidden)) != 1:
        raise ValueError(
            f"sizes must have equal hidden widths (the parameterization is written in powers of one width m); "
            f"got hidden widths {tuple(hidden)} in sizes={tuple(s)}"
        )
    return s[0], hidden[0], s[-1], len(hidden)


@dataclass(frozen=True)
class Parameterization:
    """A width parameterization: abc exponents per layer kind, init means, variance factor, richness.

    Exponents are per layer kind ``(input, hidden, output)``; a learning-rate exponent may also be a triple
    ``(const, per_L, per_l)`` meaning ``const + per_L * L + per_l * l`` for weight layer ``l = 1..L+1`` of a net with
    ``L`` hidden layers (IP-LLR's step-0 rates depend on ``L`` and ``l``).  Build one with :func:`get` or a named
    constructor (:func:`sp`, :func:`ntk`, :func:`mup`, :func:`meanfield`, :func:`ip`, :func:`ip_llr`,
    :func:`ip_llr_bias`, :func:`ip_noncentred`); the fields are documented there and in the module docstring.

    Attributes
    ----------
    name : str
    a : (float, float, float)
        Forward multipliers ``m^{-a}``.
    b : (float, float, float)
        Init standard deviations ``sigma m^{-b}`` (``sigma^2 = v`` for input/hidden, 1 for output).
    c : triple of exponents
        Learning-rate scales ``m^{-c}`` (from step ``warmup_steps`` on, or always when ``c0`` is None).
    c0 : triple of exponents or None
        Learning-rate exponents for steps ``0 .. warmup_steps - 1`` (IP-LLR: ``warmup_steps = 1``, step 0 only).
    warmup_steps : int
        Number of initial steps that use ``c0`` / ``bias_c0``.
    mean : (float, float, float)
        Init means of the weights (biases are zero-mean).
    v : float or None
        Variance factor of the input and hidden layers; None: :data:`VARIANCE_FACTORS` of the activation.
    gamma0 : float
        Richness: divides the output multiplier and multiplies every learning-rate scale by ``gamma0^2``
        (1 for everything except :func:`meanfield`).
    bias : str
        One of :data:`BIAS_MODES`.  ``"input"`` builds an MLP with biases on every layer but keeps all non-input biases
        at zero (zero init, zero learning rate).
    scale_bias : bool
        True: a bias sits inside its layer's multiplier (``h = a (W x + b)``), and is drawn like a weight of that
        layer.  False: biases are unscaled O(1) parameters ``beta`` (``h = a W x + beta``); they are stored in the MLP
        as ``b = beta / a`` with learning-rate scale ``s_beta / a^2``, which gives exactly the same dynamics of ``beta``
        under any update of the form ``lr * scale * gradient``.
    bias_c, bias_c0 : triple of exponents or None
        Learning-rate exponents of the (effective) biases, later / during warm-up; None: those of the layer's
        weights (``bias_c0`` None with ``bias_c`` given: ``bias_c`` at every step).

    Examples
    --------
    >>> p = get("mup")
    >>> p.a, p.b, p.c
    ((-0.5, 0.0, 0.5), (0.5, 0.5, 0.5), (0.0, 0.0, 0.0))
    >>> p.layer_exponents(3)["a"]
    (-0.5, 0.0, 0.0, 0.5)
    """

    name: str
    a: tuple
    b: tuple
    c: tuple
    c0: tuple | None = None
    warmup_steps: int = 0
    mean: tuple = (0.0, 0.0, 0.0)
    v: float | None = None
    gamma0: float = 1.0
    bias: str = "none"
    scale_bias: bool = True
    bias_c: tuple | None = None
    bias_c0: tuple | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string; got {self.name!r}")
        set_ = lambda k, val: object.__setattr__(self, k, val)
        set_("a", _triple("a", self.a, affine=False))
        set_("b", _triple("b", self.b, affine=False))
        set_("mean", _triple("mean", self.mean, affine=False))
        for k in ("c", "c0", "bias_c", "bias_c0"):
            val = getattr(self, k)
            if val is not None or k == "c":
                set_(k, _triple(k, val, affine=True))
        if isinstance(self.warmup_steps, bool) or not isinstance(self.warmup_steps, numbers.Integral):
            raise ValueError(f"warmup_steps must be a non-negative integer; got {self.warmup_steps!r}")
        if self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be a non-negative integer; got {self.warmup_steps!r}")
        set_("warmup_steps", int(self.warmup_steps))
        if self.v is not None:
            set_("v", _checks.positive_float("v", self.v))
        set_("gamma0", _checks.positive_float("gamma0", self.gamma0))
        _checks.one_of("bias", self.bias, BIAS_MODES)
        if not isinstance(self.scale_bias, bool):
            raise TypeError(f"scale_bias must be True or False; got {self.scale_bias!r}")

    # ----------------------------------------------------------------------------------------------------------------
    # exponents per layer

    def layer_exponents(self, L: int, step: int = 0) -> dict:
        """The exponents of every weight layer ``l = 1..L+1`` of a net with ``L`` hidden layers, at ``step``.

        Parameters
        ----------
        L : int
            Number of hidden layers (>= 1).
        step : int
            Training step (0-based): steps ``< warmup_steps`` use ``c0`` / ``bias_c0``.

        Returns
        -------
        dict
            ``a``, ``b``, ``c``, ``bias_c``: tuples of length ``L + 1`` (``bias_c`` is that of the effective bias);
            ``mean``: the init means.  Scales are ``m^{-exponent}``.

        Examples
        --------
        >>> get("ip-llr").layer_exponents(3, step=0)["c"]
        (-2.0, -2.5, -2.5, -2.0)
        >>> get("ip-llr").layer_exponents(3, step=1)["c"]
        (-1.0, -2.0, -2.0, -1.0)
        """
        L = _checks.positive_int("L", L)
        step = _step(step)
        warm = step < self.warmup_steps
        c = self.c0 if (warm and self.c0 is not None) else self.c
        if self.bias_c is None:
            bc = c
        else:
            bc = self.bias_c0 if (warm and self.bias_c0 is not None) else self.bias_c
        kinds = [_kind(l, L) for l in range(1, L + 2)]
        return {
            "a": tuple(self.a[k] for k in kinds),
            "b": tuple(self.b[k] for k in kinds),
            "c": tuple(_eval(c[k], L, l) for l, k in enumerate(kinds, start=1)),
            "bias_c": tuple(_eval(bc[k], L, l) for l, k in enumerate(kinds, start=1)),
            "mean": tuple(self.mean[k] for k in kinds),
        }

    # ----------------------------------------------------------------------------------------------------------------
    # forward pass

    def multipliers(self, sizes) -> tuple[float, ...]:
        """Per-layer forward multipliers ``a_l`` of :class:`~learndyn.nets.MLP` (``h_l = a_l (W_l phi + b_l)``).

        ``a_l = m^{-a_kind}``, times ``1/sqrt(d)`` for the input layer (``1/sqrt(d+1)`` with an input bias) and
        ``1/gamma0`` for the output layer.

        Parameters
        ----------
        sizes : sequence of int
            ``(d, m, ..., m, n_out)``, see :func:`widths`.

        Returns
        -------
        tuple of float, one per weight layer.

        Examples
        --------
        >>> get("ip").multipliers((4, 100, 100, 1))
        (0.5, 0.01, 0.01)
        >>> get("meanfield", gamma0=0.5).multipliers((4, 100, 100, 1))
        (0.5, 0.1, 0.02)
        """
        d, m, _, L = widths(sizes)
        ex = self.layer_exponents(L)
        fan_in = d + (1 if self.bias != "none" else 0)
        mult = [float(m ** (-a)) for a in ex["a"]]
        mult[0] /= math.sqrt(fan_in)
        mult[-1] /= self.gamma0
        return tuple(mult)

    def mlp(self, sizes, activation: str) -> MLP:
        """The :class:`~learndyn.nets.MLP` of this parameterization (its multipliers and biases).

        Parameters
        ----------
        sizes : sequence of int
            ``(d, m, ..., m, n_out)``.
        activation : str
            Hidden activation, a key of :data:`learndyn.nets.mlp.ACTIVATIONS`.

        Returns
        -------
        MLP
            Initialise it with :meth:`init` (not ``MLP.init``, which uses LeCun scaling).

        Examples
        --------
        >>> net = get("ntk").mlp((3, 16, 2), "tanh")
        >>> net.multipliers
        (0.5773502691896258, 0.25)
        """
        widths(sizes)
        _checks.one_of("activation", activation, sorted(ACTIVATIONS))
        return MLP(tuple(sizes), activation=activation, bias=self.bias != "none", multipliers=self.multipliers(sizes))

    # ----------------------------------------------------------------------------------------------------------------
    # initialisation

    def variance_factor(self, activation: str) -> float:
        """The variance factor ``v`` of the input and hidden layers' init for ``activation``.

        Examples
        --------
        >>> get("ip").variance_factor("relu"), get("meanfield").variance_factor("relu")
        (2.0, 1.0)
        """
        _checks.one_of("activation", activation, sorted(VARIANCE_FACTORS))
        return VARIANCE_FACTORS[activation] if self.v is None else self.v

    def init_std(self, sizes, activation: str) -> tuple[float, ...]:
        """Per-layer init standard deviations ``sqrt(v) m^{-b}`` (input, hidden) and ``m^{-b}`` (output).

        These are the stds of the stored weights ``W_l``; biases are drawn with the same std (zero mean).

        Examples
        --------
        >>> get("mup").init_std((5, 100, 100, 1), "relu")
        (0.14142135623730953, 0.14142135623730953, 0.1)
        """
        _, m, _, L = widths(sizes)
        sv = math.sqrt(self.variance_factor(activation))
        ex = self.layer_exponents(L)
        return tuple((1.0 if l == L else sv) * float(m ** (-b)) for l, b in enumerate(ex["b"]))

    def init_mean(self, sizes) -> tuple[float, ...]:
        """Per-layer init means of the weights.

        Examples
        --------
        >>> get("ip-noncentred").init_mean((5, 100, 100, 1))
        (0.0, 1.0, 1.0)
        """
        _, _, _, L = widths(sizes)
        return self.layer_exponents(L)["mean"]

    def init(self, key, sizes, activation: str) -> dict:
        """Initial parameters ``{"W": (W_1, ..., W_{L+1})}`` (plus ``"b"`` with biases) for :meth:`mlp`.

        ``W_l = mean_l + std_l * N(0, 1)`` entrywise, of shape ``(n_l, n_{l-1})``; biases as described in
        :class:`Parameterization` (``"input"``: non-input biases are zero).  Shapes and scales are static, so
        ``jax.vmap(lambda k: p.init(k, sizes, act))(keys)`` batches seeds.

        Parameters
        ----------
        key : jax.random key
        sizes : sequence of int
            ``(d, m, ..., m, n_out)``.
        activation : str
            Hidden activation (sets the variance factor ``v`` unless the parameterization fixes it).

        Returns
        -------
        dict of float64 arrays.

        Examples
        --------
        >>> import jax
        >>> p = get("ip")
        >>> params = p.init(jax.random.key(0), (3, 8, 8, 1), "relu")
        >>> [w.shape for w in params["W"]]
        [(8, 3), (8, 8), (1, 8)]
        >>> batched = jax.vmap(lambda k: p.init(k, (3, 8, 8, 1), "relu"))(jax.random.split(jax.random.key(0), 4))
        >>> batched["W"][1].shape
        (4, 8, 8)
        """
        d, m, n_out, L = widths(sizes)
        shapes = list(zip(sizes[1:], sizes[:-1], strict=True))
        std = self.init_std(sizes, activation)
        mean = self.init_mean(sizes)
        kw, kb = jax.random.split(key)
        kws = jax.random.split(kw, L + 1)
        W = tuple(
            mu + s * jax.random.normal(k, shape, dtype=jnp.float64)
            for k, shape, s, mu in zip(kws, shapes, std, mean, strict=True)
        )
        params = {"W": W}
        if self.bias != "none":
            mult = self.multipliers(sizes)
            kbs = jax.random.split(kb, L + 1)
            b = []
            for l, (k, (n, _)) in enumerate(zip(kbs, shapes, strict=True)):
                if self.bias == "input" and l > 0:
                    b.append(jnp.zeros(n, dtype=jnp.float64))
                    continue
                beta = std[l] * jax.random.normal(k, (n,), dtype=jnp.float64)
                b.append(beta if self.scale_bias else beta / mult[l])
            params["b"] = tuple(b)
        return params

    # ----------------------------------------------------------------------------------------------------------------
    # learning rates

    def lr_scales(self, sizes, step: int = 0) -> tuple[float, ...]:
        """Per-layer learning-rate scales of the weights at ``step``: ``gamma0^2 m^{-c_l}``.

        The update of ``W_l`` is ``lr * scale_l * update_l`` (GD: ``update_l = -dLoss/dW_l``).  Steps before
        ``warmup_steps`` use the warm-up exponents (IP-LLR: a different rate at step 0 only).  For
        :func:`meanfield` the scale is ``gamma0^2 N`` on every layer, so ``lr = eta`` runs gradient flow in time
        ``t = eta * step``.

        Parameters
        ----------
        sizes : sequence of int
            ``(d, m, ..., m, n_out)``.
        step : int
            0-based training step.

        Returns
        -------
        tuple of float, one per weight layer.

        Examples
        --------
        >>> get("ip").lr_scales((20, 10, 10, 10, 1))
        (10.0, 100.0, 100.0, 10.0)
        >>> get("meanfield", gamma0=2.0).lr_scales((20, 10, 10, 1))
        (40.0, 40.0, 40.0)
        """
        _, m, _, L = widths(sizes)
        return tuple(self.gamma0**2 * float(m ** (-c)) for c in self.layer_exponents(L, step)["c"])

    def bias_lr_scales(self, sizes, step: int = 0) -> tuple[float, ...]:
        """Per-layer learning-rate scales of the MLP's stored biases ``b_l`` at ``step``.

        The effective bias scale is ``gamma0^2 m^{-bias_c}`` (that of the weights unless ``bias_c`` is set); with
        unscaled biases (``scale_bias=False``) the stored ``b_l = beta_l / a_l`` gets that scale divided by
        ``a_l^2``, and with ``bias="input"`` the non-input biases get 0 (they stay at zero).

        Returns
        -------
        tuple of float, one per weight layer (empty when ``bias == "none"``).

        Examples
        --------
        >>> get("ip-llr-bias").bias_lr_scales((3, 4, 4, 1), step=1)
        (16.0, 64.0, 16.0)
        """
        _, m, _, L = widths(sizes)
        if self.bias == "none":
            return ()
        mult = self.multipliers(sizes)
        out = []
        for l, bc in enumerate(self.layer_exponents(L, step)["bias_c"]):
            s = self.gamma0**2 * float(m ** (-bc))
            if not self.scale_bias:
                s /= mult[l] ** 2
            if self.bias == "input" and l > 0:
                s = 0.0
            out.append(s)
        return tuple(out)

    def lr_tree(self, sizes, step: int = 0) -> dict:
        """The learning-rate scales as a pytree shaped like :meth:`init`'s parameters.

        Examples
        --------
        >>> import jax
        >>> p, sizes = get("ip"), (3, 8, 8, 1)
        >>> scales = p.lr_tree(sizes, step=0)
        >>> scales
        {'W': (8.0, 64.0, 8.0)}
        >>> params = p.init(jax.random.key(0), sizes, "relu")
        >>> grads = jax.tree.map(jax.numpy.ones_like, params)
        >>> new = jax.tree.map(lambda w, g, s: w - 0.1 * s * g, params, grads, scales)
        >>> round(float((params["W"][1] - new["W"][1])[0, 0]), 10)
        6.4
        """
        tree = {"W": self.lr_scales(sizes, step)}
        if self.bias != "none":
            tree["b"] = self.bias_lr_scales(sizes, step)
        return tree

    def update(self, params, updates, sizes, *, lr: float, step: int = 0) -> dict:
        """``params + lr * scale * updates`` layer by layer, with the scales of ``step`` (GD: ``updates = -grads``).

        Parameters
        ----------
        params, updates : dict
            Pytrees shaped like :meth:`init`'s output.
        sizes : sequence of int
        lr : float
            Base learning rate (``eta`` for :func:`meanfield`).
        step : int
            0-based step number (selects the warm-up rates).

        Examples
        --------
        >>> import jax
        >>> p, sizes = get("sp"), (3, 8, 8, 1)
        >>> params = p.init(jax.random.key(0), sizes, "relu")
        >>> same = p.update(params, jax.tree.map(jax.numpy.zeros_like, params), sizes, lr=0.1)
        >>> bool(all((a == b).all() for a, b in zip(same["W"], params["W"])))
        True
        """
        lr = _checks.real_float("lr", lr)
        scales = self.lr_tree(sizes, step)
        if set(params) != set(scales):
            raise ValueError(f"params must have keys {sorted(scales)} for this parameterization; got {sorted(params)}")
        return jax.tree.map(lambda p, u, s: p + lr * s * u, params, updates, scales)


def _kind(l: int, L: int) -> int:
    """Layer kind of 1-based weight layer ``l`` in a net with ``L`` hidden layers: 0 input, 1 hidden, 2 output."""
    return 0 if l == 1 else 2 if l == L + 1 else 1


def _step(step) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise ValueError(f"step must be a non-negative integer (0-based training step); got {step!r}")
    return int(step)


def _bias(bias) -> str:
    return _checks.one_of("bias", bias, BIAS_MODES)


# --------------------------------------------------------------------------------------------------------------------
# presets


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
    "sp",
    "widths",
]
