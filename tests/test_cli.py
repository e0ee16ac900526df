"""The command line and the run-folder contract: what a run writes, what it refuses, and how it explains itself."""

import base64
import dataclasses
import json
import os
import re
from dataclasses import dataclass

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from learndyn import plots
from learndyn.cli import main
from learndyn.experiments import registry
from learndyn.experiments.config import ExperimentConfig, option
from learndyn.results import Check, Outcome

EXPECTED = {
    "exact-linear",
    "linear-accuracy",
    "hierarchy",
    "continual",
    "reversal",
    "lambda-sweep",
    "fa-conservation",
    "coord-check",
    "digits-rules",
    "routing",
    "routing-init-scale",
    "race",
    "gated-digits",
    "odd-target",
    "symmetry",
    "ip-stationary",
    "low-dim-target",
}


@dataclass(frozen=True)
class _Cfg(ExperimentConfig):
    seed: int = option(0, "seed", ge=0)
    value: float = option(1.0, "the number the check tests", gt=0)
    flag: bool = option(False, "draw the extra figure")
    sizes: tuple[int, ...] = option((1, 2), "layer sizes", ge=1)


@pytest.fixture
def toy(monkeypatch):
    """A registered toy experiment whose one check passes iff value <= 1; ``flag`` adds a second figure."""

    def run(cfg):
        out = Outcome()
        out.check("value_small", cfg.value, "<=", 1.0, "toy claim")
        t = np.array([0.0, 0.5, 1.0])
        out.data["toy/simulation"] = xr.Dataset({"loss": (("t",), cfg.value * np.exp(-t))}, coords={"t": t})
        fig, _ = plots.figure()
        out.figure("toy", fig, "the toy loss", checks=["value_small"])
        if cfg.flag:
            fig, _ = plots.figure()
            out.figure("extra", fig, "an extra figure")
        return out

    exp = registry.Experiment("toy", _Cfg, run, {"value": 0.5}, "toy experiment")
    monkeypatch.setitem(registry._REGISTRY, "toy", exp)
    return exp


def _one_line_error(res, *fragments):
    """Exit status 2, exactly one line on stderr, no traceback, and every fragment in it."""
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.output
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])
    return lines[0]


def test_list_names_every_experiment():
    res = CliRunner().invoke(main, ["list"])
    assert res.exit_code == 0
    assert EXPECTED <= {line.split()[0] for line in res.output.splitlines()}


def test_run_writes_the_run_folder_contract(toy, tmp_path):
    res = CliRunner().invoke(
        main, ["run", "toy", "--quick", "--out", str(tmp_path), "--seed", "4", "--set", "sizes=[3, 4]"]
    )
    assert res.exit_code == 0, res.output
    run = tmp_path / "toy"
    summary = json.loads((run / "summary.json").read_text())
    assert {"experiment", "version", "config", "seconds", "checks", "started", "command", "git_commit"} <= set(summary)
    assert {"python", "jax", "numpy"} <= set(summary)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", summary["started"])
    assert "--set" in summary["command"] and "sizes=[3, 4]" in summary["command"]
    assert summary["config"]["seed"] == 4 and summary["config"]["value"] == 0.5
    assert summary["config"]["sizes"] == [3, 4] and summary["config"]["quick"] is True
    assert summary["checks"]["value_small"] == {
        "value": 0.5,
        "threshold": 1.0,
        "op": "<=",
        "passed": True,
        "description": "toy claim",
    }
    assert (run / "figures" / "toy.png").stat().st_size > 1000
    assert sorted(p.name for p in run.iterdir()) == ["data.nc", "figures", "report.html", "summary.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folders left behind"


def test_data_nc_round_trips_with_unique_t_metadata_and_compression(toy, tmp_path):
    assert CliRunner().invoke(main, ["run", "toy", "--out", str(tmp_path)]).exit_code == 0
    tree = xr.open_datatree(tmp_path / "toy" / "data.nc")
    assert tree.attrs["experiment"] == "toy"
    assert json.loads(tree.attrs["config"])["value"] == 1.0
    assert json.loads(tree.attrs["checks"])["value_small"]["passed"] is True
    assert "t = lr * step" in tree.attrs["time_convention"]
    ds = tree["toy/simulation"].to_dataset()
    np.testing.assert_allclose(ds["loss"].values, np.exp(-np.array([0.0, 0.5, 1.0])), rtol=1e-15)
    assert ds["loss"].attrs["units"] and "loss" in ds["loss"].attrs["long_name"]
    assert "gradient-flow time" in ds["t"].attrs["long_name"]
    assert ds["loss"].encoding.get("zlib") is True
    assert ds.sel(t=0.5)["loss"].size == 1
    np.testing.assert_allclose(float(ds.interp(t=0.25)["loss"]), (1 + np.exp(-0.5)) / 2, rtol=1e-12)


def test_report_stands_alone_with_captioned_figures(toy, tmp_path):
    assert CliRunner().invoke(main, ["run", "toy", "--out", str(tmp_path), "--set", "flag=yes"]).exit_code == 0
    page = (tmp_path / "toy" / "report.html").read_text()
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) == len(list((tmp_path / "toy" / "figures").glob("*.png"))) == 2
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
    assert "the toy loss" in page and "an extra figure" in page
    assert "href='#check-value_small'" in page and "id='check-value_small'" in page
    assert "src='figures/" not in page  # nothing outside the page is needed


