"""hierarchy: the hierarchical semantic task; modes are learned in order of singular value.

Reproduces Braun, Dominé, Fitzgerald & Saxe 2022 ("Exact learning dynamics of deep linear networks with prior
knowledge", NeurIPS), Fig. 3. Eight one-hot items (X = I_8, so Sigma_xx = I/8) with eight binary-tree features (root,
first split, two second-level splits, four leaf pairs); feature column j is scaled by 1 + 0.1/j, which breaks the
degeneracy of the singular values s̃ of Sigma_yx = Y^T X / 8. N_h = 14, lr = .05. Three initialisations: Gaussian
small (std 1e-4), Gaussian large (std .42, unbalanced) and zero-balanced large (sigma = .44). The claims: small and
balanced-large initialisations reach the same task-structured representation QQ^T/8 = [V; U] S̃ [V; U]^T, the
balanced one much faster; Gaussian-large keeps structure from its initialisation; a small initialisation learns the
modes in order of s̃ (as in Saxe, McClelland & Ganguli 2014).

Because Sigma_xx = I/8 rather than I, the network map converges to W2 W1 = Sigma_yx Sigma_xx^-1 = 8 Sigma_yx, whose
mode strengths are 8 s̃; the exact solution applies through the scaled-identity rule: the white-input theory on
8 Sigma_yx, run at time t/8. Times are gradient-flow times t = lr * step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learndyn import init, observables, plots, tasks, train
from learndyn._numerics import crossing_time, time_to_fraction
from learndyn.experiments.config import ExperimentConfig, option
from learndyn.experiments.registry import experiment
from learndyn.progress import track
from learndyn.results import Outcome
from learndyn.theory.linear import exact_trajectory

# Singular values of Sigma_yx of the corrected hierarchy to three decimals, as documented in learndyn.tasks.hierarchy.
REFERENCE_SINGULAR_VALUES = (0.389, 0.371, 0.258, 0.256, 0.180, 0.180, 0.179, 0.179)
_NAMES = {"small": "Gaussian small", "gaussian_large": "Gaussian large", "balanced_large": "zero-balanced large"}


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Configuration of hierarchy (defaults: Braun et al. 2022, Fig. 3)."""

    seed: int = option(0, "seed of the initialisations", ge=0)
    n_h: int = option(14, "hidden width; at least 8, the number of items, for the zero-balanced initialisations", ge=8)
    lr: float = option(0.05, "GD learning rate; time t = lr * step", gt=0)
    steps: int = option(2000, "GD steps of the three runs from different initialisations", ge=1)
    sigma_small: float = option(1e-4, "std of the weights of the small Gaussian initialisation", gt=0)
    sigma_gaussian_large: float = option(0.42, "std of the weights of the large unbalanced Gaussian init", gt=0)
    sigma_balanced_large: float = option(0.44, "scale of the large zero-balanced initialisation", gt=0)
    check_steps: int = option(500, "GD steps of the run compared with the exact solution", ge=1)
    check_sigma: float = option(
        0.35, "scale of the zero-balanced initialisation of the run compared with the exact solution", gt=0
    )
    n_records: int = option(120, "log-spaced record times of the three runs, at most steps", ge=1)

    def check(self):
        """Constraints between fields: a record grid that fits the run."""
        if self.n_records > self.steps:
            raise ValueError(
                f"n_records must be <= steps = {self.steps}; got {self.n_records} (at most one record per GD step)"
            )


