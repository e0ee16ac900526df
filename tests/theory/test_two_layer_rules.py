"""Two-layer whitened linear mean-field dynamics (Bordelon & Pehlevan 2023, eqs. 7-8) against wide simulations of
the library's own engine, the fixed points against root finding, and the stated width exponents."""

import jax
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from learndyn import param, rules, tasks, train
from learndyn.theory import two_layer_rules as tl

P = D = 4
GAMMA0, N, LR = 1.5, 2000, 0.02
Y = np.array([1.0, -0.5, 0.8, 0.3])
T = np.linspace(0.0, 4.0, 9) * P  # library time; the paper's s = t / P runs to 4
# Finite width: f(0) ~ 1/(gamma0 sqrt(N)) = 0.015 and H(0) - I ~ 2/sqrt(N) = 0.045 per entry, each carried through the
# flow, so the simulation sits within a few 1/sqrt(N) of the N = inf curves; 0.06 leaves a factor ~2 of margin.
TOL = 0.06


def _task():
    X = np.sqrt(D) * np.linalg.qr(np.random.default_rng(0).standard_normal((D, D)))[0]  # X X^T / D = I
    return tasks.Task(X, Y[:, None])


def _simulate(rule_name, **options):
    task = _task()
    par = param.get("meanfield", gamma0=GAMMA0)
    net = par.mlp((D, N, 1), "linear")
    p0 = par.init(jax.random.key(0), (D, N, 1), "linear")
    sim = train.simulate(net, rules.get(rule_name, net, **options), task, p0, lr=LR, t=T, param=par, key=1)
    f, H = [], []
    for k in range(len(T)):
        out, cache = net.apply(jax.tree_util.tree_map(lambda w, k=k: w[k], sim.params), task.X)
        f.append(np.asarray(out)[:, 0])
        H.append(np.asarray(cache["phi"][1] @ cache["phi"][1].T) / N)
    return task, np.stack(f), np.stack(H)


def test_gd_follows_the_factor_two_ode_and_not_the_printed_one():
    task, f, H = _simulate("gd")
    theory = tl.trajectory(task, "gd", gamma0=GAMMA0, t=T)
    assert np.max(np.abs(f - theory.f.values[:, :, 0])) < TOL

    y_norm = np.linalg.norm(Y)  # the paper's printed eq. 8: d Delta/ds = -sqrt(1 + gamma0^2 (y - Delta)^2) Delta
    printed = solve_ivp(lambda _, d: -np.sqrt(1 + GAMMA0**2 * (y_norm - d) ** 2) * d, (0, T[-1] / P), [y_norm],
                        t_eval=T / P, rtol=1e-10).y[0]  # fmt: skip
    f_printed = (y_norm - printed)[:, None] * Y / y_norm
    assert np.max(np.abs(f - f_printed)) > 4 * TOL

    h_y = np.einsum("p,tpq,q->t", Y, H, Y) / y_norm**2
    assert np.max(np.abs(h_y - theory.h_y.values)) < TOL
    assert theory.h_y.values[-1] == pytest.approx(tl.gd_fixed_point(y_norm, GAMMA0), rel=1e-3)


@pytest.mark.parametrize("rho", [0.0, 0.5, 1.0])
def test_rho_fa_follows_the_a_ode(rho):
    task, f, H = _simulate("fa", rho=rho)
    theories = {r: tl.trajectory(task, "fa", gamma0=GAMMA0, t=T, rho=r) for r in (0.0, 0.5, 1.0)}
    errors = {r: np.max(np.abs(f - th.f.values[:, :, 0])) for r, th in theories.items()}
    assert errors[rho] < TOL
    assert all(errors[r] > 2 * errors[rho] for r in errors if r != rho), errors  # the simulation picks out its rho
    y_hat = Y / np.linalg.norm(Y)
    assert np.max(np.abs(np.einsum("p,tpq,q->t", y_hat, H, y_hat) - theories[rho].h_y.values)) < TOL


