"""A run of :func:`learndyn.train.simulate` and the trajectory Datasets built from it.

The recorded parameters are turned into the library's trajectory variables by :mod:`learndyn.observables` (loss,
outputs, NTK, RSMs) and :mod:`learndyn.rule_kernels` (the rule's eNTK weighted by the run's learning rates, kernel
alignment, corr(g, g~), and the layer kernels in the layout of a DMFT trajectory).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np


@dataclass(frozen=True, eq=False)
class Simulation:
    """A run of :func:`simulate`: parameters and loss recorded on a grid of gradient-flow times.

    Attributes
    ----------
    t : (T,) array
        Recorded times ``lr * steps``.
    steps : (T,) int array
    params : pytree
        The net's parameters with a leading record axis (after a seed axis ``S`` when batched): ``(T, ...)``.
    loss : (T,) or (S, T) array
        ``1/(2P) sum ||y - f||^2`` at each record.
    state : pytree
        The rule's state (feedback matrices) used throughout.
    drift : tuple of arrays or None
        With ``drift=True``: for each hidden layer ``l``, ``lr^2 sum_{steps < k} G_l G_l^T`` at each record,
        shape ``(T, n_l, n_l)`` (bias as an extra column of ``G_l``).
    net, rule : the network and learning rule.
    lr : float
    method : str
    param : learndyn.param.Parameterization or None
        The parameterization whose per-layer learning rates the run used.
    """

    t: np.ndarray
    steps: np.ndarray
    params: object
    loss: np.ndarray
    state: object
    drift: tuple | None
    net: object
    rule: object
    lr: float
    method: str
    param: object = None

    def _lr_scales(self, step: int):
        """The per-layer learning-rate factors of ``step`` (``None``: all 1)."""
        if self.param is None:
            return None
        warm = int(getattr(self.param, "warmup_steps", 0))
        return self.param.lr_tree(self.net.sizes, 0 if step < warm else warm)

    def trajectory(self, task, *, rule_kernels: bool = False, kernels: bool = False, **kwargs):
        """The trajectory Dataset on ``task`` (:func:`learndyn.observables.trajectory_from_weights`).

        With ``rule_kernels``, also the rule's eNTK ``entk (t, p, o, q, o2)`` (:func:`learndyn.observables.entk`,
        each layer weighted by its learning-rate factor when the run had a ``param``, so that
        ``df/dt = -(1/P) K e`` holds for the run; for the mean-field net it is the papers' eNTK), its alignment with
        the task ``entk_task_alignment (t)`` and ``grad_corr (t, hidden)``, the correlation of the true and the
        rule's backward signals per hidden layer.

        With ``kernels`` (one output), the layer kernels in the layout of a DMFT trajectory
        (:mod:`learndyn.theory.dmft`), per weight layer ``l = 0..L``: ``phi (t, layer, p, q)``, the feature kernel
        of the layer's input; ``g`` and ``gt (t, layer, p, q)``, the gradient and gradient / pseudo-gradient kernels
        at its output, with the signals of :func:`learndyn.observables.backward_signals` (``g = df/dh`` over the
        readout multiplier: the papers' ``gamma0 N df/dh`` for the mean-field net; 1 at the readout).
        """
        from learndyn import observables

        ds = observables.trajectory_from_weights(task, self.t, self.params, self.net, **kwargs)
        ds.attrs.update(source="simulation", method=self.method, lr=float(self.lr), rule=getattr(self.rule, "name", ""))
        if not (rule_kernels or kernels):
            return ds
        if getattr(self.rule, "autodiff", False):
            raise ValueError(
                "rule_kernels and kernels need a layered net with a rule's backward pass; this "
                f"{type(self.net).__name__} run has none (use the default trajectory variables)"
            )
        if kernels and task.Y.shape[1] != 1:
            raise ValueError(f"kernels=True needs a task with one output; this one has {task.Y.shape[1]}")
        cols = {k: [] for k in ("entk", "align", "corr", "phi", "g", "gt")}
        X = jnp.asarray(task.X)
        for k, step in enumerate(self.steps):
            p = jax.tree_util.tree_map(lambda w, k=k: jnp.asarray(w[k]), self.params)
            f, cache = self.net.apply(p, X)
            err = f - jnp.asarray(task.Y)
            if rule_kernels:
                K = observables.entk(self.net, self.rule, p, X, self.state, error=err, lr_scales=self._lr_scales(step))
                cols["entk"].append(K)
                cols["align"].append(observables.kernel_task_alignment(K, task.Y))
                cols["corr"].append(
                    observables.gradient_correlation(
                        self.rule.gd_deltas(p, cache, err), self.rule.deltas(p, cache, err, self.state)
                    )
                )
            if kernels:
                g, gt = observables.backward_signals(self.net, self.rule, p, X, self.state, error=err)
                ones = np.ones((task.P, task.P))
                cols["phi"].append(np.stack(observables.feature_kernels(cache)))
                cols["g"].append(np.stack(observables.gradient_kernels(g) + [ones]))
                cols["gt"].append(np.stack(observables.pseudo_gradient_kernels(g, gt) + [ones]))
        if rule_kernels:
            ds["entk"] = (("t", "p", "o", "q", "o2"), np.stack(cols["entk"]))
            ds["entk_task_alignment"] = (("t",), np.asarray(cols["align"]))
            ds["grad_corr"] = (("t", "hidden"), np.stack(cols["corr"]))  # hidden layer 1..L
        if kernels:
            for name in ("phi", "g", "gt"):
                ds[name] = (("t", "layer", "p", "q"), np.stack(cols[name]))
        return observables.describe_variables(ds)
