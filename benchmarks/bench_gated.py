"""Benchmark: gated deep linear networks — the neural race reduction against full simulation, and the training
rate of a 100-domain routing graph.

Run from the repository root::

    python benchmarks/bench_gated.py

1. The routing task of ``learndyn run routing`` (M = 7, 4 items, 28 of 49 pairs, hidden width 64), decoupled start
   b0 = 0.08, lr = 0.16 (the reference's eta = 0.02), 500 steps (t = 80: every mode learned, loss 7e-21 in the
   reference normalisation), 101 records. Timed warm (compiled), best of 5: full GD of the whole network
   (``train.simulate``), the reduction's exact per-mode map (``Reduction.gd``), its gradient flow
   (``Reduction.flow``, solve_ivp), and the routing closed form (``theory.routing.modes``) at the same times.
2. A 100-domain routing graph (the MNIST setting's domain count): 100 input domains of 64 features, a shared
   64 -> 64 hidden edge, 100 output domains of 10, K = 10 trained outputs per input (1000 pairs), one item per pair
   per step (1000 examples), full-batch GD steps; the rate in steps/s and examples/s, and the share of the work
   that the gates leave useful (each example uses 1 of the 100 encoders and decoders).
"""

from __future__ import annotations

import time

import jax
import numpy as np
from _timing import best_of

from learndyn import graphs, train
from learndyn.nets.gated import GatedDLN
from learndyn.theory import gated as tg
from learndyn.theory import routing


def routing_speed():
    X, Y = graphs.hierarchy_items()
    g = graphs.routing(7, 4, 64, 7)
    pairs = graphs.cyclic_pairs(7, (-1, 0, 1, 2))
    task = graphs.pairs_task(g, X, Y, pairs)
    net = GatedDLN(g)
    t0 = time.perf_counter()
    red = tg.reduce(g, task, b0=0.08)
    setup = time.perf_counter() - t0
    p0 = net.decoupled(red.bases, 0.08)
    steps = np.arange(0, 501, 5)
    lr = 0.16
    t = lr * steps
    s = np.linalg.svd(Y.T @ X, compute_uv=False)
    times = {
        "full GD (simulate)": best_of(lambda: train.simulate(net, "gd", task, p0, lr=lr, t=t), 5),
        "reduction, exact GD map": best_of(lambda: red.gd(lr, t), 5),
        "reduction, gradient flow (solve_ivp)": best_of(lambda: red.flow(t), 3),
        "routing closed form": best_of(
            lambda: routing.modes(s, 7, 4, routing.reference_time(steps, 0.02, 7, 4, 7), b0=0.08), 5
        ),
    }
    full = times["full GD (simulate)"]
    print(f"routing M = 7, 500 steps, 101 records (reduction setup: correlations + bases {setup * 1e3:.1f} ms)")
    print("| method | seconds | speed-up vs full GD |")
    print("|---|---|---|")
    for name, sec in times.items():
        print(f"| {name} | {sec * 1e3:.2f} ms | {full / sec:.0f}x |")
    _, b = red.gd(lr, t)
    sim = train.simulate(net, "gd", task, p0, lr=lr, t=t)
    print(f"(max |L_map - L_GD| / L0 = {np.abs(red.loss(b) - sim.loss).max() / sim.loss[0]:.1e})")


def hundred_domains(M=100, K=10, n_in=64, H=64, n_out=10, steps=20):
    g = graphs.routing(M, n_in, H, n_out)
    rng = np.random.default_rng(0)
    Xi, Yi = rng.standard_normal((1, n_in)), rng.standard_normal((1, n_out))
    pairs = graphs.cyclic_pairs(M, range(K))
    t0 = time.perf_counter()
    task = graphs.pairs_task(g, Xi, Yi, pairs)
    build = time.perf_counter() - t0
    net = GatedDLN(g)
    p0 = net.init(jax.random.key(0), 0.1)
    lr = 0.05
    sec = best_of(lambda: train.simulate(net, "gd", task, p0, lr=lr, t=[0.0, lr * steps]), 2)
    per_step = sec / steps
    dense = sum(a * b for a, b in (g.edge_shape(e) for e in range(len(g.edges))))
    useful = n_in * H + H * H + H * n_out
    print(f"\n100-domain routing graph: {len(g.edges)} edges, {len(g.paths)} paths, {task.P} examples "
          f"(task built in {build:.2f} s)")  # fmt: skip
    print("| steps/s | examples/s | ms per step | useful share of the forward work |")
    print("|---|---|---|---|")
    print(f"| {1 / per_step:.1f} | {task.P / per_step:.3g} | {per_step * 1e3:.1f} | {useful / dense:.3f} |")


if __name__ == "__main__":
    routing_speed()
    hundred_domains()
