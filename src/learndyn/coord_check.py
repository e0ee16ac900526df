"""Coordinate check: how the coordinates of every layer scale with the width, as a tidy table (muP style).

The coordinate check of Yang & Hu 2021 ("Tensor Programs IV", ICML, arXiv 2011.14522; the ``mup`` package's
``get_coord_data``) trains one network per width for a few steps and records the typical size of the coordinates
of every layer; under a parameterization that scales correctly they stay width-independent, and the log-log slope
against the width is the width exponent the abc power counting predicts (Hajjar, Chizat & Giraud, JMLR 2024, use
the same diagnostic for integrable parameterizations).

:func:`coord_check` does this for an MLP ``d -> m -> ... -> m -> n_out`` with ``n_hidden`` hidden layers of width
``m``, built and initialised by a parameterization of :mod:`learndyn.param` and trained full batch by any rule of
:mod:`learndyn.rules` with the parameterization's per-layer learning-rate scales. For each width it returns, per
layer (the pre-activations ``h1 .. hL`` of the hidden layers and the output ``f``), the mean absolute coordinate
over items, units and seeds at initialisation (``init``) and after ``steps`` steps (``final``), and the mean absolute
change ``|h(T) - h(0)|`` (``delta``). :func:`width_exponents` fits the log-log slope of each column against the
width.

Time convention: ``steps`` steps of the rule with base learning rate ``lr`` are gradient-flow time
``t = lr * steps`` (the parameterization's scales multiply ``lr`` per layer, see
:meth:`learndyn.param.Parameterization.lr_scales`).

Randomness: the initial weights at width ``m`` come from ``jax.random.fold_in(jax.random.key(seed), m)``, split
into ``n_seeds`` keys, so the run at one width does not depend on which other widths are checked.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from learndyn import _checks, rules, train
from learndyn import param as _param
from learndyn.tasks import Task

#: The value columns of a :func:`coord_check` table: mean |coordinate| at step 0, after training, mean |change|.
QUANTITIES = ("init", "final", "delta")


def layer_names(n_hidden: int) -> list[str]:
    """The layer labels of a :func:`coord_check` table: ``h1 .. hL`` (hidden pre-activations), then ``f``.

    Examples
    --------
    >>> layer_names(3)
    ['h1', 'h2', 'h3', 'f']
    """
    return [f"h{l}" for l in range(1, _checks.positive_int("n_hidden", n_hidden) + 1)] + ["f"]


def _parameterization(par) -> _param.Parameterization:
    if isinstance(par, _param.Parameterization):
        return par
    if isinstance(par, str):
        return _param.get(par)
    raise TypeError(
        f"par must be a learndyn.param.Parameterization (e.g. param.get('meanfield', gamma0=1.0)) or a preset name "
        f"among {sorted(_param.PRESETS)}; got {par!r}"
    )


def _widths(widths) -> list[int]:
    if isinstance(widths, str | bytes) or not isinstance(widths, Sequence | np.ndarray):
        raise TypeError(f"widths must be a sequence of positive integers, e.g. [64, 128, 256]; got {widths!r}")
    out = []
    for k, m in enumerate(np.asarray(widths).ravel().tolist()):
        if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
            raise ValueError(f"widths[{k}] must be a positive integer (a hidden width); got {m!r}")
        out.append(int(m))
    if not out:
        raise ValueError("widths must hold at least one width; got an empty sequence")
    if len(set(out)) != len(out):
        raise ValueError(f"widths must not repeat a width; got {out}")
    return sorted(out)


@functools.partial(jax.jit, static_argnums=0)
def _mean_abs_coordinates(net, start, end, X):
    """``(3, L + 1)``: mean |h_l| at ``start``, at ``end`` and mean |change|, per hidden layer and for the output.

    ``start`` and ``end`` are params with a leading seed axis; means run over seeds, items and units. One compiled
    function per net (instead of one small eager computation per layer and statistic, each compiled on its own).
    """

    def outputs(p):
        f, cache = net.apply(p, X)
        return tuple(cache["h"]) + (f,)

    a, b = jax.vmap(outputs)(start), jax.vmap(outputs)(end)
    return jnp.stack(
        [
            jnp.stack([jnp.mean(jnp.abs(u)) for u in a]),
            jnp.stack([jnp.mean(jnp.abs(v)) for v in b]),
            jnp.stack([jnp.mean(jnp.abs(v - u)) for u, v in zip(a, b, strict=True)]),
        ]
    )


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _init_seeds(par, sizes, activation, keys):
    """``par.init`` for every key (leading seed axis), compiled once per parameterization and sizes."""
    return jax.vmap(lambda k: par.init(k, sizes, activation))(keys)


def _one_width(par, task, m, n_hidden, activation, rule, rule_options, lr, steps, n_seeds, seed) -> np.ndarray:
    """``(3, L + 1)``: mean |h_l(0)|, |h_l(T)|, |h_l(T) - h_l(0)| for l = 1..L and the output, at width ``m``."""
    sizes = (task.n_in,) + (m,) * n_hidden + (task.n_out,)
    net = par.mlp(sizes, activation)
    base = jax.random.fold_in(jax.random.key(seed), m)
    p0 = _init_seeds(par, sizes, activation, jax.random.split(base, n_seeds))
    bound = rules.get(rule, net, **rule_options)
    # the rule's own randomness (feedback matrices) from a key independent of the initial weights' keys
    sim = train.simulate(net, bound, task, p0, lr=lr, t=[0.0, lr * steps], param=par, key=jax.random.fold_in(base, 1))
    start, end = (jax.tree.map(lambda w, k=k: jnp.asarray(w)[:, k], sim.params) for k in (0, 1))
    return np.asarray(_mean_abs_coordinates(net, start, end, jnp.asarray(task.X)))


def coord_check(
    par,
    task: Task,
    widths,
    *,
    n_hidden: int,
    lr: float,
    steps: int,
    activation: str = "relu",
    rule: str = "gd",
    rule_options: dict | None = None,
    n_seeds: int = 1,
    seed: int = 0,
) -> pd.DataFrame:
    """Coordinate sizes of every layer against the width, before and after a few training steps (tidy table).

    Parameters
    ----------
    par : learndyn.param.Parameterization or str
        The width parameterization (a preset name such as ``"mup"`` means ``param.get(name)``; pass
        ``param.get("meanfield", gamma0=...)`` for options). It builds the net, its initial weights and the
        per-layer learning-rate scales.
    task : learndyn.tasks.Task
        Training items ``X (P, d)`` and targets ``Y (P, n_out)``; the coordinates are measured on ``X``.
    widths : sequence of int
        Hidden widths ``m >= 1`` (no repeats); one net ``(d, m, ..., m, n_out)`` per width.
    n_hidden : int
        Number of hidden layers ``L >= 1``.
    lr : float
        Base learning rate (> 0); the update of layer ``l`` is ``lr * scale_l * update_l``.
    steps : int
        Training steps (>= 1): the final coordinates are at gradient-flow time ``t = lr * steps``.
    activation : str
        Hidden activation, a key of :data:`learndyn.nets.ACTIVATIONS`.
    rule : str
        A rule name of :data:`learndyn.rules.RULES` (``"gd"``, ``"fa"``, ``"dfa"``, ``"sign-fa"``, ``"hebb"``).
    rule_options : dict, optional
        Options of the rule, e.g. ``{"rho": 0.5}`` for ``"fa"``.
    n_seeds : int
        Initialisations per width (>= 1); every mean runs over seeds, items and units.
    seed : int
        Base seed (>= 0) of the initial weights and the rule's randomness.

    Returns
    -------
    pandas.DataFrame
        One row per (width, layer), widths ascending, layers ``h1 .. hL`` then ``f`` (:func:`layer_names`), with
        columns ``width``, ``layer``, ``init`` (mean ``|h_l(0)|``), ``final`` (mean ``|h_l(T)|``) and ``delta``
        (mean ``|h_l(T) - h_l(0)|``; for ``f`` the same with the output). ``DataFrame.attrs`` records the
        parameterization, rule, activation, ``lr``, ``steps``, ``t`` and ``n_seeds``.

    Raises
    ------
    ValueError, TypeError
        For bad arguments (naming the argument and what is accepted); :class:`learndyn.train.DivergenceError` when
        a width diverges (lower ``lr``).

    Examples
    --------
    >>> from learndyn import tasks
    >>> task = tasks.random_regression(8, 3, 1, seed=0)
    >>> df = coord_check("mup", task, [16, 64], n_hidden=2, lr=0.5, steps=2, n_seeds=2)
    >>> df.columns.tolist(), df.layer.tolist()
    (['width', 'layer', 'init', 'final', 'delta'], ['h1', 'h2', 'f', 'h1', 'h2', 'f'])
    >>> bool((width_exponents(df).loc[["h1", "h2"], "init"].abs() < 0.3).all())  # muP: |h_l(0)| = O(1)
    True
    """
    par = _parameterization(par)
    if not isinstance(task, Task):
        raise TypeError(f"task must be a learndyn.tasks.Task (X, Y); got {type(task).__name__}")
    ms = _widths(widths)
    n_hidden = _checks.positive_int("n_hidden", n_hidden)
    lr = _checks.positive_float("lr", lr)
    steps = _checks.positive_int("steps", steps)
    n_seeds = _checks.positive_int("n_seeds", n_seeds)
    _checks.rng(seed)  # a non-negative integer
    if not isinstance(rule, str):
        raise TypeError(f"rule must be a rule name among {sorted(rules.RULES)}; got {rule!r}")
    _checks.one_of("rule", rule, sorted(rules.RULES))
    if rule_options is not None and not isinstance(rule_options, dict):
        raise TypeError(
            f"rule_options must be a dict of the rule's options (e.g. {{'rho': 0.5}}); got {rule_options!r}"
        )
    names = layer_names(n_hidden)
    rows = []
    for m in ms:
        values = _one_width(par, task, m, n_hidden, activation, rule, rule_options or {}, lr, steps, n_seeds, seed)
        rows += [{"width": m, "layer": name, **dict(zip(QUANTITIES, values[:, k], strict=True))}
                 for k, name in enumerate(names)]  # fmt: skip
    df = pd.DataFrame(rows, columns=["width", "layer", *QUANTITIES])
    df.attrs.update(
        param=par.name, rule=rule, activation=activation, lr=lr, steps=steps, t=lr * steps, n_seeds=n_seeds, seed=seed
    )
    return df


def width_exponents(df: pd.DataFrame, *, layers=None, quantities=QUANTITIES) -> pd.DataFrame:
    """Least-squares log-log slope against the width of each quantity of a :func:`coord_check` table, per layer.

    Parameters
    ----------
    df : pandas.DataFrame
        A :func:`coord_check` table (one run: exactly one row per width and layer), at least two widths.
    layers : sequence of str, optional
        Layers to fit (default: all, in the table's order).
    quantities : sequence of str
        Columns to fit, among :data:`QUANTITIES`.

    Returns
    -------
    pandas.DataFrame
        Index ``layer``, one column per quantity: the slope of ``log(value)`` against ``log(width)``. A layer with
        a value <= 0 at some width (e.g. a layer that does not move) has no power law and gets ``nan``.

    Examples
    --------
    >>> df = pd.DataFrame({"width": [10, 100, 10, 100], "layer": ["h1", "h1", "f", "f"], "init": [1.0, 1.0, 1.0, 0.1],
    ...                    "final": [1.0, 1.0, 2.0, 0.2], "delta": [1.0, 0.1, 1.0, 1.0]})
    >>> width_exponents(df).round(6).to_dict("index")
    {'h1': {'init': 0.0, 'final': 0.0, 'delta': -1.0}, 'f': {'init': -1.0, 'final': -1.0, 'delta': 0.0}}
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be the pandas.DataFrame of coord_check; got {type(df).__name__}")
    if isinstance(quantities, str):
        quantities = (quantities,)
    quantities = list(quantities)
    for q in quantities:
        _checks.one_of("quantities", q, QUANTITIES)
    missing = sorted({"width", "layer", *quantities} - set(df.columns))
    if missing:
        raise ValueError(f"df must have the columns of a coord_check table; missing {missing} (has {list(df.columns)})")
    present = list(dict.fromkeys(df["layer"]))
    if layers is None:
        layers = present
    elif isinstance(layers, str):
        layers = [layers]
    unknown = [name for name in layers if name not in present]
    if unknown:
        raise ValueError(f"layers must be among the table's layers {present}; got unknown {unknown}")
    if df.duplicated(["width", "layer"]).any():
        raise ValueError(
            "df must hold one run (one row per width and layer); it repeats a (width, layer) pair, e.g. tables of "
            "several parameterizations concatenated: select one first"
        )
    out = {}
    for name in layers:
        rows = df[df["layer"] == name].sort_values("width")
        w = rows["width"].to_numpy(dtype=float)
        if w.size < 2:
            raise ValueError(f"df must hold at least two widths to fit a slope; layer {name!r} has widths {w.tolist()}")
        out[name] = {q: _loglog_slope(w, rows[q].to_numpy(dtype=float)) for q in quantities}
    result = pd.DataFrame.from_dict(out, orient="index", columns=quantities)
    result.index.name = "layer"
    return result


def stationarity(
    par, task: Task, widths, *, n_hidden: int, lr: float = 1.0, predicted=None, tol: float = 0.25, n_seeds: int = 2,
    seed: int = 0, activation: str = "relu",
) -> pd.DataFrame:  # fmt: skip
    """The stationarity detector of Hajjar, Chizat & Giraud (spec ``integrable_and_meanfield.md`` B2): one SGD step
    per width, the log-log slope of every layer's mean ``|Delta h^l|`` (and ``|Delta f|``) against the width, and the
    predicted exponents beside them.

    A network is *stationary* at infinite width when every one-step update vanishes with the width: every slope
    ``< -tol`` (a fitted slope of a width-independent update scatters around 0 by a few hundredths over two widths;
    the exponents of IP are multiples of 1/2). Under standard IP this happens for ``L >= 3`` hidden layers (the
    exponents of :func:`learndyn.theory.scaling.ip_exponents`, which the caller passes as ``predicted``; simulation
    code does not import theory).

    Parameters
    ----------
    par, task, widths, n_hidden, activation, n_seeds, seed
        As :func:`coord_check` (``steps = 1``, rule ``"gd"``).
    lr : float
        Base learning rate of the step (the detector's convention: 1).
    predicted : mapping, optional
        ``{layer: exponent}`` or ``{layer: (init, delta)}`` (the form of ``ip_exponents``): the predicted width
        exponent of each layer's one-step update.
    tol : float
        A slope above ``-tol`` counts as an update that does not vanish.

    Returns
    -------
    pandas.DataFrame
        Index ``layer`` (``h1 .. hL``, ``f``), columns ``slope`` (fitted exponent of mean ``|Delta h|``),
        ``predicted`` and ``gap = slope - predicted`` (NaN without a prediction). ``attrs["stationary"]``: every
        slope ``< -tol``; ``attrs["worst_gap"]``: the largest ``|gap|``; ``attrs["table"]``: the :func:`coord_check`
        table it was fitted on.

    Examples
    --------
    >>> import numpy as np
    >>> from learndyn import tasks
    >>> X = np.random.default_rng(0).normal(size=(32, 6))
    >>> task = tasks.Task(X, np.sign(X[:, :1]))
    >>> out = stationarity("ip", task, [64, 256], n_hidden=3)
    >>> out.attrs["stationary"], out.index.tolist()
    (True, ['h1', 'h2', 'h3', 'f'])
    """
    tol = _checks.positive_float("tol", tol, allow_zero=True)
    df = coord_check(par, task, widths, n_hidden=n_hidden, lr=lr, steps=1, activation=activation, n_seeds=n_seeds,
                     seed=seed)  # fmt: skip
    names = layer_names(n_hidden)
    slopes = width_exponents(df, quantities="delta")["delta"]
    pred = pd.Series(np.nan, index=names)
    if predicted is not None:
        unknown = sorted(set(predicted) - set(names))
        if unknown:
            raise ValueError(f"predicted must name layers among {names}; got unknown {unknown}")
        for name, e in predicted.items():
            pred[name] = float(e[1] if isinstance(e, tuple | list) else e)
    out = pd.DataFrame({"slope": slopes[names], "predicted": pred, "gap": slopes[names] - pred})
    out.index.name = "layer"
    out.attrs.update(stationary=bool(np.all(out["slope"] < -tol)),
                     worst_gap=float(np.nanmax(np.abs(out["gap"]))) if predicted is not None else float("nan"),
                     table=df)  # fmt: skip
    return out


def _loglog_slope(widths, values) -> float:
    """Least-squares slope of log(values) against log(widths); nan when a value is not positive."""
    if np.any(~(values > 0)):
        return float("nan")
    return float(np.polyfit(np.log(widths), np.log(values), 1)[0])
