"""Benchmark: one low-dimensional target, three systems (``low-dim-target``'s long run): full mean-field particles
(``learndyn.online.sgd``), the reduced ``(a, b_H, ||b_perp||)`` particles (``learndyn.theory.lowdim.sgd``) and the
radial 1-D Monte-Carlo solver (``learndyn.theory.radial.solve``), from the same initial neurons.

Run from the repository root::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_lowdim.py

Setting: d = 20, d_H = 5, inputs on the sqrt(d) sphere, f* = ||x_H||, m = 1024, eta = 0.05, 2000 steps, 26 records;
particles and reduced particles with batch 256; the 1-D solver with n_mc = 1000 samples per step and 1 or 8 shared
predictor draws. Warm (compiled), best of 3, float64.
"""

from __future__ import annotations

import jax
import numpy as np
from _timing import best_of

from learndyn import online, populations
from learndyn.nets.meanfield import MeanFieldReLU
from learndyn.theory import lowdim, radial


def main(d=20, d_H=5, m=1024, eta=0.05, steps=2000, B=256, n_mc=1000):
    pop = populations.radial(d, d_H, law="sphere")
    net, red = MeanFieldReLU(d, m), lowdim.LowDim(d, d_H)
    p0 = net.init(jax.random.key(0))
    pr = red.pushforward(p0["a"], p0["b"])
    th, c, eps = radial.from_particles(p0["a"], p0["b"], d_H)
    t = np.linspace(0.0, eta * steps, 26)
    runs = {
        f"full particles (batch {B})": lambda: online.sgd(net, p0, pop, eta=eta, t=t, batch_size=B, key=1),
        f"reduced (a, b_H, r) (batch {B})": lambda: lowdim.sgd(red, pr, pop, eta=eta, t=t, batch_size=B, key=1),
        f"1-D solver (n_mc {n_mc}, 1 draw)": lambda: radial.solve(th, c, eps, d=d, d_H=d_H, eta=eta, t=t, n_mc=n_mc,
                                                                  n_loss=1000, key=1),
        f"1-D solver (n_mc {n_mc}, 8 draws)": lambda: radial.solve(th, c, eps, d=d, d_H=d_H, eta=eta, t=t,
                                                                   n_mc=n_mc, n_loss=1000, predictor_draws=8, key=1),
    }
    print(f"d = {d}, d_H = {d_H}, m = {m}, {steps} steps")
    print("| system | time | per step |")
    print("|---|---|---|")
    for name, fn in runs.items():
        sec = best_of(fn, 3)
        print(f"| {name} | {sec:.2f} s | {sec / steps * 1e3:.2f} ms |")


if __name__ == "__main__":
    main()
