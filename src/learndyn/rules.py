"""Learning rules as ``(init, update)`` pairs (optax style): GD, ρ-FA, DFA, sign-FA and error-modulated Hebb.

A rule is a frozen dataclass bound to its net, with

- ``init(key, params) -> state``: the rule's fixed randomness (feedback matrices) as a pytree;
- ``update(params, cache, error, state) -> (updates, state)``: the descent direction for every parameter, from the
  forward cache of ``net.apply`` and the output error ``error = f - y`` (shape ``(P, n_out)``).

A simulation steps ``params <- params - lr * updates`` (Euler; RK4 integrates the same flow). Every rule writes the
update of layer ``l`` as ``(a_l / P) sum_mu delta_l,mu phi_{l-1,mu}^T`` (and ``(a_l / P) sum_mu delta_l,mu`` for
biases), where ``a_l`` is the net's forward multiplier and ``phi_{l-1}`` the layer's input. The last layer always
takes its true gradient, ``delta_L = error``; the rules differ in the hidden layers' ``delta_l`` (Lillicrap et al.
2016; Nøkland 2016; Bordelon & Pehlevan 2023, eq. 2-3; Robertson & Koyejo 2024):

==========  =========================================================================================
rule        ``delta_l`` of hidden layer ``l``
==========  =========================================================================================
GD          ``phi'(h_l) * (a_{l+1} delta_{l+1} W_{l+1})`` (back-propagation: :func:`jax.grad` of the loss)
FA(rho)     ``phi'(h_l) * (a_{l+1} delta_{l+1} B_{l+1}^T)``, ``B = rho W(0)^T + sqrt(1 - rho^2) W~^T`` frozen
sign-FA     as FA with ``B_{l+1} = s_{l+1} sign(W_{l+1}(t))^T``, ``s`` the RMS entry of ``W_{l+1}(0)``
DFA         ``phi'(h_l) * (a_L error D_l)``, fixed random ``D_l`` of shape ``(n_out, n_l)`` per layer
Hebb        ``-s ||error_mu||^2 phi(h_l)``: Hebbian, weighted by the squared error (it grows weights);
            ``s = a_L rms(W_L(0))`` gives it the per-unit size of a true backward signal
==========  =========================================================================================

With the library's loss ``L = 1/(2P) sum ||y - f||^2``, GD's update is exactly ``dL/dparams``.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from learndyn import _checks
from learndyn.nets import as_params


def _weights(params):
    p = as_params(params)
    return p["W"], p.get("b")


def _layer_updates(net, cache, deltas, has_bias):
    """``(a_l / P) delta_l^T phi_{l-1}`` for every layer (and the bias sums), as a params-shaped pytree."""
    P = deltas[-1].shape[0]
    W_up = tuple(net.multiplier(l) * (d.T @ x) / P for l, (d, x) in enumerate(zip(deltas, cache["phi"], strict=True)))
    out = {"W": W_up}
    if has_bias:
        out["b"] = tuple(net.multiplier(l) * jnp.sum(d, axis=0) / P for l, d in enumerate(deltas))
    return out


def _shaped_like(params, updates):
    """Return updates in the structure of ``params`` (a bare weight tuple stays a tuple)."""
    return updates if isinstance(params, dict) else updates["W"]


def _feedback_scale(W0):
    """RMS entry of a weight matrix; 1/sqrt(fan-out) when it is zero (e.g. a zero initialisation)."""
    rms = jnp.sqrt(jnp.mean(W0 * W0))
    return jnp.where(rms > 0, rms, 1.0 / jnp.sqrt(W0.shape[0]))


@dataclass(frozen=True)
class _Backprop:
    """Shared backward pass: delta of each hidden layer from the one above through a feedback matrix."""

    net: object

    name = "rule"
    linear_in_error = True  # deltas are linear in the error (all but Hebb): the eNTK does not depend on it

    def _check_net(self):
        for attr in ("apply", "slope", "multiplier", "depth"):
            if not hasattr(self.net, attr):
                raise TypeError(f"{self.name} needs a net with {attr} (e.g. learndyn.nets.MLP); got {self.net!r}")

    def _backward(self, W, cache, error, feedback):
        """deltas[l] for l = 0..L-1; ``feedback(l, W)`` is the (n_l, n_{l+1}) matrix standing in for W_{l+1}^T."""
        L = self.net.depth
        deltas = [None] * L
        deltas[-1] = error
        for l in range(L - 2, -1, -1):
            back = self.net.multiplier(l + 1) * (deltas[l + 1] @ feedback(l, W).T)
            deltas[l] = self.net.slope(cache, l) * back
        return deltas

    def init(self, key, params):
        """No state."""
        return {}

    def gd_deltas(self, params, cache, error):
        """Back-propagated ``delta_l`` of every layer (the true backward pass), for any rule's diagnostics."""
        W, _ = _weights(params)
        return self._backward(W, cache, error, lambda l, W: W[l + 1].T)

    def update(self, params, cache, error, state):
        """``(a_l / P) delta_l^T phi_{l-1}`` with this rule's deltas (and bias sums); the state is unchanged."""
        _, b = _weights(params)
        deltas = self.deltas(params, cache, error, state)
        return _shaped_like(params, _layer_updates(self.net, cache, deltas, b is not None)), state


