"""Deep linear DMFT against independent references: the two-layer closed ODEs (continuum, O(eta) apart), wide
simulations of the engine (seed-averaged, O(1/N) apart), the lazy limit (gap ~ gamma0^2), and its failure modes."""

import jax
import numpy as np
import pytest

from learndyn import param, rules, tasks, train
from learndyn.theory import dmft_linear, kernels, two_layer_rules
from learndyn.theory.dmft import DMFTNotConverged


def _whitened(P=4):
    X = np.sqrt(P) * np.linalg.qr(np.random.default_rng(0).standard_normal((P, P)))[0]
    return X, np.array([1.0, -0.5, 0.8, 0.3])[:P]


@pytest.mark.parametrize(("rule", "rho"), [("gd", 0.0), ("fa", 0.0), ("fa", 0.5)])
def test_two_layer_dmft_tends_to_the_closed_ode_as_eta_halves(rule, rho):
    X, y = _whitened()
    errors = []
    for eta in (0.08, 0.04):
        res = dmft_linear.solve(X, y, n_hidden=1, gamma0=1.5, eta=eta, steps=round(8.0 / eta), rule=rule, rho=rho)
        ode = two_layer_rules.trajectory(tasks.Task(X, y[:, None]), rule, gamma0=1.5, t=res.t, rho=rho)
        errors.append(np.max(np.abs(res.f - ode.f.values[:, :, 0])))
    assert errors[1] < 0.01
    assert errors[0] / errors[1] == pytest.approx(2.0, rel=0.15)  # first order in the step: the discrete GD flow


def _simulated_delta(rule, X, y, L, gamma0, eta, steps, N, seeds, rho=0.0):
    par = param.get("meanfield", gamma0=gamma0)
    sizes = (X.shape[1],) + (N,) * L + (1,)
    net = par.mlp(sizes, "linear")
    p0 = jax.vmap(lambda k: par.init(k, sizes, "linear"))(jax.random.split(jax.random.key(7), seeds))
    rl = rules.GD(net) if rule == "gd" else rules.FA(net, rho=rho)
    sim = train.simulate(net, rl, tasks.Task(X, y[:, None]), p0, lr=eta, t=[eta * steps], param=par, key=3)
    f = jax.vmap(lambda p: net.apply(jax.tree_util.tree_map(lambda w: w[0], p), X)[0][:, 0])(sim.params)
    return y - np.asarray(f)  # (seeds, P) at the last step


