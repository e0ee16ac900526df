"""exact-linear: every observable of a two-layer linear net, GD simulation against the exact solution.

Reproduces Braun, Dominé, Fitzgerald & Saxe 2022 ("Exact learning dynamics of deep linear networks with prior
knowledge", NeurIPS), Fig. 2a,b: a 4-5-3 student on a zero-balanced teacher (sigma_T = .25, P = 10 whitened items),
from a small (sigma = .001: plateau, then sigmoidal transitions as in Saxe, McClelland & Ganguli 2014) and a large
(sigma = .15: fast, exponential-like approach) zero-balanced initialisation, lr = .05 for 10^4 steps. The exact
solution is checked three ways: against RK4 gradient flow (to 1e-8), against GD (error O(lr): halving lr halves it),
and at t = 10^6 against the limit the task determines (W1^T W1 -> V S V^T, W2 W2^T -> U S U^T).

Times are gradient-flow times t = lr * step. For square shapes (n_in = n_out) each initialisation gets the sign of
det W2 W1 of the task (one input column of W1 flipped, which keeps it zero-balanced): with the opposite sign one mode
would be stuck at zero and the run would end at a saddle, not at the task's solution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learndyn import init, observables, plots, tasks, train
from learndyn.experiments.config import ExperimentConfig, option
from learndyn.experiments.registry import experiment
from learndyn.progress import track
from learndyn.results import Outcome
from learndyn.theory.linear import exact_trajectory

_PLOTTED = ("loss", "w2w1", "w1tw1", "w2w2t", "ntk", "rsm_in")
_RELATIVE = ("loss", "w1tw1", "w2w2t", "ntk", "rsm_in")  # w2w1 is checked in absolute terms


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Configuration of exact-linear (defaults: Braun et al. 2022, Fig. 2a,b)."""

    seed: int = option(3, "seed of the inputs, the teacher and the student initialisations", ge=0)
    n_in: int = option(4, "input dimension N_i", ge=1)
    n_h: int = option(5, "hidden width N_h of student and teacher, at least min(n_in, n_out)", ge=1)
    n_out: int = option(3, "output dimension N_o", ge=1)
    P: int = option(10, "number of training items, more than n_in so that the inputs can be whitened", ge=2)
    sigma_teacher: float = option(0.25, "scale of the zero-balanced teacher's weights", gt=0)
    sigmas: tuple[float, ...] = option(
        (0.001, 0.15), "scales of the zero-balanced student initialisations, one run each, all distinct", gt=0
    )
    lr: float = option(0.05, "GD learning rate; time t = lr * step", gt=0)
    steps: int = option(10_000, "GD steps per run; the run ends at t = lr * steps", ge=1)
    n_records: int = option(160, "log-spaced record times per run, at most steps", ge=1)
    rk4_dt: float = option(0.01, "time step of the RK4 gradient-flow reference", gt=0)

    def check(self):
        """Constraints between fields: shapes the balanced init and whitening allow, grids that fit the run."""
        m = min(self.n_in, self.n_out)
        if self.n_h < m:
            raise ValueError(
                f"n_h must be >= min(n_in, n_out) = {m}; got {self.n_h} (zero-balanced teacher and student weights "
                "need a hidden layer at least as wide as the smaller of input and output)"
            )
        if self.P <= self.n_in:
            raise ValueError(
                f"P must be > n_in = {self.n_in}; got {self.P} (whitening the inputs needs more items than input "
                "dimensions)"
            )
        if len(set(self.sigmas)) != len(self.sigmas):
            raise ValueError(f"sigmas must be distinct (one run per scale); got {list(self.sigmas)}")
        if self.n_records > self.steps:
            raise ValueError(
                f"n_records must be <= steps = {self.steps}; got {self.n_records} (at most one record per GD step)"
            )


@experiment(
    "exact-linear",
    Config,
    quick={"steps": 6000, "n_records": 80},
    description="All observables of a 2-layer linear net: GD and RK4 against the exact solution "
    "(Braun et al. 2022, Fig. 2a,b).",
)
def run(cfg: Config) -> Outcome:
    """Small and large zero-balanced inits on a teacher-student task; simulation vs exact theory."""
    out = Outcome()
    task = tasks.teacher_student(cfg.P, cfg.n_in, cfg.n_h, cfg.n_out, sigma_teacher=cfg.sigma_teacher, seed=cfg.seed)
    t_end = cfg.lr * cfg.steps
    t = train.log_times(cfg.lr, t_end, cfg.n_records, step=cfg.lr)
    sigma, _ = task.whitened_correlation()
    svd = task.whitened_svd()
    U, s, Vt = svd.U, svd.s, svd.V.T
    shape = f"{cfg.n_in}-{cfg.n_h}-{cfg.n_out}"
    for k, scale in track(list(enumerate(cfg.sigmas)), "exact-linear: initialisations (GD, RK4, exact)"):
        label = "small" if scale == min(cfg.sigmas) else ("large" if scale == max(cfg.sigmas) else f"init{k}")
        W1, W2 = init.zero_balanced(cfg.seed + 100 + k, (cfg.n_in, cfg.n_h, cfg.n_out), scale)
        W1, W2 = init.match_det_sign(W1, W2, sigma)
        sim, (W1e, W2e) = train.gd_trajectory(task, (W1, W2), lr=cfg.lr, t=t)
        th = exact_trajectory(task, W1, W2, sim["t"].values)
        # RK4 records at the GD times rounded to its own steps (fewer, distinct times when rk4_dt > lr).
        t_rk4 = np.unique(cfg.rk4_dt * np.round(sim["t"].values / cfg.rk4_dt))
        ref = train.rk4_trajectory(task, (W1, W2), t=t_rk4, dt=cfg.rk4_dt)
        half, _ = train.gd_trajectory(task, (W1, W2), lr=cfg.lr / 2, t=sim["t"].values, ntk=False, rsm=False)

        def theory_on(grid, th=th, W1=W1, W2=W2):
            """The theory on another run's grid, reusing ``th`` when the grids agree (lr a multiple of rk4_dt)."""
            same = np.array_equal(grid["t"].values, th["t"].values)
            return th if same else exact_trajectory(task, W1, W2, grid["t"].values, ntk=False, rsm=False)

        out.data.update({f"{label}/simulation": sim, f"{label}/theory": th, f"{label}/rk4": ref})

        out.check(
            f"theory_vs_rk4_max_err_{label}",
            max(observables.max_abs_diff(ref, theory_on(ref), v) for v in ("w2w1", "w1tw1", "w2w2t")),
            "<=",
            1e-8,
            "exact W2W1, W1^T W1, W2 W2^T against RK4 gradient flow (step rk4_dt), largest entry difference",
        )
        supported = [f"gd_vs_theory_max_err_w2w1_{label}"]
        err = out.check_gd_error(supported[0], sim, th, cfg.lr, "whole run").value
        for name in _RELATIVE:
            rel = observables.max_abs_diff(sim, th, name) / float(np.max(np.abs(th[name].values)))
            supported.append(f"gd_vs_theory_rel_err_{name}_{label}")
            out.check(
                supported[-1],
                rel,
                "<=",
                cfg.lr,
                f"GD against theory for {name}, relative to the largest |{name}|",
            )
        ratio = err / observables.max_abs_diff(half, theory_on(half), "w2w1")
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
        supported.append(f"limit_t1e6_{label}")
        out.check(
            supported[-1],
            dev,
            "<=",
            1e-10,
            "theory at t = 1e6 is finite and equals V S V^T, U S U^T (task-determined representation)",
        )
        fig = plots.overlay(sim, th, list(_PLOTTED), title=f"{label} init (sigma = {scale:g}): GD solid, exact dashed")
        course = {
            "small": "a long plateau, then sigmoidal transitions one mode after another",
            "large": "a fast, exponential-like approach",
        }.get(label if len(cfg.sigmas) > 1 else "", "the course this initial scale gives")
        out.figure(
            f"observables_{label}",
            fig,
            f"Every observable of the {shape} linear network from its {label} zero-balanced initialisation "
            f"(sigma = {scale:g}) against time t = lr * step (lr = {cfg.lr:g}, log axis from t = lr): training "
            "loss (log axis, cut at 1e-10 of its largest value, below which only round-off remains), and entries "
            "of the network map W2 W1, the representations W1^T W1 and W2 W2^T, the NTK and the input RSM (up to "
            "12 entries per panel). Coloured solid lines are GD, black dashed lines the exact solution (Braun et "
            "al. 2022); they should lie on top of each other. The run shows "
            f"{course} to the final values the task determines.",
            checks=supported,
        )
    return out
