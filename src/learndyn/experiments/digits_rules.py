"""digits-rules: learning rules on a wide two-hidden-layer ReLU net trained on handwritten digits.

Bordelon & Pehlevan 2023 ("The influence of learning rule on representation dynamics in wide neural networks",
ICLR, arXiv 2210.02157; the naturalistic experiment), with feedback alignment (Lillicrap et al. 2016) and direct
feedback alignment (Nøkland 2016). A ``64 -> N -> N -> 10`` ReLU net in muP (``param.get("mup")``: the net from
``par.mlp``, the initial weights from ``par.init``, per-layer learning-rate scales from ``simulate(..., param=par)``)
is trained on scikit-learn's digits (1348 training items, 449 test items, standardized pixels, one-hot targets, the
library's MSE loss ``1/(2P) sum ||y - f||^2``), full batch (or minibatch SGD with ``batch_size``), from the same
initial weights, by

- GD (back-propagation), rho-FA with rho = 0 and 0.5 (frozen feedback ``B = rho W(0)^T + sqrt(1-rho^2) W~^T``),
  DFA, sign-FA, and the error-modulated Hebbian rule (readout: delta rule);
- a gated linear network (GLN): the same widths, muP multipliers and initial weights, with frozen random ReLU gates
  ``phi'(M_l x / sqrt(64))`` in place of the ReLUs, trained by GD. ``param`` has no GLN of its own; the GLN reuses the
  ReLU net's muP multipliers, init (variance factor 2: a 0/1 gate halves the second moment like a ReLU does) and
  learning-rate scales, which is exactly muP for it.

Hebb's hidden update is ``s ||e||^2 phi_l phi_{l-1}^T`` with ``s`` the per-unit size of a true backward signal
(:class:`learndyn.rules.Hebb`). With two hidden ReLU layers its flow is still unstable at the full muP rate: the
growth of ``phi_1`` raises the feature kernel that drives the next layer's growth, and the loss blows up in finite
time (at t ~ 6 for N = 128 and lr = 1, t ~ 44 at a tenth of the hidden rate; measured). With one hidden layer the
input kernel is fixed and the same rule converges. Its hidden layers therefore learn at ``hebb_hidden_scale`` (0.01)
times the muP rate (the readout at the full rate), which stays finite over the run; Hebb's accuracy is reported, no
claim is made for it.

Recorded for every rule, at the same times: training loss, test accuracy (argmax of ``f`` against the labels), and
on ``n_kernel_items`` training items the rule's eNTK-task alignment ``A(K, y y^T)`` and ``corr(g, g~)`` per hidden
layer (``Simulation.trajectory(..., rule_kernels=True)`` on a sub-task of those items).

Checks: GD, FA(rho = 0) and DFA reach >= 0.90 test accuracy; FA(rho = 0)'s ``corr(g, g~)`` starts near 0
(``|corr| <= 0.2`` at t = 0, every hidden layer) and grows (every hidden layer: end >= start + ``fa_corr_growth``);
GD's and the GLN's ``corr(g, g~)`` are 1 to 1e-10 (sanity: their pseudo-gradient is the gradient).

Quick mode: N = 128 and 200 steps at lr = 1 (t = 200) instead of N = 256 and 500 steps; every check is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from learndyn import datasets, nets, observables, param, plots, rules, train
from learndyn.experiments.config import ExperimentConfig, option
from learndyn.experiments.registry import experiment
from learndyn.progress import track
from learndyn.results import Outcome
from learndyn.tasks import Task


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Configuration of digits-rules (defaults: the full run)."""

    seed: int = option(0, "seed of the data split, the initial weights, the feedback matrices and the gates", ge=0)
    width: int = option(256, "hidden width N of the 64-N-N-10 ReLU net", ge=8)
    lr: float = option(1.0, "learning rate (muP: layer l moves by lr * scale_l * update_l); time t = lr * step", gt=0)
    steps: int = option(500, "training steps of every rule", ge=10)
    batch_size: int = option(0, "minibatch size of SGD; 0: full batch", ge=0)
    rhos: tuple[float, ...] = option((0.0, 0.5), "rho of the rho-FA runs (0: classic FA)", ge=0, le=1)
    hebb_hidden_scale: float = option(
        1e-2, "Hebb: learning-rate factor of the hidden layers (the readout learns at the full rate)", gt=0, le=1
    )
    n_kernel_items: int = option(100, "training items on which the eNTK and corr(g, g~) are evaluated", ge=10)
    n_records: int = option(25, "records per run (t = 0 and log-spaced steps)", ge=5)
    min_accuracy: float = option(0.9, "test accuracy GD, FA(rho=0) and DFA must reach at the end", gt=0, le=1)
    fa_corr_start: float = option(0.2, "FA(rho=0): largest |corr(g, g~)| allowed at t = 0", gt=0, le=1)
    fa_corr_growth: float = option(0.1, "FA(rho=0): least growth of corr(g, g~) in every hidden layer", gt=0)

    def check(self):
        """Constraints between fields."""
        if self.batch_size > 1348:
            raise ValueError(f"batch_size={self.batch_size} must be <= 1348, the digits training items (0: full batch)")
        if self.n_kernel_items > 1348:
            raise ValueError(f"n_kernel_items={self.n_kernel_items} must be <= 1348, the digits training items")
        if 0.0 not in self.rhos:
            raise ValueError(f"rhos must contain 0 (classic FA, which the checks are about); got {list(self.rhos)}")
        if len(set(self.rhos)) != len(self.rhos):
            raise ValueError(f"rhos lists a value twice: {list(self.rhos)}")


