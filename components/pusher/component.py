"""Pusher: TFX's Pusher contract (inputs, ``PushedModel``) with an atomic push, a manifest and retention."""

from tfx import types
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.artifacts.types import EmbeddingMatrix
from components.component_spec import Component
from components.options import OPTIONS_KEY
from components.pusher import executor
from components.pusher.options import PushOptions


class PusherSpec(types.ComponentSpec):
    PARAMETERS = {
        "serving_model_dir": ExecutionParameter(type=str),
        OPTIONS_KEY: ExecutionParameter(type=str),
    }
    INPUTS = {
        "model": ChannelParameter(type=standard_artifacts.Model),
        "model_blessing": ChannelParameter(type=standard_artifacts.ModelBlessing),
        # The canary's verdict (components/canary/), as TFX's Pusher takes InfraValidator's.
        "infra_blessing": ChannelParameter(type=standard_artifacts.InfraBlessing, optional=True),
        "examples": ChannelParameter(type=standard_artifacts.Examples, optional=True),
        "transform_graph": ChannelParameter(type=standard_artifacts.TransformGraph, optional=True),
        "embedding": ChannelParameter(type=EmbeddingMatrix, optional=True),
        "evaluation": ChannelParameter(type=standard_artifacts.ModelEvaluation, optional=True),
    }
    OUTPUTS = {"pushed_model": ChannelParameter(type=standard_artifacts.PushedModel)}


class Pusher(Component):
    """Publishes a blessed (and canary-passed) model as ``<serving_model_dir>/<version>/`` with ``manifest.json``."""

    SPEC_CLASS = PusherSpec
    OPTIONS = PushOptions
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)
