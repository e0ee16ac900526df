"""Fully connected networks (MLPs) with a choice of hidden activation and optional biases.

``f(X) = phi(... phi(X W1^T + b1) ...) WL^T + bL``: ``phi`` acts on the hidden layers only, the readout is linear.
With ``activation="linear"`` this is a deep linear network, for which :mod:`learndyn.nets.linear` holds the fast
paths (QR data compression, analytic gradient).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp

from learndyn import _checks


def _leaky_relu(h):
    return jnp.where(h > 0, h, 0.01 * h)


#: Slope parameter of ``scaled_tanh``: ``phi(h) = tanh(0.8 h) / 0.8``, the activation of the deep nonlinear DMFT demo
#: of Bordelon & Pehlevan (NeurIPS 2022; spec ``learning_rules_dmft.md`` section 6). Dividing by the slope keeps
#: ``phi'(0) = 1`` while the saturation level becomes 1/0.8.
SCALED_TANH_SLOPE = 0.8


def _scaled_tanh(h):
    return jnp.tanh(SCALED_TANH_SLOPE * h) / SCALED_TANH_SLOPE


def _dscaled_tanh(h):
    return 1.0 - jnp.tanh(SCALED_TANH_SLOPE * h) ** 2


# Constants are Python floats, not jnp scalars: they stay weakly typed, so a float32 pass has no float64 op at all.
_SQRT_2 = math.sqrt(2.0)
_ERF_SLOPE = 2.0 / math.sqrt(math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

#: Hidden activations by name: ``phi`` and its derivative ``dphi`` (``relu``: 0 at exactly 0).
ACTIVATIONS = {
    "linear": (lambda h: h, lambda h: jnp.ones_like(h)),
    "relu": (jax.nn.relu, lambda h: (h > 0).astype(h.dtype)),
    "leaky_relu": (_leaky_relu, lambda h: jnp.where(h > 0, 1.0, 0.01).astype(h.dtype)),
    "tanh": (jnp.tanh, lambda h: 1.0 - jnp.tanh(h) ** 2),
    "scaled_tanh": (_scaled_tanh, _dscaled_tanh),
    "erf": (jsp.erf, lambda h: _ERF_SLOPE * jnp.exp(-h * h)),
    "gelu": (
        lambda h: jax.nn.gelu(h, approximate=False),
        lambda h: 0.5 * (1.0 + jsp.erf(h / _SQRT_2)) + h * jnp.exp(-0.5 * h * h) * _INV_SQRT_2PI,
    ),
}


def as_params(params) -> dict:
    """Normalise params: a tuple/list of weight matrices becomes ``{"W": tuple}``; a dict is returned as is."""
    if isinstance(params, dict):
        if "W" not in params:
            raise ValueError(f"params must hold the weights under 'W'; got keys {sorted(params)}")
        return params
    if isinstance(params, tuple | list):
        return {"W": tuple(params)}
    raise TypeError(f"params must be a tuple (W1, ..., WL) or a dict with 'W' (and 'b'); got {type(params).__name__}")


@dataclass(frozen=True)
class MLP:
    """A fully connected network with layer widths ``sizes = (n_in, n_1, ..., n_out)``.

    Parameters
    ----------
    sizes : tuple of int
        Widths from input to output, at least two entries, each >= 1.
    activation : str
        Hidden activation, one of :data:`ACTIVATIONS` (``"linear"`` gives a deep linear network).
    bias : bool
        Whether every layer has a bias.
    multipliers : tuple of float, optional
        Per-layer forward multipliers ``a_l`` (length ``depth``): ``h_l = a_l (W_l phi_{l-1} + b_l)``, e.g. the
        ``width^-a`` factors of an abc-parameterization (:mod:`learndyn.param`). ``None``: all 1.

    Examples
    --------
    >>> import jax, numpy as np
    >>> net = MLP((3, 8, 2), activation="tanh")
    >>> params = net.init(jax.random.key(0))
    >>> f, cache = net.apply(params, np.ones((5, 3)))
    >>> f.shape, [h.shape for h in cache["h"]], len(cache["phi"])
    ((5, 2), [(5, 8)], 2)
    """

    sizes: tuple[int, ...]
    activation: str = "linear"
    bias: bool = False
    multipliers: tuple[float, ...] | None = None

    def __post_init__(self):
        if isinstance(self.sizes, str | bytes) or not hasattr(self.sizes, "__len__") or len(self.sizes) < 2:
            raise ValueError(f"sizes must be (n_in, ..., n_out) with at least 2 widths; got {self.sizes!r}")
        sizes = tuple(_checks.positive_int(f"sizes[{k}]", n) for k, n in enumerate(self.sizes))
        object.__setattr__(self, "sizes", sizes)
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}; got {self.activation!r}")
        if not isinstance(self.bias, bool):
            raise TypeError(f"bias must be True or False; got {self.bias!r}")
        if self.multipliers is not None:
            mult = tuple(_checks.positive_float(f"multipliers[{k}]", m) for k, m in enumerate(self.multipliers))
            if len(mult) != len(sizes) - 1:
                raise ValueError(
                    f"multipliers must have one entry per weight layer ({len(sizes) - 1}); got {len(mult)}"
                )
            object.__setattr__(self, "multipliers", None if all(m == 1.0 for m in mult) else mult)

    @property
    def n_in(self) -> int:
        """Input width."""
        return self.sizes[0]

    @property
    def n_out(self) -> int:
        """Output width."""
        return self.sizes[-1]

    @property
    def depth(self) -> int:
        """Number of weight layers L."""
        return len(self.sizes) - 1

    @property
    def is_linear(self) -> bool:
        """Whether the network is a plain deep linear network (identity activation, no biases, no multipliers)."""
        return self.activation == "linear" and not self.bias and self.multipliers is None

    def multiplier(self, l: int) -> float:
        """Forward multiplier of weight layer ``l`` (0-based)."""
        return 1.0 if self.multipliers is None else self.multipliers[l]

    def phi(self, h):
        """The hidden activation."""
        return ACTIVATIONS[self.activation][0](h)

    def dphi(self, h):
        """Derivative of the hidden activation."""
        return ACTIVATIONS[self.activation][1](h)

    def slope(self, cache, l: int):
        """``d phi_l / d h_l`` at the cached pre-activations of hidden layer ``l`` (back-propagation uses it)."""
        return self.dphi(cache["h"][l])

    def init(self, key, scale: float = 1.0, *, dtype="float64") -> dict:
        """Gaussian weights ``W_l ~ N(0, scale^2 / n_{l-1})`` (LeCun scaling) and zero biases.

        Parameters
        ----------
        key : jax.random key
            One key per initialisation; ``jax.vmap(net.init)(keys)`` batches seeds.
        scale : float
            Multiplier of the standard deviation.
        dtype : {"float64", "float32"} or a NumPy/JAX float dtype
            Precision of the parameters; :func:`learndyn.train.simulate` runs in the params' dtype. The weights are
            drawn in float64 and then rounded, so the same key gives the same net in either precision.

        Returns
        -------
        dict
            ``{"W": (W1, ..., WL)}``, plus ``"b": (b1, ..., bL)`` with biases, arrays of ``dtype``.

        Examples
        --------
        >>> import jax
        >>> net = MLP((3, 4, 1))
        >>> p32 = net.init(jax.random.key(0), dtype="float32")
        >>> p32["W"][0].dtype, bool(abs(p32["W"][0] - net.init(jax.random.key(0))["W"][0]).max() < 1e-6)
        (dtype('float32'), True)
        """
        dtype = _checks.float_dtype("dtype", dtype)
        keys = jax.random.split(key, self.depth)
        W = tuple(
            (scale * jax.random.normal(k, (b, a), dtype=jnp.float64) / jnp.sqrt(a)).astype(dtype)
            for k, a, b in zip(keys, self.sizes[:-1], self.sizes[1:], strict=True)
        )
        params = {"W": W}
        if self.bias:
            params["b"] = tuple(jnp.zeros(b, dtype=dtype) for b in self.sizes[1:])
        return params

    def apply(self, params, X):
        """Outputs and forward cache for inputs ``X`` of shape ``(P, n_in)``.

        Returns
        -------
        f : (P, n_out) array
        cache : dict
            ``h``: pre-activations of the hidden layers; ``phi``: the inputs of every layer (``X`` first).
        """
        return self._forward(params, X, {}, lambda h, l: self.phi(h))

    def _forward(self, params, X, cache, activate):
        """The layer loop shared by every MLP-like net; ``activate(h, l)`` maps hidden pre-activations to outputs."""
        p = as_params(params)
        W, b = p["W"], p.get("b")
        if len(W) != self.depth:
            raise ValueError(f"params hold {len(W)} weight layers but the net has depth {self.depth}")
        x = X
        hs, phis = [], [X]
        for l in range(self.depth):
            h = x @ W[l].T
            if b is not None:
                h = h + b[l]
            if self.multipliers is not None:
                h = self.multipliers[l] * h
            if l == self.depth - 1:
                return h, {"h": tuple(hs), "phi": tuple(phis), **cache}
            x = activate(h, l)
            hs.append(h)
            phis.append(x)


@dataclass(frozen=True)
class GLN(MLP):
    """Gated linear network: ``phi(h_l)`` becomes ``phi'(m_l) * h_l``, fixed random gates ``m_l = M_l x / sqrt(n_in)``.

    Every hidden layer ``l`` has its own frozen gate matrix ``M_l`` (``n_l x n_in``, i.i.d. N(0, 1), drawn from
    ``gate_seed``), so the network is linear in its weights for each input and training it with GD is exact
    gradient descent on the gated network (Bordelon & Pehlevan 2023; Veness et al. 2019). ``activation`` names the
    gate nonlinearity ``phi``; with ``"linear"`` every gate is 1 and the GLN is a deep linear network.

    Examples
    --------
    >>> import jax, numpy as np
    >>> net = GLN((3, 8, 2), activation="relu", gate_seed=1)
    >>> f, cache = net.apply(net.init(jax.random.key(0)), np.ones((4, 3)))
    >>> f.shape, cache["gate"][0].shape
    ((4, 2), (4, 8))
    """

    gate_seed: int = 0

    def __post_init__(self):
        super().__post_init__()
        _checks.rng(self.gate_seed)  # a non-negative integer

    @property
    def is_linear(self) -> bool:
        """A GLN is never treated as a plain deep linear net (its gates depend on the input)."""
        return False

    def gates(self, X):
        """Gate values ``phi'(M_l x / sqrt(n_in))`` of every hidden layer, each ``(P, n_l)``."""
        keys = jax.random.split(jax.random.key(self.gate_seed), max(self.depth - 1, 1))
        out = []
        # Gates in the inputs' precision (a float64 M would promote a float32 run); drawn in float64 and rounded so
        # that both precisions share the same gates.
        X = jnp.asarray(X)
        dtype = X.dtype if jnp.issubdtype(X.dtype, jnp.floating) else jnp.float64
        for k, n in zip(keys, self.sizes[1:-1], strict=False):
            M = jax.random.normal(k, (n, self.n_in), dtype=jnp.float64).astype(dtype)
            out.append(self.dphi(X @ M.T / jnp.sqrt(self.n_in)))
        return out

    def slope(self, cache, l: int):
        """The gate of hidden layer ``l``: back-propagation through a gated layer multiplies by its gate."""
        return cache["gate"][l]

    def apply(self, params, X):
        """Outputs and cache (``h``, ``phi`` = gated activations ``gate * h``, ``gate``)."""
        gates = self.gates(X)
        return self._forward(params, X, {"gate": tuple(gates)}, lambda h, l: gates[l] * h)
