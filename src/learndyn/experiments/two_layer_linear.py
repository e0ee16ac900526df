"""two-layer-linear: GD, rho-FA and Hebb in a wide two-layer linear network on whitened data, against their closed
infinite-width dynamics.

Bordelon & Pehlevan 2023 ("The influence of learning rule on representation dynamics in wide neural networks",
ICLR, arXiv 2210.02157), Fig. 5 and eqs. 7-8. The net is the mean-field net ``h = W x / sqrt(D)``,
``f = w . h / (gamma0 N)`` of ``learndyn.param.get("meanfield", gamma0)`` with a linear activation, trained full
batch with the library's loss and learning rate ``lr gamma0^2 N`` per layer (time ``t = lr * step``; the paper's
time is ``t / P``), on ``P = D`` inputs with ``X X^T / D = I`` and targets ``y = +-1``. The closed dynamics are
:mod:`learndyn.theory.two_layer_rules` (GD with the factor 2 that the printed eq. 8 lacks, the rho-FA a-ODE, Hebb
per item).

Checks:

- simulation vs theory: for GD, FA(rho = 0), FA(rho = 1) and Hebb the simulated outputs stay within
  ``sim_tol / sqrt(N)`` of the infinite-width curves at every width, and the error falls with width (the largest
  width's error is below the smallest's); the printed GD equation misses by at least ``printed_factor`` times
  more than the corrected one;
- early times (Fig. 5a): FA(rho = 0) follows Hebb and FA(rho = 1) follows GD (their eNTKs agree at t = 0);
- alignment (Fig. 5b): ``H_y = y_hat^T H y_hat / Tr H`` rises for GD and FA but stays at ``1 / P`` for Hebb,
  whose feature kernel grows on the diagonal only (simulated off-diagonal ``|H_mu nu|`` stays at its ``N^-1/2``
  init level while GD's grows by O(1));
- richness (Fig. 5c): the fixed-point ``H_y - 1`` grows as ``gamma0^2`` at small ``gamma0`` and as ``gamma0``
  (GD) vs ``gamma0^(2/3)`` (FA) at large ``gamma0`` (fitted exponents), with rho = 1 below rho = 0 throughout;
  simulations at several ``gamma0`` end on those fixed points.

Quick mode: widths 500 and 2000, two ``gamma0`` for the sweep; every check is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np
import xarray as xr

from learndyn import observables, param, plots, rules, tasks, train
from learndyn.experiments.config import ExperimentConfig, option
from learndyn.experiments.registry import experiment
from learndyn.progress import track
from learndyn.results import Outcome
from learndyn.theory import two_layer_rules as tl

_RUNS = (("gd", "GD", 0.0), ("fa0", "FA (rho = 0)", 0.0), ("fa1", "FA (rho = 1)", 1.0), ("hebb", "Hebb", 0.0))


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Configuration of two-layer-linear (defaults: the full run)."""

    seed: int = option(0, "seed of the inputs, the labels and the initial weights", ge=0)
    P: int = option(8, "items = input dimension D (X X^T / D = I needs P <= D)", ge=2)
    gamma0: float = option(1.5, "richness of the main runs", gt=0)
    widths: tuple[int, ...] = option((1000, 4000), "hidden widths N of the simulations", ge=50)
    seeds: int = option(2, "initialisations per width (vectorised)", ge=1)
    lr: float = option(0.02, "learning rate (mean-field: every layer moves at lr gamma0^2 N); t = lr * step", gt=0)
    t_end: float = option(32.0, "training time of the main runs (library time; the paper's is t / P)", gt=0)
    gammas: tuple[float, ...] = option((0.25, 0.5, 1.0, 2.0, 4.0), "gamma0 of the fixed-point sweep", gt=0)
    sweep_t_end: float = option(96.0, "training time of the sweep runs (long enough to reach the fixed point)", gt=0)
    n_records: int = option(41, "records per run (evenly spaced)", ge=5)
    early: float = option(0.1, "early window, in the paper's time t / P, for the early-time checks", gt=0)
    sim_tol: float = option(4.0, "simulation vs theory: max |f_sim - f_theory| <= sim_tol / sqrt(N)", gt=0)
    printed_factor: float = option(4.0, "the printed GD ODE must miss by this factor more than the corrected", gt=1)

    def check(self):
        """Constraints between fields."""
        if len(set(self.widths)) < 2:
            raise ValueError(f"widths must hold at least two distinct widths (the 1/sqrt(N) trend); got {self.widths}")
        if len(self.gammas) < 2:
            raise ValueError(f"gammas must hold at least two values; got {self.gammas}")
        for name, t_end in (("t_end", self.t_end), ("sweep_t_end", self.sweep_t_end)):
            if t_end / self.lr > 2e5:
                raise ValueError(f"{name}/lr = {t_end / self.lr:.3g} steps is more than 2e5; use a larger lr")


