"""Every named reproduction runs in quick mode, every one of its quantitative checks passes, and its run folder
keeps the contract (unique times, described variables, a report with every captioned figure).

The checks compare simulation with independently computed theory (or RK4) and the papers' claims, so this is an
end-to-end test of the library, not a smoke test: a wrong solver, simulator or observable fails a check here.
"""

import json
import re

import numpy as np
import pytest
import xarray as xr

from learndyn.experiments import registry
from learndyn.observables import VARIABLES

NAMES = sorted(registry.registry())


def test_all_six_experiments_are_registered():
    assert set(NAMES) >= {"exact-linear", "linear-accuracy", "hierarchy", "continual", "reversal", "lambda-sweep"}


@pytest.mark.parametrize("name", NAMES)
def test_quick_run_passes_every_check(name, tmp_path):
    path, outcome = registry.run(name, out=tmp_path, quick=True)
    assert outcome.checks, f"{name} records no checks"
    failed = {c.name: (c.value, c.op, c.threshold) for c in outcome.failed}
    assert not failed, f"{name}: failed checks {failed}"
    summary = json.loads((path / "summary.json").read_text())
    assert all(c["passed"] for c in summary["checks"].values())

    tree = xr.open_datatree(path / "data.nc")
    assert tree.attrs["experiment"] == name and json.loads(tree.attrs["config"])["quick"] is True
    for node in tree.subtree:
        ds = node.to_dataset()
        if "t" in ds.coords and ds["t"].ndim == 1:
            assert (np.diff(ds["t"].values) > 0).all(), f"{name}/{node.path}: t not unique and increasing"
        for var in ds.data_vars:
            if var in VARIABLES:
                assert ds[var].attrs.get("units"), f"{name}/{node.path}: {var} has no units"

    pngs = sorted(p.stem for p in (path / "figures").glob("*.png"))
    assert pngs and pngs == sorted(outcome.figures)
    page = (path / "report.html").read_text()
    assert len(re.findall(r"src='data:image/png;base64,", page)) == len(pngs)
    for stem, record in outcome.figures.items():
        assert len(record.caption) > 40, f"{name}/{stem}: caption too thin to say what the figure shows"
