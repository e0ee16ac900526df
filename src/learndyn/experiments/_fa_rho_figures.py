"""Figures of the fa-rho experiment (:mod:`learndyn.experiments.fa_rho`): loss and eNTK alignment, G~ and the
feature kernels' alignment per hidden layer, final values against rho, and the finite-width errors."""

from __future__ import annotations

import numpy as np

from learndyn import plots


def figures(cfg, out, rhos, widths, rec, th, sm, summ, sq_f, rel_K, names, early_step, loss_bias):
    """Add the experiment's captioned figures to ``out`` (``early_step``: the step of the early-loss check;
    ``loss_bias``: the O(1/N) bias allowance ``loss_bias / N`` of the loss check)."""
    L = cfg.n_hidden
    t = cfg.eta * np.arange(cfg.steps + 1)
    t_rec = cfg.eta * rec
    colors = plots.plt.cm.viridis(np.linspace(0.0, 0.9, len(rhos)))
    Nmax = int(widths[-1])
    setup = (
        f"deep linear mean-field net {cfg.d}-{'-'.join(['N'] * L)}-1 trained by rho-FA (gamma0 = {cfg.gamma0:g}, "
        f"eta = {cfg.eta:g}, {cfg.n_items} Gaussian items, "
        f"{'linear-teacher' if cfg.targets == 'teacher' else '+-1 label'} targets)"
    )

    def theory_style(c):
        return {**plots.THEORY, "color": c}

    # loss and eNTK alignment
    fig, axes = plots.figure(2, 1, width=4.4)
    for i, r in enumerate(rhos):
        c = colors[i]
        ax = axes[0, 0]
        ax.plot(t, th["loss"][i], **theory_style(c))
        m = sm["loss"][i, -1].mean(axis=0)
        ax.plot(t_rec, m, marker="o", markersize=3, color=c, label=f"rho = {r:g}", **plots.SIM)
        ax = axes[0, 1]
        ax.plot(t, th["A_K"][i], **theory_style(c))
        ax.plot(
            t_rec, sm["A_K"][i, -1].mean(axis=0), marker="o", markersize=3, color=c, label=f"rho = {r:g}", **plots.SIM
        )
    axes[0, 0].axvline(cfg.eta * early_step, color="0.6", linestyle=":", linewidth=1)
    axes[0, 0].set(yscale="log", xlabel=plots.TIME_LABEL, ylabel="training loss", title="loss")
    axes[0, 1].set(xlabel=plots.TIME_LABEL, ylabel="A(K, y y^T)", title="eNTK-task alignment")
    for ax in axes[0]:
        ax.plot([], [], label="DMFT", **plots.THEORY)
        ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    out.figure(
        "loss_alignment",
        fig,
        f"Training of a {setup} at rho = {', '.join(f'{r:g}' for r in rhos)} (colours). Left: training loss (log "
        f"scale) against t; dashed: the algebraic DMFT (infinite width), solid with dots: the mean of "
        f"{cfg.n_seeds} simulations at N = {Nmax}. Larger rho trains faster early (dotted line: t_early = "
        f"{cfg.eta * early_step:g}, where the ordering is checked), since K(0) = sum_l rho^(L-l) K^x. Right: the "
        "kernel-task alignment A(K, y y^T) of the eNTK K = sum_l G~^{l+1} Phi^l, same styles: every rule aligns its "
        "kernel with the task (rich regime), and the smaller rho, the higher the final alignment.",
        checks=names["dmft"] + [n for n in names["order"] if "loss" in n or "entk" in n or "rich" in n],
    )

    # G~^l(t) and A(Phi^l, yy^T)(t) per hidden layer
    fig, axes = plots.figure(L, 2, width=3.4)
    for l in range(L):
        for i, r in enumerate(rhos):
            c = colors[i]
            ax = axes[0, l]
            ax.plot(t, th["gt"][i, :, l], **theory_style(c))
            ax.plot(
                t_rec,
                sm["gt"][i, -1, :, :, l, 0, 0].mean(axis=0),
                marker="o",
                markersize=3,
                color=c,
                label=f"rho = {r:g}",
                **plots.SIM,
            )
            ax = axes[1, l]
            ax.plot(t, th["A_phi"][i, :, l + 1], **theory_style(c))
            ax.plot(
                t_rec,
                sm["A_phi"][i, -1, :, :, l + 1].mean(axis=0),
                marker="o",
                markersize=3,
                color=c,
                label=f"rho = {r:g}",
                **plots.SIM,
            )
        axes[0, l].set(xlabel=plots.TIME_LABEL, ylabel=f"G~^{l + 1}", title=f"G~^{l + 1}(t): hidden layer {l + 1}")
        axes[1, l].set(
            xlabel=plots.TIME_LABEL, ylabel=f"A(Phi^{l + 1}, y y^T)", title=f"feature alignment, hidden layer {l + 1}"
        )
    for ax in axes.ravel():
        ax.plot([], [], label="DMFT", **plots.THEORY)
    axes[0, 0].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    out.figure(
        "kernels",
        fig,
        f"Kernels of the {setup}, one column per hidden layer l = 1..{L}; colours: rho; dashed: DMFT, solid with "
        f"dots: mean of {cfg.n_seeds} simulations at N = {Nmax}. Top: the gradient/pseudo-gradient overlap "
        "G~^l = g^l . g~^l / N; it starts at rho^(L+1-l) and grows for every rho, and larger rho gives larger "
        "G~^l at all times. Bottom: kernel-task alignment of the hidden feature kernel Phi^l = h^l . h^l / N "
        "(all start at A(K^x, y y^T)); the later the layer, the stronger the alignment, and the smaller rho, the "
        "more Phi^l aligns with y y^T.",
        checks=[n for n in names["order"] if "gt" in n or "phi" in n],
    )

    # final values against rho
    fig, axes = plots.figure(4, 1, width=3.4)
    marks = ("s", "^", "D", "v", "o")
    panels = (
        ("early_loss", f"loss at t = {cfg.eta * early_step:g}", None),
        ("final_gt", "final G~^l", range(L)),
        ("final_entk_alignment", "final A(K, y y^T)", None),
        ("final_phi_alignment", "final A(Phi^l, y y^T)", range(L)),
    )
    layer_colors = plots.plt.cm.plasma(np.linspace(0.0, 0.8, L))
    for ax, (key, label, layers) in zip(axes[0], panels, strict=True):
        dm, sv = summ[f"dmft_{key}"].values, summ[f"sim_{key}"].values  # (rho[, hidden]), (rho, width[, hidden])
        for k in layers if layers is not None else [None]:
            c = "k" if k is None else layer_colors[k]
            y_th = dm if k is None else dm[:, k]
            ax.plot(rhos, y_th, **{**plots.THEORY, "color": c}, label="DMFT" if k is None else f"DMFT, l = {k + 1}")
            for j, N in enumerate(widths):
                y_sim = sv[:, j] if k is None else sv[:, j, k]
                ax.plot(
                    rhos,
                    y_sim,
                    marker=marks[j % len(marks)],
                    linestyle="none",
                    color=c,
                    alpha=0.5 + 0.5 * j / max(len(widths) - 1, 1),
                    label=f"N = {int(N)}" if k in (None, 0) else None,
                )
        ax.set(xlabel="rho", ylabel=label, title=label)
        ax.legend(frameon=False, fontsize=6)
    fig.tight_layout()
    out.figure(
        "final_vs_rho",
        fig,
        f"Summary of the rho orderings of the {setup}, against rho. Lines (dashed): DMFT; markers: seed means of "
        f"the simulations at N = {', '.join(str(int(n)) for n in widths)} (darker: wider). From left: the loss at "
        f"t_early = {cfg.eta * early_step:g} falls with rho (faster early training); the final G~^l of every "
        "hidden layer (colours: l) rises with rho; the final eNTK-task alignment A(K, y y^T) and the final "
        "feature-kernel alignments A(Phi^l, y y^T) fall with rho: feedback alignment with uncorrelated feedback "
        "learns the more task-aligned representation.",
        checks=[n for n in names["order"] if "final" in n or "early" in n],
    )

    # finite-width errors
    fig, axes = plots.figure(2, 1, width=4.0)
    ax = axes[0, 0]
    for i, r in enumerate(rhos):
        ax.plot(widths, sq_f[i], marker="o", color=colors[i], label=f"rho = {r:g}", **plots.SIM)
        ax.plot(widths, rel_K[i], marker="s", color=colors[i], linestyle=":")
    for ref in (sq_f, rel_K):
        ax.plot(widths, ref.mean(axis=0)[0] * widths[0] / widths, color="0.5", linestyle="--")
    ax.plot([], [], marker="o", color="0.3", label="f: squared error", **plots.SIM)
    ax.plot([], [], marker="s", color="0.3", linestyle=":", label="eNTK: relative squared error")
    ax.plot([], [], color="0.5", linestyle="--", label="1/N")
    ax.set(xscale="log", yscale="log", xlabel="width N", ylabel="squared error vs DMFT", title="finite-width error")
    ax.set_xticks(widths, [str(int(n)) for n in widths])
    ax.minorticks_off()
    lo, hi = min(sq_f.min(), rel_K.min()), max(sq_f.max(), rel_K.max())
    ax.set_ylim(lo / 2, hi * 20)  # room for the legend above the curves
    ax.legend(frameon=False, fontsize=6, ncol=2, loc="upper right")
    ax = axes[0, 1]
    wcol = plots.plt.cm.cividis(np.linspace(0.0, 0.85, len(widths)))
    for j, N in enumerate(widths):
        err = np.abs(sm["loss"][:, j].mean(axis=1) - th["loss"][:, rec]).max(axis=0)
        ax.plot(
            t_rec, np.maximum(err, 1e-12), marker="o", markersize=3, color=wcol[j], label=f"N = {int(N)}", **plots.SIM
        )
        ax.axhline(loss_bias / N, color=wcol[j], linestyle=":", linewidth=1)
    ax.set(yscale="log", xlabel=plots.TIME_LABEL, ylabel="max_rho |<loss>_seeds - DMFT|", title="seed-mean loss error")
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    out.figure(
        "width",
        fig,
        f"Finite-width error of the simulations of the {setup} against the DMFT, {cfg.n_seeds} seeds per width and "
        "rho. Left (log-log): the per-seed squared error of the outputs f (solid, circles; mean over seeds, items "
        "and records) and the relative squared eNTK error <|K_N - K_inf|^2>_t / <|K_inf|^2>_t (dotted, squares), "
        "per rho (colours), against the width N, with 1/N references (grey dashed): both fall as 1/N. Right: the "
        "largest error over rho of the seed-mean loss against t per width (colours), with the O(1/N) bias "
        f"allowance {loss_bias:g}/N (dotted); the remaining gap is the standard error of the seed mean.",
        checks=names["width"],
    )
