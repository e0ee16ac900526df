"""gated-digits: systematic generalisation to untrained domain pairs on handwritten digits, against init scale.

The naturalistic validation of Saxe, Sodhani & Lewallen 2022 ("The Neural Race Reduction", ICML, arXiv 2207.10430;
spec ``gated_dln.md`` §3 "Naturalistic validation"), rebuilt on scikit-learn's bundled digits (8x8 = 64 pixels,
standardized with training-split statistics, no download) instead of MNIST:

- ``M`` input domains: fixed pixel permutations of the 64 pixels (seeded; domain 0 is the identity).
- ``M`` output domains: label permutations ``pi_j(c) = sigma((c + j) mod 10)`` of the 10 classes for a random base
  permutation ``sigma`` (``M <= 10``). Two output domains ``j != k`` agree on a label only if ``c + j = c + k
  (mod 10)``, so they agree on **no** label: every label moves. This is checked (``output_domains_share_no_label``)
  and asserted when the permutations are built. The reference code (spec §4 pitfall 4) takes the first ``M``
  permutations of ``itertools.permutations(range(10))``; in that lexicographic order the first ``5! = 120`` all
  keep 0..4 in place, so for ``M <= 120`` labels 0-4 are the same in every output domain and a network that ignores
  the output domain is right on half the classes of an untrained pair, which inflates "untrained" accuracy. Here a
  network that reads out a wrong output domain is wrong on every item, so untrained accuracy above chance can only
  come from the right, never-trained, input-output combination. (The labels the reference's scheme would keep fixed
  are counted for this ``M`` and stored in ``data.nc``, attribute ``reference_lexicographic_fixed_labels``.)
- Trained pairs: input domain ``i`` is trained with ``K < M`` output domains ``(i + o) mod M``, ``o = 0..K-1``, after
  which the output-domain columns are permuted at random (the reference's gate ``K_plus_mod_permute``); the other
  ``M (M - K)`` pairs are never trained.
- Network: :func:`learndyn.graphs.routing` ``(M, 64, H, 10)``: an encoder ``W1^i`` (64 -> H) per input domain, one
  shared hidden edge ``W2`` (H -> H), a decoder ``W3^j`` (H -> 10) per output domain, gated by the pair, no bias and
  no nonlinearity (:class:`learndyn.nets.gated.GatedDLN`). Orthogonal init of gain ``g`` on every edge (singular
  values exactly ``g``, like NB1/NB2 and torch's ``orthogonal_``); the same random directions for every gain, so
  the gain is the only thing that changes along the sweep; ``n_seeds`` seeds run together (``jax.vmap``).
- Loss and optimiser: the library's MSE on one-hot targets ``1/(2P) sum ||y - f||^2`` over the trained pairs' rows,
  full-batch GD (``simulate(net, "gd", ...)``, autodiff gradient), ``t = lr * step``. The theory is MSE gradient
  flow; the reference's MNIST/CIFAR runs used cross-entropy with SGD momentum 0.9 (spec §4 pitfall 5), so the
  theory applied to them only qualitatively. This experiment is what the theory describes.
- Learning rate per gain: ``lr(g) = min(lr_max, lr_lazy / g^4)``. At large gain the top Hessian eigenvalue grows
  like ``g^4 lambda_max(Sigma_xx)`` (three layers of singular value ``g``; ``lambda_max = 7.4`` for standardized
  digits), so ``lr_lazy / g^4`` is a fixed fraction of the stability limit (``lr_lazy = 0.4`` ran stably at
  ``g = 2``); at small gain the limit is set by the learned weights, and ``lr_max = 2`` diverged late in training
  (measured), ``lr_max = 1`` did not. Every gain gets the same number of steps: each run is compared at the same
  budget of near-maximal GD steps, not at the same time ``t``.
- Measured: accuracy (argmax of the output domain's 10 outputs against the permuted label) on held-out test images
  (the 449 items of the digits test split), averaged over the trained pairs and over the untrained pairs, at every
  record; the training loss; and per-pair accuracy at the end. Accuracies are computed from the path maps
  ``W3^j W2 W1^i`` (checked against the net's gated forward pass on a few rows).

Science: from small init the network learns one shared hidden representation and the untrained pairs are as
accurate as the trained ones; from large init (lazy regime) it fits the trained pairs while the untrained pairs fall
toward chance (0.1). Measured (full mode, seed 0, 3 seeds; test accuracy trained / untrained, seed means):

    gain        0.05         0.2          0.5          1.0          1.5          2.0
    accuracy    0.90 / 0.90  0.90 / 0.90  0.90 / 0.89  0.90 / 0.88  0.88 / 0.42  0.80 / 0.17

(quick mode, 100 images: gain 0.1: 0.77 / 0.77, 1.0: 0.78 / 0.57, 1.5: 0.75 / 0.22). Two choices matter, both
measured:

- ``K = 3`` of ``M = 5``: with ``K = 2`` every input and output domain sits on one cycle of trained pairs, and from
  small init the untrained accuracy stayed well below the trained one (0.78 against 0.91, lower for pairs farther
  apart on the cycle; 400 images, H = 32); with ``K = 3`` it equals the trained accuracy.
- ``H = 64 >> 10 K``: a large-init net can fit the trained pairs while keeping its random initial function on the
  untrained ones only if the hidden space has room outside the ``K`` trained decoders' 10-dimensional row spaces.
  With ``H = 32``, ``K = 3`` (30 of 32 dimensions covered) even gain 1.5 generalised (untrained 0.67); with
  ``H = 64`` gain 1.5 gives 0.42 and gain 2 gives 0.17.

Caveats. The comparison is at a fixed budget of steps: at width 64 a large-init net is not exactly lazy, and its
untrained accuracy creeps up with longer training (quick mode, gain 1.5: 0.22 after 800 steps, 0.31 after 1600),
while its fit of the trained pairs is not complete at the end either (gain 2: 0.86 accuracy on the training
images against 0.97 from small init). The dip of accuracy during the escape from the small-init plateau is part
of the flow (the same against ``t`` at ``lr = 0.5`` and ``lr = 1``): the first mode learned is the class-mean
output of the uncentred one-hot targets.

float32 by default (``dtype``): about 2x faster on CPU, and the measured quantities are accuracies with thresholds
far coarser than its rounding.

Checks: the output permutations share no label; trained-pair test accuracy at every gain >= ``min_trained_accuracy``;
at the smallest gain untrained accuracy >= ``min_untrained_small`` and within ``max_gap_small`` of trained; at the
largest gain untrained accuracy <= ``max_untrained_large`` (near chance); untrained accuracy falls with the gain
(no rise larger than ``monotone_tolerance`` between neighbouring gains). All are seed means at the last record.

Thresholds (the same in both modes), against measured values over quick-mode seeds 0-2 and the full run (seed 0,
3 init seeds): trained-pair accuracy >= 0.65 (quick 0.73-0.75, full 0.80, lowest at the largest gain); untrained
accuracy at the smallest gain >= 0.6, six times chance (quick 0.74-0.77, bounded by the 100 training images; full
0.90); gap <= 0.05 (measured <= 0.002 in every run, seed spread <= 0.003); untrained accuracy at the largest gain
<= 0.3 (quick 0.15-0.22 at gain 1.5, full 0.17 with single seeds 0.12-0.20 at gain 2); no rise larger than 0.03
between neighbouring gains (the test-set sampling error of a seed mean is about 0.005; smallest fall measured 0.001
between gains 0.05 and 0.2, where both generalise fully).

Quick mode: 100 training images, 2 seeds, 800 steps, gains (0.1, 1.0, 1.5) instead of 300 images, 3 seeds, 2000
steps and six gains; every check is kept with the same thresholds.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import jax
import numpy as np
import xarray as xr

from learndyn import datasets, graphs, train
from learndyn.experiments._gated_digits_figures import figures
from learndyn.experiments._summaries import min_step
from learndyn.experiments.config import ExperimentConfig, option
from learndyn.experiments.registry import experiment
from learndyn.nets.gated import GatedDLN
from learndyn.progress import track
from learndyn.results import Outcome

N_PIXELS, N_CLASSES = 64, 10
#: Training items of the digits training split (1797 items, 25% held out).
N_DIGITS_TRAIN = 1348


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """Configuration of gated-digits (defaults: the full run)."""

    seed: int = option(0, "seed of the data subset, the permutations, the trained pairs and the initial weights", ge=0)
    n_domains: int = option(5, "M: input domains (pixel permutations) and output domains (label permutations)", ge=2,
                            le=N_CLASSES)  # fmt: skip
    n_trained: int = option(3, "K: output domains trained with each input domain (K < M)", ge=1)
    hidden: int = option(64, "H: width of the two hidden nodes of the routing net", ge=N_CLASSES)
    n_train: int = option(300, "training images (a random subset of the digits training split)", ge=20,
                          le=N_DIGITS_TRAIN)  # fmt: skip
    gains: tuple[float, ...] = option((0.05, 0.2, 0.5, 1.0, 1.5, 2.0), "orthogonal init gains, ascending", gt=0)
    n_seeds: int = option(3, "initialisations per gain (run together)", ge=1)
    steps: int = option(2000, "full-batch GD steps at every gain", ge=10)
    lr_max: float = option(1.0, "learning rate at small gain (lr = min(lr_max, lr_lazy / gain^4))", gt=0)
    lr_lazy: float = option(0.4, "learning rate at large gain, times gain^4 (a fraction of the stability limit)",
                            gt=0)  # fmt: skip
    n_records: int = option(20, "records per run (step 0 and log-spaced steps)", ge=5)
    dtype: str = option("float32", "precision of the simulation", choices=("float32", "float64"))
    min_trained_accuracy: float = option(0.65, "least trained-pair test accuracy at every gain", gt=0, le=1)
    min_untrained_small: float = option(0.6, "least untrained-pair test accuracy at the smallest gain", gt=0, le=1)
    max_gap_small: float = option(0.05, "largest trained - untrained accuracy at the smallest gain", gt=0, le=1)
    max_untrained_large: float = option(0.3, "largest untrained-pair test accuracy at the largest gain", gt=0, le=1)
    monotone_tolerance: float = option(0.03, "largest rise of untrained accuracy from one gain to the next", ge=0)

    def check(self):
        """Constraints between fields."""
        if self.n_trained >= self.n_domains:
            raise ValueError(f"n_trained={self.n_trained} must be < n_domains={self.n_domains} (K < M: some pairs "
                             "must stay untrained)")  # fmt: skip
        if len(self.gains) < 2 or any(b <= a for a, b in itertools.pairwise(self.gains)):
            raise ValueError(f"gains must hold at least two values in ascending order; got {list(self.gains)}")


def pixel_permutations(M: int, rng) -> np.ndarray:
    """``(M, 64)``: input domain ``i`` shows pixel ``perm[i, k]`` at position ``k``; domain 0 is the identity."""
    return np.stack([np.arange(N_PIXELS)] + [rng.permutation(N_PIXELS) for _ in range(M - 1)])


def label_permutations(M: int, rng) -> np.ndarray:
    """``(M, 10)``: output domain ``j`` labels class ``c`` as ``pi[j, c] = sigma((c + j) mod 10)``.

    Any two domains disagree on every class (``sigma`` is a bijection and ``c + j != c + k (mod 10)`` for ``j != k``,
    ``M <= 10``); this is asserted.
    """
    if not 1 <= M <= N_CLASSES:
        raise ValueError(f"n_domains must be in 1..{N_CLASSES} for shifted label permutations; got {M}")
    sigma = rng.permutation(N_CLASSES)
    pi = np.stack([sigma[(np.arange(N_CLASSES) + j) % N_CLASSES] for j in range(M)])
    agree = shared_labels(pi)
    if agree:
        raise AssertionError(f"output domains share {agree} labels; every label must move between domains")
    return pi


def shared_labels(pi) -> int:
    """The most classes that any two label permutations (rows of ``pi``) map to the same label."""
    pi = np.asarray(pi)
    return max((int(np.sum(a == b)) for a, b in itertools.combinations(pi, 2)), default=0)


def reference_fixed_labels(M: int) -> int:
    """Classes that the reference's first ``M`` lexicographic permutations of ``range(10)`` all leave in place."""
    perms = np.array(list(itertools.islice(itertools.permutations(range(N_CLASSES)), M)))
    return int(np.sum(np.all(perms == np.arange(N_CLASSES), axis=0)))