def _task(cfg: Config) -> tasks.Task:
    rng = np.random.default_rng(cfg.seed)
    X = np.sqrt(cfg.P) * np.linalg.qr(rng.standard_normal((cfg.P, cfg.P)))[0]
    y = rng.choice([-1.0, 1.0], cfg.P)
    return tasks.Task(X, y[:, None], name="whitened +-1")


def _simulate(cfg: Config, task: tasks.Task, rule: str, rho: float, N: int, gamma0: float, t, key: int):
    """Outputs ``f (S, T, P)`` and feature kernels ``H (S, T, P, P)`` of ``cfg.seeds`` wide nets."""
    par = param.get("meanfield", gamma0=gamma0)
    sizes = (cfg.P, N, 1)
    net = par.mlp(sizes, "linear")
    keys = jax.random.split(jax.random.fold_in(jax.random.key(cfg.seed), key), cfg.seeds)
    p0 = jax.vmap(lambda k: par.init(k, sizes, "linear"))(keys)
    r = rules.get("fa", net, rho=rho) if rule.startswith("fa") else rules.get(rule, net)
    sim = train.simulate(net, r, task, p0, lr=cfg.lr, t=t, param=par, key=key)

    def outputs(p):
        f, cache = net.apply(p, task.X)
        h = cache["phi"][1]
        return f[:, 0], h @ h.T / N

    f, H = jax.vmap(jax.vmap(outputs))(sim.params)
    return sim.t, np.asarray(f), np.asarray(H)


def _h_y_frac(H, y):
    y_hat = y / np.linalg.norm(y)
    return np.einsum("p,...pq,q->...", y_hat, H, y_hat) / np.trace(H, axis1=-2, axis2=-1)


