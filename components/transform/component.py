"""Transform component: vocabulary and fixed-length token ids with tf.Transform.

TFX's own Transform component imports TensorFlow Data Validation, which does not
install on this stack; this one keeps its interface (examples + schema in,
transform_graph + transformed_examples out) and its artifact layout, so
``tft.TFTransformOutput(transform_graph.uri)`` works as usual.
"""

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.component_spec import with_outputs
from components.transform import executor
from components.transform.options import TransformOptions


class TransformSpec(types.ComponentSpec):
    PARAMETERS = {"options": ExecutionParameter(type=str)}
    INPUTS = {
        "examples": ChannelParameter(type=standard_artifacts.Examples),
        "schema": ChannelParameter(type=standard_artifacts.Schema),
    }
    OUTPUTS = {
        "transform_graph": ChannelParameter(type=standard_artifacts.TransformGraph),
        "transformed_examples": ChannelParameter(type=standard_artifacts.Examples),
    }


class Transform(base_beam_component.BaseBeamComponent):
    """Builds the vocabulary on the train split and transforms train, eval and test."""

    SPEC_CLASS = TransformSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, examples: types.BaseChannel, schema: types.BaseChannel, options: TransformOptions):
        super().__init__(
            spec=with_outputs(TransformSpec, examples=examples, schema=schema, options=options.to_json())
        )
