"""The recorded step loop shared by online SGD on a population (``learndyn.online``, simulation) and the reduced
particle systems of the mean-field theory (``learndyn.theory.lowdim``): both draw a fresh batch every step, so they
differ only in the step function.

Private and free of nets, rules and theory, so both sides of the layering can import it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def scan_records(step, params, keys, steps, lr, lead: tuple):
    """Run ``step`` up to every record step; stop a seed whose loss turns non-finite.

    Parameters
    ----------
    step : callable
        ``step(params, key, lr) -> (params, key, loss)``; vmapped already when ``lead`` is a seed axis.
    params : pytree
        Starting parameters (a leading axis ``lead`` on every leaf when batched).
    keys : jax key array
        One key, or one per seed.
    steps : (T,) int array
        Non-decreasing record steps.
    lr : scalar
    lead : tuple
        ``()`` for one run, ``(n_seeds,)`` for vmapped seeds.

    Returns
    -------
    rec : pytree
        Parameters at every record step (leading record axis).
    loss : (T,) + lead array
        The batch loss of the last step taken before each record (0 at step 0).
    bad : lead int array
        The first step whose loss was not finite, or -1; a diverged seed keeps its last finite parameters.

    Call it inside ``jax.jit`` with ``step`` fixed (a closure of static arguments).
    """

    def record(carry, k_end):
        p, key, k, bad, last = carry

        def body(loop):
            p, key, k, bad, last = loop
            p_new, key, value = step(p, key, lr)
            ok = jnp.isfinite(value)
            bad = jnp.where((bad < 0) & ~ok, k, bad)
            frozen = bad >= 0

            def keep(o, n):
                return jnp.where(frozen.reshape(lead + (1,) * (o.ndim - len(lead))), o, n)

            p = jax.tree_util.tree_map(keep, p, p_new)
            return p, key, k + 1, bad, jnp.where(bad >= 0, last, value)

        p, key, k, bad, last = jax.lax.while_loop(lambda loop: loop[2] < k_end, body, (p, key, k, bad, last))
        return (p, key, k, bad, last), (p, last)

    dtype = jax.tree_util.tree_leaves(params)[0].dtype
    init = (params, keys, jnp.asarray(0, jnp.int64), jnp.full(lead, -1, jnp.int64), jnp.zeros(lead, dtype))
    (_, _, _, bad, _), (rec, loss) = jax.lax.scan(record, init, steps)
    return rec, loss, bad
