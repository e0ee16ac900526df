"""Base-learning-rate calibration of IP-LLR (spec B2) and the stall it fixes (spec B5): standard IP with five hidden
layers does not move in 100 steps, calibrated IP-LLR learns; the calibrated rates do not drift with the width."""

import re

import jax
import numpy as np
import pytest

import learndyn as ld
from learndyn import param, train
from learndyn.param.calibrate import calibrate_base_lr

D = 20


def _teacher(n, seed):
    rng = np.random.default_rng(seed)
    w = np.random.default_rng(99).standard_normal(D)
    X = rng.standard_normal((n, D))
    return X, np.tanh(2 * X @ w / np.sqrt(D))[:, None]


def _calibrated(m, L=5, lr=1.0, seed=0):
    par = param.get("ip-llr")
    sizes = (D,) + (m,) * L + (1,)
    p0 = par.init(jax.random.key(seed), sizes, "relu")
    (X1, Y1), (X2, _) = _teacher(128, 1), _teacher(128, 2)
    return par, sizes, p0, calibrate_base_lr(par, sizes, "relu", p0, X1, Y1, X2, lr=lr)


def test_standard_ip_stalls_and_calibrated_ip_llr_learns():
    m = 256
    task = ld.Task(*_teacher(512, 3))
    par, sizes, p0, cal = _calibrated(m)
    llr = train.simulate(par.mlp(sizes, "relu"), "gd", task, p0, lr=1.0, t=[0, 1, 100], param=cal, batch_size=128)
    ip = param.get("ip")
    frozen = train.simulate(ip.mlp(sizes, "relu"), "gd", task, ip.init(jax.random.key(0), sizes, "relu"), lr=1.0,
                            t=[0, 1, 100], param=ip, batch_size=128)  # fmt: skip
    assert abs(frozen.loss[-1] - frozen.loss[0]) < 1e-4  # spec B5: frozen at 0.2156 (here its own initial loss)
    assert llr.loss[-1] <= 0.5 * llr.loss[0]  # spec B5: at least 2x below the initial loss by step 100


def test_calibrated_rates_do_not_drift_with_width():
    # A wrong exponent would show as a drift m^(+-1/2) or more; measured slopes 0.03, 0.07, 0.08 (L = 3).
    rates = np.array([_calibrated(m, L=3)[3].rates for m in (128, 512)])
    assert rates[0, 0] == 1.0  # the input layer keeps the user's rate
    slopes = np.log(rates[1, 1:] / rates[0, 1:]) / np.log(4.0)
    assert np.all(np.abs(slopes) <= 0.35), slopes
    assert np.all(rates[:, 1:] > 1.0)  # the step-0 updates need boosting at base rate 1


def test_calibrated_warmup_scales_and_bad_input():
    par, sizes, p0, cal = _calibrated(64, L=3, lr=0.5)
    base0, base1 = par.lr_scales(sizes, 0), par.lr_scales(sizes, 1)
    assert cal.lr_scales(sizes, 0) == pytest.approx(tuple(s * r / 0.5 for s, r in zip(base0, cal.rates, strict=True)))
    assert cal.lr_scales(sizes, 1) == base1 and cal.warmup_steps == 1
    with pytest.raises(ValueError, match="lr"):
        calibrate_base_lr(par, sizes, "relu", p0, np.ones((4, D)), np.ones((4, 1)), np.ones((4, D)), lr=0.0)


@pytest.mark.parametrize("name, layer", [("mup", "layer 2 (hidden)"), ("ntk", "layer 2 (hidden)"),
                                         ("meanfield", "layer 2 (hidden)")])  # fmt: skip
def test_a_parameterization_that_is_not_integrable_is_refused_naming_the_layer(name, layer):
    par, sizes = param.get(name), (4, 16, 16, 16, 1)
    p0 = par.init(jax.random.key(0), sizes, "relu")
    X = np.random.default_rng(0).normal(size=(8, 4))
    with pytest.raises(ValueError, match=rf"calibrate_base_lr needs an integrable parameterization; '{name}' is not: "
                                         rf"{re.escape(layer)} has a \+ b = "):
        calibrate_base_lr(par, sizes, "relu", p0, X, X[:, :1], X)


@pytest.mark.parametrize("name", ["ip", "ip-llr", "ip-llr-bias", "ip-noncentred"])
def test_the_integrable_presets_pass_the_requirement(name):
    param.require_integrable(param.get(name), 5)
