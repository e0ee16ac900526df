"""coord-check: the coordinate check of width parameterizations (SP, NTK, muP, mean-field).

Yang & Hu 2021 ("Tensor Programs IV: Feature Learning in Infinite-Width Neural Networks", ICML, arXiv 2011.14522)
classify abc-parameterizations by how the coordinates of the pre-activations ``h_l`` and of the output ``f`` scale
with the width ``m`` at initialisation and after a few steps of training; their "coordinate check" (also the
diagnostic of Hajjar, Chizat & Giraud, "Training integrable parameterizations of deep neural networks in the
infinite-width limit", JMLR 2024, arXiv 2110.15596) plots the mean ``|Delta h_l|`` against ``m`` on log-log axes.
This experiment runs that check on a ReLU MLP ``d -> m -> m -> m -> 1`` (three hidden layers) for the presets of
:mod:`learndyn.param` ``sp``, ``ntk``, ``mup`` and ``meanfield`` (Bordelon & Pehlevan 2022, richness ``gamma0``),
trained by full-batch GD with a width-independent base learning rate per parameterization, for a few steps on one
fixed regression task (Gaussian inputs, targets of a fixed random two-layer ReLU teacher).

For every parameterization, width and hidden layer it records the mean ``|h_l|`` over items and neurons at
initialisation and after training, the mean ``|Delta h_l| = |h_l(T) - h_l(0)|``, and the same for the output ``f``
(averaged over seeds), and fits the log-log slope against ``m``. The one-step power counting of Yang & Hu for this
network (``L = 3`` hidden layers, loss ``1/(2P) sum (y - f)^2``, lr ``eta m^{-c}``) predicts the exponents

    ==========  =====================  ==========================  ===========
    preset      Delta h_1 (input)      Delta h_l, l = 2..L         Delta f
    ==========  =====================  ==========================  ===========
    sp          -1/2                   +1/2  (blows up)            +1
    ntk         -1/2                   -1/2  (lazy)                0
    mup         0                      0     (feature learning)    0
    meanfield   0                      0     (feature learning)    0
    ==========  =====================  ==========================  ===========

while at initialisation ``|h_l| = O(1)`` for all four and ``|f|`` is ``O(1)`` (SP, NTK) or ``O(m^{-1/2})`` (muP,
mean-field). SP's exponents hold only while the update is small: with any width-independent lr the SP net diverges
once ``lr * m`` is of order one, so the SP base rate is chosen small enough (``lr_sp``) that the widest net is still
in the linear-response regime. The checks compare the fitted slopes with these exponents.

The measurement and the slope fit are the library's :func:`learndyn.coord_check.coord_check` and
:func:`learndyn.coord_check.width_exponents`; this module adds the presets, the predictions, checks and figure.

Time convention: every run records the gradient-flow time ``t = lr * step`` (base lr; the per-layer scales of the
parameterization multiply it), here only at ``t = 0`` and after ``steps`` steps.

Quick mode runs three widths (64 to 256) instead of five (64 to 1024). Sixteen seeds per width average out the
O(1) random initial output of SP and NTK, which otherwise sets the size of every update (two seeds give slopes off
by +-0.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from learndyn import coord_check as _cc
from learndyn import param as _param
from learndyn import plots
from learndyn.experiments.config import ExperimentConfig, option
from learndyn.experiments.registry import experiment
from learndyn.progress import track
from learndyn.results import Outcome
from learndyn.tasks import Task

_PARAMS = ("sp", "ntk", "mup", "meanfield")

#: One-step exponents of mean |Delta h_1|, mean |Delta h_l| (l >= 2) and mean |Delta f| against the width.
THEORY_DELTA = {
    "sp": (-0.5, 0.5, 1.0),
    "ntk": (-0.5, -0.5, 0.0),
    "mup": (0.0, 0.0, 0.0),
    "meanfield": (0.0, 0.0, 0.0),
}
#: Exponent of mean |f| at initialisation (every |h_l(0)| is O(1)).
THEORY_F0 = {"sp": 0.0, "ntk": 0.0, "mup": -0.5, "meanfield": -0.5}


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Configuration of coord-check (defaults: the full coordinate check)."""

    seed: int = option(0, "seed of the task, the teacher and the initial weights", ge=0)
    params: tuple[str, ...] = option(_PARAMS, "parameterizations to check", choices=_PARAMS)
    widths: tuple[int, ...] = option((64, 128, 256, 512, 1024), "hidden widths m (one net per width)", ge=8)
    n_hidden: int = option(3, "number of hidden layers L", ge=2)
    d: int = option(16, "input dimension", ge=1)
    n_items: int = option(64, "number of Gaussian training items P", ge=1)
    teacher_width: int = option(32, "hidden width of the fixed random ReLU teacher", ge=1)
    steps: int = option(5, "full-batch GD steps", ge=1)
    n_seeds: int = option(16, "initialisations per width (averaged)", ge=1)
    lr_sp: float = option(1e-5, "base learning rate of SP (small: SP diverges once lr * m is O(1))", gt=0)
    lr_ntk: float = option(1.0, "base learning rate of NTK", gt=0)
    lr_mup: float = option(1.0, "base learning rate of muP", gt=0)
    lr_meanfield: float = option(1.0, "base learning rate eta of mean-field (t = eta * step)", gt=0)
    gamma0: float = option(1.0, "richness gamma0 of the mean-field preset", gt=0)
    slope_tol: float = option(0.2, "muP/mean-field: largest accepted |slope| of the O(1) quantities", gt=0)
    min_relative_change: float = option(
        0.02, "muP/mean-field: smallest accepted mean |Delta h_l| / mean |h_l(0)| at the widest width", gt=0
    )

    def check(self):
        """Constraints between fields."""
        if len(set(self.widths)) < 2:
            raise ValueError(f"widths must hold at least two different widths to fit a slope; got {list(self.widths)}")
        if len(set(self.params)) != len(self.params):
            raise ValueError(f"params lists a parameterization twice: {list(self.params)}")

    def lr(self, name: str) -> float:
        return {"sp": self.lr_sp, "ntk": self.lr_ntk, "mup": self.lr_mup, "meanfield": self.lr_meanfield}[name]


