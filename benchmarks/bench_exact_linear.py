"""Benchmark: exact QQ^T(t) (stable zero-balanced closed form) against fixed-step RK4.

Task: N_i = N_o = N_h = 100, whitened-like Sigma_yx = U diag(s~) V^T with s~ evenly spread in
[0.05, 1], zero-balanced initialisation W1 = R S0^{1/2} V0^T, W2 = U0 S0^{1/2} R^T with
S0 ~ U(0.005, 0.05) and the sign of det W2 W1(0) matched to det Sigma_yx (so B is invertible).
Output: QQ^T at the 1000 times t_k = (t_max / 1000) k, k = 1..1000, an array of 1000 x 200 x 200 float64 (320 MB)
for every method. ``--t-max`` defaults to 500, the horizon of the spec's Fig. 2 runs (10^4 GD steps at lr = .05);
``--t-max 20`` shows a short horizon.

RK4 step size: RK4 integrates tau dW/dt = ... with dt = (t_max / 1000) / r (so that every output time is a
step boundary). The script tries r = 1, 2, 4, ... and takes the smallest r whose max |QQ^T error|
over all 1000 outputs, measured against the closed form, is below 1e-10; the table of errors is
printed. (The closed form itself agrees with an independent ODE integration to ~1e-13, see
tests/theory/test_linear.py.) Timings are the best of ``--repeat`` runs, after a warm-up run
(which also compiles the JAX version).

A second comparison times a single output time, t = 20: the closed form costs the same at any
t, while RK4 must take all 20 / dt steps.

Both produce the same 320 MB of QQ^T in the first comparison, and forming QQ^T from a rank-100
factor costs 200 * 200 * 100 multiply-adds per time for either method; RK4 at dt = 0.01 adds only
~6x that in integration flops. So for dense output the speed-up is bounded by a small factor on
any hardware; the large factors appear when few times are needed, or long horizons.

Run:  python benchmarks/bench_exact_linear.py [--t-max 500] [--repeat 3] [--seed 0] [--blas-threads N]
(``--blas-threads 1`` sets OPENBLAS_NUM_THREADS/OMP_NUM_THREADS=1 before numpy is imported: on
small VMs, multithreaded OpenBLAS can make many small BLAS calls several times slower.)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

if "--blas-threads" in sys.argv:  # must happen before numpy is imported
    _n = sys.argv[sys.argv.index("--blas-threads") + 1]
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = _n

import jax
import jax.numpy as jnp
import numpy as np
from _timing import best_of  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

import learndyn  # noqa: F401  (enables float64 in JAX)
from learndyn.theory.linear import cond_b, qqt_zero_balanced

N = 100
N_OUT = 1000
TARGET = 1e-10


def orthogonal(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def make_task(seed):
    rng = np.random.default_rng(seed)
    U, V = orthogonal(rng, N), orthogonal(rng, N)
    sig = U @ np.diag(np.linspace(1.0, 0.05, N)) @ V.T
    U0, V0, R = orthogonal(rng, N), orthogonal(rng, N), orthogonal(rng, N)
    if np.linalg.det(U0 @ V0.T) * np.linalg.det(U @ V.T) < 0:
        U0[:, -1] *= -1.0  # match sign det W2 W1(0) to sign det Sigma (spec 2.3)
    s0 = np.sqrt(rng.uniform(0.005, 0.05, N))
    W1 = R @ np.diag(s0) @ V0.T
    W2 = U0 @ np.diag(s0) @ R.T
    return W1, W2, sig


def rk4_numpy(W1, W2, sig, dt, substeps, n_out):
    def f(a, b):
        E = sig - b @ a
        return b.T @ E, E @ a.T

    n_in = W1.shape[1]
    n = n_in + W2.shape[0]
    out = np.empty((n_out, n, n))
    a, b = W1.copy(), W2.copy()
    for k in range(n_out):
        for _ in range(substeps):
            k1a, k1b = f(a, b)
            k2a, k2b = f(a + 0.5 * dt * k1a, b + 0.5 * dt * k1b)
            k3a, k3b = f(a + 0.5 * dt * k2a, b + 0.5 * dt * k2b)
            k4a, k4b = f(a + dt * k3a, b + dt * k3b)
            a = a + dt / 6.0 * (k1a + 2.0 * k2a + 2.0 * k3a + k4a)
            b = b + dt / 6.0 * (k1b + 2.0 * k2b + 2.0 * k3b + k4b)
        Q = np.concatenate([a.T, b], axis=0)
        np.matmul(Q, Q.T, out=out[k])
    return out


def make_rk4_jax(substeps, n_out):
    def f(a, b, sig):
        E = sig - b @ a
        return b.T @ E, E @ a.T

    @jax.jit
    def run(W1, W2, sig, dt):
        def step(carry, _):
            a, b = carry
            k1a, k1b = f(a, b, sig)
            k2a, k2b = f(a + 0.5 * dt * k1a, b + 0.5 * dt * k1b, sig)
            k3a, k3b = f(a + 0.5 * dt * k2a, b + 0.5 * dt * k2b, sig)
            k4a, k4b = f(a + dt * k3a, b + dt * k3b, sig)
            a = a + dt / 6.0 * (k1a + 2.0 * k2a + 2.0 * k3a + k4a)
            b = b + dt / 6.0 * (k1b + 2.0 * k2b + 2.0 * k3b + k4b)
            return (a, b), None

        def record(carry, _):
            carry, _ = jax.lax.scan(step, carry, None, length=substeps)
            Q = jnp.concatenate([carry[0].T, carry[1]], axis=0)
            return carry, Q @ Q.T

        _, qqt = jax.lax.scan(record, (W1, W2), None, length=n_out)
        return qqt

    return run




def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--t-max", type=float, default=500.0, help="last output time (outputs evenly spaced)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-substeps", type=int, default=64)
    p.add_argument("--blas-threads", type=int, default=None, help="BLAS threads (env vars)")
    args = p.parse_args()

    W1, W2, sig = make_task(args.seed)
    T_OUT = args.t_max / N_OUT
    t = T_OUT * np.arange(1, N_OUT + 1)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
        f"numpy {np.__version__}, jax {jax.__version__} ({jax.default_backend()}); "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
    )
    print(f"task: N_i = N_o = N_h = {N}, {N_OUT} times in (0, {t[-1]:g}], cond(B) = {cond_b(W1, W2, sig):.3g}")

    exact = qqt_zero_balanced(W1, W2, sig, t)

    print("\nRK4 step size (error of RK4 against the closed form, max over all outputs):")
    substeps = None
    r = 1
    while r <= args.max_substeps:
        dt = T_OUT / r
        qq = np.asarray(make_rk4_jax(r, N_OUT)(W1, W2, sig, dt))
        err = float(np.max(np.abs(qq - exact)))
        print(f"  dt = {dt:.5f} ({r:3d} steps per output): max|error| = {err:.2e}")
        if err < TARGET:
            substeps = r
            break
        r *= 2
    if substeps is None:
        raise SystemExit(f"RK4 did not reach {TARGET:g} with {args.max_substeps} substeps")
    dt = T_OUT / substeps
    print(f"  -> dt = {dt:g}: {substeps * N_OUT} RK4 steps")

    t_exact = best_of(lambda: qqt_zero_balanced(W1, W2, sig, t), args.repeat)
    rk4j = make_rk4_jax(substeps, N_OUT)
    t_jax = best_of(lambda: np.asarray(rk4j(W1, W2, sig, dt)), args.repeat)
    t_np = best_of(lambda: rk4_numpy(W1, W2, sig, dt, substeps, N_OUT), max(1, args.repeat - 2))
    err_np = float(np.max(np.abs(rk4_numpy(W1, W2, sig, dt, substeps, N_OUT) - exact)))

    t_end = t[-1:]
    t_exact1 = best_of(lambda: qqt_zero_balanced(W1, W2, sig, t_end), args.repeat)
    rk4j1 = make_rk4_jax(substeps * N_OUT, 1)
    t_jax1 = best_of(lambda: np.asarray(rk4j1(W1, W2, sig, dt)), args.repeat)

    print(f"\n1) QQ^T at all {N_OUT} times (best of runs, seconds):")
    print(f"  exact, qqt_zero_balanced (numpy, vectorised over t): {t_exact:8.3f}")
    print(f"  RK4, JAX jit + lax.scan, dt = {dt:g}:                {t_jax:8.3f}")
    print(f"  RK4, numpy loop, dt = {dt:g} (max|err| {err_np:.1e}):    {t_np:8.3f}")
    print(
        f"  speed-up of the exact solution: {t_jax / t_exact:.1f}x over JAX RK4, "
        f"{t_np / t_exact:.1f}x over numpy RK4 (target >= 100x)"
    )
    print(f"2) QQ^T at t = {t_end[0]:g} only:")
    print(f"  exact, qqt_zero_balanced:                            {t_exact1:8.4f}")
    print(f"  RK4, JAX jit + lax.scan, {substeps * N_OUT} steps:                {t_jax1:8.4f}")
    print(f"  speed-up of the exact solution: {t_jax1 / t_exact1:.0f}x over JAX RK4")


if __name__ == "__main__":
    main()
