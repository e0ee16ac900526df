"""fa-conservation: the conservation law of feedback alignment, its exact discrete drift, and minimum-norm solutions.

Robertson & Koyejo 2024 ("Implicit regularization in feedback alignment learning mechanisms for neural networks",
ICML; v1: "Layer-wise feedback alignment is conserved in deep neural networks", 2023). For a net with a positively
homogeneous activation (ReLU, leaky ReLU, linear) trained by feedback alignment (Lillicrap et al. 2016) with frozen
feedback ``B_{l+1}`` (shape ``(n_l, n_{l+1})``), every hidden neuron ``i`` of layer ``l`` conserves

    C_{l,i} = ||W_l[i,:]||^2 - 2 <B_{l+1}[i,:], W_{l+1}[:,i]>

under gradient flow (the full matrix ``W_l W_l^T - B W_{l+1} - W_{l+1}^T B^T`` for linear nets). Under Euler steps
with learning rate ``lr`` the drift is exactly ``lr^2 sum_t diag(G_l G_l^T)``, for any batch. So per-neuron
alignment ``<B[i,:], W[:,i]>`` grows with the incoming weights: from a small initialisation every neuron ends
non-negatively aligned. Back-propagation instead conserves the balancedness ``diag(W_l W_l^T - W_{l+1}^T W_{l+1})``.

Four parts, each with quantitative checks:

1. Exact identity. A 20-64-64-5 net (ReLU, and linear with the full-matrix identity), N = 256 Gaussian items and
   Gaussian targets, full batch (the identity holds for any batch; the simulator is full-batch). Initial weights are
   0.1 times the net's default LeCun init (``W_l ~ N(0, 0.01 / n_{l-1})``), and ``B_{l+1} ~ N(0, 1 / n_{l+1})``.
   After 2000 steps at lr = 1e-2, ``C_l(t) - C_l(0) - lr^2 sum diag(G G^T)`` is round-off (checked <= 1e-12
   relative to the largest ``||W_l[i,:]||^2``).
2. Conservation at small lr. The same ReLU net at lr = 1e-3 for 2e4 steps: the conserved quantities move by
   < 1% of ``max diag(W_l W_l^T)`` while ``W_1`` moves by several times its initial norm, and every hidden neuron
   ends with ``<B[i,:], W[:,i]> >= 0``.
3. Back-propagation contrast. GD from the same initialisation: ``C_l`` with ``B := W_{l+1}(t)^T`` (the feedback
   back-propagation uses) is not conserved, GD's balancedness is.
4. Minimum norm. A two-layer linear net ``d = 50 -> k = 200 -> c = 3`` on ``n = 20`` items (inputs ``N(0, 1/d)``
   entries, Gaussian targets), from ``W_1 = W_2 = 0`` with ``B ~ N(0, 1/c)``, full-batch FA at lr = 0.05 for 2e5
   steps. At zero init the readout's gradient vanishes (its input ``W_1 x`` is 0): the FA update of ``W_1``,
   ``B (f - y)^T X / n``, starts the motion, so ``W_1 = B K`` with the rows of ``K`` in the data span. The net
   interpolates and its map ``beta = W_2 W_1`` is the minimum-norm interpolant ``(X^+ Y)^T``; ``sym(W_2 B)`` is
   positive definite at the end.

Quick mode (about 25 s on 2 cores; the full run about 40 s) keeps every setup and check but runs parts 2 and 3 for
1.2e4 steps (t = 12) instead of 2e4 (t = 20; every neuron is aligned from t ~ 9 on with the default seed), part 4 for
1e4 steps instead of 2e5 (the loss reaches round-off, ~1e-30, by about 7000 steps), and records 40 instead of 60 times
per run.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from learndyn import alignment, nets, observables, plots, rules, train
from learndyn.experiments.config import ExperimentConfig, option
from learndyn.experiments.registry import experiment
from learndyn.progress import track
from learndyn.results import Outcome
from learndyn.tasks import Task

_HOMOGENEOUS = ("relu", "leaky_relu", "linear")


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Configuration of fa-conservation (defaults: the acceptance setups for Robertson & Koyejo 2024)."""

    seed: int = option(0, "seed of the data, the initial weights and the feedback matrices", ge=0)
    widths: tuple[int, ...] = option((20, 64, 64, 5), "layer widths n_0 (input), hidden widths, n_L (output)", ge=1)
    n_items: int = option(256, "number of Gaussian training items of parts 1-3", ge=1)
    init_scale: float = option(0.1, "initial weights: this times the LeCun init, W_l ~ N(0, scale^2 / n_{l-1})", gt=0)
    bias: bool = option(False, "give every layer a bias (enters C_l through the augmented [W_l | b_l])")
    identity_activations: tuple[str, ...] = option(
        ("relu", "linear"),
        "activations of the exact-identity runs (linear: full-matrix identity)",
        choices=_HOMOGENEOUS,
    )
    identity_lr: float = option(1e-2, "learning rate of the exact-identity runs", gt=0)
    identity_steps: int = option(2000, "steps of the exact-identity runs", ge=1)
    activation: str = option("relu", "activation of the small-lr FA and GD runs", choices=("relu", "leaky_relu"))
    small_lr: float = option(1e-3, "learning rate of the small-lr conservation and GD-contrast runs", gt=0)
    small_steps: int = option(20_000, "steps of the small-lr conservation and GD-contrast runs", ge=1)
    mn_d: int = option(50, "minimum-norm part: input dimension d (> mn_n: under-determined)", ge=2)
    mn_n: int = option(20, "minimum-norm part: number of items n", ge=1)
    mn_k: int = option(200, "minimum-norm part: hidden width k", ge=1)
    mn_c: int = option(3, "minimum-norm part: output dimension c", ge=1)
    mn_lr: float = option(0.05, "minimum-norm part: FA learning rate", gt=0)
    mn_steps: int = option(200_000, "minimum-norm part: FA steps from zero init", ge=1)
    n_records: int = option(60, "log-spaced records per run", ge=2)

    def check(self):
        """Constraints between fields."""
        if len(self.widths) < 3:
            raise ValueError(f"widths must have at least one hidden layer (3 entries); got {list(self.widths)}")
        if self.mn_d <= self.mn_n:
            raise ValueError(
                f"mn_d={self.mn_d} must be > mn_n={self.mn_n}: the minimum-norm interpolant is unique and differs "
                "from other interpolants only for under-determined regression"
            )
        if self.mn_k < self.mn_c:
            raise ValueError(f"mn_k={self.mn_k} must be >= mn_c={self.mn_c} so that sym(W_2 B) can be definite")
        if len(set(self.identity_activations)) != len(self.identity_activations):
            raise ValueError(f"identity_activations lists an activation twice: {list(self.identity_activations)}")


