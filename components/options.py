"""Typed, validated options shared by the steps' configuration dataclasses.

Each step declares a frozen dataclass of its options (a subclass of
:class:`Options`). The pipeline builds them once from defaults, a config file
and command-line flags; the values are checked when the object is created, and
the step's executor receives them back as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
import dataclasses
import json
import math
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T", bound="Options")


class OptionsError(ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range."""


@dataclasses.dataclass(frozen=True)
class Options:
    """Base class: type checks on creation, (de)serialisation to JSON.

    Subclasses set ``SECTION`` (the name used in config files and messages) and
    may override ``validate`` to check ranges with :meth:`check_range` and
    :meth:`check_choice`.
    """

    SECTION: typing.ClassVar[str] = ""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            expected = hints[field.name]
            coerced = _coerce(value, expected, self._name(field.name))
            if coerced is not value:
                object.__setattr__(self, field.name, coerced)
        self.validate()

    def validate(self) -> None:
        """Checks value ranges; subclasses override."""

    def _name(self, field: str) -> str:
        return f"{self.SECTION}.{field}" if self.SECTION else field

    def check_range(self, field: str, low: float | None = None, high: float | None = None) -> None:
        value = getattr(self, field)
        # Written so that NaN, which every comparison calls False, fails too.
        if (low is not None and not value >= low) or (high is not None and not value <= high):
            bounds = (
                f"between {low} and {high}"
                if low is not None and high is not None
                else (f"at least {low}" if low is not None else f"at most {high}")
            )
            raise OptionsError(f"{self._name(field)} must be {bounds}, got {value!r}")

    def check_choice(self, field: str, choices: typing.Iterable[str]) -> None:
        value = getattr(self, field)
        choices = tuple(choices)
        if value not in choices:
            raise OptionsError(f"{self._name(field)} must be one of {', '.join(choices)}; got {value!r}")

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
        """Builds the options from a mapping, rejecting unknown keys by name."""
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            prefix = f"{cls.SECTION}." if cls.SECTION else ""
            raise OptionsError(
                f"unknown option(s) {', '.join(prefix + key for key in unknown)}; "
                f"known: {', '.join(sorted(names))}"
            )
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """Deterministic JSON, so identical options give identical TFX cache keys."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls: type[T], text: str) -> T:
        return cls.from_dict(json.loads(text))


def _coerce(value: Any, expected: Any, name: str) -> Any:
    """Checks ``value`` against a type hint; converts lists to tuples and ints to floats."""
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(expected)
        if value is None and type(None) in args:
            return value
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, name)
            except OptionsError as error:
                errors.append(error)
        raise errors[0]
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise OptionsError(f"{name} must be a list, got {value!r}")
        (item_type, *_rest) = typing.get_args(expected)
        return tuple(_coerce(item, item_type, name) for item in value)
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise OptionsError(f"{name} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise OptionsError(f"{name} must be a finite number, got {value!r}")
        return float(value)
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise OptionsError(f"{name} must be a whole number, got {value!r}")
        return value
    if expected is bool:
        if not isinstance(value, bool):
            raise OptionsError(f"{name} must be true or false, got {value!r}")
        return value
    if expected is str:
        if not isinstance(value, str):
            raise OptionsError(f"{name} must be a string, got {value!r}")
        return check_text(name, value)
    return value


def check_text(name: str, value: str) -> str:
    """``value`` if it is UTF-8 text; else an :class:`OptionsError` naming ``name`` and the value.

    A command-line argument or path with bytes that are not UTF-8 reaches Python
    as surrogate escapes (``'\\udcff'``); ML Metadata, TFX's exec properties and
    the compiled pipeline all store text as UTF-8, so such a value fails deep in
    a step. Every text option is checked here instead, before anything is created.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise OptionsError(
            f"{name}: {value!r} is not UTF-8 text (it holds bytes that are not UTF-8, shown as \\udcXX); "
            "rename it, or name it through a path that is UTF-8"
        ) from None
    return value
