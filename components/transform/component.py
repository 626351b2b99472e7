"""Transform component: vocabulary and fixed-length token ids with tf.Transform.

TFX's own Transform component imports TensorFlow Data Validation, which does not
install on this stack; this one keeps its interface (examples + schema in,
transform_graph + transformed_examples out) and its artifact layout, so
``tft.TFTransformOutput(transform_graph.uri)`` works as usual.
"""

from tfx import types
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.component_spec import BeamComponent
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


class Transform(BeamComponent):
    """Builds the vocabulary on the train split and transforms train, eval and test."""

    SPEC_CLASS = TransformSpec
    OPTIONS = TransformOptions
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)