def _feedback(rng, sizes):
    """``B_{l+1} ~ N(0, 1 / n_{l+1})`` of shape ``(n_l, n_{l+1})`` for every hidden layer."""
    return tuple(
        jnp.asarray(rng.standard_normal((a, b)) / np.sqrt(b)) for a, b in zip(sizes[1:-1], sizes[2:], strict=True)
    )


def _sq_row_norms(params, l):
    """``diag([W_l | b_l][W_l | b_l]^T)`` over the records, shape (T, n_l)."""
    W = np.asarray(params["W"][l])
    out = np.sum(W * W, axis=-1)
    if "b" in params:
        out = out + np.asarray(params["b"][l]) ** 2
    return out


def _alignments(net, sim, task, B):
    """Per-record alignment metrics of an FA run: dict of arrays with a leading record axis."""
    X, Y = jnp.asarray(task.X), jnp.asarray(task.Y)
    fa, gd = rules.FA(net), rules.GD(net)

    def at(p):
        f, cache = net.apply(p, X)
        deltas = fa.deltas(p, cache, f - Y, {"B": B})
        up_fa, _ = fa.update(p, cache, deltas[-1], {"B": B})
        up_gd, _ = gd.update(p, cache, deltas[-1], {})
        return deltas, cache, up_fa["W"], up_gd["W"]

    deltas, cache, up_fa, up_gd = jax.vmap(at)(jax.tree_util.tree_map(jnp.asarray, sim.params))
    W = sim.params["W"]
    out = {}
    for l in range(net.depth - 1):
        W_next, Bl = W[l + 1], np.asarray(B[l])
        out[f"weight_alignment_{l + 1}"] = alignment.weight_alignment(W_next, Bl)
        out[f"neuron_alignment_{l + 1}"] = alignment.neuron_alignment(W_next, Bl)
        out[f"aligned_fraction_{l + 1}"] = alignment.aligned_fraction(W_next, Bl)
        out[f"signal_alignment_{l + 1}"] = alignment.signal_alignment(
            W_next, Bl, np.asarray(deltas[l + 1]), dphi=np.asarray(net.dphi(cache["h"][l]))
        )
        out[f"update_alignment_{l + 1}"] = alignment.update_alignment(np.asarray(up_fa[l]), np.asarray(up_gd[l]))
    return out


