"""Numerical helpers against closed forms: the relaxation integral, crossing times, log-linear decay-rate fits."""

import numpy as np
import pytest
from scipy.integrate import quad

from learndyn._numerics import crossing_time, decay_rate, relax_integral, time_to_fraction

# ---------------------------------------------------------------------------------------------
# relax_integral = int_0^theta 2 exp(-2 rate s) ds


@pytest.mark.parametrize("rate", [0.0, 1e-9, 0.3, 2.0, 50.0])
@pytest.mark.parametrize("theta", [0.0, 1e-3, 0.7, 25.0])
def test_relax_integral_is_the_integral_of_the_relaxation(rate, theta):
    ref, _ = quad(lambda s: 2.0 * np.exp(-2.0 * rate * s), 0.0, theta, epsabs=0.0, epsrel=1e-13)
    np.testing.assert_allclose(relax_integral(rate, theta), ref, rtol=1e-12, atol=0.0)


def test_relax_integral_small_rate_keeps_relative_accuracy_and_large_times_stay_finite():
    # 2 theta (1 - rate theta + ...): the naive (1 - exp(-2 r theta)) / r loses about 8 digits at r theta = 1e-9.
    rate, theta = 1e-9, 1.0
    np.testing.assert_allclose(relax_integral(rate, theta), 2.0 * theta * (1.0 - rate * theta), rtol=1e-15)
    np.testing.assert_allclose(relax_integral(3.0, 1e300), 1.0 / 3.0, rtol=1e-15)
    assert relax_integral(-1.0, 2.0) == 4.0  # rate <= 0: the rate -> 0 limit 2 theta


def test_relax_integral_broadcasts_times_against_modes():
    theta = np.array([0.0, 0.5, 3.0])[:, None]
    rate = np.array([0.0, 1.0])
    out = relax_integral(rate, theta)
    assert out.shape == (3, 2)
    np.testing.assert_allclose(out[:, 0], 2.0 * theta[:, 0])
    np.testing.assert_allclose(out[:, 1], 1.0 - np.exp(-2.0 * theta[:, 0]), rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# crossing_time and time_to_fraction: the first record at or after the exact crossing

DT = 1e-3
T = DT * np.arange(20_001)  # 0 ... 20


def _first_record_after(t_star):
    """The first record of T at or after the exact crossing ``t_star``."""
    return T[np.searchsorted(T, t_star - 1e-12)]


@pytest.mark.parametrize(("rate", "level"), [(1.0, 0.5), (0.3, 0.1), (5.0, 1e-6)])
def test_crossing_time_of_an_exponential(rate, level):
    t_star = np.log(1.0 / level) / rate
    got = crossing_time(T, np.exp(-rate * T), level)
    assert isinstance(got, float)
    assert t_star <= got < t_star + DT
    assert got == pytest.approx(_first_record_after(t_star), abs=1e-12)


def test_crossing_time_of_sigmoids_with_known_half_rise():
    # Saxe's sigmoid a(t) = s / (1 + (s/a0 - 1) e^{-2 s t}) reaches s/2 at t* = ln(s/a0 - 1) / (2 s).
    s = np.array([2.0, 1.0, 0.5])
    a0 = np.array([1e-3, 1e-2, 1e-4])
    a = s / (1.0 + (s / a0 - 1.0) * np.exp(-2.0 * s * T[:, None]))
    t_star = np.log(s / a0 - 1.0) / (2.0 * s)
    got = crossing_time(T, a, s / 2, above=True)
    assert got.shape == (3,)
    assert ((t_star <= got) & (got < t_star + DT)).all()
    assert (np.argsort(got) == np.argsort(t_star)).all()


def test_crossing_time_never_reached_and_reached_at_once():
    y = np.exp(-T)
    assert crossing_time(T, y, -1.0) == np.inf  # a loss that never gets there takes "forever"
    assert np.isnan(crossing_time(T, y, -1.0, never=np.nan))
    assert crossing_time(T, y, 2.0) == 0.0  # already below at the first record
    both = crossing_time(T, np.stack([y, -y], axis=1), [2.0, -0.5], above=True, never=np.nan)
    assert np.isnan(both[0]) and both[1] == pytest.approx(_first_record_after(np.log(2.0)), abs=1e-12)
    with pytest.raises(ValueError, match="records of t"):
        crossing_time(T, y[:-1], 0.5)


def test_time_to_fraction_of_a_loss_and_of_its_drop():
    # L(t) = c + e^{-2t}: L falls to f L(0) at ln(1 / (f (1 + c) - c)) / 2 when f (1 + c) > c, never otherwise;
    # L - L(oo) falls to f of its drop at ln(1 / f) / 2.
    c = 0.05
    loss = c + np.exp(-2.0 * T)
    got = time_to_fraction(T, loss, 0.1)
    t_star = np.log(1.0 / (0.1 * (1.0 + c) - c)) / 2.0
    assert t_star <= got < t_star + DT
    assert time_to_fraction(T, loss, 0.01) == np.inf
    assert np.isnan(time_to_fraction(T, loss, 0.01, never=np.nan))
    got = time_to_fraction(T, loss, 0.01, floor=c)
    assert np.log(100.0) / 2 <= got < np.log(100.0) / 2 + DT


# ---------------------------------------------------------------------------------------------
# decay_rate


@pytest.mark.parametrize("rate", [0.05, 1.0, 7.5])
def test_decay_rate_recovers_an_exact_exponential(rate):
    t = np.linspace(0.0, 30.0 / rate, 301)
    y = 4.0 * np.exp(-rate * t)
    fitted, window = decay_rate(t, y, between=(1e-10, 1e-3))
    assert fitted == pytest.approx(rate, rel=1e-10)
    np.testing.assert_array_equal(window, (y < 1e-3 * y[0]) & (y > 1e-10 * y[0]))


def test_decay_rate_fits_the_slow_mode_past_the_transient():
    # Two modes: the window past 1e-3 of the start sees the slow one, up to its e^{-(fast - slow) t} admixture.
    t = np.linspace(0.0, 40.0, 4001)
    y = np.exp(-5.0 * t) + 1e-2 * np.exp(-0.5 * t)
    fitted, window = decay_rate(t, y, between=(1e-10, 1e-3))
    assert window.any() and t[window][0] > 1.0
    assert fitted == pytest.approx(0.5, rel=1e-6)
    wide, _ = decay_rate(t, y, between=(1e-10, 0.9))  # a window that includes the transient is biased
    assert abs(wide - 0.5) > 1e-3


def test_decay_rate_is_nan_when_the_curve_never_falls_through_the_window():
    t = np.linspace(0.0, 1.0, 50)
    rate, window = decay_rate(t, np.exp(-t), between=(1e-8, 0.1))  # falls only to e^{-1} of its start
    assert np.isnan(rate) and not window.any()
    rate, window = decay_rate(t, np.exp(-10 * t), between=(1e-8, 0.1), min_points=50)
    assert np.isnan(rate) and 3 <= window.sum() < 50
    with pytest.raises(ValueError, match="0 < lo < hi"):
        decay_rate(t, np.exp(-t), between=(0.1, 1e-8))
    with pytest.raises(ValueError, match="same length"):
        decay_rate(t, np.exp(-t)[:-1], between=(1e-8, 0.1))
