"""The served model as a Resolver's ``model`` output: what TF Serving serves, less excluded models.

The Pusher pushes only a model that both the Evaluator and the canary blessed,
so the served model (the highest version in the model folder, see
``pushed_model.served_model``) was blessed by both; TFX's
``LatestBlessedModelStrategy`` instead can pick a model the canary refused
(never served), or this run's own candidate. Each resolver leaves out the
artifacts of one input channel and the Models trained on them (written by
executions that read them as their ``examples`` input): a re-run of an
unchanged pipeline then resolves the same earlier model, so the nodes
downstream are cache hits.
"""

from typing import Any

from tfx import types
from tfx.dsl.components.common import resolver
from tfx.dsl.input_resolution.strategies import latest_blessed_model_strategy
from tfx.types import standard_artifacts, standard_component_specs

from components.artifacts import lineage
from components.artifacts.pushed_model import pushed_from, served_model

MODEL_KEY = "model"
PUSHED_MODEL_KEY = "pushed_model"


def trained_on(store: Any, examples: list[types.Artifact]) -> set[int]:
    """Ids of the Models written by executions that read any of ``examples`` as their ``examples`` input."""
    readers = {
        execution
        for execution, _ in lineage.reads(
            store, standard_component_specs.EXAMPLES_KEY, artifact_ids=(a.id for a in examples)
        )
    }
    return {
        model for _, model in lineage.writes(store, standard_component_specs.MODEL_KEY, execution_ids=readers)
    }


class ServedModelStrategy(resolver.ResolverStrategy):
    """Resolves ``model`` (all Models) to the served one, neither in ``excluded_key`` nor trained on it.

    Inputs: ``model``, ``pushed_model`` (all PushedModels) and the channel
    named ``excluded_key``, passed through. Outputs ``model``: one artifact,
    or none before the first push.
    """

    def __init__(self, excluded_key: str, serving_model_dir: str):
        self._excluded_key = excluded_key
        self._serving_model_dir = serving_model_dir

    def resolve_artifacts(
        self, store: Any, input_dict: dict[str, list[types.Artifact]]
    ) -> dict[str, list[types.Artifact]] | None:
        excluded = input_dict.get(self._excluded_key, [])
        pushes = input_dict.get(PUSHED_MODEL_KEY, [])
        model = served_model(
            input_dict.get(MODEL_KEY, []),
            pushes,
            pushed_from(store, pushes),
            {artifact.id for artifact in excluded} | trained_on(store, excluded),
            self._serving_model_dir,
        )
        return {MODEL_KEY: [model] if model else [], PUSHED_MODEL_KEY: [], self._excluded_key: excluded}


def served_model_resolver(
    node_id: str, excluded_key: str, excluded: types.BaseChannel | None, serving_model_dir: str
) -> resolver.Resolver:
    """The Resolver node ``node_id`` whose ``model`` output is the model served from ``serving_model_dir``,
    not from ``excluded``.

    Args:
        node_id: The Resolver's node id.
        excluded_key: The input key of ``excluded``.
        excluded: Artifacts whose models are left out. None selects TFX's
            LatestBlessedModelStrategy, for orchestrators whose compilers only
            know TFX's own strategies (Kubeflow Pipelines V2): the model is then
            the latest one the Evaluator blessed, even one the canary refused
            (never served), and a re-run resolves the model the run before it
            trained, so the nodes downstream are never cache hits.
    """
    if excluded is None:
        return resolver.Resolver(
            strategy_class=latest_blessed_model_strategy.LatestBlessedModelStrategy,
            model=types.Channel(type=standard_artifacts.Model),
            model_blessing=types.Channel(type=standard_artifacts.ModelBlessing),
        ).with_id(node_id)
    return resolver.Resolver(
        strategy_class=ServedModelStrategy,
        config={"excluded_key": excluded_key, "serving_model_dir": serving_model_dir},
        model=types.Channel(type=standard_artifacts.Model),
        pushed_model=types.Channel(type=standard_artifacts.PushedModel),
        **{excluded_key: excluded},
    ).with_id(node_id)
