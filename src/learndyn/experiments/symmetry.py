"""symmetry: the gradient flow of a wide two-layer ReLU net keeps the symmetries its target and its initialisation
share (Hajjar & Chizat 2023; spec ``integrable_and_meanfield.md`` C1 "Symmetry preservation", C5 last check).

Setting: ``x ~ N(0, I_d)``, ``d = 10``, the radial target ``f*(x) = ||P_H x||`` on the first ``d_H = 4`` coordinates
(:func:`learndyn.populations.radial`), invariant under ``T`` = the cyclic permutation of the coordinates of ``H``
(order 4; ``rho o T^-1 = rho`` and ``f* o T = f*``). Particles (:class:`learndyn.nets.meanfield.MeanFieldReLU`) with
``a ~ Unif{+-1}``, ``b ~ Unif(S^{d-1})``; the ``T``-symmetrised net adds every neuron's images ``(a, T^k b)``
(:meth:`MeanFieldReLU.symmetrise`), so ``mu_0`` is ``T``-invariant. Online SGD (:func:`learndyn.online.sgd`,
``lr = m eta``, ``t = eta * step``) on fresh batches of 256, in three runs from nets of the same width:

- symmetric neurons and batches closed under ``T`` (every draw ``x`` with ``T x, T^2 x, T^3 x``): the batch gradient
  is ``T``-equivariant, so the invariance ``f_t o T = f_t`` must hold to rounding at every step;
- symmetric neurons, plain batches: the minibatch noise breaks it;
- plain (not symmetrised) neurons, batches closed under ``T``: it is broken from the start.

Checks: the violation ``max_t ||f_t o T - f_t|| / ||f_t||`` (on 1000 fresh points) is <= 1e-12 for the first run and
>= 1e-6 for the other two, and the first run learns (final validation loss <= 0.5 x the initial one).

Quick mode: 600 steps instead of 3000; every check is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np
import xarray as xr

from learndyn import neurons, online, plots, populations
from learndyn.experiments.config import ExperimentConfig, option
from learndyn.experiments.registry import experiment
from learndyn.nets.meanfield import MeanFieldReLU
from learndyn.results import Outcome


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Configuration of symmetry."""

    seed: int = option(0, "seed of the neurons and the batches", ge=0)
    d: int = option(10, "input dimension", ge=2)
    d_H: int = option(4, "dimension of the target's subspace H (T cycles its coordinates)", ge=2)
    m: int = option(64, "neurons before symmetrisation (the nets have m * d_H)", ge=2)
    batch_size: int = option(256, "batch per step (a multiple of d_H)", ge=2)
    eta: float = option(5e-2, "time step; the learning rate is m * eta", gt=0)
    steps: int = option(3000, "SGD steps", ge=10)
    n_records: int = option(31, "records along the run", ge=2)

    def check(self):
        if self.d_H > self.d:
            raise ValueError(f"d_H must be <= d; got d_H = {self.d_H}, d = {self.d}")
        if self.batch_size % self.d_H:
            raise ValueError(f"batch_size must be a multiple of d_H = {self.d_H}; got {self.batch_size}")


@experiment(
    "symmetry",
    Config,
    quick={"steps": 600},
    description="two-layer ReLU particles keep f o T = f exactly when target, init and batches share T",
)
def run(cfg: Config) -> Outcome:
    out = Outcome()
    pop = populations.radial(cfg.d, cfg.d_H)
    T = np.eye(cfg.d)
    T[: cfg.d_H, : cfg.d_H] = np.roll(np.eye(cfg.d_H), 1, axis=0)  # x_H -> its cyclic shift
    small = MeanFieldReLU(cfg.d, cfg.m)
    net, p_sym = small.symmetrise(small.init(jax.random.key(cfg.seed)), T)
    p_plain = net.init(jax.random.key(cfg.seed + 1))
    t = np.linspace(0.0, cfg.eta * cfg.steps, cfg.n_records)
    Xv, yv = (np.asarray(a) for a in pop.sample(jax.random.key(cfg.seed + 7), 1000))
    apply = jax.jit(jax.vmap(lambda p, X: net.apply(p, X)[0][:, 0], in_axes=(0, None)))
    runs = {
        "symmetric init, T-closed batches": (p_sym, T),
        "symmetric init, plain batches": (p_sym, None),
        "plain init, T-closed batches": (p_plain, T),
    }
    viol, loss = {}, {}
    for k, (name, (p0, sym)) in enumerate(runs.items()):
        r = online.sgd(net, p0, pop, eta=cfg.eta, t=t, batch_size=cfg.batch_size, key=cfg.seed * 100 + k,
                       symmetry=sym)  # fmt: skip
        f, fT = np.asarray(apply(r.params, Xv)), np.asarray(apply(r.params, Xv @ T.T))
        viol[name] = neurons.symmetry_violation(f, fT)
        loss[name] = 0.5 * np.mean((f - yv) ** 2, axis=1)
    names = list(runs)
    out.data["violation"] = xr.Dataset(
        {"violation": (("run", "t"), np.stack([viol[n] for n in names])),
         "val_loss": (("run", "t"), np.stack([loss[n] for n in names]))},
        coords={"run": names, "t": t}, attrs={"source": "simulation", "m": net.m, "T": "cyclic shift of x_H"},
    )  # fmt: skip
    out.check(
        "invariance_kept",
        float(viol[names[0]].max()),
        "<=",
        1e-12,
        f"max_t ||f_t o T - f_t|| / ||f_t|| with T-symmetrised neurons ({net.m}) and batches closed under T",
    )
    out.check(
        "broken_by_plain_batches",
        float(viol[names[1]].max()),
        ">=",
        1e-6,
        "the same with plain batches: the minibatch noise is not T-symmetric",
    )
    out.check(
        "broken_by_plain_init",
        float(viol[names[2]].min()),
        ">=",
        1e-6,
        "min_t of the same with plain neurons and T-closed batches: never invariant",
    )
    out.check(
        "symmetric_run_learns",
        float(loss[names[0]][-1] / loss[names[0]][0]),
        "<=",
        0.5,
        "final over initial validation loss of the symmetric run",
    )

    fig, ax = plots.figure(2, 1, width=4.2)
    for n in names:
        ax[0, 0].semilogy(t, np.maximum(viol[n], 1e-17), label=n)
        ax[0, 1].plot(t, loss[n], label=n)
    ax[0, 0].set(xlabel="t = eta * step", ylabel="||f o T - f|| / ||f||", title="symmetry violation")
    ax[0, 1].set(xlabel="t = eta * step", ylabel="validation loss", title="loss")
    for a in ax[0]:
        a.legend(frameon=False, fontsize=7)
    out.figure("symmetry", fig, "Left: relative violation of f o T = f on fresh points (floored at 1e-17 for the log "
               "axis) for the three runs; only the run whose neurons and batches are both T-symmetric stays at "
               "rounding. Right: validation losses.",
               checks=("invariance_kept", "broken_by_plain_batches", "broken_by_plain_init"))  # fmt: skip
    return out