def _task(cfg: Config) -> Task:
    """Gaussian inputs and the outputs of a fixed random two-layer ReLU teacher, centred and scaled to unit std."""
    rng = np.random.default_rng(cfg.seed)
    X = rng.standard_normal((cfg.n_items, cfg.d))
    W = rng.standard_normal((cfg.teacher_width, cfg.d)) / np.sqrt(cfg.d)
    a = rng.standard_normal(cfg.teacher_width) / np.sqrt(cfg.teacher_width)
    y = np.maximum(X @ W.T, 0.0) @ a
    y = (y - y.mean()) / y.std()
    return Task(X, y[:, None], name="relu-teacher")


def _parameterization(cfg: Config, name: str) -> _param.Parameterization:
    return _param.get(name, gamma0=cfg.gamma0) if name == "meanfield" else _param.get(name)


def _coordinates(cfg: Config, task: Task, name: str, m: int) -> pd.DataFrame:
    """The coordinate table of one parameterization at width ``m`` (:func:`learndyn.coord_check.coord_check`).

    Mean |h_l(0)|, |h_l(T)|, |h_l(T) - h_l(0)| for l = 1..L and f after ``cfg.steps`` GD steps, over seeds, items
    and units; the seeds of width ``m`` come from ``fold_in(key(cfg.seed), m)``.
    """
    par = _parameterization(cfg, name)
    return _cc.coord_check(
        par, task, [m], n_hidden=cfg.n_hidden, lr=cfg.lr(name), steps=cfg.steps, activation="relu", rule="gd",
        n_seeds=cfg.n_seeds, seed=cfg.seed,
    )  # fmt: skip


def _as_array(df: pd.DataFrame, layers) -> np.ndarray:
    """``(3, L + 1)``: the init / final / delta columns of a one-width table (or of its width exponents) per layer."""
    by_layer = df.set_index("layer") if "layer" in df.columns else df
    return by_layer.loc[layers, list(_cc.QUANTITIES)].to_numpy(dtype=float).T


def _theory(name: str, layer: int, n_hidden: int) -> float:
    """Predicted exponent of mean |Delta h_layer| (layer = n_hidden + 1: the output f)."""
    e1, eh, ef = THEORY_DELTA[name]
    return e1 if layer == 1 else ef if layer == n_hidden + 1 else eh