def trained_pairs(M: int, K: int, rng) -> tuple[tuple[int, int], ...]:
    """``K_plus_mod_permute``: input ``i`` with outputs ``(i + o) mod M``, ``o < K``, output columns permuted."""
    cols = rng.permutation(M)
    return tuple((i, int(cols[j])) for i, j in graphs.cyclic_pairs(M, range(K)))


def _record_steps(cfg: Config) -> np.ndarray:
    k = np.unique(np.round(np.geomspace(1, cfg.steps, cfg.n_records - 1)).astype(np.int64))
    return np.concatenate([[0], k])


def learning_rate(cfg: Config, gain: float) -> float:
    """``min(lr_max, lr_lazy / gain^4)``."""
    return float(min(cfg.lr_max, cfg.lr_lazy / gain**4))


def pair_outputs(graph, W, i: int, j: int, X) -> np.ndarray:
    """Outputs ``(..., 10, N)`` of output domain ``j`` for input domain ``i`` with inputs ``X (N, 64)`` (already in
    domain ``i``'s pixel order), from the path map ``W3^j W2 W1^i`` (leading axes of the weights kept)."""
    A = W[graph.edge_index("h1->h2")] @ W[graph.edge_index(f"x{i}->h1")]
    return (W[graph.edge_index(f"h2->y{j}")] @ A) @ X.T


