"""What every step's component and executor share: a component made from its ComponentSpec's arguments,
and the types of ``BaseExecutor.Do``'s arguments."""

from typing import Any

from tfx import types
from tfx.dsl.components.base import base_beam_component, base_component

from components.options import Options

# BaseExecutor.Do's input_dict and output_dict (artifacts by key), and its exec_properties.
Artifacts = dict[str, list[types.Artifact]]
Properties = dict[str, Any]


def optional_instance(artifacts: Artifacts, key: str) -> types.Artifact | None:
    """The artifact of an optional input, None when the run gave it none."""
    return (artifacts.get(key) or [None])[0]


class _FromSpec:
    """A component whose keyword arguments are its ``SPEC_CLASS``'s inputs and parameters (an
    :class:`Options` as its JSON), with a new Channel per output."""

    SPEC_CLASS: type[types.ComponentSpec]
    OPTIONS: type[Options] | None = None  # the options class the step takes, if any

    def __init__(self, **arguments: Any):
        spec_class = self.SPEC_CLASS
        for name, value in arguments.items():
            if name not in spec_class.INPUTS and name not in spec_class.PARAMETERS:
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {name!r}")
            if isinstance(value, Options) and not isinstance(value, self.OPTIONS or ()):
                wanted = f"takes {self.OPTIONS.__name__}" if self.OPTIONS else "takes no options"
                raise TypeError(f"{type(self).__name__}() {wanted}, got {type(value).__name__} as {name!r}")
        values = {
            key: value.to_json() if isinstance(value, Options) else value for key, value in arguments.items()
        }
        outputs = {key: types.Channel(type=parameter.type) for key, parameter in spec_class.OUTPUTS.items()}
        super().__init__(spec=spec_class(**values, **outputs))


class Component(_FromSpec, base_component.BaseComponent):
    """A step run by its executor class (``executor_spec.ExecutorClassSpec``)."""


class BeamComponent(_FromSpec, base_beam_component.BaseBeamComponent):
    """A step whose executor runs Beam (``executor_spec.BeamExecutorSpec``)."""
