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

from tfx import types
from tfx.dsl.components.common import resolver
from tfx.dsl.input_resolution.strategies import latest_blessed_model_strategy
from tfx.types import standard_artifacts

from components.artifacts.pushed_model import latest_pushed_other_than, pushed_from

MODEL_KEY = "model"
MODEL_BLESSING_KEY = "model_blessing"
PUSHED_MODEL_KEY = "pushed_model"
CANDIDATE_KEY = "candidate"


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