def pair_accuracy(graph, W, X, labels, pix, pi) -> np.ndarray:
    """``(M, M, ...)``: accuracy of every pair on items ``X`` (identity pixel order) with class ``labels``."""
    M = len(pix)
    out = None
    for i in range(M):
        Xi = X[:, pix[i]]
        for j in range(M):
            pred = np.argmax(pair_outputs(graph, W, i, j, Xi), axis=-2)
            acc = np.mean(pred == pi[j][labels], axis=-1)
            if out is None:
                out = np.empty((M, M, *acc.shape))
            out[i, j] = acc
    return out


def _check_against_forward(net, W, pairs, X, pix, dtype) -> None:
    """The path-map outputs equal the gated forward pass (last record, seed 0) on a few rows of two pairs."""
    g = net.graph
    params = {"W": tuple(w[0, -1] for w in W)}
    for i, j in pairs:
        Xi = X[:5, pix[i]]
        f = np.asarray(net.apply(params, g.rows({f"x{i}": Xi}, graphs.routing_gates(i, j)))[0])
        f = f[:, g.output_slice(f"y{j}")]
        mine = pair_outputs(g, params["W"], i, j, Xi).T
        tol = 1e-4 if dtype == "float32" else 1e-10
        if not np.allclose(f, mine, rtol=tol, atol=tol * max(1.0, float(np.abs(f).max()))):
            raise AssertionError(f"path-map outputs of pair {(i, j)} differ from the forward pass by "
                                 f"{np.abs(f - mine).max():.3g}")  # fmt: skip


