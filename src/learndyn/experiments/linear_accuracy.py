"""linear-accuracy: GD against the exact solution over random shapes (square ones included) and learning rates.

Reproduces Braun, Dominé, Fitzgerald & Saxe 2022 ("Exact learning dynamics of deep linear networks with prior
knowledge", NeurIPS), Fig. 2c: random tasks with N_i, N_o ~ U{2..50}, N_h ~ U{m..50} (m = min(N_i, N_o)),
P ~ U{2 max, 3 max} items (max = max(N_i, N_o)), inputs X ~ N(0, 1/N_i) whitened, targets Y ~ N(0, 1/N_o), and a
zero-balanced initialisation of scale sigma ~ U(.01, .5) / sqrt(max); learning rates geomspace(.05, 5e-4, 7), 20000
GD steps at every learning rate (so a run lasts t = lr * 20000). The metric is the mean squared difference between
the simulated and the exact loss over the run, sampled on evenly spaced records.

Unlike the paper, square shapes are kept (every ``square_every``-th task is forced square). A square zero-balanced
initialisation whose ``sign det W2 W1(0)`` differs from the task's starts on the way to a saddle: the matrix B of the
exact solution is singular and the exact flow stays at the saddle, but GD's own O(lr) imbalance lets a mode cross
zero after a plateau (see the reversal experiment), so GD and gradient flow part by O(1) and no accuracy claim can
hold. Square initialisations therefore get their determinant sign matched to the task's (one input column of W1
flipped, which keeps them zero-balanced).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from learndyn import init, observables, plots, tasks, train
from learndyn.experiments.config import ExperimentConfig, option
from learndyn.experiments.registry import experiment
from learndyn.progress import track
from learndyn.results import Outcome
from learndyn.theory.linear import exact_trajectory

_PAPER_LRS = tuple(float(f"{x:.3g}") for x in np.geomspace(0.05, 5e-4, 7))  # 0.05, 0.0232, ..., 0.00108, 0.0005
_MSE_MAX = 1e-6  # threshold of max_loss_mse
_W2W1_MAX = 1e-3  # threshold of max_err_w2w1_lr_near_1e-3


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Configuration of linear-accuracy (defaults: Braun et al. 2022, Fig. 2c)."""

    seed: int = option(0, "seed of the random shapes, tasks and initialisations", ge=0)
    n_tasks: int = option(50, "number of random tasks, each with its own shape", ge=1)
    dim_max: int = option(50, "largest layer width: N_i, N_o ~ U{2..dim_max}, N_h ~ U{min(N_i, N_o)..dim_max}", ge=2)
    square_every: int = option(5, "every square_every-th task is made square, N_o = N_i; 1 makes all square", ge=1)
    lrs: tuple[float, ...] = option(_PAPER_LRS, "GD learning rates, each run for the same number of steps", gt=0)
    steps: int = option(20_000, "GD steps at every learning rate; a run ends at t = lr * steps", ge=1)
    n_records: int = option(201, "evenly spaced records per run, first and last step included; at most steps + 1", ge=2)

    def check(self):
        """Constraints between fields: distinct learning rates, a record grid that fits the run."""
        if len(set(self.lrs)) != len(self.lrs):
            raise ValueError(f"lrs must be distinct (one column of results per learning rate); got {list(self.lrs)}")
        if self.n_records > self.steps + 1:
            raise ValueError(
                f"n_records must be <= steps + 1 = {self.steps + 1}; got {self.n_records} (at most one record per GD "
                "step, t = 0 included)"
            )


