"""EvalSlices component: what the Evaluator scores, the test split and its first sentences.

Examples (ExampleGen's) --EvalSlices--> Examples with splits ``test`` (the
test reviews with their slicing features) and ``test_first_sentence`` (their
first sentences alone); see executor.py.
"""

from tfx import types
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter

from components.component_spec import BeamComponent
from components.slicing import executor


class EvalSlicesSpec(types.ComponentSpec):
    PARAMETERS: dict = {}
    INPUTS = {standard_component_specs.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples)}
    OUTPUTS = {"sliced_examples": ChannelParameter(type=standard_artifacts.Examples)}


class EvalSlices(BeamComponent):
    """Writes the test split with its slicing features, and its first sentences, for the Evaluator."""

    SPEC_CLASS = EvalSlicesSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)
