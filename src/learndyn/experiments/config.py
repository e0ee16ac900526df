"""Experiment configurations that describe and validate themselves.

An experiment's config is a frozen dataclass whose fields are declared with :func:`option`: a default, a one-line
meaning and the accepted range. Subclassing :class:`ExperimentConfig` validates every value when the config is made
(from Python or from ``learndyn run --set``), so a bad value is refused before any computation, with a message that
names the key as the user writes it, the value and what is accepted::

    @dataclass(frozen=True)
    class Config(ExperimentConfig):
        seed: int = option(0, "seed of the task and the initialisation", ge=0)
        lr: float = option(0.05, "GD learning rate", gt=0)
        sigmas: tuple[float, ...] = option((1e-3, 0.15), "initial scales, one run each", gt=0)

        def check(self):  # optional: constraints between fields
            if self.steps * self.lr > 1e4:
                raise ValueError(...)

Numbers must always be finite. Bounds of a tuple field apply to each element, and a tuple must not be empty.
:func:`describe` turns the declarations into the table that ``learndyn config NAME`` prints.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import typing

_BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def option(
    default,
    help: str,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    choices: typing.Sequence | None = None,
):
    """A config field with its meaning and accepted range (a :func:`dataclasses.field`).

    Parameters
    ----------
    default
        Default value (immutable: use a tuple for lists).
    help : str
        What the value means, one line, in the user's words (shown by ``learndyn config``).
    gt, ge, lt, le : float, optional
        Bounds: the value (each element of a tuple) must be ``> gt``, ``>= ge``, ``< lt``, ``<= le``.
    choices : sequence, optional
        The accepted values (each element of a tuple must be one of them).

    Returns
    -------
    dataclasses.Field

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Cfg(ExperimentConfig):
    ...     seed: int = option(0, "seed", ge=0)
    ...     lr: float = option(0.1, "learning rate", gt=0)
    >>> Cfg(lr=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: lr must be > 0; got -1.0 (learning rate)
    """
    if not help or not help.strip():
        raise TypeError("option() needs a non-empty help text")
    bounds = {k: v for k, v in (("gt", gt), ("ge", ge), ("lt", lt), ("le", le)) if v is not None}
    meta = {"help": help.strip(), "bounds": bounds, "choices": tuple(choices) if choices is not None else None}
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """Base of experiment configs: every field is validated on construction (see :func:`validate`).

    A subclass may define ``check(self)`` for constraints between fields; it raises ``ValueError`` naming the keys.
    """

    def __post_init__(self):
        validate(self)

    def check(self) -> None:
        """Constraints between fields (none by default)."""


def _type_name(hint) -> str:
    if typing.get_origin(hint) is tuple:
        inner = typing.get_args(hint)[0]
        return f"list of {_type_name(inner)}"
    return getattr(hint, "__name__", str(hint))


def _meta(f: dataclasses.Field) -> dict:
    """A field's declared meaning and range; a ``seed`` without a declared range must be >= 0."""
    meta = dict(f.metadata)
    if f.name == "seed" and not meta.get("bounds"):
        meta["bounds"] = {"ge": 0}
    return meta


def _range_text(meta: dict) -> str:
    parts = [f"{_BOUNDS[k]} {v:g}" for k, v in meta.get("bounds", {}).items()]
    if meta.get("choices"):
        parts.append("one of " + ", ".join(repr(c) for c in meta["choices"]))
    return " and ".join(parts)


def _check_scalar(key: str, hint, value, meta: dict, where: str = "") -> None:
    """Raise ValueError/TypeError when ``value`` is not an accepted ``hint`` within the field's bounds."""
    label = f"{key}{where}"
    helptext = f" ({meta['help']})" if meta.get("help") else ""
    if hint is bool:
        if not isinstance(value, bool):
            raise TypeError(f"{label} must be true or false; got {value!r}{helptext}")
    elif hint is int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{label} must be an integer; got {value!r}{helptext}")
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{label} must be a number; got {value!r}{helptext}")
        if not math.isfinite(float(value)):
            raise ValueError(f"{label} must be a finite number; got {value!r}{helptext}")
    elif hint is str:
        if not isinstance(value, str):
            raise TypeError(f"{label} must be text; got {value!r}{helptext}")
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ValueError(f"{label} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}{helptext}")
    for bound, limit in meta.get("bounds", {}).items():
        ok = {"gt": value > limit, "ge": value >= limit, "lt": value < limit, "le": value <= limit}[bound]
        if not ok:
            raise ValueError(f"{label} must be {_BOUNDS[bound]} {limit:g}; got {value!r}{helptext}")


def validate(cfg) -> None:
    """Validate every field of the dataclass ``cfg`` against its type and :func:`option` range, then ``cfg.check()``.

    Works on any dataclass (fields without :func:`option` metadata get the type check only); a field called
    ``seed`` must be >= 0.

    Raises
    ------
    TypeError
        A value of the wrong type (e.g. text for a number, a float for an integer).
    ValueError
        A value outside its range, a non-finite number, an empty list, or a failed ``check()``.
    """
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        hint, value, meta = hints[f.name], getattr(cfg, f.name), _meta(f)
        if typing.get_origin(hint) is tuple:
            inner = typing.get_args(hint)[0]
            if not isinstance(value, tuple | list):
                raise TypeError(f"{f.name} must be a list of {_type_name(inner)}; got {value!r}")
            if len(value) == 0:
                raise ValueError(f"{f.name} must not be empty ({meta.get('help', 'a list')})")
            for k, v in enumerate(value):
                _check_scalar(f.name, inner, v, meta, where=f"[{k}]")
            if isinstance(value, list):
                object.__setattr__(cfg, f.name, tuple(value))
        else:
            _check_scalar(f.name, hint, value, meta)
    check = getattr(cfg, "check", None)
    if callable(check):
        check()


def describe(config_cls, quick: dict | None = None) -> list[dict]:
    """One record per field of ``config_cls``: key, type, default, quick value, accepted range and meaning.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Cfg(ExperimentConfig):
    ...     seed: int = option(0, "seed", ge=0)
    >>> describe(Cfg)[0]["accepted"]
    '>= 0'
    """
    hints = typing.get_type_hints(config_cls)
    quick = quick or {}
    rows = []
    for f in dataclasses.fields(config_cls):
        meta = _meta(f)
        rng = _range_text(meta)
        is_tuple = typing.get_origin(hints[f.name]) is tuple
        rows.append(
            {
                "key": f.name,
                "type": _type_name(hints[f.name]),
                "default": f.default,
                "quick": quick.get(f.name, dataclasses.MISSING),
                "accepted": (f"each {rng}" if is_tuple and rng else rng) or "any",
                "meaning": meta.get("help", ""),
            }
        )
    return rows
