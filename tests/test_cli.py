"""The command line and run folders (DESIGN.md "Run folders")."""

import json
from dataclasses import dataclass

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from learndyn import plots
from learndyn.cli import main
from learndyn.experiments import registry
from learndyn.results import Check, Outcome

EXPECTED = {"exact-linear", "linear-accuracy", "hierarchy", "continual", "reversal", "lambda-sweep"}


@dataclass(frozen=True)
class _Cfg:
    seed: int = 0
    value: float = 1.0
    flag: bool = False
    sizes: tuple[int, ...] = (1, 2)


@pytest.fixture
def toy(monkeypatch):
    """A registered toy experiment whose one check passes iff value <= 1."""

    def run(cfg):
        out = Outcome()
        out.check("value_small", cfg.value, "<=", 1.0, "toy claim")
        out.data["toy/simulation"] = xr.Dataset({"loss": (("t",), np.arange(3.0))}, coords={"t": np.arange(3.0)})
        fig, _ = plots.figure()
        out.figures["toy"] = fig
        return out

    exp = registry.Experiment("toy", _Cfg, run, {"value": 0.5}, "toy")
    monkeypatch.setitem(registry._REGISTRY, "toy", exp)
    return exp


def test_list_names_every_experiment():
    res = CliRunner().invoke(main, ["list"])
    assert res.exit_code == 0
    assert EXPECTED <= {line.split()[0] for line in res.output.splitlines()}


def test_run_writes_the_run_folder_contract(toy, tmp_path):
    res = CliRunner().invoke(
        main, ["run", "toy", "--quick", "--out", str(tmp_path), "--seed", "4", "--set", "sizes=3,4"]
    )
    assert res.exit_code == 0, res.output
    run = tmp_path / "toy"
    summary = json.loads((run / "summary.json").read_text())
    assert set(summary) == {"experiment", "version", "config", "seconds", "checks"}
    assert summary["config"]["seed"] == 4 and summary["config"]["value"] == 0.5
    assert summary["config"]["sizes"] == [3, 4] and summary["config"]["quick"] is True
    assert summary["checks"]["value_small"] == {
        "value": 0.5,
        "threshold": 1.0,
        "op": "<=",
        "passed": True,
        "description": "toy claim",
    }
    tree = xr.open_datatree(run / "data.nc")
    np.testing.assert_array_equal(tree["toy/simulation"]["loss"].values, [0.0, 1.0, 2.0])
    assert (run / "figures" / "toy.png").stat().st_size > 1000
    assert "value_small" in (run / "report.html").read_text()


def test_failed_check_exits_nonzero_and_names_it(toy, tmp_path):
    res = CliRunner().invoke(main, ["run", "toy", "--out", str(tmp_path), "--set", "value=3"])
    assert res.exit_code == 1
    assert "FAILED value_small" in res.output  # click's runner reports stderr in output too
    assert json.loads((tmp_path / "toy" / "summary.json").read_text())["checks"]["value_small"]["passed"] is False


def test_bad_names_and_settings_are_explained(toy, tmp_path):
    r = CliRunner().invoke(main, ["run", "nope", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "unknown experiment 'nope'; valid names:" in r.output and "exact-linear" in r.output
    r = CliRunner().invoke(main, ["run", "toy", "--out", str(tmp_path), "--set", "bogus=1"])
    assert r.exit_code == 2 and "unknown --set key 'bogus'" in r.output and "flag, seed, sizes, value" in r.output
    r = CliRunner().invoke(main, ["run", "toy", "--out", str(tmp_path), "--set", "value=abc"])
    assert r.exit_code == 2 and "--set value='abc': expected a value of type float" in r.output
    r = CliRunner().invoke(main, ["run", "toy", "--out", str(tmp_path), "--set", "flag=maybe"])
    assert r.exit_code == 2 and "expected a value of type bool" in r.output
    r = CliRunner().invoke(main, ["run", "toy", "--out", str(tmp_path), "--set", "novalue"])
    assert r.exit_code == 2 and "key=value" in r.output


def test_check_semantics():
    assert Check("a", 1.0, "<=", 1.0).passed
    assert not Check("a", float("nan"), "<=", 1.0).passed
    assert Check("a", 2.0, ">=", 1.0).passed
    with pytest.raises(ValueError, match="op must be one of"):
        Check("a", 1.0, "~", 1.0)
    out = Outcome()
    out.check("x", 1.0, "<", 2.0)
    with pytest.raises(ValueError, match="recorded twice"):
        out.check("x", 1.0, "<", 2.0)
