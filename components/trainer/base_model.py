"""Which model a warm-started Trainer starts from: the served model, trained on other examples.

The served model is the model of the latest push (see
:func:`components.artifacts.pushed_model.latest_pushed_other_than`): the
Pusher pushes only a model that both the Evaluator and the canary blessed, so
it is the latest blessed model that was ever served. Models that a Trainer
fitted on this run's transformed examples are left out: a re-run of an
unchanged pipeline then resolves the same earlier model, so its Trainer is a
cache hit instead of starting again from the model it pushed itself. On a new
span (new examples) the served model is always a candidate.

The resolved model is the Trainer's ``base_model`` input, so ML Metadata's
lineage records which model each warm-started model started from.
"""

from typing import Any

from tfx import types
from tfx.dsl.components.common import resolver
from tfx.dsl.input_resolution.strategies import latest_blessed_model_strategy
from tfx.types import standard_artifacts, standard_component_specs

from components.artifacts.pushed_model import latest_pushed_other_than, pushed_from

MODEL_KEY = "model"
PUSHED_MODEL_KEY = "pushed_model"
EXAMPLES_KEY = "examples"
RESOLVER_ID = "warm_start_model_resolver"


def trained_on(store: Any, examples: list[types.Artifact]) -> set[int]:
    """Ids of the Models written by executions that read any of ``examples`` as their ``examples`` input."""
    from ml_metadata.proto import metadata_store_pb2

    def at(events: list, event_type: int, key: str) -> list:
        return [e for e in events if e.type == event_type and e.path.steps and e.path.steps[0].key == key]

    if not examples:
        return set()
    reads = store.get_events_by_artifact_ids([artifact.id for artifact in examples])
    executions = sorted(
        {
            e.execution_id
            for e in at(reads, metadata_store_pb2.Event.INPUT, standard_component_specs.EXAMPLES_KEY)
        }
    )
    if not executions:
        return set()
    writes = store.get_events_by_execution_ids(executions)
    return {
        e.artifact_id for e in at(writes, metadata_store_pb2.Event.OUTPUT, standard_component_specs.MODEL_KEY)
    }


class WarmStartModelStrategy(resolver.ResolverStrategy):
    """Resolves the served Model (the model of the latest push) not trained on this run's examples.

    Inputs: ``model`` (all Model artifacts), ``pushed_model`` (all PushedModel
    artifacts) and ``examples`` (this run's transformed examples, the
    Trainer's input). Outputs ``model``: one artifact, or none before the
    first push.
    """

    def resolve_artifacts(
        self, store: Any, input_dict: dict[str, list[types.Artifact]]
    ) -> dict[str, list[types.Artifact]] | None:
        pushes = input_dict.get(PUSHED_MODEL_KEY, [])
        model = latest_pushed_other_than(
            input_dict.get(MODEL_KEY, []),
            pushes,
            pushed_from(store, pushes),
            trained_on(store, input_dict.get(EXAMPLES_KEY, [])),
        )
        return {
            MODEL_KEY: [model] if model else [],
            PUSHED_MODEL_KEY: [],
            EXAMPLES_KEY: input_dict.get(EXAMPLES_KEY, []),
        }


def create_warm_start_resolver(examples: types.BaseChannel | None) -> resolver.Resolver:
    """The Resolver node whose ``model`` output is the Trainer's ``base_model``.

    Args:
        examples: The Trainer's transformed examples; models trained on them
            are left out. None selects TFX's LatestBlessedModelStrategy, for
            orchestrators whose compilers only know TFX's own strategies
            (Kubeflow Pipelines V2): the model is then the latest one the
            Evaluator blessed, even one the canary refused (never served), and
            a re-run starts from the model the run before it trained, so its
            Trainer is never a cache hit.
    """
    if examples is None:
        return resolver.Resolver(
            strategy_class=latest_blessed_model_strategy.LatestBlessedModelStrategy,
            model=types.Channel(type=standard_artifacts.Model),
            model_blessing=types.Channel(type=standard_artifacts.ModelBlessing),
        ).with_id(RESOLVER_ID)
    return resolver.Resolver(
        strategy_class=WarmStartModelStrategy,
        model=types.Channel(type=standard_artifacts.Model),
        pushed_model=types.Channel(type=standard_artifacts.PushedModel),
        examples=examples,
    ).with_id(RESOLVER_ID)
