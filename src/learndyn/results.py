"""Run folders: the contract every experiment keeps.

``write_run`` turns an experiment's :class:`Outcome` into ``DIR/NAME/`` with

- ``summary.json``: experiment, version, start time, seconds, command line, git commit, Python/JAX/NumPy versions,
  the config, and ``checks: {CHECK: {value, threshold, op, passed, description}}``;
- ``data.nc``: every trajectory of the run in one compressed netCDF file, one group per trajectory (read it back
  with ``xarray.open_datatree`` or ``xarray.open_dataset(path, group=NAME)``); the root group's attributes hold the
  experiment, config, version and checks, every standard variable has a long name and units, and ``t`` is unique;
- ``figures/*.png`` and ``report.html``, which embeds the figures with their captions beside the check table and
  opens on its own (no other file needed).

A run folder is written as one unit: everything goes into a hidden temporary folder beside the target, which is
renamed into place at the end. An interrupted run leaves no folder under the target name (at most a hidden
``.NAME.tmp-*`` folder, removed by the next run), and an existing run is replaced, whole, only when asked.
"""

from __future__ import annotations

import contextlib
import json
import math
import operator
import os
import platform
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}


@dataclass(frozen=True)
class Check:
    """One quantitative claim: ``value OP threshold``, e.g. ``max_abs_err_w2w1 <= 1e-8``.

    A NaN value never passes.
    """

    name: str
    value: float
    op: str
    threshold: float
    description: str = ""

    def __post_init__(self):
        if self.op not in _OPS:
            raise ValueError(f"op must be one of {sorted(_OPS)}; got {self.op!r}")
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "threshold", float(self.threshold))

    @property
    def passed(self) -> bool:
        """Whether the claim holds."""
        return bool(not math.isnan(self.value) and _OPS[self.op](self.value, self.threshold))

    def as_dict(self) -> dict:
        """The summary.json record of this check."""
        return {
            "value": _json_float(self.value),
            "threshold": self.threshold,
            "op": self.op,
            "passed": self.passed,
            "description": self.description,
        }


@dataclass(frozen=True)
class Figure:
    """A figure of a run: the matplotlib figure, a caption saying what it shows, and the checks it supports."""

    fig: object
    caption: str
    checks: tuple[str, ...] = ()


@dataclass
class Outcome:
    """What an experiment returns: trajectories, checks and captioned figures (by file stem)."""

    data: dict[str, xr.Dataset] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    figures: dict[str, Figure] = field(default_factory=dict)

    def figure(self, stem: str, fig, caption: str, checks=()) -> Figure:
        """Record a figure under the file stem ``stem`` with its caption and the names of the checks it supports.

        The caption says what is plotted (axes, line styles, units) and what a reader should see; it appears under
        the figure in ``report.html``. Checks named here must be recorded by the end of the run.
        """
        if not caption or not caption.strip():
            raise ValueError(f"figure {stem!r} needs a caption saying what it shows")
        if stem in self.figures:
            raise ValueError(f"figure {stem!r} recorded twice")
        record = Figure(fig, caption.strip(), tuple(checks))
        self.figures[stem] = record
        return record

    def check(self, name: str, value: float, op: str, threshold: float, description: str = "") -> Check:
        """Record a check and return it."""
        c = Check(name, value, op, threshold, description)
        if any(existing.name == name for existing in self.checks):
            raise ValueError(f"check {name!r} recorded twice")
        self.checks.append(c)
        return c

    def check_gd_error(self, name: str, sim: xr.Dataset, theory: xr.Dataset, lr: float, what: str) -> Check:
        """Record that GD with learning rate ``lr`` stays within ``lr / 2`` of the gradient-flow theory on ``w2w1``.

        Full-batch GD is the Euler discretisation of gradient flow, so its trajectory differs from the flow by
        O(lr); for whitened tasks with top singular value below 1 the constant is below 1/2. ``what`` says which
        phase of the run is compared; the value is the largest entry difference of the network map over the
        shared time grid.
        """
        from learndyn.observables import max_abs_diff

        err = max_abs_diff(sim, theory, ["w2w1"])["w2w1"]
        return self.check(name, err, "<=", 0.5 * lr, f"GD (lr = {lr:g}) against the exact flow, {what}: O(lr) error")

    @property
    def failed(self) -> list[Check]:
        """The checks that did not pass."""
        return [c for c in self.checks if not c.passed]


def _json_float(x: float):
    return x if math.isfinite(x) else str(x)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float):
        return _json_float(value)
    return value


class RunExistsError(FileExistsError):
    """The target run folder exists and replacing it was not asked for."""


_TEMP = re.compile(r"^\.(?P<name>.+)\.(tmp|old|probe)-(?P<pid>\d+)-")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(parent: Path, name: str) -> None:
    """Remove hidden temporary folders of ``name`` left by runs whose process is gone (e.g. killed)."""
    for entry in parent.glob(f".{name}.*-*-*"):
        m = _TEMP.match(entry.name)
        if m and m["name"] == name and not _pid_alive(int(m["pid"])):
            shutil.rmtree(entry, ignore_errors=True)


def prepare_run_dir(out_dir, name: str, *, overwrite: bool = False) -> Path:
    """Check, before any computation, that the run folder ``out_dir/name`` can be written; return its path.

    Creates ``out_dir`` if needed and proves it writable by making (and removing) a temporary folder in it.

    Parameters
    ----------
    out_dir : path-like
        Parent folder of the run folders (``learndyn run --out``).
    name : str
        Experiment name, the run folder's name.
    overwrite : bool
        Accept an existing run folder (it is replaced whole when the new run is written).

    Raises
    ------
    ValueError
        When ``out_dir`` or one of its parents is a file, or ``out_dir`` cannot be created or written.
    RunExistsError
        When ``out_dir/name`` exists and ``overwrite`` is false, or it exists but is not a learndyn run folder
        (no ``summary.json``), which is never replaced.

    Examples
    --------
    >>> import tempfile
    >>> prepare_run_dir(tempfile.mkdtemp(), "exact-linear").name
    'exact-linear'
    """
    parent = Path(out_dir)
    for anc in [parent, *parent.parents]:
        if anc.exists() and not anc.is_dir():
            raise ValueError(
                f"output folder {str(parent)!r}: {str(anc)!r} is a file, not a folder; choose another --out"
            )
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(prefix=f".{name}.probe-{os.getpid()}-", dir=parent)
        os.rmdir(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"output folder {str(parent)!r} cannot be written ({reason}); choose another --out") from None
    _remove_stale(parent, name)
    target = parent / name
    if target.exists() or target.is_symlink():
        if not target.is_dir() or not (target / "summary.json").is_file() and any(target.iterdir()):
            raise RunExistsError(
                f"{str(target)!r} exists and is not a learndyn run folder (no summary.json); it is never replaced. "
                "Move it away or choose another --out"
            )
        if not overwrite:
            raise RunExistsError(
                f"run folder {str(target)!r} already exists; pass --overwrite to replace it or choose another --out"
            )
    return target


def _git_commit() -> str | None:
    """The commit of the source checkout learndyn is imported from (``+dirty`` with local changes), else None."""
    src = Path(__file__).resolve().parent

    def git(*args) -> str:
        cmd = ["git", "-C", str(src), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=True).stdout

    try:
        top, head = git("rev-parse", "--show-toplevel", "HEAD").split()
        if (Path(top) / "src" / "learndyn").resolve() != src:
            return None  # installed copy inside some other repository: that commit says nothing about learndyn
        dirty = git("status", "--porcelain", "--untracked-files=no").strip()
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head


def provenance() -> dict:
    """Versions and source of this process: learndyn version, git commit (where available), Python, JAX, NumPy.

    Examples
    --------
    >>> sorted(provenance())
    ['git_commit', 'jax', 'numpy', 'platform', 'python', 'version', 'xarray']
    """
    import jax

    from learndyn import __version__

    return {
        "version": __version__,
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "numpy": np.__version__,
        "xarray": xr.__version__,
        "platform": platform.platform(),
    }


def _check_trajectory(key: str, ds: xr.Dataset) -> None:
    """Refuse a trajectory whose time coordinate is not strictly increasing (sel/interp need unique t)."""
    if "t" in ds.coords and ds["t"].ndim == 1 and ds.sizes["t"] > 1:
        dt = np.diff(np.asarray(ds["t"].values, dtype=np.float64))
        if not (dt > 0).all():
            k = int(np.argmax(~(dt > 0)))
            raise ValueError(
                f"trajectory {key!r}: t must be strictly increasing (unique recorded times); t[{k}] = "
                f"{ds['t'].values[k]!r} is followed by {ds['t'].values[k + 1]!r}"
            )


def _write_netcdf(path: Path, data: dict[str, xr.Dataset], root_attrs: dict) -> None:
    from learndyn.observables import describe_variables

    groups = {}
    encoding = {}
    for key, ds in data.items():
        _check_trajectory(key, ds)
        ds = describe_variables(_netcdf_ready(ds))
        groups[f"/{key}"] = ds
        encoding[f"/{key}"] = {
            v: {"zlib": True, "complevel": 4, "shuffle": True}
            for v in ds.data_vars
            if np.issubdtype(ds[v].dtype, np.number)
        }
    tree = xr.DataTree.from_dict(groups)
    tree.attrs = _netcdf_attrs(root_attrs)
    tree.to_netcdf(path, engine="netcdf4", encoding=encoding)


