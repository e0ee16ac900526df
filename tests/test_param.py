"""Parameterizations as data: the abc table (exact lr scales, multipliers, init scales), the width scalings at
initialisation and after one GD step fitted as log-log slopes over three widths, the stationary point of standard IP
(Hajjar, Chizat & Giraud 2024) and its IP-LLR fix, the mean-field convention of Bordelon & Pehlevan, and the errors
on bad input.

Widths: the checks at initialisation use m in MS = {256, 1024, 4096}; the one-step checks use MS_STEP = {128, 512,
2048}, a quarter of the cost, to keep the file near 20 s on two CPU cores (the same checks pass at MS).

Tolerances of the slope checks (one fixed seed each): over six seeds (ReLU, d = 20, batch 128, base lr 1), the
fitted one-step slopes of standard IP stayed within 0.12 of the predicted exponents at MS_STEP (0.06 at MS), and the
slopes at initialisation within 0.04 for the pre-activations and 0.10 for the rms of a 16-output f (up to 0.36 with a
single output, hence the 16 outputs); hence +-0.15.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from learndyn import param
from learndyn.nets import ACTIVATIONS, MLP

MS = (256, 1024, 4096)  # widths of the checks at initialisation
MS_STEP = (128, 512, 2048)  # widths of the one-step checks (a quarter of the cost of MS; see the module docstring)
D = 20


def _key(seed: int):
    """A ``jax.random`` key of the "rbg" implementation: the scalings do not depend on the generator, and on CPU its
    normal sampler compiles about five times faster than threefry's for each new array shape (the default threefry
    keys are used where the test is about keys: seed batching)."""
    return jax.random.key(seed, impl="rbg")


def _slope(ys, ms=MS) -> float:
    return float(np.polyfit(np.log(ms), np.log(np.asarray(ys, dtype=float)), 1)[0])


def _data(seed=0, P=128):
    X = jax.random.normal(_key(seed), (P, D))
    return X, jnp.sign(X[:, :1])


def _sizes(m, L, n_out=1):
    return (D,) + (m,) * L + (n_out,)


def _loss(net, X, Y):
    """The library loss 1/(2P) sum_mu ||y_mu - f_mu||^2."""
    return lambda prm: 0.5 * jnp.mean(jnp.sum((Y - net.apply(prm, X)[0]) ** 2, axis=1))


def _one_step(p, L, m, key, X, Y, steps, act="relu"):
    """One full-batch GD step from the same init, for each (parameterization, base lr) in ``steps``.

    Returns mean|h^l| at init (l = 1..L), and one list per entry of ``steps``: mean|Delta h^l| for l = 1..L, then
    mean|Delta f|, all on the training batch.  Eager on purpose: the operations compiled for one width are reused
    by every depth."""
    sizes = _sizes(m, L)
    net = p.mlp(sizes, act)
    assert all(q.mlp(sizes, act) == net for q, _ in steps)  # same network, only the learning rates differ
    params = p.init(key, sizes, act)
    grads = jax.grad(_loss(net, X, Y))(params)
    f0, c0 = net.apply(params, X)
    out = []
    for q, lr in steps:
        new = q.update(params, jax.tree.map(jnp.negative, grads), sizes, lr=lr, step=0)
        f1, c1 = net.apply(new, X)
        out.append([float(jnp.mean(jnp.abs(b - a))) for a, b in zip(c0["h"], c1["h"], strict=True)])
        out[-1].append(float(jnp.mean(jnp.abs(f1 - f0))))
    return [float(jnp.mean(jnp.abs(h))) for h in c0["h"]], out


@pytest.fixture(scope="module")
def ip_steps():
    """Slopes over MS_STEP of mean|Delta h^l| (l = 1..L) and mean|Delta f| after one GD step, per (rule, L), and
    of mean|h^l| at init (``"init"``).

    ``ip``: standard IP at base lr 1 (L = 2, 3).  ``llr1`` / ``llr30``: IP-LLR's step-0 rates at base lr 1 and 30
    (about the calibrated base lrs of the paper's IP-LLR runs), from the same init and gradient (L = 3)."""
    X, Y = _data()
    res = {}
    for L in (2, 3):
        names = ["ip"] + (["llr1", "llr30"] if L == 3 else [])
        steps = [(param.ip(), 1.0)] + ([(param.ip_llr(), 1.0), (param.ip_llr(), 30.0)] if L == 3 else [])
        runs = [_one_step(param.ip(), L, m, jax.random.fold_in(_key(1), m), X, Y, steps) for m in MS_STEP]
        for k, name in enumerate(["init"] + names):
            vals = np.array([r[0] for r in runs] if k == 0 else [r[1][k - 1] for r in runs])  # (widths, layers)
            res[name, L] = {"values": vals, "slopes": [_slope(vals[:, j], MS_STEP) for j in range(vals.shape[1])]}
    return res


# ---------------------------------------------------------------------------------------------------------------------
# the table


@pytest.mark.parametrize("L", [2, 3, 4, 5, 10])
@pytest.mark.parametrize("m", [7, 256])
def test_standard_ip_lr_scales_are_m_m2_m(L, m):
    scales = param.get("ip").lr_scales(_sizes(m, L))
    expected = [m] + [m**2] * (L - 1) + [m]
    assert len(scales) == L + 1
    np.testing.assert_allclose(scales, expected, rtol=1e-13)
    # the same at every step: IP has no warm-up
    assert param.ip().lr_scales(_sizes(m, L), step=5) == scales


@pytest.mark.parametrize(
    "name, a, b, c",
    [
        ("sp", (0, 0, 0), (0, 0.5, 0.5), (0, 0, 0)),
        ("ntk", (0, 0.5, 0.5), (0, 0, 0), (0, 0, 0)),
        ("mup", (-0.5, 0, 0.5), (0.5, 0.5, 0.5), (0, 0, 0)),
        ("ip", (0, 1, 1), (0, 0, 0), (-1, -2, -1)),
        ("ip-noncentred", (0, 1, 1), (0, 0, 0), (-1, -2, -1)),
        ("meanfield", (0, 0.5, 1), (0, 0, 0), (-1, -1, -1)),
    ],
)
def test_abc_exponents_and_the_numbers_they_give(name, a, b, c):
    p = param.get(name)
    assert (p.a, p.b, p.c) == (a, b, c)
    m, L = 64, 3
    sizes = _sizes(m, L, n_out=2)
    kinds = [0, 1, 1, 2]
    v = 1.0 if name == "meanfield" else 2.0  # ReLU
    np.testing.assert_allclose(
        p.multipliers(sizes), [m ** -a[k] / (math.sqrt(D) if k == 0 else 1.0) for k in kinds], rtol=1e-13
    )
    np.testing.assert_allclose(
        p.init_std(sizes, "relu"), [(1.0 if k == 2 else math.sqrt(v)) * m ** -b[k] for k in kinds], rtol=1e-13
    )
    np.testing.assert_allclose(p.lr_scales(sizes), [m ** -c[k] for k in kinds], rtol=1e-13)
    assert p.init_mean(sizes) == ((0.0, 1.0, 1.0, 1.0) if name == "ip-noncentred" else (0.0,) * 4)


@pytest.mark.parametrize("L", [2, 3, 4, 5, 10])
def test_ip_llr_step0_rates_cancel_the_stationary_exponents(L):
    m = 100
    sizes = _sizes(m, L)
    p = param.get("ip-llr")
    s0, s1 = np.array(p.lr_scales(sizes, step=0)), np.array(p.lr_scales(sizes, step=1))
    boost = [m ** ((L - 1) / 2)] + [m ** ((L - 2) / 2)] * (L - 1) + [m ** ((L - 1) / 2)]
    np.testing.assert_allclose(s0 / s1, boost, rtol=1e-12)
    np.testing.assert_allclose(p.layer_exponents(L, 0)["c"], [-(L + 1) / 2] + [-(L + 2) / 2] * (L - 1) + [-(L + 1) / 2])
    for step in (1, 2, 10):
        assert p.lr_scales(sizes, step=step) == param.ip().lr_scales(sizes)
    longer = param.get("ip-llr", warmup_steps=3)
    assert longer.lr_scales(sizes, step=2) == tuple(s0) and longer.lr_scales(sizes, step=3) == tuple(s1)


@pytest.mark.parametrize("L", [2, 3, 5])
def test_ip_llr_bias_table(L):
    p = param.get("ip-llr-bias")
    e0, e1 = p.layer_exponents(L, step=0), p.layer_exponents(L, step=1)
    hidden = range(2, L + 1)
    assert e0["c"] == tuple([-(L + 1) / 2] + [-(L - l + 4) / 2 for l in hidden] + [-1.0])
    assert e0["bias_c"] == tuple([-(L - l + 2) / 2 for l in range(1, L + 1)] + [0.0])
    assert e1["c"] == param.ip().layer_exponents(L)["c"]
    assert e1["bias_c"] == tuple([-1.0] * L + [0.0])
    flat = param.get("ip-llr-bias", scale_bias_lr=False)
    assert flat.layer_exponents(L, 0)["bias_c"] == flat.layer_exponents(L, 1)["bias_c"] == (0.0,) * (L + 1)


def _small():
    """The shapes of the small tests, shared with the first width of the checks at initialisation (every new array
    shape costs an XLA compile)."""
    X, Y = _data(seed=2, P=32)
    return _sizes(MS[0], 2, n_out=16), X, jnp.tile(Y, (1, 16))


def test_unscaled_biases_are_exact_reparameterization():
    """ip-llr-bias keeps O(1) biases beta outside the multiplier (h = a_l W x + beta) and stores b = beta / a_l in the
    MLP (h = a_l (W x + b)).  The forward passes agree, and since dL/db = a_l dL/dbeta, a GD step on b with scale
    s_beta / a_l^2 moves beta exactly as GD on beta with scale s_beta = m^{-bias_c}: check both halves."""
    p, act = param.ip_llr_bias(), "relu"
    sizes, X, Y = _small()
    m, L = sizes[1], len(sizes) - 2
    params = p.init(_key(3), sizes, act)
    mult = np.array(p.multipliers(sizes))
    beta = tuple(a * b for a, b in zip(mult, params["b"], strict=True))
    # the effective init biases are O(1): std sqrt(v) = sqrt(2) (hidden) whatever the multiplier
    assert 1.2 < float(jnp.std(beta[1])) < 1.6

    x = X
    for l in range(L + 1):
        h = mult[l] * x @ params["W"][l].T + beta[l]
        x = jax.nn.relu(h) if l < L else h
    np.testing.assert_allclose(x, p.mlp(sizes, act).apply(params, X)[0], rtol=1e-12)
    for step in (0, 1):
        s_beta = np.array([float(m) ** -c for c in p.layer_exponents(L, step)["bias_c"]])
        np.testing.assert_allclose(p.bias_lr_scales(sizes, step), s_beta / mult**2, rtol=1e-13)
        np.testing.assert_allclose(p.lr_tree(sizes, step)["b"], s_beta / mult**2, rtol=1e-13)


def test_input_bias_mode_keeps_other_biases_at_zero():
    p = param.get("ip", bias="input")
    sizes, _, _ = _small()
    m = sizes[1]
    net = p.mlp(sizes, "relu")
    assert net.bias and net.multipliers[0] == pytest.approx(1 / math.sqrt(D + 1))  # the bias counts as an input
    params = p.init(_key(0), sizes, "relu")
    assert float(jnp.abs(params["b"][0]).max()) > 0 and all(float(jnp.abs(b).max()) == 0 for b in params["b"][1:])
    assert p.bias_lr_scales(sizes) == (m, 0.0, 0.0)
    assert p.lr_tree(sizes) == {"W": (m, m**2, m), "b": (m, 0.0, 0.0)}
    assert param.ip().lr_tree(sizes) == {"W": (m, m**2, m)}


def test_every_activation_has_a_variance_factor():
    assert set(param.VARIANCE_FACTORS) == set(ACTIVATIONS)
    assert (param.VARIANCE_FACTORS["relu"], param.VARIANCE_FACTORS["gelu"], param.VARIANCE_FACTORS["tanh"]) == (2, 4, 1)
    assert param.VARIANCE_FACTORS["scaled_tanh"] == param.VARIANCE_FACTORS["tanh"] == 1  # both have phi'(0) = 1
    assert param.get("ip", v=3.0).variance_factor("relu") == 3.0


def test_init_statistics_and_seed_batching():
    p = param.get("ip-noncentred", mean=0.7)
    sizes, _, _ = _small()
    params = p.init(_key(5), sizes, "relu")
    W2 = np.asarray(params["W"][1])  # 256 x 256 entries: standard errors 0.006 (mean), 0.004 (std)
    assert abs(W2.mean() - 0.7) < 0.03 and abs(W2.std() - math.sqrt(2.0)) < 0.03  # v = 2 for ReLU
    assert p.init_std(sizes, "gelu")[:2] == (2.0, 2.0) and p.init_std(sizes, "gelu")[2] == 1.0  # v = 4 for GELU
    tiny = (3, 4, 2)  # seed batching with the default (threefry) keys, on tiny shapes
    keys = jax.random.split(jax.random.key(6), 3)
    batched = jax.jit(jax.vmap(lambda k: p.init(k, tiny, "relu")))(keys)
    for i, k in enumerate(keys):
        one = p.init(k, tiny, "relu")
        for w, wb in zip(one["W"], batched["W"], strict=True):
            np.testing.assert_allclose(w, wb[i], rtol=1e-14)
    assert not np.array_equal(batched["W"][0][0], batched["W"][0][1])


@pytest.mark.parametrize("name", ["ip-noncentred", "ip-llr-bias"])
def test_init_in_float32_is_the_float64_init_rounded(name):
    p, tiny = param.get(name), (3, 4, 4, 2)
    p64, p32 = p.init(_key(7), tiny, "tanh"), p.init(_key(7), tiny, "tanh", dtype="float32")
    assert jax.tree.structure(p32) == jax.tree.structure(p64)
    for a, b in zip(jax.tree.leaves(p32), jax.tree.leaves(p64), strict=True):
        assert a.dtype == np.float32 and b.dtype == np.float64
        np.testing.assert_array_equal(a, np.asarray(b).astype(np.float32))
    with pytest.raises(ValueError, match="dtype must be one of"):
        p.init(_key(7), tiny, "tanh", dtype="float16")


def test_mlp_helper_and_update():
    p = param.get("mup")
    sizes, X, _ = _small()
    net = p.mlp(sizes, "relu")
    assert isinstance(net, MLP) and net.sizes == sizes and net.activation == "relu" and not net.bias
    np.testing.assert_allclose(net.multipliers, p.multipliers(sizes))
    params = p.init(_key(0), sizes, "relu")
    ones = jax.tree.map(jnp.ones_like, params)
    new = p.update(params, ones, sizes, lr=0.5)
    for w, w1, s in zip(params["W"], new["W"], p.lr_scales(sizes), strict=True):
        np.testing.assert_allclose(w1 - w, 0.5 * s, rtol=1e-12)
    with pytest.raises(ValueError, match="params must have keys"):
        param.ip_llr_bias().update(params, ones, sizes, lr=0.5)


# ---------------------------------------------------------------------------------------------------------------------
# scalings at initialisation


@functools.cache
def _init_scales(name, L, ms=MS, n_out=16, P=32, act="relu"):
    """mean|h^l| (l = 1..L) and rms f at init of preset ``name``, per width in ``ms`` (cached: tests share them)."""
    p = param.get(name)
    X, _ = _data(seed=2, P=P)
    rows = []
    for m in ms:
        sizes = _sizes(m, L, n_out)
        f, cache = p.mlp(sizes, act).apply(p.init(jax.random.fold_in(_key(7), m), sizes, act), X)
        rows.append([float(jnp.mean(jnp.abs(h))) for h in cache["h"]] + [float(jnp.sqrt(jnp.mean(f**2)))])
    return np.array(rows)


def test_standard_ip_forward_vanishes_with_depth(ip_steps):
    """h^1 = Theta(1), h^l = Theta(m^{-(l-1)/2}), f = Theta(m^{-L/2}) at init (sigma(0) = 0, zero-mean weights):
    L = 2 over MS with 16 outputs (f over 32 x 16 entries), and the pre-activations of the L = 3 net of the one-step
    checks over MS_STEP."""
    vals = _init_scales("ip", 2)
    np.testing.assert_allclose([_slope(vals[:, j]) for j in range(3)], [0.0, -0.5, -1.0], atol=0.15)
    L = 3
    np.testing.assert_allclose(ip_steps["init", L]["slopes"], [-(l - 1) / 2 for l in range(1, L + 1)], atol=0.15)


@pytest.mark.parametrize("name", ["mup", "meanfield"])
def test_mup_and_meanfield_pre_activations_are_order_one(name):
    L = 2
    vals = _init_scales(name, L)
    np.testing.assert_allclose([_slope(vals[:, j]) for j in range(L)], [0.0] * L, atol=0.15)
    assert (vals[:, :L] > 0.1).all()


@pytest.mark.parametrize("name", ["ip-noncentred", "ip-llr-bias"])
def test_ip_fixes_make_the_forward_pass_non_degenerate(name):
    """IP's pre-activations stay O(1) at every depth once the weights are non-centred or the biases are O(1) (widths
    MS_STEP and the one-step batch, to share compiled shapes with the one-step checks)."""
    L = 3
    vals = _init_scales(name, L, ms=MS_STEP, n_out=1, P=128)
    np.testing.assert_allclose([_slope(vals[:, j], MS_STEP) for j in range(L)], [0.0] * L, atol=0.15)
    assert (vals[:, :L] > 0.1).all()


def test_meanfield_output_scale_and_learning_rate():
    """f = w . phi(h^L)/(gamma0 N) with N(0,1) weights: f = Theta(1/(gamma0 sqrt(N))); lr scale gamma0^2 N."""
    L = 2
    vals = _init_scales("meanfield", L)
    assert _slope(vals[:, L]) == pytest.approx(-0.5, abs=0.15)
    sizes, X, _ = _small()
    N = sizes[1]
    outs = {}
    for g in (0.25, 1.0, 4.0):
        p = param.get("meanfield", gamma0=g)
        outs[g] = g * p.mlp(sizes, "relu").apply(p.init(_key(1), sizes, "relu"), X)[0]
        np.testing.assert_allclose(p.lr_scales(sizes), [g**2 * N] * (L + 1), rtol=1e-13)
        np.testing.assert_allclose(p.lr_scales(sizes, step=3), [g**2 * N] * (L + 1), rtol=1e-13)
    np.testing.assert_allclose(outs[0.25], outs[1.0], rtol=1e-12)
    np.testing.assert_allclose(outs[4.0], outs[1.0], rtol=1e-12)


# ---------------------------------------------------------------------------------------------------------------------
# one GD step: stationarity of standard IP, and its fix


def test_standard_ip_two_hidden_layers_learns(ip_steps):
    """L = 2: |Delta h^2| does not vanish with width (the paper's network learns), |Delta h^1| = Theta(m^{-1/2})."""
    r = ip_steps["ip", 2]
    dh1, dh2, df = r["slopes"]
    assert dh2 == pytest.approx(0.0, abs=0.15)
    assert dh1 == pytest.approx(-0.5, abs=0.15)
    assert df == pytest.approx(0.0, abs=0.25)  # six seeds: [-0.16, 0.02]
    assert (5e-3 < r["values"][:, 1]).all() and (r["values"][:, 1] < 5e-2).all()


def test_standard_ip_is_stationary_from_three_hidden_layers(ip_steps):
    """L = 3: every update vanishes with width, Delta h^l = Theta(m^{-(L-l)/2-(l-2)}) (l >= 2) and
    Delta h^1 = Theta(m^{-(L-1)/2}), i.e. slopes -1, -1/2, -1; Delta f falls faster than Delta h^2."""
    L = 3
    s = ip_steps["ip", L]["slopes"]
    predicted = [-(L - 1) / 2] + [-(L - l) / 2 - (l - 2) for l in range(2, L + 1)]
    np.testing.assert_allclose(s[:L], predicted, atol=0.15)
    assert s[1] == pytest.approx(-0.5, abs=0.15)
    assert max(s) < -0.3  # all measured slopes negative: stationary in the infinite-width limit
    assert s[L] < s[1] - 0.25


def test_ip_llr_first_step_is_width_independent(ip_steps):
    """L = 3, same init and gradient as standard IP: IP-LLR's step-0 rates cancel the vanishing exponents of the
    first-order updates (|Delta h^1|, |Delta h^2| width-independent where IP gives m^{-1}, m^{-1/2}); at base lr 30
    the change of h^3 (Delta W^3 acting on the moved x^2, a product of two step-0 updates) is width-independent too,
    where IP's h^3 moves as m^{-1}.  At base lr 1 that product is still below h^3's init part at these widths (slope
    about -0.4, a crossover), hence lr 30; over six seeds its slope stayed within [-0.31, 0.18], hence +-0.35."""
    llr1, llr30, ip = (ip_steps[k, 3]["slopes"] for k in ("llr1", "llr30", "ip"))
    np.testing.assert_allclose(llr1[:2], [0.0, 0.0], atol=0.15)
    assert llr30[2] == pytest.approx(0.0, abs=0.35)
    assert max(ip) < -0.4


# ---------------------------------------------------------------------------------------------------------------------
# bad input


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="name must be one of") as err:
        param.get("mu-p-typo")
    for name in param.PRESETS:
        assert repr(name) in str(err.value)
    assert param.get("IP_LLR").name == "ip-llr" and param.get("mean-field").name == "meanfield"


