"""Base-learning-rate calibration of the first step (Hajjar, Chizat & Giraud, JMLR 2024; spec
``integrable_and_meanfield.md`` B2, the reference code's ``calibrate_base_lr``).

IP-LLR's step-0 exponents make every first update ``Theta(1)`` in width; the calibration fixes the ``O(1)``
constants: take one step at base learning rate 1, then on a second batch set each layer's base rate in turn (input
layer first, which keeps the user's rate) to ``1 / mean |m^{-a_l} Delta W_l x_{l-1}|`` (capped), forwarding with the
calibrated update of the earlier layers before calibrating the next. The factors multiply the warm-up steps' scales
only; later steps use the parameterization's own rates. This is a width-dependent normalisation of constants, not
of exponents: if the exponents are right the factors do not drift with the width.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from learndyn import _checks
from learndyn.param.table import require_integrable


@dataclass(frozen=True)
class Calibrated:
    """A parameterization whose warm-up steps use calibrated per-layer base rates (:func:`calibrate_base_lr`).

    ``rates[l]`` is layer ``l``'s base rate during the warm-up; a run at base rate ``lr`` (``simulate(..., lr=lr,
    param=cal)``, the same ``lr`` as calibrated) then moves layer ``l`` by ``rates[l] * scale_l`` there, and by
    ``lr * scale_l`` afterwards. Everything but :meth:`lr_tree` / :meth:`lr_scales` is the base parameterization's.
    """

    base: object
    rates: tuple[float, ...]
    lr: float

    @property
    def factors(self) -> tuple[float, ...]:
        """Per-layer multipliers of the warm-up scales for a run at base rate ``lr``: ``rates / lr``."""
        return tuple(r / self.lr for r in self.rates)

    def __getattr__(self, name):
        return getattr(self.base, name)

    @property
    def name(self) -> str:
        """``"<base>-calibrated"``."""
        return f"{self.base.name}-calibrated"

    def lr_scales(self, sizes, step: int = 0) -> tuple[float, ...]:
        """The base scales, times the factors during the warm-up steps."""
        scales = self.base.lr_scales(sizes, step)
        if step < int(getattr(self.base, "warmup_steps", 0)):
            scales = tuple(s * f for s, f in zip(scales, self.factors, strict=True))
        return scales

    def lr_tree(self, sizes, step: int = 0) -> dict:
        """:meth:`lr_scales` as the parameter pytree (weights only: calibration leaves biases alone)."""
        tree = dict(self.base.lr_tree(sizes, step))
        tree["W"] = self.lr_scales(sizes, step)
        return tree


def calibrate_base_lr(par, sizes, activation: str, params, X1, Y1, X2, *, lr: float = 1.0, cap: float = 500.0):
    """Calibrated step-0 base rates of ``par`` (B2) for the net ``par.mlp(sizes, activation)`` at ``params``.

    Parameters
    ----------
    par : learndyn.param.Parameterization
        Usually ``param.get("ip-llr")``: its step-0 scales are the ones calibrated.
    sizes, activation
        The net.
    params : dict
        Initial parameters (``par.init``).
    X1, Y1 : arrays
        The batch of the trial step (base rate 1, library loss ``1/(2P) sum ||y - f||^2``).
    X2 : array
        The second batch, on which the updates are measured.
    lr : float
        The user's base rate: the input layer keeps it.
    cap : float
        Largest factor (the reference: 500).

    Returns
    -------
    Calibrated
        ``rates[0] = lr``; ``rates[l] = min(cap, 1 / mean |m^{-a_l} Delta W_l x_{l-1}|)``; use it with the same
        ``lr`` in :func:`learndyn.train.simulate`.

    Examples
    --------
    >>> import jax, numpy as np
    >>> from learndyn import param
    >>> par, sizes = param.get("ip-llr"), (5, 32, 32, 32, 1)
    >>> p0 = par.init(jax.random.key(0), sizes, "relu")
    >>> X = np.random.default_rng(0).normal(size=(16, 5))
    >>> cal = calibrate_base_lr(par, sizes, "relu", p0, X, np.sign(X[:, :1]), X[::-1])
    >>> len(cal.rates), cal.rates[0], cal.name
    (4, 1.0, 'ip-llr-calibrated')
    """
    lr = _checks.positive_float("lr", lr)
    cap = _checks.positive_float("cap", cap)
    require_integrable(par, len(sizes) - 2, where="calibrate_base_lr")
    net = par.mlp(sizes, activation)
    X1, Y1, X2 = (jnp.asarray(a) for a in (X1, Y1, X2))

    def loss(p):
        r = net.apply(p, X1)[0] - Y1
        return 0.5 * jnp.sum(r * r) / X1.shape[0]

    grads = jax.grad(loss)(params)
    scales = par.lr_scales(sizes, 0)
    W0 = [jnp.asarray(w) for w in params["W"]]
    dW = [-s * g for s, g in zip(scales, grads["W"], strict=True)]  # the trial step at base rate 1
    b = params.get("b")
    factors = [lr]
    W = [W0[0] + lr * dW[0]] + W0[1:]
    x = X2
    for l in range(net.depth):
        h = net.multiplier(l) * (x @ W[l].T + (0.0 if b is None else b[l]))
        if l + 1 == net.depth:
            break
        x = net.phi(h)
        delta = net.multiplier(l + 1) * (x @ dW[l + 1].T)
        size = float(jnp.mean(jnp.abs(delta)))
        f = cap if size <= 0 else min(cap, 1.0 / size)
        factors.append(f)
        W[l + 1] = W0[l + 1] + f * dW[l + 1]
    return Calibrated(par, tuple(float(f) for f in factors), lr)


__all__ = ["Calibrated", "calibrate_base_lr"]
