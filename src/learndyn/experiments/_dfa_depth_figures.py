"""Figures of the dfa-depth experiment (:mod:`learndyn.experiments.dfa_depth`): loss and eNTK clustering, the
alignment of Phi^L and of the gradients, the final eNTK matrices, and the finite-width errors."""

from __future__ import annotations

import numpy as np

from learndyn import plots


def figures(cfg, out, gammas, widths, rec, th, sm, sq_f, rel_K, loss_err, names, early_step, loss_bias):
    """Add the experiment's captioned figures to ``out`` (``early_step``: the step of the early-loss check;
    ``loss_bias``: the O(1/N) allowance ``loss_bias / N`` of the seed-mean loss check)."""
    L, P = cfg.n_hidden, cfg.n_items
    t = cfg.eta * np.arange(cfg.steps + 1)
    t_rec = cfg.eta * rec
    colors = plots.plt.cm.viridis(np.linspace(0.0, 0.85, len(gammas)))
    Nmax = int(widths[-1])
    setup = (
        f"mean-field tanh net {cfg.d}-{'-'.join(['N'] * L)}-1 trained by DFA (eta = {cfg.eta:g}; {P} items of two "
        f"Gaussian classes, labels +-1)"
    )
    sim_txt = f"solid with dots: the mean of {cfg.n_seeds} simulations at N = {Nmax}"
    g_txt = ", ".join(f"{g:g}" for g in gammas)

    def pair(ax, i, y_th, y_sim, label=True):
        ax.plot(t, y_th, **{**plots.THEORY, "color": colors[i]})
        ax.plot(
            t_rec,
            y_sim,
            marker="o",
            markersize=3,
            color=colors[i],
            label=f"gamma0 = {gammas[i]:g}" if label else None,
            **plots.SIM,
        )

    def legend(ax):
        ax.plot([], [], label="DMFT", **plots.THEORY)
        ax.legend(frameon=False, fontsize=7)

    # loss and eNTK clustering
    fig, axes = plots.figure(2, 1, width=4.4)
    for i in range(len(gammas)):
        pair(axes[0, 0], i, th["loss"][i], sm["loss"][i, -1].mean(axis=0))
        pair(axes[0, 1], i, th["contrast"][i], sm["contrast"][i, -1].mean(axis=0))
    axes[0, 0].axvline(cfg.eta * early_step, color="0.6", linestyle=":", linewidth=1)
    axes[0, 0].set(yscale="log", xlabel=plots.TIME_LABEL, ylabel="training loss", title="loss")
    axes[0, 1].set(xlabel=plots.TIME_LABEL, ylabel="class contrast of K", title="eNTK clustering by class")
    for ax in axes[0]:
        legend(ax)
    fig.tight_layout()
    out.figure(
        "loss",
        fig,
        f"Training of a {setup} at gamma0 = {g_txt} (colours). Left: training loss (log scale) against t; dashed: the "
        f"Monte-Carlo DMFT (infinite width), {sim_txt}. At t = 0 every gamma0 has the same eNTK (Phi^L), and the "
        "richer net trains faster as its features and gradients move (dotted line: t_early = "
        f"{cfg.eta * early_step:g}, where the ordering is checked). Right: the eNTK's class contrast (mean "
        "within-class K minus mean between-class K, over mean |K|), same styles: it grows during training, the more "
        "so the larger gamma0.",
        checks=[n for n in names["dmft"] if "loss" in n or "mc" in n]
        + [n for n in names["order"] if "loss" in n or "contrast" in n],
    )

    # alignment of Phi^L and of the gradients over time
    fig, axes = plots.figure(3, 1, width=3.6)
    for i in range(len(gammas)):
        pair(axes[0, 0], i, th["A_phiL"][i], sm["A_phiL"][i, -1].mean(axis=0))
        pair(axes[0, 1], i, th["top_phiL"][i], sm["top_phiL"][i, -1].mean(axis=0))
        pair(axes[0, 2], i, th["corr"][i].mean(axis=1), sm["corr"][i, -1].mean(axis=(0, 2)))
    axes[0, 0].set(xlabel=plots.TIME_LABEL, ylabel="A(Phi^L, y y^T)", title=f"task alignment of Phi^{L}")
    axes[0, 1].set(xlabel=plots.TIME_LABEL, ylabel="lambda_max / trace", title=f"rank-one tendency of Phi^{L}")
    axes[0, 2].set(xlabel=plots.TIME_LABEL, ylabel="corr(g, g~)", title="gradient / pseudo-gradient correlation")
    for ax in axes[0]:
        legend(ax)
    fig.tight_layout()
    out.figure(
        "alignment",
        fig,
        f"Representation and gradient alignment of the {setup}; colours: gamma0; dashed: DMFT, {sim_txt}. Left: "
        f"kernel-task alignment A(Phi^L, y y^T) of the last hidden layer's feature kernel. Middle: its largest "
        "eigenvalue over its trace (1: rank one). Right: corr(g, g~), the per-item cosine of the true backward "
        f"signal g^l and DFA's pseudo-gradient g~^l = phi'(h^l) z~^l, averaged over items and the {L} hidden layers; "
        "it starts at 0 (random feedback, checked) and grows as the forward weights align with the feedback. All three "
        "end higher for larger gamma0 (Fig. 3b,c).",
        checks=[n for n in names["order"] if "phi" in n or "corr" in n]
        + [n for n in names["dmft"] if "rich" in n or "corr" in n],
    )

    # final eNTK matrices per gamma0 (items sorted by class)
    n = len(gammas)
    fig, axes = plots.figure(n, 2, width=2.9, height=2.7)
    for i, g0 in enumerate(gammas):
        for row, (K, src) in enumerate(((th["entk"][i, -1], "DMFT"), (sm["entk"][i, -1, :, -1].mean(axis=0), "sim"))):
            ax = axes[row, i]
            vmax = float(np.max(np.abs(K)))
            im = ax.imshow(K, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
            ax.axhline(P / 2 - 0.5, color="k", linewidth=0.6)
            ax.axvline(P / 2 - 0.5, color="k", linewidth=0.6)
            ax.set(title=f"{src}, gamma0 = {g0:g}", xticks=[], yticks=[])
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    out.figure(
        "entk_final",
        fig,
        f"The final eNTK K(t = {cfg.eta * cfg.steps:g}) of the {setup}, one column per gamma0 = {g_txt}. Top: DMFT; "
        f"bottom: the seed mean of the simulations at N = {Nmax}. Items are sorted by class (first {P // 2}: y = +1; "
        "lines mark the class boundary); colour scale symmetric about 0 per panel. The kernel has a two-block "
        "structure (positive within a class, negative between classes) that sharpens with gamma0 (Fig. 3d).",
        checks=[n for n in names["order"] if "entk" in n and "err" not in n],
    )

    # finite-width errors
    fig, axes = plots.figure(2, 1, width=4.2)
    ax = axes[0, 0]
    for i, g0 in enumerate(gammas):
        ax.plot(widths, sq_f[i], marker="o", color=colors[i], label=f"gamma0 = {g0:g}", **plots.SIM)
        ax.plot(widths, rel_K[i], marker="s", color=colors[i], linestyle=":")
    mean = sq_f.mean(axis=0)
    slope, icpt = np.polyfit(np.log(widths), np.log(mean), 1)
    ax.plot(widths, np.exp(icpt) * widths**slope, color="k", linewidth=1, label=f"fit (mean f error): N^{slope:.2f}")
    ax.plot(widths, mean[0] * widths[0] / widths, color="0.5", linestyle="--", label="1/N")
    ax.plot([], [], marker="o", color="0.3", label="f: squared error", **plots.SIM)
    ax.plot([], [], marker="s", color="0.3", linestyle=":", label="eNTK: relative squared error")
    ax.set(xscale="log", yscale="log", xlabel="width N", ylabel="squared error vs DMFT", title="finite-width error")
    ax.set_xticks(widths, [str(int(n)) for n in widths])
    ax.minorticks_off()
    lo, hi = min(sq_f.min(), rel_K.min()), max(sq_f.max(), rel_K.max())
    ax.set_ylim(lo / 2, hi * 30)
    ax.legend(frameon=False, fontsize=6, ncol=2, loc="upper right")
    ax = axes[0, 1]
    wcol = plots.plt.cm.cividis(np.linspace(0.0, 0.85, len(widths)))
    for j, N in enumerate(widths):
        err = loss_err[:, j].max(axis=0)
        ax.plot(
            t_rec, np.maximum(err, 1e-12), marker="o", markersize=3, color=wcol[j], label=f"N = {int(N)}", **plots.SIM
        )
        ax.axhline(loss_bias / N, color=wcol[j], linestyle=":", linewidth=1)
    ax.set(
        yscale="log", xlabel=plots.TIME_LABEL, ylabel="max_gamma0 |<loss>_seeds - DMFT|", title="seed-mean loss error"
    )
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    out.figure(
        "width",
        fig,
        f"Finite-width error of the simulations of the {setup} against the DMFT, {cfg.n_seeds} seeds per width and "
        "gamma0. Left (log-log): the per-seed squared error of the outputs f (solid, circles; mean over seeds, "
        "items and records) and the relative squared eNTK error <|K_N - K_inf|^2>_t / <|K_inf|^2>_t (dotted, "
        f"squares), per gamma0 (colours), against the width N, with the fitted power law of the gamma0-mean f error "
        f"(black, slope {slope:.2f}) and a 1/N reference (grey dashed): the squared errors fall as 1/N, and are "
        "smaller at larger gamma0 (Fig. 3e). Right: the largest error over gamma0 of the seed-mean loss against t "
        f"per width (colours), with the O(1/N) allowance {loss_bias:g}/N (dotted) that the check adds to 3 standard "
        "errors of the seed mean and 3 Monte-Carlo errors of the DMFT.",
        checks=names["width"] + [n for n in names["order"] if "err" in n],
    )