@experiment(
    "hierarchy",
    Config,
    quick={"n_records": 60},
    description="Hierarchical semantic task: modes learned in order of s; small and balanced inits agree "
    "(Braun et al. 2022, Fig. 3).",
)
def run(cfg: Config) -> Outcome:
    """Three initialisations on the corrected hierarchy; mode order, shared final representation, exact solution."""
    out = Outcome()
    task = tasks.hierarchy()
    sigma, c = task.whitened_correlation()  # sigma = Sigma_yx / c with Sigma_xx = c I, c = 1/8
    svd = task.svd()  # of Sigma_yx itself (not whitened): s̃ as the paper reports it
    U, s, Vt = svd.U, svd.s, svd.V.T
    out.check(
        "singular_values_vs_reference",
        float(np.max(np.abs(s - REFERENCE_SINGULAR_VALUES))),
        "<=",
        1e-3,
        "corrected s̃ of Sigma_yx = Y^T X / 8 against .389, .371, .258, .256, .180, .180, .179, .179 (three decimals)",
    )
    n = task.n_in
    t = train.log_times(cfg.lr, cfg.lr * cfg.steps, cfg.n_records, step=cfg.lr)
    inits = {
        "small": lambda: init.gaussian(cfg.seed, (n, cfg.n_h, n), cfg.sigma_small),
        "gaussian_large": lambda: init.gaussian(cfg.seed + 1, (n, cfg.n_h, n), cfg.sigma_gaussian_large),
        "balanced_large": lambda: init.match_det_sign(
            *init.zero_balanced(cfg.seed + 2, (n, cfg.n_h, n), cfg.sigma_balanced_large), sigma
        ),
    }
    sims = {}
    for label, make in track(list(inits.items()), "hierarchy: initialisations (GD)"):
        sims[label], _ = train.gd_trajectory(task, make(), lr=cfg.lr, t=t, ntk=False)
        out.data[f"{label}/simulation"] = sims[label]

    # Converged task-structured representation [V; U] S [V; U]^T (in the one-hot scale, QQ^T / 8).
    VU = np.concatenate([Vt.T, U], axis=0)
    target = VU @ np.diag(s) @ VU.T
    dist = {k: float(np.max(np.abs(observables.qqt_from_blocks(v) / task.P - target))) for k, v in sims.items()}
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

    # Mode order: half-rise time of each mode's strength u_k^T W2 W1 Sigma_xx v_k (final value s̃_k), small init.
    strength = c * np.einsum("ok,toi,ik->tk", U, sims["small"]["w2w1"].values, Vt.T)
    times = sims["small"]["t"].values
    half = crossing_time(times, strength, s / 2, above=True, never=np.nan)
    distinct = [(i, j) for i in range(n) for j in range(i + 1, n) if s[i] > 1.02 * s[j]]
    inversions = sum(half[i] > half[j] for i, j in distinct) if np.isfinite(half).all() else np.nan
    out.check(
        "mode_order_inversions",
        float(inversions),
        "<=",
        0,
        "pairs of modes with s̃ differing by >2% whose strengths reach half their final value s̃ out of order "
        "(small init); NaN when a mode never gets there",
    )

    def t90(ds):
        loss = ds["loss"].values
        return time_to_fraction(ds["t"].values, loss, 0.1, floor=loss[-1])

    out.check(
        "balanced_faster_than_small",
        t90(sims["balanced_large"]) / t90(sims["small"]),
        "<=",
        0.25,
        "time to 90% of the loss drop, balanced-large over small",
    )

    # The exact solution through the scaled-identity rule (theory on Sigma_yx / c at time c t) against GD.
    W1, W2 = init.match_det_sign(*init.zero_balanced(cfg.seed + 3, (n, cfg.n_h, n), cfg.check_sigma), sigma)
    t_check = cfg.lr * np.unique(np.rint(np.linspace(0, cfg.check_steps, 51)))
    chk, _ = train.gd_trajectory(task, (W1, W2), lr=cfg.lr, t=t_check, ntk=False)
    th = exact_trajectory(task, W1, W2, chk["t"].values, ntk=False)
    out.data["check/simulation"], out.data["check/theory"] = chk, th
    out.check(
        "scaled_identity_theory_vs_gd",
        observables.max_abs_diff(chk, th, "w2w1"),
        "<=",
        1e-2,
        f"largest |W2W1 error| of GD (lr = {cfg.lr:g}) against the exact solution on Sigma_yx / c at time c t "
        f"(c = {c:g}, Sigma_xx = c I)",
    )

    out.figure(
        "task_structure",
        _task_figure(U, s, Vt),
        "Singular value decomposition Sigma_yx = U S̃ V^T of the corrected hierarchy's input-output correlation "
        "(8 one-hot items, 8 binary-tree features); colour is the matrix entry (red positive, blue negative, scale "
        "per panel). The rows of V^T are the items' patterns of the tree's splits (root, first split, the two "
        "second-level splits, the four leaf pairs), with s̃ decreasing down the tree; U S̃ U^T and V S̃ V^T are the "
        "output- and input-side representations that small and zero-balanced initialisations converge to (as "
        "QQ^T/8, see final_representations).",
        checks=["singular_values_vs_reference"],
    )
    out.figure(
        "final_representations",
        _representation_figure(sims, target, task.P),
        f"QQ^T/8 at the end of the runs (t = {cfg.lr * cfg.steps:g}), where Q^T = [W1, W2^T] so that QQ^T = "
        "[[W1^T W1, (W2 W1)^T], [W2 W1, W2 W2^T]], rows and columns the 8 items (input units) then the 8 features "
        "(output units); the factor 1/8 is Sigma_xx = I/8 of the one-hot inputs. The right panel is the "
        "task-structured representation [V; U] S̃ [V; U]^T: the small Gaussian and the zero-balanced large "
        "initialisations should match it, while the Gaussian large one keeps visible structure from its "
        "initialisation.",
        checks=[
            "small_init_reaches_task_representation",
            "balanced_init_reaches_task_representation",
            "gaussian_large_keeps_init_structure",
        ],
    )
    out.figure(
        "learning_curves",
        _curves_figure(sims, times, strength, s, t90),
        "Left: training loss of the three GD runs against time t = lr * step (log axes; the loss axis stops at "
        "1e-10 of its largest value, below which only round-off remains); crosses mark the time to 90% of the loss "
        "drop, much earlier for the zero-balanced large than for the small initialisation. Right: strength of each "
        "mode k of the small-initialisation network, u_k^T W2 W1 Sigma_xx v_k = (u_k^T W2 W1 v_k) / 8 (the map W2 W1 "
        "itself converges to 8 Sigma_yx because Sigma_xx = I/8), which rises sigmoidally from ~0 to the mode's "
        "singular value s̃_k (dotted lines); modes with larger s̃_k rise earlier.",
        checks=["balanced_faster_than_small", "mode_order_inversions"],
    )
    fig, axes = plots.figure(1, width=5.0)
    shown = np.unique(np.linspace(0, n * n - 1, 12).round().astype(int))  # 12 entries spread over the 8 x 8 map
    plots.sim_vs_theory(
        axes[0, 0],
        chk["t"].values,
        chk["w2w1"].values.reshape(chk.sizes["t"], -1)[:, shown],
        th["w2w1"].values.reshape(th.sizes["t"], -1)[:, shown],
        title="network map, GD vs exact",
        ylabel="entries of W2 W1",
    )
    axes[0, 0].set_xlabel(plots.TIME_LABEL)
    fig.tight_layout()
    out.figure(
        "theory_vs_gd",
        fig,
        f"Entries of the network map W2 W1 ({shown.size} of {n * n}) for a zero-balanced initialisation of scale "
        f"{cfg.check_sigma:g} against time t = lr * step (lr = {cfg.lr:g}, linear axis). Coloured solid lines are "
        "GD, black dashed lines the exact solution through the scaled-identity rule (white-input theory on "
        "8 Sigma_yx at time t/8, since Sigma_xx = I/8); they should coincide.",
        checks=["scaled_identity_theory_vs_gd"],
    )
    return out


