"""exact-linear: every observable of a two-layer linear net, GD simulation against the exact solution.

Spec exact_linear.md Fig. 2a,b: a 4-5-3 student on a zero-balanced teacher (sigma_T = .25, P = 10, whitened), small
(sigma = .001: plateau then sigmoid) and large (sigma = .15: fast, exponential) zero-balanced initialisations,
lr = .05 for 10^4 steps. The exact solution is checked three ways: against RK4 gradient flow (to 1e-8), against GD
(error O(lr): halving lr halves it), and at t = 10^6 against the task-determined limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learndyn import init, observables, tasks, train
from learndyn.experiments._common import gd_trajectory, max_err, overlay, rk4_trajectory
from learndyn.experiments.registry import experiment
from learndyn.results import Outcome
from learndyn.theory.linear import exact_trajectory


@dataclass(frozen=True)
class Config:
    """Configuration of exact-linear (defaults: spec Fig. 2a,b)."""

    seed: int = 3
    n_in: int = 4
    n_h: int = 5
    n_out: int = 3
    P: int = 10
    sigma_teacher: float = 0.25
    sigmas: tuple[float, ...] = (0.001, 0.15)
    lr: float = 0.05
    steps: int = 10_000
    n_records: int = 160
    rk4_dt: float = 0.01


@experiment(
    "exact-linear",
    Config,
    quick={"steps": 6000, "n_records": 80},
    description="All observables of a 2-layer linear net: GD and RK4 against the exact solution (Fig. 2a,b).",
)
def run(cfg: Config) -> Outcome:
    """Small and large zero-balanced inits on a teacher-student task; simulation vs exact theory."""
    out = Outcome()
    task = tasks.teacher_student(cfg.P, cfg.n_in, cfg.n_h, cfg.n_out, sigma_teacher=cfg.sigma_teacher, seed=cfg.seed)
    t_end = cfg.lr * cfg.steps
    t = train.log_times(cfg.lr, t_end, cfg.n_records)
    sigma, _ = task.whitened_correlation()
    U, s, Vt = np.linalg.svd(sigma)
    for k, scale in enumerate(cfg.sigmas):
        label = "small" if scale == min(cfg.sigmas) else ("large" if scale == max(cfg.sigmas) else f"init{k}")
        W1, W2 = init.zero_balanced(cfg.seed + 100 + k, cfg.n_in, cfg.n_h, cfg.n_out, scale)
        sim, (W1e, W2e) = gd_trajectory(task, (W1, W2), lr=cfg.lr, t=t)
        th = exact_trajectory(task, W1, W2, sim["t"].values)
        ref = rk4_trajectory(task, (W1, W2), t=sim["t"].values, dt=cfg.rk4_dt)
        half, _ = gd_trajectory(task, (W1, W2), lr=cfg.lr / 2, t=sim["t"].values, ntk=False, rsm=False)

        def theory_on(grid, th=th, W1=W1, W2=W2):
            """The theory on another run's grid, reusing ``th`` when the grids agree (lr a multiple of rk4_dt)."""
            same = np.array_equal(grid["t"].values, th["t"].values)
            return th if same else exact_trajectory(task, W1, W2, grid["t"].values, ntk=False, rsm=False)

        out.data.update({f"{label}/simulation": sim, f"{label}/theory": th, f"{label}/rk4": ref})

        out.check(
            f"theory_vs_rk4_max_err_{label}",
            max(max_err(ref, theory_on(ref), v) for v in ("w2w1", "w1tw1", "w2w2t")),
            "<=",
            1e-8,
            "exact QQ^T blocks against RK4 gradient flow (dt = rk4_dt)",
        )
        err = max_err(sim, th, "w2w1")
        out.check(
            f"gd_vs_theory_max_err_w2w1_{label}",
            err,
            "<=",
            0.5 * cfg.lr,
            "GD (lr) against theory; GD error is O(lr) with a constant below 1/2 for s_max < 1",
        )
        for name in ("loss", "w1tw1", "w2w2t", "ntk", "rsm_in"):
            rel = max_err(sim, th, name) / float(np.max(np.abs(th[name].values)))
            out.check(
                f"gd_vs_theory_rel_err_{name}_{label}",
                rel,
                "<=",
                cfg.lr,
                f"GD against theory for {name}, relative to the largest |{name}|",
            )
        ratio = err / max_err(half, theory_on(half), "w2w1")
        out.check(
            f"gd_error_order_{label}",
            abs(ratio - 2.0),
            "<=",
            0.2,
            "|err(lr) / err(lr/2) - 2|: GD converges to the exact flow at first order in lr",
        )
        kron = observables.ntk_linear(task.X, W1e.T @ W1e, W2e @ W2e.T)
        out.check(
            f"ntk_kronecker_vs_autodiff_{label}",
            float(np.max(np.abs(kron - observables.ntk_autodiff(task.X, (W1e, W2e))))),
            "<=",
            1e-12,
            "Kronecker NTK formula against autodiff J J^T on the final GD weights",
        )
        far = exact_trajectory(task, W1, W2, np.array([1e6]), ntk=False, rsm=False)
        limit_w1 = Vt[: s.size].T @ np.diag(s) @ Vt[: s.size]
        limit_w2 = U[:, : s.size] @ np.diag(s) @ U[:, : s.size].T
        dev = max(
            float(np.max(np.abs(far["w1tw1"].values[0] - limit_w1))),
            float(np.max(np.abs(far["w2w2t"].values[0] - limit_w2))),
        )
        out.check(
            f"limit_t1e6_{label}",
            dev,
            "<=",
            1e-10,
            "theory at t = 1e6 is finite and equals V S V^T, U S U^T (task-determined representation)",
        )
        out.figures[f"observables_{label}"] = overlay(
            sim,
            th,
            ["loss", "w2w1", "w1tw1", "w2w2t", "ntk", "rsm_in"],
            title=f"{label} init (sigma = {scale:g}): GD lr = {cfg.lr:g} solid, exact dashed",
        )
    return out
