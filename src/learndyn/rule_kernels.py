"""Kernels of a net under a learning rule, from its forward cache: the rule's eNTK, the true and the rule's backward
signals, feature, gradient and pseudo-gradient kernels, kernel-task alignment, CKA and corr(g, g~).

Bordelon & Pehlevan, "The influence of learning rule on representation dynamics in wide neural networks" (ICLR 2023,
arXiv 2210.02157), eq. 4: ``K = sum_l G~^{l+1} * Phi^l``, with ``Phi^l`` the feature kernel of weight layer ``l``'s
input and ``G~^{l+1}`` the overlap of the true and the rule's backward signals at its output. These functions take
a net and a rule as arguments and never import simulation code, so theory and simulation share them; they are
re-exported by :mod:`learndyn.observables`.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from learndyn import _checks


def _output_signals(net, rule, params, cache, n_out, state=None, error=None):
    """Backward signals of one unit error per output: ``true[a][l]`` and ``pseudo[b][l]``, each ``(P, n_l)``.

    With a one-hot error on output ``a`` the back-propagated delta of layer ``l`` is ``d f_a / d h_l`` per item
    (the readout's is the one-hot column itself), and the rule's delta is its stand-in for it. Lists run over every
    weight layer, readout last, as ``rule.deltas`` returns them. For a rule whose deltas are not linear in the error
    (Hebb) ``pseudo[b]`` is the actual deltas at ``error`` times ``e_qb / ||e_q||^2``: the share of item ``q``'s pull
    that goes through output ``b`` (so that ``sum_b pseudo[b] e_qb`` gives the actual deltas back).
    """
    P = cache["phi"][0].shape[0]
    eye = jnp.eye(n_out, dtype=cache["phi"][0].dtype)
    onehot = [jnp.broadcast_to(eye[a], (P, n_out)) for a in range(n_out)]
    true = [rule.gd_deltas(params, cache, e) for e in onehot]
    if getattr(rule, "linear_in_error", True):
        return true, [rule.deltas(params, cache, e, state) for e in onehot]
    if error is None:
        raise ValueError(
            f"the backward signals of the {getattr(rule, 'name', 'given')} rule depend on the error: pass error "
            "(f - y, shape (P, n_out))"
        )
    error = jnp.asarray(error)
    if error.shape != (P, n_out):
        raise ValueError(f"error must have shape (P, n_out) = {(P, n_out)}; got {tuple(error.shape)}")
    actual = rule.deltas(params, cache, error, state)
    sq = jnp.sum(error * error, axis=1)
    share = jnp.where(sq > 0, 1.0 / jnp.where(sq > 0, sq, 1.0), 0.0)[:, None] * error  # (P, n_out)
    return true, [[d * share[:, b : b + 1] for d in actual] for b in range(n_out)]


def entk(net, rule, params, X, state=None, error=None, *, lr_scales=None) -> np.ndarray:
    """The effective NTK of a learning rule, ``K[p, a, q, b]``, from the forward cache (structured, no Jacobian).

    Under the rule's flow the outputs move as ``df_pa/dt = -(1/P) sum_qb K[p, a, q, b] e_qb`` with
    ``e = f - y``; for gradient descent ``K`` is the NTK ``J J^T`` (:func:`ntk_autodiff`), for other rules it is
    generally not symmetric. Layer by layer (Bordelon & Pehlevan 2023, eq. 4)
    ``K = sum_l a_l^2 (g_l . g~_l)(phi_{l-1} . phi_{l-1} [+ 1 with biases])``, where ``g_l`` is the true backward
    signal of output ``a`` and ``g~_l`` the rule's pseudo-backward signal of output ``b`` (the unnormalised
    signals of :func:`backward_signals`, ``scale=1``).

    Parameters
    ----------
    net : a net with ``apply`` and ``multiplier`` (e.g. :class:`learndyn.nets.MLP`)
    rule : a rule of :mod:`learndyn.rules` bound to ``net`` (it provides ``deltas`` and ``gd_deltas``)
    params : pytree
        Parameters at one time.
    X : (P, n_in) array
        Items at which the kernel is evaluated (the training items for ``df/dt``).
    state : pytree, optional
        The rule's state (feedback matrices).
    error : (P, n_out) array, optional
        ``f - y``; needed only for rules whose update is not linear in the error (Hebb), whose kernel depends on
        it: ``K[p, a, q, b]`` then splits item ``q``'s pull over outputs in proportion to ``e_qb / ||e_q||^2``.

    lr_scales : dict, optional
        Per-layer learning-rate factors ``{"W": (c_1, ..., c_L)[, "b": (...)]}`` (a parameterization's
        ``lr_tree``): layer ``l``'s term is weighted by its factor, so ``K`` is the kernel of the update actually
        taken (for the mean-field net, ``gamma0^2 N`` times the unweighted kernel: the papers' eNTK). Default:
        all 1.

    Returns
    -------
    numpy.ndarray, shape (P, n_out, P, n_out)

    Examples
    --------
    >>> import jax
    >>> from learndyn import nets, rules
    >>> net = nets.MLP((3, 8, 2), activation="tanh")
    >>> params = net.init(jax.random.key(0))
    >>> X = np.ones((4, 3))
    >>> from learndyn.observables import ntk_autodiff
    >>> K = entk(net, rules.GD(net), params, X)
    >>> K.shape, bool(np.allclose(K, ntk_autodiff(X, params, net)))
    ((4, 2, 4, 2), True)
    """
    X = jnp.asarray(X)
    params = jax.tree_util.tree_map(jnp.asarray, params)
    f, cache = net.apply(params, X)
    P, n_out = f.shape
    true, pseudo = _output_signals(net, rule, params, cache, n_out, state, error)  # [a][l] -> (P, n_l)
    has_bias = isinstance(params, dict) and "b" in params
    w_scale = (1.0,) * len(cache["phi"]) if lr_scales is None else tuple(lr_scales["W"])
    b_scale = w_scale if lr_scales is None or "b" not in lr_scales else tuple(lr_scales["b"])
    K = jnp.zeros((P, n_out, P, n_out), dtype=f.dtype)
    for l, x in enumerate(cache["phi"]):
        gram = w_scale[l] * (x @ x.T) + (b_scale[l] if has_bias else 0.0)
        G = jnp.stack([t[l] for t in true])  # (n_out, P, n_l)
        Gt = jnp.stack([t[l] for t in pseudo])
        K = K + net.multiplier(l) ** 2 * jnp.einsum("apn,bqn,pq->paqb", G, Gt, gram)
    return np.asarray(K)


def backward_signals(net, rule, params, X, state=None, *, output=None, error=None, scale="readout"):
    """The true and the rule's backward signals ``g^l``, ``g~^l`` of one output, per item and layer.

    ``g^l_mu = s * d f_mu / d h^l_mu`` is the back-propagated signal of hidden layer ``l`` (error-free: the deltas
    of :meth:`rule.gd_deltas <learndyn.rules.GD.gd_deltas>` for a unit error on the output) and ``g~^l_mu`` the
    rule's stand-in for it (``rule.deltas`` for the same unit error), both multiplied by ``s``. The default
    ``s = 1 / a_out``, the inverse of the readout's forward multiplier, removes the output scale: for the
    mean-field net of :mod:`learndyn.param` (``f = w . phi(h^L) / (gamma0 N)``) it is ``gamma0 N``, so ``g^l`` is
    the O(1)-per-coordinate signal ``g^l = gamma0 N df/dh^l`` of Bordelon & Pehlevan 2023 (``g^L = phi'(h^L) w``),
    and :func:`gradient_kernels` / :func:`pseudo_gradient_kernels` of these signals are their ``G^l`` and
    ``G~^l``. ``s = 1`` gives the raw derivatives (the signals :func:`entk` assembles).

    Parameters
    ----------
    net : a net with ``apply``, ``multiplier`` and ``depth`` (e.g. :class:`learndyn.nets.MLP`)
    rule : a rule of :mod:`learndyn.rules` bound to ``net``
    params : pytree
        Parameters at one time.
    X : (P, n_in) array
        Items.
    state : pytree, optional
        The rule's state (feedback matrices).
    output : int, optional
        Which output's signals; required when the net has more than one output.
    error : (P, n_out) array, optional
        ``f - y``, needed only by rules whose deltas are not linear in the error (Hebb): their ``g~`` of output
        ``b`` is the actual delta times ``e_b / ||e||^2`` per item (for one output ``g~ = s * delta / e``).
    scale : "readout" or float
        The factor ``s``: ``"readout"`` (default) for ``1 / net.multiplier(depth - 1)``, or a number > 0.

    Returns
    -------
    g, g_tilde : lists of numpy arrays
        One entry per weight layer, readout last, as ``rule.deltas`` returns them (so entry ``l`` pairs with the
        layer's input ``cache["phi"][l]``): ``(P, n_l)`` for the hidden layers ``l = 1..L``; the readout's entry is
        ``s`` times the unit error, ``(P, n_out)``, and the kernel functions skip it.

    Examples
    --------
    >>> import jax
    >>> from learndyn import param, rules
    >>> par = param.get("meanfield", gamma0=1.0)
    >>> sizes = (3, 16, 16, 1)
    >>> net = par.mlp(sizes, "relu")
    >>> p = par.init(jax.random.key(0), sizes, "relu")
    >>> g, gt = backward_signals(net, rules.GD(net), p, np.ones((4, 3)))
    >>> [a.shape for a in g]
    [(4, 16), (4, 16), (4, 1)]
    >>> relu_slope = np.asarray(net.apply(p, np.ones((4, 3)))[1]["h"][-1] > 0)
    >>> bool(np.allclose(g[1], relu_slope * np.asarray(p["W"][-1])))  # g^L = phi'(h^L) w (spec's normalisation)
    True
    """
    X = jnp.asarray(X)
    params = jax.tree_util.tree_map(jnp.asarray, params)
    f, cache = net.apply(params, X)
    n_out = f.shape[1]
    if output is None:
        if n_out != 1:
            raise ValueError(
                f"output must be an output index in [0, {n_out}) for this net with {n_out} outputs; got None"
            )
        output = 0
    elif isinstance(output, bool) or not isinstance(output, numbers.Integral) or not 0 <= output < n_out:
        raise ValueError(f"output must be an integer in [0, {n_out}); got {output!r}")
    if isinstance(scale, str):
        _checks.one_of("scale", scale, ("readout",))
        s = 1.0 / float(net.multiplier(net.depth - 1))
    else:
        s = _checks.positive_float("scale", scale)
    true, pseudo = _output_signals(net, rule, params, cache, n_out, state, error)
    return [s * np.asarray(d) for d in true[output]], [s * np.asarray(d) for d in pseudo[output]]


def feature_kernels(cache) -> list[np.ndarray]:
    """Feature kernels ``Phi^l = phi_l phi_l^T / n_l`` (P, P) of every layer's input (``l = 0`` is ``X X^T / n_in``).

    Examples
    --------
    >>> [K.shape for K in feature_kernels({"phi": (np.ones((3, 2)), np.ones((3, 5)))})]
    [(3, 3), (3, 3)]
    """
    return [np.asarray(x @ x.T) / x.shape[-1] for x in cache["phi"]]


def _hidden_signals(name: str, signals) -> list[np.ndarray]:
    """The hidden layers' entries of a per-layer signal list (readout last, skipped), as 2-D arrays, or raise."""
    if isinstance(signals, np.ndarray | jax.Array) or not isinstance(signals, Sequence) or len(signals) < 2:
        raise ValueError(
            f"{name} must be a list of (P, n_l) arrays, one per weight layer with the readout's last (as rule.deltas "
            f"returns them; at least one hidden layer and the readout); got {type(signals).__name__}"
            + (f" of length {len(signals)}" if isinstance(signals, Sequence) else "")
        )
    out = [np.asarray(g) for g in signals[:-1]]
    for l, g in enumerate(out):
        if g.ndim != 2:
            raise ValueError(f"{name}[{l}] must be a (P, n_l) array; got shape {g.shape}")
        if g.shape[0] != out[0].shape[0]:
            raise ValueError(f"{name}[{l}] must have P = {out[0].shape[0]} rows like {name}[0]; got shape {g.shape}")
    return out


def _paired_signals(true_signals, rule_signals):
    g = _hidden_signals("true_signals", true_signals)
    gt = _hidden_signals("rule_signals", rule_signals)
    if len(g) != len(gt):
        raise ValueError(
            f"true_signals and rule_signals must have the same number of layers; got {len(g) + 1} and {len(gt) + 1}"
        )
    for l, (a, b) in enumerate(zip(g, gt, strict=True)):
        if a.shape != b.shape:
            raise ValueError(f"rule_signals[{l}] must have the shape of true_signals[{l}], {a.shape}; got {b.shape}")
    return g, gt


def gradient_kernels(signals, *, scale: float = 1.0) -> list[np.ndarray]:
    """Gradient kernels ``G^l_{mu nu} = s^2 g^l_mu . g^l_nu / n_l`` (P, P) of every hidden layer ``l = 1..L``.

    Bordelon & Pehlevan 2023, eq. 4, with ``g^l`` the true backward signal of the layer's pre-activations.

    Parameters
    ----------
    signals : list of (P, n_l) arrays
        One per weight layer, readout last (skipped), as :func:`backward_signals` or ``rule.gd_deltas`` (with a unit
        error) return them. With the signals of :func:`backward_signals` (default scale) and a mean-field net these
        are the paper's ``G^l``.
    scale : float
        ``s > 0``, multiplying every signal (e.g. ``gamma0 N`` for raw ``d f / d h`` of a mean-field net).

    Returns
    -------
    list of numpy arrays
        ``[G^1, ..., G^L]``: entry ``l - 1`` pairs with ``feature_kernels(cache)[l - 1]`` in the eNTK
        ``K = sum_{l=1}^{L} G~^l * Phi^{l-1} + Phi^L``.

    Examples
    --------
    >>> g = [np.array([[1.0, 1.0], [1.0, -1.0]]), np.ones((2, 1))]
    >>> gradient_kernels(g)[0]
    array([[1., 0.],
           [0., 1.]])
    """
    s = _checks.positive_float("scale", scale)
    return [s * s * (g @ g.T) / g.shape[1] for g in _hidden_signals("signals", signals)]


def pseudo_gradient_kernels(true_signals, rule_signals, *, scale: float = 1.0) -> list[np.ndarray]:
    """Gradient/pseudo-gradient kernels ``G~^l_{mu nu} = s^2 g^l_mu . g~^l_nu / n_l`` (P, P) of every hidden layer.

    Bordelon & Pehlevan 2023, eq. 4: how well the rule's pseudo-gradient ``g~`` of item ``nu`` aligns with the true
    gradient ``g`` of item ``mu``. Not symmetric in general (``G~ = G`` for gradient descent); at initialisation
    ``G~ = G`` for FA(rho = 1) and ``G~ = O(n^{-1/2})`` for FA(rho = 0) and DFA.

    Parameters
    ----------
    true_signals, rule_signals : lists of (P, n_l) arrays
        The true and the rule's signals, one per weight layer, readout last (skipped), as
        :func:`backward_signals` returns them.
    scale : float
        ``s > 0``, multiplying every signal.

    Returns
    -------
    list of numpy arrays ``[G~^1, ..., G~^L]``, rows indexing the true signal's item.

    Examples
    --------
    >>> g = [np.array([[1.0, 0.0], [0.0, 1.0]]), np.ones((2, 1))]
    >>> gt = [np.array([[0.0, 2.0], [0.0, 2.0]]), np.ones((2, 1))]
    >>> pseudo_gradient_kernels(g, gt)[0]
    array([[0., 0.],
           [1., 1.]])
    """
    s = _checks.positive_float("scale", scale)
    g, gt = _paired_signals(true_signals, rule_signals)
    return [s * s * (a @ b.T) / a.shape[1] for a, b in zip(g, gt, strict=True)]


def kernel_task_alignment(K, Y) -> float:
    """Kernel-task alignment ``A(K, y y^T) = <K, y y^T>_F / (||K||_F ||y y^T||_F)`` (Cristianini et al. 2001).

    ``K`` is ``(P, P)`` or ``(P, n_out, P, n_out)``; ``Y`` is ``(P, n_out)``. An asymmetric ``K`` (FA, DFA) is
    used as is.

    Examples
    --------
    >>> Y = np.array([[1.0], [-1.0]])
    >>> round(kernel_task_alignment(Y @ Y.T, Y), 12)
    1.0
    """
    K, Y = np.asarray(K), np.asarray(Y)
    T = Y @ Y.T if K.ndim == 2 else np.einsum("pa,qb->paqb", Y, Y)
    return float(np.sum(K * T) / (np.linalg.norm(K.ravel()) * np.linalg.norm(T.ravel())))


def cka(K1, K2) -> float:
    """Centred kernel alignment of two ``(P, P)`` kernels (Kornblith et al. 2019): 1 for kernels equal up to scale.

    Examples
    --------
    >>> K = np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
    >>> round(cka(K, 3 * K), 12)
    1.0
    """
    K1, K2 = np.asarray(K1), np.asarray(K2)
    H = np.eye(K1.shape[0]) - 1.0 / K1.shape[0]
    A, B = H @ K1 @ H, H @ K2 @ H
    return float(np.sum(A * B) / (np.linalg.norm(A) * np.linalg.norm(B)))


def gradient_correlation(true_deltas, rule_deltas, *, over_layers: bool = False):
    """``corr(g, g~)``: the mean over items of the cosine between the true and the rule's backward signals.

    Per hidden layer ``l`` the mean over items ``mu`` of ``g^l_mu . g~^l_mu / (|g^l_mu| |g~^l_mu|)``; the spec's
    single number ``corr(g, g~) = 1/(L P) sum_{l, mu} (same)`` (Bordelon & Pehlevan 2023, sec. 5) is
    ``over_layers=True``. The cosine is per item, so any per-item factor common to both signals drops out: the
    deltas of one output at the actual error (``e_mu`` times the unit-error signals) give the same value as the
    error-free signals of :func:`backward_signals`, except where ``e_mu = 0``. Items where either signal is zero
    have no direction and are skipped; a layer with no item left is ``nan``.

    Parameters
    ----------
    true_deltas, rule_deltas : lists of (P, n_l) arrays
        One per weight layer, readout last (skipped), e.g. ``rule.gd_deltas(params, cache, e)`` and
        ``rule.deltas(params, cache, e, state)``. For several outputs the signals are those of the error-weighted
        sum over outputs that the rule back-propagates.
    over_layers : bool
        Return the mean over every counted (layer, item) pair instead of one value per layer.

    Returns
    -------
    numpy.ndarray of shape (L,), one value per hidden layer (first to last), or a float with ``over_layers``.

    Examples
    --------
    >>> g = [np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]), np.ones((3, 1))]
    >>> gt = [np.array([[2.0, 0.0], [1.0, -1.0], [1.0, 0.0]]), np.ones((3, 1))]
    >>> gradient_correlation(g, gt)  # items: cosine 1, cosine 0, skipped (g = 0)
    array([0.5])
    """
    g, gt = _paired_signals(true_deltas, rule_deltas)
    cosines = []
    for a, b in zip(g, gt, strict=True):
        norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        keep = norms > 0
        cosines.append(np.sum(a[keep] * b[keep], axis=1) / norms[keep])
    if over_layers:
        pooled = np.concatenate(cosines)
        return float(np.mean(pooled)) if pooled.size else float("nan")
    return np.asarray([float(np.mean(c)) if c.size else float("nan") for c in cosines])