def test_rerun_refuses_and_keeps_the_old_run_then_overwrite_replaces_it_whole(toy, tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["run", "toy", "--out", str(tmp_path), "--set", "flag=true"]).exit_code == 0
    before = (tmp_path / "toy" / "summary.json").read_text()
    res = runner.invoke(main, ["run", "toy", "--out", str(tmp_path), "--set", "value=0.25"])
    _one_line_error(res, "already exists", "--overwrite")
    assert (tmp_path / "toy" / "summary.json").read_text() == before
    assert (tmp_path / "toy" / "figures" / "extra.png").exists()
    res = runner.invoke(main, ["run", "toy", "--out", str(tmp_path), "--set", "value=0.25", "--overwrite"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "toy" / "summary.json").read_text())["config"]["value"] == 0.25
    assert not (tmp_path / "toy" / "figures" / "extra.png").exists(), "a figure of the old run was left behind"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_folder_that_is_not_a_run_is_never_replaced(toy, tmp_path):
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "thesis.tex").write_text("precious")
    res = CliRunner().invoke(main, ["run", "toy", "--out", str(tmp_path), "--overwrite"])
    _one_line_error(res, "not a learndyn run folder")
    assert (tmp_path / "toy" / "thesis.tex").read_text() == "precious"


def test_failed_check_exits_1_and_names_it(toy, tmp_path):
    res = CliRunner().invoke(main, ["run", "toy", "--out", str(tmp_path), "--set", "value=3"])
    assert res.exit_code == 1
    assert "FAILED value_small" in res.stderr
    assert json.loads((tmp_path / "toy" / "summary.json").read_text())["checks"]["value_small"]["passed"] is False


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--set", "value=-0.05"], ["value must be > 0", "-0.05"]),
        (["--set", "value=nan"], ["value must be a finite number", "nan"]),
        (["--set", "sizes=3,0"], ["sizes[1] must be >= 1", "got 0"]),
        (["--set", "sizes=[]"], ["sizes", "non-empty list"]),
        (["--seed", "-1"], ["seed must be >= 0", "-1"]),
        (["--set", "bogus=1"], ["unknown --set key 'bogus'", "flag, seed, sizes, value", "learndyn config toy"]),
        (["--set", "value=abc"], ["--set value='abc': expected a number"]),
        (["--set", "sizes=1.5"], ["--set sizes='1.5': expected an integer"]),
        (["--set", "flag=maybe"], ["expected true or false"]),
        (["--set", "novalue"], ["key=value"]),
    ],
)
def test_bad_values_give_one_line_and_exit_2(toy, tmp_path, args, fragments):
    res = CliRunner().invoke(main, ["run", "toy", "--out", str(tmp_path), *args])
    _one_line_error(res, *fragments)
    assert not (tmp_path / "toy").exists()


