"""The base of each step's frozen pydantic options model, and pydantic's report as one :class:`OptionsError`.

The error names the field as ``section.field``; a step's executor receives its options back as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
import json
import reprlib
import shlex
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, model_validator

from components.artifacts.quarantine import shown_name
from components.plural import noun_form

# Exact types: a YAML string "3" is not a whole number, a bool is not a number,
# 1 is not true. A float field takes a whole number (``min_auc: 1``); none takes
# NaN or an infinity (every range check would let NaN through).
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Bool = Annotated[bool, Strict()]
# What NumPy, TensorFlow and gensim take as a random seed.
Seed = Annotated[int, Strict(), Field(ge=0, le=2**32 - 1)]
# A share, rate or distance between 0 and 1.
Share = Annotated[Float, Field(ge=0.0, le=1.0)]
# A number of passes over the data.
Epochs = Annotated[int, Strict(), Field(ge=1, le=1_000)]


# A value as an error message shows it: bounded, so that a huge value (a long string, a number of
# thousands of digits, a YAML alias bomb of nested lists) makes a short message, not one of megabytes.
_SHOWN = reprlib.Repr()
_SHOWN.maxstring, _SHOWN.maxother, _SHOWN.maxlong = 200, 200, 60
_SHOWN.maxlist = _SHOWN.maxtuple = _SHOWN.maxdict = _SHOWN.maxset = 6
_SHOWN.maxlevel = 2


def shown(value: Any) -> str:
    """``repr(value)`` cut short where it is long (``...``) or deep (``[...]``)."""
    return _SHOWN.repr(value)


# The execution property that carries a step's options, as JSON, from its component to its executor.
OPTIONS_KEY = "options"


class OptionsError(ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range."""


class Options(BaseModel):
    """Base class: frozen, unknown keys refused, every string UTF-8, (de)serialisation to JSON.

    Subclasses set ``SECTION`` (the name used in config files and messages).
    A validator that raises ``ValueError("{name} ...")`` has ``{name}`` replaced
    by the field's ``section.field`` name in the message.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    SECTION: ClassVar[str] = ""

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise options_error(error, type(self)) from None

    @model_validator(mode="before")
    @classmethod
    def _text_is_utf8(cls, values: Any) -> Any:
        if isinstance(values, dict):
            for key, value in values.items():
                if isinstance(value, str) and key in cls.model_fields:
                    check_text(f"{cls.SECTION}.{key}" if cls.SECTION else key, value)
        return values

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json(self) -> str:
        """Deterministic JSON (sorted keys), so identical options give identical TFX cache keys."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Self:
        try:
            return cls.model_validate_json(text)
        except ValidationError as error:
            raise options_error(error, cls) from None

    @classmethod
    def from_exec_properties(cls, exec_properties: Mapping[str, Any]) -> Self:
        """The options a step's component passed its executor (``exec_properties[OPTIONS_KEY]``)."""
        return cls.from_json(exec_properties[OPTIONS_KEY])