def _netcdf_attrs(attrs: dict) -> dict:
    """netCDF attributes must be str/number/arrays: serialise anything else (and None, bool) as JSON text."""
    ok = (str, int, float, np.ndarray, np.number)
    return {
        k: (v if isinstance(v, ok) and not isinstance(v, bool | np.bool_) else json.dumps(_jsonable(v)))
        for k, v in attrs.items()
    }


def _netcdf_ready(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.copy()
    ds.attrs = _netcdf_attrs(ds.attrs)
    return ds


@contextlib.contextmanager
def _signals_held():
    """Hold SIGINT/SIGTERM for the two renames that swap a run folder into place (delivered right after)."""
    held = {signal.SIGINT, signal.SIGTERM}
    can = hasattr(signal, "pthread_sigmask")
    if can:
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        if can:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def _swap_into_place(tmp: Path, target: Path, overwrite: bool) -> None:
    old = None
    with _signals_held():
        if target.exists():
            if not overwrite:
                raise RunExistsError(f"run folder {str(target)!r} appeared while this run was computing; not replaced")
            old = target.with_name(f".{target.name}.old-{os.getpid()}-{os.urandom(4).hex()}")
            os.rename(target, old)
        try:
            os.rename(tmp, target)
        except OSError:
            if old is not None:
                os.rename(old, target)
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_run(
    out_dir,
    name: str,
    outcome: Outcome,
    *,
    config: dict,
    seconds: float,
    started: str | None = None,
    command: str | None = None,
    description: str = "",
    overwrite: bool = False,
) -> Path:
    """Write the run folder ``out_dir/name`` as one unit and return its path.

    Everything is written into a hidden temporary folder beside the target and renamed into place at the end, so
    the target name only ever holds a complete run. An interruption (Ctrl-C, SIGTERM, an error) removes the
    temporary folder; a killed process leaves it behind, hidden, for the next run to remove.

    Parameters
    ----------
    out_dir : path-like
        Parent folder (created if needed).
    name : str
        Experiment name; the folder's name.
    outcome : Outcome
        Trajectories, checks and captioned figures.
    config : dict
        The configuration the run used (stored verbatim in summary.json and data.nc).
    seconds : float
        Wall-clock duration of the computation.
    started : str, optional
        ISO 8601 start time of the run.
    command : str, optional
        The command line that started the run.
    description : str
        One line on what the experiment reproduces (shown in the report).
    overwrite : bool
        Replace an existing run folder of the same name, whole (otherwise :class:`RunExistsError`).

    Returns
    -------
    pathlib.Path of the run folder.
    """
    import matplotlib.pyplot as plt

    from learndyn.report import report_html

    target = prepare_run_dir(out_dir, name, overwrite=overwrite)
    known = {c.name for c in outcome.checks}
    for stem, record in outcome.figures.items():
        if not isinstance(record, Figure):
            raise TypeError(f"figure {stem!r} must be recorded with Outcome.figure(stem, fig, caption, checks)")
        unknown = [c for c in record.checks if c not in known]
        if unknown:
            raise ValueError(f"figure {stem!r} cites checks {unknown} that the run did not record")
    summary = {
        "experiment": name,
        "description": description,
        **provenance(),
        "started": started,
        "seconds": round(float(seconds), 3),
        "command": command,
        "config": _jsonable(config),
        "checks": {c.name: c.as_dict() for c in outcome.checks},
    }
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-{os.getpid()}-", dir=target.parent))
    try:
        figdir = tmp / "figures"
        figdir.mkdir()
        pngs = {}
        for stem, record in outcome.figures.items():
            record.fig.savefig(figdir / f"{stem}.png", dpi=110, bbox_inches="tight")
            plt.close(record.fig)
            pngs[stem] = (figdir / f"{stem}.png").read_bytes()
        if outcome.data:
            root = {k: summary[k] for k in ("experiment", "version", "git_commit", "started", "command")}
            root |= {
                "config": summary["config"],
                "checks": summary["checks"],
                "all_checks_passed": int(not outcome.failed),
                "time_convention": "t is gradient-flow time: full-batch GD with learning rate lr records t = lr * "
                "step; loss L = 1/(2P) sum_mu ||y_mu - f_mu||^2",
            }
            _write_netcdf(tmp / "data.nc", outcome.data, root)
        captions = {stem: (r.caption, r.checks) for stem, r in outcome.figures.items()}
        (tmp / "report.html").write_text(report_html(summary, pngs, captions), encoding="utf-8")
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        _swap_into_place(tmp, target, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