class _Scaled:
    """A parameterization whose per-layer learning-rate scales are multiplied by fixed factors (Hebb's hidden rate)."""

    def __init__(self, par, factors):
        self.par, self.factors = par, tuple(factors)
        self.name = f"{par.name} x {self.factors}"
        self.warmup_steps = int(getattr(par, "warmup_steps", 0))

    def lr_tree(self, sizes, step: int = 0) -> dict:
        tree = self.par.lr_tree(sizes, step)
        return {k: tuple(s * f for s, f in zip(v, self.factors, strict=True)) for k, v in tree.items()}


def _times(cfg: Config) -> np.ndarray:
    """t = 0 and log-spaced distinct steps up to ``steps``, as times ``lr * step``."""
    k = np.unique(np.round(np.geomspace(1, cfg.steps, cfg.n_records - 1)).astype(int))
    return cfg.lr * np.concatenate([[0], k]).astype(np.float64)


def _runs(cfg: Config, net, gln):
    """(label, display name, net, rule, parameterization factor or None) of every run."""
    out = [("gd", "GD", net, rules.GD(net), None)]
    for rho in cfg.rhos:
        out.append((f"fa_rho{rho:g}", f"FA (rho = {rho:g})", net, rules.FA(net, rho=rho), None))
    out += [
        ("dfa", "DFA", net, rules.DFA(net), None),
        ("sign-fa", "sign-FA", net, rules.SignFA(net), None),
        ("hebb", "Hebb", net, rules.Hebb(net), cfg.hebb_hidden_scale),
        ("gln", "GLN (GD)", gln, rules.GD(gln), None),
    ]
    return out


def _accuracy(net, params, X, labels) -> np.ndarray:
    """Fraction of items whose argmax output is their label, at every record."""
    f = jax.vmap(lambda p: net.apply(p, jnp.asarray(X))[0])(jax.tree_util.tree_map(jnp.asarray, params))
    return np.mean(np.argmax(np.asarray(f), axis=-1) == labels, axis=-1)


