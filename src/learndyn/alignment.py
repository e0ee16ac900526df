"""Alignment metrics of feedback alignment (FA): how far the forward weights have turned towards the feedback.

Feedback alignment (Lillicrap, Cownden, Tweed & Akerman 2016, "Random synaptic feedback weights support error
backpropagation for deep learning", Nat. Commun. 7:13276) sends the error of layer ``l + 1`` down through a fixed
random matrix ``B_{l+1}`` of shape ``(n_l, n_{l+1})`` instead of ``W_{l+1}^T``. It learns because the forward weights
come to align with the feedback. Robertson & Koyejo 2024 ("Implicit regularization in feedback alignment learning
mechanisms for neural networks", ICML) tie this alignment to a conservation law,
``diag(W_l W_l^T) - 2 diag(B_{l+1} W_{l+1})`` (see :func:`learndyn.observables.fa_conserved`). The metrics here
measure the alignment at four levels:

==============================  ==========================================================================
function                        what it measures
==============================  ==========================================================================
:func:`weight_alignment`        ``cos(vec W_{l+1}, vec B_{l+1}^T)``: the whole layer
:func:`neuron_alignment`        ``<B[i,:], W[:,i]> / (||B[i,:]|| ||W[:,i]||)`` for every hidden neuron ``i``
:func:`aligned_fraction`        the fraction of hidden neurons with ``<B[i,:], W[:,i]> >= 0``
:func:`signal_alignment`        ``cos(B delta, W^T delta)``: FA's backward signal against back-propagation's
:func:`update_alignment`        ``cos(G_rule, grad L)``: a rule's weight update against the true gradient
==============================  ==========================================================================

Shapes follow :mod:`learndyn.nets`: ``W_{l+1}`` is ``(n_{l+1}, n_l)`` and ``B_{l+1}`` is ``(n_l, n_{l+1})``, the
shape of ``W_{l+1}^T``. Every function accepts leading axes (a time axis of a recorded run, seeds), which broadcast
between the arguments, so a fixed ``B`` can be compared with weights recorded over time in one call. These are plain
NumPy functions on arrays (JAX arrays are accepted and converted); they return NumPy arrays or floats.

A cosine between two zero vectors is undefined and returned as NaN; :func:`aligned_fraction` uses the sign of the
raw inner product instead, so it is defined at a zero initialisation (an inner product of exactly 0 counts as
aligned).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "aligned_fraction",
    "cosine",
    "neuron_alignment",
    "signal_alignment",
    "update_alignment",
    "weight_alignment",
]


def _pair(W_next, B):
    """``W_{l+1}`` and ``B_{l+1}`` as float arrays whose trailing shapes are transposes of each other."""
    W = np.asarray(W_next, dtype=np.float64)
    Bm = np.asarray(B, dtype=np.float64)
    if W.ndim < 2 or Bm.ndim < 2:
        raise ValueError(
            f"W_next and B must be at least 2-D, (..., n_{{l+1}}, n_l) and (..., n_l, n_{{l+1}}); got shapes "
            f"{W.shape} and {Bm.shape}"
        )
    if W.shape[-2:] != Bm.shape[-2:][::-1]:
        raise ValueError(
            f"B must have the shape of W_next transposed: W_next {W.shape[-2:]} (n_{{l+1}}, n_l) needs B "
            f"{W.shape[-2:][::-1]} (n_l, n_{{l+1}}); got B {Bm.shape[-2:]}"
        )
    return W, Bm


def _safe_ratio(num, den):
    """``num / den`` with NaN where ``den == 0`` (a cosine of a zero vector), without warnings."""
    num, den = np.broadcast_arrays(np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64))
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out if out.ndim else float(out)


def cosine(a, b, ndim: int = 2):
    """Cosine of the angle between ``a`` and ``b`` over their trailing ``ndim`` axes (Frobenius inner product).

    Leading axes broadcast. NaN where either side is zero.

    Examples
    --------
    >>> cosine(np.eye(2), 2 * np.eye(2))
    1.0
    >>> cosine([1.0, 0.0], [0.0, 3.0], ndim=1)
    0.0
    >>> cosine(np.stack([np.eye(2), -np.eye(2)]), np.eye(2)).tolist()  # a leading (time) axis
    [1.0, -1.0]
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if ndim < 1 or a.ndim < ndim or b.ndim < ndim:
        raise ValueError(f"cosine over the last {ndim} axes needs arrays with that many; got {a.shape}, {b.shape}")
    if a.shape[a.ndim - ndim :] != b.shape[b.ndim - ndim :]:
        raise ValueError(
            f"the trailing {ndim} axes must agree; got {a.shape[a.ndim - ndim :]} and {b.shape[b.ndim - ndim :]}"
        )
    axes = tuple(range(-ndim, 0))
    inner = np.sum(a * b, axis=axes)
    norms = np.sqrt(np.sum(a * a, axis=axes) * np.sum(b * b, axis=axes))
    return _safe_ratio(inner, norms)


def weight_alignment(W_next, B):
    """Layer-wise alignment ``cos(vec W_{l+1}, vec B_{l+1}^T)`` (Lillicrap et al. 2016; Robertson & Koyejo 2024).

    Parameters
    ----------
    W_next : (..., n_{l+1}, n_l) array
        The forward weights above hidden layer ``l``.
    B : (..., n_l, n_{l+1}) array
        The feedback matrix that stands in for ``W_{l+1}^T``.

    Returns
    -------
    float or array of the broadcast leading shape
        1 when ``W_{l+1}`` is a positive multiple of ``B^T`` (back-propagation up to scale), -1 for a negative one,
        about 0 for independent random matrices (``O(1 / sqrt(n_l n_{l+1}))``).

    Examples
    --------
    >>> W = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0]])
    >>> weight_alignment(W, 3 * W.T), weight_alignment(W, -W.T)
    (1.0, -1.0)
    """
    W, Bm = _pair(W_next, B)
    return cosine(W, np.swapaxes(Bm, -1, -2))


def _neuron_inner(W, Bm):
    """``<B[i,:], W[:,i]>`` and the two norms, per hidden neuron ``i`` (last axis)."""
    inner = np.einsum("...ij,...ji->...i", Bm, W)
    return inner, np.sqrt(np.sum(Bm * Bm, axis=-1)), np.sqrt(np.sum(W * W, axis=-2))


def neuron_alignment(W_next, B):
    """Per-neuron alignment ``<B[i,:], W[:,i]> / (||B[i,:]|| ||W[:,i]||)`` of every hidden neuron ``i``.

    ``B[i,:]`` is how neuron ``i`` hears the error of layer ``l + 1`` under FA, ``W[:,i]`` how it speaks to that
    layer. Robertson & Koyejo 2024 show that for ReLU nets ``<B[i,:], W[:,i]> = (||W_l[i,:]||^2 - C_{l,i}) / 2``
    along FA's gradient flow, with ``C_l`` conserved, so each neuron aligns as its incoming weights grow.

    Parameters
    ----------
    W_next : (..., n_{l+1}, n_l) array
    B : (..., n_l, n_{l+1}) array

    Returns
    -------
    (..., n_l) array
        Cosines in [-1, 1]; NaN for a neuron whose ``B[i,:]`` or ``W[:,i]`` is zero.

    Examples
    --------
    >>> W = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> B = np.array([[1.0, 0.0], [0.0, -1.0]])  # neuron 0 aligned, neuron 1 anti-aligned
    >>> neuron_alignment(W, B).tolist()
    [1.0, -1.0]
    """
    W, Bm = _pair(W_next, B)
    inner, nb, nw = _neuron_inner(W, Bm)
    return _safe_ratio(inner, nb * nw)


def aligned_fraction(W_next, B):
    """Fraction of hidden neurons with ``<B[i,:], W[:,i]> >= 0`` (Robertson & Koyejo 2024's layer-wise alignment).

    Uses the sign of the raw inner product, so it is defined when a norm is zero (an exact 0 counts as aligned).

    Parameters
    ----------
    W_next : (..., n_{l+1}, n_l) array
    B : (..., n_l, n_{l+1}) array

    Returns
    -------
    float or array of the broadcast leading shape, in [0, 1]

    Examples
    --------
    >>> W = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> aligned_fraction(W, np.array([[1.0, 0.0], [0.0, -1.0]]))
    0.5
    >>> aligned_fraction(np.zeros((2, 3)), np.ones((3, 2)))  # zero weights: every inner product is 0
    1.0
    """
    W, Bm = _pair(W_next, B)
    inner, _, _ = _neuron_inner(W, Bm)
    frac = np.mean(inner >= 0, axis=-1)
    return frac if np.ndim(frac) else float(frac)


def signal_alignment(W_next, B, delta_next, *, dphi=None, per_item: bool = False):
    """Lillicrap et al. 2016's signal alignment: ``cos(B_{l+1} delta_{l+1}, W_{l+1}^T delta_{l+1})``.

    The angle between the error signal that FA sends to hidden layer ``l`` and the one back-propagation would send,
    for the same error ``delta_{l+1}`` of the layer above (for the last hidden layer, the output error ``f - y``).

    Parameters
    ----------
    W_next : (..., n_{l+1}, n_l) array
    B : (..., n_l, n_{l+1}) array
    delta_next : (..., P, n_{l+1}) array
        The error of layer ``l + 1`` for ``P`` items, one per row (as :mod:`learndyn.rules` holds them). Pass a
        single item as ``delta[None]``.
    dphi : (..., P, n_l) array, optional
        The activation's derivative at layer ``l``, ``phi'(h_l)``; when given both signals are multiplied by it,
        giving the angle between the hidden deltas ``delta_l`` of FA and of back-propagation.
    per_item : bool
        One cosine per item (shape ``(..., P)``) instead of one over the whole batch (the Frobenius cosine of the
        two ``(P, n_l)`` signal matrices, shape ``(...)``).

    Returns
    -------
    float or array
        NaN where a signal is zero.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> W, delta = rng.standard_normal((3, 5)), rng.standard_normal((4, 3))
    >>> round(signal_alignment(W, W.T, delta), 12), round(signal_alignment(W, -2 * W.T, delta), 12)
    (1.0, -1.0)
    >>> signal_alignment(W, W.T, delta, per_item=True).shape
    (4,)
    """
    W, Bm = _pair(W_next, B)
    d = np.asarray(delta_next, dtype=np.float64)
    if d.ndim < 2 or d.shape[-1] != W.shape[-2]:
        raise ValueError(
            f"delta_next must have shape (..., P, n_{{l+1}}) with n_{{l+1}} = {W.shape[-2]}; got {d.shape} "
            "(pass a single item as delta[None])"
        )
    fa = d @ np.swapaxes(Bm, -1, -2)  # rows: (B delta_mu)^T
    bp = d @ W  # rows: (W^T delta_mu)^T
    if dphi is not None:
        m = np.asarray(dphi, dtype=np.float64)
        fa, bp = fa * m, bp * m
    return cosine(fa, bp, ndim=1 if per_item else 2)


def update_alignment(update, gradient):
    """Update alignment ``cos(G_rule, grad_W L)``: a learning rule's weight update against the true gradient.

    Parameters
    ----------
    update, gradient : array or sequence of arrays
        One layer ``(..., n_l, n_{l-1})`` each, or one array per layer (e.g. ``updates["W"]`` of a rule and of
        :class:`learndyn.rules.GD`). Leading axes broadcast.

    Returns
    -------
    float or array for one layer; a list with one entry per layer for sequences.
        1 means the rule descends along the gradient; any value > 0 still decreases the loss to first order.

    Examples
    --------
    >>> G = np.array([[1.0, -1.0], [2.0, 0.5]])
    >>> update_alignment(G, 2 * G)
    1.0
    >>> update_alignment((G, np.eye(2)), (G, np.array([[0.0, 1.0], [1.0, 0.0]])))
    [1.0, 0.0]
    """
    if isinstance(update, Sequence) and not isinstance(update, np.ndarray):
        if not isinstance(gradient, Sequence) or len(update) != len(gradient):
            raise ValueError("update and gradient must hold the same number of layers")
        return [cosine(u, g) for u, g in zip(update, gradient, strict=True)]
    return cosine(update, gradient)
