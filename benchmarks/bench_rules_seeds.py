"""Benchmark: ``simulate`` with a batch of seeds (vmapped) against one seed alone, for GD and FA.

Run from the repository root::

    python benchmarks/bench_rules_seeds.py             # width 256, 3 hidden layers, P = 256, 200 steps, 32 seeds

Reported per rule: one seed (warm), all seeds in one vmapped call (warm), and the per-seed cost ratio
``(t_batch / S) / t_one`` (target: at most 1.5). The four runs are timed in turn, round after round (best of
``--repeats``), so that load from other processes does not favour one rule.
"""

from __future__ import annotations

import argparse

import jax
from _timing import best_of_interleaved  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

from learndyn import rules, tasks, train
from learndyn.nets import MLP


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--seeds", type=int, default=32)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--P", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    task = tasks.random_regression(args.P, 20, 1, seed=0)
    net = MLP((20, args.width, args.width, args.width, 1), activation="relu")
    keys = jax.random.split(jax.random.key(0), args.seeds)
    batched = jax.vmap(net.init)(keys)
    one = net.init(keys[0])
    lr = 0.01
    t = [0.0, lr * args.steps]
    print(f"width {args.width}, 3 hidden layers, P = {args.P}, {args.steps} steps, {args.seeds} seeds, float64")
    names = ("gd", "fa")
    calls = []
    for name in names:
        rule = rules.get(name, net)
        calls += [lambda rule=rule, p=p: train.simulate(net, rule, task, p, lr=lr, t=t) for p in (one, batched)]
    # All four timings in turn, round after round: load from other processes on a shared machine then hits both rules
    # alike instead of whichever was measured during a burst.
    times = best_of_interleaved(calls, args.repeats)
    for name, t_one, t_all in zip(names, times[0::2], times[1::2], strict=True):
        ratio = (t_all / args.seeds) / t_one
        print(
            f"{name:3s}: one seed {t_one:.3f} s | {args.seeds} seeds vmapped {t_all:.3f} s | per-seed ratio {ratio:.2f}"
        )


if __name__ == "__main__":
    main()
