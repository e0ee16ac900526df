"""The ``learndyn`` command: list, describe and run the named experiments.

    learndyn list
    learndyn config NAME
    learndyn run NAME|all [--quick] [--out DIR] [--seed N] [--set key=value ...] [--overwrite] [--quiet]

``run`` checks every config value and the output folder before computing anything, writes ``DIR/NAME/``
(summary.json, data.nc, figures/, report.html) as one unit, and exits with

- 0 when every check passed,
- 1 when a check failed (each failed check is named),
- 2 for bad input (one line saying which value and what is accepted) or a diverging simulation,
- 130 when interrupted (no run folder is left under the target name).
"""

from __future__ import annotations

import dataclasses
import shlex
import signal
import sys

import click


class InputError(click.ClickException):
    """Bad input: printed as one line ``learndyn: error: ...``, exit status 2."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))

    def show(self, file=None):
        click.echo(f"learndyn: error: {self.format_message()}", err=True)


@click.group()
@click.version_option(package_name="learndyn")
def main():
    """learndyn: learning dynamics of neural networks, exact theory beside simulation.

    Every run writes a folder with summary.json (checks and provenance), data.nc (trajectories), figures/ and
    report.html. Time is gradient-flow time t = lr * step throughout.
    """


@main.command("list")
def list_cmd():
    """List the experiments with their descriptions."""
    from learndyn.experiments.registry import registry

    for name, exp in sorted(registry().items()):
        first = exp.description.splitlines()[0] if exp.description else ""
        click.echo(f"{name:16s} {first}")


def _show_value(value) -> str:
    if value is dataclasses.MISSING:
        return ""
    if isinstance(value, tuple):
        return ",".join(_show_value(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


@main.command("config")
@click.argument("name")
def config_cmd(name):
    """Show the config keys of experiment NAME: type, default, quick value, accepted range and meaning."""
    from learndyn.experiments import registry as reg
    from learndyn.experiments.config import describe

    try:
        exp = reg.get(name)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    rows = describe(exp.config_cls, exp.quick)
    table = [("KEY", "TYPE", "DEFAULT", "QUICK", "ACCEPTED", "MEANING")]
    table += [
        (r["key"], r["type"], _show_value(r["default"]), _show_value(r["quick"]), r["accepted"], r["meaning"])
        for r in rows
    ]
    widths = [max(len(row[k]) for row in table) for k in range(5)]
    click.echo(f"{name}: {exp.description}\n")
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row[:5], widths, strict=True)) + "  " + row[5])
    example = next((r for r in rows if r["type"].startswith("list")), None)
    click.echo(
        f"\nSet a value with: learndyn run {name} --set KEY=VALUE (repeatable). QUICK is the value --quick uses."
    )
    if example is not None:
        key = example["key"]
        click.echo(f"Lists are written {key}=0.1,0.2 or '{key}=[0.1, 0.2]'.")


def _parse_sets(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        if "=" not in item:
            raise InputError(f"--set {item!r} is not of the form key=value (e.g. --set lr=0.01)")
        key, raw = item.split("=", 1)
        out[key.strip()] = raw.strip()
    return out


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


@main.command("run")
@click.argument("names", nargs=-1, required=True)
@click.option("--quick", is_flag=True, help="Reduced run (well under a minute), every check kept.")
@click.option(
    "--out",
    "out",
    default="runs",
    show_default=True,
    type=click.Path(),
    help="Parent folder of the run folders.",
)
@click.option("--seed", type=int, default=None, help="Seed (>= 0; overrides the config's seed).")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config value; repeatable (keys: learndyn config NAME).",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing run folder of the same name (whole).")
@click.option("--quiet", is_flag=True, help="No progress bars (they only show on a terminal anyway).")
@click.option("--traceback", "show_traceback", is_flag=True, help="On an error, show the Python traceback.")
def run_cmd(names, quick, out, seed, sets, overwrite, quiet, show_traceback):
    """Run the experiments NAMES ('all' runs every one) and write their run folders under --out."""
    from learndyn import progress
    from learndyn.experiments import registry as reg
    from learndyn.results import prepare_run_dir

    overrides = _parse_sets(sets)
    if names == ("all",):
        names = tuple(sorted(reg.registry()))
    # Everything that can be refused is refused here, before minutes of computation.
    for name in names:
        try:
            exp = reg.get(name)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        try:
            reg.make_config(exp, quick=quick, seed=seed, overrides=overrides)
            prepare_run_dir(out, name, overwrite=overwrite)
        except (ValueError, TypeError, OSError) as exc:
            raise InputError(f"{name}: {exc}") from None
    command = shlex.join(
        ["learndyn", "run", *names, *(["--quick"] if quick else []), "--out", str(out)]
        + (["--seed", str(seed)] if seed is not None else [])
        + [arg for item in sets for arg in ("--set", item)]
        + (["--overwrite"] if overwrite else [])
    )
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    failed_any = False
    try:
        for name in names:
            click.echo(f"running {name}{' (quick)' if quick else ''} ...")
            try:
                with progress.showing(False if quiet else None):
                    path, outcome = reg.run(
                        name, out=out, quick=quick, seed=seed, overrides=overrides, overwrite=overwrite, command=command
                    )
            except KeyboardInterrupt:
                click.echo(f"learndyn: interrupted: {name} was not written (no run folder left under --out)", err=True)
                sys.exit(130)
            except (ValueError, TypeError, ArithmeticError, OSError) as exc:
                if show_traceback:
                    raise
                raise InputError(f"{name}: {exc} (rerun with --traceback to see where)") from None
            n = len(outcome.checks)
            bad = outcome.failed
            click.echo(f"  wrote {path}  ({n - len(bad)}/{n} checks passed)  report: {path / 'report.html'}")
            for c in bad:
                click.echo(f"  FAILED {c.name}: {c.value:.4g} not {c.op} {c.threshold:.4g}", err=True)
            failed_any |= bool(bad)
    finally:
        signal.signal(signal.SIGTERM, previous)
    sys.exit(1 if failed_any else 0)