def _dataset(t, data: dict, attrs=None) -> xr.Dataset:
    """A Dataset on the record times with per-layer vectors on their own neuron axes."""
    coords = {"t": np.asarray(t, dtype=np.float64)}
    ds = xr.Dataset(coords=coords, attrs=dict(attrs or {}))
    for name, (dims, values, long_name, units) in data.items():
        ds[name] = (dims, np.asarray(values))
        ds[name].attrs.update(long_name=long_name, units=units)
    return observables.describe_variables(ds)


def _identity_part(cfg: Config, task: Task, rng, out: Outcome):
    """Part 1: the discrete identity C_l(T) - C_l(0) = lr^2 sum G G^T for each activation."""
    sizes = tuple(cfg.widths)
    B = _feedback(rng, sizes)
    t = train.log_times(cfg.identity_lr, cfg.identity_lr * cfg.identity_steps, cfg.n_records, step=cfg.identity_lr)
    names, results = [], {}
    for act in track(cfg.identity_activations, "fa-conservation: exact identity"):
        net = nets.MLP(sizes, act, bias=cfg.bias)
        p0 = net.init(jax.random.key(cfg.seed), scale=cfg.init_scale)
        sim = train.simulate(net, rules.FA(net), task, p0, lr=cfg.identity_lr, t=t, state={"B": B}, drift=True)
        full = act == "linear"
        C = observables.fa_conserved(sim.params, B, full=full)
        data = {"loss": (("t",), sim.loss, "training loss", "squared target units")}
        residuals, drifts = [], []
        for l in range(net.depth - 1):
            drift = sim.drift[l] if full else np.diagonal(sim.drift[l], axis1=-2, axis2=-1)
            dC = C[l] - C[l][:1]
            res = np.abs(dC - drift)
            scale = float(np.max(_sq_row_norms(sim.params, l)))
            axes = tuple(range(1, res.ndim))
            rel = np.max(res, axis=axes) / scale
            residuals.append(float(rel.max()))
            drifts.append(float(np.max(np.abs(drift)) / scale))
            data[f"dC_sum_{l + 1}"] = (
                ("t",),
                np.sum(np.diagonal(dC, axis1=-2, axis2=-1) if full else dC, axis=-1),
                f"sum over neurons of C_{l + 1}(t) - C_{l + 1}(0)",
                "squared weight units",
            )
            data[f"drift_sum_{l + 1}"] = (
                ("t",),
                np.trace(sim.drift[l], axis1=-2, axis2=-1),
                f"lr^2 sum_t tr(G_{l + 1} G_{l + 1}^T)",
                "squared weight units",
            )
            data[f"identity_residual_{l + 1}"] = (
                ("t",),
                rel,
                f"max |Delta C_{l + 1} - drift| / max ||W_l[i,:]||^2",
                "1",
            )
            name = f"identity_{act}_layer{l + 1}"
            names.append(name)
            what = "full matrix W W^T - B W' - W'^T B^T" if full else "per neuron"
            out.check(
                name,
                residuals[-1],
                "<=",
                1e-12,
                f"{act} {'-'.join(map(str, sizes))}, lr = {cfg.identity_lr:g}, {cfg.identity_steps} steps: "
                f"max_t |C(t) - C(0) - lr^2 sum GG^T| ({what}) relative to max ||W_{l + 1}[i,:]||^2",
            )
        name = f"identity_{act}_resolves_drift"
        names.append(name)
        out.check(
            name,
            max(residuals) / min(drifts),
            "<=",
            1e-8,
            "identity residual over the drift it accounts for (smallest layer): the O(lr^2) drift is resolved "
            "to at least 8 digits, so the identity is not trivially small",
        )
        out.data[f"identity/{act}"] = _dataset(sim.t, data, {"activation": act, "lr": cfg.identity_lr})
        results[act] = out.data[f"identity/{act}"]

    fig, axes = plots.figure(len(results), 2)
    for j, (act, ds) in enumerate(results.items()):
        tt = ds["t"].values
        keep = tt > 0
        colors = plots.plt.cm.viridis(np.linspace(0.0, 0.8, len(cfg.widths) - 2))
        ax = axes[0, j]
        for l in range(len(cfg.widths) - 2):
            ax.plot(
                tt[keep],
                ds[f"dC_sum_{l + 1}"].values[keep],
                color=colors[l],
                label=f"sum C_{l + 1}(t) - C(0)",
                **plots.SIM,
            )
            ax.plot(tt[keep], ds[f"drift_sum_{l + 1}"].values[keep], **plots.THEORY)
        ax.plot([], [], label="lr^2 sum tr(G G^T)", **plots.THEORY)
        ax.set(
            xscale="log",
            yscale="log",
            xlabel=plots.TIME_LABEL,
            ylabel="change of the conserved quantity",
            title=f"{act}: drift of C_l",
        )
        ax.legend(frameon=False, fontsize=8)
        ax = axes[1, j]
        for l in range(len(cfg.widths) - 2):
            r = ds[f"identity_residual_{l + 1}"].values[keep]
            ax.plot(tt[keep], np.maximum(r, 1e-18), color=colors[l], label=f"layer {l + 1}", **plots.SIM)
        ax.axhline(1e-12, color="0.5", linestyle=":", label="check: 1e-12")
        ax.set(
            xscale="log",
            yscale="log",
            xlabel=plots.TIME_LABEL,
            ylabel="|Delta C - drift| / max ||W[i,:]||^2",
            title=f"{act}: identity residual",
        )
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    out.figure(
        "identity",
        fig,
        f"Exact discrete conservation law of feedback alignment on a {'-'.join(map(str, cfg.widths))} net "
        f"({cfg.n_items} Gaussian items, full batch, lr = {cfg.identity_lr:g}, {cfg.identity_steps} steps, fixed "
        "random feedback B ~ N(0, 1/n_{l+1})); one column per activation. Top: the change of the conserved "
        "quantity summed over the hidden neurons, C_l(t) - C_l(0) with C_l = diag(W_l W_l^T) - 2 diag(B_{l+1} "
        "W_{l+1}) (coloured, solid; trace of the full matrix for the linear net), against the accumulated Euler "
        "drift lr^2 sum_t tr(G_l G_l^T) (black, dashed): the curves coincide, the only change is the O(lr^2) "
        "drift. Bottom: the largest per-entry residual |C_l(t) - C_l(0) - lr^2 sum G G^T| relative to the largest "
        "squared incoming row norm, at round-off (about 1e-15), far below the dotted 1e-12 threshold.",
        checks=names,
    )