@experiment(
    "coord-check",
    Config,
    quick={"widths": (64, 128, 256), "n_seeds": 16},
    description="Coordinate check: how pre-activation updates scale with width under SP, NTK, muP and mean-field "
    "(Yang & Hu 2021; Hajjar, Chizat & Giraud 2024).",
)
def run(cfg: Config) -> Outcome:
    """Train each parameterization at each width for a few GD steps and fit the width exponents of |Delta h_l|."""
    out = Outcome()
    task = _task(cfg)
    widths = np.asarray(sorted(set(cfg.widths)))
    L = cfg.n_hidden
    layers = _cc.layer_names(L)
    table = np.zeros((len(cfg.params), len(widths), 3, L + 1))
    frames = {name: [] for name in cfg.params}
    jobs = [(i, j, name, int(m)) for i, name in enumerate(cfg.params) for j, m in enumerate(widths)]
    for i, j, name, m in track(jobs, "coord-check: parameterizations x widths"):
        frames[name].append(_coordinates(cfg, task, name, m))
        table[i, j] = _as_array(frames[name][-1], layers)

    # (param, quantity, layer): log-log slope against the width of every column of the coordinate table
    slopes = np.stack(
        [_as_array(_cc.width_exponents(pd.concat(frames[name], ignore_index=True)), layers) for name in cfg.params]
    )
    theory = np.asarray([[_theory(name, k + 1, L) for k in range(L + 1)] for name in cfg.params])
    theory0 = np.asarray([[0.0] * L + [THEORY_F0[name]] for name in cfg.params])

    dims = ("param", "width", "layer")
    ds = xr.Dataset(
        coords={"param": list(cfg.params), "width": widths, "layer": layers},
        attrs={"steps": cfg.steps, "n_seeds": cfg.n_seeds, "n_items": cfg.n_items, "d": cfg.d, "activation": "relu"},
    )
    for q, (var, long_name) in enumerate(
        (
            ("coord_init", "mean |h_l| (|f| for layer f) at initialisation"),
            ("coord_final", "mean |h_l| (|f| for layer f) after training"),
            ("coord_delta", "mean |h_l(T) - h_l(0)| (|Delta f| for layer f)"),
        )
    ):
        ds[var] = (dims, table[:, :, q, :])
        ds[var].attrs.update(long_name=long_name, units="1")
    ds["lr"] = (("param",), [cfg.lr(name) for name in cfg.params])
    ds["lr"].attrs.update(long_name="base learning rate (t = lr * step)", units="1")
    out.data["coordinates"] = ds

    sl = xr.Dataset(coords={"param": list(cfg.params), "layer": layers})
    for q, var in enumerate(("slope_init", "slope_final", "slope_delta")):
        sl[var] = (("param", "layer"), slopes[:, q, :])
        sl[var].attrs.update(
            long_name=f"log-log slope of {var.removeprefix('slope_')} coordinate size vs width", units="1"
        )
    sl["theory_delta"] = (("param", "layer"), theory)
    sl["theory_delta"].attrs.update(long_name="predicted width exponent of mean |Delta h_l|", units="1")
    sl["theory_init"] = (("param", "layer"), theory0)
    sl["theory_init"].attrs.update(long_name="predicted width exponent of mean |h_l(0)|", units="1")
    out.data["slopes"] = sl

    names = _checks(cfg, out, widths, table, slopes)
    _figure(cfg, out, widths, table, slopes, theory, layers, names)
    return out


