"""low-dim-target: a wide two-layer ReLU net on a target of a low-dimensional subspace, as full particles, as the
reduced ``(a, b_H, ||b_perp||)`` particle system and as the radial 1-D solver (Hajjar & Chizat 2023, "On the
symmetries in the dynamics of wide two-layer neural networks"; spec ``integrable_and_meanfield.md`` C1-C3, C5).

Setting: ``x`` uniform on the sphere of radius ``sqrt(d)`` in ``R^d`` (``d = 20``; ``E x x^T = I``), the radial target
``f*(x) = ||P_H x||`` on the first ``d_H = 5`` coordinates (:func:`learndyn.populations.radial`, ``law="sphere"``).
Particles ``f = (1/m) sum_j a_j relu(<b_j, x>)`` (:class:`learndyn.nets.meanfield.MeanFieldReLU`), ``a ~ Unif{+-1}``,
``b ~ Unif(S^{d-1})``, trained by online SGD (:func:`learndyn.online.sgd`, ``lr = m eta``, ``t = eta * step``).
The same initial neurons start the two reductions, in the same time ``t``:

- :mod:`learndyn.theory.lowdim`: their pushforward ``(a_j, P_H b_j, ||P_perp b_j||)`` trained on the same batches
  (same key) with the rotation-averaged feature, i.e. the particle method of the reduced PDE in ``d_H + 2``
  dimensions;
- :mod:`learndyn.theory.radial`: their 1-D variables ``(theta_j, c_j = a_j ||b_j||, eps_j = sign a_j)`` under the
  Monte-Carlo scheme of spec C2 item 3 (``n_mc`` fresh samples per step, its own randomness).

Two parts:

1. *Reduction against particles* over widths (default 256, 1024, 4096; large batches, so that the SGD noise both
   systems share does not hide their ``O(m^-1/2)`` difference): the relative RMS distance of the two predictors on
   fresh points, ``max_t ||f_full - f_reduced|| / ||f*||``, at each width. Checks: below ``1.5 / sqrt(m)`` at every
   width (measured about ``0.9 / sqrt(m)``) and shrinking as ``m^-1/2`` (fitted log-log slope within 0.2 of -1/2).
2. *Long run* at one width (``m = 1024``, batch 256, ``eta = 0.05``, ``t = 250``: the spec's finite-width setting on
   the sphere) of all three systems; the 1-D solver uses ``n_mc = 1000`` samples per step and averages its residual's
   predictor over 8 shared draws (the reference uses one, whose noise near the fit does not shrink with ``m``).
   Checks: the neurons align with ``H`` (the ``|a| ||b||``-weighted mean angle falls to at most half its initial
   value, at least 80% of ``tau^+`` ends within 0.3 rad of ``H``); the loss falls by 1e3; the reduced particles' and
   the 1-D solver's ``tau^+-`` masses track the full particles' within ``0.05 alpha``; the 1-D solver's loss tracks
   the particles' within 5% of the initial loss (two independent Monte-Carlo estimates); the balance
   ``a^2 - ||b||^2`` (conserved by the flow) drifts by at most 2% of the mean ``||b||^2`` under SGD.

The spec's [derived] expectation ``tau^+ -> alpha delta_0``, ``tau^- -> 0`` (C1, C5) is measured, not assumed, and
half of it is refuted. ``tau^+`` concentrates near ``H`` with a mass 3% above ``alpha`` (5.49 against 5.33 at
``t = 250``), but ``tau^-`` falls to 0.05 during the escape (``t ~ 5``) and then grows back to 0.16, all of it on
neurons orthogonal to ``H``. This happens in the particles, in the reduced particles and in the 1-D solver. It does
not depend on the SGD noise (``eta = 0.0125``, or batch 2048: 0.163-0.168 at ``t = 200``) or on the input law
(Gaussian inputs give the same numbers to 1e-3). It also holds in the spec's C3 setting of the 1-D solver
(``d = 30``, ``eta = 5e-3``): ``tau^-`` plateaus at 0.17-0.18 up to ``t = 400``, with ``n_mc = 4000`` as well. The
loss still goes to ~0, so the flow reaches a different minimiser than ``alpha delta_0``: the negative neurons at
``theta = pi/2`` cancel the ``||x_perp||`` part of the features of the positive neurons that are not yet exactly
aligned. The checks ``tau_minus_persists_*`` (``tau^-(t_end) >= 0.05``) and ``tau_minus_orthogonal_to_H`` (at least
80% of ``tau^-`` within 0.3 rad of ``H^perp``) record this. The ``measured`` attribute of the ``long`` data set holds
the numbers of a run. Whether ``tau^-`` decays on much longer times is open.

Quick mode: widths 128 and 512 over ``t = 5``; the long run at ``m = 256`` to ``t = 50``; every check is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np
import xarray as xr

from learndyn import neurons, online, plots, populations
from learndyn.experiments._summaries import loglog_slope
from learndyn.experiments.config import ExperimentConfig, option
from learndyn.experiments.registry import experiment
from learndyn.nets.meanfield import MeanFieldReLU
from learndyn.progress import track
from learndyn.results import Outcome
from learndyn.theory import lowdim, radial


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Configuration of low-dim-target."""

    seed: int = option(0, "seed of the neurons, the batches and the Monte-Carlo samples", ge=0)
    d: int = option(20, "input dimension", ge=3)
    d_H: int = option(5, "dimension of the target's subspace H", ge=1)
    widths: tuple[int, ...] = option((256, 1024, 4096), "widths of the reduction-against-particles part", ge=8)
    compare_eta: float = option(0.025, "time step of the width part", gt=0)
    compare_batch: int = option(1024, "batch of the width part (large: the shared SGD noise is O(eta / batch))", ge=8)
    compare_t: float = option(10.0, "horizon of the width part (past the escape, where the systems differ most)",
                              gt=0)  # fmt: skip
    m: int = option(1024, "width of the long run", ge=8)
    eta: float = option(0.05, "time step of the long run; the learning rate is m * eta", gt=0)
    batch_size: int = option(256, "batch of the long run", ge=8)
    t_end: float = option(250.0, "horizon of the long run", gt=0)
    n_mc: int = option(1000, "Monte-Carlo samples per step of the 1-D solver (the spec's N_b)", ge=16)
    predictor_draws: int = option(8, "shared predictor draws per sample in the 1-D solver's residual (reference: 1)",
                                  ge=1)  # fmt: skip
    n_records: int = option(26, "records along each run", ge=3)
    n_val: int = option(4000, "validation points", ge=100)

    def check(self):
        if not 1 <= self.d_H < self.d:
            raise ValueError(f"d_H must be in 1..d-1 = 1..{self.d - 1}; got {self.d_H}")
        if len(self.widths) < 2:
            raise ValueError(f"widths must hold at least two widths (a slope is fitted); got {self.widths}")