@experiment(
    "two-layer-linear",
    Config,
    quick={"widths": (500, 2000), "gammas": (0.5, 2.0), "n_records": 21},
    description="GD, rho-FA and Hebb in a wide two-layer linear net on whitened data vs their closed dynamics: the "
    "factor-2 GD ODE, the FA a-ODE, Hebb per item; alignment and its gamma0 exponents (Bordelon & Pehlevan 2023).",
)
def run(cfg: Config) -> Outcome:
    """Simulate each rule at each width and compare with the closed infinite-width dynamics."""
    out = Outcome()
    task = _task(cfg)
    y = task.Y[:, 0]
    widths = np.asarray(sorted(set(cfg.widths)))
    t = np.linspace(0.0, cfg.t_end, cfg.n_records)
    theory = {
        label: tl.trajectory(task, "fa" if label.startswith("fa") else label, gamma0=cfg.gamma0, t=t, rho=rho)
        for label, _, rho in _RUNS
    }

    f_sim = np.zeros((len(_RUNS), len(widths), cfg.seeds, len(t), cfg.P))
    hy_sim = np.zeros((len(_RUNS), len(widths), cfg.seeds, len(t)))
    off = np.zeros((len(_RUNS), len(widths), cfg.seeds))
    jobs = [(i, j, run, int(N)) for i, run in enumerate(_RUNS) for j, N in enumerate(widths)]
    for i, j, (label, _, rho), N in track(jobs, "two-layer-linear: rules x widths"):
        ts, f, H = _simulate(cfg, task, label.rstrip("01"), rho, N, cfg.gamma0, t, key=1000 * i + j)
        t = ts
        f_sim[i, j], hy_sim[i, j] = f, _h_y_frac(H, y)
        d = np.sqrt(np.diagonal(H[:, -1], axis1=-2, axis2=-1))
        off[i, j] = np.max(np.abs(H[:, -1] / (d[:, :, None] * d[:, None, :]) * (1 - np.eye(cfg.P))), axis=(-2, -1))

    err = np.max(np.abs(f_sim - np.stack([th.f.values[:, :, 0] for th in theory.values()])[:, None, None]), axis=-1)
    err = np.max(err, axis=-1).mean(axis=-1)  # (rule, width): max over t and items, mean over seeds
    printed = tl.gd_printed_delta(np.linalg.norm(y), cfg.gamma0, t, cfg.P)
    f_printed = (np.linalg.norm(y) - printed)[:, None] * y / np.linalg.norm(y)
    err_printed = np.max(np.abs(f_sim[0] - f_printed), axis=(-2, -1)).mean(axis=-1)

    names = [label for label, _, _ in _RUNS]
    data = xr.Dataset(
        {
            "f_sim": (("rule", "width", "seed", "t", "p"), f_sim),
            "f_theory": (("rule", "t", "p"), np.stack([th.f.values[:, :, 0] for th in theory.values()])),
            "loss_theory": (("rule", "t"), np.stack([th.loss.values for th in theory.values()])),
            "h_y_frac_sim": (("rule", "width", "seed", "t"), hy_sim),
            "h_y_frac_theory": (("rule", "t"), np.stack([th.h_y_frac.values for th in theory.values()])),
            "h_y_theory": (("rule", "t"), np.stack([th.h_y.values for th in theory.values()])),
            "offdiag_h_final": (("rule", "width", "seed"), off),
            "max_err_f": (("rule", "width"), err),
            "max_err_f_printed_gd": (("width",), err_printed),
        },
        coords={"rule": names, "width": widths, "t": t, "rule_name": ("rule", [n for _, n, _ in _RUNS])},
        attrs={"gamma0": cfg.gamma0, "lr": cfg.lr, "P": cfg.P, "time": "library t = lr * step; paper's s = t / P"},
    )
    data["loss_sim"] = 0.5 * ((data["f_sim"] - xr.DataArray(y, dims="p")) ** 2).mean("p")
    for var, long_name in (
        ("f_sim", "simulated outputs"),
        ("f_theory", "infinite-width outputs (closed dynamics)"),
        ("loss_sim", "simulated training loss 1/(2P) sum (y - f)^2"),
        ("loss_theory", "infinite-width training loss"),
        ("h_y_frac_sim", "simulated y_hat^T H y_hat / Tr H"),
        ("h_y_frac_theory", "infinite-width y_hat^T H y_hat / Tr H"),
        ("h_y_theory", "infinite-width y_hat^T H y_hat"),
        ("offdiag_h_final", "max off-diagonal |H_mu nu| / sqrt(H_mu mu H_nu nu) at the end"),
        ("max_err_f", "max over t and items of |f_sim - f_theory|, mean over seeds"),
        ("max_err_f_printed_gd", "GD: the same against the paper's printed eq. 8"),
    ):
        data[var].attrs.update(long_name=long_name, units="1")
    out.data["rules"] = observables.describe_variables(data)

    sweep = _sweep(cfg, task, y, out)
    checks = _checks(cfg, out, data, theory, sweep, widths, t, float(np.linalg.norm(y)))
    _figures(cfg, out, data, sweep, checks, widths)
    return out