def check_text(name: str, value: str) -> str:
    """``value`` if it is UTF-8 text; else an :class:`OptionsError` naming ``name`` and the value.

    Non-UTF-8 bytes in an argument reach Python as surrogate escapes, which ML Metadata and TFX cannot store.
    """
    if "\0" in value:  # no path, name or flag holds one: the file system and ML Metadata refuse it
        raise OptionsError(f"{name}: {shown(value)} holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        text = shown_name(value)  # as every file and message shows a name, bounded as shown() is
        text = shlex.quote(text[: _SHOWN.maxstring]) + ("..." if len(text) > _SHOWN.maxstring else "")
        try:
            value.encode("utf-8", "surrogateescape")  # bytes of an argument or file name that are not UTF-8
        except UnicodeEncodeError as error:  # no byte: a lone surrogate, as YAML's or JSON's "\\ud800" gives
            character = f"U+{ord(value[error.start]):04X}"
            problem = (
                f"holds {character}, a lone UTF-16 surrogate (an escape such as \\ud800), which no UTF-8 "
            )
            problem += "text holds; fix the value"
        else:
            problem = "is not UTF-8 text (it holds bytes that are not UTF-8, shown as \\xXX); rename it, or name it "
            problem += "through a path that is UTF-8"
        raise OptionsError(f"{name}: {text} {problem}") from None
    return value


# --- pydantic's report as one message naming the field ---------------------------------------------

_TYPE_MESSAGES = {
    **dict.fromkeys(("int_type", "int_parsing", "int_from_float"), "must be a whole number"),
    **dict.fromkeys(("float_type", "float_parsing"), "must be a number"),
    **dict.fromkeys(("bool_type", "bool_parsing"), "must be true or false"),
    **dict.fromkeys(("tuple_type", "list_type"), "must be a list"),
    **dict.fromkeys(("model_type", "model_attributes_type"), "must be a mapping of options"),
    "finite_number": "must be a finite number",
    "string_type": "must be a string",
}


def options_error(error: ValidationError, model: type[BaseModel]) -> OptionsError:
    """The first problem of pydantic's report, in the words of the configuration (``section.field ...``)."""
    details = error.errors(include_url=False)
    first = details[0]
    if first["type"] == "extra_forbidden":
        parent = first["loc"][:-1]
        owner, field = _field_at(model, parent)
        if field is not None:
            owner = field.annotation
        prefix = "".join(f"{part}." for part in _names(parent, owner))
        unknown = sorted(prefix + str(d["loc"][-1]) for d in details if d["type"] == "extra_forbidden")
        return OptionsError(  # quoted as given: `'trainer.epochs '` is not trainer.epochs
            f"unknown {noun_form(len(unknown), 'option')} {', '.join(map(repr, unknown))}; known: {', '.join(sorted(owner.model_fields))}"
        )
    owner, field = _field_at(model, first["loc"])
    name = ".".join(_names(first["loc"], owner))
    value = first["input"]
    if field is not None and field.annotation is float and type(value) is int:
        value = float(value)  # as the field holds it
    kind = first["type"]
    if kind == "value_error":
        message = str(first["ctx"]["error"])
        return OptionsError(name + message[6:] if message.startswith("{name}") else message)
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        low = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
        high = next((m.le for m in field.metadata if hasattr(m, "le")), None)
        bounds = (
            f"between {low} and {high}"
            if low is not None and high is not None
            else (f"at least {low}" if low is not None else f"at most {high}")
        )
        return OptionsError(f"{name} must be {bounds}, got {shown(value)}")
    if kind in ("enum", "literal_error"):
        choices = [str(member) for member in field.annotation]
        return OptionsError(f"{name} must be one of {', '.join(choices)}; got {shown(value)}")
    if kind in _TYPE_MESSAGES:
        return OptionsError(f"{name} {_TYPE_MESSAGES[kind]}, got {shown(value)}")
    return OptionsError(f"{name}: {first['msg']}, got {shown(value)}")


def _field_at(model: type[BaseModel], loc: tuple) -> tuple[type[BaseModel], Any]:
    """The model that owns the field at ``loc`` (list indexes skipped), and that field (None for the model)."""
    owner, field = model, None
    for part in loc:
        if isinstance(part, int):
            continue
        if (
            field is not None
            and isinstance(field.annotation, type)
            and issubclass(field.annotation, BaseModel)
        ):
            owner = field.annotation
        field = owner.model_fields.get(part)
    return owner, field


def _names(loc: tuple, owner: type[BaseModel]) -> list[str]:
    """The dotted name of ``loc``: ``section.field`` (the section named by the model when it is alone)."""
    names = [str(part) for part in loc if not isinstance(part, int)]
    section = getattr(owner, "SECTION", "")
    if section and (not names or names[0] != section):
        names.insert(0, section)
    return names