@pytest.mark.parametrize(("rule", "rho"), [("gd", 0.0), ("fa", 0.5)])
def test_deep_linear_dmft_is_the_wide_simulation(rule, rho):
    """Two hidden layers, rich regime (gamma0 = 1.5), 60 steps: the seed mean of N = 500 simulations sits on the DMFT
    to within its standard error and the O(1/N) bias (measured ~4/N), while the loss moved by a factor >= 5."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((6, 12)), rng.standard_normal(6)
    res = dmft_linear.solve(X, y, n_hidden=2, gamma0=1.5, eta=0.1, steps=60, rule=rule, rho=rho)
    assert res.converged and res.loss[-1] < 0.2 * res.loss[0]
    delta = _simulated_delta(rule, X, y, 2, 1.5, 0.1, 60, N=500, seeds=32, rho=rho)
    sem = delta.std(axis=0) / np.sqrt(len(delta))
    assert np.all(np.abs(delta.mean(axis=0) - res.delta[-1]) < 4 * sem + 8 / 500)
    lazy = np.linalg.matrix_power(np.eye(6) - 0.1 / 6 * kernels.entk_from_kx(X @ X.T / 12, 2, "linear", rule,
                                  rho=rho if rule == "fa" else None), 60) @ y  # fmt: skip
    assert np.max(np.abs(res.delta[-1] - lazy)) > 10 * np.max(sem)  # the rich dynamics are not the lazy ones


def test_lazy_limit_gap_scales_as_gamma0_squared():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((5, 8)), rng.standard_normal(5)
    eta, steps = 0.1, 40
    K = kernels.entk_from_kx(X @ X.T / 8, 2, "linear", "gd")
    lazy = [y]
    for _ in range(steps):
        lazy.append(lazy[-1] - eta / 5 * K @ lazy[-1])  # the discrete lazy flow Delta(k+1) = (I - eta K / P) Delta(k)
    gaps = [
        np.max(np.abs(dmft_linear.solve(X, y, n_hidden=2, gamma0=g, eta=eta, steps=steps).delta - np.stack(lazy)))
        for g in (0.2, 0.1, 0.05)
    ]
    assert gaps[0] / gaps[1] == pytest.approx(4.0, rel=0.1) and gaps[1] / gaps[2] == pytest.approx(4.0, rel=0.05)
    fa1 = dmft_linear.solve(X, y, n_hidden=2, gamma0=0.05, eta=eta, steps=steps, rule="fa", rho=1.0)
    assert np.max(np.abs(fa1.delta - np.stack(lazy))) < 2 * gaps[2]  # FA(rho = 1) -> GD as gamma0 -> 0


def test_non_convergence_is_reported_and_bad_input_refused():
    X, y = _whitened()
    with pytest.raises(DMFTNotConverged, match="did not converge") as info:
        dmft_linear.solve(X, y, n_hidden=2, gamma0=1.0, eta=0.1, steps=20, max_iter=2)
    assert not info.value.result.converged
    partial = dmft_linear.solve(X, y, n_hidden=2, gamma0=1.0, eta=0.1, steps=20, max_iter=2, strict=False)
    assert not partial.converged and not partial.trajectory().attrs["converged"]
    with pytest.raises(MemoryError, match="steps <= "):
        dmft_linear.solve(X, y, n_hidden=2, gamma0=1.0, eta=0.1, steps=100_000)
    with pytest.raises(ValueError, match="rule must be one of"):
        dmft_linear.solve(X, y, n_hidden=2, gamma0=1.0, eta=0.1, steps=5, rule="dfa")
    with pytest.raises(ValueError, match="rho must be in"):
        dmft_linear.solve(X, y, n_hidden=2, gamma0=1.0, eta=0.1, steps=5, rule="fa", rho=-0.1)
    with pytest.raises(ValueError, match="gamma0"):
        dmft_linear.solve(X, y, n_hidden=2, gamma0=0.0, eta=0.1, steps=5)
    with pytest.raises(ValueError, match="y must have shape"):
        dmft_linear.solve(X, np.ones(3), n_hidden=2, gamma0=1.0, eta=0.1, steps=5)


@pytest.mark.parametrize(("rule", "rho"), [("gd", 0.0), ("fa", 0.5)])
def test_simulation_and_dmft_trajectories_compare_variable_by_variable(rule, rho):
    """``compare`` serves theory vs simulation directly: the same variable names, dims and normalisations (the
    simulated eNTK weighted by the mean-field learning rates, the kernels per weight layer). One width-2000 seed
    sits within a few N^-1/2 ~ 0.02 of the infinite-width trajectory in every variable (measured <= 0.07), while the
    kernels moved by O(1)."""
    from learndyn.observables import compare

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((6, 12)), rng.standard_normal(6)
    task = tasks.Task(X, y[:, None])
    steps, eta, gamma0, N = 40, 0.1, 1.5, 2000
    theory = dmft_linear.solve(X, y, n_hidden=2, gamma0=gamma0, eta=eta, steps=steps, rule=rule, rho=rho)
    par = param.get("meanfield", gamma0=gamma0)
    net = par.mlp((12, N, N, 1), "linear")
    rl = rules.GD(net) if rule == "gd" else rules.FA(net, rho=rho)
    t = eta * np.arange(0, steps + 1, 10)
    sim = train.simulate(net, rl, task, par.init(jax.random.key(0), (12, N, N, 1), "linear"), lr=eta, t=t,
                         param=par, key=1)  # fmt: skip
    ds = sim.trajectory(task, rule_kernels=True, kernels=True, ntk=False, rsm=False)
    th = theory.trajectory().sel(t=ds.t.values, method="nearest")
    table = compare(ds, th, ["loss", "f", "entk", "phi", "g", "gt"])
    assert (table["rel_err"] < 0.15).all(), table
    moved = compare(th.isel(t=[0]).assign_coords(t=[0.0]), th.isel(t=[-1]).assign_coords(t=[0.0]), ["phi", "gt"])
    assert (moved["rel_err"] > 0.3).all(), moved  # the kernels really evolved (rich regime)


@pytest.mark.parametrize("rule", ["gd", "fa"])
def test_damping_reaches_the_same_fixed_point(rule):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((5, 8)), rng.standard_normal(5)
    plain = dmft_linear.solve(X, y, n_hidden=2, gamma0=1.0, eta=0.1, steps=30, rule=rule, rho=0.3)
    damped = dmft_linear.solve(X, y, n_hidden=2, gamma0=1.0, eta=0.1, steps=30, rule=rule, rho=0.3, damping=0.6)
    assert damped.converged and damped.iterations > plain.iterations  # damping slows the iteration, nothing else
    np.testing.assert_allclose(damped.f, plain.f, atol=1e-9)
    np.testing.assert_allclose(damped.gt, plain.gt, atol=1e-8)
