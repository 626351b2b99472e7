"""Trainer component: a Keras classifier with the aligned embedding matrix injected.

TFX's own Trainer imports TensorFlow Data Validation, which does not install on
this stack; this one keeps its artifact contract (a ``Model`` whose serving
SavedModel is under ``Format-Serving/``, and a ``ModelRun`` with TensorBoard
logs), so the standard Evaluator and Pusher consume it unchanged.
"""

from tfx import types
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.artifacts.types import EmbeddingMatrix
from components.component_spec import Component
from components.trainer import executor
from components.trainer.options import TrainerOptions


class TrainerSpec(types.ComponentSpec):
    PARAMETERS = {"options": ExecutionParameter(type=str)}
    INPUTS = {
        "examples": ChannelParameter(type=standard_artifacts.Examples),
        "transform_graph": ChannelParameter(type=standard_artifacts.TransformGraph),
        "embedding": ChannelParameter(type=EmbeddingMatrix),
        # With trainer.warm_start: the model to start from (none before the first push).
        standard_component_specs.BASE_MODEL_KEY: ChannelParameter(
            type=standard_artifacts.Model, optional=True
        ),
    }
    OUTPUTS = {
        "model": ChannelParameter(type=standard_artifacts.Model),
        "model_run": ChannelParameter(type=standard_artifacts.ModelRun),
    }


class Trainer(Component):
    """Fits on the transformed train split, validates on eval, exports a SavedModel."""

    SPEC_CLASS = TrainerSpec
    OPTIONS = TrainerOptions
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)