def test_hebb_follows_the_per_item_ode_and_keeps_h_diagonal():
    task, f, H = _simulate("hebb")
    theory = tl.trajectory(task, "hebb", gamma0=GAMMA0, t=T)
    assert np.max(np.abs(f - theory.f.values[:, :, 0])) < TOL
    diag = np.diagonal(H, axis1=1, axis2=2)
    assert np.max(np.abs(diag - theory.h_diag.values)) < TOL  # a Hebbian rate off by 2 misses by > 0.6 here
    assert diag[-1].max() > 2.0  # the features really grew from H(0) ~ 1 ...
    off = H - np.eye(P) * diag[:, :, None]
    assert np.max(np.abs(off)) < 2.5 * 2 / np.sqrt(N)  # ... but off the diagonal H stays at its init noise
    gd = tl.trajectory(task, "gd", gamma0=GAMMA0, t=T)  # whereas GD's H_mu,nu grows along y y^T by O(1)
    y_hat = Y / np.linalg.norm(Y)
    assert np.max(np.abs((gd.h_y.values[-1] - 1) * np.outer(y_hat, y_hat) * (1 - np.eye(P)))) > 0.3


def test_fixed_points_and_their_width_exponents():
    for rho in (0.0, 0.5, 1.0):
        a = tl.fa_fixed_point(2.0, 1.5, rho)
        roots = np.roots([0.5, 0.0, 1.0 + rho, -3.0])
        assert a == pytest.approx(float(roots[np.abs(roots.imag) < 1e-12].real[0]), rel=1e-13)
    task = _task()
    for rho in (0.0, 1.0):  # the ODE relaxes to its fixed point, and stays finite at t = 1e6
        ds = tl.trajectory(task, "fa", gamma0=GAMMA0, t=[0.0, 1e3, 1e6], rho=rho)
        assert ds.h_y.values[-1] - 1 == pytest.approx(tl.fa_fixed_point(np.linalg.norm(Y), GAMMA0, rho) ** 2, rel=1e-9)
        assert ds.loss.values[-1] < 1e-20
    ds = tl.trajectory(task, "hebb", gamma0=GAMMA0, t=[0.0, 1e6])
    assert np.all(np.isfinite(ds.h_y)) and ds.loss.values[-1] < 1e-20

    def slope(fn, g):
        return np.polyfit(np.log(g), np.log([fn(x) for x in g]), 1)[0]

    small, large = np.geomspace(1e-4, 1e-3, 5), np.geomspace(1e4, 1e5, 5)
    fa = lambda g, rho=0.0: tl.fa_fixed_point(1.0, g, rho) ** 2  # H_y - 1
    gd = lambda g: tl.gd_fixed_point(1.0, g) - 1
    assert slope(fa, small) == pytest.approx(2.0, abs=1e-3) and slope(gd, small) == pytest.approx(2.0, abs=1e-3)
    assert slope(fa, large) == pytest.approx(2 / 3, abs=1e-3) and slope(gd, large) == pytest.approx(1.0, abs=1e-3)
    assert all(fa(g, 1.0) < fa(g, 0.0) for g in np.geomspace(1e-2, 1e2, 9))  # rho = 1 aligns less throughout


def test_bad_input_is_refused():
    task = _task()
    with pytest.raises(ValueError, match="X X\\^T / D = I"):
        tl.trajectory(tasks.Task(2 * task.X, task.Y), "gd", gamma0=1.0, t=[0.0])
    with pytest.raises(ValueError, match="one output"):
        tl.trajectory(tasks.Task(task.X, np.ones((P, 2))), "gd", gamma0=1.0, t=[0.0])
    with pytest.raises(ValueError, match="rule"):
        tl.trajectory(task, "dfa", gamma0=1.0, t=[0.0])
    with pytest.raises(ValueError, match="rho must be in \\[0, 1\\]"):
        tl.trajectory(task, "fa", gamma0=1.0, t=[0.0], rho=1.5)
    with pytest.raises(ValueError, match="gamma0"):
        tl.trajectory(task, "fa", gamma0=0.0, t=[0.0])