@pytest.mark.parametrize("gamma0", [0, -1.0, float("inf"), float("nan")])
def test_gamma0_must_be_positive(gamma0):
    with pytest.raises(ValueError, match="gamma0"):
        param.get("meanfield", gamma0=gamma0)


def test_bad_widths_options_and_steps():
    p = param.ip()
    with pytest.raises(ValueError, match=r"equal hidden widths.*\(64, 32\)"):
        p.lr_scales((D, 64, 32, 1))
    with pytest.raises(ValueError, match="at least one hidden layer"):
        p.multipliers((D, 1))
    with pytest.raises(ValueError, match=r"sizes\[1\] must be a positive integer; got 0"):
        p.init(jax.random.key(0), (D, 0, 1), "relu")
    with pytest.raises(ValueError, match="options of 'ip' must be among"):
        param.get("ip", gamma0=2.0)
    with pytest.raises(ValueError, match="bias must be one of"):
        param.get("ip", bias="hidden")
    with pytest.raises(ValueError, match="v must be a finite number > 0"):
        param.get("sp", v=-1.0)
    with pytest.raises(ValueError, match="step must be a non-negative integer"):
        p.lr_scales((D, 8, 1), step=-1)
    with pytest.raises(ValueError, match="activation must be one of"):
        p.mlp((D, 8, 1), "elu")
    with pytest.raises(ValueError, match=r"c\[hidden\] must be a finite number or a triple"):
        param.Parameterization("bad", a=(0, 0, 0), b=(0, 0, 0), c=(0, "x", 0))
