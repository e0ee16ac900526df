"""dfa-depth: direct feedback alignment in a deep tanh network, Monte-Carlo DMFT against finite-width simulations.

Bordelon & Pehlevan, "The influence of learning rule on representation dynamics in wide neural networks" (ICLR 2023,
arXiv 2210.02157), Fig. 3 and spec ``learning_rules_dmft.md`` sections 5 and 7 (check 7, last bullet). A mean-field
tanh network ``D -> N -> N -> N -> 1`` (``L = 3`` hidden layers, ``param.get("meanfield", gamma0)``) is trained by DFA
(``rules.DFA``: every hidden layer gets the output error through its own frozen Gaussian feedback vector ``z~^l``;
the readout takes its true gradient) at several richness values ``gamma0`` (the paper does not give its values; we
use 0.25, 0.5 and 1, see the notes on corr(g, g~) below).

Data: ``P = 12`` items of two Gaussian classes in ``D = 32`` dimensions, ``x = y m + xi`` with labels ``y = +-1``
(the first six items +1, the last six -1), a random class mean ``m`` of ``|m|^2 = 0.1 D`` and noise
``xi ~ N(0, I_D)``, so ``K^x = X X^T / D`` has diagonal ~1.1 and off-diagonal entries +-0.1 by class plus noise of
size ~D^-1/2; one output.

Theory: the Monte-Carlo DMFT of :func:`learndyn.theory.dmft_mc.solve` (``rule="dfa"``, ``S`` sites per layer, one
causal pass), discrete at the simulation's own steps (time ``t = eta * step``, loss ``1/(2P) sum (y - f)^2``,
learning rate ``eta gamma0^2 N`` on every layer), so theory and simulation are compared at matched discretisation.
At ``t = 0`` DFA's feedback is independent of the forward weights: ``G~^l(0) = 0`` below the readout, the eNTK is the
NNGP kernel ``Phi^L`` for every ``gamma0`` and ``corr(g, g~) = 0``; richer nets move their features and align their
forward weights with the feedback faster.

Simulation: the library's engine (``train.simulate`` with ``rules.DFA``) at two (quick) or five widths ``N`` with
several seeds; seed ``s`` of width ``N`` draws its weights and its feedback from ``fold_in(key(seed), N)``, the same
for every ``gamma0`` (common random numbers). The kernels of the simulations (``Phi^l = phi(h^l) . phi(h^l) / N``,
``G~^{l+1} = g^{l+1} . g~^{l+1} / N`` with the normalised signals ``g = gamma0 N df/dh``, ``K = sum G~ Phi``) and
``corr(g, g~)`` (per-item cosine of ``g^l`` and ``g~^l``, mean over items, per hidden layer) are computed at every
record from the recorded weights.

Checks, on the DMFT (exact at infinite width up to its Monte-Carlo error) and on the seed mean of the widest
simulation:

* the DMFT's Monte-Carlo error estimate is small; corr(g, g~) starts at 0 (DMFT and simulation); every ``gamma0``
  trains (loss falls >= 10-fold) in the rich regime (``A(Phi^L, y y^T)`` grows by >= 0.1);
* Fig. 3a: the loss at ``t_early = 10`` decreases strictly with ``gamma0``;
* Fig. 3b: the final ``A(Phi^L, y y^T)`` and the final largest-eigenvalue fraction of ``Phi^L`` (rank-one tendency)
  increase with ``gamma0``;
* Fig. 3c: the final corr(g, g~) (mean over the hidden layers) increases with ``gamma0``;
* Fig. 3d: the final eNTK clusters by class more sharply: its class contrast ``(mean within-class K - mean
  between-class K) / mean |K|`` and its alignment ``A(K, y y^T)`` increase with ``gamma0``;
* Fig. 3e: the relative squared eNTK error ``<|K_N - K_inf|^2>_t / <|K_inf|^2>_t`` at the widest width decreases
  with ``gamma0``; it and the per-seed squared error of ``f`` are O(1/N) (``N x`` error below a bound at every
  width, log-log slopes ``-1 +- 0.3``); the seed-mean loss sits on the DMFT within 3 standard errors plus 3 times
  the DMFT's ``mc_error`` plus an O(1/N) allowance.

Measured (data seed 0 unless said; the tolerances below come from these with margins of 1.8-4x; the slope
tolerance is the spec's 0.3):

* gamma0 orderings of the DMFT (``S = 1000``, ``t = 50``) over ``gamma0 = 0.25, 0.5, 1, 2, 4``: final
  ``A(Phi^L, y y^T)`` 0.89, 0.97, 0.993, 0.998, 0.999; top-eigenvalue fraction of ``Phi^L`` 0.44, 0.64, 0.82, 0.93,
  0.98; ``A(K, y y^T)`` 0.79, 0.89, 0.96, 0.985, 0.996 -- all monotone. **corr(g, g~) is not**: its final value is
  0.17, 0.23, 0.27, 0.25, 0.18, peaking near ``gamma0 = 1`` (at ``t = 5`` it is 0.02, 0.05, 0.15, 0.27, 0.23, rising
  up to ``gamma0 = 2``; for large ``gamma0`` it peaks early and then decays while the loss is already small). The
  paper's claim (and spec check 7) therefore holds here for ``gamma0 <= 1``, which is why the default ``gammas`` stop
  at 1; with ``gammas`` reaching 2 the corr(g, g~) ordering checks fail (the DMFT's final corr is 0.27 at
  ``gamma0 = 1`` against 0.25 at 2, at ``t = 30`` and 50 alike).
* quick settings, data seeds 0-3: ``|slope + 1|`` of the squared ``f`` error 0.07-0.13 and of the relative eNTK
  error 0.02-0.09; ``N x`` the squared ``f`` error 1.2-1.4; ``N x`` the relative eNTK error 14-17 (largest at
  ``gamma0 = 0.25``, against 2-4 at ``gamma0 = 1``); ``N x`` the loss excess <= 0.5; |corr(g, g~)(0)| <= 0.026
  (DMFT, ``S = 1000``) and <= 0.033 (simulation, ``N = 128``, 32 seeds); ``mc_error`` 0.004-0.009; the smallest
  ordering margins 0.02-0.05 (``A(Phi^L)``, corr, eNTK error) and >= 0.08 (early loss, top fraction, contrast).
* full-size runs (``t = 50``; ``S = 8000``; ``N = 250-1000`` with 6 seeds, ``N = 1000`` with 24 and ``N = 2000``
  with 6 seeds at ``gamma0 = 0.25, 1``, ``N = 4000`` with 2 seeds at ``gamma0 = 1``): ``N x`` the squared ``f``
  error 2.0-2.2 (``gamma0 = 0.25``) and 0.27-0.36 (``gamma0 = 1``) at every width, ``N x`` the relative eNTK error
  11-14 and 2.0-2.5, ``N x`` the loss excess < 0; the float32 roundoff of ``f`` at ``N = 4000`` 6e-8. The default
  config restricted to ``widths = (250, 500, 1000)`` (``S = 4000``, 100 s) passes every check, with ``|slope + 1|``
  0.25 (``f``) and 0.09 (eNTK): its six ``N = 1000`` seeds sit high (``N x`` error 1.47 against 1.0 at 250 and 500;
  24 seeds give the 1/N value), which the full run's five widths dilute (expected slope about -0.9).

The Monte-Carlo DMFT's own error does not fall like ``S^-1/2`` beyond ``S ~ 2000`` here: over four draw seeds the
standard deviation of the DMFT loss (max over ``t``) is 0.011, 0.0019 and 0.0027 at ``S = 500, 2000, 8000``, and
``mc_error`` (``S`` against ``S/2``) is 2-3x below the difference of two independent solves (``S = 8000`` against
``16000``: 0.0037 in the loss, against ``mc_error`` 0.0015). The floor (~3e-5 in the squared ``f``) stays below 15%
of the simulations' squared error up to ``N = 4000``, and the loss check allows 3 ``mc_error`` on top of 3 standard
errors of the seed mean.

The simulations run in float32 by default (``dtype``): their weights are drawn in float64 and cast, and a float64
rerun of two seeds at the widest width bounds the roundoff of ``f`` (measured 6e-8 at ``N = 4000``, checked
<= 1e-4). Quick mode runs in float64 (at ``N <= 128`` float32 saves less than the rerun costs).

Quick mode (about 20-25 s on 2 shared cores, half of it compilation) solves the DMFT with ``S = 1000`` over 60
steps (``t = 30``) and simulates ``N = 32`` and 128 with 32 seeds each; the full run (about 8 minutes: the ``N =
4000`` simulations take 30 s per pair of seeds and ``gamma0``) solves with ``S = 4000`` over 100 steps (``t = 50``)
and simulates ``N = 250, 500, 1000, 2000, 4000`` with 6 seeds each. Every check is kept in both.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from learndyn import param as _param
from learndyn import rules, train
from learndyn.experiments._dfa_depth_figures import figures
from learndyn.experiments._summaries import class_contrast, loglog_slope, min_step, over_kernels, top_fraction
from learndyn.experiments.config import ExperimentConfig, option
from learndyn.experiments.registry import experiment
from learndyn.observables import describe_variables, kernel_task_alignment
from learndyn.progress import track
from learndyn.results import Outcome
from learndyn.tasks import Task
from learndyn.theory import dmft_mc

# Tolerances of the DMFT-vs-simulation checks, from measured values (see the module notes).
_F_SQ = 4.0  # N x the per-seed squared f error, gamma0-mean (measured 1.0-1.5)
_LOSS_BIAS = 2.0  # N x the seed-mean loss error beyond 3 standard errors and 3 mc_error (measured <= 0.5)
_ENTK_SQ = 40.0  # N x the relative squared eNTK error, largest over gamma0 (measured 11-17)
_SLOPE_TOL = 0.3  # |slope + 1| of the squared f and eNTK errors against N (measured <= 0.13)
_MC_TOL = 0.02  # the DMFT's mc_error of the loss (measured 0.004-0.009 at S = 1000, 0.002 at S = 8000)
_CORR0_TOL = 0.06  # |corr(g, g~)| at t = 0 (measured <= 0.033; DMFT: Monte-Carlo noise, simulation: finite N)


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Configuration of dfa-depth (defaults: the full run of spec Fig. 3)."""

    seed: int = option(0, "seed of the data, the DMFT draws, the initial weights and the DFA feedback", ge=0)
    gammas: tuple[float, ...] = option((0.25, 0.5, 1.0), "richness values gamma0 of the mean-field net", gt=0)
    n_hidden: int = option(3, "number of hidden layers L", ge=2)
    n_items: int = option(12, "number of training items P (the first half class +1, the rest class -1)", ge=4)
    d: int = option(32, "input dimension D", ge=1)
    separation: float = option(
        0.1, "|class mean|^2 / D of the two Gaussian classes x = +-m + noise (unit noise variance)", ge=0
    )
    eta: float = option(0.5, "step size eta (lr = eta gamma0^2 N per layer; t = eta * step)", gt=0)
    steps: int = option(100, "training steps (DMFT cost grows as steps^2)", ge=2)
    t_early: float = option(10.0, "time of the early-loss ordering check", gt=0)
    n_records: int = option(11, "equally spaced simulation records (plus t_early); memory ~ records x N^2", ge=2)
    samples: int = option(4000, "Monte-Carlo DMFT sites per layer S (a multiple of 4)", ge=8)
    widths: tuple[int, ...] = option((250, 500, 1000, 2000, 4000), "simulated hidden widths N", ge=8)
    n_seeds: int = option(6, "simulated initialisations per width and gamma0", ge=2)
    seed_chunk: int = option(2, "seeds simulated at once (bounds the memory of the recorded weights)", ge=1)
    dtype: str = option("float32", "precision of the simulations (the DMFT is float64)", choices=("float32", "float64"))

    def check(self):
        """Constraints between fields."""
        if len(set(self.gammas)) < 2 or len(set(self.gammas)) != len(self.gammas):
            raise ValueError(f"gammas must hold at least two different values, none twice; got {list(self.gammas)}")
        if len(set(self.widths)) < 2 or len(set(self.widths)) != len(self.widths):
            raise ValueError(
                f"widths must hold at least two different widths (for the O(1/N) slope), none twice; got "
                f"{list(self.widths)}"
            )
        if self.samples % 4:
            raise ValueError(f"samples must be a multiple of 4 (antithetic draws); got {self.samples}")
        if self.n_items % 2:
            raise ValueError(f"n_items must be even (two classes of equal size); got {self.n_items}")
        if not self.eta <= self.t_early < self.eta * self.steps:
            raise ValueError(
                f"t_early={self.t_early:g} must lie in [eta, eta * steps) = [{self.eta:g}, {self.eta * self.steps:g})"
            )
        if self.n_records > self.steps + 1:
            raise ValueError(f"n_records={self.n_records} must be <= steps + 1 = {self.steps + 1}")


