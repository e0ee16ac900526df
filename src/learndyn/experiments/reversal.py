"""reversal: after learning sigma, learning -sigma sends a two-layer net to a saddle; a shallow net reverses at once.

Reversal learning as in Braun, Dominé, Fitzgerald & Saxe 2022 ("Exact learning dynamics of deep linear networks with
prior knowledge", NeurIPS), Fig. 6a,b. A 4-6-4 network (16 whitened items, zero-balanced init sigma = .25,
lr = .05) learns a teacher map with singular values (1, .7, .5, .3) for 2000 steps, then the reversed target -Y.
Once the net has learned sigma, every mode is anti-aligned with -sigma: the matrix B of the exact solution is zero,
and the exact solution (restarted Riccati form) sends W2 W1 monotonically to the saddle at 0 and keeps it there.
A shallow net follows W(t) = -sigma + (W0 + sigma) e^{-t} and reverses at once.

How long a real network stalls is set by how far it is from balanced: a lambda-balanced mode crosses zero (its rate
sqrt(lambda^2 + 4 a^2) never vanishes) after about ln(s̃/|lambda|)/s̃. This law is derived here from the per-mode
ODE of Saxe, McClelland & Ganguli 2014 extended to lambda-balanced weights, and checked below against RK4. GD's own
O(lr) imbalance is what lets the simulated net escape after a plateau.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from learndyn import init, observables, plots, tasks, train
from learndyn._numerics import crossing_time, decay_rate, time_to_fraction
from learndyn.experiments.config import ExperimentConfig, option
from learndyn.experiments.registry import experiment
from learndyn.progress import track
from learndyn.results import Outcome
from learndyn.theory import modes
from learndyn.theory.linear import exact_trajectory

# Times over which the shallow net's error e^{-t} falls from 1/2 to 1e-8 of its start: the fitted window.
_FIT_T = (0.75, 18.0)
# Most RK4 steps one escape run may take (about a minute); more is refused when the config is made.
_MAX_RK4_STEPS = 1e7


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Configuration of reversal (shapes of Braun et al. 2022, Fig. 6a,b; teacher spectrum chosen here)."""

    seed: int = option(0, "seed of the task (inputs, teacher's singular vectors) and of the initial weights", ge=0)
    n_h: int = option(6, "hidden width of the two-layer net; >= len(teacher_s)", ge=1)
    P: int = option(16, "number of training items; > len(teacher_s) so that the inputs can be whitened", ge=2)
    teacher_s: tuple[float, ...] = option(
        (1.0, 0.7, 0.5, 0.3), "singular values of the teacher map; their number is the input and output dimension", gt=0
    )
    sigma: float = option(0.25, "entry scale of the zero-balanced initial weights", gt=0, le=10)
    lr: float = option(0.05, "GD learning rate (two-layer and shallow nets)", gt=0, lt=1)
    steps_learn: int = option(2000, "GD steps while learning the target Y", ge=1)
    steps_reverse: int = option(8000, "GD steps while learning the reversed target -Y", ge=1)
    lams: tuple[float, ...] = option(
        (1e-2, 1e-4, 1e-6, 1e-8),
        "balance lambda of the converged nets whose escape from the saddle RK4 follows, one run each; "
        "< min(teacher_s), at least two values",
        gt=0,
    )
    rk4_dt: float = option(0.01, "RK4 time step of the escape runs (gradient-flow time)", gt=0)
    n_records: int = option(100, "log-spaced records per phase (learning, reversal)", ge=2)

    def check(self):
        n = len(self.teacher_s)
        if self.n_h < n:
            raise ValueError(
                f"n_h={self.n_h} < len(teacher_s)={n}: a zero-balanced net needs as many hidden units as modes; "
                f"use n_h >= {n} or fewer teacher_s"
            )
        if self.P <= n:
            raise ValueError(
                f"P={self.P} must be > len(teacher_s)={n}: whitening the centred inputs needs more items than input "
                f"dimensions; use P >= {n + 1}"
            )
        s_max, s_min = max(self.teacher_s), min(self.teacher_s)
        a_max = _initial_spectrum(self)[0]
        if self.lr * max(s_max, a_max) >= 1:
            which = f"max(teacher_s)={s_max:g}" if s_max >= a_max else f"the initial map's top mode {a_max:.3g}"
            raise ValueError(
                f"lr={self.lr:g} makes GD unstable: lr times {which} must be < 1 (the sharpness of a balanced net is "
                f"twice its largest mode); use lr < {1 / max(s_max, a_max):.3g}"
            )
        t_rev = train.log_times(self.lr, self.lr * self.steps_reverse, self.n_records, step=self.lr)
        inside = int(np.sum((t_rev > _FIT_T[0]) & (t_rev < _FIT_T[1])))
        if inside < 3:
            raise ValueError(
                f"steps_reverse={self.steps_reverse}, lr={self.lr:g} and n_records={self.n_records} give {inside} "
                f"records in {_FIT_T[0]:g} < t < {_FIT_T[1]:g} (t = lr * step), where the shallow net's e^(-t) decay "
                f"is fitted; need >= 3: reverse for longer (lr * steps_reverse >= {_FIT_T[1]:g}) or record more often"
            )
        names = [f"{lam:g}" for lam in self.lams]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"lams lists lambda = {name} twice; give each value once")
        if len(self.lams) < 2:
            raise ValueError(
                f"lams={names[0]} needs at least two values: the escape time is fitted against ln(1/lambda)"
            )
        if max(self.lams) >= s_min:
            raise ValueError(
                f"lams must all be < min(teacher_s)={s_min:g} (got {max(self.lams):g}): the escape from the saddle "
                "takes ln(s/lambda)/s only for lambda much smaller than the singular values s"
            )
        if self.rk4_dt * s_max >= 1:
            raise ValueError(
                f"rk4_dt={self.rk4_dt:g} is too large for RK4 on this task: rk4_dt * max(teacher_s) = "
                f"{self.rk4_dt * s_max:.3g} must be < 1; use rk4_dt <= {0.01 / s_max:.3g} for the 1e-7 accuracy "
                "the check asks"
            )
        steps = _escape_t_max(self) / self.rk4_dt
        if steps > _MAX_RK4_STEPS:
            raise ValueError(
                f"rk4_dt={self.rk4_dt:g} with min(lams)={min(self.lams):g} needs {steps:.2g} RK4 steps per escape run "
                f"(t up to 2.5 ln(min(teacher_s)/min(lams))/min(teacher_s)); keep it below {_MAX_RK4_STEPS:.0e}"
            )


