"""Data distributions with a target function, for online training on fresh samples (``learndyn.online``) and for
population-level theory (``learndyn.theory.meanfield``, ``learndyn.theory.lowdim``): the "infinite data" counterpart
of a :class:`Task`.

A :class:`Population` draws inputs ``x ~ N(0, std^2 I_d)`` (or uniform on the sphere of radius ``std sqrt(d)``,
``law="sphere"``) and labels them with a target ``f*(x)``; it is hashable
(a static argument of ``jax.jit``) and its ``sample`` and ``target`` are traceable.

Examples
--------
>>> import jax, numpy as np
>>> pop = cubic_odd(np.array([1.0, 0.0, -1.0]), C=2.0, std=0.5)
>>> X, y = pop.sample(jax.random.key(0), 4)
>>> X.shape, y.shape, bool(np.allclose(pop.target(-X), -y))  # an odd target
((4, 3), (4,), True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from learndyn import _checks

#: Input laws of a :class:`Population`.
LAWS = ("gaussian", "sphere")


@dataclass(frozen=True)
class Population:
    """Inputs ``x ~ N(0, std^2 I_d)`` or uniform on the sphere of radius ``std sqrt(d)``, labelled by
    ``target(X) -> (n,)``.

    Parameters
    ----------
    d : int
    target : callable
        Traceable map ``(n, d) -> (n,)``; compared by identity.
    std : float
        Standard deviation of every input coordinate (``1/sqrt(d)`` gives ``E ||x||^2 = 1``).
    law : {"gaussian", "sphere"}
        ``"gaussian"``: ``x ~ N(0, std^2 I_d)``; ``"sphere"``: ``x`` uniform on the sphere of radius ``std sqrt(d)``
        (the same second moment ``E x x^T = std^2 I_d``). Both are invariant under every orthogonal map.
    odd : bool
        Whether ``target(-x) = -target(x)`` (declared; :meth:`odd_violation` measures it).
    name : str
    """

    d: int
    target: Callable = field(compare=True)
    std: float = 1.0
    odd: bool = False
    name: str = "population"
    law: str = "gaussian"

    def __post_init__(self):
        object.__setattr__(self, "d", _checks.positive_int("d", self.d))
        object.__setattr__(self, "std", _checks.positive_float("std", self.std))
        if not callable(self.target):
            raise TypeError(f"target must be a callable X (n, d) -> (n,); got {type(self.target).__name__}")
        if self.law not in LAWS:
            raise ValueError(f"law must be one of {LAWS}; got {self.law!r}")

    def sample_x(self, key, n: int):
        """``n`` inputs ``(n, d)``."""
        X = self.std * jax.random.normal(key, (n, self.d), jnp.float64)
        if self.law == "sphere":
            X = X * (math.sqrt(self.d) * self.std / jnp.linalg.norm(X, axis=1, keepdims=True))
        return X

    def sample(self, key, n: int, *, antithetic: bool = False, group=None):
        """``(X (n, d), y (n,))``.

        ``antithetic``: the second half is ``-X`` of the first (``n`` even). ``group``: a finite group of orthogonal
        matrices (:func:`cyclic_group`); the batch is ``n / |group|`` draws and all their images ``g x``, so that
        a gradient on it is equivariant under the group (``antithetic`` is the group ``{I, -I}``).
        """
        if antithetic:
            group = (np.eye(self.d), -np.eye(self.d))
        if group is None:
            X = self.sample_x(key, n)
        else:
            k = len(group)
            if n % k:
                raise ValueError(f"a batch closed under a group of {k} elements needs a multiple of {k}; got {n}")
            base = self.sample_x(key, n // k)
            X = jnp.concatenate([base @ jnp.asarray(g).T for g in group])
        return X, self.target(X)

    def odd_violation(self, n: int = 4096, seed: int = 0) -> float:
        """``max |f*(x) + f*(-x)| / max |f*(x)|`` on ``n`` samples: 0 for an odd target."""
        X = self.sample_x(jax.random.key(seed), n)
        y = np.asarray(self.target(X))
        return float(np.max(np.abs(y + np.asarray(self.target(-X)))) / max(np.max(np.abs(y)), 1e-300))


def cubic_odd(z, C: float, std: float) -> Population:
    """The odd cubic target of Hajjar & Chizat (spec ``integrable_and_meanfield.md`` C3): ``f*(x) = C sum_k z_k x_k^3``.

    Parameters
    ----------
    z : (d,) array
    C : float
    std : float
        Input standard deviation (the spec: ``1/sqrt(d)``).
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 1 or not np.all(np.isfinite(z)):
        raise ValueError(f"z must be a finite vector; got shape {z.shape}")
    zj = jnp.asarray(z)
    C = _checks.real_float("C", C)
    return Population(z.shape[0], _Cubic(zj, C), std, odd=True, name="cubic-odd")


