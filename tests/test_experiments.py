"""Every named reproduction runs in quick mode and every one of its quantitative checks passes.

The checks compare simulation with independently computed theory (or RK4) and the spec's claims, so this is an
end-to-end test of the library, not a smoke test: a wrong solver, simulator or observable fails a check here.
"""

import json

import pytest

from learndyn.experiments import registry

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
    assert (path / "data.nc").exists() and (path / "report.html").exists()
    assert list((path / "figures").glob("*.png"))
