"""The ``learndyn`` command: list and run the named experiments.

    learndyn list
    learndyn run NAME [--quick] [--out DIR] [--seed N] [--set key=value ...]

``run`` writes ``DIR/NAME/`` (summary.json, data.nc, figures/, report.html) and exits with status 1 when a check
fails, naming the failed checks.
"""

from __future__ import annotations

import sys

import click


@click.group()
@click.version_option(package_name="learndyn")
def main():
    """learndyn: learning dynamics of neural networks, exact theory beside simulation."""


@main.command("list")
def list_cmd():
    """List the experiments with their descriptions."""
    from learndyn.experiments.registry import registry

    for name, exp in sorted(registry().items()):
        first = exp.description.splitlines()[0] if exp.description else ""
        click.echo(f"{name:16s} {first}")


def _parse_sets(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not of the form key=value", param_hint="--set")
        key, raw = item.split("=", 1)
        out[key.strip()] = raw.strip()
    return out


@main.command("run")
@click.argument("names", nargs=-1, required=True)
@click.option("--quick", is_flag=True, help="Reduced run (well under a minute), every check kept.")
@click.option(
    "--out",
    "out",
    default="runs",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Parent folder of the run folders.",
)
@click.option("--seed", type=int, default=None, help="Seed (overrides the config's seed).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a config field; repeatable.")
def run_cmd(names, quick, out, seed, sets):
    """Run the experiments NAMES ('all' runs every one) and write their run folders."""
    from learndyn.experiments import registry as reg

    overrides = _parse_sets(sets)
    if names == ("all",):
        names = tuple(sorted(reg.registry()))
    try:
        for name in names:
            reg.make_config(reg.get(name), quick=quick, seed=seed, overrides=overrides)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    failed_any = False
    for name in names:
        click.echo(f"running {name}{' (quick)' if quick else ''} ...")
        path, outcome = reg.run(name, out=out, quick=quick, seed=seed, overrides=overrides)
        n = len(outcome.checks)
        bad = outcome.failed
        click.echo(f"  wrote {path}  ({n - len(bad)}/{n} checks passed)")
        for c in bad:
            click.echo(f"  FAILED {c.name}: {c.value:.4g} not {c.op} {c.threshold:.4g}", err=True)
        failed_any |= bool(bad)
    sys.exit(1 if failed_any else 0)
