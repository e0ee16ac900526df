"""The numerical engine of :mod:`learndyn.theory.routing`: one growing mode's implicit solution ``t(b2)``, tabulated
by quadrature with the pole at the fixed point taken out exactly, and its inversion by bracketed Newton iteration
(finite and correct at any time: past the tabulated range the approach to the fixed point is exponential).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import quad, quad_vec

_EPS = np.finfo(np.float64).eps
#: relative accuracy asked of every quadrature (``quad`` refuses less than ``50 eps``).
_QUAD_RTOL = 1e-13
#: past the tabulated range the distance to the fixed point is ``d0 exp(G* - theta_hat)`` up to a relative
#: ``d h(b2*)``; the table runs until that is below this.
_TAIL_TOL = 1e-16
_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)


class _Branch:
    """The solution ``t(b2)`` of one growing mode, tabulated by ``quad`` at geometric nodes.

    With ``b = b2*`` and ``s - x(x^2 + c0)/M = (b - x) q(x)/M``, ``q = x^2 + b x + b^2 + c0``, the integrand of
    ``t(b2)`` splits into its simple pole at the fixed point and a smooth rest:

    ``M / [(x^2 + c0)(b - x) q(x)] = R [1/(b - x) + h(x)]``, ``R = M / P(b)``, ``P(x) = (x^2 + c0) q(x)``,
    ``h = D/P`` with ``D(x) = (P(b) - P(x))/(b - x) = x^3 + 2b x^2 + (3b^2 + 2c0) x + 3b (b^2 + c0)``,

    so ``lam t = ln(d0/(b - b2)) + G(b2)``, ``G(b2) = int_{b2_0}^{b2} h``, ``d0 = b - b2_0`` and
    ``lam = K P(b)/(tau M^3)`` (the linear rate at the fixed point). Only ``G`` is a quadrature; it is tabulated at
    nodes ``b2_0 + d0 2^-k`` (fine near the start, where ``h`` varies on the scale of the nearest pole of
    ``1/(x^2 + c0)``) and ``b - d0 2^-k`` (towards the fixed point), and in between it is a ``quad_vec`` over one
    segment. Past the last node ``d = b - b2 = d0 exp(G(b) - lam t)`` to a relative ``d h(b) < 1e-16``.
    """

    def __init__(self, s: float, M: int, b1_0: float, b2_0: float, bstar: float):
        self.b2_0 = b2_0
        self.mb1sq = M * b1_0 * b1_0
        c0 = self.mb1sq - b2_0 * b2_0
        b = bstar
        self.c0, self.b = c0, b
        self.bc = M * s / b if b > 0 else c0  # b^2 + c0 without cancellation
        self.pb = self.bc * (self.bc + 2.0 * b * b)  # P(b) = (b^2 + c0)(3 b^2 + c0)
        self.rate_scale = self.pb / M**3  # lam = K pb / (tau M^3)
        d0 = b - b2_0
        self.d0, self.log_d0 = d0, np.log(d0)
        hb = b * (4.0 * b * b + 5.0 * self.bc) / self.pb  # h(b) = b (9 b^2 + 5 c0) / P(b)

        # distance from b2_0 to the nearest pole of 1/(x^2 + c0): sets how fine the first nodes must be
        if c0 > 0:
            ell = np.sqrt(self.mb1sq)
        elif c0 == 0:
            ell = abs(b2_0)
        else:
            ell = self.mb1sq / (b2_0 + np.sqrt(-c0))
        n_lo = int(np.clip(np.ceil(np.log2(d0 / min(ell, d0))) + 4, 1, 400))
        n_up = int(np.clip(np.ceil(np.log2(max(d0 * hb, 1.0) / _TAIL_TOL)), 2, 400))
        self.n_lo = n_lo
        w_lo = d0 * 2.0 ** -np.arange(n_lo, 0, -1.0)  # ascending, last = d0/2
        d_up = d0 * 2.0 ** -np.arange(2, n_up + 1.0)  # descending
        w = np.concatenate(([0.0], w_lo, d0 - d_up))
        d = np.concatenate(([d0], d0 - w_lo, d_up))
        x = np.concatenate(([b2_0], b2_0 + w_lo, b - d_up))
        G = np.concatenate(([0.0], np.cumsum([self._quad(x[i], x[i + 1]) for i in range(x.size - 1)])))
        log_term = np.concatenate(
            ([0.0], -np.log1p(-w_lo / d0), np.log(2.0) * np.arange(2, n_up + 1.0))
        )  # ln(d0 / (b - x)), exact at the nodes
        self.w, self.d, self.x, self.G = w, d, x, G
        self.theta_hat = log_term + G
        self.G_star = G[-1] + self._quad(x[-1], b)

    def h(self, x):
        """Smooth part ``D/P`` of the integrand (see the class docstring)."""
        b = self.b
        e = (x - self.b2_0) * (x + self.b2_0) + self.mb1sq  # x^2 + c0, exact at the start
        q = e + b * x + b * b
        D = x * (x * x + 2.0 * b * x + b * b + 2.0 * self.bc) + 3.0 * b * self.bc
        return D / (e * q)

    def _quad(self, xa: float, xb: float) -> float:
        """``int_{xa}^{xb} h`` over one node segment by ``quad``.

        A segment only a few ulps long (next to the fixed point) is below ``quad``'s resolution of subintervals; there
        ``h`` is a polynomial to float precision and a 20-point Gauss-Legendre rule is exact.
        """
        if xb - xa < 1e-6 * max(abs(xa), abs(xb)):
            mid, half = 0.5 * (xa + xb), 0.5 * (xb - xa)
            return float(half * np.dot(_GL_W, self.h(mid + half * _GL_X)))
        return quad(self.h, xa, xb, epsabs=0.0, epsrel=_QUAD_RTOL, limit=200)[0]

    def _segment(self, xa, xb):
        """``int_{xa}^{xb} h`` for arrays of short segments (one ``quad_vec``, integrand scaled to O(1))."""
        delta = xb - xa
        scale = np.maximum(np.abs(self.h(xa)), np.abs(self.h(xb)))
        scale = np.where(scale > 0, scale, 1.0)
        val, _ = quad_vec(lambda u: self.h(xa + delta * u) / scale, 0.0, 1.0, epsabs=1e-15, epsrel=1e-14, norm="max")
        return delta * scale * val

    # ---- t(b2) -----------------------------------------------------------------------------

    def theta_hat_of(self, x: np.ndarray) -> np.ndarray:
        """``lam t`` at ``b2 = x`` (1-D, ``b2_0 <= x < b``)."""
        j = np.clip(np.searchsorted(self.x, x, side="right") - 1, 0, self.x.size - 1)
        G = self.G[j] + self._segment(self.x[j], x)
        return np.log(self.d0 / (self.b - x)) + G

    # ---- b2(t) -----------------------------------------------------------------------------

    def b2_of(self, theta_hat: np.ndarray) -> np.ndarray:
        """``b2`` at ``lam t = theta_hat`` (1-D, ``>= 0``)."""
        out = np.empty_like(theta_hat)
        j = np.searchsorted(self.theta_hat, theta_hat, side="right") - 1
        tail = j >= self.theta_hat.size - 1
        # beyond the table: exponential approach to the fixed point (d h(b) < 1e-16 there)
        out[tail] = self.b - np.exp(self.log_d0 + self.G_star - theta_hat[tail])
        lower = ~tail & (j < self.n_lo)
        upper = ~tail & ~lower
        if lower.any():
            out[lower] = self.b2_0 + self._solve_lower(theta_hat[lower], j[lower])
        if upper.any():
            out[upper] = self.b - np.exp(self._solve_upper(theta_hat[upper], j[upper]))
        return out

    def _solve_lower(self, th, j):
        """``w = b2 - b2_0`` on segments near the start: ``-ln(1 - w/d0) + G(b2_0 + w) = th``."""
        xa, Ga = self.x[j], self.G[j]
        lo, hi = self.w[j].copy(), self.w[j + 1].copy()
        f = (th - self.theta_hat[j]) / (self.theta_hat[j + 1] - self.theta_hat[j])
        z0 = lo + f * (hi - lo)

        def fun(z, idx):
            x = self.b2_0 + z
            F = -np.log1p(-z / self.d0) + Ga[idx] + self._segment(xa[idx], x) - th[idx]
            return F, 1.0 / (self.d0 - z) + self.h(x)

        return _newton(fun, z0, lo, hi, rel=True)

    def _solve_upper(self, th, j):
        """``y = ln(b2* - b2)`` on segments near the fixed point: ``ln d0 - y + G(b2* - e^y) = th``."""
        xa, Ga = self.x[j], self.G[j]
        lo, hi = np.log(self.d[j + 1]), np.log(self.d[j])
        f = (th - self.theta_hat[j]) / (self.theta_hat[j + 1] - self.theta_hat[j])
        z0 = hi - f * (hi - lo)

        def fun(z, idx):  # increasing in z
            d = np.exp(z)
            x = self.b - d
            F = th[idx] - (self.log_d0 - z + Ga[idx] + self._segment(xa[idx], x))
            return F, 1.0 + d * self.h(x)

        return _newton(fun, z0, lo, hi, rel=False)


def _newton(fun, z, lo, hi, *, rel: bool, max_iter: int = 60) -> np.ndarray:
    """Vectorised Newton iteration on an increasing ``F`` kept inside the brackets ``[lo, hi]`` (bisection fallback)."""
    z = np.clip(z, lo, hi)
    act = np.arange(z.size)
    for _ in range(max_iter):
        F, dF = fun(z[act], act)
        zi = z[act]
        lo[act] = np.where(F <= 0, zi, lo[act])
        hi[act] = np.where(F >= 0, zi, hi[act])
        z_new = zi - F / dF
        outside = ~((z_new >= lo[act]) & (z_new <= hi[act]))
        z_new = np.where(outside, 0.5 * (lo[act] + hi[act]), z_new)
        step = np.abs(z_new - zi)
        z[act] = z_new
        tol = 1e-12 * (np.abs(z_new) if rel else 1.0)
        done = (F == 0) | ((step <= tol) & ~outside) | (hi[act] - lo[act] <= 4 * _EPS * np.abs(z_new))
        act = act[~done]
        if act.size == 0:
            return z
    raise RuntimeError("routing: inverting t(b2) did not converge; please report the arguments")  # pragma: no cover
