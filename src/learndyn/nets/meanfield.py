"""Two-layer ReLU networks in the mean-field regime as particles (Hajjar & Chizat 2023; Chizat & Bach 2018; Mei,
Montanari & Nguyen 2018): ``f(x) = (1/m) sum_j a_j relu(<b_j, x>)``, no bias.

A wide net is a distribution of neurons ``(a_j, b_j)``; trained by SGD with learning rate ``m * eta`` on
``1/2 mean (f - y)^2`` it follows the Wasserstein gradient flow of the population risk in time ``t = eta * step``
(:func:`learndyn.online.sgd`). Initialisations (spec ``integrable_and_meanfield.md`` C1-C2): ``a_j ~ Unif{+-1}``,
``b_j ~ Unif(S^{d-1})``; ``symmetric=True`` pairs every neuron with its mirror ``(-a_j, -b_j)`` (with an odd target
and antithetic batches the predictor then stays exactly linear); ``symmetrise(params, T)`` closes a set of neurons
under an orthogonal ``T`` (``(a, b) -> (a, T b)``, or ``(-a, T b)`` for an anti-symmetric target), the invariance the
flow keeps when the target and the data share it.

Examples
--------
>>> import jax, numpy as np
>>> net = MeanFieldReLU(d=3, m=4)
>>> p = net.init(jax.random.key(0), symmetric=True)
>>> X = np.random.default_rng(0).normal(size=(5, 3))
>>> f, _ = net.apply(p, X)
>>> bool(np.allclose(f[:, 0], X @ net.linear_part(p)))  # a mirrored net is linear
True
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from learndyn import _checks, populations


@dataclass(frozen=True)
class MeanFieldReLU:
    """``f(x) = (1/m) sum_j a_j relu(<b_j, x>)``: ``m`` neurons on inputs of dimension ``d``, one output.

    Parameters
    ----------
    d : int
        Input dimension.
    m : int
        Number of neurons (particles).

    Examples
    --------
    >>> net = MeanFieldReLU(d=20, m=1024)
    >>> net.n_in, net.n_out, net.lr_scale
    (20, 1, 1024.0)
    """

    d: int
    m: int

    def __post_init__(self):
        object.__setattr__(self, "d", _checks.positive_int("d", self.d))
        object.__setattr__(self, "m", _checks.positive_int("m", self.m))

    @property
    def n_in(self) -> int:
        """Input dimension."""
        return self.d

    @property
    def n_out(self) -> int:
        """One output."""
        return 1

    @property
    def is_linear(self) -> bool:
        """Not a deep linear chain."""
        return False

    @property
    def lr_scale(self) -> float:
        """The mean-field learning-rate factor ``m``: SGD at ``lr = m * eta`` moves each neuron at rate O(1)."""
        return float(self.m)

    def init(self, key, *, symmetric: bool = False, dtype="float64") -> dict:
        """``a_j ~ Unif{+-1}``, ``b_j ~ Unif(S^{d-1})``; ``symmetric``: the second half mirrors the first.

        Returns
        -------
        dict
            ``{"a": (m,), "b": (m, d)}``.
        """
        dtype = _checks.float_dtype("dtype", dtype)
        n = self.m
        if symmetric:
            if self.m % 2:
                raise ValueError(f"symmetric=True pairs neurons with their mirrors; m must be even, got {self.m}")
            n = self.m // 2
        ka, kb = jax.random.split(key)
        a = jnp.where(jax.random.bernoulli(ka, 0.5, (n,)), 1.0, -1.0)
        b = jax.random.normal(kb, (n, self.d), jnp.float64)
        b = b / jnp.linalg.norm(b, axis=1, keepdims=True)
        if symmetric:
            a, b = jnp.concatenate([a, -a]), jnp.concatenate([b, -b])
        return {"a": a.astype(dtype), "b": b.astype(dtype)}

    def apply(self, params, X):
        """Outputs ``(P, 1)`` and the cache ``{"z": <b_j, x> (P, m)}``."""
        a, b = params["a"], params["b"]
        if b.shape[-2:] != (self.m, self.d) or a.shape[-1:] != (self.m,):
            raise ValueError(f"params must hold a (m,) = ({self.m},) and b (m, d) = ({self.m}, {self.d}); got "
                             f"a {tuple(a.shape)}, b {tuple(b.shape)}")  # fmt: skip
        z = jnp.asarray(X) @ b.T
        return (jax.nn.relu(z) @ a)[:, None] / self.m, {"z": z}

    def linear_part(self, params):
        """``w = (1/(2m)) sum_j a_j b_j``: the predictor ``<w, x>`` of a mirror-symmetric net (relu(z) = z/2 + |z|/2,
        the ``|z|`` parts cancel between mirrors)."""
        return jnp.einsum("...j,...jd->...d", params["a"], params["b"]) / (2 * self.m)

    def symmetrise(self, params, T, *, anti: bool = False) -> tuple[MeanFieldReLU, dict]:
        """Close the neurons under the orthogonal ``T`` of finite order: ``(a, b) -> (a, T b)`` (``anti``:
        ``(-a, T b)``, for a target with ``f* o T = -f*``), appending the images until the set is closed.

        Returns the wider net and its params (``m`` times the order of ``T``).
        """
        T = _checks.as_matrix("T", T, rows=self.d, cols=self.d)
        group = populations.cyclic_group(T)
        a, b = np.asarray(params["a"]), np.asarray(params["b"])
        As = [a if (k % 2 == 0 or not anti) else -a for k in range(len(group))]
        Bs = [b @ g.T for g in group]
        if anti and len(As) % 2:
            raise ValueError(f"anti=True needs T of even order (T^k = -I flips the sign back); T has order {len(As)}")
        net = MeanFieldReLU(self.d, self.m * len(As))
        dtype = jnp.asarray(params["a"]).dtype
        return net, {"a": jnp.asarray(np.concatenate(As), dtype), "b": jnp.asarray(np.concatenate(Bs), dtype)}
