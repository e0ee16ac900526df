"""Alignment metrics of feedback alignment against hand-computed NumPy values."""

import numpy as np
import pytest

from learndyn import alignment


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    return rng.standard_normal((7, 40)), rng.standard_normal((40, 7))  # W_{l+1} (n_{l+1}, n_l), B (n_l, n_{l+1})


def test_weight_alignment_is_one_for_bp_feedback_and_minus_one_for_its_negative(pair):
    W, _ = pair
    assert alignment.weight_alignment(W, W.T) == pytest.approx(1.0, abs=1e-14)
    assert alignment.weight_alignment(W, 0.3 * W.T) == pytest.approx(1.0, abs=1e-14)
    assert alignment.weight_alignment(W, -W.T) == pytest.approx(-1.0, abs=1e-14)


def test_weight_alignment_matches_hand_computed_cosine_and_is_small_for_random(pair):
    W, B = pair
    expected = np.sum(W * B.T) / (np.linalg.norm(W) * np.linalg.norm(B))
    assert alignment.weight_alignment(W, B) == pytest.approx(expected, rel=1e-13)
    assert abs(alignment.weight_alignment(W, B)) < 4 / np.sqrt(W.size)  # independent: O(1/sqrt(n n'))


def test_weight_alignment_broadcasts_over_a_time_axis(pair):
    W, B = pair
    Ws = np.stack([W, -W, 2 * B.T])
    got = alignment.weight_alignment(Ws, W.T)
    assert got.shape == (3,)
    np.testing.assert_allclose(got[:2], [1.0, -1.0], atol=1e-14)
    assert got[2] == pytest.approx(alignment.weight_alignment(B.T, W.T), rel=1e-13)


def test_neuron_alignment_by_hand(pair):
    W, B = pair
    got = alignment.neuron_alignment(W, B)
    expected = [B[i] @ W[:, i] / (np.linalg.norm(B[i]) * np.linalg.norm(W[:, i])) for i in range(B.shape[0])]
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(alignment.neuron_alignment(W, W.T), 1.0, atol=1e-14)
    np.testing.assert_allclose(alignment.neuron_alignment(W, -2 * W.T), -1.0, atol=1e-14)


def test_neuron_alignment_of_a_zero_neuron_is_nan_but_counts_as_aligned():
    W = np.array([[1.0, 0.0, 2.0], [1.0, 0.0, -1.0]])
    B = np.array([[1.0, 1.0], [3.0, 1.0], [-1.0, 0.0]])
    got = alignment.neuron_alignment(W, B)
    assert got[0] == pytest.approx(1.0) and np.isnan(got[1]) and got[2] == pytest.approx(-2 / np.sqrt(5))
    assert alignment.aligned_fraction(W, B) == pytest.approx(2 / 3)


def test_aligned_fraction_over_time():
    W = np.array([[1.0, 1.0]])
    B = np.array([[1.0], [-1.0]])
    Ws = np.stack([W, np.array([[1.0, -1.0]]), -W])
    np.testing.assert_allclose(alignment.aligned_fraction(Ws, B), [0.5, 1.0, 0.5])


def test_signal_alignment_by_hand(pair):
    W, B = pair
    delta = np.random.default_rng(1).standard_normal((5, 7))
    fa, bp = delta @ B.T, delta @ W
    expected = np.sum(fa * bp) / (np.linalg.norm(fa) * np.linalg.norm(bp))
    assert alignment.signal_alignment(W, B, delta) == pytest.approx(expected, rel=1e-13)
    per = alignment.signal_alignment(W, B, delta, per_item=True)
    np.testing.assert_allclose(per, np.sum(fa * bp, 1) / np.linalg.norm(fa, axis=1) / np.linalg.norm(bp, axis=1))
    mask = (np.random.default_rng(2).standard_normal((5, 40)) > 0).astype(float)
    fm, bm = fa * mask, bp * mask
    assert alignment.signal_alignment(W, B, delta, dphi=mask) == pytest.approx(
        np.sum(fm * bm) / (np.linalg.norm(fm) * np.linalg.norm(bm)), rel=1e-13
    )
    assert alignment.signal_alignment(W, W.T, delta) == pytest.approx(1.0, abs=1e-14)
    assert alignment.signal_alignment(W, -W.T, delta) == pytest.approx(-1.0, abs=1e-14)


def test_update_alignment_per_layer_and_over_time():
    rng = np.random.default_rng(3)
    G1, G2 = rng.standard_normal((4, 3)), rng.standard_normal((2, 4))
    got = alignment.update_alignment((G1, G2), (3 * G1, -G2))
    np.testing.assert_allclose(got, [1.0, -1.0], atol=1e-14)
    H = rng.standard_normal((4, 3))
    assert alignment.update_alignment(G1, H) == pytest.approx(np.sum(G1 * H) / np.linalg.norm(G1) / np.linalg.norm(H))
    assert alignment.update_alignment(np.stack([G1, -G1]), G1).tolist() == pytest.approx([1.0, -1.0])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: alignment.weight_alignment(np.ones((3, 2)), np.ones((3, 2))), "transposed"),
        (lambda: alignment.neuron_alignment(np.ones(3), np.ones(3)), "at least 2-D"),
        (lambda: alignment.signal_alignment(np.ones((3, 2)), np.ones((2, 3)), np.ones((4, 2))), "delta_next"),
        (lambda: alignment.update_alignment((np.ones((2, 2)),), (np.ones((2, 2)), np.ones((2, 2)))), "same number"),
        (lambda: alignment.cosine(np.ones((2, 3)), np.ones((3, 2))), "trailing"),
    ],
)
def test_bad_shapes_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
