"""The README's Python examples run and show what the README says they show."""

import contextlib
import io
import re
from pathlib import Path


def _run_example(k: int, what: str) -> str:
    """Run the README's ``k``-th python block and return what it printed."""
    text = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) > k, f"README.md lost its {what} example"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[k], "README.md", "exec"), {})
    return out.getvalue()


def _table(printed: str) -> dict:
    """Rows of a printed ``compare`` table: variable -> [max_abs_err, scale, rel_err]."""
    return {line.split()[0]: [float(x) for x in line.split()[1:]] for line in printed.splitlines()[1:]}


def test_readme_python_example_runs():
    table = _table(_run_example(0, "exact-solution"))
    assert set(table) == {"w2w1", "loss", "ntk"}
    assert all(rel < 0.01 for _, _, rel in table.values())  # GD at lr = 0.01 is within O(lr) of the exact flow


def test_readme_rules_example_trains_under_every_rule():
    rows = [line.split() for line in _run_example(1, "learning-rule").splitlines()]
    assert [r[0] for r in rows] == ["gd", "fa", "dfa", "sign-fa"]
    for r in rows:
        assert float(r[4]) < 0.2 * float(r[2]), r  # every rule learns the task
    gd = rows[0]
    assert float(gd[-1]) == 1.0  # GD's pseudo-gradient is its gradient


def test_readme_theory_example_agrees_within_the_finite_width_error():
    rows = _table(_run_example(2, "theory-vs-simulation"))
    assert set(rows) == {"loss", "f", "entk", "phi", "gt"}
    assert all(rel < 0.2 for _, _, rel in rows.values()), rows  # N = 1000: a few 1/sqrt(N) ~ 0.03 each


def test_readme_monte_carlo_dmft_example_trains_and_states_its_error():
    first, second = _run_example(3, "Monte-Carlo DMFT").splitlines()
    start, end, err = (float(x) for x in re.fullmatch(r"loss (\S+) -> (\S+), Monte-Carlo error (\S+)", first).groups())
    assert end < 0.2 * start and 0 < err < 0.01 * start  # DFA learns; the S/2 check bounds the sampling error
    corr = [float(c) for c in second.strip("[]").split()]
    assert len(corr) == 2 and all(0.0 < c < 1.0 for c in corr)  # DFA's backward signals align, not perfectly


def test_readme_gated_example_matches_the_reduction_and_generalises():
    lines = _run_example(4, "gated network").splitlines()
    rows = _table("\n".join(lines[:-1]))
    assert set(rows) == {"loss", "f", "test_loss", "sv"}
    assert all(err <= 1e-10 for err, _, _ in rows.values()), rows  # the reduction's map is GD (A1, A2 hold)
    start, end = (
        float(x) for x in re.fullmatch(r"untrained pair \(0, 1\): test loss (\S+) -> (\S+)", lines[-1]).groups()
    )
    assert end < 1e-3 * start  # the untrained pair is solved through the shared hidden node