@dataclass(frozen=True)
class GD(_Backprop):
    """Gradient descent: the exact gradient of ``L = 1/(2P) sum ||y - f||^2`` by back-propagation.

    Examples
    --------
    >>> import jax, numpy as np
    >>> from learndyn.nets import MLP
    >>> net = MLP((3, 4, 2), activation="tanh")
    >>> params = net.init(jax.random.key(0))
    >>> X, Y = np.ones((5, 3)), np.zeros((5, 2))
    >>> f, cache = net.apply(params, X)
    >>> updates, _ = GD(net).update(params, cache, f - Y, {})
    >>> [u.shape for u in updates["W"]]
    [(4, 3), (2, 4)]
    """

    name = "gd"

    def __post_init__(self):
        self._check_net()

    def deltas(self, params, cache, error, state):
        """Back-propagation."""
        return self.gd_deltas(params, cache, error)


@dataclass(frozen=True)
class FA(_Backprop):
    """ρ-feedback alignment: hidden layers back-propagate through frozen ``B = rho W(0)^T + sqrt(1-rho^2) W~^T``.

    ``rho = 0`` is classic feedback alignment (Lillicrap et al. 2016), ``rho = 1`` starts as GD. ``W~`` has
    i.i.d. Gaussian entries with standard deviation set by ``feedback``: ``"match"`` (default) the RMS entry of
    ``W_{l+1}(0)`` (``1/sqrt(n_{l+1})`` for a zero init), so the feedback has the scale of the forward weights;
    ``"fan_out"`` ``1/sqrt(n_{l+1})``, the ``B ~ N(0, 1/n_{l+1})`` of Robertson & Koyejo 2024.
    """

    rho: float = 0.0
    feedback: str = "match"
    name = "fa"

    def __post_init__(self):
        self._check_net()
        _checks.one_of("feedback", self.feedback, ("match", "fan_out"))
        rho = _checks.real_float("rho", self.rho)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"rho must be in [0, 1]; got {self.rho!r}")
        object.__setattr__(self, "rho", rho)

    def init(self, key, params):
        """``{"B": (B_2, ..., B_L)}`` with ``B_{l+1}`` of shape ``(n_l, n_{l+1})``."""
        W, _ = _weights(params)
        keys = jax.random.split(key, max(len(W) - 1, 1))
        B = []
        for k, W_next in zip(keys, W[1:], strict=False):
            std = _feedback_scale(W_next) if self.feedback == "match" else 1.0 / jnp.sqrt(W_next.shape[0])
            noise = std * jax.random.normal(k, W_next.T.shape, dtype=W_next.dtype)
            B.append(self.rho * W_next.T + jnp.sqrt(1.0 - self.rho**2) * noise)
        return {"B": tuple(B)}

    def deltas(self, params, cache, error, state):
        """Exact for the readout, feedback through ``state["B"]`` below it."""
        W, _ = _weights(params)
        return self._backward(W, cache, error, lambda l, W: state["B"][l])


@dataclass(frozen=True)
class SignFA(_Backprop):
    """Sign-symmetric feedback: ``B_{l+1} = s_{l+1} sign(W_{l+1}(t))^T`` with ``s`` the RMS entry of ``W_{l+1}(0)``."""

    name = "sign-fa"

    def __post_init__(self):
        self._check_net()

    def init(self, key, params):
        """``{"scale": (s_2, ..., s_L)}``: the RMS entries of the initial weights above each hidden layer."""
        W, _ = _weights(params)
        return {"scale": tuple(_feedback_scale(Wn) for Wn in W[1:])}

    def deltas(self, params, cache, error, state):
        """Feedback through the signs of the current weights."""
        W, _ = _weights(params)
        return self._backward(W, cache, error, lambda l, W: state["scale"][l] * jnp.sign(W[l + 1]).T)


