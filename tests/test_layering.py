"""Data flows one way: theory never imports simulation code, simulation never imports theory, and observables
(shared by both, like the gated-graph structure in graphs) import neither; simulation may use observables. Checked
on the import statements of the source files, lazy imports included."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "learndyn"
SIMULATION = {
    "learndyn.nets",
    "learndyn.train",
    "learndyn.simulation",
    "learndyn._loop",
    "learndyn.integrate",
    "learndyn.rules",
    "learndyn.param",
    "learndyn.coord_check",
    "learndyn.contributions",
    "learndyn.online",
}
THEORY = {"learndyn.theory"}
UPPER = {"learndyn.experiments", "learndyn.cli", "learndyn.results", "learndyn.report", "learndyn.sweep"}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith("learndyn")}


def _hits(imports: set[str], banned: set[str]) -> set[str]:
    return {m for m in imports if any(m == b or m.startswith(b + ".") for b in banned)}


def _files(*parts):
    base = SRC.joinpath(*parts)
    return sorted(base.rglob("*.py")) if base.is_dir() else [base.with_suffix(".py")]


@pytest.mark.parametrize(
    "path",
    _files("theory")
    + _files("observables")
    + _files("rule_kernels")
    + _files("graphs")
    + _files("populations")
    + _files("neurons"),
    ids=lambda p: p.name,
)
def test_theory_and_observables_never_import_simulation(path):
    assert not _hits(_imports(path), SIMULATION | UPPER)


@pytest.mark.parametrize(
    "path",
    _files("nets")
    + _files("train")
    + _files("simulation")
    + _files("_loop")
    + _files("integrate")
    + _files("rules")
    + _files("param")
    + _files("coord_check")
    + _files("contributions")
    + _files("online"),
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_simulation_never_imports_theory(path):
    assert not _hits(_imports(path), THEORY | UPPER)  # observables are shared: simulation may use them


def test_the_checker_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from learndyn.train import forward\n")
    assert _hits(_imports(bad), SIMULATION) == {"learndyn.train", "learndyn.train.forward"}
