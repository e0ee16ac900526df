"""race: shared vs dedicated pathways in a gated network, the neural race (spec ``gated_dln.md`` AC7).

The routing network of the ``routing`` experiment (M = 7 domains, a shared pathway ``W1^i -> W2 -> W3^j``) gets,
for every trained pair ``(i, j)``, a private three-edge pathway ``x{i} -> a{i}_{j} -> b{i}_{j} -> y{j}`` of width
16, on only for that pair (:func:`learndyn.graphs.race`, declared in a few lines). From a decoupled start
(``b0 = 0.08`` on every mode of every edge) both kinds of pathway see the same effective data and race for one
shared residual per output, ``r = s - a_shared - a_private``: per mode, with ``eps = 2 eta / (P N_o)``, the
shared pathway's edges move by ``eps n_e (product of the others) r`` (``n_e = K`` trained pairs through an input or
output edge, ``M K`` through the hidden one) and a private pathway's by ``eps (product of the others) r``. The
shared pathway is driven ``K`` to ``M K`` times harder, so it learns first and takes the signal.

Checks: full GD of the whole network equals the general reduction's exact per-mode map (:mod:`learndyn.theory.gated`)
to 1e-10 on the loss and on every path strength; the shared pathway learns the task, ``|a_shared - s| / s <= 2e-3``
(spec: 13.601, 6.402, 2.999, 2.999); every private pathway stays small, ``|a_private| <= 1e-3`` (spec: 7-8e-4); and
the untrained pairs, which have no private pathway, are solved through the shared one, error ``<= 1e-4`` (spec:
1.1e-6). Path strengths of the simulation are ``diag(U_w^T W_p V_u)`` in the data's bases.

Quick mode: the same run (it takes a few seconds); every check is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from learndyn import graphs, plots, train
from learndyn.experiments.config import ExperimentConfig, option
from learndyn.experiments.registry import experiment
from learndyn.nets.gated import GatedDLN
from learndyn.results import Outcome
from learndyn.theory import gated as tg


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Configuration of race (defaults: the spec's AC7 setup)."""

    seed: int = option(0, "seed of the hidden bases of the decoupled start", ge=0)
    M: int = option(7, "number of input and of output domains", ge=2)
    n_hidden: int = option(64, "width of the shared hidden nodes", ge=4)
    private: int = option(16, "width of the private pathways' hidden nodes", ge=4)
    offsets: tuple[int, ...] = option(
        (-1, 0, 1, 2), "input domain i is trained with outputs i + offset (mod M)", ge=-1000, le=1000
    )
    eta: float = option(0.02, "step size on the reference code's loss (lr = eta * 2 n_pairs / N_o)", gt=0)
    epochs: int = option(600, "full-batch GD steps", ge=10)
    b0: float = option(0.08, "decoupled start: every mode of every edge", gt=0)


