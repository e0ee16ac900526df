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


#: (panel title, y-axis label) of the standard trajectory variables.
LABELS = {
    "loss": ("training loss", "L = 1/(2P) sum ||y - f||^2"),
    "w2w1": ("network map", "entries of W2 W1"),
    "w1tw1": ("input-side representation", "entries of W1^T W1"),
    "w2w2t": ("output-side representation", "entries of W2 W2^T"),
    "ntk": ("neural tangent kernel", "entries of NTK (items x outputs)"),
    "rsm_in": ("input representational similarity", "entries of X W1^T W1 X^T"),
    "f": ("outputs on training items", "f"),
}


def _spread(n: int, k: int) -> np.ndarray:
    """Up to k column indices spread over range(n) (diagonal-ish picks for flattened matrices)."""
    return np.unique(np.linspace(0, n - 1, min(n, k)).round().astype(int))


def overlay(sim, theory, names, *, title: str = "", max_curves: int = 12):
    """Panels (3 per row) of the trajectory variables ``names``: simulation solid, theory dashed, log time axis.

    ``sim`` and ``theory`` are trajectory Datasets on the same time grid (``theory`` may be None).
    """
    ncols = min(3, len(names))
    fig, axes = figure(ncols, -(-len(names) // ncols))
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.ravel(), names, strict=False):
        s = sim[name].values.reshape(sim.sizes["t"], -1)
        th = None if theory is None else theory[name].values.reshape(theory.sizes["t"], -1)
        idx = _spread(s.shape[1], max_curves)
        sim_vs_theory(
            ax,
            sim["t"].values,
            s[:, idx],
            None if th is None else th[:, idx],
            title=LABELS.get(name, (name, name))[0],
            ylabel=LABELS.get(name, (name, name))[1],
            logx=True,
            logy=(name == "loss"),
        )
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
