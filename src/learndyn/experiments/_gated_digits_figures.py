"""Figures of the gated-digits experiment (:mod:`learndyn.experiments.gated_digits`): accuracy against the init
gain, accuracy and loss over training per gain, and the per-pair accuracy matrices at the smallest and largest gain."""

from __future__ import annotations

import numpy as np

from learndyn import plots

CHANCE = 0.1


def figures(out, data, cfg, names) -> None:
    """Add the captioned figures to ``out`` (``names``: the check names by role)."""
    gains = data["gain"].values
    M, K = cfg.n_domains, cfg.n_trained
    colors = plots.plt.cm.viridis(np.linspace(0.0, 0.9, len(gains)))
    setup = (
        f"routing net {M} x 64 -> {cfg.hidden} -> {cfg.hidden} -> {M} x 10 on digits ({cfg.n_train} training images, "
        f"{M} pixel-permuted input and {M} label-permuted output domains, K = {K} trained output domains per input: "
        f"{M * K} trained and {M * (M - K)} untrained pairs; MSE, full-batch GD, {cfg.steps} steps, "
        f"lr = min({cfg.lr_max:g}, {cfg.lr_lazy:g} / gain^4), {cfg.n_seeds} seeds)"
    )

    # accuracy vs gain
    fig, axes = plots.figure(1, 1, width=4.8)
    ax = axes[0, 0]
    for var, label, marker, color in (
        ("trained_accuracy", "trained pairs", "o", "C0"),
        ("untrained_accuracy", "untrained pairs", "s", "C3"),
    ):
        end = data[var].isel(step=-1).values  # (gain, seed)
        ax.plot(gains, end.mean(axis=1), marker=marker, color=color, label=label, **plots.SIM)
        for s in range(end.shape[1]):
            ax.scatter(gains, end[:, s], marker=marker, color=color, s=10, alpha=0.35, linewidths=0)
    ax.axhline(CHANCE, color="0.5", linestyle=":", label="chance (0.1)")
    ax.axhline(cfg.max_untrained_large, color="C3", linestyle=(0, (2, 4)), linewidth=0.8)
    ax.axhline(cfg.min_untrained_small, color="C0", linestyle=(0, (2, 4)), linewidth=0.8)
    ax.set(xscale="log", ylim=(0.0, 1.0), xlabel="init gain (orthogonal)", ylabel="test accuracy",
           title="trained vs untrained pairs")  # fmt: skip
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    out.figure(
        "accuracy_vs_gain",
        fig,
        "Test accuracy (argmax of the output domain's 10 outputs against the permuted label, "
        f"{data.attrs['n_test_images']} held-out images) at the end of training, averaged over the trained pairs "
        "(blue circles) and over the never-trained pairs (red squares), against the orthogonal init gain; lines: "
        "seed means, dots: single seeds; dotted: chance; short dashes: the check thresholds "
        f"{cfg.min_untrained_small:g} (untrained, smallest gain) and {cfg.max_untrained_large:g} (untrained, largest "
        f"gain). {setup}. Small init learns one shared hidden representation and the untrained pairs are as accurate "
        "as the trained ones; large (lazy) init fits the trained pairs while the untrained pairs fall toward chance. "
        "The output domains share no label, so reading out a wrong domain is wrong on every item; with the "
        f"reference's first {M} lexicographic permutations it would be right on the "
        f"{data.attrs['reference_lexicographic_fixed_labels']} of 10 classes they all keep in place.",
        checks=[names["trained"], names["small"], names["gap"], names["large"], names["monotone"], names["perm"]],
    )

    # accuracy and loss over training
    fig, axes = plots.figure(3, 1, width=4.0)
    for k, g in enumerate(gains):
        t = data["t"].values[k]
        keep = t > 0
        c = colors[k]
        axes[0, 0].plot(t[keep], data["trained_accuracy"].values[k].mean(axis=0)[keep], color=c, label=f"gain {g:g}",
                        **plots.SIM)  # fmt: skip
        axes[0, 0].plot(t[keep], data["untrained_accuracy"].values[k].mean(axis=0)[keep], color=c, linestyle="--",
                        linewidth=1.4)  # fmt: skip
        for s in range(data.sizes["seed"]):
            axes[0, 1].plot(t[keep], data["loss"].values[k, s][keep], color=c, linewidth=1.0, alpha=0.7,
                            label=f"gain {g:g}" if s == 0 else None)  # fmt: skip
        axes[0, 2].plot(
            np.arange(data.sizes["step"])[1:], data["trained_train_accuracy"].values[k].mean(axis=0)[1:], color=c,
            **plots.SIM,
        )  # fmt: skip
    axes[0, 0].axhline(CHANCE, color="0.5", linestyle=":")
    axes[0, 0].set(xscale="log", ylim=(0.0, 1.0), xlabel=plots.TIME_LABEL, ylabel="test accuracy",
                   title="trained (solid) / untrained (dashed)")  # fmt: skip
    axes[0, 0].legend(frameon=False, fontsize=7)
    axes[0, 1].set(xscale="log", yscale="log", xlabel=plots.TIME_LABEL, ylabel="training loss",
                   title="training loss (each seed)")  # fmt: skip
    steps = data["step"].values
    ticks = np.linspace(1, len(steps) - 1, 4).astype(int)
    axes[0, 2].set_xticks(ticks, [str(int(steps[i])) for i in ticks])
    axes[0, 2].set(ylim=(0.0, 1.05), xlabel="GD step (log-spaced records)", ylabel="training-image accuracy",
                   title="fit of the trained pairs")  # fmt: skip
    fig.tight_layout()
    out.figure(
        "training",
        fig,
        f"Training per init gain (colours), {setup}. Left: test accuracy of the trained (solid) and untrained "
        "(dashed) pairs, seed means, against gradient-flow time t = lr * step (the learning rate differs per gain, "
        "so the runs cover different t with the same number of steps). Small gains sit on a plateau, then learn "
        "trained and untrained pairs together; large gains learn the trained pairs while the untrained ones stay "
        "near chance (dotted). The dip during the small-gain escape is part of the flow (the first mode learned "
        "is the class-mean output of the uncentred one-hot targets). Middle: training MSE loss of every seed. "
        "Right: accuracy on the training images of the trained pairs against the step (the records are "
        "log-spaced in steps): the fit the lazy runs reach within the step budget.",
        checks=[names["trained"], names["large"]],
    )

    # per-pair accuracy at the smallest and largest gain
    fig, axes = plots.figure(2, 1, width=3.6, height=3.4)
    mask = data["trained"].values.astype(bool)
    for ax, k in zip(axes[0], (0, len(gains) - 1), strict=True):
        A = data["pair_accuracy"].values[k].mean(axis=0)
        im = ax.imshow(A, vmin=0.0, vmax=1.0, cmap="magma")
        for i in range(M):
            for j in range(M):
                ax.text(j, i, f"{A[i, j]:.2f}", ha="center", va="center", fontsize=6,
                        color="k" if A[i, j] > 0.6 else "w", fontweight="bold" if mask[i, j] else "normal")  # fmt: skip
                if mask[i, j]:
                    ax.add_patch(plots.plt.Rectangle((j - 0.42, i - 0.42), 0.84, 0.84, fill=False, edgecolor="C0",
                                                     linewidth=1.5))  # fmt: skip
        ax.set(xticks=range(M), yticks=range(M), xlabel="output domain j", ylabel="input domain i",
               title=f"gain {gains[k]:g}")  # fmt: skip
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="test accuracy")
    out.figure(
        "pair_accuracy",
        fig,
        "Test accuracy of every (input domain, output domain) pair at the end of training, seed mean, at the "
        f"smallest (left) and largest (right) init gain; boxed, bold: the {M * K} trained pairs (gate "
        f"K_plus_mod_permute: input i with outputs (i + o) mod {M}, o < {K}, output columns permuted). {setup}. "
        "At small gain every pair is about equally accurate; at large gain only the trained pairs are.",
        checks=[names["small"], names["large"]],
    )