def _sweep(cfg: Config, task, y, out: Outcome) -> xr.Dataset:
    """Fixed-point ``H_y - 1`` over ``gamma0``: closed form on a fine grid, simulations at ``cfg.gammas``."""
    y_norm = float(np.linalg.norm(y))
    grid = np.geomspace(1e-3, 1e3, 61)
    fixed = np.stack(
        [
            [tl.gd_fixed_point(y_norm, g) - 1 for g in grid],
            [tl.fa_fixed_point(y_norm, g, 0.0) ** 2 for g in grid],
            [tl.fa_fixed_point(y_norm, g, 1.0) ** 2 for g in grid],
        ]
    )
    N = int(max(cfg.widths))
    t = np.linspace(0.0, cfg.sweep_t_end, 3)
    sim = np.zeros((3, len(cfg.gammas)))
    for k, g in enumerate(track(cfg.gammas, "two-layer-linear: gamma0 sweep")):
        for i, (rule, rho) in enumerate((("gd", 0.0), ("fa", 0.0), ("fa", 1.0))):
            _, _, H = _simulate(cfg, task, rule, rho, N, float(g), t, key=50_000 + 10 * k + i)
            y_hat = y / y_norm
            sim[i, k] = float(np.mean(np.einsum("p,spq,q->s", y_hat, H[:, -1], y_hat))) - 1
    ds = xr.Dataset(
        {
            "h_y_minus_1_fixed": (("rule", "gamma0_grid"), fixed),
            "h_y_minus_1_sim": (("rule", "gamma0"), sim),
        },
        coords={"rule": ["gd", "fa0", "fa1"], "gamma0_grid": grid, "gamma0": np.asarray(cfg.gammas)},
        attrs={"width": N, "t_end": cfg.sweep_t_end},
    )
    ds["h_y_minus_1_fixed"].attrs.update(long_name="fixed-point y_hat^T H y_hat - 1 (closed form)", units="1")
    ds["h_y_minus_1_sim"].attrs.update(long_name="simulated y_hat^T H y_hat - 1 at the end", units="1")
    out.data["sweep"] = ds
    return ds


