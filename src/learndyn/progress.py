"""Progress of long computations, shown as a bar per stage (tqdm) on a terminal and silent elsewhere.

Experiments wrap their outer loops in :func:`track`; the command line decides whether bars are shown with
:func:`showing` (``--quiet`` turns them off). By default a bar appears only when standard error is a terminal, so
logs, pipes, CI and tests stay clean.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from collections.abc import Iterable, Iterator

from tqdm import tqdm

# None: show bars when stderr is a terminal (tqdm's own test); True / False: always / never.
_SHOW: contextvars.ContextVar[bool | None] = contextvars.ContextVar("learndyn_progress", default=None)


@contextlib.contextmanager
def showing(flag: bool | None):
    """Within the block, show progress bars always (True), never (False) or on a terminal only (None).

    Examples
    --------
    >>> with showing(False):
    ...     [x for x in track(range(3), "quiet")]
    [0, 1, 2]
    """
    token = _SHOW.set(flag)
    try:
        yield
    finally:
        _SHOW.reset(token)


def track(iterable: Iterable, desc: str, total: int | None = None) -> Iterator:
    """Iterate over ``iterable`` showing a progress bar labelled ``desc`` (when bars are shown, see :func:`showing`).

    Parameters
    ----------
    iterable : iterable
        The stage's work items.
    desc : str
        What the stage does, e.g. ``"random tasks"``.
    total : int, optional
        Number of items when ``iterable`` has no length.

    Returns
    -------
    iterator over the same items.
    """
    flag = _SHOW.get()
    disable = None if flag is None else not flag
    bar = tqdm(iterable, desc=desc, total=total, disable=disable, leave=False, file=sys.stderr, dynamic_ncols=True)
    return iter(bar)
