"""Monte-Carlo DMFT against independent references: the algebraic deep linear solver (a different derivation and
algorithm: exact agreement), the identities between rules, the lazy limit (gap ~ gamma0^2), wide simulations of the
engine for every rule (seed-averaged, within standard errors plus O(1/N)), and its failure modes."""

import jax
import numpy as np
import pytest

from learndyn import param, rules, tasks, train
from learndyn.nets import GLN
from learndyn.theory import dmft_linear, dmft_mc, kernels


def _data(P=6, D=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((P, D)), np.sign(rng.standard_normal(P))


@pytest.mark.parametrize(("L", "rule", "rho"), [(2, "gd", 0.0), (3, "gd", 0.0), (2, "fa", 0.5), (3, "fa", 0.0)])
def test_linear_net_equals_the_algebraic_solver(L, rule, rho):
    """Spec check 6. Sampling, integration-by-parts responses and the causal march against the sample-free
    block-matrix solver: with moment-matched, sign-symmetric draws a Gaussian (linear) net is reproduced exactly,
    so the two agree to the eigenvalue cutoff's bias (measured <= 5e-9 at cutoff 1e-13), far inside O(S^-1/2)."""
    X, y = _data()
    kw = {"n_hidden": L, "gamma0": 1.5, "eta": 0.2, "steps": 40, "rule": rule, "rho": rho}
    a = dmft_linear.solve(X, y, tol=1e-13, max_iter=2000, **kw)
    b = dmft_mc.solve(X, y, activation="linear", samples=800, mc_check=False, **kw)
    assert a.loss[-1] < 0.2 * a.loss[0]  # rich and far from init: the responses matter
    assert np.max(np.abs(a.loss - b.loss)) < 1e-7
    assert np.max(np.abs(a.entk - b.entk)) < 1e-7 * np.max(np.abs(a.entk))
    assert np.max(np.abs(a.phi - b.phi)) < 1e-7 * np.max(np.abs(a.phi))


def test_plain_monte_carlo_agrees_within_its_sampling_error():
    """Without the antithetic design the linear net is sampled, not reproduced: the error is O(S^-1/2)
    (measured 1e-3 at S = 2000) and the S/2 estimate bounds it."""
    X, y = _data()
    kw = {"n_hidden": 2, "gamma0": 1.5, "eta": 0.2, "steps": 40, "rule": "gd"}
    a = dmft_linear.solve(X, y, **kw)
    b = dmft_mc.solve(X, y, activation="linear", samples=2000, antithetic=False, **kw)
    err = np.max(np.abs(a.loss - b.loss))
    assert 0 < err < 10.0 / np.sqrt(2000) * a.loss[0]
    assert err < 5 * b.mc_error


def test_identities_between_rules():
    """Spec check 2 (the DMFT side): at L = 1, DFA and FA(0) are one rule (given the same feedback draw); a GLN with
    linear gates is a deep linear net under GD; FA with rho = 1 tends to GD as gamma0 -> 0, its gap ~ gamma0^2
    (FA keeps the initial feedback W(0), GD uses W(t), which moves by O(gamma0))."""
    X, y = _data()
    kw = {"eta": 0.2, "steps": 30, "samples": 400, "mc_check": False}
    dfa = dmft_mc.solve(X, y, n_hidden=1, activation="relu", rule="dfa", gamma0=2.0, **kw)
    fa0 = dmft_mc.solve(X, y, n_hidden=1, activation="relu", rule="fa", rho=0.0, gamma0=2.0, **kw)
    assert np.max(np.abs(dfa.f - fa0.f)) < 1e-13
    gln = dmft_mc.solve(X, y, n_hidden=2, activation="linear", rule="gln", gamma0=2.0, **kw)
    lin = dmft_mc.solve(X, y, n_hidden=2, activation="linear", rule="gd", gamma0=2.0, **kw)
    assert np.max(np.abs(gln.f - lin.f)) < 1e-12
    gaps = []
    for gamma0 in (0.2, 0.1):
        gd = dmft_mc.solve(X, y, n_hidden=2, activation="tanh", rule="gd", gamma0=gamma0, **kw)
        fa1 = dmft_mc.solve(X, y, n_hidden=2, activation="tanh", rule="fa", rho=1.0, gamma0=gamma0, **kw)
        gaps.append(np.max(np.abs(gd.f - fa1.f)))
    assert gaps[0] < 0.02 * np.max(np.abs(gd.f))
    assert gaps[0] / gaps[1] == pytest.approx(4.0, rel=0.2)  # measured 3.9


@pytest.mark.parametrize("L", [1, 2])
def test_lazy_limit_gap_scales_as_gamma0_squared(L):
    """Spec check 3: as gamma0 -> 0 the DMFT error follows the lazy recursion Delta <- (I - eta K(0) / P) Delta
    with its own K(0) (so the sampling error of K(0) cancels), with a gap ~ gamma0^2 (measured ratios 3.9-4.3 per
    halving); and K(0) is the lazy NTK of Table 2 (Gauss-Hermite) within O(S^-1/2). A smooth activation: with a
    kink (ReLU) the discrete steps add an O(gamma0 eta^2) term from sites whose pre-activation crosses the kink."""
    X, y = _data(P=5, D=10)
    P, eta, steps = 5, 0.2, 40
    gaps = []
    for gamma0 in (0.2, 0.1, 0.05):
        res = dmft_mc.solve(X, y, n_hidden=L, activation="tanh", rule="gd", gamma0=gamma0, eta=eta, steps=steps,
                            samples=2000, mc_check=False)  # fmt: skip
        delta = np.empty((steps + 1, P))
        delta[0] = y
        for k in range(steps):
            delta[k + 1] = delta[k] - eta / P * res.entk[0] @ delta[k]
        gaps.append(np.max(np.abs(res.delta - delta)))
    assert gaps[0] / gaps[1] == pytest.approx(4.0, rel=0.2)
    assert gaps[1] / gaps[2] == pytest.approx(4.0, rel=0.2)
    K = kernels.lazy_entk(X, L, "tanh", rule="gd")
    # O(S^-1/2) with the four sign copies counted as one draw (measured 0.3 % at L = 1, 5 % at L = 2)
    assert np.max(np.abs(res.entk[0] - K)) < 3.0 / np.sqrt(2000 / 4) * np.max(np.abs(K))


def _simulated_loss(X, y, L, activation, rule, gamma0, eta, steps, N, seeds, rho=0.0):
    """Seeds x records of the loss; a GLN's gates are a property of the net, so each half of the seeds gets its own
    (two-layer Hebb, GD, FA and GLN are checked against width sweeps by the learning-rules experiment)."""
    par = param.get("meanfield", gamma0=gamma0)
    sizes = (X.shape[1],) + (N,) * L + (1,)
    base = par.mlp(sizes, activation)
    groups = 2 if rule == "gln" else 1
    out = []
    for gate_seed in range(groups):
        net = base
        if rule == "gln":
            net = GLN(sizes, activation=activation, bias=base.bias, multipliers=base.multipliers, gate_seed=gate_seed)
        rl = rules.FA(net, rho=rho) if rule == "fa" else rules.get("gd" if rule == "gln" else rule, net)
        n = seeds // groups
        keys = jax.random.split(jax.random.fold_in(jax.random.key(1), gate_seed), n)
        p0 = jax.vmap(lambda k: par.init(k, sizes, activation))(keys)  # noqa: B023
        state = jax.vmap(rl.init)(jax.random.split(jax.random.key(2), n), p0)
        t = eta * np.arange(0, steps + 1, 10)
        sim = train.simulate(net, rl, tasks.Task(X, y[:, None]), p0, lr=eta, t=t, state=state, param=par)
        out.append(np.asarray(sim.loss))
    return np.concatenate(out)  # (seeds, records)


@pytest.mark.parametrize(
    ("L", "activation", "rule", "rho", "gamma0"),
    [
        (2, "relu", "gln", 0.0, 1.5),
        (3, "tanh", "dfa", 0.0, 1.5),
        (2, "tanh", "fa", 0.5, 1.5),
        (2, "relu", "gd", 0.0, 1.5),
    ],
)
def test_dmft_is_the_wide_simulation(L, activation, rule, rho, gamma0):
    """The seed mean of N = 1000 simulations of the engine sits on the DMFT (S = 2000) within 3 standard errors plus
    an O(1/N) allowance of 2/N (the measured finite-width bias of the loss is <= 1/N here), in the rich regime."""
    X, y = _data(P=10, D=50)
    kw = {"n_hidden": L, "activation": activation, "rule": rule, "rho": rho, "gamma0": gamma0, "eta": 0.2}
    res = dmft_mc.solve(X, y, steps=60, samples=2000, **kw)
    assert res.loss[-1] < 0.1 * res.loss[0]
    N, seeds = 1000, 8
    sim = _simulated_loss(X, y, L, activation, rule, gamma0, 0.2, 60, N, seeds, rho)
    sem = sim.std(axis=0, ddof=1) / np.sqrt(seeds)
    excess = np.abs(sim.mean(axis=0) - res.loss[::10]) - 3 * sem - 3 * res.mc_error
    assert np.max(excess) < 2.0 / N


def test_bad_input_and_divergence():
    X, y = _data()
    kw = {"n_hidden": 1, "gamma0": 1.0, "eta": 0.1, "steps": 5}
    with pytest.raises(ValueError, match="rule must be one of"):
        dmft_mc.solve(X, y, rule="sgd", **kw)
    with pytest.raises(ValueError, match="gamma0"):
        dmft_mc.solve(X, y, **{**kw, "gamma0": 0.0})
    with pytest.raises(ValueError, match="multiple of 4"):
        dmft_mc.solve(X, y, samples=101, **kw)
    with pytest.raises(ValueError, match="rho applies to rule 'fa' only"):
        dmft_mc.solve(X, y, rho=0.5, **kw)
    with pytest.raises(ValueError, match="activation must be one of"):
        dmft_mc.solve(X, y, activation="swish", **kw)
    with pytest.raises(MemoryError, match="use samples <= "):
        dmft_mc.solve(X, y, **{**kw, "n_hidden": 3, "steps": 2000}, samples=40000, max_memory_gb=1.0)
    with pytest.raises(FloatingPointError, match="diverged at step"):
        dmft_mc.solve(X, y, n_hidden=1, activation="linear", gamma0=1.0, eta=50.0, steps=400, samples=64)