def _slope(x, y):
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def _checks(cfg, out, data, theory, sweep, widths, t, y_norm) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {"sim": [], "early": [], "align": [], "gamma": []}
    err = data["max_err_f"].values
    for i, (label, name, _) in enumerate(_RUNS):
        for j, N in enumerate(widths):
            c = f"{label}_vs_theory_N{N}"
            names["sim"].append(c)
            out.check(
                c,
                float(err[i, j] * np.sqrt(N)),
                "<=",
                cfg.sim_tol,
                f"{name}, N = {N}: sqrt(N) max_t,mu |f_sim - f_theory| (seed mean)",
            )
        c = f"{label}_error_falls_with_width"
        names["sim"].append(c)
        out.check(
            c,
            float(err[i, -1] / err[i, 0]),
            "<",
            1.0,
            f"{name}: error at N = {widths[-1]} over the error at N = {widths[0]}",
        )
    c = "gd_printed_ode_excluded"
    names["sim"].append(c)
    out.check(
        c,
        float(np.min(data["max_err_f_printed_gd"].values / err[0])),
        ">=",
        cfg.printed_factor,
        "GD: error against the paper's printed eq. 8 (no factor 2) over the error against the corrected ODE, "
        "smallest over widths",
    )

    task = _task(cfg)
    t_early = np.linspace(0.0, cfg.early * cfg.P, 21)
    loss = {
        label: tl.trajectory(
            task, "fa" if label.startswith("fa") else label, gamma0=cfg.gamma0, t=t_early, rho=rho
        ).loss.values
        for label, _, rho in _RUNS
    }
    for a, b, other in (("fa0", "hebb", "gd"), ("fa1", "gd", "fa0")):
        c = f"early_{a}_follows_{b}"
        names["early"].append(c)
        ratio = np.max(np.abs(loss[a] - loss[b])) / np.max(np.abs(loss[a] - loss[other]))
        out.check(
            c,
            float(ratio),
            "<=",
            0.25,
            f"t/P <= {cfg.early:g}: max |L_{a} - L_{b}| over max |L_{a} - L_{other}| (infinite width)",
        )

    frac_th = data["h_y_frac_theory"]
    for label in ("gd", "fa0", "fa1"):
        c = f"{label}_alignment_rises"
        names["align"].append(c)
        out.check(
            c,
            float(frac_th.sel(rule=label)[-1] / frac_th.sel(rule=label)[0]),
            ">=",
            1.5,
            f"{label}: y_hat^T H y_hat / Tr H at the end over its start value 1/P (infinite width)",
        )
    c = "hebb_alignment_flat"
    names["align"].append(c)
    hebb_sim = data["h_y_frac_sim"].sel(rule="hebb").isel(width=-1).values
    out.check(
        c,
        float(np.max(np.abs(hebb_sim - 1 / cfg.P)) * cfg.P * np.sqrt(widths[-1])),
        "<=",
        4.0,
        f"Hebb, N = {widths[-1]}: sqrt(N) P max_t |y_hat^T H y_hat / Tr H - 1/P| (simulated; 0 at N = inf)",
    )
    off = data["offdiag_h_final"]
    c = "hebb_offdiag_stays_at_init_noise"
    names["align"].append(c)
    out.check(
        c,
        float(off.sel(rule="hebb").isel(width=-1).max() * np.sqrt(widths[-1])),
        "<=",
        5.0,
        f"Hebb, N = {widths[-1]}: sqrt(N) max_mu!=nu |H_mu nu| / sqrt(H_mu mu H_nu nu) at the end (the init "
        f"noise, max of {cfg.P * (cfg.P - 1) // 2} N(0, 1/N) entries, is ~3/sqrt(N))",
    )
    c = "gd_offdiag_grows"
    names["align"].append(c)
    out.check(
        c,
        float(off.sel(rule="gd").isel(width=-1).min()),
        ">=",
        0.1,
        "GD: max_mu!=nu |H_mu nu| / sqrt(H_mu mu H_nu nu) at the end (O(1): H grows along y y^T)",
    )

    grid = sweep["gamma0_grid"].values
    fixed = sweep["h_y_minus_1_fixed"]
    small, large = grid <= 1e-2, grid >= 1e2
    for label, lo, hi, what in (("gd", 2.0, 1.0, "gamma0"), ("fa0", 2.0, 2 / 3, "gamma0^(2/3)")):
        vals = fixed.sel(rule=label).values
        for where, mask, expect in (("small", small, lo), ("large", large, hi)):
            c = f"{label}_exponent_{where}_gamma0"
            names["gamma"].append(c)
            out.check(
                c,
                abs(_slope(grid[mask], vals[mask]) - expect),
                "<=",
                0.02,
                f"{label}: |fitted exponent of H_y - 1 vs gamma0 - {expect:.3g}| at {where} gamma0 "
                f"({'gamma0^2' if where == 'small' else what})",
            )
    c = "fa_rho1_below_rho0"
    names["gamma"].append(c)
    out.check(
        c,
        float(np.max(fixed.sel(rule="fa1").values / fixed.sel(rule="fa0").values)),
        "<",
        1.0,
        "max over gamma0 of (H_y - 1) at rho = 1 over rho = 0 (fixed points)",
    )
    exact = {
        "gd": [tl.gd_fixed_point(y_norm, g) - 1 for g in sweep["gamma0"].values],
        "fa0": [tl.fa_fixed_point(y_norm, g, 0.0) ** 2 for g in sweep["gamma0"].values],
        "fa1": [tl.fa_fixed_point(y_norm, g, 1.0) ** 2 for g in sweep["gamma0"].values],
    }
    for label in ("gd", "fa0", "fa1"):
        c = f"{label}_sim_reaches_fixed_point"
        names["gamma"].append(c)
        rel = np.abs(sweep["h_y_minus_1_sim"].sel(rule=label).values / np.asarray(exact[label]) - 1)
        out.check(
            c,
            float(np.max(rel)),
            "<=",
            0.1,
            f"{label}, N = {int(sweep.attrs['width'])}: max over gamma0 of the relative gap between the "
            "simulated final H_y - 1 and the fixed point",
        )
    return names