@experiment(
    "gated-digits",
    Config,
    quick={"n_train": 100, "n_seeds": 2, "steps": 800, "gains": (0.1, 1.0, 1.5), "n_records": 12},
    description="Gated deep linear routing net on digits: M pixel-permuted input domains, M label-permuted output "
    "domains (every label moves), K < M trained pairs per input; test accuracy on trained vs untrained pairs against "
    "the init scale (Saxe, Sodhani & Lewallen 2022, naturalistic validation).",
)
def run(cfg: Config) -> Outcome:
    """Train the routing net on the trained pairs at every init gain; measure trained- and untrained-pair accuracy."""
    out = Outcome()
    M, K = cfg.n_domains, cfg.n_trained
    rng = np.random.default_rng(cfg.seed)
    base = datasets.digits(seed=cfg.seed)
    sub = np.sort(rng.choice(base.P, cfg.n_train, replace=False))
    X, Y = base.X[sub], base.Y[sub]
    labels_train, labels_test = np.argmax(Y, axis=1), np.argmax(base.Y_test, axis=1)
    pix = pixel_permutations(M, rng)
    pi = label_permutations(M, rng)
    inv = np.argsort(pi, axis=1)  # target of output domain j: one-hot at pi[j, c], i.e. column k holds class inv[j, k]
    pairs = trained_pairs(M, K, rng)
    untrained = tuple((i, j) for i in range(M) for j in range(M) if (i, j) not in set(pairs))
    trained_mask = np.zeros((M, M), dtype=bool)
    trained_mask[tuple(np.array(pairs).T)] = True

    graph = graphs.routing(M, N_PIXELS, cfg.hidden, N_CLASSES)
    net = GatedDLN(graph)
    task = graphs.pairs_task(
        graph, X, Y, pairs, x_of=lambda i, A: A[:, pix[i]], y_of=lambda j, A: A[:, inv[j]], name="gated digits"
    )
    steps = _record_steps(cfg)
    keys = jax.random.split(jax.random.key(cfg.seed), cfg.n_seeds)

    loss, lrs, acc_test, acc_train = [], [], [], []
    for gain in track(cfg.gains, "gated-digits: init gains"):
        lr = learning_rate(cfg, gain)
        p0 = jax.vmap(lambda k, g=gain: net.init(k, g, method="orthogonal", dtype=cfg.dtype))(keys)
        sim = train.simulate(net, "gd", task, p0, lr=lr, t=steps * lr)
        if not np.array_equal(sim.steps, steps):
            raise AssertionError(f"recorded steps {sim.steps} differ from the requested {steps}")
        W = tuple(np.asarray(w, dtype=np.float64) for w in sim.params["W"])  # (seed, record, n_dst, n_src)
        _check_against_forward(net, sim.params["W"], (pairs[0], untrained[0]), base.X_test, pix, cfg.dtype)
        lrs.append(lr)
        loss.append(np.asarray(sim.loss, dtype=np.float64))
        acc_test.append(pair_accuracy(graph, W, base.X_test, labels_test, pix, pi))
        acc_train.append(pair_accuracy(graph, W, X, labels_train, pix, pi))

    acc_test = np.moveaxis(np.stack(acc_test), (1, 2), (3, 4))  # (gain, seed, record, in, out)
    acc_train = np.moveaxis(np.stack(acc_train), (1, 2), (3, 4))
    lrs = np.asarray(lrs)
    data = xr.Dataset(
        {
            "loss": (("gain", "seed", "step"), np.stack(loss)),
            "trained_accuracy": (("gain", "seed", "step"), acc_test[..., trained_mask].mean(axis=-1)),
            "untrained_accuracy": (("gain", "seed", "step"), acc_test[..., ~trained_mask].mean(axis=-1)),
            "trained_train_accuracy": (("gain", "seed", "step"), acc_train[..., trained_mask].mean(axis=-1)),
            "pair_accuracy": (("gain", "seed", "in_domain", "out_domain"), acc_test[:, :, -1]),
            "trained": (("in_domain", "out_domain"), trained_mask.astype(np.int8)),
            "label_map": (("out_domain", "label"), pi),
            "pixel_permutation": (("in_domain", "pixel"), pix),
            "lr": (("gain",), lrs),
        },
        coords={
            "gain": np.asarray(cfg.gains, dtype=np.float64),
            "seed": np.arange(cfg.n_seeds),
            "step": steps,
            "t": (("gain", "step"), lrs[:, None] * steps[None, :]),
            "in_domain": np.arange(M),
            "out_domain": np.arange(M),
            "label": np.arange(N_CLASSES),
            "pixel": np.arange(N_PIXELS),
        },
        attrs={
            "n_domains": M,
            "n_trained": K,
            "hidden": cfg.hidden,
            "n_train_images": cfg.n_train,
            "n_test_images": int(base.X_test.shape[0]),
            "init": "orthogonal",
            "dtype": cfg.dtype,
            "loss_function": "1/(2P) sum ||y - f||^2 on one-hot targets over the trained pairs' rows (full-batch GD)",
            "reference_lexicographic_fixed_labels": reference_fixed_labels(M),
        },
    )
    _describe(data)
    out.data["gated_digits"] = data

    tr = data["trained_accuracy"].isel(step=-1).mean("seed").values
    un = data["untrained_accuracy"].isel(step=-1).mean("seed").values
    names = {
        "perm": "output_domains_share_no_label",
        "trained": "min_trained_accuracy",
        "small": "untrained_accuracy_smallest_gain",
        "gap": "generalization_gap_smallest_gain",
        "large": "untrained_accuracy_largest_gain",
        "monotone": "untrained_accuracy_falls_with_gain",
    }
    g0, g1 = cfg.gains[0], cfg.gains[-1]
    claims = [
        ("perm", shared_labels(pi), "<=", 0,
         f"most classes two of the {M} output-domain label permutations label alike (every label must move; the "
         f"reference's first {M} lexicographic permutations share {reference_fixed_labels(M)})"),
        ("trained", tr.min(), ">=", cfg.min_trained_accuracy,
         "least over gains of the trained-pair test accuracy (seed mean, end of training)"),
        ("small", un[0], ">=", cfg.min_untrained_small,
         f"untrained-pair test accuracy at gain {g0:g} (seed mean; chance 0.1)"),
        ("gap", tr[0] - un[0], "<=", cfg.max_gap_small,
         f"trained - untrained test accuracy at gain {g0:g} (seed means): the shared representation generalises"),
        ("large", un[-1], "<=", cfg.max_untrained_large,
         f"untrained-pair test accuracy at gain {g1:g} (seed mean; chance 0.1): the lazy net does not generalise"),
        ("monotone", min_step(un, increasing=False), ">=", -cfg.monotone_tolerance,
         "smallest fall of the untrained-pair accuracy from one gain to the next (negative: a rise)"),
    ]  # fmt: skip
    for role, value, op, threshold, description in claims:
        out.check(names[role], float(value), op, threshold, description)

    figures(out, data, cfg, names)
    return out