# ---- data ---------------------------------------------------------------------------------------------------------
def _task(cfg: Config) -> Task:
    """Two Gaussian classes: ``x = y m + xi``, ``|m|^2 = separation * D``, ``xi ~ N(0, I_D)``; items sorted by class."""
    rng = np.random.default_rng(cfg.seed)
    P = cfg.n_items
    y = np.where(np.arange(P) < P // 2, 1.0, -1.0)
    u = rng.standard_normal(cfg.d)
    m = np.sqrt(cfg.separation * cfg.d) * u / np.linalg.norm(u)
    X = y[:, None] * m[None, :] + rng.standard_normal((P, cfg.d))
    return Task(X, y[:, None], name="two-gaussian-classes")


def _early_step(cfg: Config) -> int:
    return int(round(cfg.t_early / cfg.eta))


def _record_steps(cfg: Config) -> np.ndarray:
    grid = np.round(np.linspace(0, cfg.steps, cfg.n_records)).astype(int)
    return np.unique(np.concatenate([grid, [_early_step(cfg)]]))


def _key(g0: float) -> str:
    """The data key of the DMFT trajectory at ``gamma0`` (``dmft/gamma0_0p25``)."""
    return f"dmft/gamma0_{g0:g}".replace(".", "p")


# ---- theory -------------------------------------------------------------------------------------------------------
def _dmft(cfg: Config, task: Task, g0: float):
    """The Monte-Carlo DMFT of one gamma0 (with its S/2 re-solve for ``mc_error``)."""
    return dmft_mc.solve(
        task.X,
        task.Y,
        n_hidden=cfg.n_hidden,
        activation="tanh",
        rule="dfa",
        gamma0=g0,
        eta=cfg.eta,
        steps=cfg.steps,
        samples=cfg.samples,
        seed=cfg.seed,
    )


# ---- simulation ---------------------------------------------------------------------------------------------------
def _simulate(cfg: Config, task: Task, g0: float, N: int, rec: np.ndarray) -> dict:
    """Seeds x records of one (gamma0, width): outputs, loss, the DMFT's kernels and corr(g, g~) from the weights."""
    par = _param.get("meanfield", gamma0=g0)
    sizes = (cfg.d,) + (N,) * cfg.n_hidden + (1,)
    net = par.mlp(sizes, "tanh")
    rule = rules.DFA(net)
    # seed s of width N: its own weights and feedback, the same for every gamma0 (common random numbers)
    k_init, k_fb = jax.random.split(jax.random.fold_in(jax.random.key(cfg.seed), N))
    seeds = jnp.arange(cfg.n_seeds)
    init_keys, fb_keys = (jax.vmap(jax.random.fold_in, in_axes=(None, 0))(k, seeds) for k in (k_init, k_fb))
    X = jnp.asarray(task.X)
    s = 1.0 / float(net.multiplier(net.depth - 1))  # g = gamma0 N df/dh: the DMFT's normalisation

    def kernels(p, state):
        f, cache = net.apply(p, X)
        unit = jnp.ones_like(f)
        g = [s * d for d in rule.gd_deltas(p, cache, unit)[:-1]]  # hidden layers 1..L, (P, N) each
        gt = [s * d for d in rule.deltas(p, cache, unit, state)[:-1]]
        phi = jnp.stack([x @ x.T / x.shape[-1] for x in cache["phi"]])
        G = [a @ b.T / a.shape[1] for a, b in zip(g, gt, strict=True)]
        cos = jnp.stack(
            [
                jnp.mean(jnp.sum(a * b, 1) / jnp.sqrt(jnp.sum(a * a, 1) * jnp.sum(b * b, 1)))
                for a, b in zip(g, gt, strict=True)
            ]
        )
        return f[:, 0], phi, jnp.stack(G + [jnp.ones_like(G[0])]), cos

    per_record = jax.jit(jax.vmap(jax.vmap(kernels, in_axes=(0, None)), in_axes=(0, 0)))
    parts = []
    for a in range(0, cfg.n_seeds, cfg.seed_chunk):
        b = min(a + cfg.seed_chunk, cfg.n_seeds)
        # drawn in float64 and then cast: the same weights and feedback at either precision
        p0 = jax.vmap(lambda k: par.init(k, sizes, "tanh"))(init_keys[a:b])  # noqa: B023
        state = jax.vmap(rule.init)(fb_keys[a:b], p0)
        p0, state = (jax.tree_util.tree_map(lambda v: v.astype(cfg.dtype), tree) for tree in (p0, state))
        sim = train.simulate(net, rule, task, p0, lr=cfg.eta, t=cfg.eta * rec, state=state, param=par)
        f, phi, gt, corr = (np.asarray(v, dtype=np.float64) for v in per_record(sim.params, state))
        parts.append({"loss": np.asarray(sim.loss, dtype=np.float64), "f": f, "phi": phi, "gt": gt, "corr": corr})
        del sim
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}  # (seed, t, ...)
    out["entk"] = np.sum(out["gt"] * out["phi"], axis=2)
    return out


