"""Lazy kernels (Bordelon & Pehlevan 2023, Table 2) against independent references: Gaussian expectations against
quadrature and Monte Carlo, the lazy eNTK of every rule against width-N networks (the library's own nets and rules
through ``observables.entk``, and a NumPy network built from the spec's equations, certified equal to the library's),
with the O(1/N) squared error, and the lazy dynamics against ``solve_ivp``."""

import jax
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from learndyn import nets, observables, param, rules
from learndyn.theory import kernels as kn

P, D = 8, 12
_rng = np.random.default_rng(123)
X = _rng.standard_normal((P, D))
X *= np.sqrt(D) / np.linalg.norm(X, axis=1, keepdims=True)  # |x|^2 = D, so K^x has a unit diagonal
Y = _rng.standard_normal(P)
KX = X @ X.T / D
ALL_RULES = ("gd", "fa0", "fa0.5", "fa1", "dfa", "hebb", "gln")


def _theory(L, act):
    out = {r: kn.lazy_entk(X, L, act, r) for r in ("gd", "dfa", "hebb", "gln")}
    out.update({f"fa{rho:g}": kn.lazy_entk(X, L, act, "fa", rho=rho) for rho in (0.0, 0.5, 1.0)})
    return out


def _covariance(seed=0, P=5):
    """A covariance with variances from ~0.3 to ~5 and one nearly collinear pair (correlation ~0.999)."""
    r = np.random.default_rng(seed)
    A = r.standard_normal((P, P + 2))
    A[1] = A[0] + 0.03 * r.standard_normal(P + 2)
    S = A @ A.T / (P + 2)
    s = np.geomspace(0.5, 2.2, P)
    return s[:, None] * S * s[None, :]


# --------------------------------------------------------------------------------------------------------------------
# the activations and the one-layer expectations