#: Below this the 1-D solver's unbiased Monte-Carlo loss estimate (4000 samples) is dominated by its noise.
_MC_LOSS_FLOOR = 1e-2


def _records(t_end, n):
    """A linear grid with the early times (the escape from the initial plateau) added."""
    return np.unique(np.concatenate([np.linspace(0.0, t_end, n), t_end * np.array([0.004, 0.01, 0.02, 0.04])]))


def _full_state(a, b, d_H):
    """``(theta, c, eps)`` of full particles (any balance)."""
    return neurons.angles_to_subspace(b, d_H), a * np.linalg.norm(b, axis=-1), np.where(a >= 0, 1.0, -1.0)


def _reduced_state(p):
    norm_H = np.linalg.norm(p["b_H"], axis=-1)
    return np.arctan2(np.abs(p["r"]), norm_H), p["a"] * np.hypot(norm_H, p["r"]), np.where(p["a"] >= 0, 1.0, -1.0)


def _outputs(apply, params, X):
    """``apply(p, X)`` at every record, one compiled loop (a vmap would hold all records' features at once)."""
    return np.asarray(jax.jit(lambda P: jax.lax.map(lambda p: apply(p, X), P))(params))


def _weighted_mean_angle(theta, c):
    w = np.abs(c)
    return np.sum(w * theta, -1) / np.sum(w, -1)


