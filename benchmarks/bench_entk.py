"""Benchmark: the structured eNTK (``observables.entk``, from the forward cache) against the autodiff Jacobian
contraction ``J J^T`` (``observables.ntk_autodiff``) for GD, where the two must agree.

Run from the repository root::

    python benchmarks/bench_entk.py                 # 3 hidden layers of width 512, ReLU, 128 inputs, 1 output
    python benchmarks/bench_entk.py --width 128     # smaller

Both sides are timed warm (best of ``--repeats`` after one call that compiles/caches); the structured side also
reports the largest difference to autodiff.
"""

from __future__ import annotations

import argparse
import platform

import jax
import numpy as np
from _timing import best_of  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

from learndyn import observables, rules
from learndyn.nets import MLP


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--depth", type=int, default=3, help="hidden layers")
    parser.add_argument("--P", type=int, default=128)
    parser.add_argument("--n-in", type=int, default=32)
    parser.add_argument("--n-out", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = (args.n_in,) + (args.width,) * args.depth + (args.n_out,)
    net = MLP(sizes, activation="relu")
    params = net.init(jax.random.key(0))
    X = np.random.default_rng(0).standard_normal((args.P, args.n_in))
    gd = rules.GD(net)
    structured = best_of(lambda: observables.entk(net, gd, params, X), args.repeats)
    autodiff = best_of(lambda: observables.ntk_autodiff(X, params, net), args.repeats)
    err = np.max(np.abs(observables.entk(net, gd, params, X) - observables.ntk_autodiff(X, params, net)))
    print(f"{platform.machine()}, jax {jax.__version__}, float64, sizes {sizes}, P = {args.P}")
    print(f"structured eNTK {structured * 1e3:.1f} ms | autodiff J J^T {autodiff * 1e3:.1f} ms | "
          f"speed-up {autodiff / structured:.1f}x | max |difference| {err:.2e}")  # fmt: skip


if __name__ == "__main__":
    main()
