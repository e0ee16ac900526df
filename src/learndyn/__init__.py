"""learndyn: learning dynamics of neural networks, exact theory beside finite-width simulation.

Importing learndyn enables float64 in JAX (``jax.config.update("jax_enable_x64", True)``) for the
whole process, not only for learndyn: from then on JAX's default floating dtype is float64 for all code
in the process. This is deliberate: every theory comparison in the library is made at float64 accuracy.

Time convention used across the library: loss ``L = 1/(2P) sum_mu ||y_mu - f_mu||^2``, full-batch
gradient descent with learning rate ``eta``, and gradient-flow time ``t = eta * step`` (so ``tau = 1``).
"""

import jax

jax.config.update("jax_enable_x64", True)

__version__ = "0.1.0"

# The curated public API: a task, a net, a rule, simulate or solve, compare. Modules stay importable for the rest.
from learndyn import graphs, init, integrate, nets, observables, param, rules, tasks, theory  # noqa: E402
from learndyn.graphs import GatedGraph  # noqa: E402
from learndyn.nets import GLN, MLP, GatedDLN  # noqa: E402
from learndyn.observables import compare, entk, trajectory_from_weights  # noqa: E402
from learndyn.tasks import Task  # noqa: E402
from learndyn.theory.linear import exact_trajectory  # noqa: E402
from learndyn.train import DivergenceError, Simulation, simulate, simulate_gd  # noqa: E402

__all__ = [
    "GLN",
    "GatedDLN",
    "GatedGraph",
    "MLP",
    "DivergenceError",
    "Simulation",
    "Task",
    "__version__",
    "compare",
    "entk",
    "exact_trajectory",
    "graphs",
    "init",
    "integrate",
    "nets",
    "observables",
    "param",
    "rules",
    "simulate",
    "simulate_gd",
    "tasks",
    "theory",
    "trajectory_from_weights",
]