@experiment(
    "linear-accuracy",
    Config,
    quick={"n_tasks": 6, "lrs": (0.05, 0.005, 1e-3, 5e-4), "n_records": 101},
    description="GD vs exact loss over random shapes incl. square ones and 7 learning rates (Braun et al. 2022, "
    "Fig. 2c).",
)
def run(cfg: Config) -> Outcome:
    """Loss MSE and max W2W1 error between GD and the exact solution, per task and learning rate."""
    rng = np.random.default_rng(cfg.seed)
    lrs = np.asarray(sorted(cfg.lrs, reverse=True))
    mse = np.zeros((cfg.n_tasks, lrs.size))
    werr = np.zeros_like(mse)
    ratio = np.zeros(cfg.n_tasks)  # max W2W1 error at lrs[0] over that at lrs[0] / 2, same time grid
    # Record steps: evenly spaced, integer and distinct, so that every recorded time t = lr * step is one GD step.
    record_steps = np.unique(np.rint(np.linspace(0, cfg.steps, cfg.n_records)))
    shapes, methods = [], []
    for k in track(range(cfg.n_tasks), "linear-accuracy: random tasks (GD at every lr, exact)"):
        n_in = int(rng.integers(2, cfg.dim_max + 1))
        n_out = n_in if (k % cfg.square_every == cfg.square_every - 1) else int(rng.integers(2, cfg.dim_max + 1))
        m, big = min(n_in, n_out), max(n_in, n_out)
        n_h = int(rng.integers(m, cfg.dim_max + 1)) if m < cfg.dim_max else m
        P = int(rng.integers(2 * big, 3 * big + 1))
        task = tasks.random_regression(P, n_in, n_out, seed=int(rng.integers(2**31)))
        sigma = rng.uniform(0.01, 0.5) / np.sqrt(big)
        W1, W2 = init.match_det_sign(
            *init.zero_balanced(int(rng.integers(2**31)), (n_in, n_h, n_out), sigma), task.whitened_correlation()[0]
        )
        for j, lr in enumerate(lrs):
            sim, _ = train.gd_trajectory(task, (W1, W2), lr=float(lr), t=lr * record_steps, ntk=False, rsm=False)
            th = exact_trajectory(task, W1, W2, sim["t"].values, ntk=False, rsm=False)
            mse[k, j] = float(np.mean((sim["loss"].values - th["loss"].values) ** 2))
            werr[k, j] = observables.max_abs_diff(sim, th, "w2w1")
            if j == 0:
                half, _ = train.gd_trajectory(task, (W1, W2), lr=float(lr) / 2, t=sim["t"].values, ntk=False, rsm=False)
                ratio[k] = werr[k, 0] / observables.max_abs_diff(half, th, "w2w1")
        shapes.append((n_in, n_h, n_out))
        methods.append(th.attrs.get("method", ""))

    square = np.array([a == c for a, _, c in shapes])
    out = Outcome()
    out.data["accuracy"] = xr.Dataset(
        {
            "loss_mse": (("task", "lr"), mse),
            "max_err_w2w1": (("task", "lr"), werr),
            "halving_ratio": (("task",), ratio),
            "shape": (("task", "layer"), np.array(shapes)),
            "square": (("task",), square),
            "method": (("task",), np.array(methods, dtype=str)),
        },
        coords={"task": np.arange(cfg.n_tasks), "lr": lrs, "layer": ["n_in", "n_h", "n_out"]},
    )
    out.check(
        "max_loss_mse",
        float(mse.max()),
        "<=",
        _MSE_MAX,
        f"largest loss MSE between GD and the exact solution, over all tasks and lr <= {lrs[0]:.3g}",
    )
    out.check(
        "median_loss_mse_smallest_lr",
        float(np.median(mse[:, -1])),
        "<=",
        1e-10,
        f"median over tasks of the loss MSE at the smallest lr = {lrs[-1]:.2g}",
    )
    checks = ["max_loss_mse", "median_loss_mse_smallest_lr"]
    if square.any():
        checks.append("max_loss_mse_square_tasks")
        out.check(
            checks[-1],
            float(mse[square].max()),
            "<=",
            _MSE_MAX,
            "largest loss MSE over the square shapes alone (initial sign of det W2 W1 matched to the task's)",
        )
    j3 = int(np.argmin(np.abs(np.log(lrs / 1e-3))))
    checks.append("max_err_w2w1_lr_near_1e-3")
    out.check(
        checks[-1],
        float(werr[:, j3].max()),
        "<=",
        _W2W1_MAX,
        f"largest |W2W1 error| over the run and all tasks at lr = {lrs[j3]:.3g}",
    )
    checks.append("gd_error_halving_ratio")
    out.check(
        checks[-1],
        float(np.max(np.abs(ratio - 2.0))),
        "<=",
        0.2,
        f"max over tasks of |err(lr) / err(lr/2) - 2| at lr = {lrs[0]:.3g}: the GD error is first order in lr",
    )

    out.figure(
        "accuracy_vs_lr",
        _figure(lrs, mse, werr, square, rng, j3),
        f"GD against the exact solution on {cfg.n_tasks} random tasks, each run for {cfg.steps} steps at every "
        "learning rate (so to t = lr * steps). Left: mean squared difference between the GD loss and the exact loss "
        "over the run; right: the largest |W2W1 error| over the run; one dot per task and learning rate (jittered "
        "sideways; red: square shapes, blue: others), solid black line the median over tasks. Dashed: slope-one "
        "line O(lr) through the median at the largest lr; dotted: the thresholds of max_loss_mse (left) and of "
        "max_err_w2w1_lr_near_1e-3 (right, drawn at the lr it applies to). The errors should fall with lr, the "
        "W2W1 error in proportion to it, and square shapes should be as accurate as the others (as in Braun et al. "
        "2022, Fig. 2c).",
        checks=checks,
    )
    return out


def _figure(lrs, mse, werr, square, rng, j3):
    """Loss MSE and max W2W1 error against the learning rate, one dot per task."""
    n_tasks = mse.shape[0]
    fig, axes = plots.figure(2)
    for ax, data, name in ((axes[0, 0], mse, "loss MSE over the run"), (axes[0, 1], werr, "max |W2W1 error|")):
        for j, lr in enumerate(lrs):
            ax.scatter(
                np.full(n_tasks, lr) * np.exp(rng.uniform(-0.08, 0.08, n_tasks)),
                data[:, j],
                s=8,
                c=np.where(square, "tab:red", "tab:blue"),
                alpha=0.6,
            )
        ax.plot(lrs, np.median(data, axis=0), "k-", label="median over tasks")
        ax.scatter([], [], s=8, c="tab:blue", label="non-square task")
        if square.any():
            ax.scatter([], [], s=8, c="tab:red", label="square task")
        ax.set(xscale="log", yscale="log", xlabel="learning rate lr", ylabel=name)
    axes[0, 0].axhline(_MSE_MAX, color="0.4", ls=":", lw=1, label="threshold (max_loss_mse)")
    axes[0, 1].plot(lrs, lrs * np.median(werr[:, 0]) / lrs[0], "k--", lw=1, label="O(lr) reference")
    near = lrs[j3] * np.array([0.6, 1.6])
    axes[0, 1].plot(near, [_W2W1_MAX] * 2, color="0.4", ls=":", lw=1.5, label=f"threshold at lr = {lrs[j3]:.2g}")
    axes[0, 0].set_title("loss: GD vs exact", fontsize=10)
    axes[0, 1].set_title("network map: GD vs exact", fontsize=10)
    legend = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.tight_layout(rect=(0, 0.12, 1, 1))  # room for one legend under both panels
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=3, frameon=False, fontsize=8)
    return fig
