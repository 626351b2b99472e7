"""Canary: TFX's InfraValidator contract (``model`` in, ``InfraBlessing`` out), without TF Serving."""

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.canary import executor
from components.canary.options import CanaryOptions
from components.component_spec import with_outputs
from components.options import OPTIONS_KEY


class CanarySpec(types.ComponentSpec):
    PARAMETERS = {OPTIONS_KEY: ExecutionParameter(type=str)}
    INPUTS = {standard_component_specs.MODEL_KEY: ChannelParameter(type=standard_artifacts.Model)}
    OUTPUTS = {standard_component_specs.BLESSING_KEY: ChannelParameter(type=standard_artifacts.InfraBlessing)}


class Canary(base_component.BaseComponent):
    """Probes the candidate model as a server would load it; outputs an ``InfraBlessing``."""

    SPEC_CLASS = CanarySpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, model: types.BaseChannel, options: CanaryOptions):
        super().__init__(spec=with_outputs(CanarySpec, model=model, options=options.to_json()))
