"""lambda-sweep: from rich (lambda ~ 0, small weights) to lazy (|lambda| large) learning.

The rich-to-lazy transition of Dominé, Anguita, Proca, Braun, Kunin, Mediano & Saxe 2024 ("From lazy to rich: exact
learning dynamics in deep linear networks"). A square teacher-student task (N_i = N_h = N_o = 3) is learned from
lambda-balanced initialisations that share the same small network map W2 W1(0) (its determinant sign matched to the
task's, so no mode is stuck at lambda = 0) and differ only in lambda, the conserved W2^T W2 - W1 W1^T = lambda I.
The square shape makes the two signs of lambda mirror images (identical loss, learning time and kernel change); with
N_h > N_i a negative lambda is impossible, with N_h > N_o a positive one. GD (lr scaled so that lr |lambda| stays
small) is laid over the exact lambda-balanced solution. As |lambda| grows the learning time falls, the neural
tangent kernel stops moving (its relative change ||K(T) - K(0)|| / ||K(T)|| -> 0: the lazy regime) and the loss
relaxes at the linearised rates 2 sqrt(lambda^2 + 4 s̃_k^2) ~ 2 |lambda|, as for a shallow network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from learndyn import init, observables, plots, tasks, train
from learndyn._numerics import decay_rate, time_to_fraction
from learndyn.experiments.config import ExperimentConfig, option
from learndyn.experiments.registry import experiment
from learndyn.progress import track
from learndyn.results import Outcome
from learndyn.theory.linear import exact_trajectory

# Most GD steps one run may take (about half a minute); more is refused when the config is made.
_MAX_STEPS = 1e8
# Most memory the recorded neural tangent kernels may take.
_MAX_BYTES = 4e9
# The lazy relaxation run follows the loss down by this factor.
_RELAX_DECADES = 1e12


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Configuration of lambda-sweep."""

    seed: int = option(0, "seed of the teacher task and of the shared initial network map", ge=0)
    n_in: int = option(3, "input dimension of teacher and student", ge=1)
    n_h: int = option(3, "hidden width of the student; >= min(n_in, n_out)", ge=1)
    n_out: int = option(3, "output dimension of teacher and student", ge=1)
    P: int = option(20, "number of training items; > n_in so that the inputs can be whitened", ge=2)
    sigma_teacher: float = option(0.4, "entry scale of the zero-balanced linear teacher's weights", gt=0, le=100)
    init_scale: float = option(
        1e-3,
        "size of the small initial map W2 W1(0) that all runs share: its singular values are this times U(0.5, 1.5)",
        gt=0,
        le=1,
    )
    lams: tuple[float, ...] = option(
        (-16.0, -4.0, -1.0, -0.25, 0.0, 0.25, 1.0, 4.0, 16.0),
        "balance lambda (W2^T W2 - W1 W1^T = lambda I) of each run, one run each; any sign",
    )
    lr: float = option(0.02, "GD learning rate at small |lambda|", gt=0)
    lr_times_lam: float = option(
        0.01, "cap on lr * |lambda|: at large |lambda| GD runs with lr = lr_times_lam / |lambda|", gt=0, lt=1
    )
    t_max: float = option(60.0, "training time of each run, in gradient-flow time t = lr * step", gt=0)
    n_records: int = option(120, "log-spaced records per run", ge=2)

    def check(self):
        m = min(self.n_in, self.n_out)
        if self.P <= self.n_in:
            raise ValueError(
                f"P={self.P} must be > n_in={self.n_in}: whitening the centred inputs needs more items than input "
                f"dimensions; use P >= {self.n_in + 1}"
            )
        if self.n_h < m:
            raise ValueError(
                f"n_h={self.n_h} < min(n_in, n_out)={m}: the lambda-balanced initialisation needs a hidden layer "
                f"without bottleneck; use n_h >= {m}"
            )
        for lam in self.lams:
            if lam < 0 and self.n_h > self.n_in:
                raise ValueError(
                    f"n_h={self.n_h} > n_in={self.n_in} allows no negative entry of lams (got {lam}): W1 W1^T is "
                    f"singular, so W2^T W2 - W1 W1^T = lambda I cannot be negative; use n_h <= {self.n_in} or "
                    "lams >= 0"
                )
            if lam > 0 and self.n_h > self.n_out:
                raise ValueError(
                    f"n_h={self.n_h} > n_out={self.n_out} allows no positive entry of lams (got {lam}): W2^T W2 is "
                    f"singular, so W2^T W2 - W1 W1^T = lambda I cannot be positive; use n_h <= {self.n_out} or "
                    "lams <= 0"
                )
        names = [f"{lam:+g}" for lam in self.lams]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"lams lists lambda = {float(name):g} twice; give each value once")
        if all(lam == 0 for lam in self.lams):
            raise ValueError(
                f"lams={','.join(f'{lam:g}' for lam in self.lams)} needs a nonzero value: the lazy relaxation rate "
                "is measured at the largest |lambda|"
            )
        if self.t_max < max(self.lr, 1e-3):
            raise ValueError(
                f"t_max={self.t_max:g} must be >= lr={self.lr:g} and >= 0.001: the first record is one GD step "
                "after t = 0"
            )
        ntk_bytes = 8 * len(self.lams) * (self.n_records + 1) * (self.P * self.n_out) ** 2
        if ntk_bytes > _MAX_BYTES:
            raise ValueError(
                f"P={self.P}, n_out={self.n_out}, n_records={self.n_records} and {len(self.lams)} lams would store "
                f"{ntk_bytes / 1e9:.3g} GB of NTK records (len(lams) x (n_records + 1) x (P * n_out)^2 floats); "
                f"keep it below {_MAX_BYTES / 1e9:g} GB"
            )
        for lam in self.lams:
            lr = _lr_for(self, lam)
            if self.t_max / lr > _MAX_STEPS:
                raise ValueError(
                    f"t_max={self.t_max:g} at lambda={lam:g} needs {self.t_max / lr:.2g} GD steps (lr = {lr:.3g}); "
                    f"keep t_max / lr and t_max * max|lams| / lr_times_lam below {_MAX_STEPS:.0e}"
                )
        s_max = _task_spectrum(self)[0]
        if not (np.isfinite(s_max) and s_max > 0):
            raise ValueError(
                f"sigma_teacher={self.sigma_teacher:g} gives a teacher map of size {s_max:g} (floating-point "
                "underflow); use sigma_teacher >= 1e-6"
            )
        for lam in self.lams:
            lr = _lr_for(self, lam)
            key = "lr" if lr == self.lr else "lr_times_lam"
            rate = float(np.hypot(lam, 2 * s_max))
            if lr * rate >= 2:
                bound = 2 / rate if key == "lr" else 2 * abs(lam) / rate
                raise ValueError(
                    f"{key}={getattr(self, key):g} makes GD unstable at lambda={lam:g} on this task: "
                    f"lr * sqrt(lambda^2 + 4 s_max^2) = {lr * rate:.3g} must be < 2 (s_max = {s_max:.3g}, the "
                    f"teacher's largest singular value for seed={self.seed}); use {key} < {bound:.3g}"
                )
        lam_big = max(abs(lam) for lam in self.lams)
        steps = np.log(_RELAX_DECADES) / (2 * lam_big) / _lr_for(self, lam_big)
        if steps > _MAX_STEPS:
            raise ValueError(
                f"the largest |lams| = {lam_big:g} is too small for the lazy relaxation run: following the loss "
                f"down 12 decades at rate 2|lambda| takes {steps:.2g} GD steps; include a larger |lambda|"
            )