def _fraction_below(theta, c, which, theta_max):
    """Fraction of the ``|c|`` mass of the neurons ``which`` with ``theta <= theta_max``."""
    w = np.abs(c) * which
    return np.sum(w * (theta <= theta_max)) / max(float(np.sum(w)), np.finfo(float).tiny)


def _effective_mass(theta, c):
    """``int cos(theta) d(tau^+ - tau^-) = (1/m) sum_j c_j cos(theta_j)``."""
    return np.mean(c * np.cos(theta), -1)


def _width_part(cfg, pop, Xv, yv):
    red = lowdim.LowDim(cfg.d, cfg.d_H)
    t = np.linspace(0.0, cfg.compare_t, cfg.n_records)
    err = []
    for m in track(cfg.widths, "widths"):
        net = MeanFieldReLU(cfg.d, m)
        p0 = net.init(jax.random.fold_in(jax.random.key(cfg.seed), m))
        key = cfg.seed * 1000 + 1  # the same batches for both systems
        full = online.sgd(net, p0, pop, eta=cfg.compare_eta, t=t, batch_size=cfg.compare_batch, key=key)
        reduced = lowdim.sgd(red, red.pushforward(p0["a"], p0["b"]), pop, eta=cfg.compare_eta, t=t,
                             batch_size=cfg.compare_batch, key=key)  # fmt: skip
        f_full = _outputs(lambda p, X, net=net: net.apply(p, X)[0][:, 0], full.params, Xv)
        f_red = _outputs(red.apply, reduced.params, Xv)
        err.append(np.sqrt(np.mean((f_full - f_red) ** 2, -1) / np.mean(yv**2)))
    return t, np.array(err)


def _long_run(cfg, pop, Xv, yv):
    net = MeanFieldReLU(cfg.d, cfg.m)
    red = lowdim.LowDim(cfg.d, cfg.d_H)
    p0 = net.init(jax.random.fold_in(jax.random.key(cfg.seed), 0))
    t = _records(cfg.t_end, cfg.n_records)
    key = cfg.seed * 1000 + 2
    full = online.sgd(net, p0, pop, eta=cfg.eta, t=t, batch_size=cfg.batch_size, key=key)
    reduced = lowdim.sgd(red, red.pushforward(p0["a"], p0["b"]), pop, eta=cfg.eta, t=t, batch_size=cfg.batch_size,
                         key=key)  # fmt: skip
    theta0, c0, eps = radial.from_particles(p0["a"], p0["b"], cfg.d_H)
    one_d = radial.solve(theta0, c0, eps, d=cfg.d, d_H=cfg.d_H, eta=cfg.eta, t=t, n_mc=cfg.n_mc, n_loss=cfg.n_val,
                         predictor_draws=cfg.predictor_draws, key=cfg.seed * 1000 + 3)  # fmt: skip
    f_full = _outputs(lambda p, X: net.apply(p, X)[0][:, 0], full.params, Xv)
    f_red = _outputs(red.apply, reduced.params, Xv)
    states = {
        "particles": _full_state(full.params["a"], full.params["b"], cfg.d_H),
        "reduced (a, b_H, r)": _reduced_state(reduced.params),
        "1-D solver": (one_d.theta, one_d.c, np.broadcast_to(one_d.eps, one_d.c.shape)),
    }
    loss = {"particles": 0.5 * np.mean((f_full - yv) ** 2, -1), "reduced (a, b_H, r)":
            0.5 * np.mean((f_red - yv) ** 2, -1), "1-D solver": one_d.loss}  # fmt: skip
    balance = full.params["a"] ** 2 - np.sum(full.params["b"] ** 2, -1)
    return t, states, loss, balance, full.params


