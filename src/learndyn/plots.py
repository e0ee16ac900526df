"""Shared figure style: simulation solid, theory dashed, one colour per curve across a figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # run folders are written headless; never open a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

SIM = {"linestyle": "-", "linewidth": 1.8, "alpha": 0.8}
TIME_LABEL = "gradient-flow time t = lr · step"

THEORY = {"linestyle": "--", "linewidth": 1.4, "color": "k", "alpha": 0.9}


def figure(ncols: int = 1, nrows: int = 1, *, width: float = 4.0, height: float = 3.2):
    """A new figure with a grid of axes (always a 2-D array of axes)."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    return fig, axes


def sim_vs_theory(
    ax,
    t,
    sim,
    theory=None,
    *,
    title: str = "",
    ylabel: str = "",
    logx: bool = False,
    logy: bool = False,
    max_curves: int = 12,
    floor: float = 1e-10,
):
    """Overlay curves: columns of ``sim`` (T, k) in colour, solid; ``theory`` (T, k) dashed black on top.

    Only the first ``max_curves`` columns are drawn, so large matrices stay legible. On a log y-axis the axis stops
    at ``floor`` times the largest value: below that, differences are round-off, not dynamics.
    """
    t = np.asarray(t)
    keep = t > 0 if logx else np.ones(t.shape, dtype=bool)  # a log axis cannot show t = 0
    sim = np.asarray(sim).reshape(len(t), -1)[keep, :max_curves]
    th = None if theory is None else np.asarray(theory).reshape(len(t), -1)[keep, :max_curves]
    t = t[keep]
    colors = plt.cm.viridis(np.linspace(0.0, 0.9, sim.shape[1]))
    for k in range(sim.shape[1]):
        ax.plot(t, sim[:, k], color=colors[k], **SIM)
    if th is not None:
        ax.plot(t, th, **THEORY)
    ax.plot([], [], color=colors[0], label="simulation", **SIM)
    if th is not None:
        ax.plot([], [], label="theory", **THEORY)
    ax.legend(frameon=False, fontsize=8)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
        values = np.abs(np.concatenate([sim.ravel(), [] if th is None else th.ravel()]))
        values = values[np.isfinite(values) & (values > 0)]
        if values.size:
            top = float(values.max())
            ax.set_ylim(max(float(values.min()), floor * top) / 2, 2 * top)
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    return ax


def matrix(ax, M, title: str = "", *, symmetric: bool = True):
    """Show a matrix with a diverging colour map centred on zero."""
    M = np.asarray(M)
    v = float(np.max(np.abs(M))) or 1.0
    im = ax.imshow(
        M, cmap="RdBu_r" if symmetric else "viridis", vmin=-v if symmetric else None, vmax=v if symmetric else None
    )
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    plt.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return ax
