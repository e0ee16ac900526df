"""ip-stationary: integrable parameterizations with three or more hidden layers do not move at large width, and
IP-LLR's large first-step rates fix it (Hajjar, Chizat & Giraud, JMLR 2024, arXiv 2110.15596; spec
``integrable_and_meanfield.md`` B1-B2, checks B5).

ReLU MLPs ``d = 20 -> m -> ... -> m -> 1`` with ``L`` hidden layers under :func:`learndyn.param.ip` (standard IP)
and :func:`learndyn.param.ip_llr` (IP-LLR), the library loss ``1/(2P) sum (y - f)^2``, time ``t = lr * step``.

1. **One step** (:func:`learndyn.coord_check.coord_check`, base lr 1, batch 128, targets ``sign(x_1)``) for
   ``L = 2, 3, 5`` over widths: the fitted log-log slopes of ``mean |Delta h^l|`` and ``mean |Delta f|`` against
   the width match :func:`learndyn.theory.scaling.ip_exponents` (within 0.2), they are all negative for
   ``L >= 3`` (stationary in the limit), and ``Delta h^2`` is width-independent for ``L = 2`` (it learns).
2. **Calibration** (:func:`learndyn.param.calibrate.calibrate_base_lr`) of IP-LLR's step-0 base rates for ``L = 5``
   over the same widths: no power-law drift (every hidden layer's rate has ``|slope| <= 0.35`` in ``log m``; a
   wrong exponent would drift by a multiple of 1/2).
3. **100 steps** of minibatch SGD (batch 128) at ``L = 5`` on the teacher ``y = tanh(2 w.x / sqrt(d))``: standard IP
   at base lr 1 changes the loss by less than 1e-4 (frozen at its initial loss); calibrated IP-LLR (step 0 at the
   calibrated rates, then the IP rates at base lr 1) ends at least 2x below its initial loss.
4. **Digits** (scikit-learn, 64 -> m^5 -> 10, one-hot; 300 steps at base lr 0.01 -- at lr 1 the step after the
   step-0 overshoot kills every ReLU and the loss sits at 0.5 = f == 0): standard IP frozen again (< 1e-4). IP-LLR
   moves (the loss falls by >= 0.01) but, at ReLU and within this budget, does not learn the classes: after the
   step-0 overshoot it settles near the loss of the class-mean output (0.45 against 0.5 at f = 0). Recorded with
   the stable rank ``||H||_F^2 / ||H||_2^2`` of the last hidden layer's activations on the test items before and
   after training: after the first IP-LLR step the representation has rank about one (every unit is ``s(x) u_j``
   with a positive ``s``), which on the teacher still carries the signal and on ten classes does not. This is
   reported, not claimed: the spec's source notes "strong differences between activations that theory does not
   capture" on image data.

Calibration data: the spec's ``sign(x_1)`` targets (with the teacher's the rates of layers 3-5 drift as m^-0.3 to
m^-0.5 over 256-1024; with ``sign(x_1)`` measured 42-77 over m = 256-2048, slopes +0.10 to +0.24, the spec's 53-86).

Quick mode: widths 256, 512, 1024 (one-step and calibration) and m = 512 for the training parts.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np
import xarray as xr

from learndyn import contributions, coord_check, datasets, param, plots, train
from learndyn.experiments._summaries import loglog_slope
from learndyn.experiments.config import ExperimentConfig, option
from learndyn.experiments.registry import experiment
from learndyn.param.calibrate import calibrate_base_lr
from learndyn.results import Outcome
from learndyn.tasks import Task
from learndyn.theory import scaling


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Configuration of ip-stationary."""

    seed: int = option(0, "seed of the data, the initial weights and the batches", ge=0)
    d: int = option(20, "input dimension of the Gaussian tasks", ge=2)
    widths: tuple[int, ...] = option((256, 1024, 4096), "hidden widths m of the one-step sweep and calibration", ge=16)
    depths: tuple[int, ...] = option((2, 3, 5), "numbers of hidden layers L of the one-step sweep", ge=1)
    batch_size: int = option(128, "batch of the one-step sweep, the calibration and SGD", ge=8)
    train_width: int = option(1024, "width of the 100-step runs", ge=16)
    steps: int = option(100, "SGD steps of the training runs", ge=2)
    lr: float = option(1.0, "base learning rate of the teacher runs (IP rates; IP-LLR after step 0)", gt=0)
    digits_lr: float = option(0.01, "base learning rate of the digits runs (lr = 1 kills IP-LLR's ReLUs there)", gt=0)
    digits_steps: int = option(300, "SGD steps of the digits runs", ge=2)


def _gaussian_task(d, n, seed, kind):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if kind == "sign":
        return Task(X, np.sign(X[:, :1]), name="sign(x1)")
    w = np.random.default_rng(seed + 1).standard_normal(d)
    return Task(X, np.tanh(2 * X @ w / np.sqrt(d))[:, None], name="teacher")


