"""hierarchy: the hierarchical semantic task; modes are learned in order of singular value (spec Fig. 3).

One-hot items (X = I_8, so sigma_xx = I/8 and the exact theory runs on 8 sigma_yx at theory time t/8), 8 binary-tree
features with the degeneracy-breaking correction, N_h = 14, lr = .05. Three initialisations: Gaussian small
(std 1e-4), Gaussian large (std .42, unbalanced) and zero-balanced large (sigma = .44). The claims: small and
balanced-large initialisations reach the same task-structured representation QQ^T/8, the balanced one much faster;
Gaussian-large keeps structure from its initialisation; a small initialisation learns modes in order of s̃.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learndyn import init, plots, tasks, train
from learndyn.experiments._common import gd_trajectory, max_err, qqt_from_blocks
from learndyn.experiments.registry import experiment
from learndyn.results import Outcome
from learndyn.theory.linear import exact_trajectory

SPEC_SINGULAR_VALUES = (0.389, 0.371, 0.258, 0.256, 0.180, 0.180, 0.179, 0.179)


@dataclass(frozen=True)
class Config:
    """Configuration of hierarchy (defaults: spec Fig. 3 and AC14)."""

    seed: int = 0
    n_h: int = 14
    lr: float = 0.05
    steps: int = 2000
    sigma_small: float = 1e-4
    sigma_gaussian_large: float = 0.42
    sigma_balanced_large: float = 0.44
    check_steps: int = 500
    check_sigma: float = 0.35
    n_records: int = 120


@experiment(
    "hierarchy",
    Config,
    quick={"n_records": 60},
    description="Hierarchical semantic task: modes learned in order of s; small and balanced inits agree.",
)
def run(cfg: Config) -> Outcome:
    """Three initialisations on the corrected hierarchy; mode order, shared final representation, AC14."""
    out = Outcome()
    task = tasks.hierarchy()
    sigma, c = task.whitened_correlation()
    U, s, Vt = np.linalg.svd(task.sigma_yx)
    out.check(
        "singular_values_vs_spec",
        float(np.max(np.abs(s - SPEC_SINGULAR_VALUES))),
        "<=",
        1e-3,
        "corrected s̃ of Y^T X / 8 against the spec's table (AC14)",
    )
    n = task.n_in
    t = train.log_times(cfg.lr, cfg.lr * cfg.steps, cfg.n_records)
    inits = {
        "small": init.gaussian(cfg.seed, (n, cfg.n_h, n), cfg.sigma_small),
        "gaussian_large": init.gaussian(cfg.seed + 1, (n, cfg.n_h, n), cfg.sigma_gaussian_large),
        "balanced_large": init.match_det_sign(
            *init.zero_balanced(cfg.seed + 2, n, cfg.n_h, n, cfg.sigma_balanced_large), sigma
        ),
    }
    sims = {}
    for label, weights in inits.items():
        sims[label], _ = gd_trajectory(task, weights, lr=cfg.lr, t=t, ntk=False)
        out.data[f"{label}/simulation"] = sims[label]

    # Converged task-structured representation [V; U] S [V; U]^T (in the one-hot scale, QQ^T / 8).
    VU = np.concatenate([Vt.T, U], axis=0)
    target = VU @ np.diag(s) @ VU.T
    dist = {k: float(np.max(np.abs(qqt_from_blocks(v) / task.P - target))) for k, v in sims.items()}
    out.check(
        "small_init_reaches_task_representation",
        dist["small"],
        "<=",
        1e-2,
        "max |QQ^T/8 - [V;U] S [V;U]^T| at the end, small Gaussian init",
    )
    out.check(
        "balanced_init_reaches_task_representation",
        dist["balanced_large"],
        "<=",
        1e-2,
        "same for the zero-balanced large init",
    )
    out.check(
        "gaussian_large_keeps_init_structure",
        dist["gaussian_large"],
        ">=",
        0.05,
        "the unbalanced large init does not reach it (its W2^T W2 - W1 W1^T is conserved and non-zero)",
    )

    # Mode order: half-rise time of each mode's strength u_k^T W2 W1 v_k for the small init.
    strength = np.einsum("ok,toi,ik->tk", U, sims["small"]["w2w1"].values, Vt.T)
    times = sims["small"]["t"].values
    half = np.array([times[np.argmax(strength[:, k] >= s[k] / 2)] for k in range(n)])
    distinct = [(i, j) for i in range(n) for j in range(i + 1, n) if s[i] > 1.02 * s[j]]
    inversions = sum(half[i] > half[j] for i, j in distinct)
    out.check(
        "mode_order_inversions",
        float(inversions),
        "<=",
        0,
        "pairs of modes with s̃ differing by >2% learned out of order (small init)",
    )

    def t90(ds):
        gap = ds["loss"].values - ds["loss"].values[-1]
        return float(ds["t"].values[np.argmax(gap <= 0.1 * gap[0])])

    out.check(
        "balanced_faster_than_small",
        t90(sims["balanced_large"]) / t90(sims["small"]),
        "<=",
        0.25,
        "time to 90% of the loss drop, balanced-large over small",
    )

    # AC14: scaled-identity rule (theory on 8 sigma_yx at time t/8) against GD.
    W1, W2 = init.match_det_sign(*init.zero_balanced(cfg.seed + 3, n, cfg.n_h, n, cfg.check_sigma), sigma)
    chk, _ = gd_trajectory(task, (W1, W2), lr=cfg.lr, t=train.linear_times(cfg.lr * cfg.check_steps, 51), ntk=False)
    th = exact_trajectory(task, W1, W2, chk["t"].values, ntk=False)
    out.data["check/simulation"], out.data["check/theory"] = chk, th
    out.check(
        "scaled_identity_theory_vs_gd",
        max_err(chk, th, "w2w1"),
        "<=",
        1e-2,
        f"max |W2W1 error|, GD lr={cfg.lr} vs theory with sigma_yx/c, t*c (c = {c:g}) (AC14)",
    )

    out.figures["task_structure"] = _task_figure(U, s, Vt)
    fig, axes = plots.figure(4, width=3.2)
    for ax, (label, ds) in zip(axes[0], sims.items(), strict=False):
        plots.matrix(ax, qqt_from_blocks(ds) / task.P, f"final QQ^T/8: {label}")
    plots.matrix(axes[0, 3], target, "[V;U] S [V;U]^T")
    fig.tight_layout()
    out.figures["final_representations"] = fig
    fig, axes = plots.figure(2)
    for label, ds in sims.items():
        axes[0, 0].plot(ds["t"], ds["loss"] / task.P, label=label)
    axes[0, 0].set(xscale="log", yscale="log", xlabel="t", ylabel="loss / 8", title="loss")
    axes[0, 0].legend(frameon=False, fontsize=8)
    for k in range(n):
        axes[0, 1].plot(times, strength[:, k], label=f"s̃={s[k]:.3f}")
    axes[0, 1].set(xscale="log", xlabel="t", ylabel="u_k^T W2W1 v_k", title="mode strengths (small init)")
    axes[0, 1].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    out.figures["learning_curves"] = fig
    return out


def _task_figure(U, s, Vt):
    fig, axes = plots.figure(5, width=2.8)
    for ax, (M, title) in zip(
        axes[0],
        [
            (U, "U"),
            (np.diag(s), "S"),
            (Vt, "V^T"),
            (U @ np.diag(s) @ U.T, "U S U^T"),
            (Vt.T @ np.diag(s) @ Vt, "V S V^T"),
        ],
        strict=True,
    ):
        plots.matrix(ax, M, title)
    fig.tight_layout()
    return fig
