"""learning-rules: a two-layer ReLU net under GD, FA, GLN and Hebb, Monte-Carlo DMFT against width-N simulations.

Bordelon & Pehlevan, "The influence of learning rule on representation dynamics in wide neural networks" (ICLR 2023,
arXiv 2210.02157), Fig. 1, and spec ``learning_rules_dmft.md`` section 7, check 5. A mean-field net
``D -> N -> 1`` with ReLU (``L = 1``, ``param.get("meanfield", gamma0)``, rich regime ``gamma0 = 2``) is trained on
``P = 10`` Gaussian inputs in ``D = 50`` dimensions with +-1 labels (half each, random order) by four rules:
gradient descent, feedback alignment with ``rho = 0`` (the readout's feedback is a fixed random vector), a gated
linear network (ReLU gates ``Theta(M x / sqrt(D))``, trained by GD) and the error-modulated Hebbian rule.

Theory: :func:`learndyn.theory.dmft_mc.solve`, discrete at the simulation's own steps (time ``t = eta * step``, loss
``1/(2P) sum (y - f)^2``, learning rate ``eta gamma0^2 N``). For ``L = 1`` the single-site equations have no
response functions, so the causal march is the exact infinite-width dynamics up to the sampling of the ``S`` sites;
its Monte-Carlo floor is measured by a second solve with ``S / 2`` independent sites: ``floor = mean (f_S -
f_{S/2})^2 / 3`` (the two sampling errors independent with variances ``s^2 / S`` and ``2 s^2 / S``).

Simulation: the engine (``train.simulate`` with the rule bound to the net; the GLN's gates are a property of the net,
so each GLN seed is its own net with its own gates) at several widths with several seeds; the kernels ``Phi^1 =
phi(h) . phi(h) / N``, ``G~^1 = g . g~ / N`` of the normalised signals ``g = gamma0 N df/dh`` and the eNTK
``K = G~^1 * K^x + Phi^1`` are computed from the recorded weights.

Checks (tolerances from measured values with a margin; measured values in brackets, data seed 0):

* width convergence (spec check 5): the per-seed squared error of the outputs ``f`` against the DMFT, averaged over
  seeds, items and records, falls like ``1/N``: fitted log-log slope ``-1 +- 0.15`` for every rule (full run,
  N = 256..4096); the Monte-Carlo floor is below 10 % of the widest width's error; the seed-mean loss sits on the
  DMFT within 3 standard errors, 3 Monte-Carlo errors and an O(1/N) allowance;
* kernel-task alignment ``A(K, y y^T)`` rises for GD, FA and GLN; FA (like Hebb, whose ``K(0)`` is also
  ``Phi^1``) starts lowest and ends above GD (paper: "FA starts lowest and ends above GD"). Under our Hebb rule
  ``A(K, y y^T)`` falls (0.14 -> 0.10): the paper's "rises for all rules" does not hold for it, and no check claims
  it;
* ``G~`` (mean diagonal of ``G~^1``) rises for GD, FA and GLN; FA starts at exactly 0 in the DMFT and at
  ``O(N^-1/2)`` in the simulations;
* the final ``Phi^1`` and ``G~^1`` of the widest simulation (seed mean) match the DMFT's;
* final pre-activation densities (standardised per item, pooled): non-Gaussian under GD and FA (Kolmogorov-Smirnov
  distance from N(0, 1) > 0.05), the GLN's at most half as far (conditionally Gaussian given the gates, a mixture
  over them); the simulated densities match the DMFT's (two-sample KS distance <= 0.03).

Measured (full run, data seed 0): slopes -1.00 (GD), -0.97 (FA), -0.98 (GLN), -0.99 (Hebb); floors 0.2-1.9 % of the
N = 4096 error; final kernels within 1.2-2.2 %; KS distances from N(0, 1) 0.150 (GD), 0.137 (FA), 0.014 (GLN),
0.103 (Hebb), simulation vs DMFT <= 0.018. The full run (five widths 256..4096, 32 seeds, eight GLN gate draws per
width, ``S = 131072``, 150 steps) takes about 8 minutes; quick mode (widths 128 and 1024, 12 seeds, one gate draw,
``S = 32768``, 80 steps) about 40 s, most of it JAX compilation (one simulation and one kernel function per rule and
width). Every check and tolerance is the same in both (quick: slopes -0.90..-1.01).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from scipy import stats

from learndyn import param as _param
from learndyn import rules as _rules
from learndyn import train
from learndyn.experiments._learning_rules_figures import figures
from learndyn.experiments._summaries import loglog_slope, task_alignments
from learndyn.experiments.config import ExperimentConfig, option
from learndyn.experiments.registry import experiment
from learndyn.nets import GLN
from learndyn.observables import describe_variables
from learndyn.progress import track
from learndyn.results import Outcome
from learndyn.rule_kernels import _output_signals
from learndyn.tasks import Task
from learndyn.theory import dmft_mc

RULES = ("gd", "fa", "gln", "hebb")
LABELS = {"gd": "GD", "fa": "FA (rho = 0)", "gln": "GLN", "hebb": "Hebb"}

# Tolerances from measured values (data seeds 0-2): N x the bias of the seed-mean loss <= 0.6; the final kernels of
# the widest width within 2-4 % of the DMFT; the simulated kurtosis within 0.1 of the DMFT's at N >= 1024.
_SLOPE_TOL = 0.15
_LOSS_BIAS = 2.0
_KERNEL_REL = 0.1


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Configuration of learning-rules (defaults: the full run of spec Fig. 1)."""

    seed: int = option(0, "seed of the data, the initial weights, the feedback and the gates", ge=0)
    n_items: int = option(10, "number of Gaussian training items P", ge=2)
    d: int = option(50, "input dimension D", ge=1)
    gamma0: float = option(2.0, "richness gamma0 of the mean-field net (rich regime ~ 1)", gt=0)
    eta: float = option(0.2, "step size eta (lr = eta gamma0^2 N per layer; t = eta * step)", gt=0)
    steps: int = option(150, "training steps", ge=2)
    n_records: int = option(31, "equally spaced simulation records", ge=2)
    widths: tuple[int, ...] = option((256, 512, 1024, 2048, 4096), "simulated hidden widths N", ge=8)
    n_seeds: int = option(32, "simulated initialisations per width and rule", ge=2)
    samples: int = option(131072, "DMFT sites S (a multiple of 8; the floor solve uses S / 2)", ge=64)
    gate_draws: int = option(
        8, "GLN: independent gate matrices per width, seeds split among them (each costs a compilation)", ge=1
    )

    def check(self):
        """Constraints between fields."""
        if len(set(self.widths)) < 2 or len(set(self.widths)) != len(self.widths):
            raise ValueError(f"widths must hold at least two different widths, none twice; got {list(self.widths)}")
        if self.samples % 8:
            raise ValueError(f"samples must be a multiple of 8 (four sign copies, and S / 2); got {self.samples}")
        if self.n_seeds % self.gate_draws:
            raise ValueError(f"gate_draws={self.gate_draws} must divide n_seeds={self.n_seeds}")
        if self.n_records > self.steps + 1:
            raise ValueError(f"n_records={self.n_records} must be <= steps + 1 = {self.steps + 1}")