def _train_pair(task, sizes, cfg, key, lr, steps):
    """Standard IP and calibrated IP-LLR from their own inits: losses at the records and the last hidden layer's
    stable rank on the evaluation items before and after."""
    ip, llr = param.get("ip"), param.get("ip-llr")
    t = lr * np.array([0, 1, 10, steps])
    out = {}
    for name, par in (("ip", ip), ("ip-llr", llr)):
        p0 = par.init(jax.random.fold_in(key, 0), sizes, "relu")  # the same draw for both (same b, a = init)
        run_par = par
        if name == "ip-llr":
            B = cfg.batch_size
            run_par = calibrate_base_lr(par, sizes, "relu", p0, task.X[:B], task.Y[:B], task.X[B : 2 * B], lr=lr)
        net = par.mlp(sizes, "relu")
        r = train.simulate(net, "gd", task, p0, lr=lr, t=t, param=run_par, batch_size=cfg.batch_size, key=1)
        Xe = task.X_test if task.X_test is not None else task.X
        ranks = []
        for k in (0, -1):
            p = jax.tree_util.tree_map(lambda a, k=k: a[k], r.params)
            _, cache = net.apply(p, Xe)
            ranks.append(contributions.rank_proxies(cache["phi"][-1])["stable_rank"])
        out[name] = {"loss": r.loss, "t": r.t, "rank": ranks,
                     "rates": getattr(run_par, "rates", None)}  # fmt: skip
    return out