def _lr_for(cfg: Config, lam: float) -> float:
    """GD learning rate of the run at ``lam``: ``lr``, capped so that ``lr |lambda| <= lr_times_lam``."""
    return min(cfg.lr, cfg.lr_times_lam / abs(lam)) if lam else cfg.lr


def _task(cfg: Config) -> tasks.Task:
    return tasks.teacher_student(cfg.P, cfg.n_in, cfg.n_out, cfg.n_out, sigma_teacher=cfg.sigma_teacher, seed=cfg.seed)


def _task_spectrum(cfg: Config) -> np.ndarray:
    """Singular values s̃ of the task's whitened input-output correlation, largest first."""
    return _task(cfg).whitened_svd().s


@experiment(
    "lambda-sweep",
    Config,
    quick={"lams": (-8.0, -1.0, 0.0, 1.0, 8.0), "n_records": 60},
    description="Rich-to-lazy sweep over lambda: learning time, NTK movement, lazy relaxation rate "
    "(Dominé et al. 2024).",
)
def run(cfg: Config) -> Outcome:
    """lambda-balanced inits with one shared small W2 W1(0); GD vs exact solution per lambda."""
    out = Outcome()
    task = _task(cfg)
    sigma = task.whitened_correlation()[0]
    s_task = task.whitened_svd().s
    rng = np.random.default_rng(cfg.seed + 1)
    U0, V0 = init.random_orthogonal(rng, cfg.n_out), init.random_orthogonal(rng, cfg.n_in)
    if cfg.n_in == cfg.n_out and np.linalg.det(U0 @ V0.T) * np.linalg.det(sigma) < 0:
        V0[:, 0] *= -1.0
    s0 = cfg.init_scale * np.sort(rng.uniform(0.5, 1.5, size=min(cfg.n_in, cfg.n_out)))[::-1]
    lams = np.asarray(sorted(cfg.lams))
    rows = []
    curves = {}
    for lam in track(lams, "lambda-balanced runs (GD and exact solution)"):
        W1, W2 = init.lambda_balanced_from_svd(U0, s0, V0, cfg.n_h, float(lam), seed=cfg.seed + 2)
        lr = _lr_for(cfg, float(lam))
        t = train.log_times(max(lr, 1e-3), cfg.t_max, cfg.n_records, step=lr)
        # The kernel claims are about the exact flow; GD is compared on the network map and loss, so its NTK (the
        # bulk of data.nc) is not stored twice.
        sim, _ = train.gd_trajectory(task, (W1, W2), lr=lr, t=t, ntk=False, rsm=False)
        th = exact_trajectory(task, W1, W2, sim["t"].values, rsm=False)
        loss = sim["loss"].values
        t_learn = time_to_fraction(sim["t"].values, loss, 0.1)
        k0, k1 = th["ntk"].values[0], th["ntk"].values[-1]
        kdist = float(observables.kernel_distance(k0, k1))
        kchange = float(np.linalg.norm(k1 - k0) / np.linalg.norm(k1))
        rows.append(
            (
                lam,
                lr,
                t_learn,
                kdist,
                kchange,
                observables.max_abs_diff(sim, th, "w2w1") / s_task[0],
                th.attrs.get("method", ""),
            )
        )
        curves[float(lam)] = (sim, th)
        out.data[f"lam_{lam:+g}/simulation"], out.data[f"lam_{lam:+g}/theory"] = sim, th

    lam_v, lr_v, t_learn, kdist, kchange, err, method = (np.array(c) for c in zip(*rows, strict=True))
    out.data["sweep"] = xr.Dataset(
        {
            "lr": ("lam", lr_v),
            "learning_time": ("lam", t_learn, {"meaning": "first time the loss is <= 10% of L(0); inf: never"}),
            "kernel_distance": ("lam", kdist, {"meaning": "1 - cos(NTK(0), NTK(t_max))"}),
            "kernel_relative_change": ("lam", kchange, {"meaning": "||NTK(t_max) - NTK(0)|| / ||NTK(t_max)||"}),
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
        inv += int(np.sum(np.diff(t_learn[side][order]) > 0)) + int(np.sum(np.diff(kchange[side][order]) > 0))
    out.check(
        "rich_to_lazy_monotone",
        float(inv),
        "<=",
        0,
        "learning time and relative kernel change both fall as |lambda| grows, for each sign (count of violations)",
    )
    zero = np.argmin(np.abs(lam_v))
    big = np.argmax(np.abs(lam_v))
    out.check(
        "kernel_moves_in_rich_regime",
        float(kchange[zero]),
        ">=",
        0.5,
        f"||NTK(end) - NTK(0)|| / ||NTK(end)|| at lambda = {lam_v[zero]:g} with small weights: the kernel is "
        "built by learning",
    )
    out.check(
        "kernel_frozen_in_lazy_regime",
        float(kchange[big]),
        "<=",
        0.05,
        f"same relative kernel change at lambda = {lam_v[big]:g}: the NTK stays (nearly) at its initial value",
    )
    # Late-time rate at the largest |lambda| from a densely recorded GD run over the relaxation window.
    lam_big = abs(float(lam_v[big]))
    lr_big = float(lr_v[big])
    predicted = 2 * lam_big
    t_end = np.log(_RELAX_DECADES) / predicted
    fastest = 2 * np.sqrt(lam_big**2 + 4 * s_task[0] ** 2)  # at least 5 records while the loss falls 1e-3 -> 1e-10
    n_rec = int(np.clip(1 + 5 * fastest * t_end / np.log(1e7), 201, 20_001))
    t_rel = lr_big * np.unique(np.rint(train.linear_times(t_end, n_rec) / lr_big))
    W1, W2 = init.lambda_balanced_from_svd(U0, s0, V0, cfg.n_h, float(lam_v[big]), seed=cfg.seed + 2)
    res = train.simulate_gd(task.X, task.Y, (W1, W2), lr=lr_big, t=t_rel)
    loss, tt = res.loss, res.t
    rate, window = decay_rate(tt, loss, between=(1e-10, 1e-3))
    out.data["relaxation"] = xr.Dataset(
        {"loss": ("t", loss), "fit_window": ("t", window)},
        coords={"t": tt},
        attrs={"lam": float(lam_v[big]), "lr": lr_big, "fitted_rate": float(rate), "predicted_rate": predicted},
    )
    out.check(
        "lazy_relaxation_rate",
        abs(rate / predicted - 1.0),
        "<=",
        2 * (s_task[0] / lam_big) ** 2 + 2 * lr_big * lam_big,
        "|fitted loss decay rate / 2|lambda| - 1| at the largest |lambda|; the per-mode rates "
        "2 sqrt(lambda^2 + 4 s̃_k^2) lie within 2 (s̃_max/lambda)^2 of 2|lambda|, plus GD's O(lr lambda) bias "
        "(nan: the loss never fell from 1e-3 to 1e-10 of L(0) in the run)",
    )

    fig = _figure(cfg, lam_v, curves, t_learn, kchange, out.data["relaxation"])
    mirror = (
        " For this square shape lambda and -lambda give identical curves (mirror images), so the circles lie on the"
        " solid curve of the same colour."
        if cfg.n_in == cfg.n_out and (lam_v < 0).any() and (lam_v > 0).any()
        else ""
    )
    out.figure(
        "lambda_sweep",
        fig,
        "Top left: training loss against gradient-flow time t = lr * step, one colour per |lambda|, GD solid for "
        "lambda >= 0 and open circles for lambda < 0, the exact lambda-balanced solution black dashed (loss axis cut "
        f"10 decades below L(0)).{mirror} Top right and bottom left: the time to reach 10% of L(0) and the relative "
        "kernel change ||K(t_max) - K(0)|| / ||K(t_max)|| fall as |lambda| grows (symmetric-log lambda axis), from "
        "the rich regime, where learning rebuilds the kernel, to the lazy one, where it stays frozen; the dotted and "
        "dash-dotted lines are the check thresholds. Bottom right: at the largest |lambda| the GD loss decays at "
        "the lazy rate 2|lambda| (dashed), fitted inside the shaded window.",
        checks=[
            "max_rel_err_theory_vs_gd",
            "rich_to_lazy_monotone",
            "kernel_moves_in_rich_regime",
            "kernel_frozen_in_lazy_regime",
            "lazy_relaxation_rate",
        ],
    )
    return out


def _figure(cfg: Config, lam_v, curves, t_learn, kchange, relax: xr.Dataset):
    """Loss curves per lambda, learning time and kernel change against lambda, lazy relaxation."""
    fig, axes = plots.figure(2, 2, width=5.0, height=3.8)
    mags = np.unique(np.abs(lam_v))
    colors = dict(zip(mags, plots.plt.cm.viridis(np.linspace(0, 0.9, mags.size)), strict=True))
    ax = axes[0, 0]
    loss0 = max(float(curves[float(lam)][0]["loss"].values[0]) for lam in lam_v)
    for lam in lam_v:
        sim, th = curves[float(lam)]
        t = sim["t"].values
        keep = t > 0
        c = colors[abs(lam)]
        if lam >= 0:
            ax.plot(t[keep], sim["loss"].values[keep], color=c, lw=1.8, label=f"λ = {lam:g}")
        else:
            ax.plot(
                t[keep],
                sim["loss"].values[keep],
                ls="none",
                marker="o",
                ms=4,
                mfc="none",
                mec=c,
                markevery=max(1, keep.sum() // 15),
                label=f"λ = {lam:g}",
            )
        ax.plot(t[keep], th["loss"].values[keep], "k--", lw=0.8)
    ax.plot([], [], "k--", lw=0.8, label="exact solution")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel=plots.TIME_LABEL,
        ylabel="training loss L",
        title="loss: GD (colour) vs exact (dashed)",
        ylim=(1e-10 * loss0, 2 * loss0),
    )
    ax.legend(frameon=False, fontsize=6, ncol=2, loc="lower left")

    nonzero = np.abs(lam_v[lam_v != 0])
    linthresh = float(nonzero.min()) if nonzero.size else 1.0
    neg = lam_v < 0
    for ax, y, ylabel, title in (
        (axes[0, 1], t_learn, "time to 10% of L(0)", "learning time"),
        (axes[1, 0], kchange, "||K(t_max) - K(0)|| / ||K(t_max)||", "relative change of the NTK"),
    ):
        finite = np.isfinite(y)
        ax.plot(lam_v[finite], y[finite], "-", color="0.6", lw=1)
        ax.plot(lam_v[finite & ~neg], y[finite & ~neg], "o", color="C0", label="λ >= 0")
        ax.plot(lam_v[finite & neg], y[finite & neg], "s", mfc="none", color="C1", label="λ < 0")
        ax.set_xscale("symlog", linthresh=linthresh)
        ax.set_yscale("log")
        ax.set_xticks(lam_v)
        ax.set_xticklabels([f"{v:g}" for v in lam_v], fontsize=7, rotation=45 if lam_v.size > 5 else 0)
        ax.set(xlabel="λ (symmetric-log axis)", ylabel=ylabel, title=title)
    axes[1, 0].axhline(0.5, color="k", ls=":", lw=1, label="rich check: >= 0.5 at λ ≈ 0")
    axes[1, 0].axhline(0.05, color="0.4", ls="-.", lw=1, label="lazy check: <= 0.05 at max |λ|")
    for ax in (axes[0, 1], axes[1, 0]):
        ax.legend(frameon=False, fontsize=7)

    ax = axes[1, 1]
    t, loss, window = relax["t"].values, relax["loss"].values, relax["fit_window"].values
    lam, rate, predicted = relax.attrs["lam"], relax.attrs["fitted_rate"], relax.attrs["predicted_rate"]
    ax.plot(t, loss, color="C0", lw=1.8, label=f"GD, λ = {lam:g} (lr = {relax.attrs['lr']:.3g})")
    if window.any():
        t0, l0 = t[window][0], loss[window][0]
        ax.axvspan(t0, t[window][-1], color="0.9", label=f"fit window: rate {rate:.4g}")
        ax.plot(t, l0 * np.exp(-predicted * (t - t0)), "k--", lw=1, label=f"∝ exp(-2|λ| t), 2|λ| = {predicted:g}")
    ax.set(
        yscale="log",
        ylim=(0.3 / _RELAX_DECADES * loss[0], 2 * loss[0]),
        xlabel=plots.TIME_LABEL,
        ylabel="training loss L",
        title=f"lazy relaxation at λ = {lam:g}",
    )
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig
