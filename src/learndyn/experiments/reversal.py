"""reversal: after learning sigma, learning -sigma sends a two-layer net to a saddle; a shallow net reverses (Fig. 6).

A 4-6-4 network (16 whitened items, zero-balanced init sigma = .25, lr = .05) learns a teacher map with singular
values (1, .7, .5, .3) for 2000 steps, then the reversed target -Y. Once the net has learned sigma, every mode is
anti-aligned with -sigma: B = 0, and the exact solution (restarted Riccati form) sends W2 W1 monotonically to the
saddle at 0 and keeps it there. A shallow net follows W(t) = -sigma + (W0 + sigma) e^{-t} and reverses at once.

How long a real network stalls is set by how far it is from balanced: a lambda-balanced mode crosses zero
(its rate sqrt(lambda^2 + 4 a^2) never vanishes) after about ln(s̃/|lambda|)/s̃ [derived here from the per-mode ODE,
checked below against RK4]. GD's own O(lr) imbalance is what lets the simulated net escape after a plateau.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from learndyn import init, plots, tasks, train
from learndyn.experiments._common import gd_trajectory, max_err, qqt_from_blocks, weights_from_qqt
from learndyn.experiments.registry import experiment
from learndyn.results import Outcome
from learndyn.theory import modes
from learndyn.theory.linear import exact_trajectory


@dataclass(frozen=True)
class Config:
    """Configuration of reversal (defaults: spec Fig. 6a,b shapes; teacher spectrum chosen here)."""

    seed: int = 0
    n_h: int = 6
    P: int = 16
    teacher_s: tuple[float, ...] = (1.0, 0.7, 0.5, 0.3)
    sigma: float = 0.25
    lr: float = 0.05
    steps_learn: int = 2000
    steps_reverse: int = 8000
    lams: tuple[float, ...] = (1e-2, 1e-4, 1e-6, 1e-8)
    rk4_dt: float = 0.01
    n_records: int = 100


def _teacher_task(cfg: Config) -> tasks.Task:
    n = len(cfg.teacher_s)
    rng = np.random.default_rng(cfg.seed)
    X = tasks.whiten(rng.normal(size=(cfg.P, n)))
    U, _ = np.linalg.qr(rng.normal(size=(n, n)))
    V, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return tasks.Task(X, X @ (U @ np.diag(cfg.teacher_s) @ V.T).T, name="reversal-teacher")


def _time_to_10pct(t, loss):
    return float(t[np.argmax(loss <= 0.1 * loss[0])])


@experiment(
    "reversal",
    Config,
    quick={"n_records": 50, "lams": (1e-2, 1e-5, 1e-8)},
    description="Reversal learning: a two-layer net goes to the saddle, a shallow net reverses (Fig. 6a,b).",
)
def run(cfg: Config) -> Outcome:
    """Learn Y, then -Y: exact theory, GD, RK4 per-mode escape vs lambda, and the shallow closed form."""
    out = Outcome()
    task = _teacher_task(cfg)
    rev = tasks.reversal(task)
    n = task.n_in
    sigma = task.whitened_correlation()[0]
    U, s, Vt = np.linalg.svd(sigma)
    W = init.match_det_sign(*init.zero_balanced(cfg.seed + 1, n, cfg.n_h, n, cfg.sigma), sigma)
    t1 = train.log_times(cfg.lr, cfg.lr * cfg.steps_learn, cfg.n_records)
    learn, W_learned = gd_trajectory(task, W, lr=cfg.lr, t=t1, ntk=False, rsm=False)
    learn_th = exact_trajectory(task, *W, learn["t"].values, ntk=False, rsm=False)
    out.check(
        "theory_vs_gd_max_err_w2w1_learn",
        max_err(learn, learn_th, "w2w1"),
        "<=",
        0.5 * cfg.lr,
        "GD against the exact solution while learning Y; O(lr)",
    )

    # Reversal: the theory continues from its own (exactly balanced, converged) end state.
    t2 = train.log_times(cfg.lr, cfg.lr * cfg.steps_reverse, cfg.n_records)
    sim = gd_trajectory(rev, W_learned, lr=cfg.lr, t=t2, ntk=False, rsm=False)[0]
    th = exact_trajectory(
        rev, *weights_from_qqt(qqt_from_blocks(learn_th), n, cfg.n_h), sim["t"].values, ntk=False, rsm=False
    )
    out.data.update(
        {"learn/simulation": learn, "learn/theory": learn_th, "reverse/simulation": sim, "reverse/theory": th}
    )
    out.check(
        "theory_B_singular",
        float(th.attrs["cond_b"]),
        ">=",
        1e10,
        f"cond(B) for the reversed task: every mode anti-aligned (solver used: {th.attrs['method']})",
    )
    sv_th = np.linalg.svd(th["w2w1"].values, compute_uv=False)
    out.check(
        "theory_stuck_at_saddle",
        float(sv_th[-1, 0] / s[0]),
        "<=",
        1e-6,
        "largest singular value of the exact W2W1 at the end of reversal, over s̃_1 (AC11)",
    )
    out.check(
        "theory_decay_monotone",
        float(np.sum(np.diff(sv_th, axis=0) > 1e-12)),
        "<=",
        0,
        "records where an exact singular value of W2W1 grows during reversal (AC11)",
    )
    early = sim["t"].values <= 1.0 / s[0]
    out.check(
        "theory_vs_gd_collapse",
        max_err(sim.isel(t=early), th.isel(t=early), "w2w1"),
        "<=",
        0.5 * cfg.lr,
        "GD against the exact solution while the modes collapse (t <= 1/s̃_1); O(lr)",
    )

    # Shallow net on the same data, from the learned map, against -sigma + (W0 + sigma) e^{-t}.
    W0 = W_learned[1] @ W_learned[0]
    shallow = train.simulate_gd(rev.X, rev.Y, (W0,), lr=cfg.lr, t=t2)
    closed = modes.shallow_linear(W0, -sigma, shallow.t)
    gap0 = float(np.max(np.abs(W0 + sigma)))
    out.check(
        "shallow_vs_closed_form",
        float(np.max(np.abs(shallow.weights[0] - closed))) / gap0,
        "<=",
        0.5 * cfg.lr,
        "shallow GD against the closed form, relative to max|W0 + sigma|: (1-lr)^k vs e^{-lr k}",
    )
    err = np.linalg.norm(shallow.weights[0] + sigma, axis=(1, 2))
    window = (err < 0.5 * err[0]) & (err > 1e-8 * err[0])
    rate = -np.polyfit(shallow.t[window], np.log(err[window]), 1)[0]
    out.check(
        "shallow_error_rate",
        abs(rate - 1.0),
        "<=",
        cfg.lr,
        "|fitted decay rate of ||W + sigma|| - 1|: e^{-t} up to GD's O(lr) shift of the rate (AC11)",
    )
    t_deep = _time_to_10pct(sim["t"].values, sim["loss"].values)
    t_shallow = _time_to_10pct(shallow.t, shallow.loss)
    out.check(
        "deep_stall_vs_shallow",
        t_deep / t_shallow,
        ">=",
        3.0,
        f"time to 10% of the reversed loss, two-layer GD ({t_deep:.3g}) over shallow GD ({t_shallow:.3g})",
    )
    out.data["reverse/shallow"] = xr.Dataset(
        {"w": (("t", "o", "i"), shallow.weights[0]), "loss": (("t",), shallow.loss)}, coords={"t": shallow.t}
    )

    # Escape from the saddle of exactly lambda-balanced converged nets (N_h = m): RK4 against lambda_mode.
    lams = np.asarray(sorted(cfg.lams, reverse=True))
    t_esc = np.zeros(lams.size)
    err_mode = np.zeros(lams.size)
    t_max = 2.5 * np.log(s[-1] / lams.min()) / s[-1]
    te = cfg.rk4_dt * np.round(np.linspace(0.0, t_max, 400) / cfg.rk4_dt)
    for j, lam in enumerate(lams):
        Wl = init.lambda_balanced_from_svd(U, s, Vt.T, n, float(lam), seed=cfg.seed + 2)
        res = train.gradient_flow_rk4(rev.X, rev.Y, Wl, t=te, dt=cfg.rk4_dt)
        strength = -np.einsum("ok,toi,ik->tk", U, res.weights[1] @ res.weights[0], Vt.T)  # along -sigma's modes
        a = modes.lambda_mode(s, -s, float(lam), res.t)
        err_mode[j] = float(np.max(np.abs(strength - a)))
        t_esc[j] = float(res.t[np.argmax(strength[:, 0] >= s[0] / 2)])
        out.data[f"escape/lam_{lam:g}"] = xr.Dataset(
            {"strength_rk4": (("t", "mode"), strength), "strength_theory": (("t", "mode"), a)},
            coords={"t": res.t, "mode": np.arange(n)},
            attrs={"lam": float(lam)},
        )
    out.check(
        "lambda_mode_vs_rk4_through_saddle",
        float(err_mode.max()),
        "<=",
        1e-7,
        "per-mode lambda-balanced closed form against RK4 gradient flow while crossing the saddle",
    )
    slope = np.polyfit(np.log(1.0 / lams), t_esc, 1)[0]
    out.check(
        "escape_time_slope",
        abs(float(slope * s[0]) - 1.0),
        "<=",
        0.1,
        "|s̃_1 d t_escape / d ln(1/lambda) - 1|: stall time grows as ln(1/lambda)/s̃_1 [derived]",
    )

    fig, axes = plots.figure(2, 2)
    plots.sim_vs_theory(
        axes[0, 0],
        learn["t"].values,
        learn["w2w1"].values,
        learn_th["w2w1"].values,
        title="learning Y: W2 W1",
        logx=True,
    )
    plots.sim_vs_theory(
        axes[0, 1],
        sim["t"].values,
        sim["w2w1"].values,
        th["w2w1"].values,
        title="reversal (-Y), two-layer: GD vs exact (balanced)",
        logx=True,
    )
    plots.sim_vs_theory(axes[1, 0], shallow.t, shallow.weights[0], closed, title="reversal, shallow net: W", logx=True)
    ax = axes[1, 1]
    for lam in lams:
        ds = out.data[f"escape/lam_{lam:g}"]
        ax.plot(ds["t"], ds["strength_rk4"][:, 0], label=f"λ={lam:g}")
        ax.plot(ds["t"], ds["strength_theory"][:, 0], "k--", lw=0.8)
    ax.set(xlabel="t", ylabel="top mode strength", title="escape from the saddle: RK4 vs per-mode λ formula")
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    out.figures["reversal"] = fig
    return out
