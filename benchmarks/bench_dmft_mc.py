"""Benchmark: the Monte-Carlo DMFT of deep nonlinear nets (``learndyn.theory.dmft_mc.solve``).

Run from the repository root::

    python benchmarks/bench_dmft_mc.py                 # the two reference settings and the scaling tables
    python benchmarks/bench_dmft_mc.py --skip-scaling  # the reference settings only

Reference settings, those of the predecessor solver (Bordelon & Pehlevan 2022, ``dmft_wide_networks``), whose
notebooks need about 18 h and 2.7 GB (``deep_nonlinear_DMFT.ipynb``: three hidden layers, phi = tanh(0.8 h) / 0.8,
P = 10, D = 25, T = 100, gamma0 = 1, eta = 0.1, S = 1000, 20 outer iterations) and about 30 min
(``two_layer_nonlinear_DMFT.ipynb``: ReLU, P = 25, D = 40, T = 200, gamma0 = 3, eta = 0.075, S = 1000) on this
machine (measured by the issue's author). learndyn's solver is one causal pass (no outer iteration); each timing
includes its S/2 Monte-Carlo check (``mc_check=True``, the default), and peak memory is the process's resident set
measured in a fresh subprocess per setting.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

DEEP = {"n_hidden": 3, "activation": "scaled_tanh", "rule": "gd", "gamma0": 1.0, "eta": 0.1, "steps": 100}
TWO = {"n_hidden": 1, "activation": "relu", "rule": "gd", "gamma0": 3.0, "eta": 0.075, "steps": 200}


def problem(P, D, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((P, D)), np.where(np.arange(P) < P // 2, 1.0, -1.0)


def _child(spec):
    """Solve once in this process; print seconds, peak RSS and the result summary as JSON."""
    import resource

    from learndyn.theory import dmft_mc

    X, y = problem(spec.pop("P"), spec.pop("D"))
    start = time.perf_counter()
    res = dmft_mc.solve(X, y, **spec)
    sec = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (Linux: kB)
    print(json.dumps({"sec": sec, "rss_mib": rss, "loss0": float(res.loss[0]), "loss_end": float(res.loss[-1]),
                      "mc_error": res.mc_error}))  # fmt: skip


def run(spec):
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True,
                         check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        _child(json.loads(args.child))
        return
    for name, base, P, D in (("deep tanh (L = 3)", DEEP, 10, 25), ("two-layer ReLU", TWO, 25, 40)):
        for S in (1000, 4000):
            r = run({**base, "P": P, "D": D, "samples": S})
            print(f"{name}, S = {S}: {r['sec']:.2f} s, peak RSS {r['rss_mib']:.0f} MiB, loss {r['loss0']:.3f} -> "
                  f"{r['loss_end']:.2e}, mc_error {r['mc_error']:.1e}")  # fmt: skip
    if args.skip_scaling:
        return
    print("scaling (deep tanh GD, S = 1000 unless varied; seconds including the S/2 check):")
    for key, values in (("P", (5, 10, 20)), ("steps", (50, 100, 200)), ("samples", (1000, 2000, 4000)),
                        ("n_hidden", (1, 2, 3, 4))):  # fmt: skip
        row = []
        for v in values:
            spec = {**DEEP, "P": 10, "D": 25, "samples": 1000, key: v}
            r = run(spec)
            row.append(f"{key}={v}: {r['sec']:.2f} s")
        print("  " + ", ".join(row))


if __name__ == "__main__":
    main()
