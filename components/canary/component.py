"""Canary: TFX's InfraValidator contract (``model`` in, ``InfraBlessing`` out), without TF Serving."""

from tfx import types
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.canary import executor
from components.canary.options import CanaryOptions
from components.component_spec import Component
from components.options import OPTIONS_KEY


class CanarySpec(types.ComponentSpec):
    PARAMETERS = {OPTIONS_KEY: ExecutionParameter(type=str)}
    INPUTS = {standard_component_specs.MODEL_KEY: ChannelParameter(type=standard_artifacts.Model)}
    OUTPUTS = {standard_component_specs.BLESSING_KEY: ChannelParameter(type=standard_artifacts.InfraBlessing)}


class Canary(Component):
    """Probes the candidate model as a server would load it; outputs an ``InfraBlessing``."""

    SPEC_CLASS = CanarySpec
    OPTIONS = CanaryOptions
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)
