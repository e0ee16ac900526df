"""Run folders: the contract every experiment keeps (DESIGN.md, "Run folders").

``write_run`` turns an experiment's :class:`Outcome` into ``DIR/NAME/`` with

- ``summary.json``: ``{"experiment", "version", "config", "seconds", "checks": {CHECK: {...}}}`` where each
  check holds ``value``, ``threshold``, ``op`` and ``passed``;
- ``data.nc``: every trajectory of the run in one netCDF file, one group per trajectory (read it back with
  ``xarray.open_datatree`` or ``xarray.open_dataset(path, group=NAME)``);
- ``figures/*.png`` and ``report.html`` showing the figures beside the check table.
"""

from __future__ import annotations

import html
import json
import math
import operator
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


@dataclass
class Outcome:
    """What an experiment returns: trajectories, checks and figures (matplotlib Figures by file stem)."""

    data: dict[str, xr.Dataset] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    figures: dict = field(default_factory=dict)

    def check(self, name: str, value: float, op: str, threshold: float, description: str = "") -> Check:
        """Record a check and return it."""
        c = Check(name, value, op, threshold, description)
        if any(existing.name == name for existing in self.checks):
            raise ValueError(f"check {name!r} recorded twice")
        self.checks.append(c)
        return c

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


def write_run(out_dir, name: str, outcome: Outcome, *, config: dict, seconds: float, version: str) -> Path:
    """Write the run folder ``out_dir/name`` and return its path.

    Parameters
    ----------
    out_dir : path-like
        Parent directory (created if needed).
    name : str
        Experiment name; the folder's name.
    outcome : Outcome
        Trajectories, checks and figures.
    config : dict
        The configuration the run used (stored verbatim in summary.json).
    seconds : float
        Wall-clock duration of the run.
    version : str
        learndyn version.
    """
    import matplotlib.pyplot as plt

    run = Path(out_dir) / name
    figdir = run / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    summary = {
        "experiment": name,
        "version": version,
        "config": _jsonable(config),
        "seconds": round(float(seconds), 3),
        "checks": {c.name: c.as_dict() for c in outcome.checks},
    }
    (run / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if outcome.data:
        tree = xr.DataTree.from_dict({f"/{k}": _netcdf_ready(v) for k, v in outcome.data.items()})
        tree.to_netcdf(run / "data.nc", engine="netcdf4")
    names = []
    for stem, fig in outcome.figures.items():
        fig.savefig(figdir / f"{stem}.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        names.append(stem)
    (run / "report.html").write_text(_report_html(summary, names))
    return run


def _netcdf_ready(ds: xr.Dataset) -> xr.Dataset:
    """netCDF attributes must be str/number/arrays: serialise anything else as JSON text."""
    ds = ds.copy()
    ok = (str, int, float, np.ndarray, np.number)
    ds.attrs = {
        k: (v if isinstance(v, ok) and not isinstance(v, bool | np.bool_) else json.dumps(_jsonable(v)))
        for k, v in ds.attrs.items()
    }
    return ds


def _report_html(summary: dict, figures: list[str]) -> str:
    rows = []
    for cname, c in summary["checks"].items():
        mark = "pass" if c["passed"] else "FAIL"
        value = c["value"] if isinstance(c["value"], str) else f"{c['value']:.4g}"
        rows.append(
            f"<tr class='{mark.lower()}'><td>{html.escape(cname)}</td><td>{value}</td>"
            f"<td>{html.escape(c['op'])} {c['threshold']:.4g}</td><td>{mark}</td>"
            f"<td>{html.escape(c.get('description', ''))}</td></tr>"
        )
    figs = "\n".join(
        f"<figure><img src='figures/{html.escape(n)}.png' alt='{html.escape(n)}'>"
        f"<figcaption>{html.escape(n)}</figcaption></figure>"
        for n in figures
    )
    n_fail = sum(not c["passed"] for c in summary["checks"].values())
    status = "all checks passed" if n_fail == 0 else f"{n_fail} check(s) FAILED"
    config = html.escape(json.dumps(summary["config"], indent=1))
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>learndyn: {html.escape(summary["experiment"])}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1200px; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; }}
tr.fail td {{ background: #fdd; }} tr.pass td:nth-child(4) {{ color: #070; }}
figure {{ display: inline-block; margin: 1em; }} img {{ max-width: 560px; }}
</style></head><body>
<h1>{html.escape(summary["experiment"])}</h1>
<p>learndyn {html.escape(summary["version"])} &middot; {summary["seconds"]} s &middot; <b>{status}</b></p>
<h2>Checks</h2>
<table><tr><th>check</th><th>value</th><th>claim</th><th>result</th><th>what it tests</th></tr>
{"".join(rows)}
</table>
<h2>Figures</h2>
{figs}
<h2>Configuration</h2><pre>{config}</pre>
</body></html>
"""