# ---- helpers for the checks ---------------------------------------------------------------------------------------
@experiment(
    "dfa-depth",
    Config,
    quick={
        "steps": 60,
        "samples": 1000,
        "widths": (32, 128),
        "n_seeds": 32,
        "seed_chunk": 32,
        "dtype": "float64",
    },
    description="DFA in a deep tanh net (L = 3) on two classes at several gamma0: Monte-Carlo DMFT against "
    "finite-width simulations; richer nets train faster, align Phi^L and the eNTK with the classes and align the "
    "true gradients with DFA's pseudo-gradients (Bordelon & Pehlevan 2023, Fig. 3).",
)
def run(cfg: Config) -> Outcome:
    """Solve the DMFT and simulate at every gamma0 and width; check the gamma0 orderings and the O(1/N) agreement."""
    out = Outcome()
    task = _task(cfg)
    y = task.Y[:, 0]
    L = cfg.n_hidden
    gammas = np.asarray(sorted(cfg.gammas), dtype=float)
    widths = np.asarray(sorted(cfg.widths))
    rec = _record_steps(cfg)
    k_early = _early_step(cfg)
    align, contrast = (lambda K: kernel_task_alignment(K, y[:, None])), class_contrast(y)

    theory = {}
    for g0 in track(gammas, "dfa-depth: DMFT per gamma0"):
        res = _dmft(cfg, task, float(g0))
        theory[g0] = res
        ds = res.trajectory()
        for var, fn, name in (
            ("phi_task_alignment", align, "kernel-task alignment A(Phi^l, y y^T) per weight layer's input"),
            ("phi_top_fraction", top_fraction, "largest eigenvalue / trace of Phi^l (1: rank one)"),
        ):
            ds[var] = (("t", "layer"), over_kernels(fn, res.phi))
            ds[var].attrs.update(long_name=name, units="1")
        ds["entk_class_contrast"] = (("t",), over_kernels(contrast, res.entk))
        ds["entk_class_contrast"].attrs.update(
            long_name="(mean within-class K - mean between-class K) / mean |K| of the eNTK", units="1"
        )
        out.data[_key(g0)] = ds

    sims = {}
    jobs = [(g0, int(N)) for N in widths for g0 in gammas]
    for g0, N in track(jobs, "dfa-depth: simulations per width and gamma0"):
        sims[g0, N] = _simulate(cfg, task, float(g0), N, rec)

    # float32 roundoff against a float64 rerun of two seeds at the widest width (the same weights and feedback)
    N_top, g_ref = int(widths[-1]), gammas[-1]
    if cfg.dtype == "float32":
        ref_cfg = dataclasses.replace(cfg, dtype="float64", n_seeds=2, seed_chunk=2)
        ref = _simulate(ref_cfg, task, float(g_ref), N_top, rec)
        precision_err = float(np.max(np.abs(ref["f"] - sims[g_ref, N_top]["f"][:2])))
    else:
        precision_err = 0.0

    # ---- stack into arrays: theory (gamma0, t, ...), simulation (gamma0, width, seed, t, ...)
    th = {
        "loss": np.stack([theory[g].loss for g in gammas]),
        "f": np.stack([theory[g].f for g in gammas]),
        "entk": np.stack([theory[g].entk for g in gammas]),
        "phiL": np.stack([theory[g].phi[:, L] for g in gammas]),
        "corr": np.stack([out.data[_key(g)]["grad_corr"].values for g in gammas]),  # (gamma0, t, hidden)
    }
    th["A_phiL"] = over_kernels(align, th["phiL"])
    th["top_phiL"] = over_kernels(top_fraction, th["phiL"])
    th["A_K"] = over_kernels(align, th["entk"])
    th["contrast"] = over_kernels(contrast, th["entk"])
    th["mc_error"] = np.asarray([theory[g].mc_error for g in gammas])
    sm = {
        k: np.stack([np.stack([sims[g, int(N)][k] for N in widths]) for g in gammas])
        for k in sims[gammas[0], int(widths[0])]
    }
    phiL = sm["phi"][..., L, :, :]  # (gamma0, width, seed, t, P, P)
    sm["A_phiL"] = over_kernels(align, phiL)
    sm["top_phiL"] = over_kernels(top_fraction, phiL)
    sm["A_K"] = over_kernels(align, sm["entk"])
    sm["contrast"] = over_kernels(contrast, sm["entk"])
    S = cfg.n_seeds
    t_rec = cfg.eta * rec

    # ---- data
    sim_ds = xr.Dataset(
        {
            "loss": (("gamma0", "width", "seed", "t"), sm["loss"]),
            "f": (("gamma0", "width", "seed", "t", "p", "o"), sm["f"][..., None]),
            "grad_corr": (("gamma0", "width", "seed", "t", "hidden"), sm["corr"]),
            "entk_task_alignment": (("gamma0", "width", "seed", "t"), sm["A_K"]),
            "entk_class_contrast": (("gamma0", "width", "seed", "t"), sm["contrast"]),
            "phi_task_alignment": (("gamma0", "width", "seed", "t"), sm["A_phiL"]),
            "phi_top_fraction": (("gamma0", "width", "seed", "t"), sm["top_phiL"]),
            "gt": (("gamma0", "width", "t", "layer", "p", "q"), sm["gt"].mean(axis=2)),
            "phi": (("gamma0", "width", "t", "layer", "p", "q"), sm["phi"].mean(axis=2)),
            "entk": (
                ("gamma0", "width", "t", "p", "o", "q", "o2"),
                sm["entk"].mean(axis=2)[:, :, :, :, None, :, None],
            ),
        },
        coords={
            "gamma0": gammas,
            "width": widths,
            "seed": np.arange(S),
            "t": t_rec,
            "layer": np.arange(L + 1),
            "hidden": np.arange(1, L + 1),
        },
        attrs={
            "source": "simulation",
            "rule": "dfa",
            "activation": "tanh",
            "eta": cfg.eta,
            "n_hidden": L,
            "dtype": cfg.dtype,
            "kernels": "phi, gt and entk are seed means; the alignments, contrasts and grad_corr are per seed",
        },
    )
    sim_ds["phi_task_alignment"].attrs.update(long_name="kernel-task alignment A(Phi^L, y y^T) of the last hidden "
                                              "layer", units="1")  # fmt: skip
    sim_ds["phi_top_fraction"].attrs.update(long_name="largest eigenvalue / trace of Phi^L", units="1")
    sim_ds["entk_class_contrast"].attrs.update(
        long_name="(mean within-class K - mean between-class K) / mean |K| of the eNTK", units="1"
    )
    sim_ds["gamma0"].attrs.update(long_name="richness gamma0 of the mean-field net", units="1")
    sim_ds["width"].attrs.update(long_name="hidden width N", units="1")
    sim_ds["seed"].attrs.update(long_name="initialisation and feedback seed")
    out.data["simulation"] = describe_variables(sim_ds)

    # ---- DMFT vs simulation at every width
    f_th = th["f"][:, rec]  # (gamma0, t, P)
    sq_f = np.mean((sm["f"] - f_th[:, None, None]) ** 2, axis=(2, 3, 4))  # (gamma0, width): per-seed mean sq error
    mse_f = sq_f.mean(axis=0)  # (width,)
    sem_loss = sm["loss"].std(axis=2, ddof=1) / np.sqrt(S)
    loss_err = np.abs(sm["loss"].mean(axis=2) - th["loss"][:, None, rec])  # (gamma0, width, t)
    loss_excess = loss_err - 3 * sem_loss - 3 * th["mc_error"][:, None, None]
    K_th = th["entk"][:, rec]
    rel_K = (
        np.mean(np.sum((sm["entk"] - K_th[:, None, None]) ** 2, axis=(-2, -1)), axis=(2, 3))
        / np.mean(np.sum(K_th**2, axis=(-2, -1)), axis=1)[:, None]
    )  # (gamma0, width): <|K_N - K_inf|^2>_{t, seeds} / <|K_inf|^2>_t
    err_ds = xr.Dataset(
        {
            "f_sq_err": (("gamma0", "width"), sq_f),
            "loss_mean_err": (("gamma0", "width", "t"), loss_err),
            "loss_mean_excess": (("gamma0", "width"), loss_excess.max(axis=2)),
            "entk_rel_sq_err": (("gamma0", "width"), rel_K),
        },
        coords={"gamma0": gammas, "width": widths, "t": t_rec},
    )
    for var, name, units in (
        ("f_sq_err", "per-seed squared error of f against the DMFT, mean over seeds, items and records",
         "squared target units"),
        ("loss_mean_err", "|seed-mean loss - DMFT loss|", "squared target units"),
        ("loss_mean_excess", "max over records of |seed-mean loss - DMFT loss| - 3 standard errors - 3 mc_error",
         "squared target units"),
        ("entk_rel_sq_err", "<|K_N - K_inf|^2>_{t, seeds} / <|K_inf|^2>_t of the eNTK", "1"),
    ):  # fmt: skip
        err_ds[var].attrs.update(long_name=name, units=units)
    out.data["errors"] = describe_variables(err_ds)

    # ---- orderings (final = last step)
    early = int(np.searchsorted(rec, k_early))
    summ = xr.Dataset(
        {
            "dmft_early_loss": (("gamma0",), th["loss"][:, k_early]),
            "dmft_final_phi_alignment": (("gamma0",), th["A_phiL"][:, -1]),
            "dmft_final_phi_top_fraction": (("gamma0",), th["top_phiL"][:, -1]),
            "dmft_final_grad_corr": (("gamma0",), th["corr"][:, -1].mean(axis=1)),
            "dmft_final_entk_alignment": (("gamma0",), th["A_K"][:, -1]),
            "dmft_final_entk_contrast": (("gamma0",), th["contrast"][:, -1]),
            "sim_early_loss": (("gamma0", "width"), sm["loss"][:, :, :, early].mean(axis=2)),
            "sim_final_phi_alignment": (("gamma0", "width"), sm["A_phiL"][:, :, :, -1].mean(axis=2)),
            "sim_final_phi_top_fraction": (("gamma0", "width"), sm["top_phiL"][:, :, :, -1].mean(axis=2)),
            "sim_final_grad_corr": (("gamma0", "width"), sm["corr"][:, :, :, -1].mean(axis=(2, 3))),
            "sim_final_entk_alignment": (("gamma0", "width"), sm["A_K"][:, :, :, -1].mean(axis=2)),
            "sim_final_entk_contrast": (("gamma0", "width"), sm["contrast"][:, :, :, -1].mean(axis=2)),
            "sim_entk_rel_sq_err": (("gamma0", "width"), rel_K),
        },
        coords={"gamma0": gammas, "width": widths},
        attrs={"t_early": cfg.eta * k_early, "t_final": cfg.eta * cfg.steps},
    )
    for var in summ.data_vars:
        summ[var].attrs.update(units="squared target units" if "loss" in var else "1")
    out.data["orderings"] = summ

    names = _checks(cfg, out, gammas, widths, th, sm, summ, mse_f, loss_excess, rel_K, precision_err)
    figures(cfg, out, gammas, widths, rec, th, sm, sq_f, rel_K, loss_err, names, k_early, _LOSS_BIAS)
    return out


