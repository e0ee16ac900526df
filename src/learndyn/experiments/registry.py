"""The experiment registry: named reproductions, each a config dataclass plus a function returning an Outcome.

An experiment module declares::

    @dataclass(frozen=True)
    class Config(ExperimentConfig):
        seed: int = option(0, "seed of the task and the initialisation", ge=0)
        lr: float = option(0.05, "GD learning rate", gt=0)

    @experiment("name", Config, quick={"lr": 0.1}, description="...")
    def run(cfg: Config) -> Outcome: ...

``quick`` holds the overrides of the reduced run (well under a minute on 2 cores, every check kept). The default
and the quick config are both built (and so validated) when the experiment is registered.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import pkgutil
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from learndyn.experiments.config import ExperimentConfig, validate
from learndyn.results import Outcome, prepare_run_dir, write_run

# Modules of this package that hold infrastructure, not experiments; every other public module is one.
_NOT_EXPERIMENTS = frozenset({"registry", "config"})


def _experiment_modules() -> list[str]:
    """The experiment modules of :mod:`learndyn.experiments`, discovered (a new module needs no list entry)."""
    import learndyn.experiments as package

    return sorted(
        m.name
        for m in pkgutil.iter_modules(package.__path__)
        if not m.name.startswith("_") and m.name not in _NOT_EXPERIMENTS
    )


@dataclass(frozen=True)
class Experiment:
    """A registered experiment."""

    name: str
    config_cls: type
    func: Callable
    quick: dict
    description: str


_REGISTRY: dict[str, Experiment] = {}


def experiment(name: str, config_cls: type, *, quick: dict | None = None, description: str = ""):
    """Register ``func(cfg) -> Outcome`` under ``name`` with its config dataclass and quick overrides."""
    if not dataclasses.is_dataclass(config_cls):
        raise TypeError(f"config_cls of experiment {name!r} must be a dataclass")
    quick = dict(quick or {})
    valid = {f.name for f in dataclasses.fields(config_cls)}
    if "seed" not in valid:
        raise TypeError(f"config of experiment {name!r} needs a 'seed' field")
    unknown = set(quick) - valid
    if unknown:
        raise TypeError(f"quick overrides {sorted(unknown)} of {name!r} are not config fields {sorted(valid)}")

    try:
        config_cls()
        config_cls(**quick)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"experiment {name!r}: its default or quick config is invalid: {exc}") from None

    def register(func):
        old = _REGISTRY.get(name)
        if old is not None and (old.func.__module__, old.func.__qualname__) != (func.__module__, func.__qualname__):
            raise ValueError(f"experiment {name!r} is registered twice ({old.func.__module__} and {func.__module__})")
        _REGISTRY[name] = Experiment(name, config_cls, func, quick, description or (func.__doc__ or "").strip())
        return func

    return register


def registry() -> dict[str, Experiment]:
    """All registered experiments by name (imports the experiment modules on first call)."""
    for mod in _experiment_modules():
        importlib.import_module(f"learndyn.experiments.{mod}")
    return dict(_REGISTRY)


def get(name: str) -> Experiment:
    """The experiment called ``name``; raises listing the valid names otherwise."""
    reg = registry()
    if name not in reg:
        raise ValueError(f"unknown experiment {name!r}; valid names: {', '.join(sorted(reg))}")
    return reg[name]


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_KIND = {bool: "true or false", int: "an integer", float: "a number", str: "text"}


def _coerce(name: str, hint, raw: str):
    """Parse the ``--set`` string ``raw`` as the config field's type ``hint``.

    Lists accept ``0.1,0.2``, ``[0.1, 0.2]`` and ``(0.1, 0.2)`` (and a single value); integers accept ``1e4``.
    """
    text = raw.strip()
    if typing.get_origin(hint) is tuple:
        inner = typing.get_args(hint)[0]
        body = text[1:-1] if len(text) >= 2 and (text[0], text[-1]) in (("[", "]"), ("(", ")")) else text
        parts = [part.strip() for part in body.split(",") if part.strip()]
        if not parts:
            raise ValueError(
                f"--set {name}={raw!r}: expected a non-empty list such as {name}=0.1,0.2 or {name}=[0.1, 0.2]"
            )
        return tuple(_coerce(name, inner, part) for part in parts)
    try:
        if hint is bool:
            if text.lower() not in _TRUE + _FALSE:
                raise ValueError(text)
            return text.lower() in _TRUE
        if hint is int:
            try:
                return int(text)
            except ValueError:
                value = float(text)
                if not value.is_integer():
                    raise
                return int(value)
        if hint in (float, str):
            return hint(text)
    except ValueError:
        raise ValueError(f"--set {name}={raw!r}: expected {_KIND[hint]}") from None
    raise TypeError(f"config field {name!r} has type {hint}, which --set cannot parse")


def make_config(
    exp: Experiment, *, quick: bool = False, seed: int | None = None, overrides: dict[str, str] | None = None
):
    """Build and validate the config: defaults, then the quick overrides, then ``seed``, then ``--set`` strings.

    Raises
    ------
    ValueError
        For an unknown key (listing the valid ones), a value that does not parse as the field's type, or a value
        outside the range its config declares (see :mod:`learndyn.experiments.config`).
    TypeError
        For a value of the wrong type.
    """
    fields = {f.name: f for f in dataclasses.fields(exp.config_cls)}
    hints = typing.get_type_hints(exp.config_cls)
    values = dict(exp.quick) if quick else {}
    if seed is not None:
        values["seed"] = seed
    for key, raw in (overrides or {}).items():
        if key not in fields:
            raise ValueError(
                f"unknown --set key {key!r} for experiment {exp.name!r}; valid keys: {', '.join(sorted(fields))} "
                f"(see: learndyn config {exp.name})"
            )
        values[key] = _coerce(key, hints[key], raw)
    cfg = exp.config_cls(**values)
    if not isinstance(cfg, ExperimentConfig):
        validate(cfg)  # an ExperimentConfig validated itself on construction; plain dataclasses get it here
    return cfg


def run(
    name: str,
    *,
    out="runs",
    quick: bool = False,
    seed: int | None = None,
    overrides: dict[str, str] | None = None,
    overwrite: bool = False,
    command: str | None = None,
) -> tuple[Path, Outcome]:
    """Run experiment ``name`` and write its run folder ``out/name``; return (folder, outcome).

    The config and the output location are checked before anything is computed (see :func:`make_config` and
    :func:`learndyn.results.prepare_run_dir`); ``overwrite`` replaces an existing run folder whole.
    """
    exp = get(name)
    cfg = make_config(exp, quick=quick, seed=seed, overrides=overrides)
    prepare_run_dir(out, name, overwrite=overwrite)
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    start = time.perf_counter()
    outcome = exp.func(cfg)
    seconds = time.perf_counter() - start
    if not isinstance(outcome, Outcome):
        raise TypeError(f"experiment {name!r} returned {type(outcome).__name__}, expected Outcome")
    config = dataclasses.asdict(cfg) | {"quick": quick}
    path = write_run(
        out,
        name,
        outcome,
        config=config,
        seconds=seconds,
        started=started,
        command=command,
        description=exp.description,
        overwrite=overwrite,
    )
    return path, outcome
