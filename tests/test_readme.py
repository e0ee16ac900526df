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
    errors = eval(out.getvalue().strip().splitlines()[-1])  # the printed {variable: max |GD - exact|}
    assert errors["w2w1"] < 0.5 * 0.01 and errors["loss"] < 0.01
