"""Networks: a small protocol that simulation, rules and observables share.

A net is a frozen dataclass (hashable, so it can be a static argument of ``jax.jit``) with

- ``init(key) -> params``: parameters as a pytree, ``{"W": (W1, ..., WL)}`` plus ``"b": (b1, ..., bL)`` with
  biases; ``W_l`` has shape ``(n_l, n_{l-1})``;
- ``apply(params, X) -> (f, cache)``: outputs ``f`` of shape ``(P, n_out)`` for the items in the rows of ``X``, and
  the forward cache ``{"h": (h_1, ..., h_{L-1}), "phi": (X, phi(h_1), ..., phi(h_{L-1}))}`` of pre-activations and
  activations, which learning rules and observables read;
- ``n_in``, ``n_out``, ``depth`` and ``is_linear``.

A plain tuple of weight matrices ``(W1, ..., WL)`` is accepted wherever params are (it means no biases).

:class:`GatedDLN` (gated deep linear networks on a :class:`learndyn.graphs.GatedGraph`) keeps ``init`` and ``apply``
but has one weight matrix per edge and no layer backward pass: it trains by rule ``"gd"`` through autodiff.
"""

from learndyn.nets.gated import GatedDLN
from learndyn.nets.mlp import ACTIVATIONS, GLN, MLP, as_params

__all__ = ["ACTIVATIONS", "GLN", "GatedDLN", "MLP", "as_params"]
