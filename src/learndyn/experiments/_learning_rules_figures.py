"""Figures of the learning-rules experiment (:mod:`learndyn.experiments.learning_rules`): loss, eNTK alignment and
G~ against time, final kernels, final pre-activation densities, and the width convergence of the errors."""

from __future__ import annotations

import numpy as np

from learndyn import plots


def figures(cfg, out, rules, labels, widths, rec, th, sm, sq_f, slopes, floors, theory, names):
    """Add the experiment's captioned figures to ``out``."""
    t = cfg.eta * np.arange(cfg.steps + 1)
    t_rec = cfg.eta * rec
    colors = plots.plt.cm.tab10(np.arange(len(rules)))
    Nmax = int(widths[-1])
    setup = (
        f"two-layer mean-field ReLU net {cfg.d}-N-1 (gamma0 = {cfg.gamma0:g}, eta = {cfg.eta:g}, {cfg.n_items} "
        f"Gaussian items with +-1 labels)"
    )

    # loss, A(K, yy^T), G~ against t
    fig, axes = plots.figure(3, 1, width=3.6)
    panels = (("loss", "training loss"), ("A_K", "A(K, y y^T)"), ("gt_mean", "mean diagonal of G~^1"))
    for ax, (key, label) in zip(axes[0], panels, strict=True):
        for i, r in enumerate(rules):
            ax.plot(t, th[key][i], **{**plots.THEORY, "color": colors[i]})
            ax.plot(t_rec, sm[key][i, -1].mean(axis=0), marker="o", markersize=2.5, color=colors[i],
                    label=labels[r], **plots.SIM)  # fmt: skip
        ax.plot([], [], label="DMFT", **plots.THEORY)
        ax.set(xlabel=plots.TIME_LABEL, ylabel=label, title=label)
        ax.legend(frameon=False, fontsize=6)
    axes[0, 0].set_yscale("log")
    fig.tight_layout()
    out.figure(
        "dynamics",
        fig,
        f"Training of a {setup} under four learning rules (colours). Dashed: Monte-Carlo DMFT (infinite width, "
        f"S = {cfg.samples} sites); solid with dots: mean of {cfg.n_seeds} simulations at N = {Nmax}. Left: loss "
        "(log scale). Middle: kernel-task alignment of the rule's eNTK K = G~^1 * K^x + Phi^1: it rises for GD, FA "
        "and GLN; FA (and Hebb, whose K(0) is also Phi^1) starts lowest, and FA ends above GD; under this Hebb rule "
        "it falls. Right: G~^1 = g . g~ / N, the overlap of the true and the rule's backward signals; FA's starts at "
        "0 (random feedback) and rises as the readout aligns with it.",
        checks=names["align"] + names["gt"],
    )

    # final Phi^1 and G~^1: DMFT against the widest simulation
    fig, axes = plots.figure(len(rules), 4, width=2.3, height=2.1)
    for i, r in enumerate(rules):
        for row, (key, sym) in enumerate((("phi", "Phi^1"), ("gt", "G~^1"))):
            plots.matrix(axes[2 * row, i], th[key][i, -1], f"{labels[r]}: {sym} DMFT")
            plots.matrix(axes[2 * row + 1, i], sm[key][i, -1, :, -1].mean(axis=0), f"{labels[r]}: {sym} N = {Nmax}")
    fig.tight_layout()
    out.figure(
        "final_kernels",
        fig,
        f"Final kernels (t = {cfg.eta * cfg.steps:g}) of the {setup}, one column per rule. Rows: the feature kernel "
        f"Phi^1 from the DMFT and from the seed mean of the simulations at N = {Nmax}, then G~^1 the same way "
        "(items in data order). Theory and simulation agree entry by entry.",
        checks=names["kernels"],
    )

    # final pre-activation densities
    fig, axes = plots.figure(len(rules), 1, width=2.6)
    for i, r in enumerate(rules):
        ax = axes[0, i]
        h_th = theory[r].fields[0]
        z_th = ((h_th - h_th.mean(axis=0)) / h_th.std(axis=0)).ravel()
        h_sim = sm["h"][i].transpose(0, 2, 1).reshape(-1, sm["h"].shape[-2])
        z_sim = ((h_sim - h_sim.mean(axis=0)) / h_sim.std(axis=0)).ravel()
        bins = np.linspace(-4, 4, 61)
        ax.hist(z_sim, bins=bins, density=True, color=colors[i], alpha=0.5, label=f"N = {Nmax}")
        ax.hist(z_th, bins=bins, density=True, histtype="step", color="k", label="DMFT")
        ax.plot(bins, np.exp(-0.5 * bins**2) / np.sqrt(2 * np.pi), ":", color="0.4", label="N(0, 1)")
        ax.set(yscale="log", ylim=(1e-4, 1.0), xlabel="standardised h", title=labels[r])
        ax.legend(frameon=False, fontsize=6)
    axes[0, 0].set_ylabel("density")
    fig.tight_layout()
    out.figure(
        "densities",
        fig,
        f"Final pre-activations h of the {setup}, standardised per item and pooled over items (log density). "
        f"Filled: all units of the {cfg.n_seeds} simulations at N = {Nmax}; black steps: the DMFT's sites; dotted: "
        "the standard normal. GD's and FA's fields are non-Gaussian (heavy tails); the GLN's are conditionally "
        "Gaussian given the gates, hence closer to Gaussian.",
        checks=names["density"],
    )

    # width convergence
    fig, axes = plots.figure(1, 1, width=4.4)
    ax = axes[0, 0]
    for i, r in enumerate(rules):
        ax.loglog(widths, sq_f[i], "o-", color=colors[i], label=f"{labels[r]} (slope {slopes[i]:.2f})")
        ax.axhline(floors[r], color=colors[i], linestyle=":", linewidth=1)
    ref = sq_f[:, 0].mean() * widths[0] / widths
    ax.loglog(widths, ref, color="0.5", linestyle="--", label="1/N")
    ax.set(xlabel="hidden width N", ylabel="squared error of f", title="simulation vs DMFT")
    ax.legend(frameon=False, fontsize=6)
    fig.tight_layout()
    out.figure(
        "width_convergence",
        fig,
        f"Per-seed squared error of the outputs f of the {setup} against the DMFT, averaged over {cfg.n_seeds} "
        "seeds, the items and the records, against width N (log-log), one colour per rule with its fitted slope; "
        "grey dashed: 1/N. Dotted horizontal lines: each rule's DMFT Monte-Carlo floor (S against S/2 sites), far "
        "below the simulations' errors.",
        checks=names["width"],
    )
