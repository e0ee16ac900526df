"""Benchmark: one full-batch GD step of a wide MLP under ``simulate``, against the matrix-multiply floor.

Net ``MLP((n_in, W, W, W, n_out), "relu")`` (defaults n_in = 64, W = 2048, n_out = 10), P = 1024 items, GD through
``train.simulate(net, "gd", task, params, lr=lr, t=[0, lr * k])``.

Per-step time. A call with ``k`` steps also pays a fixed cost: validation, the rule's init, copying the params in
and the two records out, the initial loss and one extra forward pass for the loss recorded at the end. So the script
times ``k = K`` and ``k = 1`` (same compiled code: the step count is traced) and reports
``(t(K) - t(1)) / (K - 1)``; both are the best of ``--repeats`` warm calls, made in turn so that load from other
processes on a shared machine hits both alike. A per-step rate above the GEMM rate means that noise still won
(the script says so): rerun it.

FLOPs of one step, counted exactly for the matrix products (elementwise work is O(P W), negligible):
forward ``2 P sum_l n_{l-1} n_l``; backward for GD: weight gradients ``2 P sum_l n_{l-1} n_l`` plus the
back-propagated signals of layers ``l >= 2``, ``2 P sum_{l>=2} n_{l-1} n_l`` (the input gradient of layer 1 is not
needed). The floor is these FLOPs divided by the rate of one jitted ``(P x W) @ (W x W)`` GEMM measured in the same
run and dtype; the ratio step time / floor is the target (at most 2).

A "bare step" (one jitted ``jax.value_and_grad`` of the loss plus the update, outside any loop) is timed as well, to
tell the cost of the loop machinery (divergence check, freeze, carry) from the cost of XLA's step itself.

Run from the repository root::

    python benchmarks/bench_step.py                     # float32 and float64, K = 4
    python benchmarks/bench_step.py --width 512 --P 256 # a quick smoke run
"""

from __future__ import annotations

import argparse
import platform

import jax
import jax.numpy as jnp
import numpy as np
from _timing import best_of, best_of_interleaved  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

from learndyn import tasks, train
from learndyn.nets import MLP