def _checks(cfg, out, gammas, widths, th, sm, summ, mse_f, loss_excess, rel_K, precision_err) -> dict:
    L = cfg.n_hidden
    g_txt = ", ".join(f"{g:g}" for g in gammas)
    setup = f"L = {L} tanh, DFA, gamma0 = {g_txt}, P = {cfg.n_items}, D = {cfg.d}, eta = {cfg.eta:g}"
    names = {"dmft": [], "order": [], "width": []}
    Nmax = int(widths[-1])
    t_early, t_final = cfg.eta * _early_step(cfg), cfg.eta * cfg.steps
    at_top = f"simulation at N = {Nmax} (mean of {cfg.n_seeds} seeds)"

    def check(group, name, value, op, threshold, text):
        out.check(name, value, op, threshold, text)
        names[group].append(name)

    # ---- the DMFT itself
    check(
        "dmft",
        "dmft_mc_error",
        float(np.max(th["mc_error"])),
        "<=",
        _MC_TOL,
        f"largest Monte-Carlo error estimate of the DMFT loss over gamma0 (S = {cfg.samples} sites against an S/2 "
        "re-solve; measured 0.004-0.009 at S = 1000): far below the loss gaps between the gamma0 (>= 0.08 at "
        "t_early); it underestimates the solve-to-solve spread by 2-3x (module notes)",
    )
    corr0 = float(np.max(np.abs(th["corr"][:, 0])))
    check(
        "dmft",
        "dmft_grad_corr_starts_at_zero",
        corr0,
        "<=",
        _CORR0_TOL,
        "DMFT: max over gamma0 and hidden layers of |corr(g, g~)| at t = 0: DFA's feedback z~ is independent of the "
        "forward weights, so the pseudo-gradients start uncorrelated with the true gradients (and the eNTK starts as "
        "Phi^L); Monte-Carlo noise (measured <= 0.026 at S = 1000)",
    )
    corr0_sim = float(np.max(np.abs(sm["corr"][:, -1, :, 0].mean(axis=1))))
    check(
        "dmft",
        "sim_grad_corr_starts_at_zero",
        corr0_sim,
        "<=",
        _CORR0_TOL,
        f"{at_top}: max over gamma0 and hidden layers of |seed-mean corr(g, g~)| at t = 0 (measured <= 0.033 at "
        "N = 128 with 32 seeds)",
    )
    drop = float(np.max(th["loss"][:, -1] / th["loss"][:, 0]))
    check(
        "dmft",
        "dmft_loss_trained",
        drop,
        "<=",
        0.1,
        f"DMFT: largest final / initial loss over gamma0 (t = {t_final:g}): every gamma0 trains (>= 10-fold)",
    )
    gain = float(np.min(th["A_phiL"][:, -1] - th["A_phiL"][:, 0]))
    check(
        "dmft",
        "rich_regime_phi_alignment_gain",
        gain,
        ">=",
        0.1,
        f"DMFT: smallest growth of A(Phi^L, y y^T) from t = 0 to t = {t_final:g} over gamma0; the lazy limit keeps "
        "Phi^L fixed, so the features move: every gamma0 is in the rich regime",
    )

    # ---- the gamma0 orderings of Fig. 3 (DMFT, and the seed mean of the widest simulation)
    claims = (
        ("early_loss", False, f"the loss at t = {t_early:g}", "larger gamma0 trains faster (Fig. 3a)"),
        ("final_phi_alignment", True, "the final A(Phi^L, y y^T)", "the last hidden layer's kernel aligns with the "
         "classes more (Fig. 3b, spec check 7)"),
        ("final_phi_top_fraction", True, "the final largest-eigenvalue fraction of Phi^L", "Phi^L becomes closer to "
         "rank one (Fig. 3b)"),
        ("final_grad_corr", True, f"the final corr(g, g~) (per-item cosine, mean over items and the {L} hidden "
         "layers)", "the true gradients align more with DFA's pseudo-gradients (Fig. 3c, spec check 7)"),
        ("final_entk_alignment", True, "the final A(K, y y^T) of the eNTK", "the eNTK aligns with the task"),
        ("final_entk_contrast", True, "the final class contrast of the eNTK, (mean within-class K - mean "
         "between-class K) / mean |K|", "the final eNTK clusters by class more sharply (Fig. 3d)"),
    )  # fmt: skip
    for key, increasing, what, claim in claims:
        word = "increase" if increasing else "drop"
        check(
            "order",
            f"{key}_{'increasing' if increasing else 'decreasing'}_in_gamma0",
            min_step(summ[f"dmft_{key}"].values, increasing),
            ">",
            0.0,
            f"DMFT ({setup}): smallest {word} of {what} from one gamma0 to the next larger one; > 0: {claim}",
        )
        check(
            "order",
            f"sim_{key}_{'increasing' if increasing else 'decreasing'}_in_gamma0",
            min_step(summ[f"sim_{key}"].values[:, -1], increasing),
            ">",
            0.0,
            f"{at_top}: smallest {word} of {what} from one gamma0 to the next larger one",
        )
    check(
        "order",
        "entk_rel_sq_err_decreasing_in_gamma0",
        min_step(rel_K[:, -1], False),
        ">",
        0.0,
        f"{at_top}: smallest drop of the relative squared eNTK error <|K_N - K_inf|^2>_t / <|K_inf|^2>_t from one "
        "gamma0 to the next larger one; > 0: the DMFT is more accurate at larger gamma0 (Fig. 3e)",
    )

    # ---- DMFT vs simulation
    span = f"N = {', '.join(str(int(n)) for n in widths)}; {cfg.n_seeds} seeds per width and gamma0"
    for j, N in enumerate(widths):
        N = int(N)
        check(
            "width",
            f"f_sq_err_times_N_N{N}",
            N * float(mse_f[j]),
            "<=",
            _F_SQ,
            f"N = {N}: N x the per-seed squared error of the outputs f against the DMFT (mean over seeds, items, "
            f"records and gamma0); O(1/N) fluctuations give an N-independent value (measured 1.0-1.5)",
        )
        check(
            "width",
            f"loss_mean_err_times_N_N{N}",
            N * float(loss_excess[:, j].max()),
            "<=",
            _LOSS_BIAS,
            f"N = {N}: N x [max over gamma0 and records of |seed-mean loss - DMFT loss| minus 3 standard errors of "
            f"the seed mean minus 3 x the DMFT's mc_error]: the seed mean sits on the DMFT up to an O(1/N) bias "
            f"<= {_LOSS_BIAS:g}/N (measured <= 0.5)",
        )
        check(
            "width",
            f"entk_rel_sq_err_times_N_N{N}",
            N * float(rel_K[:, j].max()),
            "<=",
            _ENTK_SQ,
            f"N = {N}: N x the largest (over gamma0) relative squared eNTK error <|K_N - K_inf|^2>_t / "
            "<|K_inf|^2>_t (spec section 5), mean over seeds; O(1/N) (measured 11-17)",
        )
    slope = loglog_slope(widths, mse_f)
    check(
        "width",
        "f_sq_err_width_slope",
        abs(slope + 1.0),
        "<=",
        _SLOPE_TOL,
        f"|log-log slope + 1| of the mean squared f error against N ({span}; slope {slope:+.2f}): the squared "
        "finite-width error is O(1/N) (Fig. 3e)",
    )
    slope_K = loglog_slope(widths, rel_K.mean(axis=0))
    check(
        "width",
        "entk_sq_err_width_slope",
        abs(slope_K + 1.0),
        "<=",
        _SLOPE_TOL,
        f"|log-log slope + 1| of the gamma0-mean relative squared eNTK error against N (slope {slope_K:+.2f}): "
        "O(1/N) (Fig. 3e)",
    )
    check(
        "width",
        "sim_precision_f_error",
        precision_err,
        "<=",
        1e-4,
        f"max |f(float{32 if cfg.dtype == 'float32' else 64}) - f(float64)| of two seeds at N = {Nmax}, "
        f"gamma0 = {gammas[-1]:g}, from the same weights and feedback (0 for float64 runs): the simulations' roundoff "
        "is far below every DMFT-vs-simulation tolerance",
    )
    return names