def _task_figure(U, s, Vt):
    fig, axes = plots.figure(5, width=2.8)
    panels = [
        (U, "U", "mode k", "feature"),
        (np.diag(s), "S̃", "mode k", "mode k"),
        (Vt, "V^T", "item", "mode k"),
        (U @ np.diag(s) @ U.T, "U S̃ U^T", "feature", "feature"),
        (Vt.T @ np.diag(s) @ Vt, "V S̃ V^T", "item", "item"),
    ]
    for ax, (M, title, xlabel, ylabel) in zip(axes[0], panels, strict=True):
        plots.matrix(ax, M, title)
        ax.set(xlabel=xlabel, ylabel=ylabel)
    fig.tight_layout()
    return fig


def _representation_figure(sims, target, P):
    fig, axes = plots.figure(4, width=3.2)
    panels = [(observables.qqt_from_blocks(ds) / P, f"{_NAMES[label]}: QQ^T/8") for label, ds in sims.items()]
    panels.append((target, "task: [V;U] S̃ [V;U]^T"))
    for ax, (M, title) in zip(axes[0], panels, strict=True):
        plots.matrix(ax, M, title)
        ax.set(xlabel="items 1-8, features 1-8", ylabel="items 1-8, features 1-8")
    fig.tight_layout()
    return fig


def _curves_figure(sims, times, strength, s, t90):
    fig, axes = plots.figure(2, width=4.4)
    ax = axes[0, 0]
    top = max(float(ds["loss"].max()) for ds in sims.values())
    for k, (label, ds) in enumerate(sims.items()):
        keep = ds["t"].values > 0
        color = f"C{k}"
        ax.plot(ds["t"].values[keep], ds["loss"].values[keep], color=color, label=_NAMES[label])
        t_90 = t90(ds)
        ax.plot([t_90], [float(ds["loss"].sel(t=t_90))], "x", color=color, ms=7)
    ax.plot([], [], "kx", ls="none", label="90% of the loss drop")
    ax.set(xscale="log", yscale="log", xlabel=plots.TIME_LABEL, ylabel="training loss L", title="loss")
    ax.set_ylim(1e-10 * top, 2 * top)
    ax.legend(frameon=False, fontsize=7)
    ax = axes[0, 1]
    keep = times > 0
    for k in range(strength.shape[1]):
        ax.plot(times[keep], strength[keep, k], color=f"C{k}", label=f"mode {k + 1}: s̃ = {s[k]:.3f}")
        ax.axhline(s[k], xmin=0.55, color=f"C{k}", ls=":", lw=0.8)
    ax.plot([], [], color="0.4", ls=":", lw=0.8, label="final value s̃_k")
    ax.set(xscale="log", xlabel=plots.TIME_LABEL, ylabel="u_k^T W2 W1 Sigma_xx v_k")
    ax.set_title("mode strengths (small init)")
    ax.legend(frameon=False, fontsize=6.5, loc="upper left")
    fig.tight_layout()
    return fig