def _describe(data: xr.Dataset) -> None:
    """Long names and units of the experiment's variables."""
    meta = {
        "loss": ("training loss 1/(2P) sum ||y - f||^2 over the trained pairs' rows", "squared target units"),
        "trained_accuracy": ("test accuracy averaged over the trained pairs (argmax vs permuted label)", "1"),
        "untrained_accuracy": ("test accuracy averaged over the untrained pairs (argmax vs permuted label)", "1"),
        "trained_train_accuracy": ("training-image accuracy averaged over the trained pairs", "1"),
        "pair_accuracy": ("test accuracy of each (input domain, output domain) pair at the end", "1"),
        "trained": ("1: the pair is trained (gate on in training), 0: never trained", "1"),
        "label_map": ("label of class `label` in output domain `out_domain`", "1"),
        "pixel_permutation": ("input domain shows pixel pixel_permutation[k] at position k", "1"),
        "lr": ("learning rate min(lr_max, lr_lazy / gain^4)", "1"),
        "t": ("gradient-flow time t = lr * step", "1"),
        "gain": ("orthogonal init gain (singular value of every edge's initial weights)", "1"),
        "step": ("GD step of the record", "1"),
    }
    for name, (long_name, units) in meta.items():
        data[name].attrs.update(long_name=long_name, units=units)
