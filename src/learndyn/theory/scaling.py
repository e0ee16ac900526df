"""Width exponents of one SGD step under the integrable parameterization (Hajjar, Chizat & Giraud, JMLR 2024,
arXiv 2110.15596; spec ``integrable_and_meanfield.md`` B1 "Stationary-point mechanism").

Standard IP (``a = 0 / 1 / 1``, ``b = 0``, ``c = -1 / -2 / -1``, zero-mean weights, ``sigma(0) = 0``) with ``L`` hidden
layers of width ``m``: at initialisation ``h^1 = Theta(1)``, ``h^l = Theta(m^-(l-1)/2)`` and ``f = Theta(m^-L/2)``;
after one step at base learning rate ``Theta(1)``

    Delta h^1 = Theta(m^-(L-1)/2),   Delta h^l = Theta(m^-((L-l)/2 + l - 2))  (l >= 2),
    Delta f  = Theta(m^max(e_L, -(L-1))),  e_L the exponent of Delta h^L,

(the output moves through ``W^{L+1}(0) Delta x^L``, coherent with ``W^{L+1}(0)``, and through its own update,
``|x^L|^2``). Some update is ``Theta(1)`` only for ``L <= 2``: for ``L >= 3`` every exponent is negative and the
infinite-width network sits at the stationary point ``f = 0``. The spec marks these [derived]; measured with
:func:`learndyn.coord_check.coord_check` (ReLU, d = 20, batch 128, widths 256-2048, one step at lr 1) the fitted
slopes agree within 0.12 for L = 2, 3, 5 (``tests/theory/test_scaling.py``; e.g. L = 5: Delta h^2..5 = -1.47,
-1.95, -2.43, -2.89 against -1.5, -2, -2.5, -3, Delta f = -2.85 against -3).
"""

from __future__ import annotations

from learndyn import _checks


def ip_exponents(n_hidden: int) -> dict[str, tuple[float, float]]:
    """Predicted width exponents ``(init, delta)`` of every layer after one standard-IP SGD step.

    Parameters
    ----------
    n_hidden : int
        Number of hidden layers ``L >= 1``.

    Returns
    -------
    dict
        ``{"h1": (init, delta), ..., "hL": ..., "f": ...}``: the exponents ``e`` of ``mean |h^l(0)|`` and of
        ``mean |h^l(1) - h^l(0)|`` as ``Theta(m^e)`` (layer names of :func:`learndyn.coord_check.layer_names`).

    Examples
    --------
    >>> ip_exponents(3)["h2"], ip_exponents(3)["f"]
    ((-0.5, -0.5), (-1.5, -1.0))
    >>> is_stationary(2), is_stationary(3)
    (False, True)
    """
    L = _checks.positive_int("n_hidden", n_hidden)
    out = {"h1": (0.0, -(L - 1) / 2)}
    for l in range(2, L + 1):
        out[f"h{l}"] = (-(l - 1) / 2, -((L - l) / 2 + l - 2))
    e_L = out[f"h{L}"][1]
    out["f"] = (-L / 2, max(e_L, -(L - 1.0)))
    return out


def is_stationary(n_hidden: int) -> bool:
    """Whether standard IP with ``n_hidden`` hidden layers starts at a stationary point (every one-step exponent
    negative): ``L >= 3``."""
    return all(delta < 0 for _, delta in ip_exponents(n_hidden).values())