@experiment("race", Config, quick={}, description="shared vs private pathways race for one residual: sharing wins")
def run(cfg: Config) -> Outcome:
    out = Outcome()
    X, Y = graphs.hierarchy_items()
    pairs = graphs.cyclic_pairs(cfg.M, cfg.offsets)
    untrained = [(i, j) for i in range(cfg.M) for j in range(cfg.M) if (i, j) not in pairs]
    g = graphs.race(cfg.M, X.shape[1], cfg.n_hidden, Y.shape[1], pairs, cfg.private)
    gates_of = graphs.race_gates(pairs)
    task = graphs.pairs_task(g, X, Y, pairs, test_pairs=untrained or None, gates_of=gates_of, name="race")
    net = GatedDLN(g)
    N_o = Y.shape[1]
    s = np.linalg.svd(Y.T @ X, compute_uv=False)
    B = tg.bases(tg.correlations(g, task))
    p0 = net.decoupled(B, cfg.b0, key=cfg.seed)
    red = tg.reduce(g, task, p0)
    lr = graphs.reference_lr(cfg.eta, len(pairs), N_o)
    t = lr * np.arange(0, cfg.epochs + 1, 2)
    run_ = train.simulate(net, "gd", task, p0, lr=lr, t=t)
    sim = run_.trajectory(task)
    tr, b = red.gd(lr, t)
    th = red.trajectory(task, tr, b)
    out.data["simulation"] = sim
    out.data["reduction"] = th

    names = [g.path_name(p) for p in g.paths]
    a_th = red.path_strengths(b)[..., : len(s)]  # (T, paths, modes)
    maps = net.path_products(run_.params)
    a_sim = np.stack([np.einsum("ia,tij,ja->ta", B[p.target][:, : len(s)], np.asarray(maps[k]),
                                B[p.source][:, : len(s)]) for k, p in enumerate(g.paths)], axis=1)  # fmt: skip
    private = [k for k, p in enumerate(g.paths) if p.nodes[1].startswith("a")]
    shared = [k for k, p in enumerate(g.paths) if p.nodes[1] == "h1"]
    trained_shared = [k for k in shared if (int(g.paths[k].source[1:]), int(g.paths[k].target[1:])) in pairs]
    L0 = float(sim["loss"].max())
    out.check("ac7_map_vs_gd_loss", float(np.abs(sim["loss"] - th["loss"]).max()) / L0, "<=", 1e-10,
              "max_t |L_GD - L_map| / max L: full GD vs the reduction's exact per-mode race map")  # fmt: skip
    out.check(
        "ac7_map_vs_gd_paths",
        float(np.abs(a_sim - a_th).max() / s.max()),
        "<=",
        1e-10,
        "max |a_p,GD - a_p,map| / s_max over every path (shared and private), mode and record",
    )
    end_sh = a_sim[-1, trained_shared]
    out.check(
        "ac7_shared_pathway_learns",
        float(np.abs(end_sh / s - 1.0).max()),
        "<=",
        2e-3,
        f"max |a_shared / s - 1| over the trained pairs' shared paths after {cfg.epochs} steps (a_shared of "
        f"{names[trained_shared[0]]}: {np.round(end_sh[0], 4).tolist()}, s = {np.round(s, 3).tolist()})",
    )
    end_pr = a_sim[-1, private]
    out.check(
        "ac7_private_pathways_small",
        float(np.abs(end_pr).max()),
        "<=",
        1e-3,
        f"max |a_private| over the {len(private)} private pathways and modes at the end (spec: 7-8e-4)",
    )
    if untrained:
        f_un = np.asarray(net.apply({"W": tuple(w[-1] for w in run_.params["W"])}, task.X_test)[0])
        err = graphs.pair_errors(g, f_un, Y, untrained)
        out.check("ac7_untrained_pair_error", float(err.max()), "<=", 1e-4,
                  f"largest 1/2 ||Y - f||_F^2 over the {len(untrained)} untrained pairs (no private pathway; spec: "
                  "1.1e-6)")  # fmt: skip
    out.data["path_strengths"] = xr.Dataset(
        {"a_simulation": (("t", "path", "mode"), a_sim), "a_reduction": (("t", "path", "mode"), a_th)},
        coords={"t": sim["t"].values, "path": names, "mode": np.arange(len(s))},
    )

    fig, ax = plots.figure(3, 1, width=3.8)
    tt = sim["t"].values
    k_sh, k_pr = trained_shared[0], next(k for k in private if g.paths[k].source == g.paths[trained_shared[0]].source
                                         and g.paths[k].target == g.paths[trained_shared[0]].target)  # fmt: skip
    plots.sim_vs_theory(ax[0, 0], tt, sim["loss"].values[:, None], th["loss"].values[:, None], title="loss",
                        ylabel="L = 1/(2P) sum ||y - f||^2", logy=True)  # fmt: skip
    plots.sim_vs_theory(ax[0, 1], tt, a_sim[:, k_sh], a_th[:, k_sh], title=f"shared: {names[k_sh]}",
                        ylabel="path strength a per mode")  # fmt: skip
    plots.sim_vs_theory(ax[0, 2], tt, a_sim[:, k_pr], a_th[:, k_pr], title=f"private: {names[k_pr]}",
                        ylabel="path strength a per mode")  # fmt: skip
    out.figure("race_pathways", fig, "The neural race of one trained pair: loss, and per mode the strength of its "
               "shared pathway (middle) and of its private pathway (right); full GD solid, the reduction's exact "
               "map dashed. The shared pathway, driven by every trained pair, takes the signal; the private one "
               "stays near its start.",
               checks=("ac7_map_vs_gd_paths", "ac7_shared_pathway_learns", "ac7_private_pathways_small"))  # fmt: skip
    return out
