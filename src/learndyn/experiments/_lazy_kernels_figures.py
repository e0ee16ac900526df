"""The rule set of the lazy-kernels experiment (:mod:`learndyn.experiments.lazy_kernels`) and its figures: lazy
kernels against the input angle, and the width-N eNTK's convergence to Table 2."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from learndyn import plots
from learndyn.theory import kernels as kn

if TYPE_CHECKING:  # annotations only: the experiment module imports this one
    import xarray as xr

    from learndyn.experiments.lazy_kernels import Config
    from learndyn.results import Outcome

_ACT = "relu"
#: Rules of the width-N check: (label, lazy-kernel rule, rho).
_RULES = (
    ("gd", "gd", None),
    ("fa0", "fa", 0.0),
    ("fa0.5", "fa", 0.5),
    ("fa1", "fa", 1.0),
    ("dfa", "dfa", None),
    ("hebb", "hebb", None),
    ("gln", "gln", None),
)
_LABELS = {
    "gd": "GD",
    "fa0": "FA rho=0",
    "fa0.5": "FA rho=0.5",
    "fa1": "FA rho=1",
    "dfa": "DFA",
    "hebb": "Hebb",
    "gln": "GLN (GD)",
}
_NNGP_RULES = ("fa0", "dfa", "hebb")  # lazy kernel Phi^L


def angle_figure(cfg: Config, out: Outcome, ds: xr.Dataset, names):
    theta = ds["theta"].values
    k = ds["K_normalised"]
    fig, axes = plots.figure(3, 1, width=4.0)
    fa = [c for c in ds["curve"].values if str(c).startswith("fa")]
    colors = plots.plt.cm.viridis(np.linspace(0.0, 0.9, len(fa)))
    ax = axes[0, 0]
    for c, col in zip(fa, colors, strict=True):
        rho = float(ds["rho"].sel(curve=c))
        tag = " (= NNGP Phi^L)" if rho == 0 else " (= NTK)" if rho == 1 else ""
        ax.plot(theta, k.sel(curve=c, L=cfg.fa_depth), color=col, label=f"rho = {rho:g}{tag}", **plots.SIM)
    ax.plot(theta, k.sel(curve="gd", L=cfg.fa_depth), label="GD NTK", **plots.THEORY)
    ax.plot(theta, k.sel(curve="dfa", L=cfg.fa_depth), label="NNGP (DFA, Hebb)", **(plots.THEORY | {"linestyle": ":"}))
    ax.set(xlabel="input angle theta (rad)", ylabel="K(theta) / K(0)", title=f"(a) rho-FA, ReLU, L = {cfg.fa_depth}")
    ax.legend(frameon=False, fontsize=7)
    depths = ds["L"].values
    dcol = plots.plt.cm.magma(np.linspace(0.0, 0.8, len(depths)))
    fa_panel = f"fa{cfg.panel_rho:g}"
    for ax, curve, title in (
        (axes[0, 1], fa_panel, f"(b) FA rho = {cfg.panel_rho:g}, varying L"),
        (axes[0, 2], "gln", "(c) ReLU GLN, varying L"),
    ):
        for L, col in zip(depths, dcol, strict=True):
            ax.plot(theta, k.sel(curve=curve, L=L), color=col, label=f"L = {L}", **plots.SIM)
        ax.set(xlabel="input angle theta (rad)", ylabel="K(theta) / K(0)", title=title)
        ax.legend(frameon=False, fontsize=8)
    for ax in axes[0]:
        ax.axhline(0.0, color="0.7", linewidth=0.6)
        ax.set_xlim(0, np.pi)
    fig.tight_layout()
    r = ds["ratio_half_pi"]
    rho_text = ", ".join(f"{float(ds['rho'].sel(curve=c)):g}" for c in fa)
    out.figure(
        "angle_kernels",
        fig,
        "Lazy (gamma0 -> 0, infinite-width) eNTKs of the mean-field ReLU net between two inputs with |x|^2 = D at "
        "angle theta (K^x = [[1, cos theta], [cos theta, 1]]), normalised by K(0), against theta in [0, pi] "
        "(spec Fig. 2a-c, Table 2). (a) rho-FA at L = "
        f"{cfg.fa_depth} for rho = {rho_text}: a larger rho gives "
        f"a sharper peak (K(pi/2)/K(0) = {float(r.sel(curve=fa[0], L=cfg.fa_depth)):.3f} at rho = 0 down to "
        f"{float(r.sel(curve=fa[-1], L=cfg.fa_depth)):.3f} at rho = 1); rho = 0 lies on the NNGP Phi^L (dotted "
        "black, the kernel of DFA and Hebb) and rho = 1 on GD's NTK (dashed black). (b) FA with rho = "
        f"{cfg.panel_rho:g} at L = {', '.join(map(str, depths))}: with depth the NNGP-like readout term dominates and "
        "the kernel flattens (observed, not a claim of the paper). (c) The ReLU gated linear network's kernel "
        "(L + 1) C^L * K^x sharpens with L; with the library's gate Theta (not the paper's sqrt(2) Theta) it is "
        "(L + 1) 2^-L (1 - theta/pi)^L cos(theta), and each of the L + 1 weight layers contributes equally (the "
        "paper's prefactor L is settled as L + 1 by the width-N check). Checks: closed forms and the rho = 0, 1 "
        "identities to 1e-12, the rho ordering at every depth, the GLN's half-width decreasing with L.",
        checks=names,
    )


def _width_axis(ax, widths):
    """A log width axis ticked at the simulated widths (no crowded minor labels)."""
    ax.set_xscale("log")
    ax.set_xticks(widths)
    ax.set_xticklabels([str(int(n)) for n in widths], fontsize=8)
    ax.xaxis.set_minor_formatter(plots.plt.NullFormatter())
    ax.set_xlabel("width N")


def width_figures(cfg: Config, out: Outcome, ds, sl, slope_names, init_names):
    widths = ds["width"].values
    labels = list(sl["rule"].values)
    colors = dict(zip(labels, plots.plt.cm.tab10(np.arange(len(labels))), strict=True))
    fig, axes = plots.figure(2, 1, width=4.6)
    ax, ax2 = axes[0, 0], axes[0, 1]
    for label in labels:
        e = ds["rel_sq_err"].sel(rule=label).values
        m = e.mean(axis=-1)
        col = colors[label]
        style = {"linestyle": "--"} if label == "fa1" else {}
        slope, se = float(sl["slope"].sel(rule=label)), float(sl["slope_se"].sel(rule=label))
        ax.plot(widths, m, marker="o", color=col, label=f"{_LABELS[label]}: {slope:+.2f} +- {se:.2f}",
                **(plots.SIM | style))  # fmt: skip
        ax.fill_between(widths, e.min(axis=-1), e.max(axis=-1), color=col, alpha=0.08)
        fit = np.exp(float(sl["intercept"].sel(rule=label))) * widths**slope
        ax.plot(widths, fit, color=col, linestyle=":", linewidth=1.0)
        ax2.plot(widths, widths * m, marker="o", color=col, label=_LABELS[label], **(plots.SIM | style))
    m_all = ds["mean_rel_sq_err"].values
    ref = np.exp(np.mean(np.log(m_all[:, 0]))) * widths[0] / widths
    ax.plot(widths, ref, label="slope -1", **plots.THEORY)
    ax.set(yscale="log", ylabel="||K_N - K_inf||^2 / ||K_inf||^2", title="eNTK at init: relative squared error")
    ax.legend(frameon=False, fontsize=7, loc="lower left")
    n_err = widths * m_all
    ax2.set(ylim=(0, 1.6 * n_err.max()), ylabel="N x relative squared error", title="N x error (flat: O(1/N))")
    ax2.legend(frameon=False, fontsize=7, ncol=2, loc="upper center")
    for a in (ax, ax2):
        _width_axis(a, widths)
    fig.tight_layout()
    out.figure(
        "width_convergence",
        fig,
        f"Width-N eNTK at initialisation of the mean-field ReLU net ({cfg.d} -> N -> ... -> 1, L = {cfg.n_hidden} "
        f"hidden layers, gamma0 = {cfg.gamma0:g}, P = {cfg.n_items} random items with |x|^2 = D) against its lazy "
        "Table 2 kernel, per learning rule, for N = "
        f"{', '.join(map(str, widths))}. Left: the relative squared error ||K_N - K_inf||_F^2 / ||K_inf||_F^2 "
        f"(mean over {cfg.n_seeds} seeds, markers; band: seed min-max; dotted: the log-log fit, its slope +- "
        "bootstrap standard error in the legend; dashed black: slope -1). Right: N times the mean error, flat for an "
        "O(1/N) error. FA rho = 1 (dashed) lies on GD: its eNTK is GD's exactly at init. FA(0), DFA and Hebb converge "
        "to the NNGP Phi^L, the GLN to (L + 1) C^L * K^x. Checks: every slope within -1 +- "
        f"{cfg.slope_tol:g}, their mean within -1 +- {cfg.mean_slope_tol:g}, N x error bounded.",
        checks=slope_names,
    )

    fig, axes = plots.figure(3, 1, width=4.0)
    ax = axes[0, 0]
    Kt, Kw = ds["K_theory"], ds["K_widest"]
    lo, hi = float(min(Kt.min(), Kw.min())), float(max(Kt.max(), Kw.max()))
    for label in labels:
        if label == "fa1":
            continue
        ax.scatter(Kt.sel(rule=label).values.ravel(), Kw.sel(rule=label).values.ravel(), s=8, color=colors[label],
                   alpha=0.7, label=_LABELS[label])  # fmt: skip
    ax.plot([lo, hi], [lo, hi], **plots.THEORY)
    ax.set(xlabel="lazy K_inf (Table 2)", ylabel=f"width-N K_N, N = {widths[-1]}", title="eNTK entries at init")
    ax.legend(frameon=False, fontsize=7)
    ax = axes[0, 1]
    _, C = kn.gaussian_expectations(ds["Kx"].values, _ACT)
    ref = C**cfg.n_hidden * ds["Kx"].values
    lcol = plots.plt.cm.viridis(np.linspace(0.0, 0.85, cfg.n_hidden + 1))
    for l in range(cfg.n_hidden + 1):
        ax.scatter(ref.ravel(), ds["gln_layers_widest"].sel(layer=l).values.ravel(), s=8, color=lcol[l],
                   label=f"layer W^{l}: G^{l + 1} * Phi^{l}")  # fmt: skip
    ax.plot([ref.min(), ref.max()], [ref.min(), ref.max()], **plots.THEORY)
    c = float(ds["gln_prefactor"].isel(width=-1).mean())
    ax.set(xlabel="C^L * K^x", ylabel=f"GLN layer contribution, N = {widths[-1]}",
           title=f"GLN: equal layers, prefactor {c:.2f} (L + 1 = {cfg.n_hidden + 1})")  # fmt: skip
    ax.legend(frameon=False, fontsize=7)
    ax = axes[0, 2]
    d = ds["dist_to_reference"].mean("seed")
    for label in _NNGP_RULES:
        col = colors[label]
        ax.plot(widths, d.sel(nngp_rule=label, reference="nngp"), marker="o", color=col,
                label=f"{_LABELS[label]} to Phi^L", **plots.SIM)  # fmt: skip
        ax.plot(widths, d.sel(nngp_rule=label, reference="ntk"), marker="s", color=col, linestyle="--",
                label=f"{_LABELS[label]} to NTK")  # fmt: skip
    ax.set(yscale="log", ylabel="||K_N - K_ref|| / ||K_ref||", title="FA(0), DFA, Hebb: NNGP, not NTK")
    _width_axis(ax, widths)
    ax.legend(frameon=False, fontsize=6, ncol=2, loc="lower left")
    fig.tight_layout()
    out.figure(
        "entk_at_init",
        fig,
        f"The width-N eNTK at initialisation and what it converges to (L = {cfg.n_hidden} ReLU, P = {cfg.n_items}). "
        f"Left: every entry of K_N at N = {widths[-1]} (seed 0) against its lazy Table 2 value, per rule (FA rho = 1 "
        "is GD's kernel exactly and is not drawn); the points sit on the dashed diagonal. Middle: the gated linear "
        "network's eNTK split into the contributions G^(l+1) * Phi^l of its weight layers, against C^L * K^x (C: "
        "the gate kernel E[Theta(m) Theta(m')], m ~ N(0, K^x)): every layer gives the same kernel, so the total is "
        "(L + 1) C^L * K^x, not the paper's L C^L * K^x (fitted prefactor in the title). Right: relative distance of "
        "the FA(rho = 0), DFA and Hebb eNTKs to the NNGP kernel Phi^L (solid, falling like N^-1/2) and to GD's NTK "
        "(dashed, staying O(1)), mean over seeds. Checks: FA(1) = GD to 1e-10, NNGP rules at Phi^L, GLN layers "
        "equal and prefactor L + 1.",
        checks=init_names,
    )