def _rel_drift(Q, scale):
    """``max_i |Q_i(t) - Q_i(0)| / scale`` per record."""
    return np.max(np.abs(Q - Q[:1]), axis=-1) / scale


def _small_lr_part(cfg: Config, task: Task, rng, out: Outcome):
    """Parts 2 and 3: conservation at small lr under FA, and the GD contrast."""
    sizes = tuple(cfg.widths)
    B = _feedback(rng, sizes)
    net = nets.MLP(sizes, cfg.activation, bias=cfg.bias)
    p0 = net.init(jax.random.key(cfg.seed + 1), scale=cfg.init_scale)
    lr, steps = cfg.small_lr, cfg.small_steps
    t = train.log_times(lr, lr * steps, cfg.n_records, step=lr)
    fa_sim, gd_sim = (
        train.simulate(net, rule, task, p0, lr=lr, t=t, state=state)
        for rule, state in track([(rules.FA(net), {"B": B}), (rules.GD(net), {})], "fa-conservation: FA and GD")
    )
    hidden = range(net.depth - 1)
    scale_fa = [float(np.max(_sq_row_norms(fa_sim.params, l))) for l in hidden]
    scale_gd = [float(np.max(_sq_row_norms(gd_sim.params, l))) for l in hidden]
    C_fa = observables.fa_conserved(fa_sim.params, B)
    # back-propagation is FA with B := W_{l+1}(t)^T
    C_gd = observables.fa_conserved(gd_sim.params, [np.swapaxes(W, -1, -2) for W in gd_sim.params["W"][1:]])
    bal_gd = observables.gd_balancedness(gd_sim.params)
    W1 = np.asarray(fa_sim.params["W"][0])
    change = np.linalg.norm(W1 - W1[:1], axis=(-2, -1)) / np.linalg.norm(W1[0])
    al = _alignments(net, fa_sim, task, B)

    fa_data = {
        "loss": (("t",), fa_sim.loss, "training loss", "squared target units"),
        "weight_change_1": (("t",), change, "||W_1(t) - W_1(0)|| / ||W_1(0)||", "1"),
    }
    gd_data = {"loss": (("t",), gd_sim.loss, "training loss", "squared target units")}
    drift_checks, align_checks = [], []
    for l in hidden:
        n = f"n{l + 1}"
        rel = _rel_drift(C_fa[l], scale_fa[l])
        fa_data[f"fa_quantity_rel_drift_{l + 1}"] = (("t",), rel, f"max_i |Delta C_{l + 1},i| / max ||W[i,:]||^2", "1")
        for key in ("weight_alignment", "aligned_fraction", "signal_alignment", "update_alignment"):
            fa_data[f"{key}_{l + 1}"] = (("t",), al[f"{key}_{l + 1}"], f"{key.replace('_', ' ')}, layer {l + 1}", "1")
        fa_data[f"neuron_alignment_{l + 1}"] = (
            ("t", n),
            al[f"neuron_alignment_{l + 1}"],
            f"cos(B[i,:], W_{l + 2}[:,i]) per neuron of layer {l + 1}",
            "1",
        )
        rel_c_gd = _rel_drift(C_gd[l], scale_gd[l])
        rel_b_gd = _rel_drift(bal_gd[l], scale_gd[l])
        gd_data[f"fa_quantity_rel_drift_{l + 1}"] = (("t",), rel_c_gd, f"max_i |Delta C_{l + 1},i| with B = W^T", "1")
        gd_data[f"balancedness_rel_drift_{l + 1}"] = (("t",), rel_b_gd, f"max_i |Delta balancedness_{l + 1},i|", "1")
        drift_checks.append(f"small_lr_rel_drift_layer{l + 1}")
        out.check(
            drift_checks[-1],
            float(rel.max()),
            "<",
            1e-2,
            f"FA at lr = {lr:g}, {steps} steps: max_t max_i |C_{l + 1},i(t) - C_{l + 1},i(0)| / "
            f"max_t max_i ||W_{l + 1}[i,:]||^2",
        )
        align_checks.append(f"aligned_fraction_end_layer{l + 1}")
        out.check(
            align_checks[-1],
            float(al[f"aligned_fraction_{l + 1}"][-1]),
            ">=",
            1.0,
            f"fraction of neurons of layer {l + 1} with <B[i,:], W_{l + 2}[:,i]> >= 0 at the end of the FA run",
        )
        drift_checks.append(f"gd_balancedness_rel_drift_layer{l + 1}")
        out.check(
            drift_checks[-1],
            float(rel_b_gd.max()),
            "<",
            1e-2,
            f"GD, same init, lr and steps: balancedness diag(W_l W_l^T - W_l+1^T W_l+1) of layer {l + 1} "
            "is conserved (relative drift as for FA's C)",
        )
        drift_checks.append(f"gd_fa_quantity_over_balancedness_layer{l + 1}")
        out.check(
            drift_checks[-1],
            float(rel_c_gd.max() / rel_b_gd.max()),
            ">=",
            100.0,
            f"GD: relative drift of C_{l + 1} (with B = W_l+1(t)^T) over that of the balancedness; C is not "
            "GD's conserved quantity",
        )
    drift_checks.append("small_lr_weight_change_layer1")
    out.check(
        drift_checks[-1],
        float(change[-1]),
        ">=",
        1.0,
        "||W_1(T) - W_1(0)|| / ||W_1(0)|| of the FA run: the weights move by O(1) or more of their initial size "
        "while C is conserved",
    )
    sizes_txt = "-".join(map(str, sizes))
    out.data["small_lr/fa"] = _dataset(fa_sim.t, fa_data, {"rule": "fa", "lr": lr, "activation": cfg.activation})
    out.data["small_lr/gd"] = _dataset(gd_sim.t, gd_data, {"rule": "gd", "lr": lr, "activation": cfg.activation})

    colors = plots.plt.cm.viridis(np.linspace(0.0, 0.8, len(hidden)))
    fig, axes = plots.figure(2, 1, width=4.6)
    tt = fa_sim.t
    keep = tt > 0
    ax = axes[0, 0]
    for l in hidden:
        ax.plot(
            tt[keep],
            out.data["small_lr/fa"][f"fa_quantity_rel_drift_{l + 1}"].values[keep],
            color=colors[l],
            label=f"FA: C_{l + 1}",
            **plots.SIM,
        )
        ax.plot(
            tt[keep],
            out.data["small_lr/gd"][f"fa_quantity_rel_drift_{l + 1}"].values[keep],
            color=colors[l],
            linestyle="--",
            label=f"GD: C_{l + 1} (B = W^T)",
        )
        ax.plot(
            tt[keep],
            out.data["small_lr/gd"][f"balancedness_rel_drift_{l + 1}"].values[keep],
            color=colors[l],
            linestyle=":",
            label=f"GD: balancedness {l + 1}",
        )
    ax.axhline(1e-2, color="0.5", linewidth=0.8)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel=plots.TIME_LABEL,
        ylabel="max_i |Q_i(t) - Q_i(0)| / max ||W_l[i,:]||^2",
        title="relative drift of conserved quantities",
    )
    ax.legend(frameon=False, fontsize=7)
    ax = axes[0, 1]
    ax.plot(tt[keep], change[keep], color="k", label="||W_1(t) - W_1(0)|| / ||W_1(0)||")
    ax.plot(tt[keep], fa_sim.loss[keep] / fa_sim.loss[0], color="0.5", label="FA loss / initial loss")
    ax.set(xscale="log", yscale="log", xlabel=plots.TIME_LABEL, title="FA: weight change and loss")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    out.figure(
        "conservation",
        fig,
        f"Conservation at small learning rate ({cfg.activation} {sizes_txt} net, lr = {lr:g}, {steps} steps, same "
        "initialisation for FA and GD). Left, against time (log axes): the relative drift max_i |Q_i(t) - Q_i(0)| / "
        "max ||W_l[i,:]||^2 of FA's conserved quantity C_l under FA (solid, stays below 1e-2, grey line: it moves "
        "only by the O(lr^2) Euler drift), of the same quantity under GD with B = W_{l+1}(t)^T (dashed: not "
        "conserved, it grows past the grey line) and of GD's balancedness diag(W_l W_l^T - W_{l+1}^T W_{l+1}) "
        "(dotted: conserved). "
        "Right: the FA weights move by several times their initial norm (black) while the loss falls (grey), so "
        "the conservation is not a frozen network.",
        checks=drift_checks,
    )

    fig, axes = plots.figure(3, 1, width=4.2)
    ax = axes[0, 0]
    for l in hidden:
        ax.plot(tt[keep], al[f"aligned_fraction_{l + 1}"][keep], color=colors[l], label=f"layer {l + 1}", **plots.SIM)
    ax.set(
        xscale="log",
        ylim=(-0.02, 1.05),
        xlabel=plots.TIME_LABEL,
        ylabel="fraction of neurons",
        title="neurons with <B[i,:], W[:,i]> >= 0",
    )
    ax.legend(frameon=False, fontsize=8)
    ax = axes[0, 1]
    for l in hidden:
        ax.plot(
            tt[keep],
            al[f"weight_alignment_{l + 1}"][keep],
            color=colors[l],
            label=f"weight, layer {l + 1}",
            **plots.SIM,
        )
        ax.plot(
            tt[keep],
            al[f"signal_alignment_{l + 1}"][keep],
            color=colors[l],
            linestyle="--",
            label=f"signal, layer {l + 1}",
        )
        ax.plot(
            tt[keep],
            al[f"update_alignment_{l + 1}"][keep],
            color=colors[l],
            linestyle=":",
            label=f"update, layer {l + 1}",
        )
    ax.set(xscale="log", xlabel=plots.TIME_LABEL, ylabel="cosine", title="weight, signal and update alignment")
    ax.legend(frameon=False, fontsize=7)
    ax = axes[0, 2]
    bins = np.linspace(-1, 1, 41)
    for l in hidden:
        ax.hist(al[f"neuron_alignment_{l + 1}"][-1], bins=bins, color=colors[l], alpha=0.6, label=f"layer {l + 1}")
    ax.axvline(0.0, color="k", linewidth=0.8)
    ax.set(xlabel="cos(B[i,:], W_{l+1}[:,i]) at the end", ylabel="neurons", title="per-neuron alignment")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    out.figure(
        "alignment",
        fig,
        f"Alignment of the FA run of the conservation figure ({cfg.activation} {sizes_txt}, lr = {lr:g}). Left: "
        "the fraction of hidden neurons whose feedback row B_{l+1}[i,:] and outgoing weights W_{l+1}[:,i] have a "
        "non-negative inner product, over time; it reaches 1 as the conservation law predicts for a small "
        "initialisation. Middle: weight alignment cos(vec W_{l+1}, vec B_{l+1}^T) (solid), Lillicrap et al.'s "
        "signal alignment of the hidden deltas, cos(phi' * B delta, phi' * W^T delta) (dashed), and the update "
        "alignment cos(G_FA, grad L) of the hidden layer's weights (dotted). Right: histogram of the per-neuron "
        "cosines at the end, all on the positive side of the black line.",
        checks=align_checks,
    )


