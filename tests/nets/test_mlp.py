"""Networks: the MLP forward pass against NumPy, activation derivatives against autodiff, and the deep linear fast
paths (data compression, analytic gradient) against autodiff of the uncompressed loss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import erf

from learndyn.nets import ACTIVATIONS, GLN, MLP
from learndyn.nets import linear as linear_net

NUMPY_PHI = {
    "linear": lambda h: h,
    "relu": lambda h: np.maximum(h, 0.0),
    "leaky_relu": lambda h: np.where(h > 0, h, 0.01 * h),
    "tanh": np.tanh,
    "scaled_tanh": lambda h: np.tanh(0.8 * h) / 0.8,  # the DMFT demo's activation, written out independently
    "erf": erf,
    "gelu": lambda h: 0.5 * h * (1.0 + erf(h / np.sqrt(2.0))),
}


def test_every_activation_has_a_numpy_reference():
    assert set(NUMPY_PHI) == set(ACTIVATIONS)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("bias", [False, True])
def test_forward_matches_numpy(activation, bias):
    net = MLP((3, 7, 5, 2), activation=activation, bias=bias)
    params = net.init(jax.random.key(1))
    if bias:
        params["b"] = tuple(0.3 * np.random.default_rng(k).normal(size=b.shape) for k, b in enumerate(params["b"]))
    X = np.random.default_rng(2).normal(size=(6, 3))
    W = [np.asarray(w) for w in params["W"]]
    b = [np.asarray(v) for v in params["b"]] if bias else [0.0, 0.0, 0.0]
    h1 = X @ W[0].T + b[0]
    h2 = NUMPY_PHI[activation](h1) @ W[1].T + b[1]
    f_ref = NUMPY_PHI[activation](h2) @ W[2].T + b[2]
    f, cache = net.apply(params, X)
    np.testing.assert_allclose(f, f_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cache["h"][1], h2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cache["phi"][0], X)
    np.testing.assert_allclose(cache["phi"][2], NUMPY_PHI[activation](h2), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_dphi_is_the_derivative(activation):
    net = MLP((2, 2), activation=activation)
    h = jnp.linspace(-3.0, 3.0, 41) + 0.013  # avoid the kink of relu at exactly 0
    auto = jax.vmap(jax.grad(net.phi))(h)
    np.testing.assert_allclose(net.dphi(h), auto, rtol=1e-12, atol=1e-14)
    # and against central differences of the NumPy reference (error ~ step^2 + eps / step ~ 1e-10)
    step, x = 1e-5, np.asarray(h)
    numeric = (NUMPY_PHI[activation](x + step) - NUMPY_PHI[activation](x - step)) / (2 * step)
    np.testing.assert_allclose(net.dphi(h), numeric, rtol=1e-8, atol=1e-9)


def test_init_scale_and_seed_batching():
    net = MLP((400, 300, 2))
    W1 = np.asarray(net.init(jax.random.key(0))["W"][0])
    assert abs(W1.std() * np.sqrt(400) - 1.0) < 0.01  # LeCun scaling: std 1/sqrt(fan_in)
    batched = jax.vmap(net.init)(jax.random.split(jax.random.key(0), 4))
    assert batched["W"][1].shape == (4, 2, 300)
    assert not np.allclose(batched["W"][0][0], batched["W"][0][1])


@pytest.mark.parametrize("net", [MLP((5, 7, 3), bias=True), GLN((5, 7, 3), activation="relu")], ids=["mlp", "gln"])
def test_init_dtype_rounds_the_float64_draw(net):
    p64 = net.init(jax.random.key(3))
    p32 = net.init(jax.random.key(3), dtype="float32")
    assert {a.dtype for a in jax.tree_util.tree_leaves(p64)} == {np.dtype("float64")}
    assert {a.dtype for a in jax.tree_util.tree_leaves(p32)} == {np.dtype("float32")}
    for a, b in zip(jax.tree_util.tree_leaves(p32), jax.tree_util.tree_leaves(p64), strict=True):
        np.testing.assert_array_equal(a, np.asarray(b).astype(np.float32))  # same key, same net, up to rounding
    for spelling in (np.float32, jnp.float32, np.dtype("float32")):
        assert net.init(jax.random.key(3), dtype=spelling)["W"][0].dtype == np.float32
    X32 = np.ones((2, 5), np.float32)
    f, cache = net.apply(p32, X32)
    assert f.dtype == np.float32 and all(h.dtype == np.float32 for h in cache["h"])  # GLN gates follow X too


@pytest.mark.parametrize(
    ("dtype", "error", "message"),
    [
        ("float16", ValueError, "dtype must be one of \\['float32', 'float64'\\].*got 'float16'"),
        (jnp.int32, ValueError, "dtype must be float32 or float64; got int32"),
        (3, TypeError, "dtype must be a dtype"),
    ],
)
def test_bad_init_dtypes_are_refused(dtype, error, message):
    with pytest.raises(error, match=message):
        MLP((3, 2)).init(jax.random.key(0), dtype=dtype)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sizes": (3, 0, 2)}, "sizes\\[1\\] must be a positive integer"),
        ({"sizes": (3,)}, "at least 2 widths"),
        ({"sizes": (3, 2), "activation": "sigmoid"}, "activation must be one of .*'gelu'"),
        ({"sizes": (3, 2), "bias": 1}, "bias must be True or False"),
    ],
)
def test_bad_nets_are_refused(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        MLP(**kwargs)


def test_params_of_the_wrong_depth_are_refused():
    with pytest.raises(ValueError, match="2 weight layers but the net has depth 3"):
        MLP((3, 4, 4, 2)).apply((np.ones((4, 3)), np.ones((2, 4))), np.ones((1, 3)))


@pytest.mark.parametrize("dims", [(4, 6, 3), (5, 4, 6, 3), (3, 3)])
def test_compression_and_analytic_gradient_match_autodiff(dims):
    rng = np.random.default_rng(5)
    P = 17
    X, Y = rng.normal(size=(P, dims[0])), rng.normal(size=(P, dims[-1]))
    ws = tuple(0.5 * rng.normal(size=(b, a)) for a, b in zip(dims[:-1], dims[1:], strict=True))

    def raw_loss(w):
        f = MLP(dims).apply(w, jnp.asarray(X))[0]
        return 0.5 * jnp.sum((Y - f) ** 2) / P

    ref_value, ref_grad = jax.value_and_grad(raw_loss)(ws)
    Xc, Yc, offset = linear_net.compress(X, Y)
    assert Xc.shape[0] == dims[0]  # P > n_in: compressed to n_in rows
    Sxx, Syx = Xc.T @ Xc / P, Yc.T @ Xc / P
    value, grad = linear_net.value_and_grad(ws, Sxx, Syx, (0.5 * np.sum(Yc * Yc) + offset) / P)
    assert abs(float(value) - float(ref_value)) < 1e-12
    for g, r in zip(grad, ref_grad, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-13)


def test_multipliers_scale_each_layer():
    rng = np.random.default_rng(3)
    W = (rng.normal(size=(5, 3)), rng.normal(size=(5, 5)), rng.normal(size=(2, 5)))
    X = rng.normal(size=(4, 3))
    net = MLP((3, 5, 5, 2), activation="relu", multipliers=(0.5, 0.2, 0.1))
    relu = NUMPY_PHI["relu"]
    f_ref = 0.1 * relu(0.2 * relu(0.5 * X @ W[0].T) @ W[1].T) @ W[2].T
    np.testing.assert_allclose(net.apply(W, X)[0], f_ref, rtol=1e-13)
    assert not net.is_linear and MLP((3, 2), multipliers=(1.0,)).is_linear
    with pytest.raises(ValueError, match="one entry per weight layer"):
        MLP((3, 5, 2), multipliers=(1.0,))
