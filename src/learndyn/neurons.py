"""Observables of a two-layer network seen as a population of neurons ``(a_j, b_j)`` (mean-field particles),
shared by simulation and theory (spec ``integrable_and_meanfield.md`` C2 item 4 and the diagnostics of issue 9):
how far the predictor is from linear, how far it is from a symmetry, and how the neurons sit relative to a
subspace ``H`` (the first ``d_H`` input coordinates).

All functions take arrays with optional leading axes (records, seeds) and return arrays over them.

Examples
--------
>>> import numpy as np
>>> b = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
>>> np.round(angles_to_subspace(b, 1), 4).tolist()  # along H, orthogonal to H
[0.0, 1.5708]
"""

from __future__ import annotations

import numpy as np

from learndyn import _checks


def linearity_error(f, X, w) -> np.ndarray:
    """``E[(f - <w, x>)^2] / E[f^2]`` over the items: 0 when the predictor is exactly linear.

    Parameters
    ----------
    f : (..., n) array
        Outputs on the items ``X``.
    X : (n, d) array
    w : (..., d) array
        The linear predictor (e.g. ``MeanFieldReLU.linear_part``).

    Examples
    --------
    >>> X = np.eye(2)
    >>> float(linearity_error(np.array([1.0, 2.0]), X, np.array([1.0, 2.0])))
    0.0
    """
    f, X, w = np.asarray(f), np.asarray(X), np.asarray(w)
    r = f - np.einsum("nd,...d->...n", X, w)
    return np.mean(r * r, axis=-1) / np.maximum(np.mean(f * f, axis=-1), np.finfo(float).tiny)


def symmetry_violation(f, f_T) -> np.ndarray:
    """``||f o T - f|| / ||f||`` over the items, from the outputs ``f`` on ``X`` and ``f_T`` on ``X T^T``."""
    f, f_T = np.asarray(f), np.asarray(f_T)
    return np.linalg.norm(f_T - f, axis=-1) / np.maximum(np.linalg.norm(f, axis=-1), np.finfo(float).tiny)


def angles_to_subspace(b, d_H: int) -> np.ndarray:
    """Angle ``arccos(||P_H b_j|| / ||b_j||)`` in ``[0, pi/2]`` of every neuron's input weights to ``H`` (the first
    ``d_H`` coordinates): (..., m)."""
    b = np.asarray(b, dtype=float)
    d_H = _checks.positive_int("d_H", d_H)
    if d_H > b.shape[-1]:
        raise ValueError(f"d_H must be <= the input dimension {b.shape[-1]}; got {d_H}")
    norm = np.linalg.norm(b, axis=-1)
    cos = np.linalg.norm(b[..., :d_H], axis=-1) / np.maximum(norm, np.finfo(float).tiny)
    return np.arccos(np.clip(cos, 0.0, 1.0))


def neuron_mass(a, b) -> np.ndarray:
    """``|a_j| ||b_j||``: the weight a neuron carries in the predictor's homogeneous form."""
    return np.abs(np.asarray(a)) * np.linalg.norm(np.asarray(b), axis=-1)


def mass_near_subspace(a, b, d_H: int, theta_max: float = 0.1) -> np.ndarray:
    """Fraction of the total mass ``sum |a_j| ||b_j||`` carried by neurons within ``theta_max`` of ``H``.

    Examples
    --------
    >>> a, b = np.array([1.0, 1.0]), np.array([[3.0, 0.0], [0.0, 1.0]])
    >>> float(mass_near_subspace(a, b, 1))
    0.75
    """
    theta_max = _checks.positive_float("theta_max", theta_max)
    mass = neuron_mass(a, b)
    near = angles_to_subspace(b, d_H) <= theta_max
    return np.sum(mass * near, axis=-1) / np.maximum(np.sum(mass, axis=-1), np.finfo(float).tiny)


def weighted_angle_histogram(a, b, d_H: int, bins: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of the angles to ``H`` over ``[0, pi/2]`` weighted by ``|a_j| ||b_j||`` (normalised to total mass
    1), for one set of neurons ``a (m,)``, ``b (m, d)``.

    Returns
    -------
    edges : (bins + 1,) array and weights : (bins,) array
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 1 or b.ndim != 2:
        raise ValueError(f"a must be (m,) and b (m, d) for one histogram; got {a.shape}, {b.shape}")
    bins = _checks.positive_int("bins", bins)
    mass = neuron_mass(a, b)
    hist, edges = np.histogram(angles_to_subspace(b, d_H), bins=bins, range=(0.0, np.pi / 2), weights=mass)
    return edges, hist / max(float(mass.sum()), np.finfo(float).tiny)
