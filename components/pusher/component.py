"""Pusher: TFX's Pusher contract (inputs, ``PushedModel``) with an atomic push, a manifest and retention."""

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.artifacts.types import EmbeddingMatrix
from components.component_spec import with_outputs
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


class Pusher(base_component.BaseComponent):
    """Publishes a blessed (and canary-passed) model as ``<serving_model_dir>/<version>/`` with ``manifest.json``."""

    SPEC_CLASS = PusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        model: types.BaseChannel,
        model_blessing: types.BaseChannel,
        serving_model_dir: str,
        options: PushOptions,
        infra_blessing: types.BaseChannel | None = None,
        examples: types.BaseChannel | None = None,
        transform_graph: types.BaseChannel | None = None,
        embedding: types.BaseChannel | None = None,
        evaluation: types.BaseChannel | None = None,
    ):
        super().__init__(
            spec=with_outputs(
                PusherSpec,
                model=model,
                model_blessing=model_blessing,
                infra_blessing=infra_blessing,
                examples=examples,
                transform_graph=transform_graph,
                embedding=embedding,
                evaluation=evaluation,
                serving_model_dir=serving_model_dir,
                options=options.to_json(),
            )
        )
