"""The abc-parameterization as data: exponents, multipliers, initialisation and per-layer learning-rate scales.

The named presets (SP, NTK, muP, mean-field, IP and its variants) are in :mod:`learndyn.param`.
"""

from __future__ import annotations

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
#: slope 0.01, which is ReLU's 2 at slope 0; ``scaled_tanh`` (``tanh(0.8 h) / 0.8``) 1 as ``tanh``: it is odd and
#: saturating with the same unit slope at 0 (the division by 0.8 is exactly what keeps ``phi'(0) = 1``), so the
#: small-signal argument behind tanh's factor applies unchanged.
VARIANCE_FACTORS = {
    "linear": 1.0,
    "relu": 2.0,
    "leaky_relu": 2.0 / (1.0 + 0.01**2),
    "tanh": 1.0,
    "scaled_tanh": 1.0,
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
    >>> from learndyn.param import get
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
        >>> from learndyn.param import get
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
        >>> from learndyn.param import get
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
        >>> from learndyn.param import get
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
        >>> from learndyn.param import get
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
        >>> from learndyn.param import get
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
        >>> from learndyn.param import get
        >>> get("ip-noncentred").init_mean((5, 100, 100, 1))
        (0.0, 1.0, 1.0)
        """
        _, _, _, L = widths(sizes)
        return self.layer_exponents(L)["mean"]

    def init(self, key, sizes, activation: str, *, dtype="float64") -> dict:
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
        dtype : {"float64", "float32"} or a NumPy/JAX float dtype
            Precision of the parameters (:func:`learndyn.train.simulate` runs in it). Everything is drawn and scaled
            in float64 and rounded at the end, so the same key gives the same parameters in either precision.

        Returns
        -------
        dict of arrays of ``dtype``.

        Examples
        --------
        >>> import jax
        >>> from learndyn.param import get
        >>> p = get("ip")
        >>> params = p.init(jax.random.key(0), (3, 8, 8, 1), "relu")
        >>> [w.shape for w in params["W"]]
        [(8, 3), (8, 8), (1, 8)]
        >>> batched = jax.vmap(lambda k: p.init(k, (3, 8, 8, 1), "relu"))(jax.random.split(jax.random.key(0), 4))
        >>> batched["W"][1].shape
        (4, 8, 8)
        >>> p.init(jax.random.key(0), (3, 8, 8, 1), "relu", dtype="float32")["W"][0].dtype
        dtype('float32')
        """
        dtype = _checks.float_dtype("dtype", dtype)
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
        return jax.tree_util.tree_map(lambda a: a.astype(dtype), params)

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
        >>> from learndyn.param import get
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
        >>> from learndyn.param import get
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
        >>> from learndyn.param import get
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
        >>> from learndyn.param import get
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


def require_integrable(par, n_hidden: int, *, where: str = "this function") -> None:
    """Raise unless ``par`` is an integrable parameterization for ``n_hidden`` hidden layers.

    Integrable (Hajjar, Chizat & Giraud): every layer after the input is a mean-field average, ``h^l = (1/m) sum_j
    W_ij x_j`` with ``O(1)`` weights, i.e. ``a_l + b_l = 1`` for ``l = 2..L+1`` at every step; the input layer has
    ``a_1 + b_1 = 0``. The init means may be non-zero (``ip-noncentred``) and the learning rates are free (IP,
    IP-LLR).

    Raises
    ------
    ValueError
        Naming the first layer that breaks it, its ``a`` and ``b``, and ``where`` the requirement comes from.

    Examples
    --------
    >>> from learndyn import param
    >>> require_integrable(param.get("ip-llr"), 3)
    >>> require_integrable(param.get("mup"), 3, where="calibrate_base_lr")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: calibrate_base_lr needs an integrable parameterization; 'mup' is not: layer 2 (hidden) has ...
    """
    L = _checks.positive_int("n_hidden", n_hidden)
    if not hasattr(par, "layer_exponents"):
        raise TypeError(f"{where} needs a learndyn.param.Parameterization; got {type(par).__name__}")
    kinds = ("input", "hidden", "output")
    for step in sorted({0, par.warmup_steps}):
        ex = par.layer_exponents(L, step=step)
        for l, (a, b) in enumerate(zip(ex["a"], ex["b"], strict=True), start=1):
            want = 0.0 if l == 1 else 1.0
            if abs(a + b - want) > 1e-12:
                raise ValueError(
                    f"{where} needs an integrable parameterization; {par.name!r} is not: layer {l} "
                    f"({kinds[_kind(l, L)]}) has a + b = {a + b:g} (a = {a:g}, b = {b:g}), integrable needs "
                    "a_1 + b_1 = 0 at the input and a_l + b_l = 1 for every later layer"
                )


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
