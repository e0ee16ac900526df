"""Pieces the linear-network experiments share: simulated and exact trajectories, overlay figures."""

from __future__ import annotations

import numpy as np
import xarray as xr

from learndyn import init, observables, plots, train
from learndyn.tasks import Task

# Moved to learndyn.init; kept under its old name for code that imports it from here.
weights_from_qqt = init.balanced_from_qqt

# (panel title, y-axis label) per trajectory variable.
_LABELS = {
    "loss": ("training loss", "L = 1/(2P) sum ||y - f||^2"),
    "w2w1": ("network map", "entries of W2 W1"),
    "w1tw1": ("input-side representation", "entries of W1^T W1"),
    "w2w2t": ("output-side representation", "entries of W2 W2^T"),
    "ntk": ("neural tangent kernel", "entries of NTK (items x outputs)"),
    "rsm_in": ("input representational similarity", "entries of X W1^T W1 X^T"),
    "f": ("outputs on training items", "f"),
}


def gd_trajectory(task: Task, weights, *, lr: float, t, ntk: bool = True, rsm: bool = True, activation: str = "linear"):
    """Full-batch GD from ``weights`` recorded at times ``t`` (``t = lr * step``).

    Returns ``(trajectory Dataset, final weights tuple)``.
    """
    res = train.simulate_gd(task.X, task.Y, tuple(weights), lr=lr, t=t, activation=activation)
    # loss, outputs and kernels come from the simulated net's own forward pass (tanh/ReLU nets included)
    rsm_arg = rsm if res.net.is_linear else (None if rsm else False)
    ds = observables.trajectory_from_weights(task, res.t, res.weights, res.net, ntk=ntk, rsm=rsm_arg)
    ds.attrs.update(source="simulation", method="gd", lr=float(lr), activation=activation)
    return ds, tuple(np.asarray(W[-1]) for W in res.weights)


def rk4_trajectory(task: Task, weights, *, t, dt: float, ntk: bool = False, rsm: bool = False) -> xr.Dataset:
    """RK4 gradient flow from ``weights`` recorded at ``t`` (multiples of ``dt``), as a trajectory Dataset."""
    t = dt * np.unique(np.round(np.asarray(t) / dt))  # distinct steps: a trajectory never repeats a time
    res = train.gradient_flow_rk4(task.X, task.Y, tuple(weights), t=t, dt=dt)
    ds = observables.trajectory_from_weights(task, res.t, res.weights, ntk=ntk, rsm=rsm)
    ds.attrs.update(source="rk4", method="rk4", dt=float(dt))
    return ds


def overlay(sim: xr.Dataset, theory: xr.Dataset | None, names, *, title: str = "", max_curves: int = 12):
    """Panels (3 per row), simulation solid and theory dashed, for the variables ``names`` (log time axis)."""
    ncols = min(3, len(names))
    fig, axes = plots.figure(ncols, -(-len(names) // ncols))
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.ravel(), names, strict=False):
        s = sim[name].values.reshape(sim.sizes["t"], -1)
        th = None if theory is None else theory[name].values.reshape(theory.sizes["t"], -1)
        idx = _spread(s.shape[1], max_curves)
        plots.sim_vs_theory(
            ax,
            sim["t"].values,
            s[:, idx],
            None if th is None else th[:, idx],
            title=_LABELS.get(name, (name, name))[0],
            ylabel=_LABELS.get(name, (name, name))[1],
            logx=True,
            logy=(name == "loss"),
        )
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _spread(n: int, k: int) -> np.ndarray:
    """Up to k column indices spread over range(n) (diagonal-ish picks for flattened matrices)."""
    return np.unique(np.linspace(0, n - 1, min(n, k)).round().astype(int))


def max_err(a: xr.Dataset, b: xr.Dataset, name: str) -> float:
    """Largest absolute difference of one variable of two trajectories on the same time grid."""
    return observables.max_abs_diff(a, b, [name])[name]


def qqt_from_blocks(ds: xr.Dataset, k: int = -1) -> np.ndarray:
    """Reassemble ``QQ^T = [[W1^T W1, (W2 W1)^T], [W2 W1, W2 W2^T]]`` at record ``k`` of a trajectory."""
    m, g1, g2 = ds["w2w1"].values[k], ds["w1tw1"].values[k], ds["w2w2t"].values[k]
    return np.block([[g1, m.T], [m, g2]])
