"""Benchmark: online SGD of mean-field two-layer ReLU particles (``learndyn.online.sgd``) against the matrix-multiply
floor measured in the same run.

Run from the repository root::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_meanfield.py

Setting of the issue: m = 1024 neurons, d = 20, batch 512, 5000 steps (fresh Gaussian batches, the odd cubic
target, eta = 1e-2, 51 records), float64 and float32, warm (compiled), best of 3. The floor is a jitted loop of the
two products every step needs (the forward ``X b^T``, 512 x 20 x 1024, and the gradient of ``b``, its transpose
product), with the same trip count, and the elementwise work of a step (relu, mask, residual) left out.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from _timing import best_of

from learndyn import online, populations
from learndyn.nets.meanfield import MeanFieldReLU


def floor(m, d, B, steps, dtype):
    X = jnp.ones((B, d), dtype)
    b = jnp.ones((m, d), dtype) / d

    @jax.jit
    def loop(b):
        def body(_, b):
            Z = X @ b.T  # forward
            return b - 1e-9 * (Z.T @ X)  # the gradient's product (a stand-in for (r a 1{Z>0})^T X)

        return jax.lax.fori_loop(0, steps, body, b)

    return best_of(lambda: loop(b).block_until_ready(), 3)


def main(m=1024, d=20, B=512, steps=5000):
    rng = np.random.default_rng(0)
    z = rng.normal(size=d)
    pop = populations.cubic_odd(z, C=np.sqrt(2 * d**3 / 15) / np.linalg.norm(z), std=1 / np.sqrt(d))
    net = MeanFieldReLU(d, m)
    t = np.linspace(0.0, steps * 1e-2, 51)
    print(f"m = {m}, d = {d}, batch {B}, {steps} steps")
    print("| precision | online.sgd | per step | matmul floor | ratio |")
    print("|---|---|---|---|---|")
    for dtype in ("float64", "float32"):
        p0 = net.init(jax.random.key(0), symmetric=True, dtype=dtype)
        sec = best_of(lambda p0=p0: online.sgd(net, p0, pop, eta=1e-2, t=t, batch_size=B, antithetic=True), 3)
        fl = floor(m, d, B, steps, jnp.dtype(dtype))
        print(f"| {dtype} | {sec:.2f} s | {sec / steps * 1e6:.0f} us | {fl:.2f} s | {sec / fl:.1f}x |")


if __name__ == "__main__":
    main()
