"""Fast paths of deep linear networks ``f(X) = X W1^T ... WL^T``: exact data compression and analytic gradient.

A deep linear net is :class:`learndyn.nets.MLP` with ``activation="linear"`` and no biases; the simulator uses these
when ``net.is_linear``. Neither changes the dynamics: the compressed data give the same loss and gradient for every
linear net, and the analytic gradient equals autodiff's.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def compress(X, Y):
    """An equivalent smaller data set for linear nets: (Xc, Yc, offset) with, for every linear
    net f, ``||Y - f(X)||^2 = ||Yc - f(Xc)||^2 + 2 * offset``.

    With the thin QR ``X = Q R`` (when P > n_in): ``Xc = R``, ``Yc = Q^T Y`` and
    ``2 * offset = ||Y - Q Q^T Y||^2``, because the residual splits into orthogonal parts
    ``Q (Q^T Y - R M^T)`` and ``Y - Q Q^T Y``. A step then costs O(n_in n^2) instead of O(P n^2),
    and, unlike the correlation form ``tr Syy - 2<Syx, M> + <M Sxx, M>``, both parts are sums of
    squares, so the loss keeps full relative accuracy near convergence.
    """
    if X.shape[0] <= X.shape[1]:
        return X, Y, 0.0
    Q, R = np.linalg.qr(X)
    Yc = Q.T @ Y
    rest = Y - Q @ Yc
    return R, Yc, 0.5 * float(np.sum(rest * rest))


def use_product(X, weights) -> bool:
    """For linear nets, whether the end-to-end form f(X) = X M^T, M = W_L ... W_1, is cheaper.

    Per step, layer by layer costs about 3 P sum_l n_l n_{l-1} (forward and two backward
    products); the end-to-end form about (n_in + n_out) sum_l n_l n_{l-1} for the prefix and
    suffix products, independent of P (here P is already at most n_in, see :func:`compress`).
    """
    n_in, n_out = weights[0].shape[-1], weights[-1].shape[-2]
    return n_in + n_out <= 3 * X.shape[0]


def value_and_grad(weights, Sxx, Syx, half_tr_syy):
    """Loss and its analytic gradient for a deep linear net, through M = W_L ... W_1.

    With E = dL/dM = M Sxx - Syx, the layer gradients are
    dL/dW_l = (W_L ... W_{l+1})^T E (W_{l-1} ... W_1)^T, sharing the partial products. The loss
    is returned as 1/2 tr Syy + 1/2 <E - Syx, M>, which costs one fused reduction but loses
    accuracy to cancellation near convergence: it only serves the divergence test, while the
    recorded losses come from the forward pass.
    """
    prefix = [weights[0]]  # prefix[l] = W_{l+1} ... W_1 (0-based layers)
    for W in weights[1:]:
        prefix.append(W @ prefix[-1])
    M = prefix[-1]
    E = M @ Sxx - Syx
    value = half_tr_syy + 0.5 * jnp.sum((E - Syx) * M)
    grads = [None] * len(weights)
    suffix = None  # W_L ... W_{l+2}
    for l in reversed(range(len(weights))):
        if l == 0:
            g = E if suffix is None else suffix.T @ E
        elif suffix is None:
            g = E @ prefix[l - 1].T
        else:
            # Pick the cheaper association of suffix^T E prefix^T (shapes are static).
            n_o, n_i = E.shape
            n_l, n_prev = weights[l].shape
            if n_o * n_i * n_prev + n_l * n_o * n_prev <= n_l * n_o * n_i + n_l * n_i * n_prev:
                g = suffix.T @ (E @ prefix[l - 1].T)
            else:
                g = (suffix.T @ E) @ prefix[l - 1].T
        grads[l] = g
        suffix = weights[l] if suffix is None else suffix @ weights[l]
    return value, tuple(grads)