def test_unknown_experiment_lists_the_valid_names(tmp_path):
    res = CliRunner().invoke(main, ["run", "nope", "--out", str(tmp_path)])
    _one_line_error(res, "unknown experiment 'nope'; valid names:", "exact-linear")


def test_output_location_is_checked_before_computing(toy, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setitem(registry._REGISTRY, "toy", dataclasses.replace(toy, func=lambda cfg: calls.append(cfg)))
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    res = CliRunner().invoke(main, ["run", "toy", "--out", str(blocker / "child")])
    _one_line_error(res, "is a file, not a folder")
    if os.geteuid() == 0:
        readonly = "/sys/learndyn-test-out"  # root may write any mode-0555 folder; sysfs refuses even root
    else:
        readonly = tmp_path / "ro"
        readonly.mkdir()
        readonly.chmod(0o555)
    res = CliRunner().invoke(main, ["run", "toy", "--out", str(readonly)])
    _one_line_error(res, "cannot be written")
    assert calls == [], "the experiment ran although its output could not be written"


def test_list_syntax_variants_parse_alike(toy):
    for raw in ("3,4", "[3, 4]", "(3,4)", " [3,4] "):
        cfg = registry.make_config(toy, overrides={"sizes": raw})
        assert cfg.sizes == (3, 4)
    assert registry.make_config(toy, overrides={"sizes": "7"}).sizes == (7,)


def test_config_command_describes_every_key(toy):
    res = CliRunner().invoke(main, ["config", "toy"])
    assert res.exit_code == 0, res.output
    lines = {line.split()[0]: line for line in res.output.splitlines() if line.strip()}
    assert "the number the check tests" in lines["value"] and "> 0" in lines["value"]
    assert "0.5" in lines["value"]  # the quick value
    assert "list of int" in lines["sizes"] and "each >= 1" in lines["sizes"]
    assert "sizes=[0.1, 0.2]" in res.output
    _one_line_error(CliRunner().invoke(main, ["config", "nope"]), "unknown experiment 'nope'")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_experiment_config_key_is_described(name):
    exp = registry.get(name)
    res = CliRunner().invoke(main, ["config", name])
    assert res.exit_code == 0, res.output
    from learndyn.experiments.config import describe

    for row in describe(exp.config_cls, exp.quick):
        assert row["meaning"], f"{name}: config key {row['key']!r} has no meaning"
        if row["type"] in ("int", "float", "list of int", "list of float") and row["key"] not in ("lams",):
            assert row["accepted"] != "any", f"{name}: numeric config key {row['key']!r} states no range"


@pytest.mark.parametrize(
    ("name", "args", "fragment"),
    [
        ("exact-linear", ["--set", "lr=-0.05"], "lr must be > 0"),
        ("exact-linear", ["--set", "lr=nan"], "lr must be a finite number"),
        ("exact-linear", ["--set", "steps=0"], "steps must be >= 1"),
        ("exact-linear", ["--set", "n_records=0"], "n_records must be >= 1"),
        ("exact-linear", ["--set", "n_h=0"], "n_h must be >= 1"),
        ("exact-linear", ["--seed", "-1"], "seed must be >= 0"),
        ("lambda-sweep", ["--set", "n_h=4"], "n_h"),
    ],
)
def test_bad_values_of_real_experiments_are_refused_before_computing(name, args, fragment, tmp_path):
    res = CliRunner().invoke(main, ["run", name, "--quick", "--out", str(tmp_path), *args])
    _one_line_error(res, fragment)
    for internal in ("t_min", " n=", "n_h1"):
        assert internal not in res.stderr
    assert not list(tmp_path.iterdir())


def test_diverging_run_stops_with_one_line(tmp_path):
    res = CliRunner().invoke(main, ["run", "exact-linear", "--quick", "--out", str(tmp_path), "--set", "lr=5"])
    _one_line_error(res, "exact-linear", "diverged", "try lr <=")
    assert not (tmp_path / "exact-linear").exists()


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
    with pytest.raises(ValueError, match="needs a caption"):
        out.figure("f", None, "  ")
