"""lambda-sweep: from rich (lambda ~ 0, small weights) to lazy (|lambda| large) learning (Dominé et al. 2024).

A square teacher-student task (N_i = N_h = N_o = 3) learned from lambda-balanced initialisations that share the same
small network map W2 W1(0) (its determinant sign matched to the task's, so no mode is stuck at lambda = 0) and differ
only in lambda = the conserved W2^T W2 - W1 W1^T. The square shape makes the two signs of lambda mirror images;
with N_i > N_h a negative lambda is lazy only inside the row space of W1 and learns the other input directions
slowly. GD (lr scaled
so that lr |lambda| stays small) is laid over the exact lambda-balanced solution. As |lambda| grows the learning
time falls, the NTK stops moving (kernel distance -> 0: the lazy regime) and the loss gap relaxes at the
linearised rates 2 sqrt(lambda^2 + 4 s̃_k^2) ~ 2 |lambda|, as for a shallow network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from learndyn import init, observables, plots, tasks, train
from learndyn.experiments._common import gd_trajectory, max_err
from learndyn.experiments.registry import experiment
from learndyn.results import Outcome
from learndyn.theory.linear import exact_trajectory


@dataclass(frozen=True)
class Config:
    """Configuration of lambda-sweep."""

    seed: int = 0
    n_in: int = 3
    n_h: int = 3
    n_out: int = 3
    P: int = 20
    sigma_teacher: float = 0.4
    init_scale: float = 1e-3
    lams: tuple[float, ...] = (-16.0, -4.0, -1.0, -0.25, 0.0, 0.25, 1.0, 4.0, 16.0)
    lr: float = 0.02
    lr_times_lam: float = 0.01
    t_max: float = 60.0
    n_records: int = 120


@experiment(
    "lambda-sweep",
    Config,
    quick={"lams": (-8.0, -1.0, 0.0, 1.0, 8.0), "n_records": 60},
    description="Rich-to-lazy sweep over lambda: learning time, NTK movement, lazy relaxation rate.",
)
def run(cfg: Config) -> Outcome:
    """lambda-balanced inits with one shared small W2 W1(0); GD vs exact solution per lambda."""
    out = Outcome()
    task = tasks.teacher_student(cfg.P, cfg.n_in, cfg.n_out, cfg.n_out, sigma_teacher=cfg.sigma_teacher, seed=cfg.seed)
    sigma = task.whitened_correlation()[0]
    s_task = np.linalg.svd(sigma, compute_uv=False)
    rng = np.random.default_rng(cfg.seed + 1)
    U0, _ = np.linalg.qr(rng.normal(size=(cfg.n_out, cfg.n_out)))
    V0, _ = np.linalg.qr(rng.normal(size=(cfg.n_in, cfg.n_in)))
    if cfg.n_in == cfg.n_out and np.linalg.det(U0 @ V0.T) * np.linalg.det(sigma) < 0:
        V0[:, 0] *= -1.0
    s0 = cfg.init_scale * np.sort(rng.uniform(0.5, 1.5, size=min(cfg.n_in, cfg.n_out)))[::-1]
    lams = np.asarray(sorted(cfg.lams))
    rows = []
    curves = {}
    for lam in lams:
        W1, W2 = init.lambda_balanced_from_svd(U0, s0, V0, cfg.n_h, float(lam), seed=cfg.seed + 2)
        lr = min(cfg.lr, cfg.lr_times_lam / abs(lam)) if lam else cfg.lr
        t = train.log_times(max(lr, 1e-3), cfg.t_max, cfg.n_records)
        sim, _ = gd_trajectory(task, (W1, W2), lr=lr, t=t, rsm=False)
        th = exact_trajectory(task, W1, W2, sim["t"].values, rsm=False)
        loss = sim["loss"].values
        t_learn = float(sim["t"].values[np.argmax(loss <= 0.1 * loss[0])])
        k0, k1 = th["ntk"].values[0], th["ntk"].values[-1]
        kdist = float(observables.kernel_distance(k0, k1))
        kchange = float(np.linalg.norm(k1 - k0) / np.linalg.norm(k1))
        rows.append(
            (lam, lr, t_learn, kdist, kchange, max_err(sim, th, "w2w1") / s_task[0], th.attrs.get("method", ""))
        )
        curves[float(lam)] = (sim, th)
        out.data[f"lam_{lam:+g}/simulation"], out.data[f"lam_{lam:+g}/theory"] = sim, th

    lam_v, lr_v, t_learn, kdist, kchange, err, method = (np.array(c) for c in zip(*rows, strict=True))
    out.data["sweep"] = xr.Dataset(
        {
            "lr": ("lam", lr_v),
            "learning_time": ("lam", t_learn),
            "kernel_distance": ("lam", kdist),
            "kernel_relative_change": ("lam", kchange),
            "rel_err_w2w1": ("lam", err),
            "method": ("lam", method.astype(str)),
        },
        coords={"lam": lam_v},
    )
    out.check(
        "max_rel_err_theory_vs_gd",
        float(err.max()),
        "<=",
        0.05,
        "max |W2W1 GD - exact| / s̃_max over all lambda (lr |lambda| <= lr_times_lam)",
    )
    inv = 0
    for side in (lam_v >= 0, lam_v <= 0):
        order = np.argsort(np.abs(lam_v[side]))
        inv += int(np.sum(np.diff(t_learn[side][order]) > 0)) + int(np.sum(np.diff(kdist[side][order]) > 0))
    out.check(
        "rich_to_lazy_monotone",
        float(inv),
        "<=",
        0,
        "learning time and kernel distance both fall as |lambda| grows, for each sign (count of violations)",
    )
    zero = np.argmin(np.abs(lam_v))
    big = np.argmax(np.abs(lam_v))
    out.check(
        "kernel_moves_in_rich_regime",
        float(kchange[zero]),
        ">=",
        0.5,
        "||NTK(end) - NTK(0)|| / ||NTK(end)|| at lambda ~ 0 with small weights: the kernel is built by learning",
    )
    out.check(
        "kernel_frozen_in_lazy_regime",
        float(kchange[big]),
        "<=",
        0.05,
        f"same relative kernel change at lambda = {lam_v[big]:g}: the NTK stays (nearly) at its initial value",
    )
    # Late-time rate at the largest |lambda| from a densely recorded GD run over the relaxation window.
    predicted = 2 * abs(lam_v[big])
    W1, W2 = init.lambda_balanced_from_svd(U0, s0, V0, cfg.n_h, float(lam_v[big]), seed=cfg.seed + 2)
    res = train.simulate_gd(
        task.X, task.Y, (W1, W2), lr=float(lr_v[big]), t=train.linear_times(np.log(1e12) / predicted, 201)
    )
    loss, tt = res.loss, res.t
    window = (loss < 1e-3 * loss[0]) & (loss > 1e-10 * loss[0])
    rate = -np.polyfit(tt[window], np.log(loss[window]), 1)[0]
    lam_big = abs(float(lam_v[big]))
    out.check(
        "lazy_relaxation_rate",
        abs(rate / (2 * lam_big) - 1.0),
        "<=",
        2 * (s_task[0] / lam_big) ** 2 + 2 * float(lr_v[big]) * lam_big,
        "|fitted loss decay rate / 2|lambda| - 1| at the largest |lambda|; the per-mode rates "
        "2 sqrt(lambda^2 + 4 s̃_k^2) lie within 2 (s̃_max/lambda)^2 of 2|lambda|, plus GD's O(lr lambda) bias",
    )

    fig, axes = plots.figure(3)
    colors = plots.plt.cm.viridis(np.linspace(0, 0.9, lam_v.size))
    for c, lam in zip(colors, lam_v, strict=True):
        sim, th = curves[float(lam)]
        axes[0, 0].plot(sim["t"], sim["loss"], color=c, label=f"λ={lam:g}")
        axes[0, 0].plot(th["t"], th["loss"], "k--", lw=0.8)
    loss0 = float(sim["loss"].values[0])  # every lambda starts from the same W2 W1(0), hence the same loss
    axes[0, 0].set(
        xscale="log",
        yscale="log",
        xlabel="t",
        ylabel="loss",
        title="GD (colour) vs exact (dashed)",
        ylim=(1e-12 * loss0, 2 * loss0),
    )
    axes[0, 0].legend(frameon=False, fontsize=6)
    axes[0, 1].plot(lam_v, t_learn, "o-")
    axes[0, 1].set(xscale="symlog", yscale="log", xlabel="λ", ylabel="time to 10% loss", title="learning time")
    axes[0, 2].plot(lam_v, np.maximum(kdist, 1e-16), "o-")
    axes[0, 2].set(
        xscale="symlog", yscale="log", xlabel="λ", ylabel="1 - cos(NTK(0), NTK(end))", title="kernel movement"
    )
    fig.tight_layout()
    out.figures["lambda_sweep"] = fig
    return out