@dataclass(frozen=True)
class DFA(_Backprop):
    """Direct feedback alignment (Nøkland 2016): every hidden layer receives the output error through fixed random
    ``D_l`` of shape ``(n_out, n_l)``, entries with the RMS of the readout weights (``1/sqrt(n_out)`` at zero)."""

    name = "dfa"

    def __post_init__(self):
        self._check_net()

    def init(self, key, params):
        """``{"D": (D_1, ..., D_{L-1})}``."""
        W, _ = _weights(params)
        s = _feedback_scale(W[-1])
        keys = jax.random.split(key, max(len(W) - 1, 1))
        return {
            "D": tuple(
                s * jax.random.normal(k, (W[-1].shape[0], Wl.shape[0]), dtype=Wl.dtype)
                for k, Wl in zip(keys, W[:-1], strict=False)
            )
        }

    def deltas(self, params, cache, error, state):
        """Readout: true gradient; hidden layers: ``phi'(h_l) * (a_L error D_l)``."""
        L = self.net.depth
        a_out = self.net.multiplier(L - 1)
        return [self.net.slope(cache, l) * (a_out * error @ state["D"][l]) for l in range(L - 1)] + [error]


@dataclass(frozen=True)
class Hebb(_Backprop):
    """Error-modulated Hebbian rule: hidden ``W_l`` grows along ``s ||e_mu||^2 phi(h_l) phi(h_{l-1})^T``.

    The readout takes its true gradient (the delta rule). In Bordelon & Pehlevan 2023 (eq. 2-3, Hebb row) the
    Hebbian pseudo-gradient ``g~_l = Delta phi(h_l)`` takes the place of the normalised backward signal
    ``g_l = gamma0 N df/dh_l``, which is O(1) per unit; the library's deltas are ``e df/dh_l``, so Hebb's delta is
    ``-||e||^2 phi(h_l) s`` with ``s`` the per-unit size of ``df/dh`` at init: the readout's multiplier times the
    RMS entry of ``W_L(0)`` (``1/(gamma0 N)`` in the mean-field net; ``1/m`` under muP), the same scale DFA's
    feedback gets. Without ``s`` the hidden update would be ``1/s`` times too large in any width-scaled
    parameterization (e.g. a factor N too fast under muP, where the flow then blows up).
    """

    name = "hebb"

    def __post_init__(self):
        self._check_net()

    linear_in_error = False

    def init(self, key, params):
        """``{"scale": s}``: the readout multiplier times the RMS entry of the initial readout weights."""
        W, _ = _weights(params)
        return {"scale": self.net.multiplier(self.net.depth - 1) * _feedback_scale(W[-1])}

    def deltas(self, params, cache, error, state):
        """Hebbian hidden deltas weighted by the squared error of each item (readout: the error)."""
        err2 = state["scale"] * jnp.sum(error * error, axis=-1, keepdims=True)
        return [-err2 * cache["phi"][l + 1] for l in range(self.net.depth - 1)] + [error]


@dataclass(frozen=True)
class Autodiff:
    """Gradient descent by autodiff of the net's own forward pass, for nets without a layer backward pass (gated
    graphs, :class:`learndyn.nets.gated.GatedDLN`).

    The simulator differentiates ``L = 1/(2P) sum ||y - f||^2`` through ``net.apply`` with :func:`jax.value_and_grad`
    instead of calling :meth:`update`, so any net with ``apply(params, X) -> (f, cache)`` trains; ``get("gd", net)``
    returns it for such nets.

    Examples
    --------
    >>> from learndyn import graphs
    >>> from learndyn.nets.gated import GatedDLN
    >>> get("gd", GatedDLN(graphs.routing(2, 3, 4, 2))).name
    'gd'
    """

    net: object

    name = "gd"
    autodiff = True
    linear_in_error = True

    def init(self, key, params):
        """No state."""
        return {}

    def update(self, params, cache, error, state):
        """Not used: the simulator takes the gradient of the loss directly (the cache cannot give it in general)."""
        raise TypeError("the autodiff rule has no cache-based update; learndyn.train.simulate differentiates the "
                        "net's forward pass itself")  # fmt: skip


RULES = {"gd": GD, "fa": FA, "sign-fa": SignFA, "dfa": DFA, "hebb": Hebb}


def get(name: str, net, **options):
    """The rule called ``name`` (one of :data:`RULES`) bound to ``net``; ``options`` go to it (e.g. ``rho``).

    Examples
    --------
    >>> from learndyn.nets import MLP
    >>> get("fa", MLP((3, 4, 2), "relu"), rho=0.5).rho
    0.5
    """
    if name not in RULES:
        raise ValueError(f"unknown rule {name!r}; valid rules: {', '.join(sorted(RULES))}")
    if not hasattr(net, "slope"):  # no layer-by-layer backward pass: only exact GD, through autodiff
        if name != "gd" or options:
            raise ValueError(
                f"{type(net).__name__} has no layer backward pass, so only rule 'gd' (autodiff, no "
                f"options) applies to it; got {name!r}" + (f" with {options}" if options else "")
            )
        return Autodiff(net)
    return RULES[name](net, **options)
