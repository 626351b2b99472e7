"""Which model the candidate is compared with: the served model, other than the candidate.

The served model is the model of the latest push: the latest ``PushedModel``
artifact with ``pushed`` = 1 in ML Metadata (the Pusher pushes only a model
that both the Evaluator and the canary blessed, and each push is the highest
version, which TF Serving loads). A model the Evaluator blessed but the canary
refused was never served, so it is never the baseline: comparing with it would
hold every later model to a bar no served model set.

TFX's ``LatestBlessedModelStrategy`` returns the latest model the Evaluator
blessed, whatever the canary said, and, once the candidate of a previous run
is blessed, that same model: a second identical run would then evaluate the
candidate against itself. Excluding the candidate gives the same baseline for
an unchanged run (so every step is cached), and the served model for a new one.
"""

from typing import Any

from ml_metadata.proto import metadata_store_pb2
from tfx import types
from tfx.dsl.components.common import resolver
from tfx.dsl.input_resolution.strategies import latest_blessed_model_strategy
from tfx.types import standard_artifacts, standard_component_specs

MODEL_KEY = "model"
MODEL_BLESSING_KEY = "model_blessing"
PUSHED_MODEL_KEY = "pushed_model"
CANDIDATE_KEY = "candidate"
# TFX's Pusher executor (and this project's) sets it to 1 on a PushedModel that was pushed.
PUSHED_PROPERTY = "pushed"


def latest_pushed_other_than(
    models: list[types.Artifact],
    pushes: list[types.Artifact],
    pushed_model_id: dict[int, int],
    candidate_ids: set[int],
) -> types.Artifact | None:
    """The model of the latest push (PushedModel with ``pushed`` = 1) whose id is not a candidate's.

    Args:
        models: Model artifacts.
        pushes: PushedModel artifacts, pushed or not.
        pushed_model_id: The id of the Model each PushedModel id was pushed from.
        candidate_ids: Ids of this run's candidate models.
    """
    model_by_id = {model.id: model for model in models}
    for push in sorted(pushes, key=lambda artifact: artifact.id, reverse=True):
        if push.get_int_custom_property(PUSHED_PROPERTY) != 1:
            continue
        model_id = pushed_model_id.get(push.id)
        if model_id in model_by_id and model_id not in candidate_ids:
            return model_by_id[model_id]
    return None


def pushed_from(store: Any, pushes: list[types.Artifact]) -> dict[int, int]:
    """PushedModel id -> id of the Model its Pusher execution read (its ``model`` input), from lineage."""
    if not pushes:
        return {}
    execution_by_push = {
        event.artifact_id: event.execution_id
        for event in store.get_events_by_artifact_ids([push.id for push in pushes])
        if event.type == metadata_store_pb2.Event.OUTPUT
    }
    model_by_execution = {
        event.execution_id: event.artifact_id
        for event in store.get_events_by_execution_ids(sorted(set(execution_by_push.values())))
        if event.type == metadata_store_pb2.Event.INPUT
        and event.path.steps
        and event.path.steps[0].key == standard_component_specs.MODEL_KEY
    }
    return {
        push_id: model_by_execution[execution_id]
        for push_id, execution_id in execution_by_push.items()
        if execution_id in model_by_execution
    }


class BaselineModelStrategy(resolver.ResolverStrategy):
    """Resolves the served Model (the model of the latest push) that is not this run's candidate.

    Inputs: ``model`` (all Model artifacts), ``pushed_model`` (all PushedModel
    artifacts) and ``candidate`` (this run's Trainer output). Outputs
    ``model``: one artifact, or none before the first push.
    """

    def resolve_artifacts(
        self, store: Any, input_dict: dict[str, list[types.Artifact]]
    ) -> dict[str, list[types.Artifact]] | None:
        candidates = {artifact.id for artifact in input_dict.get(CANDIDATE_KEY, [])}
        pushes = input_dict.get(PUSHED_MODEL_KEY, [])
        model = latest_pushed_other_than(
            input_dict.get(MODEL_KEY, []), pushes, pushed_from(store, pushes), candidates
        )
        return {
            MODEL_KEY: [model] if model else [],
            PUSHED_MODEL_KEY: [],
            CANDIDATE_KEY: input_dict.get(CANDIDATE_KEY, []),
        }


def create_baseline_resolver(candidate: types.BaseChannel | None) -> resolver.Resolver:
    """The Resolver node whose ``model`` output is the Evaluator's baseline.

    Args:
        candidate: This run's Trainer output, excluded from the baseline. None
            selects TFX's LatestBlessedModelStrategy, for orchestrators whose
            compilers only know TFX's own strategies (Kubeflow Pipelines V2):
            the baseline is then the latest model the Evaluator blessed, even
            one the canary refused (never served), and can be the candidate
            itself in a re-run (it then passes the comparison).
    """
    if candidate is None:
        return resolver.Resolver(
            strategy_class=latest_blessed_model_strategy.LatestBlessedModelStrategy,
            model=types.Channel(type=standard_artifacts.Model),
            model_blessing=types.Channel(type=standard_artifacts.ModelBlessing),
        ).with_id("baseline_model_resolver")
    return resolver.Resolver(
        strategy_class=BaselineModelStrategy,
        model=types.Channel(type=standard_artifacts.Model),
        pushed_model=types.Channel(type=standard_artifacts.PushedModel),
        candidate=candidate,
    ).with_id("baseline_model_resolver")
