"""Coordinate check: the table against a written-out GD step (jax.grad), the width exponents of NTK (lazy, -1/2)
and muP (0), the FA(rho = 1) = GD identity at the first step, the slope fit on exact power laws, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from learndyn import coord_check as cc
from learndyn import param
from learndyn.tasks import Task

#: The setting of the slope test; the other tests reuse it where they can, so its compiled simulations are reused.
WIDTHS, KW = [32, 512], {"n_hidden": 2, "lr": 0.01, "steps": 1, "n_seeds": 8}


def _task(P=16, d=8, scale=10.0):
    # Targets of size 10 make the error at init (f(0) = O(1) under NTK) mostly the target, so the size of the first
    # update barely depends on the random init.
    X = np.random.default_rng(0).standard_normal((P, d))
    return Task(X, scale * np.sign(X[:, :1]))


def test_table_is_one_written_out_gd_step():
    # Reference: the mean-field net's forward pass written out, one GD step with jax.grad of the loss and the
    # per-layer rates gamma0^2 N, the same keys (fold_in(key(seed), m), split per seed): mean |.| over everything.
    task, gamma0, lr, m, seed = _task(P=6, d=3, scale=1.0), 0.5, 0.3, 8, 4
    par = param.get("meanfield", gamma0=gamma0)
    df = cc.coord_check(par, task, [m], n_hidden=2, lr=lr, steps=1, activation="tanh", n_seeds=2, seed=seed)
    X, Y = jnp.asarray(task.X), jnp.asarray(task.Y)

    def layers(W):
        h1 = X @ W[0].T / jnp.sqrt(3.0)
        h2 = jnp.tanh(h1) @ W[1].T / jnp.sqrt(m)
        return h1, h2, jnp.tanh(h2) @ W[2].T / (gamma0 * m)

    def loss(W):
        return 0.5 * jnp.mean(jnp.sum((layers(W)[-1] - Y) ** 2, axis=1))

    before, after = [], []
    for key in jax.random.split(jax.random.fold_in(jax.random.key(seed), m), 2):
        W = par.init(key, (3, m, m, 1), "tanh")["W"]
        grads = jax.grad(loss)(W)
        W1 = tuple(w - lr * gamma0**2 * m * g for w, g in zip(W, grads, strict=True))
        before.append(layers(W))
        after.append(layers(W1))
    for k, name in enumerate(["h1", "h2", "f"]):
        row = df[df.layer == name].iloc[0]
        a = np.stack([np.asarray(b[k]) for b in before])
        b = np.stack([np.asarray(c[k]) for c in after])
        np.testing.assert_allclose(
            [row.init, row.final, row.delta], [np.abs(a).mean(), np.abs(b).mean(), np.abs(b - a).mean()], rtol=1e-11
        )


def test_ntk_is_lazy_and_mup_moves_every_coordinate():
    # One-step power counting (Yang & Hu 2021) for L = 2 hidden layers: mean |Delta h_l| ~ m^{-1/2} under NTK and
    # ~ m^0 under muP, |Delta f| ~ m^0 for both; |h_l(0)| ~ m^0 for both, |f(0)| ~ m^{-1/2} under muP. Two widths
    # 16x apart, 8 seeds. Measured over base seeds 0-3: hidden delta NTK -0.47..-0.52, muP -0.01..+0.05; f delta
    # -0.01..-0.12; hidden init within 0.02 of 0; muP f(0) -0.40..-0.54. Tolerances 0.15 (hidden) and 0.2 (f).
    task = _task()
    ntk = cc.width_exponents(cc.coord_check("ntk", task, WIDTHS, **KW))
    mup = cc.width_exponents(cc.coord_check("mup", task, WIDTHS, **KW))
    hidden = ["h1", "h2"]
    np.testing.assert_allclose(ntk.loc[hidden, "delta"], -0.5, atol=0.15)
    np.testing.assert_allclose(mup.loc[hidden, "delta"], 0.0, atol=0.15)
    np.testing.assert_allclose(ntk.loc[hidden, "init"], 0.0, atol=0.15)
    np.testing.assert_allclose(mup.loc[hidden, "init"], 0.0, atol=0.15)
    assert ntk.loc["f", "delta"] == pytest.approx(0.0, abs=0.2)
    assert mup.loc["f", "delta"] == pytest.approx(0.0, abs=0.2)
    assert mup.loc["f", "init"] == pytest.approx(-0.5, abs=0.2)


def test_fa_with_rho_one_takes_the_gd_step_first():
    # FA(rho = 1) feeds back through W(0)^T, so its first step is GD's: the tables agree after one step, any rule name
    # and its options reach the simulation, and another rho does not agree.
    task = _task()
    gd = cc.coord_check("mup", task, WIDTHS[:1], **KW)
    fa1 = cc.coord_check("mup", task, WIDTHS[:1], rule="fa", rule_options={"rho": 1.0}, **KW)
    fa0 = cc.coord_check("mup", task, WIDTHS[:1], rule="fa", rule_options={"rho": 0.0}, **KW)
    np.testing.assert_allclose(fa1[list(cc.QUANTITIES)], gd[list(cc.QUANTITIES)], rtol=1e-12)
    assert fa1.attrs["rule"] == "fa"
    # rho = 0: the first layer moves in another direction; by a similar mean amount (the random feedback has the
    # scale of the weights), 4% off GD's here, so only a clear difference is asked for
    assert abs(fa0.delta[fa0.layer == "h1"].iloc[0] / gd.delta[gd.layer == "h1"].iloc[0] - 1) > 0.01


def test_table_layout():
    task, kw = _task(), {**KW, "lr": 0.1, "steps": 2}
    df = cc.coord_check("ntk", task, np.array(WIDTHS[::-1]), **kw)
    assert df.columns.tolist() == ["width", "layer", "init", "final", "delta"]
    assert df.width.tolist() == [32] * 3 + [512] * 3  # widths ascending, then layers in order
    assert df.layer.tolist() == cc.layer_names(2) * 2 == ["h1", "h2", "f"] * 2
    assert (df[list(cc.QUANTITIES)].to_numpy() > 0).all()
    assert df.attrs == {"param": "ntk", "rule": "gd", "activation": "relu", "lr": 0.1, "steps": 2, "t": 0.2,
                        "n_seeds": 8, "seed": 0}  # fmt: skip
    # one width's numbers do not depend on the other widths checked
    alone = cc.coord_check("ntk", task, [512], **kw)
    np.testing.assert_array_equal(alone[list(cc.QUANTITIES)], df[df.width == 512][list(cc.QUANTITIES)])
    assert cc.layer_names(3) == ["h1", "h2", "h3", "f"]


def test_width_exponents_recovers_exact_power_laws():
    widths = np.array([16, 32, 64, 128])
    exps = {"h1": (0.0, 0.25, -0.5), "f": (-0.5, 1.0, 0.0)}
    rows = [{"width": m, "layer": name, **{q: 3.0 * m**e for q, e in zip(cc.QUANTITIES, ex, strict=True)}}
            for name, ex in exps.items() for m in widths]  # fmt: skip
    out = cc.width_exponents(pd.DataFrame(rows))
    assert out.index.tolist() == ["h1", "f"] and out.columns.tolist() == list(cc.QUANTITIES)
    np.testing.assert_allclose(out.to_numpy(), np.array(list(exps.values())), atol=1e-12)
    one = cc.width_exponents(pd.DataFrame(rows), layers=["f"], quantities="delta")
    assert one.shape == (1, 1) and one.loc["f", "delta"] == pytest.approx(0.0, abs=1e-12)
    rows[0]["delta"] = 0.0  # a layer that does not move has no power law
    assert np.isnan(cc.width_exponents(pd.DataFrame(rows)).loc["h1", "delta"])


def test_bad_input_is_rejected_with_a_message():
    task = _task(P=4, d=2)
    kw = {"n_hidden": 2, "lr": 0.1, "steps": 1}
    with pytest.raises(ValueError, match=r"widths\[1\] must be a positive integer \(a hidden width\); got 0"):
        cc.coord_check("mup", task, [8, 0], **kw)
    with pytest.raises(ValueError, match=r"widths must not repeat a width; got \[8, 8\]"):
        cc.coord_check("mup", task, [8, 8], **kw)
    with pytest.raises(TypeError, match="widths must be a sequence of positive integers"):
        cc.coord_check("mup", task, 8, **kw)
    with pytest.raises(ValueError, match="widths must hold at least one width"):
        cc.coord_check("mup", task, [], **kw)
    with pytest.raises(ValueError, match="name must be one of"):
        cc.coord_check("mu-p", task, [8], **kw)
    with pytest.raises(TypeError, match="par must be a learndyn.param.Parameterization"):
        cc.coord_check(3, task, [8], **kw)
    with pytest.raises(ValueError, match="rule must be one of .*got 'backprop'"):
        cc.coord_check("mup", task, [8], rule="backprop", **kw)
    with pytest.raises(ValueError, match="n_hidden must be a positive integer; got 0"):
        cc.coord_check("mup", task, [8], n_hidden=0, lr=0.1, steps=1)
    with pytest.raises(ValueError, match="steps must be a positive integer; got 0"):
        cc.coord_check("mup", task, [8], n_hidden=2, lr=0.1, steps=0)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        cc.coord_check("mup", task, [8], n_hidden=2, lr=-1.0, steps=1)
    with pytest.raises(TypeError, match="task must be a learndyn.tasks.Task"):
        cc.coord_check("mup", (task.X, task.Y), [8], **kw)
    df = pd.DataFrame({"width": [8, 16], "layer": ["h1", "h1"], "init": [1.0, 1.0], "final": [1.0, 1.0],
                       "delta": [1.0, 0.5]})  # fmt: skip
    with pytest.raises(ValueError, match=r"layers must be among the table's layers \['h1'\]; got unknown \['h4'\]"):
        cc.width_exponents(df, layers=["h4"])
    with pytest.raises(ValueError, match="quantities must be one of"):
        cc.width_exponents(df, quantities=["size"])
    with pytest.raises(ValueError, match="at least two widths"):
        cc.width_exponents(df.iloc[:1])
    with pytest.raises(ValueError, match="repeats a \\(width, layer\\) pair"):
        cc.width_exponents(pd.concat([df, df]))
    with pytest.raises(ValueError, match=r"missing \['delta'\]"):
        cc.width_exponents(df.drop(columns="delta"))


def test_stationarity_detector_against_the_ip_exponents():
    """Spec B5: one standard-IP step. L = 2 learns (Delta h^2 width-independent), L = 3 is stationary; the fitted
    slopes sit within 0.25 of theory.scaling's exponents (two widths, two seeds: a coarse fit). With tol = 0 the
    L = 2 net's width-independent update (slope -0.01 here) would be misread as vanishing."""
    from learndyn.theory import scaling

    rng = np.random.default_rng(0)
    X = rng.standard_normal((128, 20))
    task = Task(X, np.sign(X[:, :1]))
    for L, stationary in ((2, False), (3, True)):
        out = cc.stationarity("ip", task, [128, 512], n_hidden=L, predicted=scaling.ip_exponents(L))
        assert out.attrs["stationary"] is stationary
        assert out.attrs["worst_gap"] <= 0.25, out
        assert stationary == scaling.is_stationary(L)
    with pytest.raises(ValueError, match="predicted must name layers among"):
        cc.stationarity("ip", task, [16, 32], n_hidden=2, predicted={"h7": -1.0})