def _initial_spectrum(cfg: Config) -> np.ndarray:
    """Singular values of the initial map W2 W1(0), largest first."""
    n = len(cfg.teacher_s)
    W1, W2 = init.zero_balanced(cfg.seed + 1, (n, cfg.n_h, n), cfg.sigma)
    return np.linalg.svd(W2 @ W1, compute_uv=False)


def _escape_t_max(cfg: Config) -> float:
    """Length of the RK4 escape runs: 2.5 times the escape time of the slowest mode at the smallest lambda."""
    s_min = min(cfg.teacher_s)
    return 2.5 * np.log(s_min / min(cfg.lams)) / s_min


def _teacher_task(cfg: Config) -> tasks.Task:
    n = len(cfg.teacher_s)
    rng = np.random.default_rng(cfg.seed)
    X = tasks.whiten(rng.normal(size=(cfg.P, n)))
    U, V = init.random_orthogonal(rng, n), init.random_orthogonal(rng, n)
    return tasks.Task(X, X @ (U @ np.diag(cfg.teacher_s) @ V.T).T, name="reversal-teacher")


@experiment(
    "reversal",
    Config,
    quick={"n_records": 50, "lams": (1e-2, 1e-5, 1e-8)},
    description="Reversal learning: a two-layer net goes to the saddle, a shallow net reverses "
    "(Braun et al. 2022, Fig. 6a,b).",
)
def run(cfg: Config) -> Outcome:
    """Learn Y, then -Y: exact theory, GD, RK4 per-mode escape vs lambda, and the shallow closed form."""
    out = Outcome()
    task = _teacher_task(cfg)
    rev = tasks.reversal(task)
    n = task.n_in
    sigma = task.whitened_correlation()[0]
    svd = task.whitened_svd()
    U, s, Vt = svd.U, svd.s, svd.V.T
    W = init.match_det_sign(*init.zero_balanced(cfg.seed + 1, (n, cfg.n_h, n), cfg.sigma), sigma)
    t1 = train.log_times(cfg.lr, cfg.lr * cfg.steps_learn, cfg.n_records, step=cfg.lr)
    learn, W_learned = train.gd_trajectory(task, W, lr=cfg.lr, t=t1, ntk=False, rsm=False)
    learn_th = exact_trajectory(task, *W, learn["t"].values, ntk=False, rsm=False)
    out.check_gd_error("theory_vs_gd_max_err_w2w1_learn", learn, learn_th, cfg.lr, "while learning Y")

    # Reversal: the theory continues from its own (exactly balanced, converged) end state.
    t2 = train.log_times(cfg.lr, cfg.lr * cfg.steps_reverse, cfg.n_records, step=cfg.lr)
    sim = train.gd_trajectory(rev, W_learned, lr=cfg.lr, t=t2, ntk=False, rsm=False)[0]
    th = exact_trajectory(
        rev,
        *init.balanced_from_qqt(observables.qqt_from_blocks(learn_th), n, cfg.n_h),
        sim["t"].values,
        ntk=False,
        rsm=False,
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
        "largest singular value of the exact W2W1 at the end of reversal, over s̃_1: a perfectly balanced net stays "
        "at the saddle (Braun et al. 2022, Fig. 6a)",
    )
    out.check(
        "theory_decay_monotone",
        float(np.sum(np.diff(sv_th, axis=0) > 1e-12)),
        "<=",
        0,
        "records where an exact singular value of W2W1 grows during reversal: the exact flow decays monotonically "
        "to the saddle",
    )
    early = sim["t"].values <= 1.0 / s[0]
    out.check_gd_error(
        "theory_vs_gd_collapse", sim.isel(t=early), th.isel(t=early), cfg.lr, "while the modes collapse (t <= 1/s̃_1)"
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
    rate, _ = decay_rate(shallow.t, err, between=(1e-8, 0.5))
    out.check(
        "shallow_error_rate",
        abs(rate - 1.0),
        "<=",
        cfg.lr,
        "|fitted decay rate of ||W + sigma|| - 1|: a shallow net reverses as e^{-t}, up to GD's O(lr) shift of the "
        "rate (Braun et al. 2022, Fig. 6b; nan: the error never fell below half its initial value)",
    )
    t_deep = time_to_fraction(sim["t"].values, sim["loss"].values, 0.1)
    t_shallow = time_to_fraction(shallow.t, shallow.loss, 0.1)
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
    te = np.unique(cfg.rk4_dt * np.round(np.linspace(0.0, _escape_t_max(cfg), 400) / cfg.rk4_dt))
    for j, lam in enumerate(track(lams, "escape from the saddle (RK4, one run per lambda)")):
        Wl = init.lambda_balanced_from_svd(U, s, Vt.T, n, float(lam), seed=cfg.seed + 2)
        res = train.gradient_flow_rk4(rev.X, rev.Y, Wl, t=te, dt=cfg.rk4_dt)
        strength = -np.einsum("ok,toi,ik->tk", U, res.weights[1] @ res.weights[0], Vt.T)  # along -sigma's modes
        a = modes.lambda_mode(s, -s, float(lam), res.t)
        err_mode[j] = float(np.max(np.abs(strength - a)))
        t_esc[j] = crossing_time(res.t, strength[:, 0], s[0] / 2, above=True, never=np.nan)
        out.data[f"escape/lam_{lam:g}"] = xr.Dataset(
            {"strength_rk4": (("t", "mode"), strength), "strength_theory": (("t", "mode"), a)},
            coords={"t": res.t, "mode": np.arange(n)},
            attrs={"lam": float(lam), "escape_time": t_esc[j]},
        )
    out.check(
        "lambda_mode_vs_rk4_through_saddle",
        float(err_mode.max()),
        "<=",
        1e-7,
        "per-mode lambda-balanced closed form against RK4 gradient flow while crossing the saddle",
    )
    fit = np.polyfit(np.log(1.0 / lams), t_esc, 1) if np.isfinite(t_esc).all() else np.array([np.nan, np.nan])
    out.check(
        "escape_time_slope",
        abs(float(fit[0] * s[0]) - 1.0),
        "<=",
        0.1,
        "|s̃_1 d t_escape / d ln(1/lambda) - 1|: the stall time grows as ln(1/lambda)/s̃_1, derived from the "
        "per-mode ODE of a lambda-balanced net (nan: a run did not escape)",
    )
    out.data["escape/times"] = xr.Dataset(
        {"escape_time": ("lam", t_esc), "max_err_theory_vs_rk4": ("lam", err_mode)},
        coords={"lam": lams},
        attrs={"fitted_slope": float(fit[0]), "predicted_slope": float(1 / s[0])},
    )

    fig = _figure(out, learn, learn_th, sim, th, shallow, closed, lams, t_esc, fit, s)
    out.figure(
        "reversal",
        fig,
        "Entries of the network map W2 W1 (GD solid, exact solution black dashed) against gradient-flow time "
        "t = lr * step, first while learning Y (top left), then after the target flips to -Y (top centre): the "
        "exact flow of a perfectly balanced net (B = 0) sends the map to the saddle W2 W1 = 0 and stays there, while "
        "GD's O(lr) imbalance lets it escape after a plateau, unlike the shallow net, which reverses at once as "
        "e^{-t} (bottom left). Top right: the reversed loss of both nets; the two-layer net reaches 10% of L(0) "
        "much later (dotted line). Bottom centre and right: exactly lambda-balanced nets (RK4 solid, per-mode "
        "formula dashed) leave the saddle after a time that grows as ln(1/lambda)/s̃_1 (dashed slope).",
        checks=[c.name for c in out.checks],
    )
    return out


def _figure(out, learn, learn_th, sim, th, shallow, closed, lams, t_esc, fit, s):
    """Six panels: learning, reversal (two-layer, shallow), reversed loss, escape curves and escape times."""
    fig, axes = plots.figure(3, 2, width=4.6, height=3.6)
    plots.sim_vs_theory(
        axes[0, 0],
        learn["t"].values,
        learn["w2w1"].values,
        learn_th["w2w1"].values,
        title="learning Y: network map",
        ylabel="entries of W2 W1",
        logx=True,
    )
    ax = axes[0, 1]
    plots.sim_vs_theory(
        ax,
        sim["t"].values,
        sim["w2w1"].values,
        th["w2w1"].values,
        title="reversal to -Y, two-layer net",
        ylabel="entries of W2 W1",
        logx=True,
    )
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    t_end = float(sim["t"].values[-1])
    ax.annotate(
        "exact flow, perfectly balanced (B = 0):\nstays at the saddle W2 W1 = 0\n"
        "GD: O(lr) imbalance, escapes\nafter a plateau (see escape panels)",
        xy=(0.5 * t_end, 0.0),
        xytext=(0.03, 0.97),
        textcoords="axes fraction",
        va="top",
        fontsize=7,
        arrowprops={"arrowstyle": "->", "lw": 0.8},
        bbox={"boxstyle": "round", "fc": "white", "ec": "0.7", "alpha": 0.9},
    )
    ax = axes[0, 2]
    loss0 = float(sim["loss"].values[0])
    for t, loss, style, label in (
        (sim["t"].values, sim["loss"].values, {"color": "C0", "lw": 1.8}, "two-layer GD"),
        (th["t"].values, th["loss"].values, {"color": "k", "ls": "--", "lw": 1.2}, "two-layer exact (balanced)"),
        (shallow.t, shallow.loss, {"color": "C1", "lw": 1.8}, "shallow GD"),
    ):
        keep = t > 0
        ax.plot(t[keep], loss[keep], label=label, **style)
    ax.axhline(0.1 * loss0, color="0.4", ls=":", lw=1, label="10% of L(0) (stall check)")
    ax.set(
        xscale="log",
        yscale="log",
        ylim=(1e-10 * loss0, 3 * loss0),
        xlabel=plots.TIME_LABEL,
        ylabel="loss on the reversed task",
        title="reversed loss: two-layer vs shallow",
    )
    ax.legend(frameon=False, fontsize=7, loc="lower left")
    plots.sim_vs_theory(
        axes[1, 0],
        shallow.t,
        shallow.weights[0],
        closed,
        title="reversal to -Y, shallow net",
        ylabel="entries of W",
        logx=True,
    )
    ax = axes[1, 1]
    colors = plots.plt.cm.viridis(np.linspace(0, 0.9, lams.size))
    for c, lam in zip(colors, lams, strict=True):
        ds = out.data[f"escape/lam_{lam:g}"]
        ax.plot(ds["t"], ds["strength_rk4"][:, 0], color=c, lw=1.8, label=f"RK4, λ = {lam:g}")
        ax.plot(ds["t"], ds["strength_theory"][:, 0], "k--", lw=0.8)
    ax.plot([], [], "k--", lw=0.8, label="per-mode formula")
    finite = t_esc[np.isfinite(t_esc)]
    if finite.size:
        ax.set_xlim(0, 1.4 * finite.max())
    ax.set(
        xlabel=plots.TIME_LABEL,
        ylabel="top-mode strength along -σ",
        title="escape of λ-balanced nets (top mode)",
    )
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    ax = axes[1, 2]
    x = np.log(1.0 / lams)
    ax.plot(x, t_esc, "o", color="C0", label="RK4 escape time")
    if np.isfinite(fit).all():
        xs = np.linspace(x.min(), x.max(), 2)
        ax.plot(xs, np.polyval(fit, xs), color="C0", lw=1, label=f"fit: slope {fit[0]:.3g}")
        ax.plot(
            xs,
            t_esc[0] + (xs - x[0]) / s[0],
            "k--",
            lw=1,
            label=f"predicted slope 1/s̃_1 = {1 / s[0]:.3g}",
        )
    ax.set(
        xlabel="ln(1/λ)",
        ylabel="time for the top mode to reach s̃_1/2",
        title="escape time vs balance λ",
    )
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig
