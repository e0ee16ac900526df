"""The README's Python example runs and shows GD within O(lr) of the exact solution."""

import contextlib
import io
import re
from pathlib import Path


def test_readme_python_example_runs():
    text = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README.md has no python example"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[0], "README.md", "exec"), {})
    table = {line.split()[0]: [float(x) for x in line.split()[1:]] for line in out.getvalue().splitlines()[1:]}
    assert set(table) == {"w2w1", "loss", "ntk"}  # rows: variable, max_abs_err, scale, rel_err
    assert all(rel < 0.01 for _, _, rel in table.values())  # GD at lr = 0.01 is within O(lr) of the exact flow


def test_readme_rules_example_trains_under_every_rule():
    text = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 2, "README.md lost its learning-rule example"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[1], "README.md", "exec"), {})
    rows = [line.split() for line in out.getvalue().splitlines()]
    assert [r[0] for r in rows] == ["gd", "fa", "dfa", "sign-fa"]
    for r in rows:
        assert float(r[4]) < 0.2 * float(r[2]), r  # every rule learns the task
    gd = rows[0]
    assert float(gd[-1]) == 1.0  # GD's pseudo-gradient is its gradient


def test_readme_theory_example_agrees_within_the_finite_width_error():
    text = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 3, "README.md lost its theory-vs-simulation example"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[2], "README.md", "exec"), {})
    rows = {line.split()[0]: [float(x) for x in line.split()[1:]] for line in out.getvalue().splitlines()[1:]}
    assert set(rows) == {"loss", "f", "entk", "phi", "gt"}
    assert all(rel < 0.2 for _, _, rel in rows.values()), rows  # N = 1000: a few 1/sqrt(N) ~ 0.03 each
