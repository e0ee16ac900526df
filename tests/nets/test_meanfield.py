"""Mean-field particles and online SGD: exact odd symmetry with mirrored neurons and antithetic batches, broken
without; the time convention against the explicit particle update; symmetrisation; bad input."""

import jax
import numpy as np
import pytest

from learndyn import online, populations
from learndyn.nets.meanfield import MeanFieldReLU


def _pop(d=6, seed=0):
    z = np.random.default_rng(seed).normal(size=d)
    return populations.cubic_odd(z, C=1.0, std=1.0 / np.sqrt(d))


def _linearity_error(net, run, pop):
    X, _ = pop.sample(jax.random.key(9), 2000)
    f = np.asarray(jax.vmap(lambda p: net.apply(p, X)[0][:, 0])(run.params))
    w = np.asarray(net.linear_part(run.params))
    return np.mean((f - np.einsum("nd,td->tn", np.asarray(X), w)) ** 2, axis=1) / np.mean(f[-1] ** 2)


def test_mirrored_neurons_and_antithetic_batches_keep_the_predictor_linear():
    pop = _pop()
    net = MeanFieldReLU(6, 64)
    p0 = net.init(jax.random.key(0), symmetric=True)
    kw = dict(eta=0.05, t=np.linspace(0, 10, 6), batch_size=32)
    exact = online.sgd(net, p0, pop, antithetic=True, **kw)
    assert _linearity_error(net, exact, pop).max() <= 1e-25  # rounding only
    broken = online.sgd(net, p0, pop, antithetic=False, **kw)
    assert _linearity_error(net, broken, pop)[-1] >= 1e-8  # batch asymmetry breaks it (spec C5: ~4e-5)


def test_one_step_is_the_particle_gradient_at_rate_m_eta():
    # a_j <- a_j - eta * mean[(f - y) relu(<b_j, x>)], b_j <- b_j - eta * a_j mean[(f - y) 1{<b_j,x> > 0} x]:
    # SGD at lr = m * eta on 1/2 mean (f - y)^2 with f = (1/m) sum a relu(<b, x>). A population whose inputs are
    # all (to 1e-300) the point x0 makes the batch known.
    d, m = 3, 5
    x0 = np.array([0.3, -0.2, 0.5])
    net = MeanFieldReLU(d, m)
    p0 = net.init(jax.random.key(1))

    class Shifted(populations.Population):
        def sample_x(self, key, n):
            return super().sample_x(key, n) + x0

    pop = Shifted(d, lambda X: 2.0 * X[:, 0], std=1e-300)
    eta = 0.1
    run = online.sgd(net, p0, pop, eta=eta, t=[0.0, eta], batch_size=4)
    a, b = np.asarray(p0["a"]), np.asarray(p0["b"])
    z = b @ x0
    r = np.sum(a * np.maximum(z, 0)) / m - 2.0 * x0[0]
    a1 = a - eta * r * np.maximum(z, 0)
    b1 = b - eta * (a * r * (z > 0))[:, None] * x0[None]
    assert np.abs(run.params["a"][-1] - a1).max() <= 1e-14
    assert np.abs(run.params["b"][-1] - b1).max() <= 1e-14


def test_symmetrised_net_is_invariant():
    d = 4
    T = np.eye(d)[[1, 0, 2, 3]]  # swap two coordinates: order 2
    net, p = MeanFieldReLU(d, 10).symmetrise(MeanFieldReLU(d, 10).init(jax.random.key(2)), T)
    assert net.m == 20
    X = np.random.default_rng(0).normal(size=(50, d))
    f, _ = net.apply(p, X)
    fT, _ = net.apply(p, X @ T.T)
    assert np.abs(np.asarray(f) - np.asarray(fT)).max() <= 1e-14


def test_seeds_run_vmapped():
    pop = _pop()
    net = MeanFieldReLU(6, 32)
    keys = jax.random.split(jax.random.key(0), 3)
    p0 = jax.vmap(lambda k: net.init(k))(keys)
    run = online.sgd(net, p0, pop, eta=0.05, t=[0.0, 5.0], batch_size=16)
    assert run.params["b"].shape == (3, 2, 32, 6) and run.batch_loss.shape == (3, 2)
    assert not np.allclose(run.params["a"][0, -1], run.params["a"][1, -1])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda net, pop, p: online.sgd(net, p, pop, eta=0.1, t=[0, 1], batch_size=5, antithetic=True), "even"),
        (
            lambda net, pop, p: online.sgd(
                MeanFieldReLU(5, 8), MeanFieldReLU(5, 8).init(jax.random.key(0)), pop, eta=0.1, t=[0, 1], batch_size=4
            ),
            "d = 5 inputs",
        ),  # fmt: skip
        (lambda net, pop, p: online.sgd(net, p, pop, eta=-1.0, t=[0, 1], batch_size=4), "eta"),
        (lambda net, pop, p: MeanFieldReLU(6, 7).init(jax.random.key(0), symmetric=True), "m must be even"),
        (lambda net, pop, p: net.symmetrise(p, 2 * np.eye(6)), "orthogonal"),
    ],
)
def test_bad_input_is_named(call, match):
    pop = _pop()
    net = MeanFieldReLU(6, 8)
    with pytest.raises(ValueError, match=match):
        call(net, pop, net.init(jax.random.key(0)))


def test_divergence_stops_with_a_message():
    pop = _pop()
    net = MeanFieldReLU(6, 8)
    with pytest.raises(FloatingPointError, match="diverged at step"):
        online.sgd(net, net.init(jax.random.key(0)), pop, eta=1e6, t=[0, 1e8], batch_size=4)


def test_t_closed_batches_need_a_multiple_of_the_order_and_one_symmetry():
    pop = populations.radial(4, 3)
    net = MeanFieldReLU(4, 6)
    T = np.eye(4)[[1, 2, 0, 3]]
    assert len(populations.cyclic_group(T)) == 3
    with pytest.raises(ValueError, match="multiple of the order 3"):
        online.sgd(net, net.init(jax.random.key(0)), pop, eta=0.1, t=[0, 1], batch_size=8, symmetry=T)
    with pytest.raises(ValueError, match="not both"):
        online.sgd(net, net.init(jax.random.key(0)), pop, eta=0.1, t=[0, 1], batch_size=6, symmetry=T,
                   antithetic=True)  # fmt: skip
    with pytest.raises(ValueError, match="orthogonal"):
        populations.cyclic_group(2 * np.eye(3))
    X, _ = pop.sample(jax.random.key(1), 6, group=populations.cyclic_group(T))
    X = np.asarray(X)
    assert np.allclose(X[2:4], X[:2] @ T.T) and np.allclose(X[4:6], X[:2] @ (T @ T).T)  # draws and their images
