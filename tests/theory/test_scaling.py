"""The standard-IP one-step exponents of theory.scaling against width sweeps of the simulation (coord_check)."""

import numpy as np
import pytest

import learndyn as ld
from learndyn import coord_check
from learndyn.theory import scaling


@pytest.mark.parametrize("L", [2, 3, 5])
def test_one_step_exponents_match_the_width_sweep(L):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 20))
    task = ld.Task(X, np.sign(X[:, :1]))
    df = coord_check.coord_check("ip", task, [256, 512, 1024], n_hidden=L, lr=1.0, steps=1, n_seeds=2, seed=1)
    slopes = coord_check.width_exponents(df)
    for layer, (init, delta) in scaling.ip_exponents(L).items():
        if not (layer == "f" and L == 2):  # f(0) = Theta(1/m) is a sum of two-seed noise at these widths
            assert abs(slopes.loc[layer, "init"] - init) <= 0.2, (layer, slopes.loc[layer, "init"], init)
        assert abs(slopes.loc[layer, "delta"] - delta) <= 0.2, (layer, slopes.loc[layer, "delta"], delta)


def test_stationary_from_three_hidden_layers():
    assert [scaling.is_stationary(L) for L in (1, 2, 3, 4, 10)] == [False, False, True, True, True]
    assert scaling.ip_exponents(1) == {"h1": (0.0, 0.0), "f": (-0.5, 0.0)}
    with pytest.raises(ValueError, match="n_hidden"):
        scaling.ip_exponents(0)
