"""A run folder appears whole or not at all: runs interrupted (SIGINT, SIGTERM, SIGKILL) at each stage.

The child process runs a toy experiment (``slow_toy.py``) that pauses at a chosen stage; the test waits for the
stage's marker file, sends the signal and then inspects the output folder.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TOY = Path(__file__).with_name("slow_toy.py")
STAGES = ("compute", "netcdf", "report")


def _start(tmp_path, stage, *args):
    markers = tmp_path / "markers"
    markers.mkdir(exist_ok=True)
    for m in markers.iterdir():
        m.unlink()
    cmd = [sys.executable, str(TOY), str(markers), stage, "--", "run", "toy", "--out", str(tmp_path / "runs"), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (markers / stage).exists():
        if proc.poll() is not None:
            raise AssertionError(f"child ended before {stage}: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"child never reached {stage}")
        time.sleep(0.05)
    return proc


def _finish(tmp_path, *args):
    (tmp_path / "markers").mkdir(exist_ok=True)
    cmd = [sys.executable, str(TOY), str(tmp_path / "markers"), "never", "--", "run", "toy"]
    return subprocess.run([*cmd, "--out", str(tmp_path / "runs"), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("stage", "sig"), [(s, signal.SIGINT) for s in STAGES] + [("netcdf", signal.SIGTERM)]
)
def test_interrupt_leaves_nothing_under_the_target(tmp_path, stage, sig):
    proc = _start(tmp_path, stage)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    runs = tmp_path / "runs"
    assert sorted(p.name for p in runs.iterdir()) == [], "an interrupted run left files behind"


@pytest.mark.parametrize("stage", STAGES)
def test_sigkill_leaves_no_target_and_the_next_run_cleans_up(tmp_path, stage):
    proc = _start(tmp_path, stage)
    proc.kill()
    proc.wait(timeout=60)
    runs = tmp_path / "runs"
    assert not (runs / "toy").exists()
    res = _finish(tmp_path)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in runs.iterdir()) == ["toy"], "stale temporary folder not removed"
    assert json.loads((runs / "toy" / "summary.json").read_text())["checks"]["value_small"]["passed"]


@pytest.mark.parametrize(("stage", "kill"), [(s, True) for s in STAGES] + [("report", False)])
def test_interrupted_overwrite_keeps_the_old_run_intact(tmp_path, stage, kill):
    assert _finish(tmp_path, "--set", "n_figures=3").returncode == 0
    old = tmp_path / "runs" / "toy"
    before = {p.relative_to(old): p.read_bytes() for p in old.rglob("*") if p.is_file()}
    proc = _start(tmp_path, stage, "--overwrite", "--set", "value=0.25", "--set", "n_figures=1")
    proc.kill() if kill else proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    after = {p.relative_to(old): p.read_bytes() for p in old.rglob("*") if p.is_file()}
    assert after == before, "the old run changed although the new one did not finish"


def test_rerun_without_overwrite_refuses_before_computing(tmp_path):
    assert _finish(tmp_path).returncode == 0
    res = _finish(tmp_path, "--set", "value=0.25")
    assert res.returncode == 2 and "already exists" in res.stderr
    assert not (tmp_path / "markers" / "compute").exists() or os.path.getmtime(
        tmp_path / "markers" / "compute"
    ) < os.path.getmtime(tmp_path / "runs" / "toy" / "summary.json")