def test_local_activations_are_the_nets_activations():
    # theory may not import nets, so it defines the functions again; this keeps the two definitions the same
    u = np.concatenate([np.linspace(-6, -1e-3, 200), np.linspace(1e-3, 6, 200)])  # relu'(0) is a convention
    for name, (phi, dphi) in nets.ACTIVATIONS.items():
        assert name in kn.ACTIVATIONS, f"{name} of learndyn.nets has no lazy kernel"
        mine_phi, mine_dphi = kn.ACTIVATIONS[name]
        np.testing.assert_allclose(mine_phi(u), np.asarray(phi(u)), rtol=1e-13, atol=1e-15, err_msg=name)
        np.testing.assert_allclose(mine_dphi(u), np.asarray(dphi(u)), rtol=1e-12, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("name", ["linear", "erf"])
def test_smooth_closed_forms_equal_quadrature(name):
    # u^2 is integrated exactly by 2 nodes; erf is entire, so Gauss-Hermite converges exponentially (1e-12 at order
    # 128 already for variance 3 and correlation 0.97; the order-160 error is at rounding level)
    S = _covariance()
    closed = kn.gaussian_expectations(S, name)
    quad = kn.gaussian_expectations(S, tuple(kn.ACTIVATIONS[name]), order=160)
    for c, q in zip(closed, quad, strict=True):
        np.testing.assert_allclose(q, c, rtol=0, atol=1e-11)


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
def test_kinked_closed_forms_equal_quadrature_at_its_rate(name):
    # A kink on the line v = 0, which no Gauss-Hermite grid follows: the error falls like ~0.06 * scale / order
    # (measured 3.8e-3 at order 16 and 2.3e-4 at 256 for unit scale). Phi converges at that rate; Phidot is an
    # expectation of a step, whose Gauss-Hermite error stays ~1e-3, so only Phi is checked here (Phidot by MC).
    S = _covariance()
    closed = kn.gaussian_expectations(S, name)[0]
    scale = np.sqrt(np.outer(np.diag(S), np.diag(S)))
    pair = tuple(kn.ACTIVATIONS[name])  # a pair of callables: quadrature, not the closed form
    errs = {
        n: np.max(np.abs(kn.gaussian_expectations(S, pair, order=n)[0] - closed) / scale) for n in (25, 50, 100, 200)
    }
    assert errs[200] < 0.2 / 200, errs
    assert errs[200] < errs[50] / 2 < errs[25] / 2, errs  # and it converges, at about 1/order


def test_quadrature_converges_for_smooth_activations():
    S = _covariance()
    for name in ("tanh", "scaled_tanh", "gelu"):
        lo = kn.gaussian_expectations(S, name, order=96)
        hi = kn.gaussian_expectations(S, name, order=200)
        for a, b in zip(lo, hi, strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=2e-6, err_msg=name)  # measured <= 1e-7 at these variances


@pytest.mark.parametrize("name", ["linear", "relu", "leaky_relu", "erf", "tanh", "scaled_tanh", "gelu"])
def test_expectations_equal_monte_carlo(name):
    # independent reference: 400k samples of u ~ N(0, S) through the activation of learndyn.nets; the tolerance is
    # 5 standard errors of each entry's sample mean (plus rounding for the zero-variance linear Phidot)
    S = _covariance()
    n = 400_000
    u = np.random.default_rng(5).standard_normal((n, S.shape[0])) @ np.linalg.cholesky(S).T
    values = [np.asarray(f(u)) for f in nets.ACTIVATIONS[name]]
    for theory, vals in zip(kn.gaussian_expectations(S, name), values, strict=True):
        prod = vals[:, :, None] * vals[:, None, :]
        mc, se = prod.mean(0), prod.std(0) / np.sqrt(n)
        assert np.all(np.abs(theory - mc) <= 5 * se + 1e-12), (name, np.max(np.abs(theory - mc) / (se + 1e-300)))


def test_activation_lookup_and_callables():
    S = _covariance()
    softplus = (lambda u: np.logaddexp(0.0, u), lambda u: 1.0 / (1.0 + np.exp(-u)))
    by_name = kn.gaussian_expectations(S, "softplus", activations={"softplus": softplus})
    by_pair = kn.gaussian_expectations(S, softplus)
    np.testing.assert_array_equal(by_name[0], by_pair[0])
    # the nets' (JAX) callables give what the local names give
    via_nets = kn.gaussian_expectations(S, nets.ACTIVATIONS["scaled_tanh"])
    np.testing.assert_allclose(via_nets[0], kn.gaussian_expectations(S, "scaled_tanh")[0], rtol=0, atol=1e-13)


# --------------------------------------------------------------------------------------------------------------------
# exact identities of the recursion


def test_table2_identities():
    for L, act in ((1, "relu"), (3, "tanh")):
        K = _theory(L, act)
        np.testing.assert_array_equal(K["fa1"], K["gd"])  # rho = 1 FA is the NTK
        Phi, G = kn.layer_kernels(KX, L, act)
        for r in ("fa0", "dfa", "hebb"):
            np.testing.assert_array_equal(K[r], Phi[L])  # rho = 0 FA, DFA and Hebb are the NNGP kernel Phi^L
        np.testing.assert_allclose(K["gd"], np.sum(G * Phi, axis=0), rtol=1e-14)
        np.testing.assert_allclose(G[0], np.prod([kn.gaussian_expectations(p, act)[1] for p in Phi[:L]], 0), 1e-13)
        _, C = kn.gaussian_expectations(KX, act)
        np.testing.assert_allclose(K["gln"], (L + 1) * C**L * KX, rtol=1e-13)  # every weight layer alike
        assert np.all(np.linalg.eigvalsh(K["fa0.5"]) > 0)
    np.testing.assert_allclose(kn.lazy_entk(X, 3, "linear"), 4 * KX, rtol=1e-14)  # deep linear: (L + 1) K^x
    np.testing.assert_allclose(kn.lazy_entk(X, 3, "linear", "fa", rho=0.5), (1 + 0.5 + 0.25 + 0.125) * KX, 1e-14)


def test_relu_kernels_in_angle_form():
    # |x|^2 = D: the ReLU NNGP is the arc-cosine kernel of cos(theta); the library's ReLU gate is Theta, not the
    # paper's sqrt(2) Theta, so its GLN kernel is (L + 1) 2^-L (1 - theta/pi)^L cos(theta)
    theta = np.arccos(np.clip(KX, -1, 1))
    nngp = (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi)
    np.testing.assert_allclose(kn.lazy_entk(X, 1, "relu", "dfa"), nngp, atol=1e-14)
    for L in (1, 2, 4):
        gln = (L + 1) * 2.0**-L * (1 - theta / np.pi) ** L * np.cos(theta)
        np.testing.assert_allclose(kn.lazy_entk(X, L, "relu", "gln"), gln, atol=1e-14)


# --------------------------------------------------------------------------------------------------------------------
# the width-N network: the spec's equations in NumPy, and the library's nets and rules


def _net(X, W, w, act, gates=None):
    """Forward/backward pass of the spec's mean-field net (gamma0 = 1): activations, slopes, g^l, unscaled output."""
    phi, dphi = kn.ACTIVATIONS[act]
    L, N = len(W), w.shape[0]
    acts, h = [X], X @ W[0].T / np.sqrt(X.shape[1])
    slopes = []
    for l in range(L):  # h is h^{l+1}
        slopes.append(gates[l] if gates is not None else dphi(h))
        acts.append(gates[l] * h if gates is not None else phi(h))
        if l < L - 1:
            h = acts[-1] @ W[l + 1].T / np.sqrt(N)
    g = [None] * L  # g[l] = g^{l+1} = gamma0 N df / dh^{l+1}
    g[-1] = slopes[-1] * w
    for l in range(L - 2, -1, -1):
        g[l] = slopes[l] * (g[l + 1] @ W[l + 1]) / np.sqrt(N)
    return acts, slopes, g, acts[-1] @ w / N


def _feature_kernels(acts):
    return [a @ a.T / a.shape[1] for a in acts]


def _entk(acts, g, g_tilde):
    """eq. 4 at init: K = sum_l G~^{l+1} * Phi^l, G~^{L+1} = 1."""
    Phi, N = _feature_kernels(acts), g[0].shape[1]
    return sum((g[l] @ g_tilde[l].T / N) * Phi[l] for l in range(len(g))) + Phi[-1]


def _fa_signals(slopes, b, B):
    """rho-FA pseudo-gradients: readout feedback b (N,), hidden feedback B[l] standing in for W^{l+1} (N, N)."""
    L, N = len(slopes), b.shape[0]
    gt = [None] * L
    gt[-1] = slopes[-1] * b
    for l in range(L - 2, -1, -1):
        gt[l] = slopes[l] * (gt[l + 1] @ B[l]) / np.sqrt(N)
    return gt


def _rms(A):
    return np.sqrt(np.mean(A * A))


def _random_net_kernels(L, N, act, rng, gamma0=1.0):
    """All rules' eNTKs of one random width-N net (spec normalisation), with the library's feedback conventions:
    FA ``B = rho W(0) + sqrt(1 - rho^2) rms(W(0)) W~`` (the readout's too), DFA and Hebb scaled by ``rms(w(0))``."""
    W = [rng.standard_normal((N, D))] + [rng.standard_normal((N, N)) for _ in range(L - 1)]
    w = rng.standard_normal(N)
    acts, slopes, g, f = _net(X, W, w, act)
    out = {"gd": _entk(acts, g, g)}
    Wt, wt = [rng.standard_normal((N, N)) for _ in range(L - 1)], rng.standard_normal(N)
    for rho in (0.0, 0.5, 1.0):
        c = np.sqrt(1 - rho**2)
        B = [rho * Wl + c * _rms(Wl) * Wtl for Wl, Wtl in zip(W[1:], Wt, strict=True)]
        out[f"fa{rho:g}"] = _entk(acts, g, _fa_signals(slopes, rho * w + c * _rms(w) * wt, B))
    out["dfa"] = _entk(acts, g, [s * _rms(w) * rng.standard_normal(N) for s in slopes])
    delta = Y - f / gamma0
    out["hebb"] = _entk(acts, g, [delta[:, None] * a * _rms(w) for a in acts[1:]])
    gates = [kn.ACTIVATIONS[act][1](X @ rng.standard_normal((N, D)).T / np.sqrt(D)) for _ in range(L)]
    acts, _, g, _ = _net(X, W, w, act, gates)
    out["gln"] = _entk(acts, g, g)
    return out


def test_library_entk_is_the_spec_entk_of_the_same_net():
    # the library's mean-field net and rules, with their own initialisation, feedback and gates: gamma0^2 N times
    # observables.entk is eq. 4 of the spec evaluated on the same weights (gamma0 = 0.5 tests the gamma0^2 factor)
    L, N, act, gamma0 = 2, 256, "relu", 0.5
    sizes = (D, N, N, 1)
    par = param.get("meanfield", gamma0=gamma0)
    net = par.mlp(sizes, act)
    p = par.init(jax.random.key(0), sizes, act)
    Wl = [np.asarray(a) for a in p["W"]]
    W, w = Wl[:-1], Wl[-1][0]
    assert abs(np.std(W[1]) - 1) < 0.01 and abs(np.std(w) - 1) < 0.1  # the spec's N(0, 1) weights
    acts, slopes, g, f = _net(X, W, w, act)
    lib_f = np.asarray(net.apply(p, X)[0])[:, 0]
    np.testing.assert_allclose(lib_f, f / gamma0, rtol=1e-12)

    def spec(rule, state=None, error=None):  # the spec's normalisation: times the mean-field lr scale gamma0^2 N
        return gamma0**2 * N * observables.entk(rule.net, rule, p, X, state, error)[:, 0, :, 0]

    np.testing.assert_allclose(spec(rules.GD(net)), _entk(acts, g, g), rtol=1e-11)
    for rho in (0.0, 0.5, 1.0):
        rule = rules.FA(net, rho=rho)
        state = rule.init(jax.random.key(1), p)
        B, b = [np.asarray(state["B"][0]).T], np.asarray(state["B"][1])[:, 0]  # B_{l+1} stands for W_{l+1}^T
        np.testing.assert_allclose(spec(rule, state), _entk(acts, g, _fa_signals(slopes, b, B)), rtol=1e-11)
        if rho == 1.0:
            np.testing.assert_allclose(b, w, rtol=1e-15)  # the readout's own feedback carries the rho mixture too
    rule = rules.DFA(net)
    state = rule.init(jax.random.key(2), p)
    np.testing.assert_allclose(
        spec(rule, state),
        _entk(acts, g, [s * np.asarray(d)[0] for s, d in zip(slopes, state["D"], strict=True)]),
        rtol=1e-11,
    )
    rule = rules.Hebb(net)
    state = rule.init(jax.random.key(3), p)
    err = lib_f - Y
    np.testing.assert_allclose(
        spec(rule, state, err[:, None]), _entk(acts, g, [-err[:, None] * a * _rms(w) for a in acts[1:]]), rtol=1e-11
    )
    gln = nets.GLN(sizes, act, multipliers=par.multipliers(sizes), gate_seed=4)
    gates = [np.asarray(m) for m in gln.gates(X)]  # phi'(M x / sqrt(D)) with M ~ N(0, 1): the spec's gates
    acts_g, _, g_g, _ = _net(X, W, w, act, gates)
    np.testing.assert_allclose(spec(rules.GD(gln)), _entk(acts_g, g_g, g_g), rtol=1e-11)

    # and at this width the library is already near the lazy kernels (squared error ~ c / N, c <~ 1-15)
    theory = _theory(L, act)
    hebb = rules.Hebb(net)
    for name, K in (
        ("gd", spec(rules.GD(net))),
        ("gln", spec(rules.GD(gln))),
        ("hebb", spec(hebb, hebb.init(None, p), err[:, None])),
    ):
        assert np.sum((K - theory[name]) ** 2) / np.sum(theory[name] ** 2) < 40 / N, name


def test_recursion_indices_match_the_width_n_net():
    # Phi^l and G^l layer by layer at N = 2048 (relative squared errors ~ 1/N), and a one-layer shift is far off
    L, N, act = 2, 2048, "tanh"
    rng = np.random.default_rng(9)
    W = [rng.standard_normal((N, D))] + [rng.standard_normal((N, N)) for _ in range(L - 1)]
    acts, _, g, _ = _net(X, W, rng.standard_normal(N), act)
    Phi_N = _feature_kernels(acts)
    G_N = [gl @ gl.T / N for gl in g]
    Phi, G = kn.layer_kernels(KX, L, act)
    rel = lambda a, b: np.sum((a - b) ** 2) / np.sum(b**2)
    errs = [rel(a, b) for a, b in zip(Phi_N + G_N, list(Phi) + list(G[:L]), strict=True)]
    assert max(errs) < 30 / N, np.asarray(errs) * N
    assert rel(G_N[0], G[1]) > 300 / N and rel(Phi_N[2], Phi[1]) > 300 / N  # the indexing matters


def _relative_squared_errors(L, act, widths, seeds):
    theory = _theory(L, act)
    err = {r: [] for r in ALL_RULES}
    for N in widths:
        per_seed = {r: [] for r in ALL_RULES}
        for s in range(seeds):
            K = _random_net_kernels(L, N, act, np.random.default_rng([L, N, s]))
            for r in ALL_RULES:
                per_seed[r].append(np.sum((K[r] - theory[r]) ** 2) / np.sum(theory[r] ** 2))
        for r in ALL_RULES:
            err[r].append(np.mean(per_seed[r]))
    return {r: np.asarray(v) for r, v in err.items()}


@pytest.mark.parametrize(
    "L, act, widths, seeds",
    [(1, "relu", (256, 1024, 4096), 8), (1, "tanh", (256, 1024, 4096), 8),
     (2, "relu", (128, 512, 2048), 4), (2, "tanh", (128, 512, 2048), 4)],
)  # fmt: skip
def test_width_n_entk_approaches_table2_as_one_over_n(L, act, widths, seeds):
    # the squared error of one net is a sum of a few squared Gaussian directions, so one rule's fitted slope carries
    # ~0.1 of seed noise (measured slopes -0.87..-1.13 here); their mean over the rules is tighter
    errs = _relative_squared_errors(L, act, widths, seeds)
    logN = np.log(widths)
    slopes = {r: np.polyfit(logN, np.log(e), 1)[0] for r, e in errs.items()}
    for r, e in errs.items():
        assert -1.3 <= slopes[r] <= -0.7, (r, slopes[r], e)
        assert e[-1] * widths[-1] < 50, (r, e)  # N * error stays O(1) (measured 1.8..21)
    assert abs(np.mean(list(slopes.values())) + 1) < 0.15, slopes


def test_gln_prefactor_is_l_plus_one():
    # every weight layer contributes C^L * K^x: (L + 1) of them, not the paper's L
    # (measured distances to (L + 1) C^L K^x: 3-4 % at L = 1, 4-5 % at L = 2; to L C^L K^x: 49-50 % and 33 %)
    _, C = kn.gaussian_expectations(KX, "relu")
    for L, N in ((1, 4096), (2, 2048)):
        for seed in range(2):
            K = _random_net_kernels(L, N, "relu", np.random.default_rng([7, L, seed]))["gln"]
            dist = {pref: np.linalg.norm(K - pref * C**L * KX) / np.linalg.norm(K) for pref in (L, L + 1)}
            assert dist[L + 1] < 0.1, dist
            assert abs(dist[L] - 1 / (L + 1)) < 0.05, dist


# --------------------------------------------------------------------------------------------------------------------
# lazy dynamics and kernel regression


def _ode(K, y, t):
    sol = solve_ivp(lambda _, d: -K @ d, (0, t[-1]), y, t_eval=t, method="LSODA", rtol=1e-11, atol=1e-13)
    return sol.y.T


def _asymmetric_kernel():
    # a width-64 two-hidden-layer FA eNTK (one hidden layer gives a symmetric one): asymmetric, non-normal, with
    # eigenvalues of positive real part
    K = _random_net_kernels(2, 64, "relu", np.random.default_rng(3))["fa0.5"]
    assert np.max(np.abs(K - K.T)) > 0.01 and np.all(np.linalg.eigvals(K).real > 0)
    return K


def test_lazy_error_matches_ode_for_symmetric_and_asymmetric_kernels():
    t = np.array([0.0, 0.3, 1.0, 4.0, 20.0])
    for K in (kn.lazy_entk(X, 2, "tanh", "fa", rho=0.5), _asymmetric_kernel()):
        np.testing.assert_allclose(kn.lazy_error(K, Y, t, time="spec"), _ode(K, Y, t), rtol=0, atol=1e-9)
        # library time: t = P s
        np.testing.assert_allclose(kn.lazy_error(K, Y, P * t), kn.lazy_error(K, Y, t, time="spec"), atol=1e-13)
        two = kn.lazy_error(K, np.stack([Y, -2 * Y], 1), t, time="spec")
        np.testing.assert_allclose(two[:, :, 1], -2 * two[:, :, 0], atol=1e-12)
        late = kn.lazy_error(K, Y, [1e6, 1e9])
        assert np.all(np.isfinite(late)) and np.max(np.abs(late)) < 1e-12


def test_lazy_error_of_a_singular_kernel_keeps_the_null_space():
    Xw = np.random.default_rng(1).standard_normal((P, 3))  # P > D: a linear net's NTK 2 K^x has rank 3
    K = kn.lazy_entk(Xw, 1, "linear")
    late = kn.lazy_error(K, Y, [1e8], time="spec")[0]
    U = np.linalg.svd(Xw)[0][:, 3:]
    np.testing.assert_allclose(late, U @ (U.T @ Y), atol=1e-10)  # the unlearnable part of y stays


def test_kernel_regression():
    K_all = kn.lazy_entk(np.vstack([X, X[:3] + 0.3]), 2, "relu")
    K, K_test = K_all[:P, :P], K_all[P:, :P]
    end = kn.kernel_regression(K, K_test, Y)
    np.testing.assert_allclose(end, K_test @ np.linalg.solve(K, Y), rtol=1e-9)
    np.testing.assert_allclose(kn.kernel_regression(K, K, Y), Y, atol=1e-9)  # training points interpolated
    np.testing.assert_allclose(kn.kernel_regression(K, K_test, Y, [1e7], time="spec")[0], end, atol=1e-9)
    f = kn.predict(X, Y, X[:3] + 0.3, 2, "relu")
    np.testing.assert_allclose(f, end, rtol=1e-12)
    # f*(t) against the ODE df*/ds = K(x*, X) Delta, for the symmetric and an asymmetric kernel
    t = np.array([0.0, 0.5, 2.0, 10.0])
    for Kt in (K, _asymmetric_kernel()):
        Kts = K_test if Kt is K else Kt[:3]
        rhs = lambda _, z, Kt=Kt, Kts=Kts: np.concatenate([-Kt @ z[:P], Kts @ z[:P]])
        z0 = np.concatenate([Y, np.zeros(3)])
        sol = solve_ivp(rhs, (0, t[-1]), z0, t_eval=t, rtol=1e-11, atol=1e-13).y.T
        np.testing.assert_allclose(kn.kernel_regression(Kt, Kts, Y, t, time="spec"), sol[:, P:], atol=1e-8)
        np.testing.assert_allclose(kn.kernel_regression(Kt, Kts, Y, P * t), sol[:, P:], atol=1e-8)


# --------------------------------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda: kn.lazy_entk(X, 1, "swish"), ValueError, ["activation", "swish", "relu", "tanh"]),
        (lambda: kn.lazy_entk(X, 1, "relu", "fa", rho=1.5), ValueError, ["rho", "1.5", "[0, 1]"]),
        (lambda: kn.lazy_entk(X, 1, "relu", "gd", rho=0.5), ValueError, ["rho", "fa"]),
        (lambda: kn.lazy_entk(X, 1, "relu", "backprop"), ValueError, ["rule", "backprop", "gln"]),
        (lambda: kn.lazy_entk(X, 0, "relu"), ValueError, ["n_hidden", "0"]),
        (lambda: kn.lazy_entk(np.vstack([X, 0 * X[:1]]), 1, "relu"), ValueError, ["X", "zero row", "8"]),
        (lambda: kn.gaussian_expectations(np.array([[1.0, 2.0], [0.0, 1.0]]), "relu"), ValueError, ["symmetric"]),
        (lambda: kn.gaussian_expectations(np.array([[1.0, 2.0], [2.0, 1.0]]), "relu"), ValueError, ["correlation"]),
        (lambda: kn.gaussian_expectations(np.eye(2), "tanh", order=500), ValueError, ["order", "500", "200"]),
        (lambda: kn.gaussian_expectations(np.eye(2), (np.tanh,)), TypeError, ["activation", "phi, dphi"]),
        (lambda: kn.lazy_error(np.eye(2), [1.0, 2.0], [1.0], time="steps"), ValueError, ["time", "steps", "spec"]),
        (lambda: kn.lazy_error(np.eye(2), [1.0, 2.0, 3.0], [1.0]), ValueError, ["y", "(3,)", "P = 2"]),
        (lambda: kn.lazy_error(np.eye(2), [1.0, 2.0], [-1.0]), ValueError, ["t", ">= 0"]),
        (lambda: kn.kernel_regression(np.eye(2), np.ones((3, 4)), [1.0, 2.0]), ValueError, ["K_test", "(3, 4)"]),
        (lambda: kn.kernel_regression(np.array([[1.0, 1.0], [0.0, 0.0]]), np.eye(2), [1.0, 2.0]), ValueError,
         ["singular"]),
    ],
)  # fmt: skip
def test_bad_input_is_named(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))