def _figures(cfg, out, data, sweep, names, widths):
    colors = {"gd": "C0", "fa0": "C1", "fa1": "C2", "hebb": "C3"}
    s = data["t"].values / cfg.P
    fig, axes = plots.figure(2, 1, width=4.6)
    for label, name, _ in _RUNS:
        sim = data["loss_sim"].sel(rule=label).isel(width=-1).mean("seed").values
        axes[0, 0].plot(s, sim, color=colors[label], label=name, **plots.SIM)
        axes[0, 0].plot(s, data["loss_theory"].sel(rule=label).values, **plots.THEORY)
        sim = data["h_y_frac_sim"].sel(rule=label).isel(width=-1).mean("seed").values
        axes[0, 1].plot(s, sim, color=colors[label], label=name, **plots.SIM)
        axes[0, 1].plot(s, data["h_y_frac_theory"].sel(rule=label).values, **plots.THEORY)
    axes[0, 0].plot([], [], label="infinite width", **plots.THEORY)
    axes[0, 0].set(
        yscale="log", ylim=(1e-8, 2.0), xlabel="paper's time t / P", ylabel="training loss", title="loss (Fig. 5a)"
    )  # below 1e-8 the finite-width and infinite-width tails part by O(1/sqrt(N))
    axes[0, 1].set(xlabel="paper's time t / P", ylabel="y^T H y / (|y|^2 Tr H)", title="alignment (Fig. 5b)")
    axes[0, 0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    out.figure(
        "dynamics",
        fig,
        f"Two-layer linear mean-field net (gamma0 = {cfg.gamma0:g}, P = D = {cfg.P} whitened items, targets +-1, "
        f"lr = {cfg.lr:g}), simulated at N = {widths[-1]} (solid, mean of {cfg.seeds} seeds) against the closed "
        "infinite-width dynamics (dashed): GD with the corrected factor 2, the rho-FA a-ODE, Hebb per item. Left: "
        "loss; FA(rho = 0) starts like Hebb and FA(rho = 1) like GD. Right: the feature kernel's target alignment "
        "rises for GD and FA and stays at 1/P for Hebb, whose kernel grows on the diagonal only.",
        checks=names["sim"] + names["early"] + names["align"],
    )

    fig, axes = plots.figure(1, 1, width=4.6)
    ax = axes[0, 0]
    grid = sweep["gamma0_grid"].values
    for label, name in (("gd", "GD"), ("fa0", "FA (rho = 0)"), ("fa1", "FA (rho = 1)")):
        ax.plot(grid, sweep["h_y_minus_1_fixed"].sel(rule=label).values, color=colors[label], label=name, **plots.SIM)
        ax.plot(
            sweep["gamma0"].values,
            sweep["h_y_minus_1_sim"].sel(rule=label).values,
            "o",
            color=colors[label],
            markerfacecolor="none",
        )
    for slope, x0, txt in ((2.0, 1e-2, "gamma0^2"), (1.0, 1e2, "gamma0"), (2 / 3, 1e2, "gamma0^(2/3)")):
        xs = np.array([x0 / 4, x0 * 4])
        ref = sweep["h_y_minus_1_fixed"].sel(rule="gd" if slope != 2 / 3 else "fa0").interp(gamma0_grid=x0).values
        ax.plot(xs, 2 * ref * (xs / x0) ** slope, ":", color="0.4")
        ax.annotate(txt, (xs[-1], 2 * ref * 4**slope), fontsize=7, color="0.3")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="richness gamma0",
        ylabel="final y^T H y / |y|^2 - 1",
        title="alignment vs richness (Fig. 5c)",
    )
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    out.figure(
        "richness",
        fig,
        "Final target alignment of the feature kernel, H_y - 1, against the richness gamma0: closed-form fixed "
        "points (lines) and simulations at the end of training (open circles, N = "
        f"{int(sweep.attrs['width'])}). Both rules grow as gamma0^2 when lazy; at large gamma0 GD grows as gamma0 "
        "and FA as gamma0^(2/3) (dotted references); FA with rho = 1 stays below rho = 0.",
        checks=names["gamma"],
    )
