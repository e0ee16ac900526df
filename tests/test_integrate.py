"""Time grids and the Euler/RK4 steps, against closed forms of linear ODEs."""

import numpy as np
import pytest

from learndyn import integrate


def _decay(a):
    return lambda x: (0.5 * a * float(x @ x), a * x)  # d x/dt = -a x, monitored value a|x|^2/2


def test_euler_step_is_gradient_descent():
    value, new = integrate.step(np.array([2.0]), _decay(3.0), 0.1, "gd")
    assert value == pytest.approx(6.0)
    np.testing.assert_allclose(new, [2.0 * (1 - 0.3)], rtol=1e-15)


def test_rk4_is_fourth_order():
    errs = []
    for h in (0.1, 0.05):
        x = np.array([1.0])
        for _ in range(int(round(1.0 / h))):
            _, x = integrate.step(x, _decay(2.0), h, "rk4")
        errs.append(abs(float(x[0]) - np.exp(-2.0)))
    assert 14 < errs[0] / errs[1] < 18  # 2^4 = 16


def test_step_refuses_unknown_methods():
    with pytest.raises(ValueError, match="method must be one of \\['gd', 'rk4'\\]"):
        integrate.step(np.array([1.0]), _decay(1.0), 0.1, "euler2")


def test_steps_for_rounds_and_checks_exactness():
    assert integrate.steps_for([0.0, 0.1, 0.26], 0.05).tolist() == [0, 2, 5]
    with pytest.raises(ValueError, match="t must be multiples of dt=0.05"):
        integrate.steps_for([0.0, 0.26], 0.05, exact=True, h_name="dt")


def test_log_times_with_a_step_are_distinct_steps():
    t = integrate.log_times(0.05, 50.0, 200, step=0.05)
    steps = t / 0.05
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)
    assert (np.diff(t) > 0).all() and t[0] == 0.0 and t[-1] == pytest.approx(50.0)
