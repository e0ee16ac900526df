"""A toy experiment run by the interruption tests in a child process: ``python slow_toy.py MARKERS -- learndyn args``.

It pauses (sleeping) at a chosen stage and touches ``MARKERS/<stage>`` when it gets there, so the parent test can
send SIGINT or SIGKILL at a known point: while computing, while saving figures, while writing data.nc, or while
writing report.html. The pause is injected by wrapping the library's own writers; nothing else is changed.
"""

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from learndyn import plots, report, results
from learndyn.cli import main
from learndyn.experiments import registry
from learndyn.experiments.config import ExperimentConfig, option


def reached(stage: str) -> None:
    markers, pause_at = Path(sys.argv[1]), sys.argv[2]
    (markers / stage).touch()
    if stage == pause_at:
        time.sleep(60)


@dataclass(frozen=True)
class Cfg(ExperimentConfig):
    seed: int = option(0, "seed", ge=0)
    value: float = option(0.5, "the number the check tests", gt=0)
    n_figures: int = option(2, "how many figures to draw", ge=1)


def run(cfg):
    reached("compute")
    out = results.Outcome()
    out.check("value_small", cfg.value, "<=", 1.0, "toy claim")
    t = np.arange(4.0)
    out.data["toy/simulation"] = xr.Dataset({"loss": (("t",), cfg.value * np.exp(-t))}, coords={"t": t})
    for k in range(cfg.n_figures):
        fig, _ = plots.figure()
        out.figure(f"fig{k}", fig, f"toy figure {k}", checks=["value_small"])
    return out


def _pausing(stage, func):
    def wrapped(*a, **k):
        reached(stage)
        return func(*a, **k)

    return wrapped


if __name__ == "__main__":
    results._write_netcdf = _pausing("netcdf", results._write_netcdf)
    report.report_html = _pausing("report", report.report_html)
    registry._REGISTRY["toy"] = registry.Experiment("toy", Cfg, run, {}, "toy experiment")
    main(sys.argv[4:])  # the learndyn arguments, after "--"