def _checks(cfg: Config, out: Outcome, widths, table, slopes) -> list[str]:
    L = cfg.n_hidden
    span = f"widths {widths[0]}-{widths[-1]}, {cfg.steps} GD steps"
    names = []
    for i, name in enumerate(cfg.params):
        d_h, d_f, init = slopes[i, 2, :L], slopes[i, 2, L], slopes[i, 0, :L]
        key = name.replace("-", "_")
        lr = cfg.lr(name)
        names.append(f"{key}_init_slope")
        out.check(
            names[-1],
            float(np.max(np.abs(init))),
            "<=",
            cfg.slope_tol,
            f"{name}: largest |log-log slope| of mean |h_l(0)| over the hidden layers ({span}); every preset keeps "
            "the pre-activations O(1) at initialisation (predicted exponent 0)",
        )
        names.append(f"{key}_f0_slope")
        out.check(
            names[-1],
            float(abs(slopes[i, 0, L] - THEORY_F0[name])),
            "<=",
            cfg.slope_tol,
            f"{name}: |slope of mean |f(0)| - predicted {THEORY_F0[name]:+g}| ({span}); the output starts O(1) "
            "(SP, NTK) or O(m^-1/2) (muP, mean-field: the readout multiplier is m^-1/2 smaller than the fan-in one)",
        )
        if name in ("mup", "meanfield"):
            names.append(f"{key}_dh_slope")
            out.check(
                names[-1],
                float(np.max(np.abs(d_h))),
                "<=",
                cfg.slope_tol,
                f"{name} (lr = {lr:g}): largest |slope| of mean |Delta h_l| over the {L} hidden layers ({span}); "
                "predicted exponent 0 (every coordinate moves by O(1)), tolerance for finite-width corrections",
            )
            names.append(f"{key}_df_slope")
            out.check(
                names[-1],
                float(abs(d_f)),
                "<=",
                cfg.slope_tol,
                f"{name}: |slope| of mean |Delta f| ({span}); predicted exponent 0",
            )
            rel = table[i, -1, 2, :L] / table[i, -1, 0, :L]
            names.append(f"{key}_feature_learning")
            out.check(
                names[-1],
                float(rel.min()),
                ">=",
                cfg.min_relative_change,
                f"{name}: smallest mean |Delta h_l| / mean |h_l(0)| over the hidden layers at the widest width m = "
                f"{widths[-1]} after t = {lr * cfg.steps:g}: features move by a width-independent fraction "
                "(feature learning does not vanish)",
            )
        elif name == "ntk":
            names.append("ntk_dh_slope")
            out.check(
                names[-1],
                float(np.max(d_h)),
                "<=",
                -0.3,
                f"ntk (lr = {lr:g}): largest slope of mean |Delta h_l| over the {L} hidden layers ({span}); "
                "predicted -1/2 (lazy: the features freeze as m grows), accepted <= -0.3",
            )
            names.append("ntk_df_slope")
            out.check(
                names[-1],
                float(abs(d_f)),
                "<=",
                cfg.slope_tol,
                f"ntk: |slope| of mean |Delta f| ({span}); predicted 0 (the function still learns at O(1) speed)",
            )
        elif name == "sp":
            names.append("sp_dh_slope")
            out.check(
                names[-1],
                float(np.min(d_h[1:])),
                ">=",
                0.3,
                f"sp (width-independent lr = {lr:g}): smallest slope of mean |Delta h_l| over hidden layers l = 2.."
                f"{L} ({span}); predicted +1/2 (updates blow up with width), accepted >= 0.3",
            )
            names.append("sp_df_slope")
            out.check(
                names[-1],
                float(d_f),
                ">=",
                0.7,
                f"sp: slope of mean |Delta f| ({span}); predicted +1 (the output moves by lr * m per step, so a "
                "width-independent lr diverges at m ~ 1/lr), accepted >= 0.7",
            )
    return names


def _figure(cfg: Config, out: Outcome, widths, table, slopes, theory, layers, names):
    n = len(cfg.params)
    fig, axes = plots.figure(n, 1, width=3.6)
    colors = plots.plt.cm.viridis(np.linspace(0.0, 0.85, len(layers)))
    for i, name in enumerate(cfg.params):
        ax = axes[0, i]
        for k, layer in enumerate(layers):
            y = table[i, :, 2, k]
            ax.plot(
                widths,
                y,
                marker="o",
                color=colors[k],
                label=f"{layer}: slope {slopes[i, 2, k]:+.2f} (theory {theory[i, k]:+.1f})",
                **plots.SIM,
            )
            ref = y[0] * (widths / widths[0]) ** theory[i, k]
            ax.plot(widths, ref, color=colors[k], linestyle=":", linewidth=1.0)
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="width m",
            ylabel="mean |Delta h_l|, |Delta f|",
            title=f"{name} (lr = {cfg.lr(name):g})",
        )
        lo, hi = table[i, :, 2, :].min(), table[i, :, 2, :].max()
        ax.set_ylim(lo / 3, hi * 30)  # room for the legend above the curves
        ax.legend(frameon=False, fontsize=7, loc="upper left")
    fig.tight_layout()
    out.figure(
        "coord_check",
        fig,
        f"Coordinate check of a ReLU MLP {cfg.d}-m-...-m-1 ({cfg.n_hidden} hidden layers) after {cfg.steps} "
        f"full-batch GD steps on {cfg.n_items} items, mean over items, neurons and {cfg.n_seeds} seeds: the mean "
        "change |Delta h_l| of each hidden layer's pre-activations and of the output against the width (log-log), one "
        "panel per parameterization, with the fitted slope and the predicted exponent in the legend (dotted: the "
        "prediction through the first point). muP and mean-field move every coordinate by a width-independent "
        "amount, NTK's features freeze as m^(-1/2), and SP's hidden updates and output update grow with width, as "
        "m^(1/2) and m.",
        checks=names,
    )