@dataclass(frozen=True, eq=False)
class _Cubic:
    z: object
    C: float

    def __call__(self, X):
        return self.C * (X**3 @ self.z)


def cyclic_group(T, *, max_order: int = 64) -> tuple[np.ndarray, ...]:
    """``(I, T, T^2, ...)`` up to the order of the orthogonal matrix ``T`` (``T^k = I``, ``k <= max_order``).

    Examples
    --------
    >>> len(cyclic_group(np.eye(3)[[1, 2, 0]]))  # a 3-cycle of coordinates
    3
    """
    T = _checks.as_matrix("T", T)
    d = T.shape[0]
    if T.shape != (d, d) or not np.allclose(T.T @ T, np.eye(d), atol=1e-10):
        raise ValueError(f"T must be a square orthogonal matrix; got shape {T.shape}")
    out, P = [np.eye(d)], T
    while not np.allclose(P, np.eye(d), atol=1e-10):
        out.append(P)
        if len(out) > max_order:
            raise ValueError(f"T has no finite order <= {max_order}: T^k = I for no k <= {max_order}")
        P = T @ P
    return tuple(out)


def radial(d: int, d_H: int, *, std: float = 1.0, law: str = "gaussian") -> Population:
    """``f*(x) = ||P_H x||`` with ``H`` the first ``d_H`` coordinates (spec ``integrable_and_meanfield.md`` C3): a
    target on a low-dimensional subspace, invariant under every orthogonal map of ``H`` and of ``H^perp``.

    Examples
    --------
    >>> import jax
    >>> pop = radial(5, 2)
    >>> X, y = pop.sample(jax.random.key(0), 3)
    >>> bool(np.allclose(y, np.linalg.norm(np.asarray(X)[:, :2], axis=1)))
    True
    """
    d = _checks.positive_int("d", d)
    d_H = _checks.positive_int("d_H", d_H)
    if d_H > d:
        raise ValueError(f"d_H must be <= d = {d}; got {d_H}")
    return Population(d, _Radial(d_H), std, odd=False, name=f"radial-{d_H}-of-{d}", law=law)


def on_subspace(d: int, d_H: int, phi, *, std: float = 1.0, law: str = "gaussian", name: str | None = None):
    """``f*(x) = phi(x_H)`` with ``x_H`` the first ``d_H`` coordinates: a target of a low-dimensional subspace, the
    setting of :mod:`learndyn.theory.lowdim`.

    Parameters
    ----------
    d, d_H : int
    phi : callable
        Traceable map ``(n, d_H) -> (n,)``.
    std, law : see :class:`Population`
    name : str, optional

    Examples
    --------
    >>> import jax
    >>> pop = on_subspace(6, 2, lambda Z: Z[:, 0] * Z[:, 1])
    >>> X, y = pop.sample(jax.random.key(0), 3)
    >>> bool(np.allclose(y, np.asarray(X)[:, 0] * np.asarray(X)[:, 1]))
    True
    """
    d = _checks.positive_int("d", d)
    d_H = _checks.positive_int("d_H", d_H)
    if d_H > d:
        raise ValueError(f"d_H must be <= d = {d}; got {d_H}")
    if not callable(phi):
        raise TypeError(f"phi must be a callable (n, d_H) -> (n,); got {type(phi).__name__}")
    return Population(d, _OnSubspace(d_H, phi), std, odd=False, name=name or f"subspace-{d_H}-of-{d}", law=law)


@dataclass(frozen=True)
class _OnSubspace:
    d_H: int
    phi: Callable

    def __call__(self, X):
        return self.phi(X[:, : self.d_H])


@dataclass(frozen=True)
class _Radial:
    d_H: int

    def __call__(self, X):
        return jnp.sqrt(jnp.sum(X[:, : self.d_H] ** 2, axis=1))
