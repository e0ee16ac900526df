"""float32 simulations: they stay float32 through the jitted loop, and are accurate enough to compare with theory.

Purpose and tolerance. learndyn compares finite-width simulations with infinite-width theory (DMFT, mean-field,
lazy kernels) whose own finite-size error is O(N^-1/2) (spec learning_rules_dmft.md): ~1e-2 even at N = 10^4, so
float32 is good enough for that if its error on the loss trajectory is far below 1e-2. One GD step rounds at
float32's eps ~ 1.2e-7; accumulated over a few hundred steps and amplified by ReLU units whose pre-activation is
within rounding of 0 (a kink flips in one precision and not the other), the measured relative error of L(t) in the
setting below (P = 128, 16 -> 256 -> 256 -> 4 ReLU, lr = 0.02, 200 steps, L falls 10x) was 1.6e-7 .. 5.5e-6 over
8 seeds. The tolerance 1e-4 leaves ~20x margin over the worst seed and is still 100x below the theory comparisons.

The error is not a float32 defect where it grows: at lr = 0.05, or once the loss falls ~100x toward interpolation,
the float32 - float64 difference rises to ~1e-3, but so does the difference between two float64 runs whose initial
weights differ by float32 rounding (measured while writing this test): GD of a ReLU net amplifies any 1e-7
perturbation there, so no precision is meaningful beyond that.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from learndyn import param, tasks, train
from learndyn.nets import MLP

RTOL_LOSS = 1e-4


def _dtypes(run):
    return {a.dtype for a in jax.tree_util.tree_leaves(run.params)} | {run.loss.dtype}


def test_float32_gd_matches_float64_on_the_loss_trajectory():
    task = tasks.random_regression(128, 16, 4, seed=1)
    net = MLP((16, 256, 256, 4), "relu")
    lr, steps = 0.02, 200
    t = lr * np.arange(0, steps + 1, 10)
    p32 = net.init(jax.random.key(2), dtype="float32")
    p64 = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), p32)  # the very same initial weights
    r32 = train.simulate(net, "gd", task, p32, lr=lr, t=t)
    r64 = train.simulate(net, "gd", task, p64, lr=lr, t=t)
    assert _dtypes(r32) == {np.dtype("float32")} and _dtypes(r64) == {np.dtype("float64")}
    assert r64.loss[-1] < 0.2 * r64.loss[0]  # the net really trains over the compared stretch
    np.testing.assert_allclose(r32.loss, r64.loss, rtol=RTOL_LOSS)


@pytest.mark.parametrize("rule", ["fa", "dfa", "sign-fa"])
def test_float32_stays_float32_with_rule_state_seeds_and_drift(rule):
    task = tasks.random_regression(12, 3, 2, seed=0)
    net = MLP((3, 8, 8, 2), "tanh", bias=True)
    seeds = jax.vmap(lambda k: net.init(k, dtype="float32"))(jax.random.split(jax.random.key(0), 2))
    run = train.simulate(net, rule, task, seeds, lr=0.05, t=[0.0, 0.5], drift=True)
    assert _dtypes(run) == {np.dtype("float32")}
    assert {a.dtype for a in run.drift} == {np.dtype("float32")}
    assert {a.dtype for a in jax.tree_util.tree_leaves(run.state)} <= {np.dtype("float32")}  # cast from params


def test_float32_with_parameterization_learning_rates():
    p = param.get("ip-llr")
    sizes = (3, 16, 16, 1)
    net = p.mlp(sizes, "relu")
    task = tasks.random_regression(10, 3, 1, seed=0)
    params = p.init(jax.random.key(0), sizes, "relu", dtype=jnp.float32)
    run = train.simulate(net, "gd", task, params, lr=0.01, t=[0.0, 0.05], param=p)
    assert _dtypes(run) == {np.dtype("float32")}


def test_mixed_or_non_float_params_are_refused():
    task = tasks.random_regression(10, 3, 2, seed=0)
    net = MLP((3, 4, 2))
    params = net.init(jax.random.key(0))
    mixed = {"W": (params["W"][0].astype(jnp.float32), params["W"][1])}
    with pytest.raises(ValueError, match=r"params mixes dtypes \(float32 at params\['W'\]\[0\], float64 at"):
        train.simulate(net, "gd", task, mixed, lr=0.1, t=[0.0, 1.0])
    ints = {"W": (params["W"][0].astype(jnp.int32), params["W"][1].astype(jnp.int32))}
    with pytest.raises(TypeError, match=r"params\['W'\]\[0\] has dtype int32; every leaf must be float32 or float64"):
        train.simulate(net, "gd", task, ints, lr=0.1, t=[0.0, 1.0])