def _tau(theta, c, eps):
    """``tau^+-`` masses per record with per-record signs: a full particle's ``sign(a)`` may flip under SGD, which
    :func:`learndyn.theory.radial.tau_masses` (constant signs of the 1-D variables) does not allow."""
    m = c.shape[-1]
    return np.sum(np.abs(c) * (eps > 0), -1) / m, np.sum(np.abs(c) * (eps < 0), -1) / m


@experiment(
    "low-dim-target",
    Config,
    quick={"widths": (128, 512), "compare_eta": 0.05, "compare_t": 5.0, "m": 256, "t_end": 50.0, "n_mc": 500},
    description="two-layer ReLU net on ||x_H||: particles vs the (a, b_H, r) reduction and the radial 1-D solver",
)
def run(cfg: Config) -> Outcome:
    out = Outcome()
    pop = populations.radial(cfg.d, cfg.d_H, law="sphere")
    Xv, yv = (np.asarray(v) for v in pop.sample(jax.random.key(cfg.seed + 7), cfg.n_val))
    alpha = radial.alpha(cfg.d_H)

    # 1. the reduction against particles over widths
    t_w, err = _width_part(cfg, pop, Xv, yv)
    widths = np.asarray(cfg.widths, dtype=float)
    worst = err.max(axis=1)
    slope = loglog_slope(widths, worst)
    out.data["widths"] = xr.Dataset(
        {"reduction_error": (("width", "t"), err)}, coords={"width": list(cfg.widths), "t": t_w},
        attrs={"source": "simulation vs theory.lowdim", "eta": cfg.compare_eta, "batch": cfg.compare_batch},
    )  # fmt: skip
    out.check("reduction_error_sqrt_m", float(np.max(worst * np.sqrt(widths))), "<=", 1.5,
              f"max over widths of sqrt(m) max_t ||f_full - f_reduced|| / ||f*|| (errors {np.round(worst, 4).tolist()} "
              f"at m = {list(cfg.widths)})")  # fmt: skip
    out.check("reduction_error_slope", abs(slope + 0.5), "<=", 0.2,
              f"|slope + 1/2| of log max_t error against log m (slope {slope:.3f})")  # fmt: skip

    # 2. the long run of the three systems
    t, states, loss, balance, params = _long_run(cfg, pop, Xv, yv)
    names = list(states)
    tau = {n: _tau(*states[n]) for n in names}
    theta_p, c_p, eps_p = states["particles"]
    angle = _weighted_mean_angle(theta_p, c_p)
    near = neurons.mass_near_subspace(params["a"], params["b"], cfg.d_H, 0.1)
    eff = {n: _effective_mass(states[n][0], states[n][1]) for n in names}
    dist = radial.distance_to_alpha_delta(states["1-D solver"][0], states["1-D solver"][1],
                                          states["1-D solver"][2][0], cfg.d_H)  # fmt: skip
    out.data["long"] = xr.Dataset(
        {
            "loss": (("system", "t"), np.stack([loss[n] for n in names])),
            "tau_plus": (("system", "t"), np.stack([tau[n][0] for n in names])),
            "tau_minus": (("system", "t"), np.stack([tau[n][1] for n in names])),
            "effective_mass": (("system", "t"), np.stack([eff[n] for n in names])),
            "mean_angle": (("system", "t"), np.stack([_weighted_mean_angle(*states[n][:2]) for n in names])),
            "mass_near_H": ("t", near),
            "position_1d": ("t", dist["position"]),
            "max_abs_balance": ("t", np.max(np.abs(balance), -1)),
        },
        coords={"system": names, "t": t},
        attrs={"source": "simulation + theory.lowdim + theory.radial", "m": cfg.m, "alpha": alpha,
               "time": "t = eta * step (lr = m eta)"},
    )  # fmt: skip
    bins = 20
    hist = np.stack([np.stack([np.stack(radial.weighted_histograms(states[n][0][k], states[n][1][k],
                                                                   states[n][2][k], bins)[1:])
                               for k in range(len(t))]) for n in names])  # fmt: skip
    edges = np.linspace(0.0, np.pi / 2, bins + 1)
    out.data["histograms"] = xr.Dataset(
        {"weight": (("system", "t", "sign", "bin"), hist)},
        coords={"system": names, "t": t, "sign": ["+", "-"], "bin": 0.5 * (edges[1:] + edges[:-1])},
        attrs={"weights": "|c| / m per angle bin of width pi/40", "source": "simulation + theory"},
    )  # fmt: skip

    out.check("aligns_mean_angle", float(angle[-1] / angle[0]), "<=", 0.5,
              f"|a| ||b||-weighted mean angle to H, final over initial ({angle[0]:.3f} -> {angle[-1]:.3f} rad)")
    plus_near = _fraction_below(theta_p[-1], c_p[-1], eps_p[-1] > 0, 0.3)
    out.check("plus_neurons_near_H", float(plus_near), ">=", 0.8,
              f"fraction of tau^+ within 0.3 rad of H at t = {t[-1]:g} (mass within 0.1 rad of H, both signs: "
              f"{near[0]:.2g} -> {near[-1]:.2g})")  # fmt: skip
    out.check("loss_falls", float(loss["particles"][-1] / loss["particles"][0]), "<=", 1e-3,
              "final over initial validation loss of the particles")  # fmt: skip
    for n, label in ((names[1], "reduced"), (names[2], "radial")):
        gap = max(np.max(np.abs(tau[n][s] - tau["particles"][s])) for s in (0, 1))
        out.check(f"{label}_tau_tracks_particles", float(gap / alpha), "<=", 0.05,
                  f"max_t |tau^+- ({n}) - tau^+- (particles)| / alpha")  # fmt: skip
    gap = np.max(np.abs(loss["1-D solver"] - loss["particles"])) / loss["particles"][0]
    out.check("radial_loss_tracks_particles", float(gap), "<=", 0.05,
              "max_t |loss (1-D solver, Monte-Carlo) - loss (particles)| / initial loss: two independent Monte-Carlo "
              f"estimates on {cfg.n_val} points, each with a spread of about 0.7% of the initial loss")  # fmt: skip
    b2 = np.mean(np.sum(params["b"][-1] ** 2, -1))
    out.check("balance_kept", float(np.max(np.abs(balance)) / b2), "<=", 0.02,
              "max_t,j |a_j^2 - ||b_j||^2| / mean ||b||^2 (conserved by the flow; SGD drifts by O(eta t))")
    for n, label in ((names[0], "particles"), (names[2], "radial")):
        out.check(f"tau_minus_persists_{label}", float(tau[n][1][-1]), ">=", 0.05,
                  f"tau^-([0, pi/2]) of the {n} at t = {t[-1]:g} (initially {tau[n][1][0]:.3f}, least "
                  f"{tau[n][1].min():.3f}): the negative neurons do not die out, contrary to the spec's [derived] "
                  "tau^- -> 0")  # fmt: skip
    minus_perp = _fraction_below(np.pi / 2 - theta_p[-1], c_p[-1], eps_p[-1] < 0, 0.3)
    out.check("tau_minus_orthogonal_to_H", float(minus_perp), ">=", 0.8,
              f"fraction of the particles' tau^- within 0.3 rad of H^perp (angle >= pi/2 - 0.3) at t = {t[-1]:g}")
    tp, tm = tau["1-D solver"][0][-1], tau["1-D solver"][1][-1]
    out.data["long"].attrs["measured"] = (
        f"1-D solver at t = {t[-1]:g}: tau^+ = {tp:.3f} (alpha = {alpha:.3f}), tau^- = {tm:.3f}, "
        f"W1(tau^+ / |tau^+|, delta_0) = {dist['position'][-1]:.3f} rad; particles: tau^+ = "
        f"{tau['particles'][0][-1]:.3f}, tau^- = {tau['particles'][1][-1]:.3f}, mass within 0.1 rad of H "
        f"{near[-1]:.2f}; reduction error sqrt(m) max_t err = {np.round(worst * np.sqrt(widths), 3).tolist()}"
    )

    _figures(out, cfg, t_w, err, t, names, loss, tau, hist, edges, alpha)
    return out


