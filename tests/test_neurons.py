"""Neuron-population observables against hand-computed cases and the particle net's own outputs."""

import jax
import numpy as np
import pytest

from learndyn import neurons
from learndyn.nets.meanfield import MeanFieldReLU


def test_linearity_error_is_zero_for_mirrored_nets_and_not_otherwise():
    X = np.random.default_rng(0).normal(size=(200, 5))
    net = MeanFieldReLU(5, 40)
    for symmetric, lo, hi in ((True, 0.0, 1e-28), (False, 1e-3, 10.0)):
        p = net.init(jax.random.key(1), symmetric=symmetric)
        err = float(neurons.linearity_error(np.asarray(net.apply(p, X)[0][:, 0]), X, np.asarray(net.linear_part(p))))
        assert lo <= err <= hi


def test_angles_masses_and_histogram():
    a = np.array([1.0, -2.0, 0.5])
    b = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [np.sqrt(3.0), 0.0, 1.0]])  # angles 0, pi/2, pi/6 to H = e1, e2
    theta = neurons.angles_to_subspace(b, 2)
    assert theta == pytest.approx([0.0, np.pi / 2, np.arcsin(0.5)], abs=1e-12)
    mass = neurons.neuron_mass(a, b)
    assert mass == pytest.approx([np.sqrt(2.0), 2.0, 1.0])
    assert float(neurons.mass_near_subspace(a, b, 2, 0.6)) == pytest.approx((np.sqrt(2) + 1) / (np.sqrt(2) + 3))
    edges, w = neurons.weighted_angle_histogram(a, b, 2, bins=4)  # edges pi/8 apart: 0, pi/6, pi/2 in bins 0, 1, 3
    total = np.sqrt(2) + 3
    assert w == pytest.approx([np.sqrt(2) / total, 1 / total, 0.0, 2 / total]) and edges[-1] == pytest.approx(np.pi / 2)
    assert neurons.symmetry_violation(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    with pytest.raises(ValueError, match="d_H"):
        neurons.angles_to_subspace(b, 4)
