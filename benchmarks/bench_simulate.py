"""Benchmark: GD for many seeds, vmapped (simulate_gd_seeds) against a Python loop of simulate_gd.

Both sides run the same jit-compiled scan; the loop calls ``simulate_gd`` once per seed (the way a
user without ``simulate_gd_seeds`` would), the vmapped side makes one call for all seeds. Reported:

- "with compile": the first full pass over all seeds in a fresh process (one compilation each);
- "steady state": the best of ``--repeats`` warm passes (compiled code reused).

Run from the repository root::

    python benchmarks/bench_simulate.py            # 10-50-10, P=100, 2000 steps, 64 seeds
    python benchmarks/bench_simulate.py --quick    # smaller, for a smoke test

Results are printed; the lead records them in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax
import numpy as np

from learndyn import train


def make_problem(n_in, n_h, n_out, P, n_seeds, seed=0):
    """A random teacher task and small Gaussian initialisations, one per seed."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((P, n_in))
    teacher = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
    Y = X @ teacher.T + 0.1 * rng.standard_normal((P, n_out))
    inits = [
        (
            0.1 * rng.standard_normal((n_h, n_in)) / np.sqrt(n_in),
            0.1 * rng.standard_normal((n_out, n_h)) / np.sqrt(n_h),
        )
        for _ in range(n_seeds)
    ]
    return X, Y, inits


def run_loop(X, Y, inits, lr, t, activation):
    return [train.simulate_gd(X, Y, w, lr=lr, t=t, activation=activation) for w in inits]


def run_vmap(X, Y, batched, lr, t, activation):
    return train.simulate_gd_seeds(X, Y, batched, lr=lr, t=t, activation=activation)


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def bench(label, dims, P, steps, n_seeds, n_records, activation, repeats, lr=0.01):
    n_in, n_h, n_out = dims
    X, Y, inits = make_problem(n_in, n_h, n_out, P, n_seeds)
    batched = train.stack_weights(inits)
    t = train.linear_times(lr * steps, n_records)

    # First passes include compilation (each side compiles its own program once).
    loop_first, loop_res = timed(run_loop, X, Y, inits, lr, t, activation)
    vmap_first, vmap_res = timed(run_vmap, X, Y, batched, lr, t, activation)

    loop_warm = min(timed(run_loop, X, Y, inits, lr, t, activation)[0] for _ in range(repeats))
    vmap_warm = min(timed(run_vmap, X, Y, batched, lr, t, activation)[0] for _ in range(repeats))

    # The two must agree, or the timing compares different computations.
    diff = max(
        float(np.abs(vmap_res.weights[layer][s] - loop_res[s].weights[layer]).max())
        for s in range(n_seeds)
        for layer in range(len(inits[0]))
    )
    print(f"\n{label}: {n_in}-{n_h}-{n_out}, P={P}, {activation}, {steps} steps, {n_records} records, {n_seeds} seeds")
    print(f"  max |vmap - loop| over all recorded weights: {diff:.1e}")
    print(f"  {'':22s}{'loop total':>12s}{'per seed':>12s}{'vmap total':>12s}{'per seed':>12s}{'speed-up':>10s}")
    for name, lo, vm in (("with compile", loop_first, vmap_first), ("steady state", loop_warm, vmap_warm)):
        print(
            f"  {name:22s}{lo:11.3f}s{1e3 * lo / n_seeds:10.2f}ms{vm:11.3f}s{1e3 * vm / n_seeds:10.2f}ms{lo / vm:9.2f}x"
        )
    per_step = 1e6 / (n_seeds * steps)
    print(f"  steady state per seed and step: loop {loop_warm * per_step:.2f} us, vmap {vmap_warm * per_step:.2f} us")
    return loop_warm / vmap_warm


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=64)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--records", type=int, default=101)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="8 seeds, 200 steps")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.steps, args.repeats = 8, 200, 1

    print(
        f"learndyn {train.__name__}: jax {jax.__version__} on {jax.devices()[0].platform}, "
        f"{os.cpu_count()} CPU cores, {platform.processor() or platform.machine()}, float64"
    )
    common = dict(steps=args.steps, n_seeds=args.seeds, n_records=args.records, repeats=args.repeats)
    results = {
        "10-50-10 linear (brief)": bench("10-50-10 linear", (10, 50, 10), 100, activation="linear", **common),
        "10-50-10 tanh": bench("10-50-10 tanh", (10, 50, 10), 100, activation="tanh", **common),
        "5-10-2 linear (spec Fig. 1 size)": bench("5-10-2 linear", (5, 10, 2), 10, activation="linear", **common),
    }
    print("\nsteady-state speed-up of vmap over the per-seed loop:")
    for name, speedup in results.items():
        print(f"  {name:34s} {speedup:5.2f}x")


if __name__ == "__main__":
    main()
