"""What every DMFT solver of learndyn returns: the infinite-width trajectory with its convergence record.

Bordelon & Pehlevan, "Self-consistent dynamical field theory of kernel evolution in wide neural networks" (NeurIPS
2022, arXiv 2205.09653) and "The influence of learning rule on representation dynamics in wide neural networks"
(ICLR 2023, arXiv 2210.02157). The network is the mean-field net of ``learndyn.param.get("meanfield", gamma0)``
with ``L`` hidden layers::

    h^1 = W^0 x / sqrt(D),   h^{l+1} = W^l phi(h^l) / sqrt(N),   f = w^L . phi(h^L) / (gamma0 N),   all N(0, 1),

trained by full-batch GD steps of the library (loss ``1/(2P) sum_mu (y_mu - f_mu)^2``, learning rate
``eta gamma0^2 N`` on every layer), so step ``k`` is the library's time ``t = eta k`` and the paper's time is
``t / P``. The solvers are discrete in time at the simulation's own step ``eta``: at infinite width they give the
simulated GD run exactly, so theory and simulation are compared at matched discretisation.

Kernels are indexed by weight layer ``l = 0..L``: ``phi[l] = Phi^l`` is the feature kernel of that layer's input
(``Phi^0 = K^x = X X^T / D``) and ``g[l] = G^{l+1}``, ``gt[l] = G~^{l+1}`` the gradient and gradient /
pseudo-gradient kernels at its output (``G^{L+1} = 1``), normalised as the papers do (``g^l = gamma0 N df/dh^l``).
The eNTK is ``K = sum_l gt[l] * phi[l]`` with ``df/dt = (1/P) K Delta``, ``Delta = y - f``: the same
``df_pa/dt = -(1/P) sum K e`` convention as a simulated ``entk`` (which is ``gamma0^2 N`` times
:func:`learndyn.observables.entk` when the per-layer learning rates are left out).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from learndyn import _checks
from learndyn.observables import describe_variables, kernel_task_alignment

__all__ = ["DMFTNotConverged", "DMFTResult", "targets"]


def targets(y, P: int) -> np.ndarray:
    """The DMFT solvers' targets as a float64 ``(P,)`` array (one output); ``y`` of shape ``(P,)`` or ``(P, 1)``.

    Examples
    --------
    >>> targets([[1.0], [-1.0]], 2)
    array([ 1., -1.])
    """
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.shape != (P,):
        raise ValueError(f"y must have shape (P,) or (P, 1) with P = {P} (one output); got {np.shape(y)}")
    _checks.finite("y", arr)
    return arr


class DMFTNotConverged(ArithmeticError):
    """A DMFT solve that did not reach its tolerance; ``result`` holds what it reached (``converged=False``)."""

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True, eq=False)
class DMFTResult:
    """An infinite-width trajectory and how it was obtained.

    Attributes
    ----------
    t : (T,) array
        The library's time ``eta * k`` of every step ``k = 0..steps``.
    y : (P,) array
        Targets.
    f : (T, P) array
        Outputs on the training items.
    phi, g, gt : (T, L + 1, P, P) arrays
        Equal-time kernels ``Phi^l(t, t)``, ``G^{l+1}(t, t)``, ``G~^{l+1}(t, t)`` per weight layer ``l``.
    entk : (T, P, P) array
        ``K(t) = sum_l gt[l] * phi[l]``; ``df/dt = (1/P) K Delta``. Not symmetric for FA.
    residuals : (n,) array
        The convergence measure after every iteration (all time windows, in order).
    iterations : int
    converged : bool
        Whether the last window reached ``tol``; a result with ``False`` is never returned silently.
    tol : float
    mc_error : float or None
        Monte-Carlo error estimate of the loss; ``None`` for a sample-free (algebraic) solve.
    settings : dict
        The solver's configuration (rule, ``gamma0``, ``eta``, ...), stored in the trajectory's attributes.
    gtt : (T, L + 1, P, P) array or None
        ``G~~^{l+1}(t, t) = <g~ g~>``, the pseudo-gradient kernels (gives ``grad_corr``); ``None`` if not kept.
    fields : (L, S, P) array or None
        A Monte-Carlo solve's final pre-activations ``h^l`` of every site (``keep_fields=True``).
    """

    t: np.ndarray
    y: np.ndarray
    f: np.ndarray
    phi: np.ndarray
    g: np.ndarray
    gt: np.ndarray
    entk: np.ndarray
    residuals: np.ndarray
    iterations: int
    converged: bool
    tol: float
    mc_error: float | None = None
    settings: dict = field(default_factory=dict)
    gtt: np.ndarray | None = None
    fields: np.ndarray | None = None

    @property
    def delta(self) -> np.ndarray:
        """``Delta = y - f``, shape ``(T, P)``."""
        return self.y[None, :] - self.f

    @property
    def loss(self) -> np.ndarray:
        """``1/(2P) sum_mu Delta_mu^2`` at every step, shape ``(T,)``."""
        return 0.5 * np.mean(self.delta**2, axis=1)

    def trajectory(self) -> xr.Dataset:
        """The result as a trajectory Dataset: ``loss (t)``, ``f (t, p, o)``, ``phi``/``g``/``gt (t, layer, p,
        q)``, ``entk (t, p, o, q, o2)`` and ``entk_task_alignment (t)``, with the solver's settings and convergence
        record in the attributes.

        Examples
        --------
        >>> import numpy as np
        >>> from learndyn.theory import dmft_linear
        >>> X = np.random.default_rng(0).standard_normal((3, 5))
        >>> ds = dmft_linear.solve(X, [1.0, -1.0, 0.5], n_hidden=2, gamma0=1.0, eta=0.1, steps=5).trajectory()
        >>> ds.phi.dims, bool(ds.attrs["converged"])
        (('t', 'layer', 'p', 'q'), True)
        """
        T, L1, P, _ = self.phi.shape
        align = np.asarray([kernel_task_alignment(K, self.y[:, None]) for K in self.entk])
        ds = xr.Dataset(
            {
                "loss": (("t",), self.loss),
                "f": (("t", "p", "o"), self.f[:, :, None]),
                "phi": (("t", "layer", "p", "q"), self.phi),
                "g": (("t", "layer", "p", "q"), self.g),
                "gt": (("t", "layer", "p", "q"), self.gt),
                "entk": (("t", "p", "o", "q", "o2"), self.entk[:, :, None, :, None]),
                "entk_task_alignment": (("t",), align),
            },
            coords={"t": self.t, "layer": np.arange(L1)},
        )
        if self.gtt is not None:
            # corr(g, g~) per hidden layer: the per-item cosine <g g~> / sqrt(<g g> <g~ g~>), averaged over items
            def diag(a):
                return np.diagonal(a[:, :-1], axis1=2, axis2=3)

            with np.errstate(invalid="ignore", divide="ignore"):
                corr = np.mean(diag(self.gt) / np.sqrt(diag(self.g) * diag(self.gtt)), axis=2)
            ds["grad_corr"] = (("t", "hidden"), corr)
        ds.attrs.update(
            source="theory",
            theory="DMFT",
            converged=int(self.converged),
            iterations=int(self.iterations),
            final_residual=float(self.residuals[-1]) if len(self.residuals) else float("nan"),
            tol=float(self.tol),
            **{k: v for k, v in self.settings.items() if isinstance(v, (int, float, str))},
        )
        if self.mc_error is not None:
            ds.attrs["mc_error"] = float(self.mc_error)
        return describe_variables(ds)