@experiment(
    "digits-rules",
    Config,
    quick={"width": 128, "steps": 200, "n_records": 10},
    description="GD, rho-FA, DFA, sign-FA, Hebb and a GLN on a muP two-hidden-layer ReLU net trained on digits: test "
    "accuracy, eNTK-task alignment and corr(g, g~) over time (Bordelon & Pehlevan 2023).",
)
def run(cfg: Config) -> Outcome:
    """Train every rule from the same muP initialisation and record accuracy, kernel alignment and corr(g, g~)."""
    out = Outcome()
    task = datasets.digits(seed=cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    sub = np.sort(rng.choice(task.P, cfg.n_kernel_items, replace=False))
    kernel_task = Task(task.X[sub], task.Y[sub], name="digits kernel items")
    labels_test, labels_train = np.argmax(task.Y_test, axis=1), np.argmax(task.Y, axis=1)

    par = param.get("mup")
    sizes = (task.X.shape[1], cfg.width, cfg.width, task.Y.shape[1])
    net = par.mlp(sizes, "relu")
    gln = nets.GLN(sizes, "relu", multipliers=par.multipliers(sizes), gate_seed=cfg.seed + 1)
    p0 = par.init(jax.random.key(cfg.seed), sizes, "relu")
    t = _times(cfg)
    batch = cfg.batch_size or None

    labels, names, cols = [], [], {k: [] for k in ("loss", "test_accuracy", "train_accuracy", "align", "corr")}
    for label, name, n, rule, hebb in track(_runs(cfg, net, gln), "digits-rules: rules"):
        p = par if hebb is None else _Scaled(par, (hebb,) * (len(sizes) - 2) + (1.0,))
        sim = train.simulate(n, rule, task, p0, lr=cfg.lr, t=t, key=cfg.seed + 2, param=p, batch_size=batch)
        ds = sim.trajectory(kernel_task, rule_kernels=True, ntk=False, rsm=False)
        labels.append(label)
        names.append(name)
        cols["loss"].append(sim.loss)
        cols["test_accuracy"].append(_accuracy(n, sim.params, task.X_test, labels_test))
        cols["train_accuracy"].append(_accuracy(n, sim.params, task.X, labels_train))
        cols["align"].append(ds["entk_task_alignment"].values)
        cols["corr"].append(ds["grad_corr"].values)

    data = xr.Dataset(
        {
            "loss": (("rule", "t"), np.stack(cols["loss"])),
            "test_accuracy": (("rule", "t"), np.stack(cols["test_accuracy"])),
            "train_accuracy": (("rule", "t"), np.stack(cols["train_accuracy"])),
            "entk_task_alignment": (("rule", "t"), np.stack(cols["align"])),
            "grad_corr": (("rule", "t", "layer"), np.stack(cols["corr"])),
        },
        coords={"rule": labels, "t": t, "layer": np.arange(1, len(sizes) - 1), "rule_name": ("rule", names)},
        attrs={
            "parameterization": "mup",
            "sizes": list(sizes),
            "lr": cfg.lr,
            "steps": cfg.steps,
            "batch_size": cfg.batch_size,
            "hebb_hidden_scale": cfg.hebb_hidden_scale,
            "n_kernel_items": cfg.n_kernel_items,
        },
    )
    data["test_accuracy"].attrs.update(long_name="test accuracy (argmax of f vs label, 449 items)", units="1")
    data["train_accuracy"].attrs.update(long_name="training accuracy (argmax of f vs label)", units="1")
    data["layer"].attrs.update(long_name="hidden layer (1: first)", units="1")
    out.data["rules"] = observables.describe_variables(data)

    acc_names = []
    for label in ("gd", "fa_rho0", "dfa"):
        name = f"{label}_test_accuracy"
        acc_names.append(name)
        out.check(
            name,
            float(data["test_accuracy"].sel(rule=label)[-1]),
            ">=",
            cfg.min_accuracy,
            f"{label} test accuracy at t = {t[-1]:g} (64-{cfg.width}-{cfg.width}-10 ReLU, muP, lr = {cfg.lr:g})",
        )
    corr_fa = data["grad_corr"].sel(rule="fa_rho0").values
    corr_names = ["fa_corr_start", "fa_corr_growth", "gd_corr_is_one", "gln_corr_is_one"]
    out.check(
        corr_names[0],
        float(np.max(np.abs(corr_fa[0]))),
        "<=",
        cfg.fa_corr_start,
        "FA(rho=0): max over hidden layers of |corr(g, g~)| at t = 0 (random feedback)",
    )
    out.check(
        corr_names[1],
        float(np.min(corr_fa[-1] - corr_fa[0])),
        ">=",
        cfg.fa_corr_growth,
        "FA(rho=0): least growth over the hidden layers of corr(g, g~) from t = 0 to the end (alignment)",
    )
    for name, label in zip(corr_names[2:], ("gd", "gln"), strict=True):
        out.check(
            name,
            float(np.max(np.abs(data["grad_corr"].sel(rule=label).values - 1.0))),
            "<=",
            1e-10,
            f"{label}: max over records and layers of |corr(g, g~) - 1| (its pseudo-gradient is the gradient)",
        )

    colors = plots.plt.cm.tab10(np.arange(len(labels)))
    keep = t > 0
    hebb_end = float(data["test_accuracy"].sel(rule="hebb")[-1])
    setup = (
        f"64-{cfg.width}-{cfg.width}-10 ReLU net in muP on digits ({task.P} training items, "
        f"{'full batch' if batch is None else f'minibatch {batch}'}, lr = {cfg.lr:g}, {cfg.steps} steps, same init)"
    )

    fig, axes = plots.figure(2, 1, width=4.6)
    for j, label in enumerate(labels):
        style = {"linestyle": "--"} if label == "gln" else {}
        axes[0, 0].plot(t[keep], data["test_accuracy"].sel(rule=label)[keep], color=colors[j], label=names[j], **style)
        axes[0, 1].plot(t[keep], data["loss"].sel(rule=label)[keep], color=colors[j], label=names[j], **style)
    axes[0, 0].axhline(cfg.min_accuracy, color="0.5", linestyle=":", label=f"check: {cfg.min_accuracy:g}")
    axes[0, 0].set(xscale="log", xlabel=plots.TIME_LABEL, ylabel="test accuracy", title="test accuracy")
    axes[0, 1].set(xscale="log", yscale="log", xlabel=plots.TIME_LABEL, ylabel="training loss", title="training loss")
    axes[0, 0].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    out.figure(
        "accuracy",
        fig,
        f"Test accuracy (left) and training MSE loss (right) against time for every rule on a {setup}; the GLN "
        "(dashed) is a gated linear net with frozen random ReLU gates trained by GD. GD, FA (rho = 0) and DFA end "
        f"above the dotted {cfg.min_accuracy:g} line. Hebb's hidden layers learn at {cfg.hebb_hidden_scale:g} times "
        f"the muP rate (with two hidden ReLU layers the Hebbian flow blows up in finite time at the full rate; test "
        f"accuracy {hebb_end:.3f} at the end); no claim is made for it.",
        checks=acc_names,
    )

    fig, axes = plots.figure(len(sizes) - 2, 1, width=4.2)
    for li in range(len(sizes) - 2):
        ax = axes[0, li]
        for j, label in enumerate(labels):
            style = {"linestyle": "--"} if label == "gln" else {}
            ax.plot(t[keep], data["grad_corr"].sel(rule=label)[keep, li], color=colors[j], label=names[j], **style)
        ax.set(
            xscale="log",
            ylim=(-0.25, 1.05),
            xlabel=plots.TIME_LABEL,
            ylabel="corr(g, g~)",
            title=f"hidden layer {li + 1}",
        )
    axes[0, -1].legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    out.figure(
        "grad_corr",
        fig,
        f"Correlation corr(g, g~) of the true backward signal g and each rule's pseudo-backward signal g~ per "
        f"hidden layer, on {cfg.n_kernel_items} training items, against time ({setup}; t = 0 not shown on the log "
        "axis, its values are in the data). GD and the GLN stay at 1; FA (rho = 0) starts near 0 with random feedback "
        "and grows as the forward weights align with the feedback, fastest in the top hidden layer; rho = 0.5 starts "
        "partly aligned.",
        checks=corr_names,
    )

    fig, axes = plots.figure(1, 1, width=5.0)
    ax = axes[0, 0]
    for j, label in enumerate(labels):
        style = {"linestyle": "--"} if label == "gln" else {}
        ax.plot(t[keep], data["entk_task_alignment"].sel(rule=label)[keep], color=colors[j], label=names[j], **style)
    ax.set(xscale="log", xlabel=plots.TIME_LABEL, ylabel="A(K, y y^T)", title="eNTK-task alignment")
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    out.figure(
        "entk_alignment",
        fig,
        f"Alignment A(K, y y^T) = <K, y y^T> / (||K|| ||y y^T||) of each rule's effective NTK K (the kernel by which "
        f"the outputs move under that rule) with the one-hot targets, on {cfg.n_kernel_items} training items, "
        f"against time ({setup}). The alignment rises from its initial value under every rule; the kernel is not "
        "symmetric for FA, DFA and sign-FA (used as is), and Hebb's depends on the current error.",
    )
    return out