@experiment(
    "ip-stationary",
    Config,
    quick={"widths": (256, 512, 1024), "train_width": 512},
    description="standard IP with >= 3 hidden layers is stationary at large width; calibrated IP-LLR learns",
)
def run(cfg: Config) -> Outcome:
    out = Outcome()
    widths = np.asarray(cfg.widths)
    task = _gaussian_task(cfg.d, cfg.batch_size, cfg.seed, "sign")
    slopes = {}
    for L in cfg.depths:
        pred = scaling.ip_exponents(L)
        found = coord_check.stationarity("ip", task, list(cfg.widths), n_hidden=L, predicted=pred, n_seeds=2,
                                         seed=cfg.seed)  # fmt: skip
        df = found.attrs["table"]
        slopes[L] = {layer: (float(found.loc[layer, "slope"]), pred[layer][1]) for layer in pred}
        out.data[f"one_step/L{L}"] = xr.Dataset(
            {q: (("width", "layer"), df.pivot(index="width", columns="layer", values=q)[list(pred)].to_numpy())
             for q in ("init", "delta")},
            coords={"width": widths, "layer": list(pred)},
            attrs={"predicted_delta_exponents": [pred[k][1] for k in pred], "source": "simulation"},
        )  # fmt: skip
        worst = max(abs(a - b) for a, b in slopes[L].values())
        out.check(f"one_step_exponents_L{L}", worst, "<=", 0.2,
                  f"L = {L}: largest |fitted slope - predicted exponent| of mean|Delta h^l| and mean|Delta f| "
                  f"after one standard-IP step ({ {k: round(v[0], 2) for k, v in slopes[L].items()} } vs "
                  f"{ {k: v[1] for k, v in slopes[L].items()} })")  # fmt: skip
        if L >= 3:
            out.check(f"stationary_L{L}", max(a for a, _ in slopes[L].values()), "<", 0.0,
                      f"L = {L}: largest fitted slope of every update: all vanish with width (stationary)")
        if L == 2:
            out.check("learns_L2", abs(slopes[L]["h2"][0]), "<=", 0.15,
                      "L = 2: |slope| of mean|Delta h^2|: a width-independent update, the network learns")

    # Calibration at L = 5 over the widths.
    llr = param.get("ip-llr")
    t_cal = _gaussian_task(cfg.d, 2 * cfg.batch_size, cfg.seed + 5, "sign")  # the spec's B5 data
    rates = []
    for m in cfg.widths:
        sizes = (cfg.d,) + (m,) * 5 + (1,)
        p0 = llr.init(jax.random.fold_in(jax.random.key(cfg.seed), m), sizes, "relu")
        B = cfg.batch_size
        rates.append(calibrate_base_lr(llr, sizes, "relu", p0, t_cal.X[:B], t_cal.Y[:B], t_cal.X[B:]).rates)
    rates = np.asarray(rates)
    rate_slopes = [loglog_slope(widths, rates[:, l]) for l in range(1, rates.shape[1])]
    out.data["calibration"] = xr.Dataset({"rate": (("width", "layer"), rates)},
                                         coords={"width": widths, "layer": np.arange(1, rates.shape[1] + 1)})
    out.check("calibrated_rates_width_independent", float(np.max(np.abs(rate_slopes[:-1]))), "<=", 0.35,
              f"largest |log-log slope| over m of the calibrated step-0 rates of hidden layers 2-5 (slopes "
              f"{np.round(rate_slopes, 2).tolist()}, last = output; rates at m = {widths[-1]}: "
              f"{np.round(rates[-1], 1).tolist()}; spec: 53-86, no trend)")  # fmt: skip

    # 100 steps on the teacher and on digits.
    key = jax.random.key(cfg.seed + 11)
    m = cfg.train_width
    teacher = _gaussian_task(cfg.d, 1024, cfg.seed + 7, "teacher")
    tr = _train_pair(teacher, (cfg.d,) + (m,) * 5 + (1,), cfg, key, cfg.lr, cfg.steps)
    out.check("teacher_ip_frozen", float(abs(tr["ip"]["loss"][-1] - tr["ip"]["loss"][0])), "<", 1e-4,
              f"|loss change| of standard IP over {cfg.steps} SGD steps at base lr {cfg.lr:g} (L = 5, m = {m}; "
              f"initial loss {tr['ip']['loss'][0]:.4f})")  # fmt: skip
    out.check("teacher_ip_llr_learns", float(tr["ip-llr"]["loss"][-1] / tr["ip-llr"]["loss"][0]), "<=", 0.5,
              f"final over initial loss of calibrated IP-LLR (losses at steps 0, 1, 10, {cfg.steps}: "
              f"{np.round(tr['ip-llr']['loss'], 4).tolist()})")  # fmt: skip
    dig = datasets.digits(seed=cfg.seed)
    dg = _train_pair(dig, (64,) + (m,) * 5 + (10,), cfg, key, cfg.digits_lr, cfg.digits_steps)
    out.check("digits_ip_frozen", float(abs(dg["ip"]["loss"][-1] - dg["ip"]["loss"][0])), "<", 1e-4,
              f"|loss change| of standard IP on scikit-learn digits (64 -> {m}^5 -> 10, one-hot) over "
              f"{cfg.digits_steps} steps at base lr {cfg.digits_lr:g}")  # fmt: skip
    out.check("digits_ip_llr_moves", float(dg["ip-llr"]["loss"][0] - dg["ip-llr"]["loss"][-1]), ">=", 1e-2,
              f"loss decrease of calibrated IP-LLR on digits (losses at steps 0, 1, 10, {cfg.digits_steps}: "
              f"{np.round(dg['ip-llr']['loss'], 4).tolist()}; the class-mean output scores 0.45; stable rank of the "
              f"last hidden layer {np.round(dg['ip-llr']['rank'], 2).tolist()} before/after: a rank-one collapse)")
    for name, res in (("teacher", tr), ("digits", dg)):
        out.data[f"training/{name}"] = xr.Dataset(
            {"loss": (("param", "record"), np.stack([res["ip"]["loss"], res["ip-llr"]["loss"]])),
             "stable_rank": (("param", "when"), np.array([res["ip"]["rank"], res["ip-llr"]["rank"]]))},
            coords={"param": ["ip", "ip-llr"], "when": ["init", "end"],
                    "record": [0, 1, 10, cfg.steps if name == "teacher" else cfg.digits_steps]},
        )  # fmt: skip

    fig, ax = plots.figure(3, 1, width=3.9)
    for L in cfg.depths:
        ds = out.data[f"one_step/L{L}"]
        ax[0, 0].loglog(widths, ds["delta"].sel(layer="f"), "o-", label=f"|Delta f|, L = {L}")
    ax[0, 0].set(xlabel="width m", ylabel="mean |Delta f| after one step", title="standard IP: one step")
    for l in range(1, rates.shape[1]):
        ax[0, 1].semilogx(widths, rates[:, l], "o-", label=f"layer {l + 1}")
    ax[0, 1].set(xlabel="width m", ylabel="calibrated step-0 rate", title="IP-LLR calibration (L = 5)")
    for name, res, style, n in (("teacher", tr, "-", cfg.steps), ("digits", dg, "--", cfg.digits_steps)):
        for p, col in (("ip", "C0"), ("ip-llr", "C3")):
            ax[0, 2].semilogy([0.5, 1, 10, n], res[p]["loss"], style, color=col, marker="o", label=f"{p}, {name}")
    ax[0, 2].set_xscale("log")
    ax[0, 2].set(xlabel="step", ylabel="training loss", title=f"L = 5, m = {m}")
    for a in ax[0]:
        a.legend(frameon=False, fontsize=7)
    out.figure("ip_stationary", fig, "Left: the output's change after one standard-IP step against the width, for "
               "L = 2, 3, 5 hidden layers (flat for L = 2, vanishing for L >= 3). Middle: IP-LLR's calibrated step-0 "
               "rates per layer against the width (no trend). Right: training losses over 100 SGD steps (step 0 "
               "drawn at 0.5) of standard IP (blue, frozen) and calibrated IP-LLR (red) on the teacher (solid) and "
               "digits (dashed).",
               checks=("stationary_L3", "calibrated_rates_width_independent", "teacher_ip_llr_learns"))  # fmt: skip
    return out