def _figures(out, cfg, t_w, err, t, names, loss, tau, hist, edges, alpha):
    fig, ax = plots.figure(3, 1, width=3.9)
    colors = plots.plt.cm.viridis(np.linspace(0.0, 0.9, len(cfg.widths)))
    for m, e, col in zip(cfg.widths, err, colors, strict=True):
        ax[0, 0].plot(t_w, e * np.sqrt(m), color=col, label=f"m = {m}")
    ax[0, 0].set(xlabel=plots.TIME_LABEL, ylabel="sqrt(m) ||f_full - f_red|| / ||f*||", title="reduction vs particles")
    styles = {"particles": "-", "reduced (a, b_H, r)": "--", "1-D solver": ":"}
    for n in names:
        shown = loss[n] if n != "1-D solver" else np.where(loss[n] >= _MC_LOSS_FLOOR, loss[n], np.nan)
        ax[0, 1].semilogy(t, shown, styles[n], label=n)
        ax[0, 2].plot(t, tau[n][0], styles[n], color="C0", label=f"tau+ {n}")
        ax[0, 2].plot(t, tau[n][1], styles[n], color="C3", label=f"tau- {n}")
    ax[0, 2].axhline(alpha, color="k", lw=0.8, label="alpha")
    ax[0, 1].set(xlabel=plots.TIME_LABEL, ylabel="loss", title=f"m = {cfg.m}")
    ax[0, 2].set(xlabel=plots.TIME_LABEL, ylabel="mass", title="tau^+- masses")
    for a in ax[0]:
        a.legend(frameon=False, fontsize=6)
    out.figure("low_dim_target", fig, "Left: distance of the reduced (a, b_H, r) predictor to the full particles', "
               "times sqrt(m): the curves collapse when the difference is O(m^-1/2). Middle: validation loss of the "
               "particles and the reduced particles, Monte-Carlo loss of the 1-D solver (shown down to 0.01: below, "
               "the estimate is its own sampling noise). Right: "
               "the |c|-weighted masses of the positive and negative neurons for the three systems; alpha is the "
               "mass of the target's representation alpha delta_0.",
               checks=("reduction_error_sqrt_m", "reduced_tau_tracks_particles", "radial_tau_tracks_particles"))
    picks = sorted({0, int(np.argmin(np.abs(t - t[-1] * 0.04))), int(np.argmin(np.abs(t - t[-1] * 0.2))),
                    len(t) - 1})  # fmt: skip
    fig, ax = plots.figure(len(picks), 1, width=3.0)
    mid = 0.5 * (edges[1:] + edges[:-1])
    for i, k in enumerate(picks):
        for s, n in enumerate(names):
            ax[0, i].step(mid, hist[s, k, 0], where="mid", ls=styles[n], color="C0", label=f"+ {n}")
            ax[0, i].step(mid, hist[s, k, 1], where="mid", ls=styles[n], color="C3", label=f"- {n}")
        ax[0, i].set(xlabel="angle to H (rad)", title=f"t = {t[k]:.3g}")
    ax[0, 0].set(ylabel="|c| / m per bin")
    ax[0, 0].legend(frameon=False, fontsize=6)
    out.figure("angle_histograms", fig, "|c|-weighted histograms of the angle between the neurons and H, for the "
               "positive (blue) and negative (red) neurons, particles (solid), reduced particles (dashed) and the "
               "1-D solver (dotted), at four times.",
               checks=("aligns_mean_angle", "plus_neurons_near_H", "tau_minus_orthogonal_to_H"))
