"""A step's ComponentSpec with its output Channels made from the types its ``OUTPUTS`` declare."""

from typing import Any

from tfx import types


def with_outputs(spec_class: type[types.ComponentSpec], **arguments: Any) -> types.ComponentSpec:
    """``spec_class`` of ``arguments`` (inputs and parameters) and a new Channel per output."""
    outputs = {key: types.Channel(type=parameter.type) for key, parameter in spec_class.OUTPUTS.items()}
    return spec_class(**arguments, **outputs)