def step_flops(sizes, P: int) -> int:
    """Matrix-multiply FLOPs of one full-batch GD step of an MLP with widths ``sizes`` on ``P`` items.

    Parameters
    ----------
    sizes : sequence of int
        ``(n_0, ..., n_L)``.
    P : int
        Number of items.

    Returns
    -------
    int
        ``2 P (2 sum_l n_{l-1} n_l + sum_{l>=2} n_{l-1} n_l)``: forward, weight gradients, back-propagated signals.

    Examples
    --------
    >>> step_flops((2, 3, 1), 10)  # layers 2x3 and 3x1: 2*10*(2*(6 + 3) + 3)
    420
    """
    prods = [a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    return 2 * P * (2 * sum(prods) + sum(prods[1:]))


def gemm_rate(P: int, width: int, dtype, repeats: int) -> float:
    """FLOP/s of one jitted ``(P x width) @ (width x width)`` product in ``dtype`` (best of ``repeats``).

    Parameters
    ----------
    P, width : int
        The product's shape, that of a hidden layer's forward pass.
    dtype : numpy dtype
    repeats : int

    Returns
    -------
    float
        ``2 P width^2`` over the best wall-clock seconds.
    """
    keys = jax.random.split(jax.random.key(0))
    A = jax.random.normal(keys[0], (P, width), dtype)
    B = jax.random.normal(keys[1], (width, width), dtype)
    matmul = jax.jit(jnp.matmul)
    seconds = best_of(lambda: matmul(A, B).block_until_ready(), repeats)
    return 2 * P * width * width / seconds


def bare_step_seconds(net, task, params, lr: float, repeats: int) -> float:
    """Seconds of one jitted GD step (``jax.value_and_grad`` of the loss and the update), outside any loop.

    Parameters
    ----------
    net : MLP
    task : learndyn.tasks.Task
    params : dict
        The net's params; their dtype is the step's.
    lr : float
    repeats : int

    Returns
    -------
    float
        Best wall-clock seconds of ``repeats`` warm calls.
    """
    dtype = params["W"][0].dtype
    X, Y = jnp.asarray(task.X, dtype), jnp.asarray(task.Y, dtype)

    def loss(p):
        r = net.apply(p, X)[0] - Y
        return 0.5 * jnp.sum(r * r) / X.shape[0]

    @jax.jit
    def step(p):
        value, grads = jax.value_and_grad(loss)(p)
        return value, jax.tree_util.tree_map(lambda w, g: w - lr * g, p, grads)

    return best_of(lambda: jax.block_until_ready(step(params)), repeats)


def measure(net, task, dtype: str, lr: float, k: int, repeats: int) -> dict:
    """Per-step seconds of ``simulate`` (differenced), the bare step, and the GEMM rate, for one dtype.

    Parameters
    ----------
    net : MLP
    task : learndyn.tasks.Task
    dtype : str
        ``"float32"`` or ``"float64"``.
    lr : float
    k : int
        Steps of the longer run (the shorter has 1).
    repeats : int

    Returns
    -------
    dict
        ``t_k``, ``t_1``, ``per_step``, ``bare`` (seconds), ``flops`` (per step), ``gemm`` (FLOP/s) and ``ratio``
        (per-step time over the floor ``flops / gemm``).
    """
    params = net.init(jax.random.key(0), dtype=dtype)

    def run(n):
        return train.simulate(net, "gd", task, params, lr=lr, t=[0.0, lr * n])

    width = max(net.sizes[1:-1])
    # The GEMM rate before and after the step timings, best of both: on a shared machine a burst of load from other
    # processes must not make the floor look slower than it is (which would flatter the ratio).
    rate = gemm_rate(task.P, width, jnp.dtype(dtype), 10)
    t_k, t_1 = best_of_interleaved([lambda: run(k), lambda: run(1)], repeats)
    rate = max(rate, gemm_rate(task.P, width, jnp.dtype(dtype), 10))
    flops = step_flops(net.sizes, task.P)
    per_step = (t_k - t_1) / (k - 1)
    return {
        "dtype": dtype,
        "t_k": t_k,
        "t_1": t_1,
        "per_step": per_step,
        "bare": bare_step_seconds(net, task, params, lr, repeats),
        "flops": flops,
        "gemm": rate,
        "ratio": per_step / (flops / rate),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--hidden", type=int, default=3, help="number of hidden layers")
    parser.add_argument("--n-in", type=int, default=64)
    parser.add_argument("--n-out", type=int, default=10)
    parser.add_argument("--P", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=4, help="K: the longer run's steps (differenced with 1 step)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    args = parser.parse_args()
    if args.steps < 2:
        parser.error("--steps must be >= 2 (the per-step time is t(K) - t(1) over K - 1 steps)")
    sizes = (args.n_in, *([args.width] * args.hidden), args.n_out)
    net = MLP(sizes, "relu")
    task = tasks.random_regression(args.P, args.n_in, args.n_out, seed=0)
    lr = 0.01
    print(
        f"{platform.machine()}, {jax.devices()[0].platform}, jax {jax.__version__}, numpy {np.__version__}: "
        f"MLP {sizes} relu, P = {args.P}, GD, K = {args.steps}, best of {args.repeats}"
    )
    print(f"FLOPs per step: {step_flops(sizes, args.P) / 1e9:.2f} GFLOP")
    for dtype in args.dtypes:
        r = measure(net, task, dtype, lr, args.steps, args.repeats)
        print(
            f"{dtype}: t({args.steps}) {r['t_k']:.3f} s, t(1) {r['t_1']:.3f} s -> per step {r['per_step']:.3f} s "
            f"({r['flops'] / r['per_step'] / 1e9:.1f} GFLOP/s) | bare jitted step {r['bare']:.3f} s | "
            f"GEMM {r['gemm'] / 1e9:.1f} GFLOP/s, floor {r['flops'] / r['gemm']:.3f} s | ratio {r['ratio']:.2f}"
        )
        if r["ratio"] < 0.9:
            print(f"  warning: {dtype} ran faster than its GEMM rate allows: timing noise (load?), rerun")


if __name__ == "__main__":
    main()