def _task(cfg: Config) -> Task:
    rng = np.random.default_rng(cfg.seed)
    X = rng.standard_normal((cfg.n_items, cfg.d))
    y = rng.permutation(np.where(np.arange(cfg.n_items) < cfg.n_items // 2, 1.0, -1.0))
    return Task(X, y[:, None], name="gaussian-labels")


def _standardised(h) -> np.ndarray:
    """Pre-activations ``(sites, P)`` standardised per item and pooled."""
    return ((h - h.mean(axis=0)) / h.std(axis=0)).ravel()


def _gauss_distance(h) -> float:
    """Kolmogorov-Smirnov distance of the standardised, pooled pre-activations from the standard normal."""
    return float(stats.kstest(_standardised(h), "norm").statistic)


# ---- theory -------------------------------------------------------------------------------------------------------
def _dmft(cfg: Config, task: Task, rule: str, samples: int, seed: int, fields: bool):
    return dmft_mc.solve(
        task.X, task.Y, n_hidden=1, activation="relu", rule=rule, gamma0=cfg.gamma0, eta=cfg.eta, steps=cfg.steps,
        samples=samples, seed=seed, mc_check=False, keep_fields=fields,
    )  # fmt: skip


# ---- simulation ---------------------------------------------------------------------------------------------------
def _simulate(cfg: Config, task: Task, rule_name: str, N: int, rec: np.ndarray) -> dict:
    """Seeds x records of one (rule, width): outputs, loss, kernels; final pre-activations of every unit."""
    par = _param.get("meanfield", gamma0=cfg.gamma0)
    sizes = (cfg.d, N, 1)
    base = par.mlp(sizes, "relu")
    X, Y = jnp.asarray(task.X), jnp.asarray(task.Y)
    key = jax.random.fold_in(jax.random.key(cfg.seed), N)
    k_init, k_rule = jax.random.split(key)
    seeds = jnp.arange(cfg.n_seeds)
    init_keys, rule_keys = (jax.vmap(jax.random.fold_in, in_axes=(None, 0))(k, seeds) for k in (k_init, k_rule))
    # a GLN's gates are a net property: its seeds are split among gate_draws nets; the other rules run all seeds in
    # one vmapped call
    n_groups = cfg.gate_draws if rule_name == "gln" else 1
    per = cfg.n_seeds // n_groups
    groups = [list(range(g * per, (g + 1) * per)) for g in range(n_groups)]
    parts = []
    for group in groups:
        if rule_name == "gln":
            net = GLN(sizes, activation="relu", bias=base.bias, multipliers=base.multipliers,
                      gate_seed=1000 * cfg.seed + 100 * int(np.log2(N)) + group[0])  # fmt: skip
            rule = _rules.GD(net)
        else:
            net = base
            rule = _rules.FA(net, rho=0.0) if rule_name == "fa" else _rules.get(rule_name, net)
        s = 1.0 / float(net.multiplier(net.depth - 1))  # g = gamma0 N df/dh, the DMFT's normalisation
        idx = jnp.asarray(group)

        def kernels(p, state, net=net, rule=rule, s=s):
            f, cache = net.apply(p, X)
            true, pseudo = _output_signals(net, rule, p, cache, 1, state, f - Y)
            g, gt = s * true[0][0], s * pseudo[0][0]
            ph = cache["phi"][1]
            n = ph.shape[1]
            return f[:, 0], ph @ ph.T / n, g @ gt.T / n, g @ g.T / n, gt @ gt.T / n

        p0 = jax.jit(jax.vmap(lambda k: par.init(k, sizes, "relu")))(init_keys[idx])  # noqa: B023
        state = jax.jit(jax.vmap(rule.init))(rule_keys[idx], p0)
        sim = train.simulate(net, rule, task, p0, lr=cfg.eta, t=cfg.eta * rec, state=state, param=par)
        f, phi, gt, g, gtt = (np.asarray(v) for v in jax.jit(jax.vmap(jax.vmap(kernels, (0, None)), (0, 0)))(
            sim.params, state))  # fmt: skip
        last = jax.tree_util.tree_map(lambda w: np.asarray(w)[:, -1], sim.params)
        h = np.asarray(jax.jit(jax.vmap(lambda p: net.apply(p, X)[1]["h"][0]))(last))  # noqa: B023
        parts.append({"loss": np.asarray(sim.loss), "f": f, "phi": phi, "gt": gt, "g": g, "gtt": gtt, "h": h})
        del sim
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}  # (seed, t, ...)
    Kx = task.X @ task.X.T / cfg.d
    out["entk"] = out["gt"] * Kx + out["phi"]
    diag = np.diagonal
    out["corr"] = np.mean(diag(out["gt"], 0, -2, -1) / np.sqrt(diag(out["g"], 0, -2, -1) * diag(out["gtt"], 0, -2, -1)),
                          axis=-1)  # fmt: skip
    return out


@experiment(
    "learning-rules",
    Config,
    quick={"widths": (128, 1024), "n_seeds": 12, "samples": 32768, "steps": 80, "n_records": 9,
           "gate_draws": 1},
    description="two-layer ReLU net under GD, FA, GLN and Hebb (gamma0 = 2): Monte-Carlo DMFT against width-N "
    "simulations, errors ~ 1/N, alignment, G~, kernels and pre-activation densities (Bordelon & Pehlevan 2023, "
    "Fig. 1).",
)
def run(cfg: Config) -> Outcome:
    """Solve the DMFT and simulate every rule at every width; check the 1/N convergence and the rules' contrasts."""
    out = Outcome()
    task = _task(cfg)
    y = task.Y[:, 0]
    widths = np.asarray(sorted(cfg.widths))
    rec = np.unique(np.round(np.linspace(0, cfg.steps, cfg.n_records)).astype(int))
    t_rec = cfg.eta * rec

    theory, floors, mc = {}, {}, {}
    for rule in track(RULES, "learning-rules: DMFT per rule"):
        res = _dmft(cfg, task, rule, cfg.samples, cfg.seed, True)
        half = _dmft(cfg, task, rule, cfg.samples // 2, cfg.seed + 1, False)
        theory[rule] = res
        floors[rule] = float(np.mean((res.f[rec] - half.f[rec]) ** 2) / 3.0)
        mc[rule] = float(np.max(np.abs(res.loss - half.loss))) / np.sqrt(3.0)
        ds = res.trajectory()
        ds.attrs.update(mc_error=mc[rule], mc_floor_f_sq=floors[rule])
        out.data[f"dmft/{rule}"] = ds

    sims = {}
    for rule, N in track([(r, int(N)) for r in RULES for N in widths], "learning-rules: simulations"):
        sims[rule, N] = _simulate(cfg, task, rule, N, rec)

    R, S = len(RULES), cfg.n_seeds
    first = sims[RULES[0], int(widths[0])]
    sm = {k: np.stack([np.stack([sims[r, int(N)][k] for N in widths]) for r in RULES]) for k in first if k != "h"}
    sm["h"] = np.stack([sims[r, int(widths[-1])]["h"] for r in RULES])  # (rule, seed, P, N) at the widest width
    th = {
        "loss": np.stack([theory[r].loss for r in RULES]),
        "f": np.stack([theory[r].f for r in RULES]),
        "phi": np.stack([theory[r].phi[:, 1] for r in RULES]),
        "gt": np.stack([theory[r].gt[:, 0] for r in RULES]),
        "A_K": np.stack([out.data[f"dmft/{r}"]["entk_task_alignment"].values for r in RULES]),
        "corr": np.stack([out.data[f"dmft/{r}"]["grad_corr"].values[:, 0] for r in RULES]),
    }
    sm["A_K"] = task_alignments(sm["entk"], y)
    th["gt_mean"] = np.mean(np.diagonal(th["gt"], axis1=-2, axis2=-1), axis=-1)  # (rule, t)
    sm["gt_mean"] = np.mean(np.diagonal(sm["gt"], axis1=-2, axis2=-1), axis=-1)  # (rule, width, seed, t)

    # ---- errors against the DMFT
    f_th = th["f"][:, rec]  # (rule, t, P)
    sq_f = np.mean((sm["f"] - f_th[:, None, None]) ** 2, axis=(2, 3, 4))  # (rule, width)
    slopes = np.asarray([loglog_slope(widths, sq_f[i]) for i in range(R)])
    sem = sm["loss"].std(axis=2, ddof=1) / np.sqrt(S)
    mcs = np.asarray([mc[r] for r in RULES])
    excess = np.abs(sm["loss"].mean(axis=2) - th["loss"][:, None, rec]) - 3 * sem - 3 * mcs[:, None, None]
    loss_bias = np.max(excess, axis=2) * widths[None, :]  # (rule, width): N x the unexplained gap
    top = -1
    rel = {}
    for name in ("phi", "gt"):
        sim_final = sm[name][:, top, :, -1].mean(axis=1)  # (rule, P, P)
        rel[name] = np.linalg.norm(sim_final - th[name][:, -1], axis=(1, 2)) / np.linalg.norm(th[name][:, -1],
                                                                                           axis=(1, 2))  # fmt: skip
    kurt_th = np.asarray([_gauss_distance(theory[r].fields[0]) for r in RULES])
    pooled = [np.concatenate([h.T for h in sm["h"][i]]) for i in range(R)]  # (seeds x N, P) at the widest width
    kurt_sim = np.asarray([_gauss_distance(h) for h in pooled])
    ks_sim = np.asarray([stats.ks_2samp(_standardised(pooled[i]), _standardised(theory[r].fields[0])).statistic
                         for i, r in enumerate(RULES)])  # fmt: skip

    coords = {"rule": list(RULES), "width": widths}
    err_ds = xr.Dataset(
        {
            "f_sq_err": (("rule", "width"), sq_f),
            "f_sq_err_slope": (("rule",), slopes),
            "mc_floor_f_sq": (("rule",), np.asarray([floors[r] for r in RULES])),
            "loss_bias_times_n": (("rule", "width"), loss_bias),
            "final_kernel_rel_err": (("rule", "kernel"), np.stack([rel["phi"], rel["gt"]], axis=1)),
            "gauss_distance_dmft": (("rule",), kurt_th),
            "gauss_distance_sim": (("rule",), kurt_sim),
            "density_distance": (("rule",), ks_sim),
        },
        coords={**coords, "kernel": ["phi", "gt"]},
    )
    for var, name, units in (
        ("f_sq_err", "per-seed squared error of f against the DMFT, mean over seeds, items and records", "1"),
        ("f_sq_err_slope", "log-log slope of f_sq_err against N", "1"),
        ("mc_floor_f_sq", "DMFT Monte-Carlo floor of the squared f error, mean (f_S - f_{S/2})^2 / 3", "1"),
        ("loss_bias_times_n", "N x (max_t |seed-mean loss - DMFT| - 3 SE - 3 MC errors)", "1"),
        ("final_kernel_rel_err", "relative Frobenius error of the widest width's final seed-mean kernel", "1"),
        ("gauss_distance_dmft", "KS distance of the DMFT's final pre-activations from N(0, 1) (standardised)", "1"),
        ("gauss_distance_sim", "KS distance of the widest width's final pre-activations from N(0, 1)", "1"),
        ("density_distance", "two-sample KS distance of the final pre-activations, widest width vs DMFT", "1"),
    ):
        err_ds[var].attrs.update(long_name=name, units=units)
    out.data["errors"] = err_ds

    sim_ds = xr.Dataset(
        {
            "loss": (("rule", "width", "seed", "t"), sm["loss"]),
            "f": (("rule", "width", "seed", "t", "p", "o"), sm["f"][..., None]),
            "entk_task_alignment": (("rule", "width", "seed", "t"), sm["A_K"]),
            "gt": (("rule", "width", "t", "p", "q"), sm["gt"].mean(axis=2)),
            "phi": (("rule", "width", "t", "p", "q"), sm["phi"].mean(axis=2)),
        },
        coords={**coords, "seed": np.arange(S), "t": t_rec},
        attrs={"source": "simulation", "gamma0": cfg.gamma0, "eta": cfg.eta, "n_hidden": 1,
               "kernels": "phi and gt (of hidden layer 1) are seed means; alignments per seed"},  # fmt: skip
    )
    sim_ds["width"].attrs.update(long_name="hidden width N", units="1")
    sim_ds["seed"].attrs.update(long_name="initialisation, feedback and gate seed")
    out.data["simulation"] = describe_variables(sim_ds)

    names = _checks(cfg, out, widths, th, sm, slopes, sq_f, floors, loss_bias, rel, kurt_th, ks_sim)
    figures(cfg, out, RULES, LABELS, widths, rec, th, sm, sq_f, slopes, floors, theory, names)
    return out


def _checks(cfg, out, widths, th, sm, slopes, sq_f, floors, loss_bias, rel, gauss, ks_sim) -> dict:
    setup = f"L = 1 ReLU, gamma0 = {cfg.gamma0:g}, P = {cfg.n_items}, D = {cfg.d}, eta = {cfg.eta:g}"
    names = {"width": [], "align": [], "gt": [], "kernels": [], "density": []}
    i = {r: k for k, r in enumerate(RULES)}
    Nmax = int(widths[-1])

    def check(group, name, value, op, threshold, text):
        out.check(name, value, op, threshold, text)
        names[group].append(name)

    for r in RULES:
        check("width", f"{r}_f_sq_err_slope_minus_1", abs(slopes[i[r]] + 1.0), "<=", _SLOPE_TOL,
              f"{LABELS[r]} ({setup}): |slope + 1| of the log-log fit of the per-seed squared error of f against "
              f"the DMFT over N = {', '.join(str(int(n)) for n in widths)} (slope {slopes[i[r]]:.3f}); spec: "
              "squared error ~ 1/N")  # fmt: skip
        check("width", f"{r}_mc_floor_fraction", floors[r] / sq_f[i[r], -1], "<=", 0.1,
              f"{LABELS[r]}: the DMFT's Monte-Carlo floor (S = {cfg.samples} against S/2) as a fraction of the "
              f"squared f error at N = {Nmax}: the floor does not bend the 1/N line")  # fmt: skip
        check("width", f"{r}_loss_on_dmft", float(np.max(loss_bias[i[r]])), "<=", _LOSS_BIAS,
              f"{LABELS[r]}: N x (max over records of |seed-mean loss - DMFT loss| - 3 standard errors - 3 "
              "Monte-Carlo errors), largest over widths: the seed mean sits on the DMFT up to an O(1/N) bias")
    A = th["A_K"]
    for r in ("gd", "fa", "gln"):
        check("align", f"{r}_entk_alignment_rises", A[i[r], -1] - A[i[r], 0], ">=", 0.05,
              f"{LABELS[r]}: final minus initial A(K, y y^T) of the DMFT: the rule aligns its eNTK with the task")
    others = [A[i[r], 0] for r in ("gd", "gln")]
    check("align", "fa_entk_alignment_starts_lowest", min(others) - A[i["fa"], 0], ">", 0.0,
          "min over GD, GLN of the initial A(K, y y^T) minus FA's (DMFT; FA and Hebb share K(0) = Phi^1): FA starts "
          "lowest")  # fmt: skip
    check("align", "fa_entk_alignment_ends_above_gd", A[i["fa"], -1] - A[i["gd"], -1], ">", 0.0,
          "final A(K, y y^T) of FA minus GD's (DMFT): FA ends above GD")
    sim_A = sm["A_K"][:, -1].mean(axis=1)  # widest width, seed mean: (rule, t)
    check("align", "fa_entk_alignment_ends_above_gd_sim", sim_A[i["fa"], -1] - sim_A[i["gd"], -1], ">", 0.0,
          f"the same at N = {Nmax} (seed means of the simulations)")
    G = th["gt_mean"]
    for r in ("gd", "fa", "gln"):
        check("gt", f"{r}_gt_rises", G[i[r], -1] - G[i[r], 0], ">", 0.0,
              f"{LABELS[r]}: final minus initial mean diagonal of G~^1 (DMFT)")
    check("gt", "fa_gt_starts_at_zero_dmft", abs(G[i["fa"], 0]), "<=", 1e-12,
          "|mean diagonal of G~^1(0)| of FA (DMFT): the random feedback is uncorrelated with the readout")
    sim0 = np.abs(sm["gt_mean"][i["fa"], :, :, 0].mean(axis=1)) * np.sqrt(widths)
    check("gt", "fa_gt_starts_at_zero_sim", float(np.max(sim0)), "<=", 5.0,
          "sqrt(N) x |seed-mean of the mean diagonal of G~^1(0)| of FA, largest over widths: O(N^-1/2)")
    for r in RULES:
        for k, kname in enumerate(("phi", "gt")):
            check("kernels", f"{r}_final_{kname}_matches", float(rel[kname][i[r]]), "<=", _KERNEL_REL,
                  f"{LABELS[r]}: relative Frobenius error of the final seed-mean {'Phi^1' if k == 0 else 'G~^1'} at "
                  f"N = {Nmax} against the DMFT")  # fmt: skip
    for r in ("gd", "fa"):
        check("density", f"{r}_preactivations_non_gaussian", float(gauss[i[r]]), ">", 0.05,
              f"{LABELS[r]}: Kolmogorov-Smirnov distance of the final pre-activations (DMFT sites, standardised per "
              "item, pooled) from the standard normal")  # fmt: skip
    check("density", "gln_near_gaussian", float(gauss[i["gln"]] / min(gauss[i["gd"]], gauss[i["fa"]])), "<=", 0.5,
          "the GLN's KS distance from the standard normal over the smaller of GD's and FA's (DMFT): the GLN's "
          "fields are conditionally Gaussian given the gates")  # fmt: skip
    check("density", "densities_sim_on_dmft", float(np.max(ks_sim)), "<=", 0.03,
          f"largest two-sample KS distance between the final pre-activations at N = {Nmax} (all units of all seeds) "
          "and the DMFT's sites, over the rules")
    return names