def _minnorm_part(cfg: Config, rng, out: Outcome):
    """Part 4: FA from zero init on under-determined linear regression finds the minimum-norm interpolant."""
    d, n, k, c = cfg.mn_d, cfg.mn_n, cfg.mn_k, cfg.mn_c
    X = rng.standard_normal((n, d)) / np.sqrt(d)
    Y = rng.standard_normal((n, c))
    task = Task(X, Y, name="under-determined regression")
    B = jnp.asarray(rng.standard_normal((k, c)) / np.sqrt(c))
    net = nets.MLP((d, k, c), "linear")
    p0 = {"W": (jnp.zeros((k, d)), jnp.zeros((c, k)))}
    lr, steps = cfg.mn_lr, cfg.mn_steps
    t = train.log_times(lr, lr * steps, cfg.n_records, step=lr)
    sim = train.simulate(net, rules.FA(net), task, p0, lr=lr, t=t, state={"B": (B,)})
    W1, W2 = (np.asarray(W) for W in sim.params["W"])
    Bn = np.asarray(B)
    beta = W2 @ W1
    beta_mn = (np.linalg.pinv(X) @ Y).T
    dist = np.linalg.norm(beta - beta_mn, axis=(-2, -1)) / np.linalg.norm(beta_mn)
    M = W2 @ Bn
    lam = np.linalg.eigvalsh(0.5 * (M + np.swapaxes(M, -1, -2)))[:, 0]
    off_B = np.linalg.norm(W1[-1] - Bn @ np.linalg.pinv(Bn) @ W1[-1]) / np.linalg.norm(W1[-1])
    off_X = np.linalg.norm(W1[-1] - W1[-1] @ np.linalg.pinv(X) @ X) / np.linalg.norm(W1[-1])
    names = [
        "minnorm_loss",
        "minnorm_rel_distance",
        "minnorm_lambda_min_sym_W2B",
        "minnorm_lambda_min_never_negative",
        "minnorm_W1_in_span",
    ]
    out.check(
        names[0],
        float(sim.loss[-1]),
        "<=",
        1e-20,
        f"training loss after {steps} FA steps at lr = {lr:g} from zero init (d={d}, n={n}, k={k}, c={c})",
    )
    out.check(
        names[1],
        float(dist[-1]),
        "<=",
        1e-10,
        "||W_2 W_1 - beta_minnorm|| / ||beta_minnorm|| at the end, beta_minnorm = (pinv(X) Y)^T",
    )
    out.check(names[2], float(lam[-1]), ">", 0.0, "lambda_min of sym(W_2 B) = (W_2 B + B^T W_2^T) / 2 at the end")
    out.check(
        names[3],
        float(lam.min() / np.abs(lam).max()),
        ">=",
        -1e-12,
        "min over all records of lambda_min(sym(W_2 B)), relative to its largest |value|: sym(W_2 B) stays positive "
        "semi-definite from zero init (W_1 W_1^T = B W_2 + W_2^T B^T + O(lr^2) drift)",
    )
    out.check(
        names[4],
        max(float(off_B), float(off_X)),
        "<=",
        1e-10,
        "W_1 = B K with the rows of K in the data span: the relative parts of W_1 outside range(B) and outside "
        "the row space of X (larger of the two) at the end",
    )
    data = {
        "loss": (("t",), sim.loss, "training loss", "squared target units"),
        "minnorm_rel_distance": (("t",), dist, "||beta - beta_minnorm|| / ||beta_minnorm||", "1"),
        "lambda_min_sym_W2B": (("t",), lam, "smallest eigenvalue of sym(W_2 B)", "squared weight units"),
    }
    out.data["minnorm"] = _dataset(sim.t, data, {"rule": "fa", "lr": lr, "d": d, "n": n, "k": k, "c": c})

    fig, axes = plots.figure(3, 1, width=4.0)
    tt = sim.t
    keep = tt > 0
    floor = 1e-35
    for ax, y, title, ylabel, logy in (
        (axes[0, 0], sim.loss, "training loss", "L = 1/(2n) sum ||y - f||^2", True),
        (axes[0, 1], dist, "distance to the minimum-norm map", "||W2 W1 - beta_mn|| / ||beta_mn||", True),
        (axes[0, 2], lam, "alignment of the readout", "lambda_min(sym(W2 B))", False),
    ):
        ax.plot(tt[keep], np.maximum(y[keep], floor) if logy else y[keep], color="k", **plots.SIM)
        ax.set(xscale="log", yscale="log" if logy else "linear", xlabel=plots.TIME_LABEL, ylabel=ylabel, title=title)
    fig.tight_layout()
    out.figure(
        "minnorm",
        fig,
        f"Implicit regularisation of feedback alignment: a two-layer linear net {d}-{k}-{c} trained by FA (lr = "
        f"{lr:g}, {steps} steps, full batch) from W1 = W2 = 0 on {n} < {d} items, against time (log axis). Left: "
        "the training loss falls to round-off. Middle: the relative distance of the network map W2 W1 to the "
        "minimum-norm interpolant (pinv(X) Y)^T also reaches round-off, so among all interpolants FA picks the "
        "minimum-norm one, as gradient descent would. Right: the smallest eigenvalue of sym(W2 B) starts at 0 and "
        "stays positive: the readout aligns with the fixed feedback B.",
        checks=names,
    )


@experiment(
    "fa-conservation",
    Config,
    quick={"small_steps": 12_000, "mn_steps": 10_000, "n_records": 40},
    description="Feedback alignment's conservation law, its exact discrete drift, alignment and the minimum-norm "
    "solution (Robertson & Koyejo 2024).",
)
def run(cfg: Config) -> Outcome:
    """Exact identity, small-lr conservation with the GD contrast, and FA's minimum-norm interpolant."""
    out = Outcome()
    rng = np.random.default_rng(cfg.seed)
    X = rng.standard_normal((cfg.n_items, cfg.widths[0]))
    Y = rng.standard_normal((cfg.n_items, cfg.widths[-1]))
    task = Task(X, Y, name="gaussian")
    _identity_part(cfg, task, rng, out)
    _small_lr_part(cfg, task, rng, out)
    _minnorm_part(cfg, rng, out)
    return out
