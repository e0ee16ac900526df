"""continual: sequential tasks; the exact theory restarted at each switch and the analytic forgetting (spec Fig. 5).

A 5-10-6 network (P = 25, lr = .05) learns 4 random whitened regression tasks in turn, 10^4 steps each (the spec's
6000 leave the weakest modes short of the convergence that the 1e-4 forgetting check needs), from a small
zero-balanced initialisation (sigma = 1e-4); every task continues from the current weights. The theory is chained:
each task's exact solution starts from the previous task's exact end state (QQ^T factored back into balanced
weights), never from the simulation. When task j has converged the network computes sigma_j, so the loss of an
earlier task i rises by exactly 1/2 ||sigma_i - sigma_j||_F^2 (whitened inputs): the analytic forgetting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from learndyn import init, observables, plots, tasks, train
from learndyn.experiments._common import gd_trajectory, max_err, qqt_from_blocks, theory_trajectory, weights_from_qqt
from learndyn.experiments.registry import experiment
from learndyn.results import Outcome


@dataclass(frozen=True)
class Config:
    """Configuration of continual (defaults: spec Fig. 5a)."""

    seed: int = 0
    n_in: int = 5
    n_h: int = 10
    n_out: int = 6
    P: int = 25
    n_tasks: int = 4
    lr: float = 0.05
    steps_per_task: int = 10_000
    sigma: float = 1e-4
    n_records: int = 80


@experiment(
    "continual",
    Config,
    quick={"n_tasks": 3, "n_records": 40},
    description="Sequential tasks: theory restarted at each switch; forgetting = 1/2 ||S_i - S_j||^2 (Fig. 5).",
)
def run(cfg: Config) -> Outcome:
    """Train on tasks in sequence; compare GD to the chained exact solution and forgetting to its formula."""
    out = Outcome()
    rng = np.random.default_rng(cfg.seed)
    task_list = [
        tasks.random_regression(cfg.P, cfg.n_in, cfg.n_out, seed=int(rng.integers(2**31))) for _ in range(cfg.n_tasks)
    ]
    sigmas = [tk.whitened_correlation()[0] for tk in task_list]
    w_sim = init.zero_balanced(int(rng.integers(2**31)), cfg.n_in, cfg.n_h, cfg.n_out, cfg.sigma)
    w_th = w_sim
    t_local = train.log_times(cfg.lr, cfg.lr * cfg.steps_per_task, cfg.n_records)
    T = cfg.lr * cfg.steps_per_task
    loss_sim, loss_th, t_all, balance = [], [], [], []
    end_loss = np.zeros((cfg.n_tasks, cfg.n_tasks))  # end_loss[i, j]: loss of task i after training on task j
    for k, task in enumerate(task_list):
        sim, w_sim = gd_trajectory(task, w_sim, lr=cfg.lr, t=t_local, ntk=False, rsm=False)
        th = theory_trajectory(task, *w_th, sim["t"].values, ntk=False, rsm=False)
        w_th = weights_from_qqt(qqt_from_blocks(th), cfg.n_in, cfg.n_h)
        out.data[f"task{k}/simulation"], out.data[f"task{k}/theory"] = sim, th
        out.check(
            f"theory_vs_gd_max_err_w2w1_task{k}",
            max_err(sim, th, "w2w1"),
            "<=",
            0.5 * cfg.lr,
            "GD against the exact solution chained across switches; O(lr)",
        )
        loss_sim.append(np.stack([observables.loss_from_map(tj, sim["w2w1"].values) for tj in task_list], 1))
        loss_th.append(np.stack([observables.loss_from_map(tj, th["w2w1"].values) for tj in task_list], 1))
        t_all.append(k * T + sim["t"].values)
        end_loss[:, k] = loss_sim[-1][-1]
        W1, W2 = w_sim
        balance.append(float(np.linalg.norm(W1 @ W1.T - W2.T @ W2)))

    analytic = np.array(
        [[0.5 * np.sum((sigmas[i] - sigmas[j]) ** 2) for j in range(cfg.n_tasks)] for i in range(cfg.n_tasks)]
    )
    numeric = end_loss - np.diag(end_loss)[:, None]
    later = np.triu(np.ones_like(analytic, dtype=bool), 1)
    rel = np.abs(numeric[later] - analytic[later]) / analytic[later]
    out.check(
        "forgetting_max_rel_err",
        float(rel.max()),
        "<=",
        1e-4,
        "L_i(after task j) - L_i(after task i) against 1/2 ||S_i - S_j||_F^2, all i < j (AC12)",
    )
    scale = max(float(np.linalg.norm(W2.T @ W2)), 1e-12)
    out.check(
        "balance_drift_relative",
        max(balance) / scale,
        "<=",
        cfg.lr,
        "||W1 W1^T - W2^T W2||_F / ||W2^T W2||_F after each task: conserved up to O(lr) (Fig. 5c)",
    )
    out.data["losses"] = xr.Dataset(
        {
            "loss_sim": (("t", "task"), np.concatenate(loss_sim)),
            "loss_theory": (("t", "task"), np.concatenate(loss_th)),
            "forgetting_numeric": (("task", "after"), numeric),
            "forgetting_analytic": (("task", "after"), analytic),
            "balance_norm": (("after",), np.array(balance)),
        },
        coords={"t": np.concatenate(t_all), "task": np.arange(cfg.n_tasks), "after": np.arange(cfg.n_tasks)},
    )
    fig, axes = plots.figure(3)
    t_cat = np.concatenate(t_all)
    plots.sim_vs_theory(
        axes[0, 0], t_cat, np.concatenate(loss_sim), np.concatenate(loss_th), title="loss of every task", logy=True
    )
    plots.sim_vs_theory(
        axes[0, 1],
        t_cat,
        np.concatenate([d["w2w1"].values for k, d in out.data.items() if k.endswith("/simulation")]),
        np.concatenate([d["w2w1"].values for k, d in out.data.items() if k.endswith("/theory")]),
        title="W2 W1 entries",
    )
    ax = axes[0, 2]
    ax.scatter(analytic[later], numeric[later])
    lim = [0, 1.05 * analytic[later].max()]
    ax.plot(lim, lim, "k--")
    ax.set(xlabel="1/2 ||S_i - S_j||^2", ylabel="L_i(after j) - L_i(after i)", title="forgetting")
    fig.tight_layout()
    out.figures["continual"] = fig
    return out
